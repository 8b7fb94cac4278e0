"""Restarting one container by giving it its image's other name (kubelab.restarts), with
a fake lab whose kubelet restarts a container when its image changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from kubelab import restarts
from kubelab.errors import CheckFailed

T = TypeVar("T")


def test_the_other_docker_hub_name_of_an_image() -> None:
    assert restarts.other_name("kubelab/web:v1") == "docker.io/kubelab/web:v1"
    assert restarts.other_name("docker.io/kubelab/web:v1") == "kubelab/web:v1"
    assert restarts.other_name("nginx") == "docker.io/nginx"
    for elsewhere in ("ghcr.io/kubelab/web:v1", "localhost:5000/web:v1", "localhost/web"):
        assert restarts.other_name(elsewhere) is None


class FakeKube:
    def __init__(self, lab: FakeLab) -> None:
        self.lab = lab
        self.patches: list[dict[str, Any]] = []

    def warning_events(self, pod: dict[str, Any]) -> tuple[str, ...]:
        return ()

    def patch(self, kind: str, name: str, namespace: str, body: dict[str, Any]) -> None:
        self.patches.append(body)
        (change,) = body["spec"]["containers"]
        for container, status in zip(
            self.lab.pod["spec"]["containers"], self.lab.pod["status"]["containerStatuses"], strict=True
        ):
            if container["name"] == change["name"]:
                container["image"] = change["image"]
                status["restartCount"] += 1


class FakeLab:
    namespace = "lab-04"

    def __init__(self, image: str) -> None:
        self.pod: dict[str, Any] = {
            "kind": "Pod",
            "metadata": {"name": "p", "uid": "u1"},
            "spec": {"containers": [{"name": "writer", "image": "x"}, {"name": "reader", "image": image}]},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [
                    {"name": "writer", "restartCount": 0},
                    {"name": "reader", "restartCount": 2},
                ],
            },
        }
        self.kube = FakeKube(self)
        self.undos: list[Callable[[], None]] = []

    def subject(self, kind: str, name: str) -> str:
        return f"{kind} {self.namespace}/{name}"

    def get(self, kind: str, name: str) -> dict[str, Any]:
        return self.pod

    require = get

    def eventually(self, assertion: Callable[[], T]) -> T:
        return assertion()

    def defer(self, what: str, undo: Callable[[], None]) -> None:
        self.undos.append(undo)


def test_a_container_restarts_under_its_other_name_and_gets_its_own_back() -> None:
    lab = FakeLab("kubelab/web:v1")
    now = restarts.restart_container(lab, lab.pod, "reader")  # type: ignore[arg-type]
    assert restarts.image_of(now, "reader") == "docker.io/kubelab/web:v1"
    assert now["status"]["containerStatuses"][1]["restartCount"] == 3
    (undo,) = lab.undos
    undo()
    assert restarts.image_of(lab.pod, "reader") == "kubelab/web:v1"
    undo()  # already its own name: nothing more to do
    assert len(lab.kube.patches) == 2


def test_an_image_of_another_registry_is_not_renamed() -> None:
    lab = FakeLab("ghcr.io/kubelab/web:v1")
    with pytest.raises(CheckFailed) as failed:
        restarts.restart_container(lab, lab.pod, "reader")  # type: ignore[arg-type]
    assert failed.value.final and lab.kube.patches == []


def test_another_pod_of_the_same_name_is_not_a_restart() -> None:
    lab = FakeLab("kubelab/web:v1")
    lab.pod["metadata"]["uid"] = "u2"
    with pytest.raises(CheckFailed) as failed:
        restarts.restarted(lab, "p", "reader", "u1", 2)  # type: ignore[arg-type]
    assert failed.value.final
    with pytest.raises(CheckFailed) as waiting:
        restarts.restarted(lab, "p", "reader", "u2", 2)  # type: ignore[arg-type]
    assert not waiting.value.final and "restartCount 2" in waiting.value.finding.found
