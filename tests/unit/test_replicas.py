"""A ReplicaSet's pods as checkers read them (kubelab.replicas), with a fake cluster and a
fake lab: which pods it owns, exactly its replicas Ready, placed on a node, and whether a
new pod would be one of its Ready pods again."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab import replicas
from kubelab.errors import CheckFailed
from tests.unit.fakes import FakeKube

NS = "lab-01"


def pod(name: str, owner: str | None, ready: bool = True, node: str = "w1", **more: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "uid": f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = [{"controller": True, "uid": owner}]
    return {
        "kind": "Pod",
        "metadata": {**meta, **more},
        "spec": {"nodeName": node, "containers": [{"name": "web", "image": "kubelab/web:v1"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def replica_set(replicas_wanted: int = 2, **spec: Any) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "web"}], **spec}}
    return {
        "kind": "ReplicaSet",
        "metadata": {"name": "rs", "namespace": NS, "uid": "rs-uid"},
        "spec": {"replicas": replicas_wanted, "template": template},
    }


class FakeLab:
    """What kubelab.replicas uses of a LabContext; made_now answers `made`."""

    namespace = NS

    def __init__(self, *objects: dict[str, Any], made: dict[str, Any] | None = None) -> None:
        self.kube = FakeKube(list(objects))
        self.made = made

    def subject(self, kind: str, name: str) -> str:
        return f"{kind} {NS}/{name}"

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.kube.get(kind, name, NS)

    def made_now(self, template: dict[str, Any], owner: str) -> dict[str, Any] | None:
        return self.made


def failure(call: Any) -> CheckFailed:
    with pytest.raises(CheckFailed) as caught:
        call()
    return caught.value


def test_owned_pods_follow_the_controller_reference_not_the_labels() -> None:
    going = pod("going", "rs-uid", deletionTimestamp="2026-01-01T00:00:00Z")
    lab = FakeLab(replica_set(), pod("a", "rs-uid"), pod("bare", None), pod("other", "x"), going)
    assert [p["metadata"]["name"] for p in replicas.owned_pods(lab.kube, replica_set(), NS)] == ["a"]


def test_exactly_its_replicas_ready() -> None:
    rs = replica_set()
    lab = FakeLab(rs, pod("a", "rs-uid"), pod("b", "rs-uid"))
    assert len(replicas.ready_owned(lab, rs, 2)) == 2

    wrong_count = failure(lambda: replicas.ready_owned(lab, rs, 3))
    assert wrong_count.final and wrong_count.finding.found == "spec.replicas: 2"

    pulling = pod("b", "rs-uid", ready=False)
    pulling["status"]["containerStatuses"] = [
        {"name": "web", "state": {"waiting": {"reason": "ErrImagePull"}}}
    ]
    stuck = failure(lambda: replicas.ready_owned(FakeLab(rs, pod("a", "rs-uid"), pulling), rs, 2))
    assert stuck.finding.found.startswith("1 Ready of 2") and stuck.final


def test_a_new_pod_is_one_of_the_ready_pods_again_only_when_made_alike() -> None:
    ready = [pod("a", "rs-uid")]
    alike = {"spec": {k: v for k, v in ready[0]["spec"].items() if k != "nodeName"}}
    assert replicas.replaced_as_made(FakeLab(replica_set(), made=alike), "rs", ready)
    assert not replicas.replaced_as_made(FakeLab(made=alike), "rs", ready)
    probed = replica_set(containers=[{"name": "web", "readinessProbe": {"exec": {}}}])
    assert not replicas.replaced_as_made(FakeLab(probed, made=alike), "rs", ready)
    failing = replica_set()
    failing["status"] = {"conditions": [{"type": "ReplicaFailure", "status": "True"}]}
    assert not replicas.replaced_as_made(FakeLab(failing, made=alike), "rs", ready)


def test_pods_placed_on_a_node_and_a_template_no_node_takes() -> None:
    rs = replica_set(nodeSelector={"kubernetes.io/hostname": "gone"})
    node = {"kind": "Node", "metadata": {"name": "w1", "labels": {"kubernetes.io/hostname": "w1"}}}
    placed = pod("a", "rs-uid")
    assert replicas.placed_pods(FakeLab(rs, node, placed), rs) == [placed]

    pending = pod("a", "rs-uid", ready=False, node="")
    nowhere = failure(lambda: replicas.placed_pods(FakeLab(rs, node, pending), rs))
    assert nowhere.final and "nodeSelector kubernetes.io/hostname=gone" in str(nowhere.finding.settled)


def test_one_ready_pod_says_its_template_runs() -> None:
    rs = replica_set()
    replicas.one_ready(FakeLab(rs, pod("a", "rs-uid"), pod("b", "rs-uid", ready=False)), rs)
    none = failure(lambda: replicas.one_ready(FakeLab(rs, pod("b", "rs-uid", ready=False)), rs))
    assert not none.final and none.finding.found == "b: Running"
