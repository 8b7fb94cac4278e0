"""When a wrong state has settled: pure rules over pods and polled values (no cluster)."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab import settled
from kubelab.checks import fail
from kubelab.errors import CheckFailed
from kubelab.text import Text
from kubelab.waiting import wait_until


def pod(
    name: str = "p", waiting: str | None = None, restarts: int = 0, ready: bool = False, **extra: Any
) -> Any:
    state = {"waiting": {"reason": waiting, "message": "boom"}} if waiting else {"running": {}}
    return {
        "metadata": {"name": name, **extra},
        "status": {
            "phase": "Running" if ready or not waiting else "Pending",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [
                {"name": "web", "image": "kubelab/web:v9", "restartCount": restarts, "state": state}
            ],
        },
    }


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"])
def test_an_image_that_cannot_be_pulled_is_settled(reason: str) -> None:
    why = settled.stuck(pod(waiting=reason))
    assert why is not None
    assert "kubelab/web:v9" in why.en and reason in why.en and "web" in why.ko


@pytest.mark.parametrize("reason", ["CreateContainerConfigError", "CreateContainerError"])
def test_a_container_not_created_yet_is_not_settled(reason: str) -> None:
    assert settled.stuck(pod(waiting=reason)) is None  # the ConfigMap may come a moment later


def test_a_crash_loop_is_settled_only_after_restarts() -> None:
    assert settled.stuck(pod(waiting="CrashLoopBackOff", restarts=1)) is None  # a start-up race
    why = settled.stuck(pod(waiting="CrashLoopBackOff", restarts=2))
    assert why is not None and "2 restarts" in why.en


@pytest.mark.parametrize("reason", ["ContainerCreating", "PodInitializing", None])
def test_a_starting_pod_is_not_settled(reason: str | None) -> None:
    assert settled.stuck(pod(waiting=reason)) is None


def test_first_stuck_names_the_first_stuck_pod() -> None:
    pods = [pod("a", ready=True), pod("b", waiting="ContainerCreating"), pod("c", waiting="ErrImagePull")]
    why = settled.first_stuck(pods)
    assert why is not None and "pod c" in why.en
    assert settled.first_stuck(pods[:2]) is None


def test_pods_settled_when_each_is_ready_stuck_or_finished() -> None:
    done = pod("d")
    done["status"]["phase"] = "Succeeded"
    assert settled.pods_settled([pod("a", ready=True), pod("b", waiting="ImagePullBackOff"), done])
    assert settled.pods_settled([])
    assert not settled.pods_settled([pod("a", ready=True), pod("b", waiting="ContainerCreating")])
    assert not settled.pods_settled([pod("a", ready=True, deletionTimestamp="now")])


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_unchanged_needs_both_rounds_and_seconds() -> None:
    clock = Clock()
    still = settled.Unchanged(seconds=5, rounds=3, clock=clock)
    assert not still.see("page A")
    clock.now += 1
    assert not still.see("page A")
    clock.now += 1
    assert not still.see("page A")  # three looks, but only 2 s
    clock.now += 3
    assert still.see("page A")
    assert still.since == 5.0
    assert "5 s" in still.reason(Text("페이지", "the page")).en


def test_a_change_starts_the_count_again() -> None:
    clock = Clock()
    still = settled.Unchanged(seconds=1, rounds=2, clock=clock)
    still.see("A")
    clock.now += 2
    assert not still.see("B")  # changed: one look of B so far
    clock.now += 2
    assert still.see("B")


def test_a_settled_failure_stops_the_wait_at_once_and_says_why() -> None:
    calls = []

    def wrong() -> None:
        calls.append(1)
        fail("Pod p", "Ready", "ImagePullBackOff", settled=Text("받을 수 없음", "cannot be pulled"))

    with pytest.raises(CheckFailed) as caught:
        wait_until(wrong, timeout=30, interval=0.01)
    assert calls == [1]
    assert caught.value.final
    assert caught.value.finding.settled == Text("받을 수 없음", "cannot be pulled")


def test_a_replicaset_whose_pods_a_policy_refuses_is_settled() -> None:
    from kubelab.settled import refused_creation

    def rs(message: str, status: str = "True") -> dict[str, object]:
        condition = {"type": "ReplicaFailure", "status": status, "reason": "FailedCreate", "message": message}
        return {"metadata": {"name": "web-1"}, "status": {"conditions": [condition]}}

    refused = (
        "pods \"web-1-x\" is forbidden: ValidatingAdmissionPolicy 'kubelab-sandbox-pods' denied: "
        "kubelab sandbox: no"
    )
    said = refused_creation([{"metadata": {"name": "ok"}}, rs(refused)])
    assert said is not None and "web-1" in said.en and "kubelab sandbox" in said.en
    assert (
        refused_creation([rs('pods "x" is forbidden: error looking up service account ns/default')]) is None
    )
    assert refused_creation([rs(refused, status="False")]) is None
