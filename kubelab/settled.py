"""When waiting is over: the state a check looks at has settled, and it is wrong.

A check polls the cluster while it is still moving towards the answer: pods starting,
endpoints filling in, a ConfigMap reaching a mounted file. Some states will not change
by waiting, and a learner (or a grader, or verify) should not sit out the check's whole
timeout to be told so. This module says when a state has settled, and why, from the
objects and outputs as the API gives them — pure functions and one small tracker, so
each rule is tested without a cluster:

- `stuck`: a pod whose container cannot start and will not by itself (its image cannot
  be pulled, it crashes again and again);
- `refused_creation`: a ReplicaSet whose pods an admission policy refuses (a sandbox's
  rules): the controller tries again and again, and the answer is the same until its
  spec changes;
- `Unchanged`: a value a check polls (a log, a page, the endpoints, a file) that has
  stayed exactly the same over several polls and some seconds, while everything it
  depends on is up;
- `pods_settled`: every pod is Ready, stuck, or finished (what the benchmarks wait for
  before timing a scorecard).

A check that finds a wrong state settled fails with `settled=` (kubelab.checks.fail):
the wait stops at once and the learner is told why kubelab did not wait longer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from kubelab.text import Text

CANNOT_PULL = frozenset({"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"})
"""Waiting reasons of a container whose image the node cannot get."""
BAD_CONFIG = frozenset({"CreateContainerConfigError", "CreateContainerError", "RunContainerError"})
"""Waiting reasons of a container the node could not create or start as written. Not
settled by themselves: a ConfigMap applied a moment after its pod, or a busy container
runtime, clears them on the kubelet's next try (a lab that knows better says so)."""
CRASH_LOOP = "CrashLoopBackOff"
CRASHES_SETTLED = 2
"""Restarts after which a crash loop is the answer's doing, not a start-up race (the
first crash can be one container starting before another has written its file)."""


def _container_statuses(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


def stuck(pod: Mapping[str, Any], crashes: int = CRASHES_SETTLED) -> Text | None:
    """Why this pod's containers will not run by waiting longer, or None. crashes: the
    restarts after which a crash loop counts (1 where no start-up race is possible)."""
    name = (pod.get("metadata") or {}).get("name", "?")
    for status in _container_statuses(pod):
        waiting = (status.get("state") or {}).get("waiting") or {}
        reason = str(waiting.get("reason") or "")
        container = status.get("name", "?")
        image = status.get("image") or ""
        if reason in CANNOT_PULL:
            return Text(
                f"파드 {name}의 컨테이너 {container}: 이미지를 받을 수 없습니다: {image} ({reason}) — "
                "kubelab의 kind 클러스터에는 실습 이미지가 미리 들어 있고 받아 올 곳은 없습니다 "
                "(imagePullPolicy는 IfNotPresent로 두세요)",
                f"pod {name}, container {container}: image {image} cannot be pulled ({reason}) — "
                "kubelab's kind cluster has the lab's images loaded and nowhere to pull from "
                "(leave imagePullPolicy at IfNotPresent)",
            )
        restarts = int(status.get("restartCount") or 0)
        if reason == CRASH_LOOP and restarts >= crashes:
            return Text(
                f"파드 {name}의 {container} 컨테이너가 {restarts}번 다시 시작되고도 계속 죽습니다 ({reason})",
                f"pod {name}, container {container} keeps crashing after {restarts} restarts ({reason})",
            )
    return None


def first_stuck(pods: Iterable[Mapping[str, Any]], crashes: int = CRASHES_SETTLED) -> Text | None:
    """The first pod (in the order given) that is stuck, and why."""
    for pod in pods:
        why = stuck(pod, crashes)
        if why is not None:
            return why
    return None


ADMISSION_REFUSED = ("ValidatingAdmissionPolicy", "kubelab sandbox")
"""Words of a FailedCreate that an admission policy, not a passing condition, caused."""


def refused_creation(replicasets: Iterable[Mapping[str, Any]]) -> Text | None:
    """The first ReplicaSet that cannot create its pods because an admission policy refuses
    them (its ReplicaFailure condition); other FailedCreate reasons (a ServiceAccount not
    there yet in a new namespace) can pass, so they are not settled."""
    for rs in replicasets:
        for condition in (rs.get("status") or {}).get("conditions") or []:
            message = " ".join(str(condition.get("message") or "").split())
            if (
                condition.get("type") == "ReplicaFailure"
                and condition.get("status") == "True"
                and condition.get("reason") == "FailedCreate"
                and any(word in message for word in ADMISSION_REFUSED)
            ):
                name = (rs.get("metadata") or {}).get("name", "?")
                return Text(
                    f"레플리카셋 {name}의 파드를 승인 정책이 거부합니다: {message[:240]}",
                    f"an admission policy refuses ReplicaSet {name}'s pods: {message[:240]}",
                )
    return None


def deleting(obj: Mapping[str, Any]) -> bool:
    """The object is going away (it has a deletionTimestamp)."""
    return (obj.get("metadata") or {}).get("deletionTimestamp") is not None


def is_ready(pod: Mapping[str, Any]) -> bool:
    """A pod that is Running and whose Ready condition is True (and not going away)."""
    status = pod.get("status") or {}
    conditions = status.get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return ready and status.get("phase") == "Running" and not deleting(pod)


def restarts(pod: Mapping[str, Any]) -> int:
    """How many times the pod's containers have restarted, together (RESTARTS)."""
    return sum(
        int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or []
    )


def pods_settled(pods: Iterable[Mapping[str, Any]]) -> bool:
    """Every pod is Ready, stuck, or finished (Succeeded/Failed), and none is going away."""
    for pod in pods:
        if deleting(pod):
            return False
        phase = (pod.get("status") or {}).get("phase")
        if not (is_ready(pod) or phase in ("Succeeded", "Failed") or stuck(pod) is not None):
            return False
    return True


class Unchanged:
    """Whether a value a check polls has stopped changing: the same value on at least
    `rounds` polls in a row, spanning at least `seconds`. Feed it every poll's value."""

    def __init__(self, seconds: float, rounds: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.rounds = rounds
        self._clock = clock
        self._value: Hashable | None = None
        self._first = 0.0
        self._seen = 0

    def see(self, value: Hashable) -> bool:
        """Record this poll's value; True once it has settled (see the class)."""
        now = self._clock()
        if self._seen == 0 or value != self._value:
            self._value, self._first, self._seen = value, now, 1
        else:
            self._seen += 1
        return self._seen >= self.rounds and now - self._first >= self.seconds

    @property
    def since(self) -> float:
        """Seconds the current value has stayed the same."""
        return round(self._clock() - self._first, 1) if self._seen else 0.0

    def reason(self, what: Text) -> Text:
        """Why waiting stopped: `what` has not changed for so long."""
        return Text(
            f"{what.ko}: {self.since:g}초 동안 ({self._seen}번 보는 동안) 바뀌지 않았습니다",
            f"{what.en} has not changed for {self.since:g} s ({self._seen} looks)",
        )
