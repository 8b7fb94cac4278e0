"""A check's own short-lived objects: a pod that runs one shell script and ends, waiting
for such a pod to end, and waiting for something the check deleted to be gone.

These are for a check that experiments in a scratch namespace of its own
(LabContext.scratch_namespace): the learner's objects are never touched here.
"""

from __future__ import annotations

from typing import Any

from kubelab.checks import assert_that, field, pod_states
from kubelab.kube import Kube
from kubelab.manifests import Obj
from kubelab.nodefiles import IMAGE
from kubelab.waiting import wait_until

END_WAIT = 90.0
"""Seconds a one-shot pod may take to start and end, or a deleted object to be gone."""


def one_shot_pod(
    name: str,
    script: str,
    *,
    env: dict[str, str] | None = None,
    volumes: list[Obj] | None = None,
    mounts: dict[str, str] | None = None,
    node: str = "",
) -> Obj:
    """A pod that runs `script` in `sh -c` once and ends (restartPolicy Never), with the
    environment `env`, the `volumes`, `mounts` (volume name → path) and, when given,
    pinned to `node`. It runs kubelab's own image and stops at once when deleted."""
    container: dict[str, Any] = {
        "name": name,
        "image": IMAGE,
        "command": ["sh", "-c", script],
        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
        "volumeMounts": [{"name": v, "mountPath": path} for v, path in (mounts or {}).items()],
    }
    spec: Obj = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 1,
        "containers": [container],
        "volumes": volumes or [],
    }
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def finished(kube: Kube, namespace: str, name: str, need_success: bool = True) -> Obj:
    """A one-shot pod once it has ended (Succeeded or Failed; need_success: a Failed pod
    fails the check at once), waited for up to END_WAIT seconds."""

    def ended() -> Obj:
        pod = kube.get("Pod", name, namespace)
        phase = field(pod, "status.phase")
        subject = f"Pod {namespace}/{name}"
        if need_success:
            assert_that(phase != "Failed", subject, "Succeeded", "Failed", final=True)
        assert_that(
            phase in ("Succeeded", "Failed"), subject, "finished", pod_states([pod]) if pod else "not found"
        )
        return pod or {}

    return wait_until(ended, END_WAIT)


def wait_gone(kube: Kube, kind: str, name: str, namespace: str | None, timeout: float = END_WAIT) -> None:
    """Return once the object is gone (deleted, finalizers and all)."""

    def gone() -> None:
        assert_that(kube.get(kind, name, namespace) is None, f"{kind} {name}", "deleted", "still there")

    wait_until(gone, timeout)
