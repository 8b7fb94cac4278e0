"""End-to-end fixtures shared by more than one test file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubelab import cluster, repo
from kubelab.kube import Kube

RUN_LIMIT = 1800.0
"""Seconds one `kubelab verify` of every lab may take here."""


@dataclass
class VerifyRuns:
    """`kubelab verify` of every lab on a three-node cluster made with plain kind, through
    `--provider existing` (tests/e2e/course_cluster.py), made and verified beside the
    ownership, sandbox-escape and scorecard tests."""

    course: subprocess.Popen[str]

    def results(self) -> subprocess.CompletedProcess[str]:
        out, err = self.course.communicate(timeout=RUN_LIMIT)
        return subprocess.CompletedProcess(self.course.args, self.course.returncode, out, err)


def solved_cluster() -> Kube:
    """kubelab's kind cluster, up (created or reused), with lab 01's reference solution in
    namespace lab-01."""
    done = subprocess.run(
        [sys.executable, "-m", "kubelab", "--lang", "en", "solve", "01"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return Kube(cluster.resolve_target())


@pytest.fixture(scope="session")
def course_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path | None]:
    """The course cluster (tests/e2e/course_cluster.py), made once a test asks for it: the
    slow-submission test, which mostly waits (the fault tests and the class's grading, which
    need the machine, have run by then). Its verify waits for the file yielded here (None:
    not made), which the first test beside it makes (verify_runs)."""
    wanted = any("test_verify_every_lab" in item.nodeid for item in request.session.items)
    if not wanted:
        yield None
        return
    go = tmp_path_factory.mktemp("course") / "go"
    course = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.course_cluster", "--go", str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=repo.root(),
    )
    _course_runs.append(course)
    yield go
    if course.poll() is None:
        course.terminate()  # the script deletes its cluster on the way out
        try:
            course.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            course.kill()
            course.communicate()


_course_runs: list[subprocess.Popen[str]] = []


@pytest.fixture(scope="session")
def verify_runs(course_cluster: Path | None) -> VerifyRuns | None:
    """Let the course cluster's verify start (the ownership and sandbox-escape tests run
    beside it; the fault tests and the class's grading, which need the machine to
    themselves, have run before); the verify test collects it. None when the verify test
    is not in this run (a test beside it run alone)."""
    cluster_up = subprocess.run(  # kubelab's cluster created or reused (the tests beside use it)
        [sys.executable, "-m", "kubelab", "--lang", "en", "solve", "01"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert cluster_up.returncode == 0, cluster_up.stdout + cluster_up.stderr
    if course_cluster is None:
        return None
    assert _course_runs, "the course cluster was not started"
    course_cluster.touch()
    return VerifyRuns(_course_runs[-1])
