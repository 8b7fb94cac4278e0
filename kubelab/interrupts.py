"""Ctrl-C: stop what is running, but let the cleanup after it finish.

A learner (or CI) interrupts `check` or `verify` in the middle of a check that deleted
a pod or made a scratch namespace. The interrupt stops the check at once; the undo that
follows runs `shielded`: a second Ctrl-C is noted, not obeyed, and the undo is bounded
by its own deadline, so the wait is short and nothing is left behind that could have
been removed. Then the command exits 130.

The kubernetes client turns a KeyboardInterrupt raised inside an exec into an
ApiException; `raise_if_interrupted` gives it back, from the flag our handler sets.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_interrupted = threading.Event()
_stopping = threading.Event()
"""A concurrent run is stopping (Ctrl-C or a fault): start nothing new."""


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _interrupted.set()
    raise KeyboardInterrupt


def install() -> None:
    """Handle SIGINT as Python does (KeyboardInterrupt), and remember that it came."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def interrupted() -> bool:
    return _interrupted.is_set()


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt again if one came and was swallowed on the way."""
    if _interrupted.is_set():
        raise KeyboardInterrupt


@contextmanager
def shielded(notice: str = "", reraise: bool = True) -> Iterator[None]:
    """Run cleanup that a Ctrl-C must not cut short: while inside, SIGINT only prints
    `notice` (once); a Ctrl-C that came inside is raised when the cleanup is done (unless
    the caller is already stopping because of one: reraise=False)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came = threading.Event()

    def note(signum: int, frame: FrameType | None) -> None:
        if notice and not came.is_set():
            print(notice, file=sys.stderr, flush=True)
        came.set()

    _interrupted.clear()
    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if came.is_set() and reraise:
        _interrupted.set()
        raise KeyboardInterrupt


def stop_everything() -> None:
    """From now on, no new check run or kubectl step starts (a concurrent run stops)."""
    _stopping.set()


def stopping() -> bool:
    return _stopping.is_set() or _interrupted.is_set()
