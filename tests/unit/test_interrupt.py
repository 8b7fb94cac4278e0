"""Ctrl-C in the middle of a check: the check stops, its undo runs, then exit 130.

No cluster: the checks run in a real child pytest (as `kubelab check` runs them) against
a fake cluster from the demo lab's conftest; the interrupt is a real SIGINT to the
process group of the process that called the engine, as a terminal sends it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.test_plugin import DEMO_LAB, write_demo_repo

LAB = DEMO_LAB.replace("default_timeout: 0.3", "default_timeout: 60")

CHECKER = """\
import os
from pathlib import Path

from kubelab.checks import LabContext, assert_that


def test_config_exists(lab: LabContext) -> None:
    lab.defer("put it back", lambda: Path(os.environ["UNDONE"]).write_text("undone"))
    Path(os.environ["STARTED"]).write_text("started")
    lab.eventually(lambda: assert_that(False, "ConfigMap c", "there", "missing"))


def test_color_is_blue(lab: LabContext) -> None:
    pass
"""

DRIVER = """\
import sys
from kubelab import engine, interrupts, labspec
from kubelab.errors import Interrupted
from kubelab.kube import Target

interrupts.install()
try:
    engine.run_isolated(labspec.find_lab("99"), Target(None, None), "en")
except Interrupted as stopped:
    print("INTERRUPTED:", stopped.en)
    sys.exit(130)
print("FINISHED")
"""


IN_PROCESS = """\
import sys
from kubelab import engine, interrupts, labspec


class FakeKube:
    faults = []

    def get(self, kind, name, namespace=None):
        return None

    def list(self, kind, namespace=None, selector=""):
        return []

    def is_namespaced(self, kind):
        return True


interrupts.install()
card = engine.run_in_process(FakeKube(), labspec.find_lab("99"), "en")
if card.interrupted:
    print("INTERRUPTED: stopped; what this run changed was undone")
    sys.exit(130)
print("FINISHED")
"""


@pytest.mark.parametrize("driver_code", [DRIVER, IN_PROCESS], ids=["child pytest", "in process"])
def test_ctrl_c_lets_the_checks_undo_what_they_did(tmp_path: Path, driver_code: str) -> None:
    root = write_demo_repo(tmp_path / "repo", LAB, CHECKER)
    started, undone = tmp_path / "started", tmp_path / "undone"
    env = {
        **os.environ,
        "KUBELAB_ROOT": str(root),
        "KUBELAB_STATE": str(tmp_path / "state"),
        "STARTED": str(started),
        "UNDONE": str(undone),
    }
    driver = subprocess.Popen(
        [sys.executable, "-c", driver_code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not started.exists():
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the check never started"
            time.sleep(0.1)
        os.killpg(driver.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        interrupted = time.monotonic()
        out, err = driver.communicate(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 130, out + err
    assert time.monotonic() - interrupted < 15
    assert "INTERRUPTED: stopped; what this run changed was undone" in out
    assert undone.read_text() == "undone"  # the child ran its undo before kubelab ended
    assert "Traceback" not in out + err
