from __future__ import annotations

import pytest

from kubelab.selectors import describe_labels, matches, to_query

SET_BASED = {
    "matchLabels": {"tier": "frontend"},
    "matchExpressions": [{"key": "environment", "operator": "In", "values": ["production", "qa"]}],
}


@pytest.mark.parametrize(
    ("labels", "chosen"),
    [
        ({"tier": "frontend", "environment": "production"}, True),
        ({"tier": "frontend", "environment": "qa"}, True),
        ({"tier": "frontend", "environment": "dev"}, False),
        ({"environment": "production"}, False),
        ({"tier": "frontend"}, False),
    ],
)
def test_set_based_selector_is_evaluated_like_the_api_server(labels: dict[str, str], chosen: bool) -> None:
    assert matches(SET_BASED, labels) is chosen


def test_notin_and_exists_operators() -> None:
    notin = {"matchExpressions": [{"key": "environment", "operator": "NotIn", "values": ["staging"]}]}
    assert matches(notin, {"environment": "dev"})
    assert matches(notin, {})  # NotIn also chooses pods without the key, as in the API
    assert not matches(notin, {"environment": "staging"})
    exists = {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}
    assert matches(exists, {"tier": "x"}) and not matches(exists, {"app": "x"})
    absent = {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}
    assert matches(absent, {"app": "x"}) and not matches(absent, {"tier": "x"})


def test_empty_selector_chooses_everything() -> None:
    assert matches({}, {"a": "b"}) and matches(None, None)


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="Near"):
        matches({"matchExpressions": [{"key": "a", "operator": "Near"}]}, {})


def test_query_string_is_what_kubectl_get_l_takes() -> None:
    assert to_query(SET_BASED) == "tier=frontend,environment in (production,qa)"
    assert to_query({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}) == "!a"
    assert describe_labels({"b": "2", "a": "1"}) == "a=1,b=2"
    assert describe_labels(None) == "(no labels)"


def _node(
    name: str, labels: dict[str, str], taints: list[dict[str, str]] | None = None, **spec: object
) -> dict:
    return {"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints or [], **spec}}


ZONE = "topology.kubernetes.io/zone"
WORKER_A = _node("kubelab-worker", {ZONE: "ap-northeast-2a", "kubernetes.io/hostname": "kubelab-worker"})
WORKER_B = _node("kubelab-worker2", {ZONE: "ap-northeast-2b"})
PLANE = _node(
    "kubelab-control-plane", {}, [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
)


def test_a_node_selector_fits_the_nodes_with_its_labels() -> None:
    from kubelab.selectors import node_constraints, node_fits

    spec = {"nodeSelector": {ZONE: "ap-northeast-2a"}}
    assert node_constraints(spec)
    assert [n["metadata"]["name"] for n in (WORKER_A, WORKER_B) if node_fits(spec, n)] == ["kubelab-worker"]
    assert not node_constraints({}) and node_fits({}, WORKER_B)


def test_required_node_affinity_ors_its_terms_and_ands_their_requirements() -> None:
    from kubelab.selectors import node_fits

    def spec(*terms: dict) -> dict:
        required = {"nodeSelectorTerms": list(terms)}
        return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}}

    zone_b = {"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["ap-northeast-2b"]}]}
    by_name = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["kubelab-worker"]}]}
    both = {"matchExpressions": [*zone_b["matchExpressions"], {"key": "gpu", "operator": "Exists"}]}
    assert [node_fits(spec(zone_b, by_name), n) for n in (WORKER_A, WORKER_B)] == [True, True]
    assert [node_fits(spec(both), n) for n in (WORKER_A, WORKER_B)] == [False, False]
    assert not node_fits(spec({}), WORKER_A)  # an empty term matches no node


def test_a_taint_or_a_cordon_keeps_a_pod_off_unless_tolerated() -> None:
    from kubelab.selectors import tolerates

    assert not tolerates({}, PLANE)
    assert tolerates({"tolerations": [{"operator": "Exists"}]}, PLANE)
    assert tolerates(
        {"tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}]}, PLANE
    )
    assert not tolerates({}, _node("cordoned", {}, unschedulable=True))
    assert tolerates({}, WORKER_A)


def test_what_only_the_scheduler_weighs_is_named_and_node_rules_are_not() -> None:
    from kubelab.selectors import beyond_node_rules

    web = {"name": "web", "image": "kubelab/web:v1", "ports": [{"containerPort": 80}]}
    node_rules = {
        "containers": [web],
        "nodeSelector": {ZONE: "ap-northeast-2a"},
        "tolerations": [{"operator": "Exists"}],
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{}]}},
        "topologySpreadConstraints": [{"whenUnsatisfiable": "ScheduleAnyway"}],
        "volumes": [{"name": "v", "emptyDir": {}}, {"name": "c", "configMap": {"name": "x"}}],
        "schedulerName": "default-scheduler",
    }
    assert beyond_node_rules(node_rules) == []
    weighed = {
        "initContainers": [{"name": "i", "resources": {"limits": {"memory": "64Mi"}}}],
        "containers": [{**web, "ports": [{"containerPort": 80, "hostPort": 8080}]}],
        "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{}]}},
        "topologySpreadConstraints": [{"topologyKey": ZONE, "maxSkew": 1}],
        "volumes": [
            {"name": "d", "persistentVolumeClaim": {"claimName": "x"}},
            {"name": "h", "hostPath": {}},
        ],
        "schedulerName": "another",
    }
    assert beyond_node_rules(weighed) == [
        "resources",
        "hostPort",
        "affinity.podAffinity",
        "topologySpreadConstraints",
        "volumes (hostPath)",
        "volumes (persistentVolumeClaim)",
        "schedulerName",
    ]
