"""Checks written as data (kubelab.declared), run against a small fake cluster: the
comparison of partial trees, JMESPath keys, quantities, pod states and access reviews."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab import declared
from kubelab.checks import LabContext
from kubelab.errors import CheckFailed, LabContentError
from kubelab.labspec import CheckSpec
from kubelab.text import Text

NS = "lab-01"


class FakeKube:
    """Objects by kind; SubjectAccessReviews answered from `allowed` (user, verb, resource, ns)."""

    def __init__(
        self, *objects: dict[str, Any], allowed: set[tuple[str, str, str, str]] | None = None
    ) -> None:
        self.objects = list(objects)
        self.allowed = allowed or set()
        self.reviews: list[dict[str, Any]] = []

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return next((o for o in self.list(kind) if o["metadata"]["name"] == name), None)

    def is_namespaced(self, kind: str) -> bool:
        return kind not in ("PersistentVolume", "StorageClass", "Node")

    def list(self, kind: str, namespace: str | None = None, selector: str = "") -> list[dict[str, Any]]:
        wanted = dict(part.split("=") for part in selector.split(",") if part)
        return [
            o
            for o in self.objects
            if o["kind"] == kind and wanted.items() <= (o["metadata"].get("labels") or {}).items()
        ]

    def create(
        self, obj: dict[str, Any], namespace: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        self.reviews.append(obj)
        spec = obj["spec"]
        a = spec["resourceAttributes"]
        ok = (spec["user"], a["verb"], a["resource"], a["namespace"]) in self.allowed
        return {**obj, "status": {"allowed": ok, "reason": "RBAC: allowed by RoleBinding" if ok else ""}}


def context(kube: FakeKube, timeout: float = 0.3) -> LabContext:
    spec = CheckSpec(
        id="x",
        points=1,
        timeout=timeout,
        title=Text("t", "t"),
        hint=Text("h", "h"),
        kubectl="",
        disturbs=False,
    )
    return LabContext(kube=kube, lab=None, namespace=NS, spec=spec, cleanup=None)  # type: ignore[arg-type]


def rs(replicas: int = 3, memory: str = "64Mi") -> dict[str, Any]:
    return {
        "kind": "ReplicaSet",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "resources": {"limits": {"memory": memory}}}]},
            },
        },
    }


def pod(name: str, ready: bool = True, restarts: int = 0, **status: Any) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "web", "restartCount": restarts, **status}],
        },
    }


def run(kube: FakeKube, *expect: dict[str, Any], timeout: float = 0.3) -> CheckFailed | None:
    try:
        declared.checker(expect)(context(kube, timeout))
    except CheckFailed as e:
        return e
    return None


def test_a_partial_tree_matches_what_it_names_and_nothing_else() -> None:
    assert declared.compare({"spec": {"replicas": 3}}, rs()) is None
    wrong = declared.compare({"spec": {"replicas": 3}}, rs(replicas=1))
    assert wrong == declared.Mismatch("spec.replicas", 3, 1)
    missing = declared.compare({"spec": {"paused": True}}, rs())
    assert missing is not None and declared.shown(missing.found) == "(not set)"


def test_a_key_in_parentheses_is_jmespath_on_the_object_there() -> None:
    tree = {"spec": {"(template.spec.containers[].name)": ["web"], "(length(template.spec.containers))": 1}}
    assert declared.compare(tree, rs()) is None
    assert declared.compare({"(selects(spec.selector, {app: 'web'}))": True}, rs()) is None
    assert declared.compare({"(selects(spec.selector, {app: 'db'}))": True}, rs()) is not None


def test_quantities_compare_by_value_and_other_strings_exactly() -> None:
    limits = {
        "spec": {"template": {"spec": {"containers": [{"resources": {"limits": {"memory": "67108864"}}}]}}}
    }
    assert declared.compare(limits, rs(memory="64Mi")) is None  # 64Mi is 67108864 bytes
    assert declared.compare(limits, rs(memory="64M")) is not None
    one = {"(spec.template.spec.containers[0].resources.limits.memory)": "67108864"}
    assert declared.compare(one, rs(memory="64Mi")) is None
    assert (
        declared.compare(
            {"(quantity(spec.template.spec.containers[0].resources.limits.memory))": 67108864}, rs()
        )
        is None
    )
    assert declared.compare({"metadata": {"name": "web2"}}, rs()) is not None
    assert declared.compare({"spec": {"replicas": True}}, rs(replicas=1)) is not None  # true is not 1


def test_a_list_must_match_item_for_item() -> None:
    assert declared.compare({"a": [1, 2]}, {"a": [1, 2]}) is None
    assert declared.compare({"a": [1, 2]}, {"a": [2, 1]}) is not None
    assert declared.compare({"a": [1]}, {"a": [1, 2]}) is not None
    assert declared.compare({"a": [{"x": 1}]}, {"a": [{"x": 1, "y": 2}]}) is None


def test_an_object_check_says_where_what_was_expected_and_what_was_found() -> None:
    failed = run(
        FakeKube(rs(replicas=1)),
        {"object": {"kind": "ReplicaSet", "name": "web"}, "has": {"spec": {"replicas": 3}}},
    )
    assert failed is not None
    assert failed.finding.subject == f"ReplicaSet {NS}/web"
    assert (failed.finding.expected, failed.finding.found) == ("spec.replicas: 3", "spec.replicas: 1")
    assert (
        run(
            FakeKube(rs()),
            {"object": {"kind": "ReplicaSet", "name": "web"}, "has": {"spec": {"replicas": 3}}},
        )
        is None
    )


def test_a_missing_object_fails_at_once_naming_what_exists() -> None:
    failed = run(FakeKube(rs()), {"object": {"kind": "ReplicaSet", "name": "other"}}, timeout=30)
    assert failed is not None and failed.final and failed.finding.missing
    assert failed.finding.detail is not None and "web" in failed.finding.detail.en


def test_absent_and_counted_objects() -> None:
    assert run(FakeKube(rs()), {"object": {"kind": "ReplicaSet", "name": "old"}, "absent": True}) is None
    assert run(FakeKube(rs()), {"object": {"kind": "ReplicaSet", "name": "web"}, "absent": True}) is not None
    counted = {"object": {"kind": "Pod", "selector": "app=web"}, "count": {"min": 2}}
    assert run(FakeKube(pod("a"), pod("b")), counted) is None
    failed = run(FakeKube(pod("a")), counted)
    assert failed is not None and failed.finding.expected == "at least 2 of them"


def test_pods_in_a_state_count_and_a_stuck_pod_ends_the_wait() -> None:
    three = {"pods": {"selector": "app=web"}, "count": 3, "ready": True}
    assert run(FakeKube(pod("a"), pod("b"), pod("c")), three) is None
    failed = run(FakeKube(pod("a"), pod("b"), pod("c", ready=False)), three)
    assert failed is not None and not failed.final and "2 of 3" in failed.finding.found
    pull = {"state": {"waiting": {"reason": "ImagePullBackOff"}}, "image": "kubelab/nope:v9"}
    stuck = run(FakeKube(pod("a"), pod("b"), pod("c", ready=False, **pull)), three, timeout=30)
    assert stuck is not None and stuck.final and stuck.finding.settled is not None


def test_pod_states_the_resources_lab_asks_about() -> None:
    oom = {"lastState": {"terminated": {"reason": "OOMKilled"}}}
    hungry = pod("a", ready=False, restarts=2, **oom)
    hungry["status"]["qosClass"] = "Burstable"
    assert (
        run(
            FakeKube(hungry),
            {"pods": {"selector": "app=web"}, "terminated": "OOMKilled", "restarts": {"min": 1}},
        )
        is None
    )
    assert run(FakeKube(hungry), {"pods": {"selector": "app=web"}, "qos": "Burstable"}) is None
    failed = run(FakeKube(hungry), {"pods": {"selector": "app=web"}, "qos": "Guaranteed"})
    assert failed is not None and "qos Burstable" in failed.finding.found


def test_can_asks_the_api_server_for_each_action() -> None:
    user = f"system:serviceaccount:{NS}:reader"
    kube = FakeKube(allowed={(user, "get", "pods", NS), (user, "list", "pods", NS)})
    reader = {
        "as": {"serviceaccount": "reader"},
        "may": ["get pods", "list pods"],
        "may_not": ["delete pods", "list pods cluster-wide"],
    }
    assert run(kube, {"can": reader}) is None
    review = kube.reviews[-1]["spec"]
    assert review["user"] == user and f"system:serviceaccounts:{NS}" in review["groups"]
    assert review["resourceAttributes"] == {"verb": "list", "resource": "pods", "group": "", "namespace": ""}
    kube.allowed.add((user, "delete", "pods", NS))
    failed = run(kube, {"can": reader})
    assert failed is not None and not failed.final  # the authorizer may not have caught up yet
    assert failed.finding.expected == "may not delete pods" and failed.finding.found.startswith(
        "may delete pods"
    )


def test_actions_are_read_with_their_group_subresource_and_namespace() -> None:
    assert declared.parse_action("create deployments.apps in other", NS)[0] == {
        "verb": "create",
        "resource": "deployments",
        "group": "apps",
        "namespace": "other",
    }
    assert declared.parse_action("get pods/log", NS)[0]["subresource"] == "log"
    with pytest.raises(LabContentError):
        declared.parse_action("get", NS)
    with pytest.raises(LabContentError):
        declared.parse_action("get pods everywhere", NS)


def test_an_item_names_exactly_one_form() -> None:
    with pytest.raises(LabContentError):
        declared.checker([{"object": {"kind": "Pod", "name": "a"}, "pods": {}}])
    with pytest.raises(LabContentError):
        declared.checker([{"has": {}}])


def test_lint_finds_a_broken_declaration_without_a_cluster() -> None:
    assert declared.problems([{"object": {"kind": "Pod", "name": "a"}, "has": {"(length(spec.x)": 1}}]) != []
    assert declared.problems([{"object": {"kind": "Pod", "name": "a"}, "found": "spec..x"}]) != []
    assert declared.problems([{"can": {"as": {"user": "u"}, "may": ["get"]}}]) != []
    assert declared.problems([{"has": {}}]) != []
    good = {
        "object": {"kind": "Pod", "name": "a"},
        "found": "spec",
        "has": {"spec": {"(length(containers))": 1}},
    }
    assert declared.problems([good, {"can": {"as": {"user": "u"}, "may": ["get pods in x"]}}]) == []
    # a Deployment's pods are its ReplicaSet's: `owner: Deployment` would pick none
    said = declared.problems([{"pods": {"owner": {"kind": "Deployment", "name": "web"}}, "ready": True}])
    assert said and "select its pods by label" in said[0]
    assert (
        declared.problems([{"pods": {"owner": {"kind": "ReplicaSet", "name": "web"}}, "ready": True}]) == []
    )


def test_an_expression_names_a_lab_parameter_with_param() -> None:
    from dataclasses import replace
    from types import SimpleNamespace

    svc = {
        "kind": "Service",
        "metadata": {"name": "eva"},
        "spec": {"ports": [{"port": 80, "nodePort": 30081}]},
    }
    want = {
        "object": {"kind": "Service", "name": "eva"},
        "final": True,
        "has": {"spec": {"(contains(ports[].nodePort, param('node_port')))": True}},
    }

    def with_port(port: int) -> CheckFailed | None:
        lab = replace(context(FakeKube(svc)), lab=SimpleNamespace(values={"node_port": port}))
        try:
            declared.checker([want])(lab)
        except CheckFailed as e:
            return e
        return None

    assert with_port(30081) is None
    failed = with_port(30080)
    assert failed is not None and failed.final
    assert declared.PARAMS.get() is None  # set only while the check runs
    assert declared.problems([want]) == []


def test_one_pod_by_name_must_exist_and_be_in_the_state() -> None:
    ready = {"pods": {"name": "a"}, "count": 1, "ready": True}
    assert run(FakeKube(pod("a"), pod("b", ready=False)), ready) is None
    failed = run(FakeKube(pod("a", ready=False), pod("b")), ready)
    assert failed is not None and failed.finding.subject == f"Pod {NS}/a" and "0 of 1" in failed.finding.found
    missing = run(FakeKube(pod("b")), ready, timeout=30)
    assert missing is not None and missing.final and missing.finding.missing


def test_a_cluster_scoped_object_is_named_without_a_namespace() -> None:
    pv = {
        "kind": "PersistentVolume",
        "metadata": {"name": "pv-a"},
        "spec": {"hostPath": {"path": "/data/x/"}},
    }
    want = {
        "object": {"kind": "PersistentVolume", "name": "pv-a"},
        "has": {"spec": {"storageClassName": "manual"}},
    }
    failed = run(FakeKube(pv), want)
    assert failed is not None and failed.finding.subject == "PersistentVolume pv-a"
    missing = run(FakeKube(pv), {"object": {"kind": "PersistentVolume", "name": "pv-b"}}, timeout=30)
    assert missing is not None and missing.final and missing.finding.subject == "PersistentVolume pv-b"
    assert missing.finding.detail is not None and "pv-a" in missing.finding.detail.en
    assert declared.search("normpath(spec.hostPath.path)", pv) == "/data/x"
    assert declared.search("normpath(spec.local.path)", pv) is None


def test_found_may_label_each_expression_it_shows() -> None:
    want = {
        "object": {"kind": "ReplicaSet", "name": "web"},
        "expected": "3 replicas",
        "found": {"replicas": "spec.replicas", "labels": "spec.template.metadata.labels"},
        "has": {"spec": {"replicas": 3}},
    }
    failed = run(FakeKube(rs(replicas=1)), want)
    assert failed is not None and failed.finding.found == "replicas: 1, labels: {app: web}"
    assert declared.problems([want]) == []
    assert declared.problems([{**want, "found": {"bad": "spec.[["}}]) != []


def test_an_expression_the_live_object_does_not_fit_is_a_mismatch_not_an_error() -> None:
    """length(null) on a pod with no volumes: the learner reads why, the check does not crash."""
    bare = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
    failed = run(
        FakeKube(bare),
        {"object": {"kind": "Pod", "name": "p"}, "has": {"(length(spec.volumes) > `0`)": True}},
    )
    assert failed is not None and "could not evaluate" in failed.finding.found


def test_a_selector_that_picks_nothing_does_not_pass_by_default() -> None:
    assert (
        run(FakeKube(), {"object": {"kind": "Pod", "selector": "app=web"}, "has": {"kind": "Pod"}})
        is not None
    )
    assert run(FakeKube(), {"object": {"kind": "Pod", "selector": "app=web"}, "count": 0}) is None


def test_selects_reads_a_services_plain_selector_as_equality() -> None:
    service = {"spec": {"selector": {"app": "web"}}}
    assert declared.compare({"(selects(spec.selector, {app: 'web', x: 'y'}))": True}, service) is None
    assert declared.compare({"(selects(spec.selector, {app: 'other'}))": False}, service) is None


def test_lint_finds_unknown_functions_wrong_arity_and_keys_another_form_reads() -> None:
    pod = {"kind": "Pod", "name": "a"}
    assert declared.problems([{"object": pod, "has": {"(nosuch(spec))": 1}}]) != []
    assert declared.problems([{"object": pod, "has": {"(quantity('1', '2'))": 1}}]) != []
    stray = declared.problems([{"object": pod, "ready": True}])
    assert stray and "ready: not a key of the object form" in stray[0]
    assert declared.problems([{"pods": {"selector": "a=b"}, "ready": True, "count": 2}]) == []


def test_a_sigkill_under_a_memory_limit_is_the_oom_kill_the_runtime_missed() -> None:
    def pod(limits: dict[str, str], probe: bool = False) -> dict[str, object]:
        container: dict[str, object] = {"name": "eat", "resources": {"limits": limits}}
        if probe:
            container["livenessProbe"] = {"exec": {"command": ["true"]}}
        killed = {"terminated": {"reason": "Error", "exitCode": 137}}
        return {
            "spec": {"containers": [container]},
            "status": {"containerStatuses": [{"name": "eat", "lastState": killed}]},
        }

    assert declared.POD_STATES["terminated"](pod({"memory": "16Mi"})) == ["OOMKilled"]
    assert declared.POD_STATES["terminated"](pod({"cpu": "1"})) == ["Error"]  # no memory limit
    assert declared.POD_STATES["terminated"](pod({"memory": "16Mi"}, probe=True)) == [
        "Error"
    ]  # a probe may kill
