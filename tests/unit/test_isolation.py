"""The sandbox's NetworkPolicy, as data (its enforcement is proven on the cluster: e2e)."""

from __future__ import annotations

from kubelab import isolation
from kubelab.apply import SANDBOX_LABEL


def test_a_sandbox_takes_traffic_from_its_own_pods_kubelab_and_the_host_only() -> None:
    policy = isolation.policy(["10.244.1.0/24", "10.244.2.0/24"])
    spec = policy["spec"]
    assert spec["podSelector"] == {} and spec["policyTypes"] == ["Ingress"]
    [rule] = spec["ingress"]
    assert "ports" not in rule  # every port: the rule is about who, not what
    assert rule["from"] == [
        {"podSelector": {}},
        {"namespaceSelector": {"matchExpressions": [{"key": SANDBOX_LABEL, "operator": "DoesNotExist"}]}},
        {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.244.1.0/24", "10.244.2.0/24"]}},
    ]


def test_without_known_pod_ranges_the_host_is_still_let_in() -> None:
    [rule] = isolation.policy([])["spec"]["ingress"]
    assert rule["from"][-1] == {"ipBlock": {"cidr": "0.0.0.0/0"}}


def test_pod_ranges_come_from_the_nodes() -> None:
    class Nodes:
        def list(self, kind: str) -> list[dict[str, object]]:
            assert kind == "Node"
            return [
                {"spec": {"podCIDRs": ["10.244.1.0/24", "fd00::/64"]}},
                {"spec": {"podCIDR": "10.244.2.0/24"}},
                {"spec": {}},
            ]

    assert isolation.pod_ranges(Nodes()) == ["10.244.1.0/24", "10.244.2.0/24"]  # type: ignore[arg-type]
