"""Where a pod template may run, as a drain sees it: what ties it to one node (a node's
name, or a zone that has one node), what else narrows its nodes, said for the learner,
and the template with a node closed to it as `kubectl cordon` closes one (for a copy that
shows where its pods go when that node leaves). Pure functions of a pod spec."""

from __future__ import annotations

import copy

from kubelab.checks import field
from kubelab.manifests import Obj
from kubelab.selectors import describe_labels

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def closed_to(template_spec: Obj, node: str) -> Obj:
    """The pod spec with `node` closed to it, as `kubectl cordon` closes a node to new
    pods: `metadata.name NotIn [node]` added to every required node-affinity term (a new
    term when there is none; terms are ORed, so each must carry it). The spec given is
    left as it is."""
    spec = copy.deepcopy(template_spec)
    spec.pop("nodeName", None)
    not_there = {"key": "metadata.name", "operator": "NotIn", "values": [node]}
    affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    required = affinity.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.get("nodeSelectorTerms") or [{}]
    for term in terms:
        term["matchFields"] = [*(term.get("matchFields") or []), not_there]
    required["nodeSelectorTerms"] = terms
    return spec


def pinned_by_name(spec: Obj, keys: tuple[str, ...] = (HOSTNAME, "metadata.name")) -> str:
    """How a pod spec names the one node it may run on ("" when it does not): by
    nodeName, or a node selector or required node affinity `In` on one of `keys`."""
    if spec.get("nodeName"):
        return f"spec.nodeName: {spec['nodeName']}"
    for key in keys:
        if key in (spec.get("nodeSelector") or {}):
            return f"nodeSelector {key}={spec['nodeSelector'][key]}"
    required = field(spec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution") or {}
    for term in required.get("nodeSelectorTerms") or []:
        for rule in [*(term.get("matchExpressions") or []), *(term.get("matchFields") or [])]:
            if rule.get("key") in keys and rule.get("operator") == "In":
                return f"node affinity {rule['key']} in ({', '.join(rule.get('values') or [])})"
    return ""


def pinned_where_one_node_is(spec: Obj) -> str:
    """What ties a pod spec to one node of the notes' cluster, where each zone has one
    worker: a node's name, or a zone (on a one-node cluster the template is all a check
    can look at)."""
    return pinned_by_name(spec, (HOSTNAME, "metadata.name", ZONE))


def tie(spec: Obj) -> str:
    """What in a pod spec ties it to where it may run, said for the learner: the node or
    zone it names, else its node selector and required node affinity, else the taints
    it does not tolerate (all that is left to keep it off a node)."""
    pinned = pinned_where_one_node_is(spec)
    if pinned:
        return pinned
    said = [f"nodeSelector {describe_labels(spec.get('nodeSelector'))}"] if spec.get("nodeSelector") else []
    if field(spec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"):
        said.append("a required node affinity")
    return ", ".join(said) or "taints it does not tolerate"
