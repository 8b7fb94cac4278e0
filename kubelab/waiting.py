"""The one way kubelab waits for the cluster: poll an assertion until it holds.

A check never sleeps. It hands an assertion (a function that raises CheckFailed while
the cluster is not there yet) to `wait_until`, which polls it with tenacity until it
passes or its time runs out — the timeout asked for, or less when the check's deadline
(kubelab.deadline) is nearer — and then raises the *last* mismatch it saw, expected vs
found, never a bare RetryError.

`retry_transient` is the same idea one level down: an API call that met a fault of the
machine (no connection, 503) is tried again, bounded, and the last fault is raised.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
    wait_fixed,
)

from kubelab import deadline
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

    It is tried at least once, then until `timeout` (scaled) or the deadline, whichever
    comes first. On timeout, re-raise the last CheckFailed with the time waited added to
    its finding. A final CheckFailed, or any other exception, goes through at once.
    """
    started = time.monotonic()
    budget = min(timeout * timeout_scale(), deadline.remaining(float("inf")))
    retrying = Retrying(
        stop=stop_after_delay(max(budget, 0.0)),
        wait=wait_fixed(interval),
        retry=retry_if_exception(_worth_waiting_for),
        reraise=True,
    )
    try:
        return retrying(assertion)
    except CheckFailed as last:
        waited = round(time.monotonic() - started, 1)
        raise CheckFailed(replace(last.finding, waited=waited), last.final) from last


def retry_transient(
    call: Callable[[], T],
    transient: Callable[[BaseException], bool],
    budget: float,
    seen: Callable[[BaseException], None] = lambda _: None,
) -> T:
    """Return what `call` returns; while it fails with an error `transient` accepts, call
    it again (backing off up to 2 s) for up to `budget` seconds, telling `seen` about
    each fault. The last error is raised as it was."""

    def before_sleep(state: RetryCallState) -> None:
        if state.outcome is not None and state.outcome.exception() is not None:
            seen(state.outcome.exception())  # type: ignore[arg-type]

    retrying = Retrying(
        stop=stop_after_delay(budget),
        wait=wait_exponential(multiplier=0.25, max=2),
        retry=retry_if_exception(transient),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(call)
