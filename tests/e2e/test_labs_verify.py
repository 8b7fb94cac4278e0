"""End to end, on a real cluster (never mocked): `kubelab verify` of every lab at once.

Run with `make e2e`. kubelab's kind cluster is created or reused (with no internet, from
the node image `make offline-cluster` built: see docs/offline-cluster.md). Outside CI
these tests skip unless --e2e is given; under CI they always run, and a missing cluster
fails them. The variants run concurrently, each in its own sandbox (kubelab.sandbox).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from kubelab import labspec, verify

pytestmark = pytest.mark.e2e


def test_every_lab_verifies() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kubelab", "--lang", "en", "verify"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(done.stdout, done.stderr)
    assert done.returncode == 0, f"kubelab verify failed:\n{done.stdout}\n{done.stderr}"
    assert "✗" not in done.stdout
    assert "left behind" not in done.stdout  # every variant's objects were removed after it
    for lab in labspec.all_labs():
        for variant in verify.variants(lab):
            assert f"{lab.id} {variant.name} " in done.stdout
    assert "all as expected" in done.stdout
