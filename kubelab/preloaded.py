"""pytest children started warm: forked from one process of kubelab's own that imported
pytest, kubelab and the kubernetes client once (multiprocessing's forkserver), instead of a
new interpreter importing them again for every answer.

A graded answer's own Python was mostly that start: about 0.95 of a core-second of its
1.5 (2026-12-06, this 2-core machine), so a class graded at once paid it 40 times a minute.
A child forked here starts in about 0.2 s. It is as separate as a `python -m pytest`
child: a process of its own, in a session of its own (the engine stops it with its process
group), with its output in files of its own.

Linux only: elsewhere (macOS forbids forking after some of its frameworks are loaded) the
engine starts `python -m pytest` as before (`available`).
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import traceback
from multiprocessing.context import ForkServerContext
from pathlib import Path

PRELOAD = (
    "pytest",
    "_pytest.assertion.rewrite",
    "kubelab.cli",  # the `kubelab` script each child runs again as multiprocessing's __mp_main__
    "kubelab.plugin",
    "kubelab.checks",
    "kubernetes.client",
    "kubernetes.dynamic",
)
"""What the fork server imports once, before any child."""
QUIET = ("-W", "ignore::pytest.PytestAssertRewriteWarning")
"""kubelab's plugin is imported before pytest could rewrite its asserts (it has none)."""

_context: ForkServerContext | None = None
_lock = threading.Lock()


def available() -> bool:
    return sys.platform == "linux"


def _server() -> ForkServerContext:
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(PRELOAD))
            _context = context
        return _context


def _main(argv: list[str], cwd: str, stdout: str, stderr: str) -> None:
    """The child: a session of its own, the output in its files, then pytest's exit code."""
    os.setsid()
    os.chdir(cwd)
    for fd, path in ((1, stdout), (2, stderr)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    import pytest

    try:
        code = int(pytest.main([*QUIET, *argv]))
    except BaseException:  # the engine reads the last line of stderr: say it there
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class Child:
    """One pytest child forked warm, with what the engine uses of subprocess.Popen: its
    pid (and process group), its returncode, and communicate()."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        """command: `python -m pytest ARGS` as the engine would run it."""
        self.args = command
        self._folder = tempfile.TemporaryDirectory(prefix="kubelab-child-")
        self._outputs = (Path(self._folder.name) / "stdout", Path(self._folder.name) / "stderr")
        argv = command[3:] if command[1:3] == ["-m", "pytest"] else command
        self._process = _server().Process(
            target=_main, args=(argv, str(cwd), *map(str, self._outputs)), name="kubelab-checks"
        )
        self._process.start()
        self.pid: int = int(self._process.pid or 0)

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Its output once it has ended; subprocess.TimeoutExpired when it has not within
        `timeout` seconds (it goes on running)."""
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        out, err = (
            p.read_text(encoding="utf-8", errors="replace") if p.exists() else "" for p in self._outputs
        )
        self._folder.cleanup()
        return out, err
