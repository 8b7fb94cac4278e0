"""Lab 01 — ReplicaSet self-healing. Titles, points and hints: labs/01-replicaset/lab.yaml."""

from __future__ import annotations

from collections import Counter

from kubelab.checks import LabContext, assert_that, field, is_ready, name_of, owner_uid, pod_states, spec_copy
from kubelab.ownership import labelled, ownership
from kubelab.placement import closed_to, pinned_where_one_node_is, tie
from kubelab.replicas import one_ready, owned_pods, placed_pods, ready_owned, replaced_as_made
from kubelab.selectors import beyond_node_rules, describe_labels, matches, node_fits, to_query, tolerates
from kubelab.settled import first_stuck, stuck
from kubelab.text import Text

RS = "simple-replicaset"
SET_RS = "set-based-replicaset"


def test_replicaset_recreates_deleted_pod(lab: LabContext) -> None:
    """Self-healing at whatever count the ReplicaSet wants (the count is another check's).

    What an answer decides of it is its pod template: the controller that replaces a
    deleted pod is the cluster's. So reading decides when the ReplicaSet is not going away
    nor failing to create pods, its template's pods are Ready once their containers run
    (readiness_beyond_spec), and one of its Ready pods is exactly the pod the template
    makes now (LabContext.made_now, a dry run): a pod in place of a deleted one is that
    pod again (kubelab.replicas.replaced_as_made). Otherwise (pods unlike the template:
    made by hand and adopted, or made before the template changed; a template the API
    server now refuses; probes) one pod is deleted and its replacement must become Ready."""
    rs = lab.require("ReplicaSet", RS)
    want = field(rs, "spec.replicas")
    want = want if isinstance(want, int) and want > 0 else 1
    before = lab.eventually(lambda: ready_owned(lab, rs, want))
    if replaced_as_made(lab, RS, before):
        return
    victim = before[0]
    lab.delete_pod(victim)
    old_uids = {field(p, "metadata.uid") for p in before}

    def healed() -> None:
        pods = ready_owned(lab, rs, want)
        new = [p for p in pods if field(p, "metadata.uid") not in old_uids]
        assert_that(
            field(victim, "metadata.uid") not in {field(p, "metadata.uid") for p in pods} and bool(new),
            lab.subject("ReplicaSet", RS),
            f"a new pod (new UID) in place of the deleted {name_of(victim)}",
            f"pods {pod_states(pods)}",
        )

    lab.eventually(healed)


DRAIN_REPLICAS = 3
"""At most this many pods in the drain check's copy."""


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
    pods = lab.eventually(lambda: placed_pods(lab, rs))
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
        f"its pod template fits only {busiest} ({tie(template)})",
        Text(
            f"{busiest}를 drain하면 이 파드들이 갈 곳이 없습니다",
            f"with {busiest} drained, these pods would have nowhere to go",
        ),
        final=True,
    )
    if not beyond_node_rules(template):
        # node rules and taints alone say where its pods may go, and they fit another
        # node: the copy would prove no more than one of its own pods Ready does
        lab.eventually(lambda: one_ready(lab, rs))
        return
    copied = spec_copy(rs)
    copied["spec"]["replicas"] = min(len(pods), DRAIN_REPLICAS)
    copied["spec"]["template"]["spec"] = closed_to(template, busiest)
    namespace = lab.scratch_namespace("drain")
    lab.kube.apply(labelled(copied, ownership(lab.lab.id, "drain")), namespace)
    want = copied["spec"]["replicas"]
    copy_subject = f"a copy of {subject} with node {busiest} closed to it (as kubectl cordon/drain do)"

    def back_elsewhere() -> None:
        there = owned_pods(lab.kube, lab.kube.get("ReplicaSet", RS, namespace) or {}, namespace)
        ready = [p for p in there if is_ready(p)]
        assert_that(
            len(ready) == want,
            copy_subject,
            f"{want} Ready pods on the other nodes ({', '.join(fits)})",
            f"{len(ready)} Ready of {len(there)} ({pod_states(there)})",
            settled=first_stuck(there),
        )

    lab.eventually(back_elsewhere)


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
        own = {name_of(p) for p in ready_owned(lab, rs, 2)}
        chosen = {name_of(p) for p in lab.list("Pod", to_query(field(rs, "spec.selector")))}
        assert_that(
            chosen == own,
            lab.subject("ReplicaSet", SET_RS),
            f"its selector chooses exactly its own pods ({', '.join(sorted(own))})",
            f"it chooses {', '.join(sorted(chosen)) or 'nothing'}",
        )

    lab.eventually(unselected)
