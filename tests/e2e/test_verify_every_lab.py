"""End to end, on a real cluster (never mocked): `kubelab verify` of every lab at once.

Run with `make e2e`. kubelab's kind cluster is created or reused (with no internet, from
the node image `make offline-cluster` built: see docs/offline-cluster.md). Outside CI
these tests skip unless --e2e is given; under CI they always run, and a missing cluster
fails them. The variants run concurrently, each in its own sandbox (kubelab.sandbox); the
runs start with the sandbox-escape tests (tests/e2e/conftest.py) and end here.
"""

from __future__ import annotations

import pytest

from kubelab import labspec, verify
from tests.e2e.conftest import VerifyRuns

pytestmark = pytest.mark.e2e


def test_every_lab_verifies_beside_a_second_run(verify_runs: VerifyRuns) -> None:
    """Every variant of every lab as expected; and a second run started at the same time
    on the same cluster — of lab 05, whose answers make cluster-scoped volumes and node
    folders — passes too: each variant has a sandbox and values of its own."""
    done, beside = verify_runs.results()
    print(done.stdout, done.stderr, beside.stdout, beside.stderr)
    assert done.returncode == 0, f"kubelab verify failed:\n{done.stdout}\n{done.stderr}"
    assert beside.returncode == 0, f"the second kubelab verify failed:\n{beside.stdout}\n{beside.stderr}"
    out = done.stdout
    assert "✗" not in out + beside.stdout
    assert "left behind" not in out + beside.stdout  # every variant's objects were removed after it
    for lab in labspec.all_labs():
        for variant in verify.variants(lab):
            assert f"{lab.id} {variant.name} " in out
    assert "all as expected" in out and "all as expected" in beside.stdout
