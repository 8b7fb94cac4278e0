"""A lab whose answers' pods keep their own requests (lab.yaml `sandbox: resources`, lab 10):
what lab.yaml may say, and the fences such a sandbox gets (no cluster; the admission
policy that holds what one pod asks for is proven in tests/e2e/test_sandbox.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubelab import labspec, sandbox
from kubelab.capacity import Resources
from kubelab.errors import LabContentError
from tests.unit.fakes import FakeKube

MI = 2**20
SHARE = Resources(250, 320 * MI, 12)


def test_lab_10_lets_five_pods_ask_for_50m_and_64mi_each() -> None:
    assert labspec.find_lab("10").own_requests == Resources(50, 64 * MI, 5)
    assert labspec.find_lab("01").own_requests is None


@pytest.mark.parametrize(
    "said",
    [
        {"per_pod": {"cpu": "2", "memory": "64Mi"}, "pods": 5},  # above kubelab's cap
        {"per_pod": {"cpu": "50m", "memory": "1Gi"}, "pods": 5},
        {"per_pod": {"cpu": "50m", "memory": "64Mi"}, "pods": 50},
        {"per_pod": {"cpu": "0", "memory": "64Mi"}, "pods": 5},
    ],
)
def test_what_a_lab_may_let_its_pods_ask_for_is_capped(lab_root: Path, said: dict[str, object]) -> None:
    path = lab_root / "labs" / "10-resources" / "lab.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["sandbox"]["resources"] = said
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(LabContentError, match=r"sandbox\.resources"):
        labspec.load_lab(path.parent)


def by_name(objs: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objs}  # type: ignore[index]


def test_the_usual_sandbox_adds_defaults_and_counts_cpu_and_memory() -> None:
    fenced = by_name(sandbox.fences("01", "verify", SHARE, ["10.244.0.0/16"]))
    hard = fenced["ResourceQuota/kubelab-answer"]["spec"]["hard"]  # type: ignore[index]
    assert {"requests.cpu", "requests.memory", "limits.cpu", "limits.memory"} <= set(hard)
    limits = fenced["LimitRange/kubelab-answer"]["spec"]["limits"][0]  # type: ignore[index]
    assert limits["default"]["cpu"] and limits["max"]["memory"]
    assert "ResourceQuota/kubelab-answer-requests" not in fenced


def test_pods_that_keep_their_own_requests_get_no_defaults_and_a_count_of_those_that_ask() -> None:
    own = Resources(50, 64 * MI, 5)
    fenced = by_name(sandbox.fences("10", "verify", SHARE, ["10.244.0.0/16"], own))
    hard = fenced["ResourceQuota/kubelab-answer"]["spec"]["hard"]  # type: ignore[index]
    # a quota of CPU or memory would refuse every pod that does not name them all (BestEffort)
    assert not {"requests.cpu", "requests.memory", "limits.cpu", "limits.memory"} & set(hard)
    assert hard["pods"] == "12" and hard["count/configmaps"]
    asking = fenced["ResourceQuota/kubelab-answer-requests"]["spec"]  # type: ignore[index]
    assert asking == {"hard": {"pods": "5"}, "scopes": ["NotBestEffort"]}
    idle = fenced["ResourceQuota/kubelab-answer-best-effort"]["spec"]  # type: ignore[index]
    assert idle == {"hard": {"pods": "5"}, "scopes": ["BestEffort"]}
    limits = fenced["LimitRange/kubelab-answer"]["spec"]["limits"][0]  # type: ignore[index]
    # only ephemeral storage is given and capped: it decides no QoS class
    assert {key: set(values) for key, values in limits.items() if key != "type"} == {
        "default": {"ephemeral-storage"},
        "defaultRequest": {"ephemeral-storage"},
        "max": {"ephemeral-storage"},
    }


def test_the_sandbox_says_what_one_pod_may_ask_for_and_what_the_largest_node_has() -> None:
    nodes = [
        {
            "kind": "Node",
            "metadata": {"name": name},
            "status": {
                "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
        for name, cpu in (("a", "2"), ("b", "4"))
    ]
    said = sandbox.requests_fence(FakeKube(nodes), labspec.find_lab("10"))  # type: ignore[arg-type]
    assert said == {
        sandbox.POD_REQUESTS: "cpu=50m,memory=67108864,pods=5",
        sandbox.LARGEST_NODE: f"cpu=4000m,memory={8 * 2**30},pods=110",
    }
    assert sandbox.requests_fence(FakeKube(nodes), labspec.find_lab("01")) == {}  # type: ignore[arg-type]
