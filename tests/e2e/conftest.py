"""End-to-end fixtures shared by more than one test file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from kubelab import cluster
from kubelab.kube import Kube

RUN_LIMIT = 1800.0
"""Seconds one `kubelab verify` of every lab may take here."""


@dataclass
class VerifyRuns:
    """`kubelab verify` of every lab, and a second run of lab 05 — the lab whose answers
    make cluster-scoped volumes and node folders — started at the same time on the same
    cluster."""

    everything: subprocess.Popen[str]
    beside: subprocess.Popen[str]

    def results(self) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
        out, err = self.everything.communicate(timeout=RUN_LIMIT)
        out2, err2 = self.beside.communicate(timeout=RUN_LIMIT)
        return (
            subprocess.CompletedProcess(self.everything.args, self.everything.returncode, out, err),
            subprocess.CompletedProcess(self.beside.args, self.beside.returncode, out2, err2),
        )


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


def start_verify(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kubelab", "--lang", "en", "verify", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="session")
def verify_runs() -> Iterator[VerifyRuns]:
    """Started by the first test that asks (the ownership and sandbox-escape tests run
    beside them: they do not disturb the cluster; the fault tests, which do, have run
    before); the verify test collects them."""
    cluster_up = subprocess.run(  # kubelab's cluster created or reused once, before the two runs
        [sys.executable, "-m", "kubelab", "--lang", "en", "solve", "01"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert cluster_up.returncode == 0, cluster_up.stdout + cluster_up.stderr
    runs = VerifyRuns(start_verify(), start_verify("05", "-j", "3"))
    yield runs
    for run in (runs.everything, runs.beside):
        if run.poll() is None:
            run.kill()
            run.communicate()
