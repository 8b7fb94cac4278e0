"""The one way kubelab waits for the cluster: poll an assertion until it holds.

A check never sleeps. It hands an assertion (a function that raises CheckFailed while
the cluster is not there yet) to `wait_until`, which polls it with tenacity until it
passes or the check's timeout runs out, and then raises the *last* mismatch it saw —
expected vs found — never a bare RetryError.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

from kubelab.errors import CheckFailed

T = TypeVar("T")

DEFAULT_INTERVAL = 0.5
"""Seconds between two polls."""


def timeout_scale() -> float:
    """KUBELAB_TIMEOUT_SCALE stretches every check timeout (e.g. 2 on a slow machine)."""
    try:
        return max(float(os.environ.get("KUBELAB_TIMEOUT_SCALE", "1")), 0.01)
    except ValueError:
        return 1.0


def _worth_waiting_for(error: BaseException) -> bool:
    return isinstance(error, CheckFailed) and not error.final


def wait_until(assertion: Callable[[], T], timeout: float, interval: float = DEFAULT_INTERVAL) -> T:
    """Return what `assertion` returns once it stops raising CheckFailed.

    On timeout, re-raise the last CheckFailed with the time waited added to its finding.
    A final CheckFailed, or any other exception, goes through at once.
    """
    started = time.monotonic()
    retrying = Retrying(
        stop=stop_after_delay(timeout * timeout_scale()),
        wait=wait_fixed(interval),
        retry=retry_if_exception(_worth_waiting_for),
        reraise=True,
    )
    try:
        return retrying(assertion)
    except CheckFailed as last:
        waited = round(time.monotonic() - started, 1)
        raise CheckFailed(replace(last.finding, waited=waited), last.final) from last
