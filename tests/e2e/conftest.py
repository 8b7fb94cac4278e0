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
    `--provider existing` (tests/e2e/course_cluster.py), started once kubelab's own
    cluster is up; it runs beside the tests that use kubelab's cluster (the class's
    grading, seven `kubelab grade` runs at once, has verified every variant there)."""

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
def verify_runs() -> Iterator[VerifyRuns]:
    """Started by the first test that asks (the ownership and sandbox-escape tests run
    beside it; the fault tests and the class's grading, which need kubelab's cluster to
    themselves, have run before); the verify test collects it."""
    cluster_up = subprocess.run(  # kubelab's cluster created or reused, before the run beside
        [sys.executable, "-m", "kubelab", "--lang", "en", "solve", "01"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert cluster_up.returncode == 0, cluster_up.stdout + cluster_up.stderr
    course = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.course_cluster"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=repo.root(),
    )
    runs = VerifyRuns(course)
    yield runs
    if course.poll() is None:
        course.terminate()  # the script deletes its cluster on the way out
        try:
            course.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            course.kill()
            course.communicate()
