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


def start_verify(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kubelab", "--lang", "en", "verify", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_every_lab_verifies_beside_a_second_run() -> None:
    """Every variant of every lab as expected; and a second run started at the same time
    on the same cluster — of the labs with cluster-wide names (a node port, volumes,
    node folders) — passes too: each variant has a sandbox and values of its own."""
    everything = start_verify()
    beside = start_verify("02", "05", "-j", "4")
    try:
        out, err = everything.communicate(timeout=1800)
        out2, err2 = beside.communicate(timeout=600)
    finally:
        for run in (everything, beside):
            if run.poll() is None:
                run.kill()
    print(out, err, out2, err2)
    assert everything.returncode == 0, f"kubelab verify failed:\n{out}\n{err}"
    assert beside.returncode == 0, f"the second kubelab verify failed:\n{out2}\n{err2}"
    assert "✗" not in out + out2
    assert "left behind" not in out + out2  # every variant's objects were removed after it
    for lab in labspec.all_labs():
        for variant in verify.variants(lab):
            assert f"{lab.id} {variant.name} " in out
    assert "all as expected" in out and "all as expected" in out2
