"""kubelab.checks' helpers that need no cluster: is a running pod what a controller's
template makes now (made_alike, behind lab 01's self-healing check reading instead of
deleting a pod)."""

from __future__ import annotations

import copy
from typing import Any

from kubelab.checks import made_alike


def pod(image: str = "kubelab/web:v1", token: str = "kube-api-access-x7k2q", **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "web",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "volumeMounts": [{"name": token, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
        **extra,
    }
    return {
        "metadata": {"name": "simple-replicaset-abcde", "uid": "1"},
        "spec": {
            "containers": [container],
            "volumes": [{"name": token, "projected": {"sources": []}}],
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}],
        },
        "status": {"phase": "Running"},
    }


def test_a_scheduled_pod_is_what_its_template_makes_now() -> None:
    running = pod(token="kube-api-access-x7k2q")
    running["spec"]["nodeName"] = "kubelab-worker"
    made = pod(token="kube-api-access-9zzb1")  # a dry run: no node yet, a token volume of its own
    made["metadata"] = {"generateName": "simple-replicaset-"}
    made.pop("status")
    assert made_alike(running, made)


def test_a_pod_unlike_the_template_is_not() -> None:
    made = pod(image="web:v1")
    assert not made_alike(pod(), made)  # adopted by hand, or made before the template changed
    assert not made_alike(pod(command=["/web", "--port", "80"]), pod())  # a field the template lacks
    assert not made_alike(pod(), pod(command=["/web"]))


def test_a_different_order_of_a_list_is_a_different_pod() -> None:
    first = pod(args=["a", "b"])
    second = copy.deepcopy(first)
    second["spec"]["containers"][0]["args"] = ["b", "a"]
    assert not made_alike(first, second)
