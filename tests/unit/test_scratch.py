"""A check's own short-lived pods (kubelab.scratch), without a cluster."""

from __future__ import annotations

import pytest

from kubelab import scratch
from kubelab.errors import CheckFailed
from tests.unit.fakes import FakeKube


def test_a_one_shot_pod_runs_its_script_once_where_it_is_told() -> None:
    pod = scratch.one_shot_pod(
        "reader",
        'cat "/node/$DIR/marker"',
        env={"DIR": "."},
        volumes=[{"name": "node", "hostPath": {"path": "/data/x"}}],
        mounts={"node": "/node"},
        node="worker",
    )
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never" and spec["nodeName"] == "worker"
    (container,) = spec["containers"]
    assert container["command"] == ["sh", "-c", 'cat "/node/$DIR/marker"']
    assert container["env"] == [{"name": "DIR", "value": "."}]
    assert container["volumeMounts"] == [{"name": "node", "mountPath": "/node"}]
    assert "nodeName" not in scratch.one_shot_pod("writer", "true")["spec"]


def test_finished_returns_an_ended_pod_and_a_failed_one_fails_at_once() -> None:
    def pod(phase: str) -> dict:
        return {"kind": "Pod", "metadata": {"name": "writer", "namespace": "s"}, "status": {"phase": phase}}

    assert scratch.finished(FakeKube([pod("Succeeded")]), "s", "writer")["status"]["phase"] == "Succeeded"
    assert scratch.finished(FakeKube([pod("Failed")]), "s", "writer", need_success=False)
    with pytest.raises(CheckFailed) as failed:
        scratch.finished(FakeKube([pod("Failed")]), "s", "writer")
    assert failed.value.final


def test_wait_gone_returns_once_the_object_is_gone() -> None:
    kube = FakeKube([{"kind": "Pod", "metadata": {"name": "writer", "namespace": "s"}}])
    with pytest.raises(CheckFailed):
        scratch.wait_gone(kube, "Pod", "writer", "s", timeout=0.2)
    kube.delete("Pod", "writer", "s")
    scratch.wait_gone(kube, "Pod", "writer", "s", timeout=0.2)
