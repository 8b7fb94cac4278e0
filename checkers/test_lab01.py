"""Lab 01 — ReplicaSet self-healing. Titles, points and hints: labs/01-replicaset/lab.yaml."""

from __future__ import annotations

import copy
from collections import Counter

from kubelab.checks import (
    LabContext,
    assert_that,
    deleting,
    field,
    is_ready,
    made_alike,
    name_of,
    owner_uid,
    pod_states,
    readiness_beyond_spec,
    spec_copy,
)
from kubelab.manifests import Obj
from kubelab.ownership import labelled, ownership
from kubelab.selectors import beyond_node_rules, describe_labels, matches, node_fits, to_query, tolerates
from kubelab.settled import first_stuck, stuck
from kubelab.text import Text

RS = "simple-replicaset"
SET_RS = "set-based-replicaset"


def owned_pods(lab: LabContext, rs: Obj) -> list[Obj]:
    """Pods whose controller is this ReplicaSet (and not being deleted)."""
    uid = field(rs, "metadata.uid")
    return [p for p in lab.list("Pod") if owner_uid(p) == uid and not deleting(p)]


def ready_pods(lab: LabContext, rs: Obj, want: int) -> list[Obj]:
    """Exactly `want` Ready pods owned by rs, or a failure naming each pod's state."""
    subject = lab.subject("ReplicaSet", name_of(rs))
    replicas = field(rs, "spec.replicas")
    assert_that(replicas == want, subject, f"spec.replicas: {want}", f"spec.replicas: {replicas}", final=True)
    pods = owned_pods(lab, rs)
    ready = [p for p in pods if is_ready(p)]
    assert_that(
        len(ready) == want and len(pods) == want,
        subject,
        f"{want} Ready pods owned by it",
        f"{len(ready)} Ready of {len(pods)} ({pod_states(pods)})",
        settled=first_stuck(pods),
    )
    return ready


def test_replicaset_recreates_deleted_pod(lab: LabContext) -> None:
    """Self-healing at whatever count the ReplicaSet wants (the count is another check's).

    What an answer decides of it is its pod template: the controller that replaces a
    deleted pod is the cluster's. So reading decides when the ReplicaSet is not going away
    nor failing to create pods, its template's pods are Ready once their containers run
    (readiness_beyond_spec), and one of its Ready pods is exactly the pod the template
    makes now (LabContext.made_now, a dry run): a pod in place of a deleted one is that
    pod again. Otherwise (pods unlike the template: made by hand and adopted, or made
    before the template changed; a template the API server now refuses; probes) one pod
    is deleted and its replacement must become Ready."""
    rs = lab.require("ReplicaSet", RS)
    want = field(rs, "spec.replicas")
    want = want if isinstance(want, int) and want > 0 else 1
    before = lab.eventually(lambda: ready_pods(lab, rs, want))
    if _replaced_as_made(lab, before):
        return
    victim = before[0]
    lab.delete_pod(victim)
    old_uids = {field(p, "metadata.uid") for p in before}

    def healed() -> None:
        pods = ready_pods(lab, rs, want)
        new = [p for p in pods if field(p, "metadata.uid") not in old_uids]
        assert_that(
            field(victim, "metadata.uid") not in {field(p, "metadata.uid") for p in pods} and bool(new),
            lab.subject("ReplicaSet", RS),
            f"a new pod (new UID) in place of the deleted {name_of(victim)}",
            f"pods {pod_states(pods)}",
        )

    lab.eventually(healed)


def _replaced_as_made(lab: LabContext, ready: list[Obj]) -> bool:
    """Would a pod in place of a deleted one be one of these Ready pods again? (see
    test_replicaset_recreates_deleted_pod)"""
    rs = lab.get("ReplicaSet", RS)
    failing = any(c.get("type") == "ReplicaFailure" for c in field(rs, "status.conditions") or [])
    if rs is None or deleting(rs) or failing:
        return False
    template = field(rs, "spec.template") or {}
    if readiness_beyond_spec(template.get("spec") or {}):
        return False
    made = lab.made_now(template, RS)
    return made is not None and any(made_alike(p, made) for p in ready)


HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
DRAIN_REPLICAS = 3
"""At most this many pods in the drain check's copy."""


def closed_to(template_spec: Obj, node: str) -> Obj:
    """The pod spec with `node` closed to it, as `kubectl cordon` closes a node to new
    pods: `metadata.name NotIn [node]` added to every required node-affinity term (a new
    term when there is none; terms are ORed, so each must carry it)."""
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


def test_survives_a_drain(lab: LabContext) -> None:
    """A drain, scoped to this answer: may its pods run on another node than the one that
    runs most of them? Where the template's node rules and taints alone decide (most
    answers), they are read, and one of its pods must be Ready. Where it says more that the
    scheduler weighs (requests, host ports, pod affinity, spread, volumes: beyond_node_rules),
    that node is closed to a copy of the ReplicaSet (in a namespace of the check's), whose
    pods must then be Ready on the other nodes. The learner's pods and the nodes are left
    as they are (a real drain stops every pod of a node, other learners' too)."""
    rs = lab.require("ReplicaSet", RS)
    subject = lab.subject("ReplicaSet", RS)
    template = field(rs, "spec.template.spec") or {}
    pods = lab.eventually(lambda: _running_somewhere(lab, rs))
    busiest = Counter(str(field(p, "spec.nodeName")) for p in pods).most_common(1)[0][0]
    nodes = lab.kube.list("Node")
    others = [name_of(n) for n in nodes if name_of(n) != busiest and tolerates(template, n)]
    if not others:  # one node takes pods (a one-node cluster): nowhere to drain to, here
        pinned = pinned_where_one_node_is(template)
        assert_that(
            not pinned,
            subject,
            "pods that may run on any node (no node or zone named in the template)",
            pinned,
            Text(
                f"이 클러스터에는 파드를 받을 노드가 {busiest} 하나뿐이라, 템플릿만 보았습니다",
                f"this cluster has one node that takes pods ({busiest}): only the template was looked at",
            ),
            final=True,
        )
        return
    # spec.nodeName bypasses the scheduler: such pods run on that node or nowhere
    fits = [
        name
        for name in others
        if not template.get("nodeName") and node_fits(template, next(n for n in nodes if name_of(n) == name))
    ]
    assert_that(
        bool(fits),
        subject,
        f"its pods can run on another node than {busiest} ({', '.join(others)})",
        f"its pod template fits only {busiest} ({_tie(template)})",
        Text(
            f"{busiest}를 drain하면 이 파드들이 갈 곳이 없습니다",
            f"with {busiest} drained, these pods would have nowhere to go",
        ),
        final=True,
    )
    if not beyond_node_rules(template):
        # node rules and taints alone say where its pods may go, and they fit another
        # node: the copy would prove no more than one of its own pods Ready does
        lab.eventually(lambda: _ready_somewhere(lab, rs))
        return
    copied = spec_copy(rs)
    copied["spec"]["replicas"] = min(len(pods), DRAIN_REPLICAS)
    copied["spec"]["template"]["spec"] = closed_to(template, busiest)
    namespace = lab.scratch_namespace("drain")
    lab.kube.apply(labelled(copied, ownership(lab.lab.id, "drain")), namespace)
    want = copied["spec"]["replicas"]
    copy_subject = f"a copy of {subject} with node {busiest} closed to it (as kubectl cordon/drain do)"

    def back_elsewhere() -> None:
        mine = lab.kube.get("ReplicaSet", RS, namespace) or {}
        uid = field(mine, "metadata.uid")
        there = [p for p in lab.kube.list("Pod", namespace) if owner_uid(p) == uid and not deleting(p)]
        ready = [p for p in there if is_ready(p)]
        assert_that(
            len(ready) == want,
            copy_subject,
            f"{want} Ready pods on the other nodes ({', '.join(fits)})",
            f"{len(ready)} Ready of {len(there)} ({pod_states(there)})",
            settled=first_stuck(there),
        )

    lab.eventually(back_elsewhere)


def _running_somewhere(lab: LabContext, rs: Obj) -> list[Obj]:
    """Its pods that a node runs; none yet is settled when no node fits its template."""
    owned = owned_pods(lab, rs)
    pods = [p for p in owned if field(p, "spec.nodeName")]
    template = field(rs, "spec.template.spec") or {}
    nowhere = not any(node_fits(template, n) and tolerates(template, n) for n in lab.kube.list("Node"))
    why = _tie(template)
    assert_that(
        bool(pods),
        lab.subject("ReplicaSet", RS),
        "pods placed on a node",
        pod_states(owned) or "no pods",
        settled=first_stuck(owned)
        or (
            Text(
                f"어느 노드도 파드 템플릿에 맞지 않습니다 ({why})",
                f"no node fits its pod template ({why})",
            )
            if nowhere
            else None
        ),
    )
    return pods


def _ready_somewhere(lab: LabContext, rs: Obj) -> None:
    """One of its pods Ready: its template runs (a pod stuck on its image or crashing
    is settled)."""
    owned = owned_pods(lab, rs)
    assert_that(
        any(is_ready(p) for p in owned),
        lab.subject("ReplicaSet", RS),
        "a Ready pod (its template runs)",
        pod_states(owned) or "no pods",
        settled=first_stuck(owned),
    )


def _tie(spec: Obj) -> str:
    """What in a pod spec ties it to where it may run, said for the learner."""
    return pinned_where_one_node_is(spec) or _constraint(spec)


def _constraint(spec: Obj) -> str:
    said = [f"nodeSelector {describe_labels(spec.get('nodeSelector'))}"] if spec.get("nodeSelector") else []
    if field(spec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"):
        said.append("a required node affinity")
    return ", ".join(said) or "taints it does not tolerate"


def test_dev_pod_stays_unselected(lab: LabContext) -> None:
    selector = field(lab.require("ReplicaSet", SET_RS), "spec.selector")
    dev_labels = field(lab.require("Pod", "dev-pod"), "metadata.labels") or {}
    assert_that(
        not matches(selector, dev_labels),
        lab.subject("ReplicaSet", SET_RS),
        "a selector that does not choose dev-pod",
        f"selector {to_query(selector)} chooses dev-pod ({describe_labels(dev_labels)})",
        Text(
            "레플리카셋은 셀렉터에 맞는 주인 없는 파드를 입양합니다",
            "a ReplicaSet adopts ownerless pods its selector matches",
        ),
        final=True,
    )

    def unselected() -> None:
        rs = lab.require("ReplicaSet", SET_RS)
        dev = lab.require("Pod", "dev-pod")
        subject = lab.subject("Pod", "dev-pod")
        labels = field(dev, "metadata.labels") or {}
        assert_that(
            labels.get("environment") == "dev", subject, "label environment=dev", describe_labels(labels)
        )
        adopted = Text("레플리카셋이 이 파드를 입양했습니다", "a ReplicaSet adopted this pod")
        assert_that(
            owner_uid(dev) is None and is_ready(dev),
            subject,
            "a Ready pod with no owner",
            f"owner {owner_uid(dev) or 'none'}, {pod_states([dev])}",
            adopted if owner_uid(dev) else None,
            settled=stuck(dev),  # its image cannot be pulled, it crashes: waiting will not mend it
        )
        own = {name_of(p) for p in ready_pods(lab, rs, 2)}
        chosen = {name_of(p) for p in lab.list("Pod", to_query(field(rs, "spec.selector")))}
        assert_that(
            chosen == own,
            lab.subject("ReplicaSet", SET_RS),
            f"its selector chooses exactly its own pods ({', '.join(sorted(own))})",
            f"it chooses {', '.join(sorted(chosen)) or 'nothing'}",
        )

    lab.eventually(unselected)
