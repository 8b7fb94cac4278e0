"""A Deployment's rollouts as checkers read them (kubelab.rollouts), without a cluster."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from kubelab import rollouts
from kubelab.errors import CheckFailed
from kubelab.kube import ExecResult
from tests.unit.fakes import FakeKube

WEB = "kubelab/web"


def deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "bootcamp",
            "uid": "dep-uid",
            "generation": 4,
            "labels": {"app": "bootcamp"},
            "annotations": {rollouts.REVISION: "3", rollouts.CHANGE_CAUSE: "undo to 1"},
        },
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "bootcamp"}},
            "template": {
                "metadata": {"labels": {"app": "bootcamp"}},
                "spec": {"containers": [{"name": "web", "image": f"{WEB}:v1"}]},
            },
            **spec,
        },
        "status": {"observedGeneration": 4},
    }


def replica_set(
    name: str, revision: int, image: str, replicas: int, owner: str | None = "dep-uid", cause: str = ""
) -> dict[str, Any]:
    annotations = {rollouts.REVISION: str(revision)}
    if cause:
        annotations[rollouts.CHANGE_CAUSE] = cause
    return {
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "uid": f"{name}-uid",
            "labels": {"app": "bootcamp", "pod-template-hash": name.rsplit("-", 1)[-1]},
            "annotations": annotations,
            "ownerReferences": [{"controller": True, "uid": owner}] if owner else [],
        },
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


V1_RS = replica_set("bootcamp-111", 3, f"{WEB}:v1", 4, cause="undo to 1")
V2_RS = replica_set("bootcamp-222", 2, f"{WEB}:v2", 0, cause="set image v2")


def test_a_history_is_the_replicasets_the_deployment_owns_oldest_revision_first() -> None:
    going = {**replica_set("bootcamp-333", 1, f"{WEB}:v0", 0), "metadata": {"deletionTimestamp": "now"}}
    other = replica_set("other-444", 7, f"{WEB}:v1", 1, owner="other-uid")
    seen = rollouts.history(deployment(), [V1_RS, other, going, V2_RS])
    assert seen.replica_sets == [V2_RS, V1_RS]
    assert seen.caught_up
    assert (seen.revision, seen.newest, seen.current) == (3, V1_RS, V1_RS)
    assert seen.before_current(WEB, "v2") == [V2_RS]
    assert seen.before_current(WEB, "v1") == []
    assert seen.table() == (
        "bootcamp-222: revision 2, kubelab/web:v2, 0 replicas, change-cause 'set image v2'; "
        "bootcamp-111: revision 3, kubelab/web:v1, 4 replicas, change-cause 'undo to 1'"
    )
    assert seen.text().en.startswith("the Deployment's ReplicaSets: bootcamp-222: revision 2")
    assert rollouts.history_table([]) == "none"


def test_the_pods_of_a_history_are_those_its_replicasets_own() -> None:
    def pod(name: str, owner: str, **meta: Any) -> dict[str, Any]:
        return {
            "kind": "Pod",
            "metadata": {"name": name, "ownerReferences": [{"controller": True, "uid": owner}], **meta},
        }

    mine, stray = pod("a", "bootcamp-111-uid"), pod("b", "elsewhere")
    going = pod("c", "bootcamp-222-uid", deletionTimestamp="now")
    assert rollouts.history(deployment(), [V1_RS, V2_RS]).pods([mine, stray, going]) == [mine]


@pytest.mark.parametrize(
    ("why", "dep", "replica_sets"),
    [
        (
            "an orphan its selector matches is not adopted yet",
            deployment(),
            [V1_RS, {**V2_RS, "metadata": {**V2_RS["metadata"], "ownerReferences": []}}],
        ),
        (
            "the latest spec is not seen yet",
            {**deployment(), "status": {"observedGeneration": 3}},
            [V1_RS, V2_RS],
        ),
        ("its revision is not its newest ReplicaSet's", deployment(), [V2_RS]),
    ],
)
def test_a_history_is_not_caught_up_while_the_controller_is_busy(
    why: str, dep: dict[str, Any], replica_sets: list[dict[str, Any]]
) -> None:
    assert not rollouts.history(dep, replica_sets).caught_up, why


def test_images_revisions_and_the_tag_of_one_repository() -> None:
    pod = {"kind": "Pod", "spec": {"containers": [{"image": f"{WEB}:v2"}, {"image": "busybox:1.36"}]}}
    assert rollouts.images(pod) == [f"{WEB}:v2", "busybox:1.36"]
    assert rollouts.tag_of(pod, WEB) == "v2"
    assert rollouts.tag_of(deployment(), "busybox") is None
    twice = {"kind": "Pod", "spec": {"containers": [{"image": f"{WEB}:v1"}, {"image": f"{WEB}:v2"}]}}
    assert rollouts.tag_of(twice, WEB) is None
    assert rollouts.revision({"metadata": {"annotations": {rollouts.REVISION: "x"}}}) == 0
    assert rollouts.revision({}) == 0
    assert rollouts.change_cause(V2_RS) == "set image v2"
    assert rollouts.image_tag(f"{WEB}:v1") == "v1"


def test_what_a_strategy_lets_a_rollout_stop() -> None:
    assert rollouts.max_unavailable({"type": "Recreate"}, 4) is None
    assert rollouts.max_unavailable(None, 4) == ("25% (default)", 1)
    assert rollouts.max_unavailable({"rollingUpdate": {"maxUnavailable": "50%"}}, 4) == ("50%", 2)
    assert rollouts.max_unavailable({"rollingUpdate": {"maxUnavailable": 0}}, 4) == ("0", 0)
    recreate = rollouts.strategy_diagnosis(deployment(strategy={"type": "Recreate"}), 4)
    assert recreate.en == "strategy Recreate stops every old pod before it starts new ones"
    assert rollouts.strategy_diagnosis(deployment(), 4).en.startswith(
        "maxUnavailable 25% (default) lets 1 pod(s)"
    )
    zero = deployment(strategy={"rollingUpdate": {"maxUnavailable": 0}})
    assert "readinessProbe reliable" in rollouts.strategy_diagnosis(zero, 4).en
    assert rollouts.strategy_diagnosis(zero, 4, web_down=True).en.startswith("4 pods were available")


def test_a_copy_is_the_learners_spec_at_the_checks_replicas_and_image() -> None:
    dep = deployment(replicas=1, paused=None)
    dep["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox:1.36"})
    copied = rollouts.copy_at(dep, f"{WEB}:v2", 4, WEB)
    assert copied["metadata"] == {"name": "bootcamp", "labels": {"app": "bootcamp"}}
    assert copied["spec"]["replicas"] == 4
    assert "paused" not in copied["spec"]
    assert rollouts.images(copied) == [f"{WEB}:v2", "busybox:1.36"]
    assert rollouts.images(dep) == [f"{WEB}:v1", "busybox:1.36"]  # the learner's object is left alone


def test_sampling_tells_the_lowest_availability_and_how_it_changed() -> None:
    seen = rollouts.Sampling(available=[4, 4, 5])
    assert (seen.lowest(4), seen.timeline()) == (4, "4 → 5")
    seen.watched.extend([4, 3, 3, 4])
    assert (seen.lowest(4), seen.timeline()) == (3, "4 → 3 → 4")
    assert rollouts.Sampling().lowest(4) == 4


class RollingKube(FakeKube):
    """A cluster whose Deployments are available at once, at whatever image they name."""

    def apply(
        self, obj: dict[str, Any], namespace: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        if obj["kind"] == "Deployment":
            n = obj["spec"]["replicas"]
            obj = {**obj, "status": {"availableReplicas": n, "updatedReplicas": n, "replicas": n}}
        if obj["kind"] == "Service":
            obj = {**obj, "spec": {**obj["spec"], "clusterIP": "10.0.0.9"}}
        if obj["kind"] == "Pod":
            obj = {**obj, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
        return super().apply(obj, namespace, dry_run)


def rollout_of(
    dep: dict[str, Any], kube: FakeKube, monkeypatch: pytest.MonkeyPatch, said: list[str]
) -> rollouts.CopyRollout:
    """A CopyRollout on a fake cluster, whose web answers each of `said` in turn (then the
    copy's own version)."""

    def answer(
        kube: FakeKube, pod: str, namespace: str, command: list[str], container: str, timeout: float
    ) -> ExecResult:
        if said:
            return ExecResult(0, said.pop(0), "")
        image = rollouts.images(kube.get("Deployment", "bootcamp", namespace) or {})[0]
        return ExecResult(0, json.dumps({"version": rollouts.image_tag(image)}), "")

    monkeypatch.setattr(rollouts, "exec_in_pod", answer)
    lab = SimpleNamespace(
        kube=kube,
        lab=SimpleNamespace(id="03"),
        scratch_namespace=lambda purpose: f"lab-03-{purpose}",
        eventually=lambda check, timeout=None: check(),
    )
    return rollouts.CopyRollout(lab, dep, 4, WEB)  # type: ignore[arg-type]


def test_a_copy_serves_then_rolls_while_each_sample_is_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    kube = RollingKube()
    judged: list[list[str]] = []
    with rollout_of(deployment(replicas=1), kube, monkeypatch, []) as rollout:
        rollout.serving(f"{WEB}:v1")
        assert rollout.url == "http://10.0.0.9/"
        assert kube.get("Pod", rollouts.PROBE, "lab-03-rollout") is not None
        seen = rollout.roll_to(f"{WEB}:v2", lambda s: judged.append(list(s.answers)), "the copy")
    assert seen.answers == ["v2"]
    assert seen.available == [4]
    assert judged == [["v2"], ["v2"]]  # after the sample, and once more at the end
    copied = kube.get("Deployment", "bootcamp", "lab-03-rollout") or {}
    assert copied["metadata"]["labels"]["app"] == "bootcamp"
    assert rollouts.images(copied) == [f"{WEB}:v2"]


def test_a_copy_that_does_not_answer_its_version_is_not_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    rollout = rollout_of(deployment(), RollingKube(), monkeypatch, ["RETRY\nRETRY\nDOWN"])
    with pytest.raises(CheckFailed) as failed:
        rollout.serving(f"{WEB}:v1")
    assert failed.value.finding.found == "answers down"


def test_a_sample_says_who_answered_after_a_refused_request(monkeypatch: pytest.MonkeyPatch) -> None:
    rollout = rollout_of(deployment(), RollingKube(), monkeypatch, ['RETRY\n{"version": "v1"}', "<html>"])
    assert rollout.ask() == "retry:v1"
    assert rollout.ask() == "(not the web image: '<html>')"


def test_a_rollout_is_out_once_its_update_is_observed_with_every_pod_updated_and_available() -> None:
    def dep(generation: int, observed: int, updated: int, available: int, replicas: int) -> dict[str, Any]:
        return {
            "metadata": {"generation": generation},
            "spec": {"replicas": 4},
            "status": {
                "observedGeneration": observed,
                "updatedReplicas": updated,
                "availableReplicas": available,
                "replicas": replicas,
            },
        }

    assert rollouts.rolled_out(dep(2, 2, 4, 4, 4), since=1)
    assert not rollouts.rolled_out(dep(1, 1, 4, 4, 4), since=1)  # the state before the update
    assert rollouts.rolled_out(dep(1, 1, 4, 4, 4))  # a poll, after the update: any generation
    assert not rollouts.rolled_out(dep(2, 1, 4, 4, 4), since=1)  # the update not yet observed
    assert not rollouts.rolled_out(dep(2, 2, 4, 4, 5), since=1)  # an old pod still there
    assert not rollouts.rolled_out(dep(2, 2, 4, 3, 4), since=1)  # the last new pod not yet available
    no_status = {"metadata": {"generation": 2}, "spec": {"replicas": 4}}
    assert not rollouts.rolled_out(no_status, since=1)


class SlowAnswerKube(RollingKube):
    """The copy is rolled out at the first look, but its web still answers v1 then; by the
    second look a pod has lost its readiness (a probe timed out on a busy node)."""

    looks = 0

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        found = super().get(kind, name, namespace)
        if kind == "Deployment" and found is not None and rollouts.images(found)[0].endswith(":v2"):
            self.looks += 1
            available = 4 if self.looks == 1 else 3
            found = {**found, "status": {"availableReplicas": available, "updatedReplicas": 4, "replicas": 4}}
        return found


def test_availability_after_the_rollout_is_done_is_not_the_strategys(monkeypatch: pytest.MonkeyPatch) -> None:
    kube = SlowAnswerKube()
    rollout = rollout_of(deployment(), kube, monkeypatch, [])
    rollout.serving(f"{WEB}:v1")
    said = [json.dumps({"version": "v1"})]
    monkeypatch.setattr(
        rollouts,
        "exec_in_pod",
        lambda *a, **k: ExecResult(0, said.pop(0) if said else json.dumps({"version": "v2"}), ""),
    )

    def eventually(check: Any, timeout: float | None = None) -> None:
        for _ in range(3):
            try:
                return check()
            except CheckFailed:
                continue
        check()

    rollout.lab.eventually = eventually  # type: ignore[method-assign]
    seen = rollout.roll_to(f"{WEB}:v2", lambda s: None, "the copy")
    assert kube.looks == 2 and seen.answers == ["v1", "v2"]
    assert seen.available == [4]  # the second look's 3 came after the rollout was done
