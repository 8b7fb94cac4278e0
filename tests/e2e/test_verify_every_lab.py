"""End to end, on a real cluster (never mocked): `kubelab verify` of every lab at once, on a
cluster kubelab did not create.

Run with `make e2e`. The cluster is made with plain kind (from the node image `make
offline-cluster` built: see docs/offline-cluster.md) by tests/e2e/course_cluster.py, and
kubelab reaches it only through a kubeconfig (`--provider existing`). Outside CI these
tests skip unless --e2e is given; under CI they always run. The variants run concurrently,
each in its own sandbox (kubelab.sandbox); the run starts with the ownership and
sandbox-escape tests (tests/e2e/conftest.py) and ends here.
"""

from __future__ import annotations

import pytest

from kubelab import labspec, verify
from tests.e2e.conftest import VerifyRuns
from tests.e2e.course_cluster import TIMES

pytestmark = pytest.mark.e2e


def test_every_lab_verifies_on_a_cluster_kubelab_did_not_create(
    verify_runs: VerifyRuns | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every variant of every lab as expected on a three-node cluster made with plain kind
    from manifests/course-cluster.yaml, kubelab given only its kubeconfig (no Docker):
    the checks read nodes through the API, so they run on any cluster."""
    assert verify_runs is not None, "the course cluster was not started"
    done = verify_runs.results()
    print(done.stdout, done.stderr)
    with capsys.disabled():  # in the run's log, passed or not: where the e2e's time goes
        times = [line for line in done.stdout.splitlines() if line.startswith(TIMES)]
        summary = [line for line in done.stdout.splitlines() if "variants" in line and " in " in line]
        print("\n" + " · ".join([*times, *summary[-1:]]))
        if done.returncode != 0:  # what went wrong first, where a CI log's tail shows it
            print(f"exit code {done.returncode}; stderr's end:\n" + "\n".join(done.stderr.splitlines()[-25:]))
    not_right = [line for line in done.stdout.splitlines() if "✓" not in line]
    assert done.returncode == 0, (
        f"kubelab verify on the course cluster exited {done.returncode}:\n"
        + "\n".join([*done.stderr.splitlines()[-25:], *not_right])
    )
    out = done.stdout
    assert "✗" not in out
    assert "left behind" not in out  # every variant's objects were removed after it
    for lab in labspec.all_labs():
        for variant in verify.variants(lab):
            assert f"{lab.id} {variant.name} " in out
    assert "all as expected" in out
