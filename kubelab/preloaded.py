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

import contextlib
import multiprocessing
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from pathlib import Path

from kubelab.errors import KubelabError

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

READY_SECONDS = 60.0
"""How long a child may take to be in a session of its own (the first waits for the fork
server to import what it preloads)."""

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


def _main(argv: list[str], cwd: str, env: dict[str, str], folder: str, ready: Connection) -> None:
    """The child: a session of its own (then it says it is ready), the parent's environment
    and folder as they are now, the output in files, then pytest's exit code, also in a
    file (multiprocessing's own can be lost when threads poll children at once)."""
    os.setsid()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        opened = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    ready.send_bytes(b"1")
    ready.close()
    import pytest

    try:
        code = int(pytest.main([*QUIET, *argv]))
    except BaseException:  # the engine reads the last line of stderr: say it there
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    Path(folder, "exit").write_text(str(code), encoding="utf-8")
    os._exit(code)


class Child:
    """One pytest child forked warm, with what the engine uses of subprocess.Popen: its
    pid (which is its process group's, as with start_new_session), its returncode, and
    communicate(). It is returned once it is in its own session."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        """command: `python -m pytest ARGS` as the engine would run it."""
        self.args = command
        self._folder = tempfile.TemporaryDirectory(prefix="kubelab-child-")
        self._said: tuple[str, str] | None = None
        self._code: int | None = None
        self._pidfd: int | None = None
        argv = command[3:] if command[1:3] == ["-m", "pytest"] else command
        server = _server()
        ready, told = server.Pipe(duplex=False)
        self._process = server.Process(
            target=_main,
            args=(argv, str(cwd), dict(os.environ), self._folder.name, told),
            name="kubelab-checks",
        )
        try:
            self._process.start()
            told.close()
            if not self._process.pid:
                raise KubelabError("the checks' process did not start")
            self.pid: int = self._process.pid
            self._wait_ready(ready)
        except BaseException:
            self._give_up()
            raise
        finally:
            ready.close()
        try:
            self._pidfd = os.pidfd_open(self.pid)  # ends with the child, whoever its parent
        except (AttributeError, OSError):
            self._pidfd = None

    def _wait_ready(self, ready: Connection) -> None:
        ends = time.monotonic() + READY_SECONDS
        while not ready.poll(min(1.0, max(0.0, ends - time.monotonic()))):
            if time.monotonic() >= ends:
                raise KubelabError(f"the checks' process was not ready within {READY_SECONDS:g} s")
        with contextlib.suppress(EOFError):  # it ended before it was ready: communicate() says how
            ready.recv_bytes()

    def _give_up(self) -> None:
        """Interrupted or failed while it started: stop it (before its checks began, or
        as Ctrl-C stops them: they undo what they did), and keep no files."""
        pid = self._process.pid
        if pid:
            try:
                os.killpg(pid, signal.SIGINT)
            except ProcessLookupError:  # no session of its own yet
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGINT)
        self._folder.cleanup()

    @property
    def returncode(self) -> int | None:
        if self._said is not None:
            return self._code
        if self._process.exitcode is None and not self._ended(0):
            return None
        written = Path(self._folder.name, "exit")
        try:
            return int(written.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return self._process.exitcode  # killed by a signal: negative, as Popen says

    def _ended(self, timeout: float | None) -> bool:
        if self._pidfd is not None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                return False
            self._process.join(5.0)  # reap it through the fork server
            return True
        self._process.join(timeout)
        return self._process.exitcode is not None

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Its output once it has ended; subprocess.TimeoutExpired when it has not within
        `timeout` seconds (it goes on running)."""
        if self._said is None:
            if not self._ended(timeout):
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            outputs = (Path(self._folder.name, name) for name in ("stdout", "stderr"))
            out, err = (
                p.read_text(encoding="utf-8", errors="replace") if p.exists() else "" for p in outputs
            )
            self._code = self.returncode
            self._said = (out, err)
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
            self._folder.cleanup()
        return self._said
