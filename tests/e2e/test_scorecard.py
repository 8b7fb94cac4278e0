"""The scorecard a learner sees, on the real cluster (never mocked): one screen for an
empty namespace (a settled wrong state judged without waiting out the timeout is
tests/e2e/test_image_pull.py, which runs before the verification starts).

These run beside the verification of every lab (on a cluster of its own,
tests/e2e/conftest.py): each checks a namespace of its own and changes nothing else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from rich.cells import cell_len

from kubelab import cluster, labspec, ownership
from kubelab.kube import Kube

pytestmark = pytest.mark.e2e

COLUMNS, ROWS = 100, 25


@pytest.fixture(scope="module")
def kube(verify_runs: object) -> Kube:
    """kubelab's cluster, up, with the verification of every lab running beside (on a cluster of its own)."""
    return Kube(cluster.resolve_target())


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    owned = ownership.scratch_namespace(kube, "card", "01", "test")
    yield owned.name
    ownership.delete(kube, owned)  # gone in a few seconds; no need to wait for it here


def check(*args: str, lang: str = "ko") -> subprocess.CompletedProcess[str]:
    """`kubelab check` as a learner runs it, in a terminal COLUMNS wide."""
    return subprocess.run(
        [sys.executable, "-m", "kubelab", "--lang", lang, "check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": str(COLUMNS)},
    )


def rows(text: str) -> int:
    """Rows on the terminal: a line longer than COLUMNS wraps (a Korean letter is 2 wide)."""
    return sum(max(1, -(-cell_len(line) // COLUMNS)) for line in text.splitlines())


def test_an_empty_namespace_fits_one_screen(namespace: str) -> None:
    done = check("01", "--namespace", namespace)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert rows(done.stdout) <= ROWS, done.stdout
    out = done.stdout
    assert "대상 / object: ReplicaSet" in out and "힌트 / hint:" in out  # the first failure, in full
    assert out.count("힌트 / hint:") == 1  # the others in one line each
    assert "replicaset_wants_three_replicas — replicaset_exists 검사부터" in out
    assert f"점수 / score: 0/{labspec.find_lab('01').total_points}" in out
