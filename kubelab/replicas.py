"""A ReplicaSet's pods as a check sees them: the pods it owns (its controller reference,
not its selector: a pod it adopted is its own too), exactly its replicas Ready, its pods
placed on nodes or one of them Ready, and whether a pod in place of a deleted one would
be one of its Ready pods again (so a check may read instead of deleting one).

A pod stuck on its image or crashing, or a template no node takes, settles the answer
(kubelab.settled): waiting will not mend it."""

from __future__ import annotations

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
)
from kubelab.kube import Kube
from kubelab.manifests import Obj
from kubelab.placement import tie
from kubelab.selectors import node_fits, tolerates
from kubelab.settled import first_stuck
from kubelab.text import Text


def owned_pods(kube: Kube, owner: Obj, namespace: str) -> list[Obj]:
    """Pods in `namespace` whose controller is `owner` (and not being deleted)."""
    uid = field(owner, "metadata.uid")
    return [p for p in kube.list("Pod", namespace) if owner_uid(p) == uid and not deleting(p)]


def ready_owned(lab: LabContext, rs: Obj, want: int) -> list[Obj]:
    """Exactly `want` pods owned by the ReplicaSet, all Ready, or a failure naming each
    pod's state; a ReplicaSet that does not want `want` fails at once."""
    subject = lab.subject("ReplicaSet", name_of(rs))
    replicas = field(rs, "spec.replicas")
    assert_that(replicas == want, subject, f"spec.replicas: {want}", f"spec.replicas: {replicas}", final=True)
    pods = owned_pods(lab.kube, rs, lab.namespace)
    ready = [p for p in pods if is_ready(p)]
    assert_that(
        len(ready) == want and len(pods) == want,
        subject,
        f"{want} Ready pods owned by it",
        f"{len(ready)} Ready of {len(pods)} ({pod_states(pods)})",
        settled=first_stuck(pods),
    )
    return ready


def replaced_as_made(lab: LabContext, name: str, ready: list[Obj]) -> bool:
    """Would a pod in place of a deleted one be one of these Ready pods again? Yes when
    the ReplicaSet is not going away nor failing to create pods, its template's pods are
    Ready once their containers run (readiness_beyond_spec), and one of them is exactly
    the pod the template makes now (LabContext.made_now, a dry run)."""
    rs = lab.get("ReplicaSet", name)
    failing = any(c.get("type") == "ReplicaFailure" for c in field(rs, "status.conditions") or [])
    if rs is None or deleting(rs) or failing:
        return False
    template = field(rs, "spec.template") or {}
    if readiness_beyond_spec(template.get("spec") or {}):
        return False
    made = lab.made_now(template, name)
    return made is not None and any(made_alike(p, made) for p in ready)


def placed_pods(lab: LabContext, rs: Obj) -> list[Obj]:
    """Its pods that a node runs (at least one); none yet is settled when no node fits its
    template (the failure says what ties it: kubelab.placement.tie)."""
    owned = owned_pods(lab.kube, rs, lab.namespace)
    pods = [p for p in owned if field(p, "spec.nodeName")]
    template = field(rs, "spec.template.spec") or {}
    nowhere = not any(node_fits(template, n) and tolerates(template, n) for n in lab.kube.list("Node"))
    why = tie(template)
    assert_that(
        bool(pods),
        lab.subject("ReplicaSet", name_of(rs)),
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


def one_ready(lab: LabContext, rs: Obj) -> None:
    """One of its pods Ready: its template runs (a pod stuck on its image or crashing
    is settled)."""
    owned = owned_pods(lab.kube, rs, lab.namespace)
    assert_that(
        any(is_ready(p) for p in owned),
        lab.subject("ReplicaSet", name_of(rs)),
        "a Ready pod (its template runs)",
        pod_states(owned) or "no pods",
        settled=first_stuck(owned),
    )
