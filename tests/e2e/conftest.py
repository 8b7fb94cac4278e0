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
    `--provider existing` (tests/e2e/course_cluster.py): made while the fault tests leave
    the machine idle, paused, and verified beside the tests after the grading ones."""

    course: subprocess.Popen[str]
    go: Path
    """The file that lets the verify start (verify_runs makes it)."""

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
) -> Iterator[VerifyRuns | None]:
    """The course cluster (tests/e2e/course_cluster.py), made once a test asks for it: the
    paused-cluster fault test, which leaves the machine idle for minutes. Its nodes then
    stay paused until verify_runs lets the verify start. None when the verify test is not
    in this run."""
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
    yield VerifyRuns(course, go)
    if course.poll() is None:
        course.terminate()  # the script deletes its cluster on the way out
        try:
            course.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            course.kill()
            course.communicate()


@pytest.fixture(scope="session")
def verify_runs(course_cluster: VerifyRuns | None) -> VerifyRuns | None:
    """kubelab's cluster up with lab 01 solved (the slow-submission, ownership,
    sandbox-escape and class tests use it), and the course cluster's verify let start (the
    fault tests and the class's grading, which need the machine, have run by then); the
    verify test collects it."""
    cluster_up = subprocess.run(  # kubelab's cluster created or reused (the tests beside use it)
        [sys.executable, "-m", "kubelab", "--lang", "en", "solve", "01"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert cluster_up.returncode == 0, cluster_up.stdout + cluster_up.stderr
    if course_cluster is not None:
        course_cluster.go.touch()
    return course_cluster
