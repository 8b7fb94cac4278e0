"""A settled wrong state is judged without waiting out the check's timeout: an image that
cannot be pulled, on the real cluster (never mocked).

This runs before the verification of every lab starts (tests/e2e/conftest.py starts it
in the ownership tests, which come after this file): while the kubelet tries to pull
kubelab/web:v1 for this test's pods, other pods starting with that image on the node can
fail to start too (a lab 04 answer did, in a CI run). Answers in sandboxes cannot do this:
kubelab's admission policy refuses imagePullPolicy Always for kubelab's images there.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from kubelab import ownership
from kubelab.kube import Kube
from tests.e2e.conftest import solved_cluster

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kube() -> Kube:
    """kubelab's kind cluster, up (created or reused)."""
    return solved_cluster()


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    owned = ownership.scratch_namespace(kube, "pull", "01", "test")
    yield owned.name
    ownership.delete(kube, owned)
    kube.delete_all("Pod", owned.name, grace_seconds=0)  # its pulls stop now, not after a grace period


def test_an_image_that_cannot_be_pulled_is_judged_without_waiting(kube: Kube, namespace: str) -> None:
    """The kind cluster has the lab's images loaded and no registry to pull from: a pod
    that insists on pulling (imagePullPolicy: Always) can never start."""
    container = {"name": "web", "image": "kubelab/web:v1", "imagePullPolicy": "Always"}
    labels = {"app": "my-little-pod"}
    kube.create(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "simple-replicaset"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
        namespace,
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubelab",
            "--lang",
            "en",
            "check",
            "01",
            "--namespace",
            namespace,
            "--only",
            "three_pods_ready",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not waiting because / 더 기다리지 않은 이유:" in done.stdout, done.stdout
    assert "cannot be pulled" in done.stdout, done.stdout
