"""Lab 03 — Rolling update and undo. Titles, points and hints: labs/03-rolling-update/lab.yaml.

The history checks read the Deployment's ReplicaSets (their revision, image, replicas
and change-cause annotations, what `kubectl rollout history` shows), so they accept the
kubectl path (scale, set image, annotate, rollout undo) and the same state made from
manifests alike. Zero downtime is proved on a copy of the learner's Deployment in a
scratch namespace: the checker rolls it from v1 to v2 and watches it the whole time.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from kubernetes import client, watch

from kubelab.checks import (
    LabContext,
    assert_that,
    deleting,
    field,
    is_ready,
    name_of,
    owner_uid,
    pod_states,
)
from kubelab.kube import exec_in_pod
from kubelab.manifests import Obj
from kubelab.ownership import labelled, ownership
from kubelab.probes import web_said
from kubelab.selectors import matches, to_query
from kubelab.settled import first_stuck, refused_creation
from kubelab.text import Text

DEPLOYMENT = "bootcamp"
WEB = "kubelab/web"
V1, V2 = f"{WEB}:v1", f"{WEB}:v2"
REPLICAS = 4
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
PROBE = "probe"
"""The scratch namespace's client pod (the web image has curl)."""
ATTEMPTS = 5
"""Requests per sample before the web counts as down (see `ask`)."""


# --- reading a Deployment and its history --------------------------------------------


def containers(obj: Obj) -> list[Obj]:
    """The containers of a Deployment's or a ReplicaSet's pod template, or of a pod."""
    spec = field(obj, "spec.template.spec") if obj.get("kind") != "Pod" else obj.get("spec")
    return list(field(spec, "containers") or [])


def images(obj: Obj) -> list[str]:
    return [str(c.get("image", "")) for c in containers(obj)]


def version(obj: Obj) -> str:
    """v1 or v2 for the web image in a pod template, else the images themselves."""
    web = [i.removeprefix(f"{WEB}:") for i in images(obj) if i.startswith(f"{WEB}:")]
    return web[0] if len(web) == 1 else ", ".join(images(obj)) or "no containers"


def revision(obj: Obj) -> int:
    try:
        return int(field(obj, "metadata.annotations", {}).get(REVISION, 0))
    except (TypeError, ValueError):
        return 0


def cause(obj: Obj) -> str:
    return str((field(obj, "metadata.annotations") or {}).get(CHANGE_CAUSE, "")).strip()


def history(lab: LabContext, dep: Obj) -> list[Obj]:
    """The ReplicaSets the Deployment owns, oldest revision first."""
    uid = field(dep, "metadata.uid")
    owned = [rs for rs in lab.list("ReplicaSet") if owner_uid(rs) == uid and not deleting(rs)]
    return sorted(owned, key=revision)


def table(replica_sets: list[Obj]) -> str:
    """e.g. "bootcamp-6bb4485b64: revision 2, v2, 0 replicas; …"."""
    rows = [
        f"{name_of(rs)}: revision {revision(rs) or '?'}, {version(rs)}, "
        f"{field(rs, 'spec.replicas')} replicas" + (f", change-cause {cause(rs)!r}" if cause(rs) else "")
        for rs in replica_sets
    ]
    return "; ".join(rows) or "none"


def settled(lab: LabContext, dep: Obj, replica_sets: list[Obj]) -> bool:
    """The Deployment controller has caught up: it has seen the latest spec, adopted every
    ReplicaSet its selector matches, and its revision is its newest ReplicaSet's. Only
    then does a wrong history mean the learner's objects, not a controller still busy."""
    orphans = [
        rs
        for rs in lab.list("ReplicaSet")
        if owner_uid(rs) is None and matches(field(dep, "spec.selector"), field(rs, "metadata.labels"))
    ]
    newest = revision(replica_sets[-1]) if replica_sets else 0
    observed = field(dep, "status.observedGeneration") or 0
    return not orphans and observed >= field(dep, "metadata.generation", 0) and newest == revision(dep)


def history_text(replica_sets: list[Obj]) -> Text:
    rows = table(replica_sets)
    return Text(f"디플로이먼트의 레플리카셋 기록: {rows}", f"the Deployment's ReplicaSets: {rows}")


def web_container(pod: Obj) -> str | None:
    for container in containers(pod):
        if str(container.get("image", "")).startswith(f"{WEB}:"):
            return str(container.get("name"))
    return None


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
    found = ", ".join(images(dep)) or "no containers"
    assert_that(
        V1 in images(dep) and V2 not in images(dep),
        subject,
        f"pod template image {V1}",
        f"pod template image {found}",
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
        dep = lab.require("Deployment", DEPLOYMENT)
        uids = {field(rs, "metadata.uid") for rs in history(lab, dep)}
        pods = [p for p in lab.list("Pod") if owner_uid(p) in uids and not deleting(p)]
        ready = [p for p in pods if is_ready(p) and V1 in images(p)]
        status = dep.get("status") or {}
        counts = (
            f"{status.get('availableReplicas') or 0} available, {status.get('updatedReplicas') or 0} "
            f"up to date, {status.get('replicas') or 0} in all"
        )
        assert_that(
            len(ready) == REPLICAS and len(pods) == REPLICAS and status.get("availableReplicas") == REPLICAS,
            subject,
            f"{REPLICAS} available pods, all running {V1}",
            f"{counts}; pods: {pod_states(pods)}",
            settled=first_stuck(pods) or refused_creation(history(lab, dep)),
        )
        return ready

    pods = lab.eventually(available)
    for pod in pods:
        name, container = name_of(pod), web_container(pod)

        def says_v1(name: str = name, container: str | None = container) -> None:
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
        dep = lab.require("Deployment", DEPLOYMENT)
        replica_sets = history(lab, dep)
        final = settled(lab, dep, replica_sets)
        current = revision(dep)
        meaning = {
            0: Text("리비전이 없습니다", "no revision yet"),
            1: Text(
                "리비전 1: 아직 업데이트하지 않았습니다 (set image v2)",
                "revision 1: never updated (set image v2)",
            ),
            2: Text(
                "리비전 2: 업데이트는 했지만 되돌리지 않았습니다 (rollout undo --to-revision=1)",
                "revision 2: updated, but never rolled back (rollout undo --to-revision=1)",
            ),
        }.get(current)
        rows = history_text(replica_sets)
        assert_that(
            current >= 3,
            subject,
            f"annotation {REVISION} ≥ 3",
            f"{REVISION}: {current or 'none'}",
            Text(f"{meaning.ko}. {rows.ko}", f"{meaning.en}. {rows.en}") if meaning else rows,
            final=final,
        )
        newest = replica_sets[-1] if replica_sets else None
        assert_that(
            newest is not None and revision(newest) == current and version(newest) == "v1",
            subject,
            f"its revision {current} is the v1 ReplicaSet (the undo's)",
            f"newest ReplicaSet: {table([newest]) if newest else 'none'}",
            rows,
            final=final,
        )

    lab.eventually(updated_and_undone)


def test_v2_replicaset_kept_at_zero(lab: LabContext) -> None:
    dep = lab.require("Deployment", DEPLOYMENT)
    subject = lab.subject("Deployment", DEPLOYMENT)
    limit = field(dep, "spec.revisionHistoryLimit")
    assert_that(
        limit != 0,
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
        dep = lab.require("Deployment", DEPLOYMENT)
        replica_sets = history(lab, dep)
        final = settled(lab, dep, replica_sets)
        old_v2 = [rs for rs in replica_sets if version(rs) == "v2" and revision(rs) < revision(dep)]
        assert_that(
            bool(old_v2),
            subject,
            f"an old ReplicaSet running {V2} in its history",
            table(replica_sets),
            Text(
                "v2가 지금 리비전이면 아직 되돌리지 않은 것입니다"
                if any(version(rs) == "v2" for rs in replica_sets)
                else "v2 레플리카셋이 없습니다: v2로 업데이트한 적이 있나요? "
                "(kubectl set image, 또는 파일을 고쳐 apply)",
                "v2 is the current revision: not rolled back yet"
                if any(version(rs) == "v2" for rs in replica_sets)
                else "no v2 ReplicaSet: was it ever updated to v2? "
                "(kubectl set image, or the file changed and applied)",
            ),
            final=final,
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
        dep = lab.require("Deployment", DEPLOYMENT)
        replica_sets = history(lab, dep)
        final = settled(lab, dep, replica_sets)
        old_v2 = [rs for rs in replica_sets if version(rs) == "v2" and revision(rs) < revision(dep)]
        current = [rs for rs in replica_sets if revision(rs) == revision(dep)]
        assert_that(
            bool(old_v2) and bool(current),
            subject,
            "a v2 revision and a current revision in its history",
            table(replica_sets),
            final=final,
        )
        v2, now = old_v2[-1], current[0]
        for rs, what in ((v2, "v2"), (now, "current")):
            assert_that(
                bool(cause(rs)),
                lab.subject("ReplicaSet", name_of(rs)),
                f"annotation {CHANGE_CAUSE} (CHANGE-CAUSE of revision {revision(rs)}, {what})",
                "no change-cause",
                how,
                final=final and (rs is v2 or not cause(dep)),
            )
        assert_that(
            cause(v2) != cause(now),
            subject,
            f"revision {revision(v2)} and revision {revision(now)} each say what changed",
            f"both say {cause(now)!r}",
            how,
            final=final and cause(dep) == cause(now),
        )

    lab.eventually(recorded)


# --- zero downtime, on a copy ---------------------------------------------------------


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def copy_at(dep: Obj, image: str) -> Obj:
    """The learner's Deployment (its spec: strategy, probes, …) at the lab's 4 replicas
    (the strategy is what is tested, scaled yet or not), with the web container(s) at
    `image`."""
    spec = without_nulls(copy.deepcopy(dep["spec"]))
    spec["replicas"] = REPLICAS
    for container in field(spec, "template.spec.containers") or []:
        if str(container.get("image", "")).startswith(f"{WEB}:"):
            container["image"] = image
    labels = field(dep, "metadata.labels") or {}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "labels": dict(labels)},
        "spec": spec,
    }


def max_unavailable(dep: Obj) -> str:
    """What the strategy allows, in words (for the diagnosis)."""
    strategy = field(dep, "spec.strategy") or {}
    if strategy.get("type") == "Recreate":
        return "Recreate"
    raw = field(strategy, "rollingUpdate.maxUnavailable", "25% (default)")
    replicas = REPLICAS
    percent = str(raw).split("%")[0] if "%" in str(raw) else None
    allowed = replicas * int(percent) // 100 if percent is not None else int(raw)
    return f"{raw}={allowed}"


def strategy_text(dep: Obj, web_down: bool = False) -> Text:
    allowed = max_unavailable(dep)
    if allowed == "Recreate":
        return Text(
            "strategy Recreate는 옛 파드를 모두 멈춘 뒤에 새 파드를 띄웁니다",
            "strategy Recreate stops every old pod before it starts new ones",
        )
    raw, count = allowed.split("=")
    if count != "0":
        return Text(
            f"maxUnavailable {raw}: 새 파드가 준비되기 전에 파드 {count}개가 멈춰도 됩니다. 0으로 두세요",
            f"maxUnavailable {raw} lets {count} pod(s) stop before their replacements are ready: set it to 0",
        )
    if web_down:
        return Text(
            "가용 파드는 4개였는데 웹이 답하지 않았습니다: "
            "readinessProbe가 웹이 정말 응답할 때만 Ready라고 하나요?",
            "4 pods were available, yet the web did not answer: "
            "does the readinessProbe say Ready only once the web answers?",
        )
    return Text(
        "maxUnavailable은 0인데 업데이트 중 파드가 Ready에서 빠졌습니다: readinessProbe가 믿을 만한가요?",
        "maxUnavailable is 0, yet a pod left Ready during the update: is the readinessProbe reliable?",
    )


@dataclass
class Recorder:
    """Every availableReplicas the Deployment reports, from a watch running beside the
    sampling (a dip between two polls is still seen)."""

    kube: Any
    namespace: str
    resource_version: str
    seen: list[int] = dataclass_field(default_factory=list)
    stopped: bool = False
    _watch: watch.Watch = dataclass_field(default_factory=watch.Watch)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        api = client.AppsV1Api(self.kube.api)
        try:
            for event in self._watch.stream(  # type: ignore[no-untyped-call]
                api.list_namespaced_deployment,
                self.namespace,
                field_selector=f"metadata.name={DEPLOYMENT}",
                resource_version=self.resource_version,
                timeout_seconds=600,
                _request_timeout=(5, 60),  # a watch is quiet between changes; the polls go on
            ):
                status = event["object"].status
                if self.stopped or event["type"] == "DELETED":
                    break
                self.seen.append((status.available_replicas or 0) if status else 0)
        except Exception:  # the polls still sample; the watch only adds to them
            return

    def stop(self) -> None:
        self.stopped = True
        self._watch.stop()  # type: ignore[no-untyped-call]


@dataclass
class Sampling:
    """What the checker saw while the copy rolled: availability and the web's answers."""

    available: list[int] = dataclass_field(default_factory=list)
    answers: list[str] = dataclass_field(default_factory=list)
    """One per sample: the version that answered, "retry:<version>" when a request was
    refused and a next one answered, or "down" (no answer to any of ATTEMPTS)."""

    def timeline(self, watched: list[int]) -> str:
        """The availability the Deployment reported, as it changed (the watch's record,
        which has every change, or else the polls')."""
        steps: list[int] = []
        for n in watched or self.available:
            if not steps or steps[-1] != n:
                steps.append(n)
        return " → ".join(str(n) for n in steps)


def test_rollout_keeps_four_available(lab: LabContext) -> None:
    dep = lab.require("Deployment", DEPLOYMENT)
    subject = (
        f"a copy of {lab.subject('Deployment', DEPLOYMENT)} at {REPLICAS} replicas, rolled from v1 to v2"
    )
    replicas = REPLICAS
    assert_that(
        any(i.startswith(f"{WEB}:") for i in images(dep)),
        subject,
        f"a container running {WEB} (to roll from v1 to v2)",
        ", ".join(images(dep)) or "no containers",
        final=True,
    )
    kube = lab.kube
    namespace = lab.scratch_namespace("rollout")
    owned = ownership(lab.lab.id, "rollout")
    pod_labels = dict(field(dep, "spec.template.metadata.labels") or {})
    recorder: Recorder | None = None
    try:
        kube.apply(labelled(copy_at(dep, V1), owned), namespace)
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": DEPLOYMENT},
            "spec": {"selector": pod_labels, "ports": [{"port": 80, "targetPort": 80}]},
        }
        kube.apply(labelled(service, owned), namespace)
        probe = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": PROBE, "labels": {"kubelab.dev/role": "probe"}},
            "spec": {"containers": [{"name": "curl", "image": V1}], "terminationGracePeriodSeconds": 1},
        }
        kube.apply(labelled(probe, owned), namespace)
        address = field(kube.get("Service", DEPLOYMENT, namespace), "spec.clusterIP")
        url = f"http://{address}/"
        # One sample = up to ATTEMPTS requests at once: a connection that reaches a pod just
        # being stopped is refused until kube-proxy drops it (a second's race, which only a
        # preStop pause closes); the service is down only when every attempt fails.
        script = f"for i in $(seq {ATTEMPTS}); do curl -sf -m 2 {url} && exit 0; echo RETRY; done; echo DOWN"

        def ask() -> str:
            done = exec_in_pod(kube, PROBE, namespace, ["sh", "-c", script], "curl", timeout=ATTEMPTS * 2 + 5)
            out = done.stdout
            if "DOWN" in out or done.code != 0:
                return "down"
            said = web_said(out.replace("RETRY", "").strip(), "version")
            return f"retry:{said}" if "RETRY" in out else said

        def copy_serves_v1() -> Obj:
            copied = kube.get("Deployment", DEPLOYMENT, namespace) or {}
            status = copied.get("status") or {}
            pods = [
                p
                for p in kube.list("Pod", namespace, to_query(field(dep, "spec.selector")))
                if not deleting(p)
            ]
            assert_that(
                status.get("availableReplicas") == replicas and status.get("updatedReplicas") == replicas,
                f"Deployment {namespace}/{DEPLOYMENT} (the copy)",
                f"{replicas} available pods of v1 before the update",
                f"{status.get('availableReplicas') or 0} available; pods: {pod_states(pods)}",
                # the copy's pods are the answer's: when they cannot run, it is settled
                settled=first_stuck(pods) or refused_creation(kube.list("ReplicaSet", namespace)),
            )
            probe_pod = kube.get("Pod", PROBE, namespace)
            assert_that(
                probe_pod is not None and is_ready(probe_pod), f"Pod {namespace}/{PROBE}", "Ready", "not yet"
            )
            said = ask()
            assert_that(
                said == "v1", f"Service {namespace}/{DEPLOYMENT} at {url}", "answers v1", f"answers {said}"
            )
            return copied

        ready = lab.eventually(copy_serves_v1, 120)
        recorder = Recorder(kube, namespace, str(field(ready, "metadata.resourceVersion")))
        recorder.start()
        kube.apply(labelled(copy_at(dep, V2), owned), namespace)
        seen = Sampling()

        def judge() -> None:
            watched = list(recorder.seen) if recorder else []
            lowest = min(seen.available + watched, default=replicas)
            assert_that(
                lowest >= REPLICAS,
                subject,
                f"at least {REPLICAS} available pods at every moment",
                f"available pods went down to {lowest} (available: {seen.timeline(watched)})",
                strategy_text(dep),
                final=True,
            )
            down = seen.answers.count("down")
            assert_that(
                down == 0,
                subject,
                f"the web answers every sample (Service {DEPLOYMENT}, asked from pod {PROBE})",
                f"{down} of {len(seen.answers)} samples got no answer in {ATTEMPTS} tries",
                strategy_text(dep, web_down=True),
                final=True,
            )

        def rolled() -> None:
            copied = kube.get("Deployment", DEPLOYMENT, namespace) or {}
            status = copied.get("status") or {}
            seen.available.append(status.get("availableReplicas") or 0)
            seen.answers.append(ask())
            judge()
            done = (
                (status.get("observedGeneration") or 0) >= field(copied, "metadata.generation", 0)
                and status.get("updatedReplicas") == replicas
                and status.get("availableReplicas") == replicas
                and status.get("replicas") == replicas
            )
            assert_that(
                done and seen.answers[-1].endswith("v2"),
                subject,
                f"the rollout done: {replicas} pods of v2, answering v2",
                f"{status.get('updatedReplicas') or 0} of {replicas} updated, "
                f"{status.get('availableReplicas') or 0} available, last answer {seen.answers[-1]}",
            )

        lab.eventually(rolled, 150)
        judge()
    finally:
        if recorder is not None:
            recorder.stop()
