"""kubelab.checks' helpers that need no cluster: is a running pod what a controller's
template makes now (made_alike), and may a pod's readiness follow more than its spec
(readiness_beyond_spec) — behind lab 01's self-healing check reading instead of deleting
a pod."""

from __future__ import annotations

import copy
from typing import Any

from kubelab.checks import made_alike, readiness_beyond_spec


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
            "volumes": [
                {"name": token, "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}
            ],
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


def test_only_the_token_volume_is_named_anew() -> None:
    mine = pod(envFrom=[{"configMapRef": {"name": "kube-api-access-good"}}])
    other = pod(envFrom=[{"configMapRef": {"name": "kube-api-access-gone"}}])
    assert not made_alike(mine, other)


def test_readiness_that_can_follow_more_than_the_spec() -> None:
    plain = {"containers": [{"name": "web", "image": "kubelab/web:v1"}]}  # a template's spec
    assert readiness_beyond_spec(plain) == []
    assert readiness_beyond_spec({**plain, "volumes": [{"name": "scratch", "emptyDir": {}}]}) == []

    def container(**extra: Any) -> dict[str, Any]:
        return {"containers": [{"name": "web", "image": "kubelab/web:v1", **extra}]}

    probed = container(readinessProbe={"exec": {"command": ["cat", "/tmp/ready"]}})
    assert readiness_beyond_spec(probed) == ["web: readinessProbe"]  # a file someone put there
    env = container(env=[{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}])
    assert readiness_beyond_spec(env) == ["web: env from other objects"]
    own = container(env=[{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}])
    assert readiness_beyond_spec(own) == []
    claim = {"containers": [], "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "c"}}]}
    assert readiness_beyond_spec(claim) == ["volumes (persistentVolumeClaim)"]
    assert readiness_beyond_spec({"containers": [], "readinessGates": [{"conditionType": "x"}]}) == [
        "readinessGates"
    ]
