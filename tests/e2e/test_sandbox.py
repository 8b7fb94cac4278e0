"""A sandbox holds on the real cluster (never mocked): each escape an answer could try is
refused by the API server itself — RBAC, the admission policies or the quota — with
kubelab's offline validation skipped, and nothing of the sandbox is left afterwards.

Run with `make e2e` (kubelab's kind cluster is created or reused through `kubelab solve`).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from kubelab import cluster, labspec, ownership, sandbox
from kubelab.cleanup import Cleanup
from kubelab.kube import Kube, api_reason

pytestmark = pytest.mark.e2e

CONFIGMAPS = 10_000


@pytest.fixture(scope="module")
def kube() -> Kube:
    done = subprocess.run(
        [sys.executable, "-m", "kubelab", "--lang", "en", "solve", "01"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return Kube(cluster.resolve_target())


def opened(kube: Kube, lab_id: str) -> Iterator[sandbox.Sandbox]:
    """A sandbox of the lab; afterwards, every trace of it is gone."""
    cleanup = Cleanup(kube)
    made = sandbox.open_sandbox(kube, labspec.find_lab(lab_id), cleanup, purpose="escape-test")
    try:
        yield made
    finally:
        assert cleanup.run() == []
        assert kube.get("Namespace", made.namespace) is None
        for kind in ("ClusterRole", "ClusterRoleBinding"):
            assert kube.get(kind, f"{sandbox.ANSWER}-{made.namespace}") is None
        assert [o for o in ownership.recorded(kube, lab_id) if o.purpose == "escape-test"] == []
        assert not (cluster.hostpath_root() / "sandboxes" / made.namespace).exists()


@pytest.fixture(scope="module")
def box(kube: Kube) -> Iterator[sandbox.Sandbox]:
    """A sandbox of lab 05, the lab whose answers make a cluster-scoped PersistentVolume
    (one for all the tests: each leaves nothing in it, and each checks so)."""
    yield from opened(kube, "05")


@pytest.fixture(scope="module")
def box06(kube: Kube) -> Iterator[sandbox.Sandbox]:
    """A sandbox of lab 06, whose answers make ConfigMaps."""
    yield from opened(kube, "06")


def refused(box: sandbox.Sandbox, obj: dict[str, Any], namespace: str | None = None) -> str:
    """Create `obj` as the sandbox's ServiceAccount; the API server's refusal."""
    with pytest.raises(ApiException) as caught:
        box.kube.create(obj, namespace if namespace is not None else box.namespace)
    return f"{caught.value.status} {api_reason(caught.value)}"


def pod(name: str, **spec: Any) -> dict[str, Any]:
    container = {"name": "c", "image": "kubelab/web:v1", **spec.pop("container", {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [container], **spec},
    }


def volume(name: str, path: str, storage_class: str = "manual") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "hostPath": {"path": path, "type": "DirectoryOrCreate"},
        },
    }


def test_an_answer_may_not_leave_its_namespace(box: sandbox.Sandbox, kube: Kube) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "escape"}, "data": {"a": "b"}}
    assert refused(box, cm, "default").startswith("403")
    assert kube.get("ConfigMap", "escape", "default") is None


def test_an_answer_may_not_grant_itself_anything(box: sandbox.Sandbox) -> None:
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"escape-{box.namespace}"},
        "subjects": [{"kind": "ServiceAccount", "name": sandbox.ANSWER, "namespace": box.namespace}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
    }
    assert refused(box, binding, "").startswith("403")
    role_binding = {**binding, "kind": "RoleBinding", "metadata": {"name": "escape"}}
    assert refused(box, role_binding).startswith("403")


def test_an_answer_may_not_make_a_namespace(box: sandbox.Sandbox, kube: Kube) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"escape-{box.namespace}"}}
    assert refused(box, ns, "").startswith("403")
    assert kube.get("Namespace", f"escape-{box.namespace}") is None


@pytest.mark.parametrize(
    ("name", "spec", "reason"),
    [
        ("privileged", {"container": {"securityContext": {"privileged": True}}}, "privileged"),
        (
            "capability",
            {"container": {"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}},
            "capability",
        ),
        ("host-network", {"hostNetwork": True}, "host network"),
        ("host-pid", {"hostPID": True}, "host network, PID"),
        ("host-port", {"container": {"ports": [{"containerPort": 80, "hostPort": 8080}]}}, "host port"),
        ("root", {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}, "hostPath only under"),
        (
            "neighbour",
            {"volumes": [{"name": "next", "hostPath": {"path": "/data/sandboxes/lab-05-s99/host_dir"}}]},
            "hostPath only under",
        ),
        ("data", {"volumes": [{"name": "data", "hostPath": {"path": "/data"}}]}, "hostPath only under"),
    ],
)
def test_a_pod_that_reaches_the_node_is_refused(
    box: sandbox.Sandbox, kube: Kube, name: str, spec: dict[str, Any], reason: str
) -> None:
    said = refused(box, pod(name, **spec))
    assert "kubelab sandbox" in said and reason in said, said
    assert kube.get("Pod", name, box.namespace) is None


def test_a_replicaset_cannot_launder_a_privileged_pod(box: sandbox.Sandbox, kube: Kube) -> None:
    """The ReplicaSet is the answer's kind and is accepted; the pods its controller makes
    are held by the same policy, whoever creates them."""
    template = pod("x", hostNetwork=True)
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "launder"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "launder"}},
            "template": {"metadata": {"labels": {"app": "launder"}}, "spec": template["spec"]},
        },
    }
    with pytest.raises(ApiException) as caught:  # lab 05's Role has no ReplicaSets at all
        box.kube.create(rs, box.namespace)
    assert caught.value.status == 403
    kube.create(rs, box.namespace)  # kubelab's own credentials: only admission stands in the way

    def events() -> list[str]:
        return [
            str(e.get("message"))
            for e in kube.list("Event", box.namespace)
            if e.get("reason") == "FailedCreate"
        ]

    from kubelab.checks import assert_that
    from kubelab.waiting import wait_until

    wait_until(lambda: assert_that(bool(events()), "ReplicaSet launder", "a refused pod", "none yet"), 30)
    assert any("kubelab sandbox" in m for m in events())
    assert kube.list("Pod", box.namespace, "app=launder") == []


def test_a_volume_outside_the_rules_is_refused(box: sandbox.Sandbox, kube: Kube) -> None:
    own_folder = box.lab.param("host_dir")
    said = refused(box, volume("escape", own_folder), "")
    assert "named <name>-" in said, said
    said = refused(box, volume(f"pv-{box.namespace}", own_folder), "")
    assert "class named <class>-" in said, said  # its class would let other answers' claims bind it
    own_class = box.lab.param("storage_class")
    said = refused(box, volume(f"pv-{box.namespace}", "/", own_class), "")
    assert "hostPath under" in said, said
    said = refused(box, volume(f"pv-{box.namespace}", "/data/lab-05", own_class), "")
    assert "hostPath under" in said, said
    assert kube.get("PersistentVolume", "escape") is None
    assert kube.get("PersistentVolume", f"pv-{box.namespace}") is None


def test_a_claim_cannot_take_another_answers_volume(box: sandbox.Sandbox, kube: Kube) -> None:
    def claim(name: str, **spec: Any) -> dict[str, Any]:
        body = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec}
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": body}

    said = refused(box, claim("by-class", storageClassName="manual-lab-05-s98"))
    assert "class of another sandbox" in said, said
    said = refused(box, claim("by-name", storageClassName="", volumeName="pv-static-lab-05-s98"))
    assert "may name only a volume" in said, said
    assert kube.list("PersistentVolumeClaim", box.namespace) == []


def test_the_sandboxs_own_volume_is_allowed(box: sandbox.Sandbox, kube: Kube) -> None:
    """The rules leave room for the lab's answer: its own name, its own folder (removed
    with the sandbox by the test's cleanup, like any answer's)."""
    own = volume(box.lab.param("pv_static"), box.lab.param("host_dir"), box.lab.param("storage_class"))
    made = ownership.create(box.kube, own, "05", "escape-test")
    assert made.name.endswith(box.namespace)
    ownership.remove_all(kube, [made])


def test_ten_thousand_configmaps_are_refused_by_the_quota(box06: sandbox.Sandbox) -> None:
    made = 0
    with pytest.raises(ApiException) as caught:
        for made in range(CONFIGMAPS):
            box06.kube.create(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"flood-{made}"}},
                box06.namespace,
            )
    assert caught.value.status == 403 and "exceeded quota" in api_reason(caught.value)
    assert made <= int(sandbox.QUOTA["count/configmaps"])
