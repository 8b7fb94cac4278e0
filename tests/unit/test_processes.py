"""A recorded process is alive only while the same process runs (not another one that was
given its pid after it ended)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

from kubelab import ownership, processes


def test_this_process_is_alive_as_recorded() -> None:
    pid, start = processes.this_one()
    assert start  # Linux: /proc is there
    assert processes.alive(pid, start)
    assert processes.alive(pid)  # an old record, without the start: the pid decides


def test_a_pid_given_to_another_process_is_not_the_recorded_one() -> None:
    pid, start = processes.this_one()
    boot, ticks = start.rsplit(":", 1)
    assert not processes.alive(pid, f"{boot}:{int(ticks) + 1}")
    assert not processes.alive(pid, f"another-boot:{ticks}")


def test_an_ended_process_and_nonsense_are_not_alive() -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    assert not processes.alive(int(child.stdout))
    for pid in (0, -1, "12", None, True, 1.5):
        assert not processes.alive(pid)


def test_a_record_of_a_child_is_in_use_while_it_runs_and_not_after() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        record = ownership.Owned(
            "Namespace", "v1", "n", "u", "01", "lab", child.pid, processes.started(child.pid)
        )
        assert ownership.in_use(record)
        assert not ownership.in_use(replace(record, started=record.started + "0"))  # the pid, reused
        assert not ownership.in_use(replace(record, pid=os.getpid(), started=processes.this_one()[1]))
    finally:
        child.kill()
        child.wait()
    assert not ownership.in_use(record)
