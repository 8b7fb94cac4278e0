"""A sandbox per answer: its own namespace, its own parameter values, and only what the
API server lets its own ServiceAccount do.

An answer kubelab applies (a verify variant now, a student's submission later) gets:

- a namespace `<lab namespace>-sNN` (NN: the sandbox's slot, 1–99, claimed by creating
  the namespace: two runs at once never share one), labelled `kubelab.dev/sandbox`,
  recorded as kubelab's, with the node ports it may use in an annotation;
- the lab's parameters with the sandbox's own unique values (kubelab.params);
- a ResourceQuota and a LimitRange (so 10 000 ConfigMaps or a memory hog are refused);
  for a lab whose pods keep their own requests (lab 10), no CPU or memory default and a
  cap on what one pod asks for instead (`fences`, rule 7 of the policy);
- a NetworkPolicy: no pod of another sandbox reaches its pods (kubelab.isolation, proven
  on the cluster before a sandbox relies on it);
- a ServiceAccount `kubelab-answer` whose Role allows only the lab's kinds there (and a
  ClusterRole for the lab's cluster-scoped kinds, PersistentVolume in lab 05). The answer's
  manifests and kubectl steps are applied *as* that ServiceAccount (impersonation).

What RBAC lets through is held by ValidatingAdmissionPolicies (manifests/sandbox-policy.yaml):
no privileged or host-namespace pods, hostPath only under the sandbox's own node folder,
its own node ports, volumes with its own names. The checks run with kubelab's own
credentials (they must disturb the cluster). Everything is removed with the sandbox.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubelab import apply, capacity, cluster, isolation, manifests, nodefiles, ownership, repo
from kubelab.cleanup import Cleanup
from kubelab.errors import CheckFailed, EnvironmentProblem, Finding, InputError, KubelabError, LabContentError
from kubelab.kube import Kube, api_exception, api_reason
from kubelab.labspec import Lab, Step
from kubelab.manifests import Document, Obj
from kubelab.params import SANDBOX_HOST_ROOT, Value
from kubelab.waiting import wait_until

SANDBOX = apply.SANDBOX_LABEL
NODE_PORTS = "kubelab.dev/node-ports"
HOST_ROOT = apply.HOST_ROOT
STORAGE_CLASSES = "kubelab.dev/storage-classes"
POD_REQUESTS = apply.POD_REQUESTS
LARGEST_NODE = apply.LARGEST_NODE
NO_PROVISIONER = "kubernetes.io/no-provisioner"
ANSWER = "kubelab-answer"
"""The ServiceAccount an answer is applied as."""
MAX_SLOTS = 99
CLUSTER_SCOPED_POLICED = ("PersistentVolume", "ClusterRole", "ClusterRoleBinding")
"""Cluster-scoped kinds a lab may let its answers make: an admission policy holds their
names to the sandbox's and what they hold inside it (manifests/sandbox-policy.yaml)."""
RBAC = "rbac.authorization.k8s.io"
RBAC_KINDS = ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
"""Kinds of RBAC object a lab may let its answers make (rule 6 of the policy holds them)."""
POLICY_VERSION = 5
"""Raised with every change of manifests/sandbox-policy.yaml (see ensure_policies)."""
POLICY_VERSION_KEY = "kubelab.dev/policy-version"
POLICY_WAIT = 30.0
"""Seconds to wait for newly created admission policies to be in force."""
TERMINATING_WAIT = 90.0
"""Seconds to wait for a student's earlier sandbox of the same name to be gone."""
AUTHORIZE_WAIT = 30.0
"""Seconds to wait for a new sandbox's RBAC bindings to take effect."""
QUOTA_WAIT = 30.0
"""Seconds to wait for a new quota to be counted (until then the API server refuses pods)."""
RELEASED_KINDS = ("Pod", "PersistentVolumeClaim")
"""Kinds a sandbox's controllers make from the answer's templates (finalizers and all),
besides the lab's own kinds."""

COMPUTE = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
"""A quota's CPU and memory entries: a pod that does not name each of them is refused."""
QUOTA = {
    "count/configmaps": "30",
    "count/secrets": "10",
    "count/services": "5",
    "services.nodeports": "2",
    "services.loadbalancers": "0",
    "persistentvolumeclaims": "5",
    "requests.storage": "10Gi",
    "limits.cpu": "8",
    "limits.memory": "6Gi",
    "requests.ephemeral-storage": "2Gi",
    "limits.ephemeral-storage": "8Gi",
}
"""What one answer may hold at most (the labs need far less); its pods, CPU and memory
requests are its share of the cluster (kubelab.capacity)."""
LIMITS = {
    "default": {"cpu": "500m", "memory": "256Mi", "ephemeral-storage": "256Mi"},
    "defaultRequest": {
        "cpu": f"{capacity.DEFAULT_REQUEST.cpu}m",
        "memory": str(capacity.DEFAULT_REQUEST.memory),
        "ephemeral-storage": "16Mi",
    },
    "max": {"cpu": "2", "memory": "1Gi", "ephemeral-storage": "1Gi"},
}
"""Limits a container gets when it names none, and the most it may ask for (a container
that writes more than its ephemeral-storage limit to its own disk is evicted)."""
ALWAYS_READABLE = (("", "pods"), ("", "pods/log"), ("", "events"), ("apps", "replicasets"))
"""What kubectl steps read besides the lab's kinds (rollout status, undo)."""
IN_PODS = {
    "apiGroups": [""],
    "resources": ["pods/exec", "pods/attach", "pods/portforward"],
    "verbs": ["create", "get"],
}
"""What a class's seat may do in its own pods besides the lab's kinds (the labs' text runs
`kubectl exec`); a graded answer's kubectl steps never need it, so a sandbox has it not."""
SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet")
"""Kinds whose scale subresource an answer may change too (kubectl scale)."""
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]


@dataclass(frozen=True)
class Sandbox:
    """One answer's sandbox."""

    lab: Lab
    """The lab with the sandbox's namespace and parameter values."""
    slot: int
    kube: Kube
    """A connection that acts as the sandbox's ServiceAccount."""

    @property
    def namespace(self) -> str:
        return self.lab.answer_namespace


def apply_answer(
    kube: Kube, box: Sandbox, docs: Iterable[Document], steps: Iterable[Step], cleanup: Cleanup, purpose: str
) -> list[apply.Rejection]:
    """Apply an answer's documents in its sandbox as the sandbox's ServiceAccount, then its
    kubectl steps as that ServiceAccount too; what was refused, in order. A document that
    fails the pinned Kubernetes schema (a field of the wrong type, an unknown field) is
    refused here, offline, as `check -f` refuses it: the API server never sees it. What is
    accepted stays (the checks judge it); `cleanup` removes what it made."""
    valid, rejected = validated(docs)
    applied = apply.apply_documents(
        box.kube, valid, box.namespace, box.lab.id, strict=False, cleanup=cleanup, purpose=purpose
    )
    rejected += applied.rejected
    rejected += apply.run_steps(kube.target, box.namespace, steps, answer_user(box.namespace))
    return rejected


def validated(docs: Iterable[Document]) -> tuple[list[Document], list[apply.Rejection]]:
    """The documents that pass the pinned Kubernetes schema, and a refusal for each other."""
    valid: list[Document] = []
    refused: list[apply.Rejection] = []
    for doc in docs:
        problem = (
            f"larger than {manifests.MAX_OBJECT_BYTES // 1024} KiB (its YAML aliases expanded)"
            if manifests.too_large(doc.obj)
            else manifests.schema_problem(doc)
        )
        if problem is None:
            valid.append(doc)
        else:
            refused.append(
                apply.Rejection(doc.where, doc.kind, doc.name, f"not a valid {doc.kind}: {problem}")
            )
    return valid, refused


def answer_user(namespace: str) -> str:
    return f"system:serviceaccount:{namespace}:{ANSWER}"


def sandbox_namespace(lab: Lab, slot: int) -> str:
    return f"{lab.namespace}-s{slot:02d}"


_enforced: set[str] = set()
"""Clusters on which this process has seen the policies in force."""
_policies_lock = threading.Lock()


def ensure_policies(kube: Kube) -> None:
    """Create kubelab's admission policies on this cluster unless they are there, and bring
    the ones kubelab made up to this file: those this machine recorded, and those another
    kubelab (another checkout, another teacher's machine) made, which carry its labels —
    a sandbox must never be opened under an older, weaker rule set."""
    with _policies_lock:
        if kube.cluster_id() in _enforced:
            return
        labels = ownership.ownership("sandbox", "policy")
        for doc in map(_versioned, _policy_documents()):
            live = kube.get(doc["kind"], doc["metadata"]["name"])
            if live is None:
                with contextlib.suppress(InputError):  # made meanwhile by another run
                    ownership.create(kube, doc, "sandbox", "policy")
            elif _version(live) > POLICY_VERSION:
                continue  # a newer kubelab's: at least as strict
            elif ownership.is_ours(kube, live) is not None or _labelled(live, labels):
                kube.apply(ownership.labelled(doc, labels))


def _versioned(doc: Obj) -> Obj:
    metadata = doc["metadata"]
    annotations = {**(metadata.get("annotations") or {}), POLICY_VERSION_KEY: str(POLICY_VERSION)}
    return {**doc, "metadata": {**metadata, "annotations": annotations}}


def _version(live: Obj) -> int:
    said = ((live.get("metadata") or {}).get("annotations") or {}).get(POLICY_VERSION_KEY, "0")
    return int(said) if str(said).isdigit() else 0


def _labelled(live: Obj, labels: Mapping[str, str]) -> bool:
    found = (live.get("metadata") or {}).get("labels") or {}
    return all(found.get(k) == v for k, v in labels.items())


def _policy_documents() -> list[Obj]:
    return [d.obj for d in manifests.load([repo.manifests_dir() / "sandbox-policy.yaml"])]


def _probes() -> list[Obj]:
    """One object each namespaced policy refuses (dry-run in a new sandbox). The pod breaks
    only one of the newest rules, so an older version of the policy, still in force a
    moment after an update, lets it through."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "policy-probe"},
        "spec": {
            "automountServiceAccountToken": True,
            "containers": [{"name": "probe", "image": "kubelab/web:v1"}],
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "policy-probe"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "policy-probe"},
        "spec": {
            "storageClassName": "",
            "volumeName": "not-this-sandboxs",
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "policy-probe",
            "annotations": {"kubernetes.io/service-account.name": "default"},
        },
        "type": "kubernetes.io/service-account-token",
    }
    return [pod, service, claim, secret]


def _wait_enforced(kube: Kube, namespace: str, probes: list[Obj]) -> None:
    """Each probe, dry-run in the new sandbox, is refused by kubelab's policy: the
    policies are in force (they take a moment after being created or changed)."""

    def refused() -> None:
        for probe in probes:
            try:
                kube.create(probe, namespace, dry_run=True)
            except api_exception() as e:
                if "kubelab sandbox" in api_reason(e):
                    continue
                raise
            policy = f"kubelab's admission policy for {probe['kind']}"
            raise CheckFailed(Finding(policy, "in force", "not yet"))

    try:
        wait_until(refused, POLICY_WAIT)
    except CheckFailed as e:
        raise EnvironmentProblem(
            f"kubelab's admission policies are not in force after {POLICY_WAIT:g} s ({e.finding.subject}): "
            "does the cluster run Kubernetes 1.30 or newer?",
            f"kubelab의 승인 정책이 {POLICY_WAIT:g}초가 지나도 적용되지 않습니다 ({e.finding.subject}): "
            "쿠버네티스 1.30 이상인가요?",
        ) from e


def open_sandbox(
    kube: Kube,
    lab: Lab,
    cleanup: Cleanup,
    purpose: str = "verify",
    chosen: Mapping[str, Value] | None = None,
    namespace: str | None = None,
    docs: Iterable[Document] = (),
    steps: Iterable[Step] = (),
) -> Sandbox:
    """A new sandbox for one answer to `lab`; `cleanup` removes it and all it holds.
    Without `namespace`, the first free slot's, with the slot's own unique values; with
    it (a student's, kubelab.course), that namespace with the `chosen` values, or an
    EnvironmentProblem when it exists already. It is opened once the cluster has room for
    the share the answer's `docs` and `steps` ask for (kubelab.capacity): that wait is
    the run's, not the answer's time."""
    ensure_policies(kube)
    isolation.require(kube)
    want = capacity.share(kube, docs, steps, lab.own_requests)
    if namespace is not None:
        _wait_while_terminating(kube, namespace, lab)
        box = _claim(kube, lab.with_values(namespace, chosen), 0, cleanup, purpose, want)
        if box is None:
            raise EnvironmentProblem(
                f"namespace {namespace} exists already: another run is grading it, or one was killed "
                "(`kubelab cleanup` removes what killed runs left)",
                f"{namespace} 네임스페이스가 이미 있습니다: 다른 실행이 채점 중이거나 강제로 끝난 "
                "실행이 남긴 것입니다 (`kubelab cleanup`이 지웁니다)",
            )
        return box
    for slot in range(1, MAX_SLOTS + 1):
        if kube.get("Namespace", sandbox_namespace(lab, slot)) is not None:
            continue
        box = _claim(
            kube, lab.with_values(sandbox_namespace(lab, slot), chosen, slot), slot, cleanup, purpose, want
        )
        if box is not None:
            return box
    raise EnvironmentProblem(
        f"all {MAX_SLOTS} sandboxes of lab {lab.id} are taken; `kubelab cleanup` removes leftovers",
        f"실습 {lab.id}의 샌드박스 {MAX_SLOTS}개가 모두 쓰이고 있습니다; "
        "`kubelab cleanup`이 남은 것을 지웁니다",
    )


def _wait_while_terminating(kube: Kube, namespace: str, lab: Lab) -> None:
    """A namespace of this name that is being deleted (the same student's sandbox of a
    moment ago, emptied and going) is waited for until it is gone, at most
    TERMINATING_WAIT seconds; one that is not going is left for the claim to refuse. A
    sandbox of kubelab's that a killed run left held by an answer's finalizers is
    released first (else it would stay Terminating for good)."""
    released = False

    def gone() -> None:
        nonlocal released
        live = kube.get("Namespace", namespace)
        metadata = (live or {}).get("metadata") or {}
        if live is None or not metadata.get("deletionTimestamp"):
            return
        if not released and _labelled(live, {SANDBOX: "true", ownership.MANAGED_BY: "kubelab"}):
            release(kube, namespace, lab)
            released = True
        raise CheckFailed(Finding(f"namespace {namespace}", "gone", "still being deleted"))

    with contextlib.suppress(CheckFailed):  # then the claim says the namespace exists
        wait_until(gone, TERMINATING_WAIT)


def _claim(
    kube: Kube, answer: Lab, slot: int, cleanup: Cleanup, purpose: str, want: capacity.Resources
) -> Sandbox | None:
    """Create the answer's namespace (once the cluster has room for its share) and furnish
    it; None when the namespace exists."""
    namespace = answer.answer_namespace
    body = namespace_body(
        answer, ",".join(provisioning_classes(kube)), want, annotations=requests_fence(kube, answer)
    )
    try:
        owned = capacity.admitted(kube, want, lambda: ownership.create(kube, body, answer.id, purpose))
    except InputError:
        return None  # another run took this slot a moment ago
    # its pods are the answer's: once the namespace is going (no controller starts new
    # ones), they are stopped at once, not each in its grace period; the namespace then
    # counts as removed (ownership.emptied), and the cluster removes the rest by itself
    cleanup.add(f"stop the pods of sandbox {namespace}", lambda: stop(kube, owned, answer))
    cleanup.remove(owned, emptied_enough=True)
    _forget_node_folder(kube, namespace, cleanup)
    # first, as the probe pod needs it: the controller makes a new namespace's `default`
    # ServiceAccount a moment later (before, a pod is refused "serviceaccount not found")
    no_token(kube, namespace)
    first = kube.cluster_id() not in _enforced
    if first:
        _wait_enforced(kube, namespace, _probes())
    _furnish(kube, answer, cleanup, purpose, want)
    box = Sandbox(answer, slot, kube.impersonating(answer_user(namespace)))
    if first and "PersistentVolume" in answer.kinds:
        _wait_enforced(box.kube, "", [_volume_probe(namespace)])
    wait_rbac_enforced(kube, answer)
    _enforced.add(kube.cluster_id())
    return box


def wait_rbac_enforced(kube: Kube, answer: Lab) -> None:
    """Before an answer of a lab that makes RBAC objects is applied (or a class seat's
    credential handed out), the RBAC policy (rule 6) is in force: until then, bind and
    escalate would reach kubelab-answer itself. Probed as the answer's kubelab-answer,
    once per cluster and process."""
    probe = _rbac_probe(answer)
    if probe is None or f"{kube.cluster_id()} {RBAC}" in _enforced:
        return
    where = answer.answer_namespace if probe["kind"].startswith("Role") else ""
    _wait_enforced(kube.impersonating(answer_user(answer.answer_namespace)), where, [probe])
    _enforced.add(f"{kube.cluster_id()} {RBAC}")


def namespace_body(
    answer: Lab,
    classes: str,
    want: capacity.Resources,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Obj:
    """A sandbox namespace for `answer` (a class's seat too, with its own `labels` and
    `annotations` besides): what its admission policies read (node ports, node folder,
    provisioning `classes`) and the share it holds."""
    namespace = answer.answer_namespace
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": {SANDBOX: "true", **(labels or {})},
            "annotations": {
                NODE_PORTS: ",".join(str(p) for p in answer.node_ports),
                HOST_ROOT: host_root(namespace),
                STORAGE_CLASSES: classes,
                **capacity.reservation(want),
                **(annotations or {}),
            },
        },
    }


def requests_fence(kube: Kube, lab: Lab) -> dict[str, str]:
    """The annotations a sandbox (or seat) of a lab whose pods keep their own requests
    carries for the admission policy (rule 7): none for any other lab."""
    if lab.own_requests is None:
        return {}
    largest = capacity.largest_node(kube)
    if not (largest.cpu and largest.memory):
        raise EnvironmentProblem(
            "the cluster has no node with CPU and memory to give: no sandbox can be opened",
            "CPU와 메모리를 줄 노드가 클러스터에 없습니다: 샌드박스를 열 수 없습니다",
        )
    return {POD_REQUESTS: lab.own_requests.annotation(), LARGEST_NODE: largest.annotation()}


def recorded_ports(namespace: Obj) -> tuple[int, ...]:
    """The node ports a sandbox's or seat's namespace records as its own (namespace_body);
    () when it records none, or not as numbers."""
    annotations = (namespace.get("metadata") or {}).get("annotations") or {}
    said = [p for p in str(annotations.get(NODE_PORTS) or "").split(",") if p]
    return tuple(int(p) for p in said) if all(p.isdigit() for p in said) else ()


def held_node_ports(kube: Kube) -> dict[int, tuple[str, str]]:
    """Every node port a Service of the cluster holds: port → (namespace, Service)."""
    return {
        int(port["nodePort"]): (str(svc["metadata"].get("namespace")), str(svc["metadata"]["name"]))
        for svc in kube.list("Service")
        for port in (svc.get("spec") or {}).get("ports") or []
        if port.get("nodePort")
    }


def stop(kube: Kube, owned: ownership.Owned, answer: Lab) -> None:
    """Delete a sandbox's namespace (this one: by uid) and stop its pods at once (no
    controller starts new ones in a namespace that is going), then release it."""
    kube.delete("Namespace", owned.name, uid=owned.uid)
    kube.delete_all("Pod", owned.name, grace_seconds=0)
    release(kube, owned.name, answer)


def release(kube: Kube, namespace: str, answer: Lab) -> None:
    """Take every finalizer off what the answer left: its objects in the namespace, and the
    cluster-scoped objects kubelab created for it (named for the sandbox). A finalizer no
    controller serves (the answer's own) would otherwise keep them, and the namespace
    Terminating, for good; a Service held so keeps its node port from the next student."""
    kinds = [k for k in answer.kinds if kube.is_namespaced(k)]
    for kind in dict.fromkeys((*kinds, *RELEASED_KINDS)):
        for obj in kube.list(kind, namespace):
            _unfinalize(kube, kind, obj, namespace)
    for kind in (k for k in answer.kinds if k in CLUSTER_SCOPED_POLICED):
        for obj in kube.list(kind):
            if obj["metadata"]["name"].endswith(f"-{namespace}") and ownership.is_ours(kube, obj):
                _unfinalize(kube, kind, obj, None)


def _unfinalize(kube: Kube, kind: str, obj: Obj, namespace: str | None) -> None:
    if not (obj.get("metadata") or {}).get("finalizers"):
        return
    with contextlib.suppress(api_exception()):  # gone meanwhile: nothing to release
        kube.patch(kind, obj["metadata"]["name"], namespace, {"metadata": {"finalizers": None}}, merge=True)


def host_root(namespace: str) -> str:
    """The node folder under which a sandbox's hostPath folders are (`unique: path`)."""
    return f"{SANDBOX_HOST_ROOT}/{namespace}/"


def provisioning_classes(kube: Kube) -> list[str]:
    """StorageClasses that make a volume per claim (a claim of these can only bind its
    own volume), which a sandbox's claims may ask for besides its own class."""
    return sorted(
        str(sc["metadata"]["name"])
        for sc in kube.list("StorageClass")
        if sc.get("provisioner") and sc.get("provisioner") != NO_PROVISIONER
    )


def _volume_probe(namespace: str) -> Obj:
    """A volume the volume policy refuses (not named for the sandbox)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "kubelab-policy-probe"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": host_root(namespace) + "probe"},
        },
    }


def _rbac_probe(answer: Lab) -> Obj | None:
    """An RBAC object of one of the lab's kinds that the RBAC policy refuses (named as the
    sandbox's own are, or binding a user), granting nothing, so no escalation check refuses
    it first; None when the lab's answers make no RBAC object."""
    kind = next((k for k in RBAC_KINDS if k in answer.kinds), None)
    if kind is None:
        return None
    probe: Obj = {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": {"name": f"{ANSWER}-policy-probe"}}
    if kind in ("Role", "ClusterRole"):
        return {**probe, "rules": []}
    own = "Role" if kind == "RoleBinding" else "ClusterRole"
    name = ANSWER if own == "Role" else f"{ANSWER}-{answer.answer_namespace}"
    user = {"apiGroup": RBAC, "kind": "User", "name": "kubelab-policy-probe"}
    return {**probe, "subjects": [user], "roleRef": {"apiGroup": RBAC, "kind": own, "name": name}}


def _forget_node_folder(kube: Kube, namespace: str, cleanup: Cleanup) -> None:
    """Remove the sandbox's node folder from every node once its pods are gone
    (remove_node_folder); what cannot be removed is a leftover."""
    cleanup.add(
        f"node folder {host_root(namespace)}",
        lambda: remove_node_folder(node_folder(kube, namespace), kube, namespace),
        last=True,
    )


def node_folder(kube: Kube, namespace: str) -> Path | None:
    """Where a sandbox's hostPaths write on this machine, when a node's /data is a folder
    of it (kubelab's kind cluster: cluster.host_folder_node); else None."""
    if kube.target.context != cluster.KIND_CONTEXT:
        return None
    return cluster.hostpath_root() / SANDBOX_HOST_ROOT.removeprefix("/data/") / namespace


def nodes_elsewhere(kube: Kube, folder: Path | None) -> tuple[str, ...]:
    """The nodes whose /data is not `folder` of this machine (every node without one)."""
    here = cluster.host_folder_node() if folder is not None else None
    return tuple(str(n["metadata"]["name"]) for n in kube.list("Node") if n["metadata"]["name"] != here)


FOLDER_USERS_WAIT = 60.0
"""Seconds to wait for the last pods that may mount a sandbox's node folder to go."""


def _pods_using_root(kube: Kube, namespace: str) -> list[str]:
    """Pods left in the namespaces whose hostPaths write under this sandbox's node folder:
    the sandbox's own and the scratch namespaces its checks made (same host-root)."""
    root = host_root(namespace)
    using = [
        str(ns["metadata"]["name"])
        for ns in kube.list("Namespace", selector=f"{SANDBOX} in (true,scratch)")
        if ((ns.get("metadata") or {}).get("annotations") or {}).get(HOST_ROOT) == root
    ]
    return [f"{ns}/{p['metadata']['name']}" for ns in using for p in kube.list("Pod", ns)]


def remove_node_folder(folder: Path | None, kube: Kube, namespace: str) -> None:
    """Remove sandbox `namespace`'s node folder once no pod may mount it any more (a pod
    starting late would create its hostPath folder again, DirectoryOrCreate): waits up to
    FOLDER_USERS_WAIT for the pods of every namespace writing under it to go. `folder`:
    the node folder where it is on this machine (removed here); on every other node it is
    removed by a pod there (kubelab.nodefiles: the run's crew when there is one)."""
    still: list[str] = []

    def unused() -> None:
        still[:] = _pods_using_root(kube, namespace)
        if still:
            raise CheckFailed(Finding(str(folder), "no pod mounting it", ", ".join(still[:3])))

    # a cluster that does not answer starts no pod either: remove the folder all the same
    with contextlib.suppress(CheckFailed, KubelabError):
        wait_until(unused, FOLDER_USERS_WAIT)
    # here first (quick); on every other node, and here when files of another user (a
    # pod's root) stayed, by a pod on that node
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    done_here = folder is not None and not (folder.exists() or folder.is_symlink())
    nodes = nodes_elsewhere(kube, folder if done_here else None)
    crew = nodefiles.crew_of(kube)
    if crew is not None and set(nodes) <= set(crew.nodes):
        left = crew.remove(namespace, nodes)
    else:
        left = nodefiles.remove_everywhere(kube, list(nodes), SANDBOX_HOST_ROOT, namespace)
    if left:
        raise EnvironmentProblem(f"not removed on node {'; '.join(left)}")
    if still:
        raise EnvironmentProblem(
            f"removed, but pods may make it again: {', '.join(still[:3])} (kubelab cleanup removes it later)"
        )


def _resource_rules(kube: Kube, lab: Lab) -> tuple[list[Obj], list[Obj]]:
    """RBAC rules for the lab's kinds: (namespaced, cluster-scoped). A cluster-scoped kind
    may be created (its policy holds the names) and read; changed or deleted only by the
    names of the answer's own parameters."""
    namespaced: list[Obj] = []
    cluster_scoped: list[Obj] = []
    own_names = [str(lab.values[p.name]) for p in lab.params.values() if p.unique == "name"]
    for kind in lab.kinds:
        resource = kube.resource(kind)
        group = [resource.group or ""]
        if resource.namespaced:
            names = [resource.name, *([f"{resource.name}/scale"] if kind in SCALABLE else [])]
            namespaced.append({"apiGroups": group, "resources": names, "verbs": VERBS})
            continue
        if kind not in CLUSTER_SCOPED_POLICED:
            raise LabContentError(
                f"lab {lab.id}: an answer may not create {kind} "
                "(cluster-scoped, and no kubelab policy holds it)"
            )
        cluster_scoped.append({"apiGroups": group, "resources": [resource.name], "verbs": ["create"]})
        reading = ["get", "list", "watch"]
        cluster_scoped.append({"apiGroups": group, "resources": [resource.name], "verbs": reading})
        if own_names:
            cluster_scoped.append(
                {
                    "apiGroups": group,
                    "resources": [resource.name],
                    "resourceNames": own_names,
                    "verbs": ["update", "patch", "delete"],
                }
            )
    for api_group, name in ALWAYS_READABLE:
        namespaced.append({"apiGroups": [api_group], "resources": [name], "verbs": ["get", "list", "watch"]})
    if lab.sandbox_verbs:  # RBAC's own checks let roles grant what the answer itself may not
        verbs = list(lab.sandbox_verbs)
        namespaced.append({"apiGroups": [RBAC], "resources": ["roles", "clusterroles"], "verbs": verbs})
        if any(k in ("ClusterRole", "ClusterRoleBinding") for k in lab.kinds):
            cluster_scoped.append({"apiGroups": [RBAC], "resources": ["clusterroles"], "verbs": verbs})
    return namespaced, cluster_scoped


def fences(
    lab_id: str,
    purpose: str,
    want: capacity.Resources,
    pod_ranges: list[str],
    own: capacity.Resources | None = None,
) -> list[Obj]:
    """The quota (`want` is the answer's share of the cluster), the container limits and
    the network policy (kubelab.isolation; `pod_ranges`: the pod network's) of a sandbox,
    and of a check's scratch namespace beside it.

    When the lab's pods keep their own requests (`own`, Lab.own_requests), the LimitRange
    adds and caps only ephemeral storage (a container that asks for no CPU or memory stays
    BestEffort), the quota counts pods but no CPU or memory (a quota of those refuses every
    pod that does not name them all), a second quota lets `own.pods` pods ask for any and
    a third as many ask for none (they take no room, but no limit holds what they use: the
    kernel kills them first when a node's memory runs short); what one pod may ask for is
    the admission policy's (rule 7, POD_REQUESTS)."""
    labels = ownership.ownership(lab_id, purpose)
    hard = {**QUOTA, **want.quota()}
    limits = LIMITS
    extra: list[Obj] = []
    if own is not None:
        hard = {k: v for k, v in hard.items() if k not in COMPUTE}
        limits = {key: {"ephemeral-storage": values["ephemeral-storage"]} for key, values in LIMITS.items()}
        extra = [
            _obj(
                "v1",
                "ResourceQuota",
                f"{ANSWER}-{name}",
                labels,
                spec={"hard": {"pods": str(pods)}, "scopes": [scope]},
            )
            for name, scope, pods in (
                ("requests", "NotBestEffort", own.pods),
                ("best-effort", "BestEffort", own.pods),
            )
        ]
    return [
        _obj("v1", "ResourceQuota", ANSWER, labels, spec={"hard": hard}),
        *extra,
        _obj("v1", "LimitRange", ANSWER, labels, spec={"limits": [{"type": "Container", **limits}]}),
        ownership.labelled(isolation.policy(pod_ranges), labels),
    ]


def fence_like(kube: Kube, sandbox: str, namespace: str, lab_id: str, purpose: str) -> None:
    """Give a check's scratch namespace the fences of the sandbox it checks (a copy of the
    answer's pods there is held by the answer's own share)."""
    no_token(kube, namespace)
    live = kube.get("Namespace", sandbox)
    annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
    said = annotations.get(capacity.RESERVED)
    want = capacity.Resources.parse(said) if said else None
    if want is None:
        return  # not a sandbox with a share (an older kubelab's): nothing to copy
    own = capacity.Resources.parse(annotations[POD_REQUESTS]) if POD_REQUESTS in annotations else None
    for obj in fences(lab_id, purpose, want, isolation.pod_ranges(kube), own):
        kube.create(obj, namespace)
    _wait_quota_counted(kube, namespace)


def no_token_account() -> Obj:
    """The namespace's `default` ServiceAccount, mounting no token (see no_token)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "default"},
        "automountServiceAccountToken": False,
    }


def no_token(kube: Kube, namespace: str) -> None:
    """The namespace's `default` ServiceAccount mounts no token into pods: the pod policy
    refuses any pod that carries one (it would act as an identity of the cluster), so a
    pod that names no account must get none by default."""
    kube.apply(no_token_account(), namespace)


def _wait_quota_counted(kube: Kube, namespace: str) -> None:
    """Until the quota controller has counted every new quota of the namespace: before,
    the API server may refuse the namespace's pods ("status unknown for quota"), or let
    through what a quota not yet counted would hold (a sandbox's second quota)."""

    def counted() -> None:
        quotas = {str(q["metadata"]["name"]): q for q in kube.list("ResourceQuota", namespace)}
        for name in sorted({ANSWER, *quotas}):
            if not ((quotas.get(name) or {}).get("status") or {}).get("hard"):
                raise CheckFailed(Finding(f"ResourceQuota {namespace}/{name}", "counted", "not yet"))

    try:
        wait_until(counted, QUOTA_WAIT, interval=0.2)
    except CheckFailed as e:
        raise EnvironmentProblem(
            f"the sandbox's quota was not counted within {QUOTA_WAIT:g} s ({e.finding.subject})",
            f"샌드박스의 쿼터가 {QUOTA_WAIT:g}초 안에 집계되지 않았습니다 ({e.finding.subject})",
        ) from e


def seat_objects(
    kube: Kube, lab: Lab, purpose: str, want: capacity.Resources, pod_ranges: list[str]
) -> list[Obj]:
    """What a sandbox namespace holds: its fences, and the ServiceAccount an answer acts as
    with the Role and RoleBinding of what the lab's kinds need (a class's seat too)."""
    namespace = lab.answer_namespace
    labels = ownership.ownership(lab.id, purpose)
    namespaced, _ = _resource_rules(kube, lab)
    if purpose == apply.CLASS:
        namespaced.append(IN_PODS)
    return [
        *fences(lab.id, purpose, want, pod_ranges, lab.own_requests),
        answer_account(lab.id, purpose),
        _obj("rbac.authorization.k8s.io/v1", "Role", ANSWER, labels, rules=namespaced),
        _obj(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            ANSWER,
            labels,
            subjects=_answer_subject(namespace),
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ANSWER},
        ),
        no_token_account(),
    ]


def answer_account(lab_id: str, purpose: str) -> Obj:
    """The ServiceAccount an answer acts as (it mounts no token into pods)."""
    labels = ownership.ownership(lab_id, purpose)
    return _obj("v1", "ServiceAccount", ANSWER, labels, automountServiceAccountToken=False)


def _answer_subject(namespace: str) -> list[Obj]:
    return [{"kind": "ServiceAccount", "name": ANSWER, "namespace": namespace}]


def seat_cluster_objects(kube: Kube, lab: Lab) -> list[Obj]:
    """The ClusterRole and ClusterRoleBinding of the cluster-scoped kinds the lab's answer
    may make (named for its namespace), or none."""
    namespace = lab.answer_namespace
    _, cluster_scoped = _resource_rules(kube, lab)
    if not cluster_scoped:
        return []
    name = f"{ANSWER}-{namespace}"
    return [
        _obj("rbac.authorization.k8s.io/v1", "ClusterRole", name, {}, rules=cluster_scoped),
        _obj(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            name,
            {},
            subjects=_answer_subject(namespace),
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        ),
    ]


def _furnish(kube: Kube, lab: Lab, cleanup: Cleanup, purpose: str, want: capacity.Resources) -> None:
    """The sandbox's quota, limits and what it may do (its ServiceAccount is made first)."""
    namespace = lab.answer_namespace
    inside = seat_objects(kube, lab, purpose, want, isolation.pod_ranges(kube))
    for obj in inside[:-1]:
        kube.create(obj, namespace)
    namespaced, cluster_scoped = _resource_rules(kube, lab)
    rules = [(r, namespace) for r in namespaced[:1]]
    for obj in seat_cluster_objects(kube, lab):
        cleanup.remove(ownership.create(kube, obj, lab.id, purpose))
    if cluster_scoped:
        rules.append((cluster_scoped[0], ""))
    _wait_authorized(kube, answer_user(namespace), rules)
    _wait_quota_counted(kube, namespace)


def _wait_authorized(kube: Kube, user: str, rules: list[tuple[Obj, str]]) -> None:
    """Wait until the API server's authorizer lets `user` do what the new bindings say
    (its cache follows them a moment later; under load, long enough to refuse a first
    apply)."""

    def allowed() -> None:
        for rule, namespace in rules:
            review = {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "spec": {
                    "user": user,
                    "resourceAttributes": {
                        "namespace": namespace,
                        "verb": "create",
                        "group": rule["apiGroups"][0],
                        "resource": rule["resources"][0],
                    },
                },
            }
            answer = kube.create(review)
            if not (answer.get("status") or {}).get("allowed"):
                what = f"create {rule['resources'][0]}"
                raise CheckFailed(Finding(f"ServiceAccount {user}", f"may {what}", "not yet"))

    try:
        wait_until(allowed, AUTHORIZE_WAIT)
    except CheckFailed as e:
        raise EnvironmentProblem(
            f"the sandbox's permissions did not take effect within {AUTHORIZE_WAIT:g} s "
            f"({e.finding.subject})",
            f"샌드박스 권한이 {AUTHORIZE_WAIT:g}초 안에 적용되지 않았습니다 ({e.finding.subject})",
        ) from e


def _obj(api_version: str, kind: str, name: str, labels: Mapping[str, str], **fields: Any) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, **({"labels": dict(labels)} if labels else {})},
        **fields,
    }
