"""End-to-end fixtures shared by more than one test file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from kubelab import cluster, repo
from kubelab.kube import Kube

RUN_LIMIT = 1800.0
"""Seconds one `kubelab verify` of every lab may take here."""


@dataclass
class VerifyRuns:
    """`kubelab verify` of every lab on a three-node cluster made with plain kind, through
    `--provider existing` (tests/e2e/course_cluster.py), made and verified while the fault
    tests mostly wait on a paused or restarting node, and beside the tests after them."""

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
def course_cluster(request: pytest.FixtureRequest) -> Iterator[VerifyRuns | None]:
    """The course cluster made and verified (tests/e2e/course_cluster.py), started once a
    test asks for it: the paused-cluster fault test, whose node stays paused and
    restarting for minutes with the machine idle (the verify's CPU goes there, not at the
    end of the run). None when the verify test is not in this run."""
    wanted = any("test_verify_every_lab" in item.nodeid for item in request.session.items)
    if not wanted:
        yield None
        return
    course = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.course_cluster"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=repo.root(),
    )
    yield VerifyRuns(course)
    if course.poll() is None:
        course.terminate()  # the script deletes its cluster on the way out
        try:
            course.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            course.kill()
            course.communicate()


@pytest.fixture(scope="session")
def verify_runs(course_cluster: VerifyRuns | None) -> VerifyRuns | None:
    """kubelab's cluster up with lab 01 solved (the ownership, sandbox-escape and class
    tests use it), and the course cluster's verify, which the verify test collects."""
    cluster_up = subprocess.run(  # kubelab's cluster created or reused (the tests beside use it)
        [sys.executable, "-m", "kubelab", "--lang", "en", "solve", "01"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert cluster_up.returncode == 0, cluster_up.stdout + cluster_up.stderr
    return course_cluster
