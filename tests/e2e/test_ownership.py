"""kubelab leaves alone what it did not create, on the real cluster (never mocked):
`reset`, and applying a lab's files, leave a learner's volume of the same name and
objects that only carry kubelab's labels as they are.

These tests run beside the verification of every lab (on a cluster of its own,
tests/e2e/conftest.py); they do not disturb the cluster.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubelab import apply, labspec, ownership
from kubelab.cleanup import Cleanup
from kubelab.kube import Kube
from tests.e2e.conftest import solved_cluster
from tests.e2e.test_faults import kubelab

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kube(verify_runs: object) -> Kube:
    """kubelab's cluster, up, with lab 01's reference solution in namespace lab-01 and
    the verification of every lab running beside (on a cluster of its own)."""
    return solved_cluster()


def make(kube: Kube, obj: dict[str, Any]) -> dict[str, Any]:
    """Create an object as a learner would (not through kubelab)."""
    return kube.create(obj)


def learners_volume(
    name: str, path: str, labels: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    """A PersistentVolume as a learner writes one (labels: copied from kubelab's, say)."""
    metadata: dict[str, Any] = {"name": name, **({"labels": labels} if labels else {})}
    body = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": path}}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": metadata, "spec": {**body, **spec}}


def test_reset_leaves_alone_what_kubelab_did_not_create(kube: Kube) -> None:
    labels = ownership.ownership("01")
    saved_copy = make(kube, learners_volume("my-saved-pv", "/data/mine", labels))
    labelled_ns = make(
        kube, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "my-labelled", "labels": labels}}
    )
    try:
        done = kubelab("reset", "01", timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "left alone (kubelab did not create them)" in done.stdout
        for obj in (saved_copy, labelled_ns):
            live = kube.get(obj["kind"], obj["metadata"]["name"])
            assert live is not None and live["metadata"]["uid"] == obj["metadata"]["uid"]
            assert live["metadata"].get("deletionTimestamp") is None
        assert kube.get("Namespace", "lab-01") is None  # kubelab made that one: it is gone
    finally:
        kube.delete("PersistentVolume", "my-saved-pv")
        kube.delete("Namespace", "my-labelled")


def test_a_learners_volume_of_the_same_name_is_not_taken_over(kube: Kube) -> None:
    lab = labspec.find_lab("05")
    mine = make(kube, learners_volume("pv-static", "/data/learner", storageClassName="mine"))
    cleanup = Cleanup(kube)
    try:
        namespace = apply.scratch_namespace(kube, lab, "verify", cleanup)
        docs = lab.manifests(lab.solution)
        rejected = apply.apply_documents(
            kube, docs, namespace, lab.id, strict=False, cleanup=cleanup
        ).rejected
        assert [r.name for r in rejected] == ["pv-static"]
        assert "kubelab did not create it" in rejected[0].reason
    finally:
        assert cleanup.run() == []
    try:
        live = kube.get("PersistentVolume", "pv-static")
        assert live is not None and live["metadata"]["uid"] == mine["metadata"]["uid"]
        assert live["metadata"].get("labels") is None and live["metadata"].get("deletionTimestamp") is None
        assert (
            live["spec"]["storageClassName"] == "mine" and live["spec"]["hostPath"]["path"] == "/data/learner"
        )
    finally:
        kube.delete("PersistentVolume", "pv-static")
