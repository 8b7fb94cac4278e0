"""Lab 08 — probes. Titles, points and hints: labs/08-probes/lab.yaml.

The checks that only look are data in lab.yaml (web_ready, service_routes_to_ready_pods,
slow_starts_without_restart). These three act: each takes away, in one pod, the file
nginx serves for one probe (/ready or /healthz), watches what Kubernetes does about it,
and puts the file back. A check gives up early once the answer's own probe has had its
time to act (periodSeconds × failureThreshold + timeoutSeconds, and a little more): what
the kubelet has not done by then it will not do.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubelab import services
from kubelab.checks import LabContext, assert_that, deleting, fail, field, is_ready, name_of, pod_states
from kubelab.manifests import Obj
from kubelab.settled import first_stuck, restarts
from kubelab.text import Text
from kubelab.waiting import timeout_scale

HTML = "/usr/share/nginx/html"
READY_FILE = f"{HTML}/ready"
HEALTH_FILE = f"{HTML}/healthz"
WEB, SLOW = "app=web", "app=slow"
SERVICE = "web"
SLACK = 15.0
"""Seconds beyond a probe's own time to act before a check gives up on it: the kubelet
reporting the pod's state, the endpoints controller, stopping and starting a container
on a busy machine (times KUBELAB_TIMEOUT_SCALE)."""
STEADY = 2.0
"""Seconds beyond its liveness probe's time to act that a pod must have been Ready, with
no liveness failure since its container started, to count as working."""
LONGEST_ACT = 40.0
"""The most a check sits out for a probe's time to act (default timings take 31 s)."""
PROBE_DEFAULTS = {"periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 1}


# --- what the pods say ------------------------------------------------------------------


def prober(pod: Obj, kind: str) -> tuple[str, Mapping[str, Any]] | None:
    """The first container with a probe of this kind (readinessProbe, livenessProbe), and
    the probe."""
    for container in field(pod, "spec.containers") or []:
        if container.get(kind):
            return str(container.get("name")), container[kind]
    return None


def time_to_act(probe: Mapping[str, Any]) -> float:
    """Seconds after which a probe that keeps failing has acted on a running container."""
    timing = {**PROBE_DEFAULTS, **{k: v for k, v in probe.items() if k in PROBE_DEFAULTS}}
    took = int(timing["periodSeconds"]) * int(timing["failureThreshold"]) + int(timing["timeoutSeconds"])
    return min(float(took), LONGEST_ACT)


def slack() -> float:
    return SLACK * timeout_scale()


def stamp(text: Any) -> float:
    """An API timestamp (2026-12-06T10:00:00Z) as seconds since the epoch; 0 if none."""
    if not text:
        return 0.0
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()


def ready_at(pod: Obj) -> float | None:
    """When the pod became Ready (its Ready condition's last change), or None if it is not."""
    if not is_ready(pod):
        return None
    for condition in field(pod, "status.conditions") or []:
        if condition.get("type") == "Ready" and condition.get("lastTransitionTime"):
            return stamp(condition["lastTransitionTime"])
    return time.time()


def ready_since(pod: Obj) -> float | None:
    """Seconds the pod has been Ready, or None."""
    at = ready_at(pod)
    return None if at is None else max(0.0, time.time() - at)


def as_endpoint(state: bool | None) -> str:
    if state is None:
        return "not an endpoint"
    return "a ready endpoint" if state else "a not-ready endpoint"


def event_time(event: Obj) -> float:
    return max(
        stamp(event.get("lastTimestamp")),
        stamp(field(event, "series.lastObservedTime")),
        stamp(event.get("eventTime")),
    )


def last_probe_failure(events: list[Obj], pod: Obj, kind: str, since: float = 0.0) -> str:
    """What the kubelet said last, after `since`, when this pod's probe of this kind
    failed ('Liveness probe failed: ...'), from the pod's events."""
    said = [
        e
        for e in events
        if field(e, "involvedObject.uid") == field(pod, "metadata.uid")
        and e.get("reason") == "Unhealthy"
        and str(e.get("message") or "").startswith(kind)
        and event_time(e) > since
    ]
    said.sort(key=event_time)
    return " ".join(str(said[-1].get("message") or "").split())[:240] if said else ""


TIMED_OUT = ("deadline exceeded", "timed out", "timeout")
"""How the kubelet says a probe got no answer in time (a busy machine's, not the answer's)."""


def fails_when_ready(events: list[Obj], pod: Obj) -> bool:
    """Has the pod's liveness probe failed since the pod became Ready, for another reason
    than a timeout (a refused connection, a wrong path)? Then it fails on a working
    container, and a restart says nothing of a stuck one."""
    at = ready_at(pod)
    if at is None:
        return False
    said = last_probe_failure(events, pod, "Liveness", at)
    return bool(said) and not any(word in said.lower() for word in TIMED_OUT)


def killed_since(events: list[Obj], pod: Obj, since: float) -> bool:
    """The kubelet has decided, after `since`, to kill one of this pod's containers
    because its liveness probe failed (a single failed probe below failureThreshold,
    such as a timeout on a busy machine, does not count)."""
    return any(
        field(e, "involvedObject.uid") == field(pod, "metadata.uid")
        and e.get("reason") == "Killing"
        and "liveness" in str(e.get("message") or "")
        and event_time(e) > since
        for e in events
    )


def container_started(pod: Obj, container: str) -> float:
    """When the container's current run started (0 if it is not running)."""
    for status in field(pod, "status.containerStatuses") or []:
        if status.get("name") == container:
            return stamp(field(status, "state.running.startedAt"))
    return 0.0


def in_pod(lab: LabContext, pod: str, container: str, command: list[str]) -> None:
    """Run a command in the container; a failure to be waited out (the container may be
    restarting)."""
    done = lab.exec(pod, command, container)
    assert_that(
        done.code == 0,
        lab.subject("Pod", pod),
        f"{' '.join(command)} runs in container {container}",
        f"exit code {done.code}: {(done.stderr or done.stdout).strip()[:200]}",
    )


def put_back(lab: LabContext, pod: str, container: str, path: str) -> None:
    """Make the file again, unless the pod or its container is gone (a new one makes it)."""
    if lab.get("Pod", pod) is not None:
        lab.exec(pod, ["touch", path], container)


# --- readiness ----------------------------------------------------------------------------


def test_readiness_takes_pod_out_and_back(lab: LabContext) -> None:
    def chosen() -> Obj:
        pods = lab.live_pods(WEB)
        ends = services.endpoints(lab, SERVICE)
        serving = sorted((p for p in pods if is_ready(p) and ends.get(name_of(p))), key=name_of)
        assert_that(
            bool(serving),
            f"Service {lab.namespace}/{SERVICE}",
            "a Ready web pod among its ready endpoints",
            f"{pod_states(pods)}; endpoints {ends or 'none'}",
            settled=first_stuck(pods),
        )
        return serving[0]

    pod = lab.eventually(chosen)
    name = name_of(pod)
    subject = lab.subject("Pod", name)
    probe = prober(pod, "readinessProbe")
    if probe is None:
        fail(
            subject,
            f"not Ready, and out of Service {SERVICE}'s ready endpoints, while {READY_FILE} is gone",
            "no container has a readinessProbe",
            Text(
                "레디니스 프로브가 없으면 실행 중인 컨테이너의 파드는 늘 Ready입니다: "
                "요청을 받을 수 없을 때도 "
                "서비스가 계속 요청을 보냅니다",
                "without a readiness probe a pod whose containers run is always Ready: the Service keeps "
                "sending it requests when it cannot serve them",
            ),
            final=True,
        )
    container, readiness = probe
    before = restarts(pod)
    lab.defer(f"put back {READY_FILE} in {subject}", lambda: put_back(lab, name, container, READY_FILE))
    lab.eventually(lambda: in_pod(lab, name, container, ["rm", "-f", READY_FILE]))
    acts = time_to_act(readiness)

    def seen(expected: str, want_ready: bool, since: float) -> None:
        now = lab.get("Pod", name)
        assert_that(now is not None and not deleting(now), subject, expected, "gone", final=True)
        assert now is not None
        after = restarts(now)
        assert_that(
            after == before,
            subject,
            expected,
            f"its container restarted (RESTARTS {before} → {after})",
            Text(
                "레디니스 프로브가 실패해도 컨테이너는 다시 시작되지 않습니다. "
                "다시 시작한 것은 라이브니스 프로브입니다: "
                f"라이브니스 프로브가 {READY_FILE} 를 묻고 있지 않나요?",
                "a failing readiness probe never restarts a container; a liveness probe did: "
                f"does the liveness probe ask for {READY_FILE}?",
            ),
            final=True,
        )
        state = services.endpoints(lab, SERVICE).get(name)
        ok = is_ready(now) and state is True if want_ready else not is_ready(now) and state is not True
        waited = time.monotonic() - since
        assert_that(
            ok,
            subject,
            expected,
            f"{'Ready' if is_ready(now) else 'not Ready'}, {as_endpoint(state)} of Service {SERVICE}"
            + (f" after {waited:.0f} s" if waited > 1 else ""),
            settled=Text(
                f"레디니스 프로브({container})가 움직일 시간({acts:.0f}초)에 "
                f"{slack():.0f}초를 더 기다렸습니다",
                f"the readiness probe ({container}) has had its time to act ({acts:.0f} s) "
                f"and {slack():.0f} s more",
            )
            if waited > acts + slack()
            else None,
        )

    removed = time.monotonic()
    lab.eventually(
        lambda: seen(
            f"not Ready, and out of Service {SERVICE}'s ready endpoints, while {READY_FILE} is gone "
            "(its container not restarted)",
            False,
            removed,
        )
    )
    lab.eventually(lambda: in_pod(lab, name, container, ["touch", READY_FILE]))
    back = time.monotonic()
    lab.eventually(
        lambda: seen(
            f"Ready, and a ready endpoint of Service {SERVICE} again, once {READY_FILE} is back", True, back
        )
    )


# --- liveness -----------------------------------------------------------------------------


def restarted_when_stuck(lab: LabContext, selector: str, ready_again: bool) -> Obj:
    """A pod of `selector` that has worked, unrestarted, for as long as its liveness probe
    takes to act; then its HEALTH_FILE is removed and its container must be restarted
    (and, with ready_again, the pod Ready again). The pod, as it was before."""
    started = time.monotonic()
    first_restarts: dict[str, int] = {}

    def steady() -> tuple[Obj, str, float]:
        pods = lab.live_pods(selector)
        for p in pods:
            first_restarts.setdefault(name_of(p), restarts(p))
        subject = f"pods {selector} in {lab.namespace}"
        assert_that(bool(pods), subject, "a pod", "none", final=True)
        without = [p for p in pods if prober(p, "livenessProbe") is None]
        if without:
            fail(
                lab.subject("Pod", name_of(without[0])),
                f"restarted when {HEALTH_FILE} is gone",
                "no container has a livenessProbe",
                Text(
                    "라이브니스 프로브가 없으면 프로세스가 살아 있는 컨테이너는 "
                    "아무리 망가져도 다시 시작되지 않습니다",
                    "without a liveness probe a container whose process is alive is never restarted, however "
                    "broken it is",
                ),
                final=True,
            )
        probes = {name_of(p): prober(p, "livenessProbe") or ("", {}) for p in pods}
        events = lab.list("Event")
        killed = {
            name_of(p): killed_since(events, p, container_started(p, probes[name_of(p)][0]))
            or fails_when_ready(events, p)
            for p in pods
        }
        timed = [(p, ready_since(p), time_to_act(probes[name_of(p)][1]) + STEADY) for p in pods]
        worked = sorted(
            (
                t
                for t in timed
                if t[1] is not None
                and t[1] >= t[2]
                and not killed[name_of(t[0])]
                and restarts(t[0]) == first_restarts[name_of(t[0])]
            ),
            key=lambda t: name_of(t[0]),
        )
        if worked:
            pod, _, acts = worked[0]
            return pod, probes[name_of(pod)][0], acts - STEADY
        on_own = sum(restarts(p) - first_restarts[name_of(p)] for p in pods)
        failure = next(
            (last_probe_failure(events, p, "Liveness") for p in pods if restarts(p) or killed[name_of(p)]), ""
        )
        acts = max(t[2] for t in timed)
        fail(
            subject,
            f"a pod that works, Ready for {acts:.0f} s (its liveness probe's time to act) and neither "
            "restarted nor killed by its liveness probe",
            ", ".join(
                f"{name_of(p)}: "
                + (f"Ready for {since:.0f} s" if since is not None else pod_states([p]).split(": ", 1)[1])
                + f", RESTARTS {restarts(p)}"
                for p, since, _ in timed
            )
            + (f"; last event: {failure}" if failure else ""),
            Text(
                "건드리지 않은 컨테이너가 다시 시작됩니다: "
                "라이브니스 프로브가 일하는 컨테이너에서도 실패합니다 "
                "(경로와 포트가 컨테이너가 답하는 것과 맞나요?)",
                "a container nobody touched is restarted: the liveness probe fails on a working container "
                "(are its path and port what the container answers?)",
            )
            if on_own or any(killed.values())
            else None,
            settled=first_stuck(pods)
            or (
                Text(
                    f"검사하는 동안 아무도 건드리지 않은 컨테이너가 {on_own}번 다시 시작되었습니다",
                    f"containers nobody touched were restarted {on_own} times while the check watched",
                )
                if on_own >= 2 and time.monotonic() - started > acts + slack()
                else None
            ),
        )

    def stuck_now() -> tuple[Obj, str, float]:
        pod, container, acts = steady()
        in_pod(lab, name_of(pod), container, ["rm", "-f", HEALTH_FILE])
        return pod, container, acts

    pod, container, acts = lab.eventually(stuck_now)
    name, subject, before = name_of(pod), lab.subject("Pod", name_of(pod)), restarts(pod)
    lab.defer(f"put back {HEALTH_FILE} in {subject}", lambda: put_back(lab, name, container, HEALTH_FILE))
    removed, removed_at = time.monotonic(), time.time() - 2  # API timestamps are whole seconds
    # twice the slack: a kubelet on a busy node (a class graded beside it) was seen to take
    # 20 s to act on three failed probes a second apart
    patience = 2 * slack()

    def restarted() -> Obj:
        now = lab.get("Pod", name)
        assert_that(now is not None and not deleting(now), subject, "restarted", "gone", final=True)
        assert now is not None
        waited = time.monotonic() - removed
        assert_that(
            restarts(now) > before,
            subject,
            f"its container restarted (RESTARTS above {before}) once {HEALTH_FILE} is gone",
            f"not restarted after {waited:.0f} s, {'Ready' if is_ready(now) else 'not Ready'}",
            Text(
                "파드가 Ready가 아니게 되기만 했다면 /healthz 를 묻는 것은 레디니스 프로브입니다",
                "a pod that only stopped being Ready has its readiness probe on /healthz",
            )
            if not is_ready(now)
            else None,
            settled=Text(
                f"라이브니스 프로브({container})가 움직일 시간({acts:.0f}초)에 "
                f"{patience:.0f}초를 더 기다렸습니다",
                f"the liveness probe ({container}) has had its time to act ({acts:.0f} s) "
                f"and {patience:.0f} s more",
            )
            if waited > acts + patience and not killed_since(lab.list("Event"), now, removed_at)
            else None,  # once the kubelet has decided to kill it, a busy node may take long to restart it
        )
        return now

    lab.eventually(restarted)
    if ready_again:

        def ready() -> None:
            now = lab.get("Pod", name)
            assert_that(
                now is not None and is_ready(now),
                subject,
                f"Ready again after the restart (the new container makes {HEALTH_FILE} again)",
                pod_states([now]) if now is not None else "gone",
            )

        lab.eventually(ready)
    return pod


def test_liveness_restarts_stuck_container(lab: LabContext) -> None:
    restarted_when_stuck(lab, WEB, ready_again=True)


def test_slow_liveness_after_start(lab: LabContext) -> None:
    pod = restarted_when_stuck(lab, SLOW, ready_again=False)
    lab.delete_pod(pod)  # a fresh pod, whose RESTARTS is 0 again (slow_starts_without_restart)
