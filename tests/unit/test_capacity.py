"""Each answer's share of the cluster, and admitting a sandbox only when there is room for
it (no cluster: a cluster's lists as data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubelab import capacity
from kubelab.capacity import CHECK_PODS, DEFAULT_REQUEST, FLOOR, Resources
from kubelab.errors import EnvironmentProblem
from kubelab.kube import Target
from kubelab.manifests import Document

MI = 2**20


@pytest.mark.parametrize(
    ("value", "millis", "size"),
    [("250m", 250, 1), ("0.5", 500, 1), ("2", 2000, 2), ("1e3", 1_000_000, 1000), (1, 1000, 1)],
)
def test_quantities(value: object, millis: int, size: int) -> None:
    assert capacity.cpu_millis(value) == millis
    assert capacity.memory_bytes(value if value != "250m" else "1") == size
    assert capacity.memory_bytes("64Mi") == 64 * MI and capacity.memory_bytes("1G") == 10**9


@pytest.mark.parametrize("value", ["lots", "", "1Zi", "-1", "1e400"])
def test_what_is_not_a_quantity(value: str) -> None:
    with pytest.raises(ValueError):
        capacity.quantity(value)


def doc(obj: dict[str, Any]) -> Document:
    return Document(Path("a.yaml"), 1, obj)


def container(**resources: Any) -> dict[str, Any]:
    return {"name": "c", "image": "kubelab/web:v1", "resources": resources}


def deployment(replicas: object, *containers: dict[str, Any], kind: str = "Deployment") -> Document:
    spec = {"replicas": replicas, "template": {"spec": {"containers": list(containers)}}}
    return doc({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "d"}, "spec": spec})


CHECKS = DEFAULT_REQUEST.times(CHECK_PODS) + Resources(pods=CHECK_PODS)


def test_an_answer_needs_what_its_pods_ask_for() -> None:
    asked = container(requests={"cpu": "100m", "memory": "64Mi"})
    # one more for a replacement; a Deployment's old pods still count while it rolls
    assert capacity.needs([deployment(3, asked)]) == Resources(700, 448 * MI, 7) + CHECKS
    assert capacity.needs([deployment(3, asked, kind="ReplicaSet")]) == Resources(400, 256 * MI, 4) + CHECKS
    # only limits: the API server makes them the requests; neither: the LimitRange's default
    only_limits = container(limits={"cpu": "1", "memory": "1Gi"})
    assert capacity.needs([deployment(1, only_limits, container())]) == (
        (Resources(1000, 2**30, 1) + DEFAULT_REQUEST).times(3) + CHECKS
    )
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    init = {
        **pod,
        "spec": {"initContainers": [container(requests={"cpu": "3"})], "containers": [container()]},
    }
    assert capacity.needs([doc(init)]) == Resources(3000, DEFAULT_REQUEST.memory, 1) + CHECKS


def test_what_cannot_be_read_asks_for_the_default() -> None:
    broken = container(requests={"cpu": "lots", "memory": ["x"]})
    assert (
        capacity.needs([deployment("three", broken, kind="ReplicaSet")])
        == (DEFAULT_REQUEST + Resources(pods=1)).times(2) + CHECKS
    )
    assert capacity.needs([doc({"kind": "ConfigMap", "spec": "x"}), deployment(10**9, container())]).pods == (
        2 * capacity.CEILING.pods + 1 + CHECK_PODS
    )


class Cluster:
    """What a cluster lists, for capacity's reading."""

    def __init__(self, nodes: list[Any], namespaces: list[Any], pods: list[Any], tmp_path: Path) -> None:
        self.items = {"Node": nodes, "Namespace": namespaces, "Pod": pods}
        self.target = Target(tmp_path / "kubeconfig", "c")

    def list(self, kind: str, namespace: str | None = None, selector: str = "") -> list[Any]:
        found = self.items[kind]
        if namespace:
            found = [o for o in found if o["metadata"].get("namespace") == namespace]
        if selector:
            key, value = selector.split("=")
            found = [o for o in found if (o["metadata"].get("labels") or {}).get(key) == value]
        return found

    def cluster_id(self) -> str:
        return "test"


def node(name: str, cpu: str = "2", memory: str = "8Gi", taint: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"taints": [{"effect": "NoSchedule"}]} if taint else {},
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def namespace(name: str, label: str | None = None, reserved: str | None = None, going: bool = False) -> Any:
    metadata: dict[str, Any] = {"name": name}
    if label:
        metadata["labels"] = {capacity.SANDBOX: label}
    if reserved:
        metadata["annotations"] = {capacity.RESERVED: reserved}
    if going:
        metadata["deletionTimestamp"] = "2026-12-04T00:00:00Z"
    return {"metadata": metadata}


def pod(ns: str, cpu: str, phase: str = "Running") -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": ns},
        "spec": {"nodeName": "n1", "containers": [container(requests={"cpu": cpu, "memory": "100Mi"})]},
        "status": {"phase": phase},
    }


def test_the_room_is_the_nodes_less_other_pods_less_every_sandboxs_reservation(tmp_path: Path) -> None:
    share = Resources(50, 512 * MI, 10)
    cluster = Cluster(
        [node("n1"), node("tainted", taint=True)],
        [
            namespace("kube-system"),
            namespace("lab-01-s01", "true", share.annotation()),
            namespace("lab-01-s02", "true", share.annotation(), going=True),  # emptied: its room is free
            namespace("lab-01-s03", "true"),  # an older kubelab's: its pods count
            namespace("lab-01-rollout-abc", "scratch"),  # within its sandbox's share
        ],
        [
            pod("kube-system", "900m"),
            pod("kube-system", "500m", phase="Succeeded"),
            pod("lab-01-s01", "50m"),
            pod("lab-01-s03", "20m"),
            pod("lab-01-rollout-abc", "50m"),
        ],
        tmp_path,
    )
    seen = capacity.room(cluster)  # type: ignore[arg-type]
    assert seen.capacity == Resources(2000 - 900 - 20, 8 * 2**30 - 200 * MI, 108)
    assert seen.reserved == share.times(capacity.SCRATCH_COPIES)
    # pods are the limit here: 108 // 20
    assert capacity.jobs(cluster) == min(1080 // (2 * FLOOR.cpu), 108 // (2 * FLOOR.pods))  # type: ignore[arg-type]


def test_a_share_is_what_the_answer_asks_within_bounds(tmp_path: Path) -> None:
    cluster = Cluster([node("n1", cpu="1", memory="1Gi")], [], [], tmp_path)
    assert capacity.share(cluster, []) == FLOOR  # type: ignore[arg-type]
    greedy = deployment(10, container(requests={"cpu": "2", "memory": "2Gi"}))
    # never more than half the cluster (a copy may run beside it), never less than the floor
    assert capacity.share(cluster, [greedy]) == Resources(500, FLOOR.memory, capacity.CEILING.pods)  # type: ignore[arg-type]


def test_a_sandbox_is_claimed_only_when_there_is_room(tmp_path: Path) -> None:
    cluster = Cluster([node("n1", cpu="1")], [], [], tmp_path)
    claimed = capacity.admitted(cluster, FLOOR, lambda: "claimed", wait=1)  # type: ignore[arg-type]
    assert claimed == "claimed"
    cluster.items["Namespace"] = [namespace(f"s{i}", "true", FLOOR.annotation()) for i in range(10)]
    calls: list[int] = []
    with pytest.raises(EnvironmentProblem, match="no room on the cluster"):
        capacity.admitted(cluster, FLOOR, lambda: calls.append(1), wait=1)  # type: ignore[arg-type]
    assert not calls


def test_a_pod_left_pending_for_want_of_room_is_told_apart(tmp_path: Path) -> None:
    def pending(message: str) -> dict[str, Any]:
        condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
        return {"metadata": {"name": "w", "namespace": "ns"}, "status": {"conditions": [condition]}}

    cluster = Cluster([], [], [pending("0/1 nodes are available: 1 Insufficient cpu.")], tmp_path)
    assert "Insufficient cpu" in (capacity.starved(cluster, "ns") or "")  # type: ignore[arg-type]
    cluster.items["Pod"] = [pending("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity")]
    assert capacity.starved(cluster, "ns") is None  # type: ignore[arg-type]
    # lab 10's `cpu: "64"`: the answer asked for more than any node has, not the cluster's fault
    huge = pending("0/1 nodes are available: 1 Insufficient cpu.")
    huge["spec"] = {"containers": [container(requests={"cpu": "64"})]}
    cluster = Cluster([node("n1")], [], [huge], tmp_path)
    assert capacity.starved(cluster, "ns") is None  # type: ignore[arg-type]
    huge["spec"] = {"containers": [container(requests={"cpu": "1500m"})]}  # would fit an empty node
    assert "Insufficient cpu" in (capacity.starved(cluster, "ns") or "")  # type: ignore[arg-type]


def test_a_cluster_too_small_for_any_answer_is_said_at_once(tmp_path: Path) -> None:
    cluster = Cluster([node("n1", cpu="50m")], [], [], tmp_path)
    with pytest.raises(EnvironmentProblem, match="too small"):
        capacity.admitted(cluster, FLOOR, lambda: "never", wait=60)  # type: ignore[arg-type]


def test_answers_that_wait_are_admitted_first_come_first_served(tmp_path: Path) -> None:
    """A large share waiting for room is not passed over by small ones that fit now."""
    import json
    import os

    cluster = Cluster([node("n1", cpu="1")], [], [], tmp_path)
    queue = tmp_path / ".kubelab-room-test.queue"
    earlier = {"ticket": "a-large-one", "pid": os.getpid(), "since": 0.0 + __import__("time").time()}
    queue.write_text(json.dumps([earlier]))
    with pytest.raises(EnvironmentProblem, match="1 answer"):
        capacity.admitted(cluster, FLOOR, lambda: "passed it", wait=1)  # type: ignore[arg-type]
    assert [e["ticket"] for e in json.loads(queue.read_text())] == ["a-large-one"]  # the waiter left
    queue.write_text(json.dumps([{**earlier, "pid": 2**22 + 7}]))  # its process ended
    assert capacity.admitted(cluster, FLOOR, lambda: "claimed", wait=1) == "claimed"  # type: ignore[arg-type]
    assert json.loads(queue.read_text()) == []


def test_a_quantity_too_large_for_any_number_is_not_a_crash() -> None:
    with pytest.raises(ValueError):
        capacity.quantity("1e999999999")
    huge = container(requests={"cpu": "1e999999999", "memory": "9e99999999Ei"})
    assert capacity.needs([deployment(1, huge, kind="ReplicaSet")]) == (
        (DEFAULT_REQUEST + Resources(pods=1)).times(2) + CHECKS
    )


def test_a_resource_no_share_holds_is_not_the_clusters_fault(tmp_path: Path) -> None:
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 Insufficient nvidia.com/gpu.",
    }
    gpu = {"metadata": {"name": "g", "namespace": "ns"}, "status": {"conditions": [condition]}}
    assert capacity.starved(Cluster([], [], [gpu], tmp_path), "ns") is None  # type: ignore[arg-type]


def test_what_the_steps_scale_to_counts() -> None:
    steps = [("scale", "deployment/web", "--replicas=4"), ("rollout", "undo", "deployment/web")]
    assert capacity.scaled_to(steps) == 4 and capacity.scaled_to([("scale", "--replicas=x")]) == 0
    one = deployment(1, container())
    assert capacity.needs([one], steps).pods == 2 * 4 + 1 + CHECK_PODS


def test_a_node_that_is_not_ready_gives_nothing_now_but_is_not_too_small(tmp_path: Path) -> None:
    """A node marked not ready (a pause, a restart) takes no pods this moment, so nothing
    is admitted; but it comes back, so the cluster is not "too small": the answer waits."""
    back_soon = node("n1")
    back_soon["spec"] = {"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]}
    back_soon["status"]["conditions"] = [{"type": "Ready", "status": "Unknown"}]
    cluster = Cluster([back_soon], [], [], tmp_path)
    seen = capacity.room(cluster)  # type: ignore[arg-type]
    assert seen.capacity == Resources() and seen.steady == seen.allocatable == Resources(2000, 8 * 2**30, 110)
    assert capacity.share(cluster, []) == FLOOR  # type: ignore[arg-type]
    with pytest.raises(EnvironmentProblem, match="no room on the cluster"):
        capacity.admitted(cluster, FLOOR, lambda: "never", wait=1)  # type: ignore[arg-type]


def unscheduled(ns: str, cpu: str) -> dict[str, Any]:
    found = pod(ns, cpu, phase="Pending")
    del found["spec"]["nodeName"]
    return found


def test_a_pod_no_node_can_ever_take_holds_nothing(tmp_path: Path) -> None:
    """Lab 10's `cpu: "64"` in a learner's own namespace (or a class seat) stays Pending
    for good: it takes no room from the answers; one that waits for room does."""
    cluster = Cluster(
        [node("n1"), node("n2", cpu="4")],
        [namespace("lab-10")],
        [unscheduled("lab-10", "64"), unscheduled("lab-10", "3")],
        tmp_path,
    )
    assert capacity.largest_node(cluster) == Resources(4000, 8 * 2**30, 110)  # type: ignore[arg-type]
    seen = capacity.room(cluster)  # type: ignore[arg-type]
    assert seen.capacity == Resources(6000 - 3000, 16 * 2**30 - 100 * MI, 220 - 1)
    assert capacity.never_scheduled(Resources(64000, 0), Resources(4000, 8 * 2**30))
    assert capacity.never_scheduled(Resources(0, 9 * 2**30), Resources(4000, 8 * 2**30))
    assert not capacity.never_scheduled(Resources(4000, 8 * 2**30), Resources(4000, 8 * 2**30))


def test_a_lab_whose_pods_keep_their_own_requests_has_that_many_times_that_much(tmp_path: Path) -> None:
    cluster = Cluster([node("n1")], [], [], tmp_path)
    own = Resources(50, 64 * MI, 5)
    huge = deployment(1, container(requests={"cpu": "64"}))
    # the manifests' 64 CPUs count for nothing: five pods of at most 50m and 64Mi
    # pods: five that ask, five that do not, the checks' own
    assert capacity.share(cluster, [huge], own=own) == Resources(250, 320 * MI, 12)  # type: ignore[arg-type]
