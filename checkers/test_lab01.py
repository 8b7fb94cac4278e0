"""Lab 01 — ReplicaSet self-healing. Titles, points and hints: labs/01-replicaset/lab.yaml."""

from __future__ import annotations

from kubelab.checks import (
    LabContext,
    assert_that,
    deleting,
    fail,
    field,
    is_ready,
    name_of,
    owner_uid,
    pod_states,
)
from kubelab.manifests import Obj
from kubelab.selectors import describe_labels, matches, to_query
from kubelab.settled import first_stuck
from kubelab.text import Text

RS = "simple-replicaset"
SET_RS = "set-based-replicaset"
WEB_IMAGE = "kubelab/web:v1"


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


def test_replicaset_exists(lab: LabContext) -> None:
    lab.require("ReplicaSet", RS)  # the learner creates it: there once applied, no waiting


def test_replicaset_wants_three_replicas(lab: LabContext) -> None:
    rs = lab.require("ReplicaSet", RS)
    replicas = field(rs, "spec.replicas")
    assert_that(
        replicas == 3,
        lab.subject("ReplicaSet", RS),
        "spec.replicas: 3",
        f"spec.replicas: {replicas}",
    )


def test_selector_picks_my_little_pod(lab: LabContext) -> None:
    rs = lab.require("ReplicaSet", RS)
    selector = field(rs, "spec.selector")
    labels = field(rs, "spec.template.metadata.labels") or {}
    subject = lab.subject("ReplicaSet", RS)
    assert_that(
        matches(selector, {"app": "my-little-pod"}) and labels.get("app") == "my-little-pod",
        subject,
        "selector and template labels: app=my-little-pod",
        f"selector {to_query(selector) or '(empty)'}; template labels {describe_labels(labels)}",
    )
    assert_that(
        not matches(selector, {"app": "something-else"}),
        subject,
        "a selector that picks only app=my-little-pod",
        f"selector {to_query(selector) or '(empty)'} also picks app=something-else",
    )


def _image_problem(lab: LabContext, rs: Obj) -> None:
    images = [c.get("image") for c in field(rs, "spec.template.spec.containers") or []]
    assert_that(
        WEB_IMAGE in images,
        lab.subject("ReplicaSet", RS),
        f"a container running {WEB_IMAGE}",
        f"images {', '.join(map(str, images)) or 'none'}",
    )


def test_three_pods_ready(lab: LabContext) -> None:
    rs = lab.require("ReplicaSet", RS)
    _image_problem(lab, rs)
    lab.eventually(lambda: ready_pods(lab, rs, 3))


def test_replicaset_recreates_deleted_pod(lab: LabContext) -> None:
    """Self-healing at whatever count the ReplicaSet wants (the count is another check's)."""
    rs = lab.require("ReplicaSet", RS)
    want = field(rs, "spec.replicas")
    want = want if isinstance(want, int) and want > 0 else 1
    before = lab.eventually(lambda: ready_pods(lab, rs, want))
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


def test_set_based_selector_chooses_production_and_qa(lab: LabContext) -> None:
    rs = lab.require("ReplicaSet", SET_RS)
    selector = field(rs, "spec.selector") or {}
    base = dict(field(rs, "spec.template.metadata.labels") or {})
    subject = lab.subject("ReplicaSet", SET_RS)
    assert_that(
        bool(selector.get("matchExpressions")),
        subject,
        "spec.selector.matchExpressions (a set-based selector)",
        f"selector {to_query(selector) or '(empty)'} has no matchExpressions",
    )
    verdicts = {env: matches(selector, {**base, "environment": env}) for env in ("production", "qa", "dev")}
    wanted = {"production": True, "qa": True, "dev": False}
    if verdicts != wanted:
        chosen = [env for env, picked in verdicts.items() if picked]
        fail(
            subject,
            "chooses environment production and qa, not dev",
            f"selector {to_query(selector)} chooses: {', '.join(chosen) or 'none of them'}",
            Text(
                f"템플릿 레이블({describe_labels(base)})에 environment만 바꿔 셀렉터에 대 보았습니다",
                f"tried the template's labels ({describe_labels(base)}) with each environment",
            ),
        )


def test_set_based_selector_requires_tier(lab: LabContext) -> None:
    selector = field(lab.require("ReplicaSet", SET_RS), "spec.selector") or {}
    any_tier = matches(selector, {"environment": "production", "tier": "backend"})
    no_tier = matches(selector, {"environment": "production"})

    def verdict(chosen: bool) -> str:
        return "chosen" if chosen else "not chosen"

    assert_that(
        any_tier and not no_tier,
        lab.subject("ReplicaSet", SET_RS),
        "a tier label required, of any value (operator Exists)",
        f"selector {to_query(selector) or '(empty)'}: environment=production,tier=backend "
        f"{verdict(any_tier)}; environment=production without tier {verdict(no_tier)}",
        Text(
            "tier 값만 바꾼 파드와 tier 레이블이 없는 파드를 셀렉터에 대 보았습니다",
            "tried a pod with another tier value and a pod with no tier label",
        ),
        final=True,
    )


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
