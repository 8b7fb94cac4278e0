"""A sandbox holds on the real cluster (never mocked): each escape an answer could try is
refused by the API server itself — RBAC, the admission policies or the quota — with
kubelab's offline validation skipped, and nothing of the sandbox is left afterwards.

Run with `make e2e` (kubelab's kind cluster is created or reused through `kubelab solve`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from kubelab import capacity, cluster, labspec, ownership, sandbox
from kubelab.cleanup import Cleanup
from kubelab.errors import CheckFailed, Finding
from kubelab.kube import Kube, api_reason
from kubelab.settled import is_ready
from kubelab.waiting import wait_until

pytestmark = pytest.mark.e2e

CONFIGMAPS = 10_000


@pytest.fixture(scope="module")
def kube(verify_runs: object) -> Kube:
    """kubelab's cluster, up, with the verification of every lab running beside these
    tests (on a cluster of its own, tests/e2e/conftest.py)."""
    return Kube(cluster.resolve_target())


def gone_within(kube: Kube, namespace: str, seconds: float = 60) -> None:
    def gone() -> None:
        if kube.get("Namespace", namespace) is not None:
            raise CheckFailed(Finding(f"namespace {namespace}", "gone", "still there"))

    wait_until(gone, seconds)


def opened(kube: Kube, lab_id: str) -> Iterator[sandbox.Sandbox]:
    """A sandbox of the lab; afterwards, every trace of it is gone."""
    cleanup = Cleanup(kube)
    try:
        made = sandbox.open_sandbox(kube, labspec.find_lab(lab_id), cleanup, purpose="escape-test")
        yield made
    finally:
        assert cleanup.run() == []
        gone_within(kube, made.namespace)  # emptied at once; the namespace controller ends it
        for kind in ("ClusterRole", "ClusterRoleBinding"):
            assert kube.get(kind, f"{sandbox.ANSWER}-{made.namespace}") is None
        left = [o for o in ownership.recorded(kube, lab_id) if o.purpose == "escape-test"]
        assert left == [], [o.describe() for o in left]
        assert not (cluster.hostpath_root() / "sandboxes" / made.namespace).exists()


@pytest.fixture(scope="module")
def box(kube: Kube) -> Iterator[sandbox.Sandbox]:
    """A sandbox of lab 05, the lab whose answers make a cluster-scoped PersistentVolume
    (one for all the tests: each leaves nothing in it, and each checks so)."""
    yield from opened(kube, "05")


@pytest.fixture(scope="module")
def box02(kube: Kube) -> Iterator[sandbox.Sandbox]:
    """A sandbox of lab 02, whose answers make Services (and node port 30080 + slot)."""
    yield from opened(kube, "02")


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
        ("pull-always", {"container": {"imagePullPolicy": "Always"}}, "no imagePullPolicy Always"),
        (
            "root",
            {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]},
            "hostPath only as a folder right under",
        ),
        (
            "neighbour",
            {"volumes": [{"name": "next", "hostPath": {"path": "/data/sandboxes/lab-05-s99/host_dir"}}]},
            "hostPath only as a folder right under",
        ),
        (
            "data",
            {"volumes": [{"name": "data", "hostPath": {"path": "/data"}}]},
            "hostPath only as a folder right under",
        ),
        (
            "deeper",  # below its own folder: a symlink the answer made there could lead anywhere
            {"volumes": [{"name": "deep", "hostPath": {"path": "/data/sandboxes/lab-05-s01/host_dir/x"}}]},
            "hostPath only as a folder right under",
        ),
        ("unconfined", {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, "unconfined seccomp"),
        # the pod would act as the sandbox's identity (in lab 05 it listed every student's volumes)
        ("token", {"automountServiceAccountToken": True}, "no ServiceAccount token"),
        (
            "projected-token",
            {"volumes": [{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}]},
            "no ServiceAccount token",
        ),
        ("priority", {"priorityClassName": "system-node-critical"}, "no priority class"),  # preempts others
        (
            "git-repo",
            {"volumes": [{"name": "g", "gitRepo": {"repository": "https://git.invalid/x"}}]},
            "types only",
        ),
        (
            "image-volume",
            {"volumes": [{"name": "i", "image": {"reference": "kubelab/web:v1"}}]},
            "types only",
        ),
        (
            "ephemeral-claim",
            {
                "volumes": [
                    {
                        "name": "e",
                        "ephemeral": {
                            "volumeClaimTemplate": {
                                "spec": {
                                    "accessModes": ["ReadWriteOnce"],
                                    "resources": {"requests": {"storage": "1Gi"}},
                                }
                            }
                        },
                    }
                ]
            },
            "types only",
        ),
        ("host-users", {"hostUsers": False}, "no hostUsers"),
        (
            "sysctl",
            {"securityContext": {"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}]}},
            "sysctls",
        ),
    ],
)
def test_a_pod_that_reaches_the_node_is_refused(
    box: sandbox.Sandbox, kube: Kube, name: str, spec: dict[str, Any], reason: str
) -> None:
    said = refused(box, pod(name, **spec))
    assert "kubelab sandbox" in said and reason in said, said
    assert kube.get("Pod", name, box.namespace) is None


def test_a_host_path_says_its_type(box: sandbox.Sandbox, kube: Kube) -> None:
    """An untyped hostPath mounts whatever is at the path (a file, a socket) without a
    check; the sandbox's own folder must say Directory or DirectoryOrCreate."""
    own = box.lab.param("host_dir")
    said = refused(box, pod("untyped", volumes=[{"name": "u", "hostPath": {"path": own}}]))
    assert "with type: Directory or DirectoryOrCreate" in said, said
    said = refused(box, pod("socket", volumes=[{"name": "u", "hostPath": {"path": own, "type": "Socket"}}]))
    assert "with type: Directory or DirectoryOrCreate" in said, said
    typed = {"name": "u", "hostPath": {"path": own, "type": "DirectoryOrCreate"}}
    box.kube.create(pod("typed", volumes=[typed]), box.namespace, dry_run=True)


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
    assert "right under" in said, said
    said = refused(box, volume(f"pv-{box.namespace}", "/data/lab-05", own_class), "")
    assert "right under" in said, said
    assert kube.get("PersistentVolume", "escape") is None
    assert kube.get("PersistentVolume", f"pv-{box.namespace}") is None


def test_a_claim_cannot_take_another_answers_volume(box: sandbox.Sandbox, kube: Kube) -> None:
    def claim(name: str, **spec: Any) -> dict[str, Any]:
        body = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec}
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": body}

    said = refused(box, claim("by-class", storageClassName="manual-lab-05-s98"))
    assert "asks for class" in said, said
    said = refused(box, claim("by-name", storageClassName="", volumeName="pv-static-lab-05-s98"))
    assert "may name only a volume" in said, said
    said = refused(box, claim("outside", storageClassName="manual"))  # e.g. a learner's own pv-static
    assert "asks for class" in said, said
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


def test_a_checks_copy_of_the_answer_runs_under_the_same_rules(box: sandbox.Sandbox, kube: Kube) -> None:
    """A check that runs a copy of the answer's pods (lab 03 copies its Deployment) does so
    in a scratch namespace that the pod rules hold too, with the same node folder."""
    from kubelab.checks import LabContext

    cleanup = Cleanup(kube)
    lab = LabContext(kube, box.lab, box.namespace, box.lab.checks[0], cleanup)
    try:
        scratch = lab.scratch_namespace("copy")
        with pytest.raises(ApiException) as caught:
            kube.create(pod("copied", hostNetwork=True), scratch)
        assert "kubelab sandbox" in api_reason(caught.value)
        own = {"name": "own", "hostPath": {"path": box.lab.param("host_dir"), "type": "DirectoryOrCreate"}}
        kube.apply(pod("reader", volumes=[own]), scratch, dry_run=True)  # the lab's own folder: allowed
    finally:
        assert cleanup.run() == []


def test_an_answer_cannot_delete_a_volume_not_its_own(box: sandbox.Sandbox, kube: Kube) -> None:
    victim = ownership.create(kube, volume("kubelab-escape-victim", "/data/victim"), "05", "escape-test")
    try:
        with pytest.raises(ApiException) as caught:
            box.kube.delete("PersistentVolume", "kubelab-escape-victim")
        assert caught.value.status == 403
        assert not ownership.gone(kube, victim)
    finally:
        ownership.remove_all(kube, [victim])


def test_no_recycling_and_no_token_in_the_answers_pods(box: sandbox.Sandbox, kube: Kube) -> None:
    own = volume(box.lab.param("pv_static"), box.lab.param("host_dir"), box.lab.param("storage_class"))
    own["spec"]["persistentVolumeReclaimPolicy"] = "Recycle"
    assert "Recycle" in refused(box, own, "")
    account = kube.get("ServiceAccount", sandbox.ANSWER, box.namespace)
    assert account is not None and account.get("automountServiceAccountToken") is False
    # a pod that names no account gets the namespace's default one, which mounts no token
    # either: the pod is admitted, without a token volume
    made = box.kube.create(pod("plain"), box.namespace, dry_run=True)
    volumes = (made.get("spec") or {}).get("volumes") or []
    assert not any("projected" in v for v in volumes), volumes


@pytest.mark.parametrize(
    ("name", "spec", "reason"),
    [
        ("balancer", {"type": "LoadBalancer", "ports": [{"port": 80}]}, "ClusterIP or a NodePort"),
        ("external", {"type": "ExternalName", "externalName": "example.com"}, "ClusterIP or a NodePort"),
        ("any-port", {"type": "NodePort", "ports": [{"port": 80}]}, "names its node port"),
        ("ips", {"ports": [{"port": 80}], "externalIPs": ["10.0.0.1"]}, "externalIPs"),
        (
            "neighbours-port",
            {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30099}]},
            "names its node port",
        ),
    ],
)
def test_a_service_stays_inside(box02: sandbox.Sandbox, name: str, spec: dict[str, Any], reason: str) -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}
    said = refused(box02, service)
    assert reason in said, said


def test_an_exec_that_prints_without_end_is_cut_within_its_time(box: sandbox.Sandbox, kube: Kube) -> None:
    """A check's exec into an answer's pod reads at most EXEC_OUTPUT_BYTES and never past
    its time (a fake `curl` printing 300 MB once kept a check past its deadline at about
    70% of a core, and its output in memory twice)."""
    from kubelab.kube import EXEC_OUTPUT_BYTES, exec_in_pod

    kube.create(
        pod("talker", container={"command": ["sleep", "600"]}, terminationGracePeriodSeconds=0), box.namespace
    )
    try:

        def running() -> None:
            phase = ((kube.get("Pod", "talker", box.namespace) or {}).get("status") or {}).get("phase")
            if phase != "Running":
                raise CheckFailed(Finding("Pod talker", "Running", str(phase)))

        wait_until(running, 60)
        flood = exec_in_pod(
            kube, "talker", box.namespace, ["sh", "-c", "yes 0123456789abcdef | head -c 300000000"]
        )
        assert flood.code == -1 and "read no further" in flood.stderr, flood.stderr
        assert len(flood.stdout) == EXEC_OUTPUT_BYTES
        slow = exec_in_pod(
            kube, "talker", box.namespace, ["sh", "-c", "while :; do echo x; sleep 0.1; done"], timeout=5
        )
        assert slow.code == -1 and "no answer within" in slow.stderr, slow.stderr
        said = exec_in_pod(kube, "talker", box.namespace, ["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert (said.code, said.stdout, said.stderr) == (3, "out\n", "err\n")
    finally:
        kube.delete("Pod", "talker", box.namespace, grace_seconds=0)


def test_an_answer_cannot_have_the_cluster_make_it_a_token(box06: sandbox.Sandbox, kube: Kube) -> None:
    """A Secret of type service-account-token would be filled with a long-lived token by
    the cluster, and a pod could mount it as a plain secret volume: refused."""
    token = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "token", "annotations": {"kubernetes.io/service-account.name": "default"}},
        "type": "kubernetes.io/service-account-token",
    }
    assert "no ServiceAccount token Secret" in refused(box06, token)
    plain = {**token, "type": "Opaque"}
    assert "no ServiceAccount token Secret" in refused(box06, plain)
    assert kube.get("Secret", "token", box06.namespace) is None


def running(kube: Kube, name: str, namespace: str, seconds: float = 60) -> dict[str, Any]:
    """The pod once its containers run (and pass any readiness probe)."""

    def ready() -> dict[str, Any]:
        live = kube.get("Pod", name, namespace) or {}
        if not is_ready(live):
            raise CheckFailed(
                Finding(f"Pod {namespace}/{name}", "Ready", str(live.get("status", {}).get("phase")))
            )
        return live

    return wait_until(ready, seconds)


def curl(kube: Kube, pod_name: str, namespace: str, url: str) -> str:
    """The HTTP status a pod gets from url ("000": no answer at all)."""
    from kubelab.kube import exec_in_pod

    done = exec_in_pod(
        kube,
        pod_name,
        namespace,
        ["curl", "-s", "-o", "/dev/null", "-m", "2", "-w", "%{http_code}", url],
        timeout=10,
    )
    return done.stdout.strip() or "000"


def test_another_sandboxs_pods_and_services_are_out_of_reach(
    box02: sandbox.Sandbox, box06: sandbox.Sandbox, kube: Kube
) -> None:
    """A pod of one answer reaches nothing of another answer: not its pod's address, not
    its Service by name or ClusterIP, not its NodePort; its own neighbour it does reach,
    and so does a pod outside every sandbox (where kubelab's checks run)."""
    web = pod(
        "victim", container={"readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1}}
    )
    web["metadata"]["labels"] = {"app": "victim"}
    port = int(box02.lab.param("node_port"))
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "victim"},
        "spec": {
            "type": "NodePort",
            "selector": {"app": "victim"},
            "ports": [{"port": 80, "nodePort": port}],
        },
    }
    sleeper = {"container": {"command": ["sleep", "600"]}, "terminationGracePeriodSeconds": 0}
    box02.kube.create(web, box02.namespace)
    box02.kube.create(service, box02.namespace)
    box02.kube.create(pod("neighbour", **sleeper), box02.namespace)
    box06.kube.create(pod("intruder", **sleeper), box06.namespace)
    try:
        victim = running(kube, "victim", box02.namespace)
        running(kube, "neighbour", box02.namespace)
        running(kube, "intruder", box06.namespace)
        node_ip = next(
            a["address"]
            for a in (kube.get("Node", str(victim["spec"]["nodeName"])) or {})["status"]["addresses"]
            if a["type"] == "InternalIP"
        )
        cluster_ip = (kube.get("Service", "victim", box02.namespace) or {})["spec"]["clusterIP"]
        targets = [
            f"http://{victim['status']['podIP']}/",
            f"http://victim.{box02.namespace}.svc.cluster.local/",
            f"http://{cluster_ip}/",
            f"http://{node_ip}:{port}/",
        ]

        def neighbour_answered() -> None:
            for url in targets:
                status = curl(kube, "neighbour", box02.namespace, url)
                if status != "200":
                    raise CheckFailed(Finding(url, "200 for the neighbour", status))

        wait_until(neighbour_answered, 30)
        assert {url: curl(kube, "intruder", box06.namespace, url) for url in targets} == {
            url: "000" for url in targets
        }
    finally:
        for name in ("victim", "neighbour"):
            kube.delete("Pod", name, box02.namespace, grace_seconds=0)
        kube.delete("Service", "victim", box02.namespace)
        kube.delete("Pod", "intruder", box06.namespace, grace_seconds=0)


def test_two_thousand_processes_in_one_pod_stop_at_its_limit(box: sandbox.Sandbox, kube: Kube) -> None:
    """A fork bomb in an answer stops at the pod's process limit (the kubelet's
    podPidsLimit): the pod cannot start 2,000 processes, and the node still starts new
    pods beside it."""
    bomb = (
        "n=0; while [ $n -lt 2000 ]; do sleep 300 & n=$((n+1)); echo $n > /tmp/started; done; "
        "echo all > /tmp/started; sleep 300"
    )
    sleeper = {"container": {"command": ["sleep", "600"]}, "terminationGracePeriodSeconds": 0}
    box.kube.create(
        pod(
            "forker",
            container={"command": ["sh", "-c", bomb]},
            terminationGracePeriodSeconds=0,
            restartPolicy="Never",
        ),
        box.namespace,
    )
    try:

        def ended() -> dict[str, Any]:
            live = kube.get("Pod", "forker", box.namespace) or {}
            if (live.get("status") or {}).get("phase") not in ("Failed", "Succeeded"):
                raise CheckFailed(
                    Finding("Pod forker", "stopped by its process limit", str(live.get("status")))
                )
            return live

        stopped = wait_until(ended, 90)
        assert stopped["status"]["phase"] == "Failed"  # `sh` cannot fork: the loop never reached 2,000
        box.kube.create(pod("after", **sleeper), box.namespace)
        running(kube, "after", box.namespace)
    finally:
        kube.delete("Pod", "forker", box.namespace, grace_seconds=0)
        kube.delete("Pod", "after", box.namespace, grace_seconds=0)


@pytest.fixture(scope="module")
def box09(kube: Kube) -> Iterator[sandbox.Sandbox]:
    """A sandbox of lab 09, whose answers make Roles, RoleBindings, ClusterRoles and
    ClusterRoleBindings, with RBAC's bind and escalate (lab.yaml `sandbox: verbs`)."""
    yield from opened(kube, "09")


RBAC_V1 = "rbac.authorization.k8s.io/v1"


def binding(kind: str, name: str, subject: dict[str, Any], role: tuple[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": RBAC_V1,
        "kind": kind,
        "metadata": {"name": name},
        "subjects": [subject],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role[0], "name": role[1]},
    }


def account(name: str, namespace: str) -> dict[str, Any]:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def test_what_an_rbac_lab_grants_stays_inside_its_sandbox(box09: sandbox.Sandbox, kube: Kube) -> None:
    """Each allowance of lab 09's sandbox (bind, escalate, ClusterRole, ClusterRoleBinding)
    against its escape: a binding reaches only accounts of its own namespace that nobody can
    act as (never kubelab-answer, a user, a group, another namespace's account), cluster-wide
    objects carry the sandbox's name and bind only its own roles, no role is aggregated into
    the built-in ones, the sandbox's own Role stays kubelab's, and no token is made."""
    ns = box09.namespace
    mine = account("pod-reader", ns)
    everything = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
    binds_only = "an answer binds only ServiceAccounts of " + ns
    for subject in (
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"},
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": f"system:serviceaccounts:{ns}"},
        account(sandbox.ANSWER, ns),
        account("default", "default"),
    ):
        said = refused(box09, binding("RoleBinding", "escape", subject, ("ClusterRole", "cluster-admin")))
        assert binds_only in said, (subject, said)
    role = {
        "apiVersion": RBAC_V1,
        "kind": "Role",
        "metadata": {"name": sandbox.ANSWER},
        "rules": [everything],
    }
    with pytest.raises(ApiException) as caught:
        box09.kube.patch("Role", sandbox.ANSWER, ns, {"rules": [everything]}, merge=True)
    assert "kubelab-answer) are kubelab's" in api_reason(caught.value)
    assert "are kubelab's" in refused(box09, {**role, "metadata": {"name": f"{sandbox.ANSWER}-x"}})
    own = f"reader-{ns}"
    assert "is named <name>-" in refused(
        box09, binding("ClusterRoleBinding", "reader", mine, ("ClusterRole", own)), ""
    )
    for subject, role_name, said in (
        (mine, "cluster-admin", "binds only a ClusterRole of this sandbox"),
        (account("pod-reader", "default"), own, binds_only),
        (account(sandbox.ANSWER, ns), own, binds_only),
    ):
        assert said in refused(
            box09, binding("ClusterRoleBinding", own, subject, ("ClusterRole", role_name)), ""
        )
    aggregated = {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRole",
        "metadata": {"name": own, "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
        "rules": [everything],
    }
    assert "not aggregated into another role" in refused(box09, aggregated, "")
    with pytest.raises(ApiException) as caught:  # a built-in role: not the answer's to change
        box09.kube.patch("ClusterRole", "view", None, {"rules": [everything]}, merge=True)
    assert caught.value.status == 403
    # what the allowances are for: a ClusterRole of everything, bound cluster-wide to an
    # account of the sandbox, is accepted, and the account's power is never usable
    made = []
    try:
        plain = {**aggregated, "metadata": {"name": own}}
        made.append(("ClusterRole", box09.kube.create(plain)))
        made.append(
            (
                "ClusterRoleBinding",
                box09.kube.create(binding("ClusterRoleBinding", own, mine, ("ClusterRole", own))),
            )
        )
        sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "pod-reader"}}
        box09.kube.create(sa, ns)
        with pytest.raises(ApiException) as caught:
            box09.kube.token(ns, "pod-reader", 600)
        assert caught.value.status == 403
        assert refused(box09, pod("as-pod-reader")).startswith("403")  # lab 09 makes no pods
        token_pod = pod("as-pod-reader", serviceAccountName="pod-reader", automountServiceAccountToken=True)
        with pytest.raises(ApiException) as caught:  # nor does anyone else there, with a token
            kube.create(token_pod, ns)
        assert "no ServiceAccount token in a pod" in api_reason(caught.value)
    finally:
        for kind, obj in made:
            kube.delete(kind, obj["metadata"]["name"])


@pytest.fixture(scope="module")
def box10(kube: Kube) -> Iterator[sandbox.Sandbox]:
    """A sandbox of lab 10, whose answers' pods keep their own requests and limits (lab.yaml
    `sandbox: resources`: no defaults, at most five pods that ask, 50m and 64Mi each)."""
    yield from opened(kube, "10")


def asking(name: str, cpu: str | None = None, memory: str | None = None, **spec: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return pod(name, container={"resources": {"requests": requests}} if requests else {}, **spec)


def test_pods_that_keep_their_own_requests_never_crowd_out_a_neighbour(
    box10: sandbox.Sandbox, kube: Kube
) -> None:
    """Lab 10's allowance against its escape: a pod that asks for nothing stays BestEffort (no
    default is added) and one that asks for more than any node has is admitted to stay
    Pending — but a pod that could run may ask for at most 50m and 64Mi in all (its
    containers and init containers together, no pod-level resources), at most five pods
    may ask and five ask for nothing, and the usual sandboxes still refuse what lab 10's
    allows. The quotas hold from the first pod on (each was counted before the sandbox
    opened)."""
    ns = box10.namespace
    largest = capacity.largest_node(kube)
    made: list[str] = []
    try:
        box10.kube.create(asking("nothing"), ns)
        made.append("nothing")
        assert running(kube, "nothing", ns)["status"]["qosClass"] == "BestEffort"
        over = "may ask for at most 50m CPU and 64Mi memory in all"
        assert over in refused(box10, asking("half-a-node", cpu="500m"))
        assert over in refused(box10, asking("just-under", cpu=f"{largest.cpu}m"))  # fits the largest node
        assert over in refused(box10, asking("much-memory", memory="1Gi"))
        two = asking("two-containers", cpu="30m")
        two["spec"]["containers"].append({**two["spec"]["containers"][0], "name": "d"})
        assert over in refused(box10, two)  # 30m + 30m
        pod_level = asking("pod-level")
        pod_level["spec"]["resources"] = {"requests": {"cpu": "1", "memory": "1Gi"}}
        assert "no pod-level resources here" in refused(box10, pod_level)
        limits_only = pod("limits-only", container={"resources": {"limits": {"cpu": "500m"}}})
        assert over in refused(box10, limits_only)  # its requests are its limits
        init = asking("big-init", cpu="10m")
        init["spec"]["initContainers"] = [
            {
                "name": "i",
                "image": "kubelab/web:v1",
                "command": ["true"],
                "resources": {"requests": {"cpu": "1"}},
            }
        ]
        assert over in refused(box10, init)
        # a pod no node can hold: admitted, Pending for good, holding nothing
        for name, cpu, memory in (("huge", "64", None), ("vast", None, "1Ti")):
            box10.kube.create(asking(name, cpu=cpu, memory=memory), ns)
            made.append(name)
        for name in ("huge", "vast"):
            live = kube.get("Pod", name, ns) or {}
            assert not (live.get("spec") or {}).get("nodeName"), live
        for i in range(3):  # five pods ask now: the fifth was the last
            box10.kube.create(asking(f"small-{i}", cpu="10m", memory="16Mi"), ns)
            made.append(f"small-{i}")
        said = refused(box10, asking("sixth", cpu="10m"))
        assert "exceeded quota" in said and "kubelab-answer-requests" in said, said
        for i in range(1, 5):  # ask for nothing: take no room, five at most
            box10.kube.create(asking(f"idle-{i}"), ns)
            made.append(f"idle-{i}")
        said = refused(box10, asking("idle-5"))
        assert "exceeded quota" in said and "kubelab-answer-best-effort" in said, said
    finally:
        for name in made:
            kube.delete("Pod", name, ns, grace_seconds=0)


def test_a_usual_sandbox_still_refuses_a_pod_that_asks_for_more_than_a_node(box06: sandbox.Sandbox) -> None:
    said = refused(box06, asking("huge", cpu="64"))
    assert said[:3] in ("403", "422"), said  # the LimitRange's default limit (500m) is below 64
