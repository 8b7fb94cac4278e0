"""A lock file shared by the kubelab processes of one machine, held for a short step that
two of them must not take at once (creating the kind cluster, claiming room on it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from kubelab.errors import CheckFailed, EnvironmentProblem, Finding
from kubelab.text import Text
from kubelab.waiting import wait_until


@contextlib.contextmanager
def one_at_a_time(path: Path, seconds: float, busy: Text | None = None) -> Iterator[None]:
    """Hold the lock file `path` (waiting at most `seconds` for another process to let it
    go: then an EnvironmentProblem that says `busy`)."""
    import fcntl

    with open(path, "a") as handle:

        def taken() -> None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CheckFailed(Finding(str(path), "free", "held by another kubelab")) from None

        try:
            wait_until(taken, seconds, interval=0.1)
        except CheckFailed:
            said = busy or Text("다른 kubelab이 잠금을 쥐고 있습니다", "another kubelab holds the lock")
            raise EnvironmentProblem(
                f"{said.en} ({seconds:.0f} s; {path})", f"{said.ko} ({seconds:.0f}초; {path})"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
