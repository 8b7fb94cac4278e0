"""End to end, on a real cluster (never mocked): `kubelab verify NN` for every lab.

Run with `make e2e`. kubelab's kind cluster is created or reused (with
KUBELAB_NODE_IMAGE=kubelab/node:<version> on machines with no internet: see
docs/offline-cluster.md). Outside CI these tests skip unless --e2e is given; under CI
they always run, and a missing cluster fails them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from kubelab import labspec

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lab_id", [lab.id for lab in labspec.all_labs()])
def test_lab_verifies(lab_id: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kubelab", "--lang", "en", "verify", lab_id],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(done.stdout, done.stderr)
    assert done.returncode == 0, f"kubelab verify {lab_id} failed:\n{done.stdout}\n{done.stderr}"
    assert "✗" not in done.stdout
    assert "left behind" not in done.stdout  # every variant's objects were removed after it
    assert "solution" in done.stdout and "starter" in done.stdout
