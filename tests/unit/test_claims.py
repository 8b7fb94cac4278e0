"""PersistentVolumes and their claims as checkers read them (kubelab.claims), without a
cluster: real objects as dicts, in a fake cluster where a check needs one."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab import claims
from kubelab.checks import LabContext
from kubelab.errors import CheckFailed
from kubelab.labspec import CheckSpec
from kubelab.text import Text
from tests.unit.fakes import FakeKube

NS = "lab-05"


def pv(name: str = "pv-static", **spec: Any) -> dict[str, Any]:
    return {
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "manual",
            "hostPath": {"path": "/data/lab-05", "type": "DirectoryOrCreate"},
            **spec,
        },
        "status": {"phase": "Available"},
    }


def pvc(
    name: str = "pvc-static", cls: str | None = "manual", size: str = "1Gi", **spec: Any
) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}, **spec},
        "status": {"phase": "Pending"},
    }
    if cls is not None:
        claim["spec"]["storageClassName"] = cls
    return claim


def pod(name: str, *claim_names: str, node: str = "", unscheduled: str = "") -> dict[str, Any]:
    conditions = [{"type": "PodScheduled", "status": "False", "message": unscheduled}] if unscheduled else []
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "nodeName": node or None,
            "containers": [
                {"name": "app", "volumeMounts": [{"name": c, "mountPath": f"/{c}"} for c in claim_names]}
            ],
            "volumes": [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claim_names],
        },
        "status": {"conditions": conditions},
    }


STANDARD = {
    "kind": "StorageClass",
    "metadata": {"name": "standard"},
    "provisioner": "rancher.io/local-path",
    "volumeBindingMode": "WaitForFirstConsumer",
}


def context(*objects: dict[str, Any]) -> LabContext:
    spec = CheckSpec(
        id="x", points=1, timeout=0.3, title=Text("t", "t"), hint=Text("h", "h"), kubectl="", disturbs=False
    )
    return LabContext(kube=FakeKube(list(objects)), lab=None, namespace=NS, spec=spec, cleanup=None)  # type: ignore[arg-type]


def test_a_volume_in_a_line_names_its_claim() -> None:
    bound = pv(claimRef={"namespace": NS, "name": "pvc-static", "uid": "u1"})
    bound["status"]["phase"] = "Bound"
    assert claims.claim_ref(bound) == (NS, "pvc-static", "u1")
    assert claims.describe_pv(bound) == (
        "pv-static: Bound, class manual, 1Gi, ReadWriteOnce, Retain, claim lab-05/pvc-static"
    )
    assert claims.describe_pv(None) == "no such PersistentVolume"
    assert claims.claim_ref(pv()) == ("", "", "")


@pytest.mark.parametrize(
    ("claim", "volume", "says"),
    [
        (pvc(cls="standard"), pv(), "has class manual, the claim asks for standard"),
        (pvc(size="2Gi"), pv(), "offers 1Gi and the claim asks for 2Gi"),
        (pvc(accessModes=["ReadWriteMany"]), pv(), "offers access modes ReadWriteOnce, the claim asks for"),
        (pvc(), pv(claimRef={"namespace": "other", "name": "pvc-static"}), "already belongs to claim other/"),
        (pvc(), pv(claimRef={"namespace": NS, "name": "pvc-static", "uid": "old-uid"}), "is Released"),
        (pvc(volumeName="pv-other"), pv(), "the claim's spec.volumeName names pv-other"),
    ],
)
def test_a_misfit_says_why_the_volume_cannot_be_bound(claim: Any, volume: Any, says: str) -> None:
    why = claims.misfit(volume, claim)
    assert why is not None and says in why.en


def test_a_volume_that_fits_has_no_misfit() -> None:
    assert claims.misfit(pv(), pvc()) is None
    assert (
        claims.misfit(pv(claimRef={"namespace": NS, "name": "pvc-static", "uid": "uid-pvc-static"}), pvc())
        is None
    )
    assert claims.misfit(pv(capacity={"storage": "2Gi"}), pvc(size="1024Mi")) is None  # at least the request


def test_released_for_names_the_deleted_claim_and_how_to_free_the_volume() -> None:
    released = pv(claimRef={"namespace": NS, "name": "pvc-static", "uid": "u1"})
    released["status"]["phase"] = "Released"
    why = claims.released_for(released, NS, "pvc-static")
    assert why is not None and "kubectl patch pv pv-static" in why.en and "apply pvc-static again" in why.en
    assert claims.released_for(released, "other", "pvc-static") is None
    assert claims.released_for(pv(), NS, "pvc-static") is None


def test_a_provisioned_volume_instead_of_the_meant_one_is_explained() -> None:
    made = pv("pvc-1234", storageClassName="standard")
    made["metadata"]["annotations"] = {claims.PROVISIONED_BY: "rancher.io/local-path"}
    claim = pvc(cls="standard", volumeName="pvc-1234")
    why = claims.provisioned_instead(claim, made, "pv-static", "manual")
    assert why is not None and "rancher.io/local-path made a new volume pvc-1234" in why.en
    assert "pv-static (class manual) is never used" in why.en
    assert claims.provisioned_instead(claim, pv(), "pv-static", "manual") is None


def test_a_claim_no_pod_uses_waits_for_its_first_consumer_and_that_is_final() -> None:
    lab = context(STANDARD, pvc("pvc-dynamic", cls="standard"))
    reason = claims.pending_reason(lab, pvc("pvc-dynamic", cls="standard"))
    assert reason.final and "WaitForFirstConsumer" in reason.text.en


def test_a_claim_waits_for_its_pod_unless_another_claim_of_the_pod_never_binds() -> None:
    dynamic, static = pvc("pvc-dynamic", cls="standard"), pvc("pvc-static", size="2Gi")
    user = pod("storage-user", "pvc-static", "pvc-dynamic", unscheduled="unbound immediate claims")
    lab = context(STANDARD, dynamic, static, pv(), user)
    reason = claims.pending_reason(lab, dynamic, {"pvc-static": "pv-static"})
    assert reason.final and "its claim pvc-static can never be bound" in reason.text.en
    fine = context(STANDARD, dynamic, pvc("pvc-static"), pv(), user)
    assert not claims.pending_reason(fine, dynamic).final  # pv-static fits: binding follows


def test_an_empty_class_is_no_class_and_no_volume_fits() -> None:
    lab = context(STANDARD, pv())
    reason = claims.pending_reason(lab, pvc("pvc-dynamic", cls=""))
    assert reason.final and reason.text.en.startswith('storageClassName: "" means "no class"')


def test_the_meant_volume_is_looked_at_whatever_the_claims_class() -> None:
    lab = context(pv())
    claim = pvc(cls="fast")
    assert claims.pending_reason(lab, claim).text.en == "no PersistentVolume has class fast"
    said = claims.pending_reason(lab, claim, {"pvc-static": "pv-static"}).text.en
    assert said == "pv-static has class manual, the claim asks for fast"


def test_an_unscheduled_pod_is_told_its_claims_that_never_bind() -> None:
    user = pod("storage-user", "pvc-static", "pvc-gone", unscheduled="unbound immediate claims")
    lab = context(pv(), pvc(size="2Gi"), user)
    said = claims.unscheduled(lab, user)
    assert said is not None
    detail, final = said
    assert final and 'scheduler: "unbound immediate claims"' in detail.en
    assert "claims that do not exist: pvc-gone" in detail.en and "offers 1Gi" in detail.en
    assert claims.unscheduled(lab, pod("placed", "pvc-static", node="worker")) is None


def test_the_nodes_and_zones_a_volume_fits() -> None:
    def node(name: str, zone: str | None) -> dict[str, Any]:
        return {"kind": "Node", "metadata": {"name": name, "labels": {claims.ZONE: zone} if zone else {}}}

    nodes = [node("a", "ap-northeast-2a"), node("b", "ap-northeast-2b"), node("c", None)]
    term = {"matchExpressions": [{"key": claims.ZONE, "operator": "In", "values": ["ap-northeast-2a"]}]}
    pinned = pv(nodeAffinity={"required": {"nodeSelectorTerms": [term]}})
    assert [n["metadata"]["name"] for n in claims.nodes_for(pinned, nodes)] == ["a"]
    assert len(claims.nodes_for(pv(), nodes)) == 3  # no node affinity: any node
    assert [claims.zone_of(n) for n in nodes] == ["ap-northeast-2a", "ap-northeast-2b", "(no zone)"]


def test_the_node_of_a_pod_that_uses_the_claim_is_waited_for() -> None:
    lab = context(pod("storage-user", "pvc-static", node="worker"), pod("other", "pvc-dynamic"))
    assert claims.node_of_user(lab, "pvc-static") == "worker"
    assert [p["metadata"]["name"] for p in claims.pods_using(lab, "pvc-dynamic")] == ["other"]
    with pytest.raises(CheckFailed) as failed:
        claims.node_of_user(lab, "pvc-dynamic")
    assert failed.value.finding.expected == "one placed on a node"


def test_a_prebound_copy_keeps_the_spec_but_its_folder_and_claim() -> None:
    original = pv(claimRef={"namespace": NS, "name": "pvc-static"}, persistentVolumeReclaimPolicy="Delete")
    copy, claim = claims.prebound_copy(original, "copy", "/data/root/retain-1", "scratch", "claim", "1Gi")
    assert copy["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert copy["spec"]["hostPath"] == {"path": "/data/root/retain-1", "type": "DirectoryOrCreate"}
    assert copy["spec"]["claimRef"]["namespace"] == "scratch" and "uid" not in copy["spec"]["claimRef"]
    assert claim["spec"] == {
        "storageClassName": "manual",
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
        "volumeName": "copy",
    }


def test_what_a_reclaim_policy_did_is_said() -> None:
    assert "a hostPath PV cannot be deleted" in claims.reclaimed("Delete").en
    assert "reclaim the volume" in claims.reclaimed("Recycle").en
