"""What a check author uses: the `lab` fixture's context and the assertion helpers.

A check is a small pytest test in `checkers/test_labNN.py` named `test_<check id>`; its
points, titles, hint and kubectl command live in the lab's lab.yaml. It reads the live
cluster through `LabContext`, and states expectations with `assert_that`/`fail`, which raise
CheckFailed carrying what was expected and what was found. Anything that needs the
cluster to get somewhere goes through `lab.eventually(...)`: never sleep.
"""

from __future__ import annotations

import builtins
import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from kubelab import ownership
from kubelab.apply import HOST_ROOT, LARGEST_NODE, POD_REQUESTS, SANDBOX_LABEL
from kubelab.cleanup import Cleanup
from kubelab.cluster import KIND_CONTEXT, mapped_node_ports
from kubelab.errors import CheckFailed, Finding, NotPermitted
from kubelab.kube import ExecResult, Kube, api_exception, exec_in_pod
from kubelab.labspec import CheckSpec, Lab
from kubelab.manifests import Obj
from kubelab.settled import deleting as deleting  # pod predicates: kubelab.settled
from kubelab.settled import first_stuck
from kubelab.settled import is_ready as is_ready
from kubelab.text import Text
from kubelab.waiting import wait_until

CLUSTER_SCOPED = frozenset(
    {"Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding"}
)
"""Kinds of the labs' objects that belong to no namespace."""
SCRATCH_KEEPS = (HOST_ROOT, POD_REQUESTS, LARGEST_NODE)
"""A sandbox's annotations its checks' scratch namespaces carry too (its pod rules hold there)."""
GONE_WAIT = 120.0
"""Seconds to wait for a deleted pod to be gone before it is created again."""

T = TypeVar("T")


def fail(
    subject: str,
    expected: str,
    found: str,
    detail: Text | None = None,
    *,
    final: bool = False,
    settled: Text | None = None,
    missing: bool = False,
) -> NoReturn:
    """Stop the check here: `subject` should be `expected` but is `found`.

    final: waiting cannot mend it (the answer itself says so), so `eventually` gives up
    at once. settled: the same for a state that has settled (kubelab.settled), and why
    kubelab judged it so — shown to the learner. missing: the object looked at does not
    exist (yet), so nothing of the answer was judged: not a try for the hints.
    """
    finding = Finding(
        subject=subject, expected=expected, found=found, detail=detail, settled=settled, missing=missing
    )
    raise CheckFailed(finding, final or settled is not None)


def assert_that(
    condition: bool,
    subject: str,
    expected: str,
    found: str,
    detail: Text | None = None,
    *,
    final: bool = False,
    settled: Text | None = None,
    missing: bool = False,
) -> None:
    """Fail with expected/found unless `condition` holds."""
    if not condition:
        fail(subject, expected, found, detail, final=final, settled=settled, missing=missing)


def field(obj: Mapping[str, Any] | None, path: str, default: Any = None) -> Any:
    """A dotted path into an object: field(rs, "spec.replicas")."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return default
        current = current[part]
    return current


def name_of(obj: Mapping[str, Any]) -> str:
    return str(field(obj, "metadata.name", ""))


def owner_uid(obj: Mapping[str, Any]) -> str | None:
    """The uid of the controller that owns the object, if any."""
    for ref in field(obj, "metadata.ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def pod_states(pods: list[Obj]) -> str:
    """name: Ready or why not, for each pod (what `kubectl get pods` would show)."""

    def state(pod: Obj) -> str:
        waiting = [
            s["state"]["waiting"].get("reason", "Waiting")
            for s in field(pod, "status.containerStatuses") or []
            if (s.get("state") or {}).get("waiting")
        ]
        status = "Ready" if is_ready(pod) else (waiting or [field(pod, "status.phase", "?")])[0]
        return f"{name_of(pod)}: {status}"

    return ", ".join(state(p) for p in pods) or "no pods"


def spec_copy(obj: Obj) -> Obj:
    """What it takes to create the object again: its kind, name, labels, annotations and
    spec (without what the cluster filled in when it scheduled it)."""
    meta = obj.get("metadata", {})
    spec = {k: v for k, v in (obj.get("spec") or {}).items() if k != "nodeName"}
    kept = {k: meta[k] for k in ("name", "labels", "annotations") if meta.get(k)}
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": kept, "spec": spec}


TOKEN_VOLUME = re.compile(r"^kube-api-access-[a-z0-9]{5}$")
"""The service-account token volume the API server adds to a pod, named anew for each pod."""
SPEC_ONLY_VOLUMES = frozenset({"emptyDir", "downwardAPI"})
"""Volumes that hold nothing but what the pod itself makes or is."""


def readiness_beyond_spec(pod_spec: Mapping[str, Any]) -> list[str]:
    """What in a pod spec lets a pod's readiness depend on more than the spec and its
    image, so that a new pod made from it may not become Ready as an older one did:
    readiness gates and readiness or startup probes (their answer can follow what was done
    inside the pod since it started), init containers, volumes and environment taken from
    other objects (ConfigMaps, Secrets, claims: since deleted or changed). Empty when a
    pod from this spec is Ready once its containers run."""
    said: list[str] = []
    if pod_spec.get("readinessGates"):
        said.append("readinessGates")
    if pod_spec.get("initContainers"):
        said.append("initContainers")
    for c in pod_spec.get("containers") or []:
        name = c.get("name", "?")
        said += [f"{name}: {k}" for k in ("readinessProbe", "startupProbe") if c.get(k)]
        if c.get("envFrom") or any(
            set(e.get("valueFrom") or {}) - {"fieldRef", "resourceFieldRef"} for e in c.get("env") or []
        ):
            said.append(f"{name}: env from other objects")
    kinds = {k for v in pod_spec.get("volumes") or [] for k in v if k != "name"}
    said += [f"volumes ({k})" for k in sorted(kinds - SPEC_ONLY_VOLUMES)]
    return said


def made_alike(pod: Obj, made: Obj) -> bool:
    """Is `pod` what `made` (LabContext.made_now: the pod a controller makes now) becomes
    once scheduled? Their specs are equal but for the node the scheduler chose and the
    name the API server drew for the service-account token volume (and its mounts)."""

    def as_made(obj: Obj) -> Obj:
        spec = copy.deepcopy({k: v for k, v in (obj.get("spec") or {}).items() if k != "nodeName"})
        drawn = set()
        for volume in spec.get("volumes") or []:
            sources = (volume.get("projected") or {}).get("sources") or []
            token = any("serviceAccountToken" in s for s in sources)
            if token and TOKEN_VOLUME.match(str(volume.get("name"))):
                drawn.add(volume["name"])
                volume["name"] = "kube-api-access"
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            for mount in c.get("volumeMounts") or []:
                if mount.get("name") in drawn:
                    mount["name"] = "kube-api-access"
        return spec

    return as_made(pod) == as_made(made)


def unscheduled_reason(pod: Obj) -> str:
    """Why the scheduler has not placed the pod yet (its PodScheduled condition), or ""."""
    for condition in field(pod, "status.conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") != "True":
            return str(condition.get("message") or condition.get("reason") or "not scheduled")
    return "" if field(pod, "spec.nodeName") else "not scheduled yet"


def restart_count(pod: Obj, container: str) -> int:
    """How many times a container of the pod has restarted."""
    for status in field(pod, "status.containerStatuses") or []:
        if status.get("name") == container:
            return int(status.get("restartCount") or 0)
    return 0


Diagnosis = Callable[["LabContext", Obj], "tuple[Text | None, bool] | None"]
"""Why a pod is not Ready, and whether waiting can change it; None: say its latest warning event."""


def latest_warning(lab: LabContext, pod: Obj) -> Text | None:
    """The pod's latest Warning event (the Events of kubectl describe pod), as a detail."""
    events = lab.kube.warning_events(pod)
    return Text(f"최근 경고 이벤트: {events[-1]}", f"latest warning event: {events[-1]}") if events else None


def ready_pod(lab: LabContext, name: str, old_uid: str | None = None, why: Diagnosis | None = None) -> Obj:
    """The pod once every container is Ready (and it is not the pod with old_uid); while it
    is not, a failure with its state, and why (`why`, else its latest warning event)."""
    pod = lab.require("Pod", name)
    subject = lab.subject("Pod", name)
    if old_uid is not None:
        assert_that(
            field(pod, "metadata.uid") != old_uid, subject, "a new pod (new UID)", "still the old pod"
        )
    if is_ready(pod):
        return pod
    said = why(lab, pod) if why is not None else None
    detail, final = said if said is not None else (latest_warning(lab, pod), False)
    fail(subject, "Running and Ready", pod_states([pod]), detail, final=final, settled=first_stuck([pod]))


def why_not_ready(lab: LabContext, pods: list[Obj]) -> Text | None:
    """What the kubelet says about pods that do not come up: the last lines a crashed
    container logged, a container's waiting message, or a FailedMount event."""
    for pod in pods:
        name = name_of(pod)
        for status in field(pod, "status.containerStatuses") or []:
            crashed = field(status, "lastState.terminated") or field(status, "state.terminated")
            logs = lab.last_words(name, str(status.get("name")), previous_first=True) if crashed else ""
            if crashed and logs:
                code = crashed.get("exitCode")
                return Text(
                    f"{name}의 컨테이너가 종료되었습니다 (exit {code}). 마지막 로그: {logs}",
                    f"a container of {name} exited (exit {code}). Its last log: {logs}",
                )
            waiting = field(status, "state.waiting") or {}
            if waiting.get("message"):
                said = f"{name}: {waiting.get('reason')}: {str(waiting['message']).splitlines()[0][:200]}"
                return Text(said, said)
        mounts = [e for e in lab.kube.warning_events(pod) if e.startswith("FailedMount: ")]
        if mounts:
            mount = mounts[-1].removeprefix("FailedMount: ").splitlines()[0][:200]
            return Text(
                f"{name}: 볼륨을 마운트하지 못했습니다: {mount}",
                f"{name}: a volume cannot be mounted: {mount}",
            )
    return None


def sh(lab: LabContext, pod: str, container: str, script: str, *args: str) -> ExecResult:
    """Run a shell script in a container of a lab pod (`sh -c script sh args…`)."""
    return lab.exec(pod, ["sh", "-c", script, "sh", *args] if args else ["sh", "-c", script], container)


@dataclass(frozen=True)
class LabContext:
    """The `lab` fixture: one check's view of the lab namespace."""

    kube: Kube
    lab: Lab
    namespace: str
    spec: CheckSpec
    """The running check's metadata (its timeout is what `eventually` waits)."""
    cleanup: Cleanup
    """What the check changed, to undo when it ends however it ends (see defer)."""

    def param(self, name: str) -> Any:
        """A parameter's value for the answer under check (lab.yaml's params)."""
        return self.lab.param(name)

    def subject(self, kind: str, name: str) -> str:
        """How a failure names an object: `Kind namespace/name`, a cluster's `Kind name`."""
        return f"{kind} {name}" if kind in CLUSTER_SCOPED else f"{kind} {self.namespace}/{name}"

    def get(self, kind: str, name: str) -> Obj | None:
        return self.kube.get(kind, name, self.namespace)

    def list(self, kind: str, selector: str = "") -> list[Obj]:
        return self.kube.list(kind, self.namespace, selector)

    def live_pods(self, selector: str = "") -> builtins.list[Obj]:
        """The pods a label selector picks that are not being deleted."""
        return [p for p in self.list("Pod", selector) if not deleting(p)]

    def require(self, kind: str, name: str, wait: bool = False) -> Obj:
        """The object, or a failure that lists what of that kind does exist. The failure
        is final (inside `eventually` too: the learner makes the object, and waiting does
        not), unless `wait` (an object the cluster makes, or one the check put back)."""
        obj = self.get(kind, name)
        if obj is None:
            namespaced = self.kube.is_namespaced(kind)
            present = ", ".join(name_of(o) for o in self.list(kind)) or "none"
            fail(
                self.subject(kind, name) if namespaced else f"{kind} {name}",
                "exists",
                "not found",
                Text(
                    f"네임스페이스 {self.namespace}에 있는 {kind}: {present}",
                    f"{kind} objects in namespace {self.namespace}: {present}",
                )
                if namespaced
                else Text(
                    f"{kind}에는 네임스페이스가 없습니다. 클러스터의 {kind}: {present}",
                    f"a {kind} has no namespace. {kind} objects in the cluster: {present}",
                ),
                final=not wait,
                missing=True,
            )
        return obj

    def eventually(self, assertion: Callable[[], T], timeout: float | None = None) -> T:
        """Poll `assertion` until it passes, for this check's timeout (or `timeout`)."""
        return wait_until(assertion, self.spec.timeout if timeout is None else timeout)

    def exec(self, pod: str, command: Sequence[str], container: str | None = None) -> ExecResult:
        """Run a command in one of the lab's pods (kubectl exec POD -c CONTAINER -- ...)."""
        return exec_in_pod(self.kube, pod, self.namespace, command, container)

    def made_now(self, template: Obj, owner: str) -> Obj | None:
        """The pod a controller (named `owner`) would make from this pod template now, as
        the API server admits it: a server-side dry run (defaults, admission, quota, the
        sandbox's policies), so nothing is stored; None when the API server refuses it."""
        meta = template.get("metadata") or {}
        kept = {k: meta[k] for k in ("labels", "annotations") if meta.get(k)}
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"generateName": f"{owner}-", **kept},
            "spec": template.get("spec") or {},
        }
        try:
            return self.kube.create(pod, self.namespace, dry_run=True)
        except (NotPermitted, api_exception()):
            return None

    def node_url(self, node_port: int, path: str = "/") -> str:
        """How the learner's machine reaches a NodePort: through kind's port mapping on
        localhost (for a port the running kind node maps), else a node's InternalIP."""
        if self.kube.target.context == KIND_CONTEXT and node_port in mapped_node_ports():
            return f"http://127.0.0.1:{node_port}{path}"
        for node in self.kube.list("Node"):
            for address in field(node, "status.addresses") or []:
                if address.get("type") == "InternalIP":
                    return f"http://{address['address']}:{node_port}{path}"
        fail("nodes", "a node with an InternalIP", "none", final=True)

    def defer(self, what: str, undo: Callable[[], None]) -> None:
        """Undo something this check changed, when the check ends — passed, failed, out
        of time or interrupted; undos run last-first, bounded, and one that fails is
        listed as a leftover instead of changing the verdict."""
        self.cleanup.add(what, undo)

    def scratch_namespace(self, purpose: str) -> str:
        """A namespace of kubelab's own for this check, removed when the check ends. For
        an answer in a sandbox, the sandbox's pod rules hold there too (a check that runs
        a copy of the answer's pods runs them under the same rules)."""
        like = None
        answer = self.kube.get("Namespace", self.namespace)
        labels = ((answer or {}).get("metadata") or {}).get("labels") or {}
        if labels.get(SANDBOX_LABEL) == "true" and answer is not None:
            annotations = (answer.get("metadata") or {}).get("annotations") or {}
            like = {
                "metadata": {
                    "labels": {SANDBOX_LABEL: "scratch"},
                    "annotations": {k: v for k, v in annotations.items() if k in SCRATCH_KEEPS},
                }
            }
        owned = ownership.scratch_namespace(self.kube, self.lab.namespace, self.lab.id, purpose, like)
        self.cleanup.remove(owned, emptied_enough=True)
        self.defer(f"stop the pods in namespace {owned.name}", lambda: self._stop_scratch(owned))
        if like is not None:  # the answer's share holds its copies too (kubelab.capacity)
            from kubelab import sandbox

            sandbox.fence_like(self.kube, self.namespace, owned.name, self.lab.id, purpose)
        return owned.name

    def node_folder(self, name: str) -> str | None:
        """For an answer in a sandbox, the path of a node folder for this check's own use:
        one level under the sandbox's node folder, where no answer can have put a link (an
        answer's pods mount only folders one level down, and the kubelet makes each a
        plain folder), so a mount of it cannot be redirected; None outside a sandbox."""
        answer = self.kube.get("Namespace", self.namespace)
        metadata = (answer or {}).get("metadata") or {}
        root = (metadata.get("annotations") or {}).get(HOST_ROOT)
        if (metadata.get("labels") or {}).get(SANDBOX_LABEL) != "true" or not root:
            return None
        return f"{root.rstrip('/')}/{name}"

    def _stop_scratch(self, owned: ownership.Owned) -> None:
        """Its pods are the check's own copies and probes: once the namespace is going
        (so no controller can start new ones), they are stopped at once, instead of each
        taking its grace period while the namespace waits for them; the namespace then
        counts as removed (ownership.emptied)."""
        from kubelab import sandbox

        sandbox.stop(self.kube, owned, self.lab)  # a copy of the answer carries its finalizers

    def create_scratch(self, obj: Obj, purpose: str) -> None:
        """Create a cluster-scoped object of kubelab's own for this check (a volume to
        experiment on), removed when the check ends."""
        self.cleanup.remove(ownership.create(self.kube, obj, self.lab.id, purpose))

    def delete_pod(self, pod: Obj, grace_seconds: int | None = None, same_node: bool = False) -> None:
        """Delete one of the learner's pods to see what happens; a bare pod (no controller
        to replace it) is put back from the learner's own spec (on its node, with
        same_node) when the check ends, if it is not back by then."""
        name = name_of(pod)
        if owner_uid(pod) is None:
            node = str(field(pod, "spec.nodeName") or "") or None if same_node else None
            self.defer(f"put back {self.subject('Pod', name)}", lambda: self.put_back(pod, node))
        self.kube.delete("Pod", name, self.namespace, grace_seconds)

    def put_back(self, obj: Obj, node: str | None = None) -> None:
        """Create a deleted object again from the learner's spec (on `node`, for a pod),
        once the old one is gone — unless one of that name is already there again."""
        kind, name, old = obj["kind"], name_of(obj), field(obj, "metadata.uid")

        def gone() -> None:
            now = self.get(kind, name)
            assert_that(
                now is None or field(now, "metadata.uid") != old,
                self.subject(kind, name),
                "gone",
                "terminating",
            )

        wait_until(gone, GONE_WAIT)
        if self.get(kind, name) is None:
            copy = spec_copy(obj)
            if node:
                copy["spec"]["nodeName"] = node
            self.kube.apply(copy, self.namespace)

    def last_words(self, pod: str, container: str, previous_first: bool = False) -> str:
        """A container's last lines, joined on one line, for a diagnosis: from its current
        run, else from the run before its last restart (previous_first: the other way)."""
        for previous in (previous_first, not previous_first):
            text = self.kube.logs(pod, self.namespace, container, tail=3, previous=previous)
            said = " | ".join(line.strip() for line in text.splitlines() if line.strip())
            if said and not said.startswith("unable to retrieve container logs"):
                return said[-300:]
        return ""
