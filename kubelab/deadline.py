"""One deadline per check, passed down to everything that waits under it.

A check declares how long it may take (its timeout in lab.yaml). The plugin opens a
deadline for it, and every wait below — polling an assertion, an API request, an exec
stream, a subprocess, a retry of a transient fault — takes its bound from what is left,
so a check ends in time whatever it calls, instead of adding up fixed budgets.

Outside any deadline (the CLI setting up, a reset) the callers' own fixed bounds apply.
Cleanup after a check runs under a fresh, short deadline of its own (`fresh`), so the
undo of a check that ran out of time still gets to happen, bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

MIN_BOUND = 5.0
"""Seconds any single operation gets, even at the deadline: a request or a short command
normally takes milliseconds, so one that needs more than this is the machine's fault,
not a squeeze at the end of a check."""


@dataclass(frozen=True)
class Deadline:
    """A point in time (time.monotonic()) by which the work under it must end."""

    at: float
    seconds: float
    """How long it was when it was opened (for messages)."""

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0


_current: ContextVar[Deadline | None] = ContextVar("kubelab_deadline", default=None)


def current() -> Deadline | None:
    """The deadline in force here, if any."""
    return _current.get()


def remaining(default: float) -> float:
    """Seconds left under the current deadline, or `default` outside any."""
    found = _current.get()
    return default if found is None else found.remaining()


def bound(wanted: float) -> float:
    """`wanted` seconds, or less when the deadline is nearer (never below MIN_BOUND)."""
    return max(MIN_BOUND, min(wanted, remaining(wanted)))


@contextmanager
def within(seconds: float) -> Iterator[Deadline]:
    """Everything inside ends within `seconds`, or sooner if an outer deadline is nearer."""
    at = time.monotonic() + seconds
    outer = _current.get()
    if outer is not None and outer.at < at:
        at = outer.at
    deadline = Deadline(at, seconds)
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


@contextmanager
def fresh(seconds: float) -> Iterator[Deadline]:
    """A deadline of its own, whatever is in force outside: for cleanup after a check
    that used up its time."""
    deadline = Deadline(time.monotonic() + seconds, seconds)
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)
