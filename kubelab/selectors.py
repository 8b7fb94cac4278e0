"""Label selectors, evaluated the way the API server does (for checks and diagnoses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _expression_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op = expr["key"], expr["operator"]
    values = set(expr.get("values") or [])
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    raise ValueError(f"unknown selector operator {op!r}")


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Does a LabelSelector (matchLabels + matchExpressions) select these labels?

    An empty selector selects everything, as in the API.
    """
    selector = selector or {}
    labels = labels or {}
    match_labels = selector.get("matchLabels") or selector.get("match_labels") or {}
    expressions = selector.get("matchExpressions") or selector.get("match_expressions") or []
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    return all(_expression_matches(e, labels) for e in expressions)


def to_query(selector: Mapping[str, Any] | None) -> str:
    """The selector as a `kubectl get -l` / labelSelector query string."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], ",".join(expr.get("values") or [])
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }[op]
        )
    return ",".join(parts)


def describe_labels(labels: Mapping[str, str] | None) -> str:
    """labels as `a=1,b=2` (or `(no labels)`)."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "(no labels)"


def _node_expression_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A node selector requirement: label selector operators, and Gt/Lt on integers."""
    op = expr.get("operator")
    if op in ("Gt", "Lt"):
        key, values = expr.get("key"), expr.get("values") or []
        try:
            have, want = int(labels[str(key)]), int(values[0])
        except (KeyError, IndexError, ValueError):
            return False
        return have > want if op == "Gt" else have < want
    return _expression_matches(expr, labels)


def node_constraints(pod_spec: Mapping[str, Any]) -> bool:
    """Does the pod say where it may run (nodeSelector, or required node affinity)?"""
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    return bool(pod_spec.get("nodeSelector")) or bool((affinity or {}).get("nodeSelectorTerms"))


def node_fits(pod_spec: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """May the scheduler put this pod on this node, by its nodeSelector and its required
    node affinity (the terms are ORed, a term's requirements ANDed; matchFields knows
    metadata.name)? Taints and resources are not looked at."""
    metadata = node.get("metadata") or {}
    labels = metadata.get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    fields = {"metadata.name": str(metadata.get("name") or "")}
    return any(
        all(_node_expression_matches(e, labels) for e in term.get("matchExpressions") or [])
        and all(_node_expression_matches(e, fields) for e in term.get("matchFields") or [])
        and (term.get("matchExpressions") or term.get("matchFields"))
        for term in terms
    )


def tolerates(pod_spec: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """Does the pod tolerate every NoSchedule/NoExecute taint of the node (and is the node
    not cordoned)?"""
    spec = node.get("spec") or {}
    if spec.get("unschedulable"):
        return False
    tolerations = pod_spec.get("tolerations") or []

    def tolerated(taint: Mapping[str, Any]) -> bool:
        for t in tolerations:
            if t.get("effect") and t.get("effect") != taint.get("effect"):
                continue
            if t.get("operator") == "Exists" and (not t.get("key") or t.get("key") == taint.get("key")):
                return True
            if t.get("key") == taint.get("key") and (t.get("value") or "") == (taint.get("value") or ""):
                return True
        return False

    return all(
        tolerated(taint)
        for taint in spec.get("taints") or []
        if taint.get("effect") in ("NoSchedule", "NoExecute")
    )


NODE_FREE_VOLUMES = frozenset({"emptyDir", "configMap", "secret", "downwardAPI", "projected"})
"""Volume sources that are the same on every node (no claim, no node's disk)."""


def beyond_node_rules(pod_spec: Mapping[str, Any]) -> list[str]:
    """What in a pod spec, besides nodeSelector, required node affinity, nodeName and
    taints (which node_fits and tolerates read), the scheduler weighs when it places the
    pod, or a node's kubelet when it runs it: requests and limits, host ports, pod
    (anti-)affinity, spread constraints, volumes of a node or a claim, runtime classes,
    another scheduler, scheduling gates, resource claims. Empty when those rules alone
    say where the pod may run."""
    said: list[str] = []
    containers = [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]
    if pod_spec.get("resources") or any(
        (c.get("resources") or {}).get(k) for c in containers for k in ("requests", "limits", "claims")
    ):
        said.append("resources")
    if any(p.get("hostPort") for c in containers for p in c.get("ports") or []):
        said.append("hostPort")
    affinity = pod_spec.get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        if (affinity.get(kind) or {}).get("requiredDuringSchedulingIgnoredDuringExecution"):
            said.append(f"affinity.{kind}")
    if any(
        c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"
        for c in pod_spec.get("topologySpreadConstraints") or []
    ):
        said.append("topologySpreadConstraints")
    kinds = {k for v in pod_spec.get("volumes") or [] for k in v if k != "name"}
    said += [f"volumes ({k})" for k in sorted(kinds - NODE_FREE_VOLUMES)]
    for key in ("runtimeClassName", "overhead", "schedulingGates", "resourceClaims"):
        if pod_spec.get(key):
            said.append(key)
    if pod_spec.get("schedulerName") not in (None, "", "default-scheduler"):
        said.append("schedulerName")
    return said
