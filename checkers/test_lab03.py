"""Lab 03 — Rolling update and undo. Titles, points and hints: labs/03-rolling-update/lab.yaml.

The history checks read the Deployment's ReplicaSets (kubelab.rollouts: their revision,
image, replicas and change-cause annotations, what `kubectl rollout history` shows), so
they accept the kubectl path (scale, set image, annotate, rollout undo) and the same state
made from manifests alike. Zero downtime is proved on a copy of the learner's Deployment
in a scratch namespace: the checker rolls it from v1 to v2 and watches it the whole time.
"""

from __future__ import annotations

from kubelab.checks import LabContext, assert_that, fail, field, is_ready, name_of, pod_states
from kubelab.manifests import Obj
from kubelab.probes import web_said
from kubelab.rollouts import (
    ATTEMPTS,
    CHANGE_CAUSE,
    PROBE,
    REVISION,
    CopyRollout,
    History,
    Sampling,
    change_cause,
    containers,
    history,
    history_table,
    images,
    revision,
    strategy_diagnosis,
    tag_of,
)
from kubelab.settled import first_stuck, refused_creation
from kubelab.text import Text

DEPLOYMENT = "bootcamp"
WEB = "kubelab/web"
V1, V2 = f"{WEB}:v1", f"{WEB}:v2"
REPLICAS = 4
MEANING = {
    0: Text("리비전이 없습니다", "no revision yet"),
    1: Text(
        "리비전 1: 아직 업데이트하지 않았습니다 (set image v2)", "revision 1: never updated (set image v2)"
    ),
    2: Text(
        "리비전 2: 업데이트는 했지만 되돌리지 않았습니다 (rollout undo --to-revision=1)",
        "revision 2: updated, but never rolled back (rollout undo --to-revision=1)",
    ),
}
"""What the Deployment's revision says the learner has not done yet."""


def bootcamp_history(lab: LabContext) -> History:
    """The Deployment's history as it is now (the Deployment must exist)."""
    return history(lab.require("Deployment", DEPLOYMENT), lab.list("ReplicaSet"))


def web_container(pod: Obj) -> str | None:
    """The name of the pod's (first) container running the web image, for exec."""
    return next(
        (str(c.get("name")) for c in containers(pod) if str(c.get("image", "")).startswith(f"{WEB}:")), None
    )


def test_four_replicas_available_on_v1(lab: LabContext) -> None:
    dep = lab.require("Deployment", DEPLOYMENT)
    subject = lab.subject("Deployment", DEPLOYMENT)
    replicas = field(dep, "spec.replicas")
    assert_that(
        replicas == REPLICAS,
        subject,
        f"spec.replicas: {REPLICAS}",
        f"spec.replicas: {replicas}",
        Text(
            f"파일의 replicas를 {REPLICAS}개로 고쳐 다시 적용하거나, 이 명령으로 늘리세요: "
            f"kubectl -n {lab.namespace} scale deployment {DEPLOYMENT} --replicas={REPLICAS}",
            f"write replicas: {REPLICAS} in the file and apply it again, "
            f"or scale it with kubectl -n {lab.namespace} scale deployment {DEPLOYMENT} "
            f"--replicas={REPLICAS}",
        ),
        final=True,
    )
    assert_that(
        V1 in images(dep) and V2 not in images(dep),
        subject,
        f"pod template image {V1}",
        f"pod template image {', '.join(images(dep)) or 'no containers'}",
        Text(
            "아직 v2입니다: 이 명령으로 리비전 1(v1)로 되돌리세요: "
            f"kubectl -n {lab.namespace} rollout undo deployment/{DEPLOYMENT} --to-revision=1",
            f"still at v2: roll back to revision 1 (v1) with kubectl -n {lab.namespace} rollout undo "
            f"deployment/{DEPLOYMENT} --to-revision=1",
        )
        if V2 in images(dep)
        else None,
        final=True,
    )

    def available() -> list[Obj]:
        now = bootcamp_history(lab)
        pods = now.pods(lab.list("Pod"))
        ready = [p for p in pods if is_ready(p) and V1 in images(p)]
        status = now.deployment.get("status") or {}
        counts = (
            f"{status.get('availableReplicas') or 0} available, {status.get('updatedReplicas') or 0} "
            f"up to date, {status.get('replicas') or 0} in all"
        )
        assert_that(
            len(ready) == REPLICAS and len(pods) == REPLICAS and status.get("availableReplicas") == REPLICAS,
            subject,
            f"{REPLICAS} available pods, all running {V1}",
            f"{counts}; pods: {pod_states(pods)}",
            settled=first_stuck(pods) or refused_creation(now.replica_sets),
        )
        return ready

    for pod in lab.eventually(available):
        name, web = name_of(pod), web_container(pod)

        def says_v1(name: str = name, container: str | None = web) -> None:
            done = lab.exec(name, ["curl", "-s", "-m", "3", "http://localhost/"], container)
            assert_that(
                done.code == 0, lab.subject("Pod", name), "an answer on port 80", f"curl exit {done.code}"
            )
            said = web_said(done.stdout, "version")
            assert_that(said == "v1", lab.subject("Pod", name), 'answers "version": "v1"', f"answers {said}")

        lab.eventually(says_v1, 30)


def test_revision_shows_update_and_undo(lab: LabContext) -> None:
    subject = lab.subject("Deployment", DEPLOYMENT)

    def updated_and_undone() -> None:
        now = bootcamp_history(lab)
        meaning, rows = MEANING.get(now.revision), now.text()
        assert_that(
            now.revision >= 3,
            subject,
            f"annotation {REVISION} ≥ 3",
            f"{REVISION}: {now.revision or 'none'}",
            Text(f"{meaning.ko}. {rows.ko}", f"{meaning.en}. {rows.en}") if meaning else rows,
            final=now.caught_up,
        )
        newest = now.newest
        assert_that(
            newest is not None and revision(newest) == now.revision and tag_of(newest, WEB) == "v1",
            subject,
            f"its revision {now.revision} is the v1 ReplicaSet (the undo's)",
            f"newest ReplicaSet: {history_table([newest]) if newest else 'none'}",
            rows,
            final=now.caught_up,
        )

    lab.eventually(updated_and_undone)


def test_v2_replicaset_kept_at_zero(lab: LabContext) -> None:
    dep = lab.require("Deployment", DEPLOYMENT)
    subject = lab.subject("Deployment", DEPLOYMENT)
    assert_that(
        field(dep, "spec.revisionHistoryLimit") != 0,
        subject,
        "revisionHistoryLimit ≥ 1 (old ReplicaSets kept)",
        "revisionHistoryLimit: 0",
        Text(
            "0이면 디플로이먼트가 옛 레플리카셋을 지웁니다: 되돌아갈 기록이 없습니다 (기본값 10)",
            "with 0 the Deployment deletes its old ReplicaSets: no history is left to undo to (default 10)",
        ),
        final=True,
    )

    def kept() -> None:
        now = bootcamp_history(lab)
        old_v2 = now.before_current(WEB, "v2")
        ever_v2 = any(tag_of(rs, WEB) == "v2" for rs in now.replica_sets)
        assert_that(
            bool(old_v2),
            subject,
            f"an old ReplicaSet running {V2} in its history",
            now.table(),
            Text(
                "v2가 지금 리비전이면 아직 되돌리지 않은 것입니다"
                if ever_v2
                else "v2 레플리카셋이 없습니다: v2로 업데이트한 적이 있나요? "
                "(kubectl set image, 또는 파일을 고쳐 apply)",
                "v2 is the current revision: not rolled back yet"
                if ever_v2
                else "no v2 ReplicaSet: was it ever updated to v2? "
                "(kubectl set image, or the file changed and applied)",
            ),
            final=now.caught_up,
        )
        rs = old_v2[-1]
        wanted, running = field(rs, "spec.replicas"), field(rs, "status.replicas") or 0
        assert_that(
            wanted == 0 and running == 0,
            lab.subject("ReplicaSet", name_of(rs)),
            "0 replicas and no pods (kept only as history)",
            f"spec.replicas {wanted}, {running} pods",
        )

    lab.eventually(kept)


def test_change_causes_recorded(lab: LabContext) -> None:
    subject = lab.subject("Deployment", DEPLOYMENT)
    annotate = f'kubectl -n {lab.namespace} annotate deployment {DEPLOYMENT} {CHANGE_CAUSE}="..." --overwrite'
    how = Text(
        f"바꾼 직후에 이 명령을 실행하세요: {annotate}. "
        "디플로이먼트가 그 어노테이션을 지금 리비전의 레플리카셋에 옮겨 적습니다",
        f"right after each change run {annotate}: "
        "the Deployment copies it to the current revision's ReplicaSet",
    )

    def recorded() -> None:
        now = bootcamp_history(lab)
        old_v2, current = now.before_current(WEB, "v2"), now.current
        if not old_v2 or current is None:
            fail(
                subject,
                "a v2 revision and a current revision in its history",
                now.table(),
                final=now.caught_up,
            )
        v2 = old_v2[-1]
        deployment_says = change_cause(now.deployment)
        for rs, what in ((v2, "v2"), (current, "current")):
            assert_that(
                bool(change_cause(rs)),
                lab.subject("ReplicaSet", name_of(rs)),
                f"annotation {CHANGE_CAUSE} (CHANGE-CAUSE of revision {revision(rs)}, {what})",
                "no change-cause",
                how,
                # the current one's may only be on its way from the Deployment's
                final=now.caught_up and (rs is v2 or not deployment_says),
            )
        assert_that(
            change_cause(v2) != change_cause(current),
            subject,
            f"revision {revision(v2)} and revision {revision(current)} each say what changed",
            f"both say {change_cause(current)!r}",
            how,
            final=now.caught_up and deployment_says == change_cause(current),
        )

    lab.eventually(recorded)


# --- zero downtime, on a copy ---------------------------------------------------------


def test_rollout_keeps_four_available(lab: LabContext) -> None:
    dep = lab.require("Deployment", DEPLOYMENT)
    subject = (
        f"a copy of {lab.subject('Deployment', DEPLOYMENT)} at {REPLICAS} replicas, rolled from v1 to v2"
    )
    assert_that(
        any(i.startswith(f"{WEB}:") for i in images(dep)),
        subject,
        f"a container running {WEB} (to roll from v1 to v2)",
        ", ".join(images(dep)) or "no containers",
        final=True,
    )

    def judge(seen: Sampling) -> None:
        lowest = seen.lowest(REPLICAS)
        assert_that(
            lowest >= REPLICAS,
            subject,
            f"at least {REPLICAS} available pods at every moment",
            f"available pods went down to {lowest} (available: {seen.timeline()})",
            strategy_diagnosis(dep, REPLICAS),
            final=True,
        )
        down = seen.answers.count("down")
        assert_that(
            down == 0,
            subject,
            f"the web answers every sample (Service {DEPLOYMENT}, asked from pod {PROBE})",
            f"{down} of {len(seen.answers)} samples got no answer in {ATTEMPTS} tries",
            strategy_diagnosis(dep, REPLICAS, web_down=True),
            final=True,
        )

    with CopyRollout(lab, dep, REPLICAS, WEB) as rollout:
        rollout.serving(V1)
        rollout.roll_to(V2, judge, subject)
