"""Warm pytest children (kubelab.preloaded), on a real fork server, without a cluster:
the exit code and output as `python -m pytest` gives them (also for many children started
and ended at once), the parent's environment as it is at each start, a session of its own
from the moment it is returned, and a wait that ends without ending the child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kubelab import preloaded

pytestmark = pytest.mark.skipif(not preloaded.available(), reason="warm children are Linux's")

TESTS = """\
import os


def test_passes():
    print("said on stdout")


def test_fails():
    assert os.environ.get("NOT_SET") == "x"

"""
ENV = """\
import os


def test_sees_the_parents_environment_now():
    assert os.environ["KUBELAB_WARM_PROBE"] == os.environ["KUBELAB_WARM_WANT"]
"""
SLOW = """\
import time


def test_waits():
    time.sleep(60)
"""


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]


def test_exit_code_and_output_as_python_m_pytest(tmp_path: Path) -> None:
    (tmp_path / "test_warm.py").write_text(TESTS)
    child = preloaded.Child(command("test_warm.py"), tmp_path)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 1, out + err  # pytest's: a test failed
    assert "1 failed, 1 passed" in out and "Traceback" not in err
    assert "PytestAssertRewriteWarning" not in out
    passing = preloaded.Child(command("test_warm.py", "-k", "passes", "-s"), tmp_path)
    out, _ = passing.communicate(timeout=60)
    assert passing.returncode == 0 and "said on stdout" in out


def test_a_session_of_its_own_and_a_wait_that_leaves_it_running(tmp_path: Path) -> None:
    (tmp_path / "test_slow.py").write_text(SLOW)
    child = preloaded.Child(command("test_slow.py"), tmp_path)
    assert os.getpgid(child.pid) == child.pid  # at once: the engine may stop it any time
    with pytest.raises(subprocess.TimeoutExpired):
        child.communicate(timeout=0.1)
    assert child.returncode is None
    os.killpg(child.pid, signal.SIGKILL)  # its own group, as the engine stops it
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL


def test_the_environment_is_the_parents_at_each_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "test_env.py").write_text(ENV)
    for value in ("one", "two"):  # the fork server started with the first; the second differs
        monkeypatch.setenv("KUBELAB_WARM_PROBE", value)
        monkeypatch.setenv("KUBELAB_WARM_WANT", value)
        child = preloaded.Child(command("test_env.py"), tmp_path)
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, out + err


def test_many_at_once_each_with_its_own_exit_code(tmp_path: Path) -> None:
    """Threads starting and waiting for children at once (as verify and grade do): each
    gets its own child's code, not one another's poll left behind."""
    (tmp_path / "test_warm.py").write_text(TESTS)

    def run(n: int) -> int | None:
        child = preloaded.Child(command("test_warm.py", "-k", "passes" if n % 2 else "fails"), tmp_path)
        child.communicate(timeout=120)
        return child.returncode

    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(run, range(12)))
    assert codes == [1, 0] * 6, codes
