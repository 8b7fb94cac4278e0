"""A Service as its clients reach it (kubelab.services), with a fake cluster and a fake lab
whose exec answers from a table: its endpoints, its node port, its DNS names, a request
from inside a pod."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from kubelab import services
from kubelab.errors import CheckFailed
from kubelab.kube import ExecResult
from kubelab.settled import Unchanged
from tests.unit.fakes import FakeKube

NS = "lab-02-s01"


def pod(name: str, release: str, ready: bool = True) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "eva", "release": release}},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def endpoint_slice(name: str, *endpoints: tuple[str, bool, str]) -> dict[str, Any]:
    return {
        "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": NS, "labels": {"kubernetes.io/service-name": "eva"}},
        "endpoints": [
            {"targetRef": {"kind": kind, "name": target}, "conditions": {"ready": ready}}
            for target, ready, kind in endpoints
        ],
    }


def service(kind: str = "NodePort", node_port: int | None = 30080) -> dict[str, Any]:
    port = {"port": 80, **({"nodePort": node_port} if node_port else {})}
    return {
        "kind": "Service",
        "metadata": {"name": "eva", "namespace": NS},
        "spec": {"type": kind, "ports": [port]},
    }


class FakeLab:
    """What kubelab.services uses of a LabContext; exec answers from `answers`."""

    namespace = NS
    lab = SimpleNamespace(namespace="lab-02")

    def __init__(self, *objects: dict[str, Any], answers: dict[str, ExecResult] | None = None) -> None:
        self.kube = FakeKube(list(objects))
        self.answers = answers or {}

    def subject(self, kind: str, name: str) -> str:
        return f"{kind} {NS}/{name}"

    def list(self, kind: str, selector: str = "") -> list[dict[str, Any]]:
        return self.kube.list(kind, NS, selector)

    def live_pods(self, selector: str = "") -> list[dict[str, Any]]:
        return self.list("Pod", selector)

    def require(self, kind: str, name: str) -> dict[str, Any]:
        found = self.kube.get(kind, name, NS)
        assert found is not None
        return found

    def node_url(self, node_port: int) -> str:
        return f"http://127.0.0.1:{node_port}/"

    def exec(self, pod: str, command: Sequence[str]) -> ExecResult:
        return self.answers[command[-1]]


def failure(call: Any) -> CheckFailed:
    with pytest.raises(CheckFailed) as caught:
        call()
    return caught.value


def test_the_ready_pods_behind_a_service_and_their_labels() -> None:
    slices = [
        endpoint_slice("eva-1", ("w1", True, "Pod"), ("e1", False, "Pod")),
        endpoint_slice("eva-2", ("w2", True, "Pod"), ("vm", True, "Node")),
    ]
    lab = FakeLab(*slices, pod("w1", "west"), pod("w2", "west"), pod("e1", "east"))
    assert services.ready_endpoints(lab, "eva") == {"w1", "w2"}
    assert services.ready_pod_names(lab, "app=eva,release=west") == {"w1", "w2"}
    assert services.by_label(lab.list("Pod"), ["w1", "e1", "gone"], "release") == (
        "1 have release=?, 1 have release=east, 1 have release=west"
    )
    assert services.by_label([], [], "release") == "none"


def test_a_node_port_from_outside_only_on_the_labs_port() -> None:
    url, subject = services.nodeport_url(FakeLab(service()), "eva", 30080)
    assert url == "http://127.0.0.1:30080/" and subject == f"Service {NS}/eva at {url}"
    cluster_ip = failure(lambda: services.nodeport_url(FakeLab(service("ClusterIP", None)), "eva", 30080))
    assert cluster_ip.final and cluster_ip.finding.found == "spec.type ClusterIP, node ports [None]"


def test_every_nodes_ipv4_address() -> None:
    nodes = [
        {
            "kind": "Node",
            "metadata": {"name": "w1"},
            "status": {
                "addresses": [
                    {"type": "InternalIP", "address": "fd00::1"},
                    {"type": "InternalIP", "address": "10.0.0.2"},
                ]
            },
        },
        {
            "kind": "Node",
            "metadata": {"name": "w2"},
            "status": {"addresses": [{"type": "Hostname", "address": "w2"}]},
        },
    ]
    assert services.node_addresses(FakeLab(*nodes)) == {"w1": "10.0.0.2"}


def test_a_url_that_names_the_service_from_any_namespace() -> None:
    lab = FakeLab()
    assert services.dns_names("eva", NS)[0] == f"eva.{NS}.svc.cluster.local"
    assert (
        services.service_url(lab, f"http://eva.{NS}.svc:8080/x", "eva", "s") == f"http://eva.{NS}.svc:8080/x"
    )
    # the lab's own namespace, where the learner practised, counts as this one's
    assert (
        services.service_url(lab, "eva.lab-02.svc.cluster.local.", "eva", "s")
        == f"http://eva.{NS}.svc.cluster.local"
    )
    short = failure(lambda: services.service_url(lab, "http://eva", "eva", "s"))
    assert short.final and "short name eva" in str(short.finding.detail)
    by_ip = failure(lambda: services.service_url(lab, "http://10.96.0.12/", "eva", "s"))
    assert by_ip.finding.expected == f"http://eva.{NS}.svc.cluster.local" and "IP address" in str(
        by_ip.finding.detail
    )


def test_a_request_from_inside_answered_by_a_pod_behind_the_service() -> None:
    answered = ExecResult(0, '{"pod": "w1"}', "")
    slices = endpoint_slice("eva-1", ("w1", True, "Pod"), ("w2", True, "Pod"))
    lab = FakeLab(slices, pod("w1", "west"), pod("w2", "west"), answers={"http://eva/": answered})
    backends = services.Backends(lab, "eva", "app=eva,release=west", 2)
    backends.ask_from("client", "http://eva/", "s")

    lab.answers["http://eva/"] = ExecResult(0, '{"pod": "e1"}', "")
    assert failure(lambda: backends.ask_from("client", "http://eva/", "s")).finding.found == "answered by e1"


def test_a_refused_request_settles_only_with_the_right_endpoints_unchanged() -> None:
    refused = ExecResult(7, "", "connection refused")
    slices = endpoint_slice("eva-1", ("w1", True, "Pod"), ("w2", True, "Pod"))
    lab = FakeLab(slices, pod("w1", "west"), pod("w2", "west"), answers={"http://eva/": refused})
    backends = services.Backends(lab, "eva", "app=eva,release=west", 2)
    backends.steady = Unchanged(0)
    tries = [failure(lambda: backends.ask_from("client", "http://eva/", "s")) for _ in range(3)]
    assert [t.final for t in tries] == [False, False, True]
    assert tries[0].finding.found == "curl exit 7 connection refused"

    one_west = FakeLab(slices, pod("w1", "west"), answers={"http://eva/": refused})
    waiting = services.Backends(one_west, "eva", "app=eva,release=west", 2)
    waiting.steady = Unchanged(0)
    assert not any(failure(lambda: waiting.ask_from("client", "http://eva/", "s")).final for _ in range(3))
