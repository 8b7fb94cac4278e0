"""A Deployment's rollouts, as a checker reads them and tells the learner about them.

`kubectl rollout history` reads a Deployment's ReplicaSets: each carries the revision the
Deployment gave it, its pod template (the images) and the change-cause annotation copied
from the Deployment. Read from the ReplicaSets, as here, a history made the kubectl way
(scale, set image, annotate, rollout undo) and the same state made from manifests are
judged alike. Beside it: what a strategy lets a rollout stop, in words for a diagnosis;
and a rollout watched on a copy of a Deployment in a scratch namespace, so that a check
proves zero downtime without touching the learner's pods.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from types import TracebackType
from typing import Any

from kubernetes import client, watch

from kubelab.checks import LabContext, assert_that, deleting, field, is_ready, name_of, owner_uid, pod_states
from kubelab.kube import Kube, exec_in_pod
from kubelab.manifests import Obj
from kubelab.ownership import labelled, ownership
from kubelab.probes import web_said
from kubelab.selectors import matches, to_query
from kubelab.settled import first_stuck, refused_creation
from kubelab.text import Text

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"


# --- a Deployment's history, from its ReplicaSets --------------------------------------


def containers(obj: Mapping[str, Any]) -> list[Obj]:
    """The containers of a Deployment's or a ReplicaSet's pod template, or of a pod."""
    spec = obj.get("spec") if obj.get("kind") == "Pod" else field(obj, "spec.template.spec")
    return list(field(spec, "containers") or [])


def images(obj: Mapping[str, Any]) -> list[str]:
    """The images of its containers (see `containers`), in order."""
    return [str(c.get("image", "")) for c in containers(obj)]


def tag_of(obj: Mapping[str, Any], repository: str) -> str | None:
    """The tag its one container of `repository` runs (v2 for kubelab/web:v2); None when
    no container, or more than one, runs that repository."""
    tags = [i.removeprefix(f"{repository}:") for i in images(obj) if i.startswith(f"{repository}:")]
    return tags[0] if len(tags) == 1 else None


def revision(obj: Mapping[str, Any]) -> int:
    """The revision the Deployment controller wrote on it (0: none)."""
    try:
        return int((field(obj, "metadata.annotations") or {}).get(REVISION, 0))
    except (TypeError, ValueError):
        return 0


def change_cause(obj: Mapping[str, Any]) -> str:
    """Its kubernetes.io/change-cause annotation: the CHANGE-CAUSE of `rollout history`."""
    return str((field(obj, "metadata.annotations") or {}).get(CHANGE_CAUSE, "")).strip()


def history_table(replica_sets: Iterable[Obj]) -> str:
    """The rows of `kubectl rollout history`, with each revision's ReplicaSet, images and
    replicas: "bootcamp-6bb4485b64: revision 2, kubelab/web:v2, 0 replicas; …"."""
    rows = [
        f"{name_of(rs)}: revision {revision(rs) or '?'}, {', '.join(images(rs)) or 'no containers'}, "
        f"{field(rs, 'spec.replicas')} replicas"
        + (f", change-cause {change_cause(rs)!r}" if change_cause(rs) else "")
        for rs in replica_sets
    ]
    return "; ".join(rows) or "none"


@dataclass(frozen=True)
class History:
    """A Deployment's revisions, as `kubectl rollout history` lists them."""

    deployment: Obj
    replica_sets: list[Obj]
    """The ReplicaSets the Deployment owns (not being deleted), oldest revision first."""
    caught_up: bool
    """The Deployment controller has caught up: it has seen the latest spec, adopted every
    ReplicaSet its selector matches, and its revision is its newest ReplicaSet's. Only
    then does a wrong history mean the learner's objects, not a controller still busy."""

    @property
    def revision(self) -> int:
        """The Deployment's revision: its current ReplicaSet's."""
        return revision(self.deployment)

    @property
    def newest(self) -> Obj | None:
        return self.replica_sets[-1] if self.replica_sets else None

    @property
    def current(self) -> Obj | None:
        """The ReplicaSet of the Deployment's revision."""
        return next((rs for rs in self.replica_sets if revision(rs) == self.revision), None)

    def before_current(self, repository: str, tag: str) -> list[Obj]:
        """The ReplicaSets of earlier revisions whose pods run `repository` at `tag`."""
        return [
            rs for rs in self.replica_sets if tag_of(rs, repository) == tag and revision(rs) < self.revision
        ]

    def pods(self, pods: Iterable[Obj]) -> list[Obj]:
        """Those of these pods that its ReplicaSets own, not being deleted."""
        uids = {field(rs, "metadata.uid") for rs in self.replica_sets}
        return [p for p in pods if owner_uid(p) in uids and not deleting(p)]

    def table(self) -> str:
        return history_table(self.replica_sets)

    def text(self) -> Text:
        """The history as a detail for the learner."""
        rows = self.table()
        return Text(f"디플로이먼트의 레플리카셋 기록: {rows}", f"the Deployment's ReplicaSets: {rows}")


def history(deployment: Obj, replica_sets: Iterable[Obj]) -> History:
    """The Deployment's history, from every ReplicaSet of its namespace."""
    listed = list(replica_sets)
    uid = field(deployment, "metadata.uid")
    owned = sorted((rs for rs in listed if owner_uid(rs) == uid and not deleting(rs)), key=revision)
    orphans = [
        rs
        for rs in listed
        if owner_uid(rs) is None and matches(field(deployment, "spec.selector"), field(rs, "metadata.labels"))
    ]
    newest = revision(owned[-1]) if owned else 0
    observed = field(deployment, "status.observedGeneration") or 0
    caught_up = (
        not orphans
        and observed >= field(deployment, "metadata.generation", 0)
        and newest == revision(deployment)
    )
    return History(deployment, owned, caught_up)


# --- what a strategy lets a rollout stop ----------------------------------------------


def max_unavailable(strategy: Mapping[str, Any] | None, replicas: int) -> tuple[str, int] | None:
    """How many pods a RollingUpdate strategy lets stop before their replacements are
    Ready: the value as written (25% by default) and in pods at `replicas` (a percentage
    rounds down, as the controller does); None for Recreate, which stops them all."""
    strategy = strategy or {}
    if strategy.get("type") == "Recreate":
        return None
    raw = field(strategy, "rollingUpdate.maxUnavailable", "25% (default)")
    if "%" in str(raw):
        return str(raw), replicas * int(str(raw).split("%")[0]) // 100
    return str(raw), int(raw)


def strategy_diagnosis(deployment: Obj, replicas: int, web_down: bool = False) -> Text:
    """Why a rollout at `replicas` left fewer pods available (or, with web_down, the web
    not answering) than it should: the strategy's words, or the readiness probe's."""
    allowed = max_unavailable(field(deployment, "spec.strategy"), replicas)
    if allowed is None:
        return Text(
            "strategy Recreate는 옛 파드를 모두 멈춘 뒤에 새 파드를 띄웁니다",
            "strategy Recreate stops every old pod before it starts new ones",
        )
    raw, count = allowed
    if count != 0:
        return Text(
            f"maxUnavailable {raw}: 새 파드가 준비되기 전에 파드 {count}개가 멈춰도 됩니다. 0으로 두세요",
            f"maxUnavailable {raw} lets {count} pod(s) stop before their replacements are ready: set it to 0",
        )
    if web_down:
        return Text(
            f"가용 파드는 {replicas}개였는데 웹이 답하지 않았습니다: "
            "readinessProbe가 웹이 정말 응답할 때만 Ready라고 하나요?",
            f"{replicas} pods were available, yet the web did not answer: "
            "does the readinessProbe say Ready only once the web answers?",
        )
    return Text(
        "maxUnavailable은 0인데 업데이트 중 파드가 Ready에서 빠졌습니다: readinessProbe가 믿을 만한가요?",
        "maxUnavailable is 0, yet a pod left Ready during the update: is the readinessProbe reliable?",
    )


# --- a rollout watched on a copy ------------------------------------------------------

PROBE = "probe"
"""The scratch namespace's client pod (the web image has curl)."""
ATTEMPTS = 5
"""Requests per sample before the web counts as down (see `CopyRollout.ask`)."""


def without_nulls(value: Any) -> Any:
    """A spec as the learner would write it again: no field set to null."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def copy_at(deployment: Obj, image: str, replicas: int, repository: str) -> Obj:
    """The Deployment as the learner wrote it (its spec: strategy, probes, …), at
    `replicas` (the strategy is what is tested, scaled yet or not), with its containers of
    `repository` at `image`: the same name and labels, for another namespace."""
    spec = without_nulls(copy.deepcopy(deployment["spec"]))
    spec["replicas"] = replicas
    for container in field(spec, "template.spec.containers") or []:
        if str(container.get("image", "")).startswith(f"{repository}:"):
            container["image"] = image
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name_of(deployment), "labels": dict(field(deployment, "metadata.labels") or {})},
        "spec": spec,
    }


@dataclass
class Sampling:
    """What a check saw while a copy rolled: its availability and the web's answers."""

    available: list[int] = dataclass_field(default_factory=list)
    """The availableReplicas of each poll."""
    watched: list[int] = dataclass_field(default_factory=list)
    """Every availableReplicas the Deployment reported, from a watch running beside the
    polls (a dip between two polls is still seen)."""
    answers: list[str] = dataclass_field(default_factory=list)
    """One per poll: the version that answered, "retry:<version>" when a request was
    refused and a next one answered, or "down" (no answer to any of ATTEMPTS)."""

    def lowest(self, replicas: int) -> int:
        """The fewest available pods seen (`replicas` when nothing was seen yet)."""
        return min(self.available + list(self.watched), default=replicas)

    def timeline(self) -> str:
        """The availability the Deployment reported, as it changed (the watch's record,
        which has every change, or else the polls')."""
        steps: list[int] = []
        for n in list(self.watched) or self.available:
            if not steps or steps[-1] != n:
                steps.append(n)
        return " → ".join(str(n) for n in steps)


@dataclass
class Recorder:
    """Watches one Deployment from a thread and adds each availableReplicas it reports to
    `seen`, until stopped or until it reports a rollout past `generation` done: a pod
    that loses its readiness after that (a probe timed out on a busy node: 4 → 5 → … → 4
    → 3 on CI's course cluster) is not the strategy's doing."""

    kube: Kube
    namespace: str
    name: str
    resource_version: str
    seen: list[int]
    generation: int = 0
    """The copy's generation before the update."""
    stopped: bool = False
    _watch: watch.Watch = dataclass_field(default_factory=watch.Watch)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            api = client.AppsV1Api(self.kube.api)
            for event in self._watch.stream(  # type: ignore[no-untyped-call]
                api.list_namespaced_deployment,
                self.namespace,
                field_selector=f"metadata.name={self.name}",
                resource_version=self.resource_version,
                timeout_seconds=600,
                _request_timeout=(5, 60),  # a watch is quiet between changes; the polls go on
            ):
                copied = event["raw_object"]
                if self.stopped or event["type"] == "DELETED":
                    break
                if event["type"] not in ("ADDED", "MODIFIED"):
                    continue  # a bookmark carries no status
                self.seen.append((copied.get("status") or {}).get("availableReplicas") or 0)
                if rolled_out(copied, since=self.generation):
                    break
        except Exception:  # the polls still sample; the watch only adds to them
            return

    def stop(self) -> None:
        self.stopped = True
        self._watch.stop()  # type: ignore[no-untyped-call]


def rolled_out(deployment: Obj, since: int | None = None) -> bool:
    """Does this Deployment report its update done: observed, and every pod updated and
    available (with `since`, an update past that generation)?"""
    generation = int(field(deployment, "metadata.generation", 0) or 0)
    status = deployment.get("status") or {}
    if (since is not None and generation <= since) or (status.get("observedGeneration") or 0) < generation:
        return False
    want = field(deployment, "spec.replicas", 1)
    return all(status.get(k) == want for k in ("updatedReplicas", "availableReplicas", "replicas"))


def image_tag(image: str) -> str:
    """An image's tag: v1 for kubelab/web:v1."""
    return image.rpartition(":")[2]


class CopyRollout:
    """A copy of a learner's Deployment in a scratch namespace, with a Service in front of
    it and a client pod (PROBE) that asks the web through the Service: a check rolls the
    copy from one image to another and watches it the whole time, so it proves what the
    learner's strategy and probes do without touching the learner's pods. Use it in a
    `with` block (the watch stops when the block ends)."""

    def __init__(self, lab: LabContext, deployment: Obj, replicas: int, repository: str) -> None:
        self.lab, self.kube = lab, lab.kube
        self.deployment, self.replicas, self.repository = deployment, replicas, repository
        self.name = name_of(deployment)
        self.namespace = lab.scratch_namespace("rollout")
        self.owned = ownership(lab.lab.id, "rollout")
        self.seen = Sampling()
        self.recorder: Recorder | None = None
        self.url = ""

    def __enter__(self) -> CopyRollout:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.recorder is not None:
            self.recorder.stop()

    def _apply(self, obj: Obj) -> None:
        self.kube.apply(labelled(obj, self.owned), self.namespace)

    def serving(self, image: str, timeout: float = 120) -> None:
        """Make the copy at `image`, its Service and the probe pod, and wait until the copy
        has all its pods available and the Service answers with the image's version."""
        self._apply(copy_at(self.deployment, image, self.replicas, self.repository))
        pod_labels = dict(field(self.deployment, "spec.template.metadata.labels") or {})
        self._apply(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": self.name},
                "spec": {"selector": pod_labels, "ports": [{"port": 80, "targetPort": 80}]},
            }
        )
        self._apply(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": PROBE, "labels": {"kubelab.dev/role": "probe"}},
                "spec": {
                    "containers": [{"name": "curl", "image": image}],
                    "terminationGracePeriodSeconds": 1,
                },
            }
        )
        address = field(self.kube.get("Service", self.name, self.namespace), "spec.clusterIP")
        self.url = f"http://{address}/"
        ready = self.lab.eventually(lambda: self._serves(image_tag(image)), timeout)
        self.recorder = Recorder(
            self.kube,
            self.namespace,
            self.name,
            str(field(ready, "metadata.resourceVersion")),
            self.seen.watched,
            int(field(ready, "metadata.generation", 0) or 0),
        )

    def ask(self) -> str:
        """One sample of the web through the Service: the version that answered, with
        "retry:" before it when a request failed first, or "down". A sample is up to
        ATTEMPTS requests: a connection that reaches a pod just being stopped is refused
        until kube-proxy drops it (a second's race, which only a preStop pause closes);
        the web is down only when every attempt fails."""
        script = (
            f"for i in $(seq {ATTEMPTS}); do curl -sf -m 2 {self.url} && exit 0; echo RETRY; done; echo DOWN"
        )
        done = exec_in_pod(
            self.kube, PROBE, self.namespace, ["sh", "-c", script], "curl", timeout=ATTEMPTS * 2 + 5
        )
        out = done.stdout
        if "DOWN" in out or done.code != 0:
            return "down"
        said = web_said(out.replace("RETRY", "").strip(), "version")
        return f"retry:{said}" if "RETRY" in out else said

    def _serves(self, version: str) -> Obj:
        copied = self.kube.get("Deployment", self.name, self.namespace) or {}
        status = copied.get("status") or {}
        selector = to_query(field(self.deployment, "spec.selector"))
        pods = [p for p in self.kube.list("Pod", self.namespace, selector) if not deleting(p)]
        assert_that(
            status.get("availableReplicas") == self.replicas
            and status.get("updatedReplicas") == self.replicas,
            f"Deployment {self.namespace}/{self.name} (the copy)",
            f"{self.replicas} available pods of {version} before the update",
            f"{status.get('availableReplicas') or 0} available; pods: {pod_states(pods)}",
            # the copy's pods are the answer's: when they cannot run, it is settled
            settled=first_stuck(pods) or refused_creation(self.kube.list("ReplicaSet", self.namespace)),
        )
        probe = self.kube.get("Pod", PROBE, self.namespace)
        assert_that(
            probe is not None and is_ready(probe), f"Pod {self.namespace}/{PROBE}", "Ready", "not yet"
        )
        said = self.ask()
        assert_that(
            said == version,
            f"Service {self.namespace}/{self.name} at {self.url}",
            f"answers {version}",
            f"answers {said}",
        )
        return copied

    def roll_to(
        self, image: str, judge: Callable[[Sampling], None], subject: str, timeout: float = 150
    ) -> Sampling:
        """Update the copy to `image` and sample it until the rollout is done: `judge`
        looks at what was seen after every sample and once more at the end (a failure it
        marks final stops the rollout's watch at once)."""
        if self.recorder is not None:
            self.recorder.start()
        self._apply(copy_at(self.deployment, image, self.replicas, self.repository))
        version = image_tag(image)

        done = False  # once a poll saw the rollout done, availability is no longer its doing

        def rolled() -> None:
            nonlocal done
            copied = self.kube.get("Deployment", self.name, self.namespace) or {}
            status = copied.get("status") or {}
            if not done:
                self.seen.available.append(status.get("availableReplicas") or 0)
            done = done or rolled_out(copied)  # the copy's spec.replicas is self.replicas
            self.seen.answers.append(self.ask())
            judge(self.seen)
            assert_that(
                done and self.seen.answers[-1].endswith(version),
                subject,
                f"the rollout done: {self.replicas} pods of {version}, answering {version}",
                f"{status.get('updatedReplicas') or 0} of {self.replicas} updated, "
                f"{status.get('availableReplicas') or 0} available, last answer {self.seen.answers[-1]}",
            )

        self.lab.eventually(rolled, timeout)
        judge(self.seen)
        return self.seen
