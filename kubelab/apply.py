"""Applying manifests into a lab namespace, and resetting what kubelab created.

Everything kubelab applies carries its labels (`app.kubernetes.io/managed-by: kubelab`,
the lab id), for people and selectors. What it may delete is decided by kubelab.ownership:
the namespaces and cluster-scoped objects it created, by UID. A cluster-scoped object
that exists and is not kubelab's (a learner's PersistentVolume of the same name) is
never changed or taken over: that document is refused.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from kubelab import deadline, interrupts, ownership
from kubelab.cleanup import Cleanup
from kubelab.cluster import kubectl_path
from kubelab.errors import InputError, Interrupted, KubelabError
from kubelab.kube import Kube, Target, api_exception, api_reason
from kubelab.labspec import Lab, Step
from kubelab.manifests import Document
from kubelab.ownership import labelled

CLUSTER_SCOPED_KINDS = ("PersistentVolume", "Namespace")
"""Cluster-scoped kinds the labs create; reset reports labelled ones it did not create."""
SANDBOX_LABEL = "kubelab.dev/sandbox"
"""The label of a sandbox namespace (`true`) or of a check's scratch namespace for a
sandboxed answer (`scratch`): kubelab.sandbox."""
CLASS = "class"
"""The purpose of what `kubelab class up` made (kubelab.classroom): neither reset nor
cleanup removes it."""
HOST_ROOT = "kubelab.dev/host-root"
"""Annotation of a sandbox namespace: the node folder its hostPaths must be right under."""
POD_REQUESTS = "kubelab.dev/pod-requests"
"""Annotation of a sandbox whose lab lets its pods keep their own requests (Lab.own_requests):
the most one pod may ask for, and how many such pods (`cpu=50m,memory=67108864,pods=5`)."""
LARGEST_NODE = "kubelab.dev/largest-node"
"""Beside POD_REQUESTS: the most CPU and memory one node has; a pod that asks for more is
admitted whatever POD_REQUESTS says (it can never run)."""
STEP_TIMEOUT = 300.0
"""Seconds one kubectl step of a variant may take."""


@dataclass(frozen=True)
class Rejection:
    """A document the API server (or kubelab) refused, and its reason."""

    where: str
    kind: str
    name: str
    reason: str

    def line(self) -> str:
        return f"{self.where} ({self.kind} {self.name}): {self.reason}"


def ensure_namespace(kube: Kube, name: str, lab_id: str) -> bool:
    """The lab's namespace: created (and recorded) when missing; an existing one is used
    as it is. True when kubelab created it now."""
    if kube.get("Namespace", name) is not None:
        return False
    ownership.create_namespace(kube, name, lab_id, "lab")
    return True


def scratch_namespace(kube: Kube, lab: Lab, purpose: str, cleanup: Cleanup) -> str:
    """A fresh namespace for verification or a disturbing check, removed by `cleanup`."""
    owned = ownership.scratch_namespace(kube, lab.namespace, lab.id, purpose)
    cleanup.remove(owned)
    return owned.name


def _refuse_other_namespace(doc: Document, namespace: str) -> None:
    declared = doc.obj.get("metadata", {}).get("namespace")
    if declared and declared != namespace:
        raise InputError(
            f"{doc.where}: {doc.kind} {doc.name} is for namespace {declared}, "
            f"but this lab uses {namespace} (remove metadata.namespace)",
            f"{doc.where}: {doc.kind} {doc.name}의 네임스페이스는 {declared}이지만 "
            f"이 실습은 네임스페이스 {namespace}에서 합니다 (metadata.namespace를 지우세요)",
        )


NOT_OURS = "already exists and kubelab did not create it; kubelab does not change it"


def _apply_one(
    kube: Kube,
    doc: Document,
    namespace: str,
    lab_id: str,
    dry_run: bool,
    cleanup: Cleanup | None,
    purpose: str = "lab",
) -> Rejection | None:
    """Apply one document; its refusal, or None."""
    body = labelled(doc.obj, ownership.ownership(lab_id, purpose))
    try:
        if kube.is_namespaced(doc.kind, doc.obj.get("apiVersion")):
            kube.apply(body, namespace, dry_run=dry_run)
            return None
        live = kube.get(doc.kind, doc.name)
        ours = ownership.is_ours(kube, live) if live is not None else None
        if live is not None and ours is None:
            return Rejection(doc.where, doc.kind, doc.name, NOT_OURS)
        if live is not None or dry_run:
            kube.apply(body, dry_run=dry_run)
            if ours is not None and cleanup is not None and not dry_run:
                cleanup.remove(ours)  # ours from before (a killed run's): it goes with this one
            return None
        owned = ownership.create(kube, doc.obj, lab_id, purpose)
        if cleanup is not None:
            cleanup.remove(owned)
    except api_exception() as e:
        return Rejection(doc.where, doc.kind, doc.name, api_reason(e))
    except InputError as e:
        return Rejection(doc.where, doc.kind, doc.name, e.en)
    return None


@dataclass(frozen=True)
class Applied:
    """What apply_documents did."""

    rejected: tuple[Rejection, ...] = ()
    """Documents refused (only when not strict)."""
    kept: tuple[str, ...] = ()
    """Cluster-scoped objects that exist and are not kubelab's, left as they are
    (keep_existing)."""


def apply_documents(
    kube: Kube,
    docs: Iterable[Document],
    namespace: str,
    lab_id: str,
    *,
    strict: bool = True,
    keep_existing: bool = False,
    cleanup: Cleanup | None = None,
    purpose: str = "lab",
) -> Applied:
    """Apply each document (server-side, field manager kubelab) into `namespace`.

    strict (a learner's files): every document is first checked by the API server with
    a dry run, and the first refusal is an InputError before anything is applied.
    Otherwise (verify) what is accepted is applied and the refusals are returned.
    A cluster-scoped object that exists and is not kubelab's is refused — or, with
    keep_existing (a learner's own volume, applied by the learner before), left as it is.
    Cluster-scoped objects kubelab creates are recorded, and removed by `cleanup` if given.
    """
    docs = list(docs)
    for doc in docs:
        _refuse_other_namespace(doc, namespace)
    kept: list[str] = []
    if strict:
        for doc in docs:
            refused = _apply_one(kube, doc, namespace, lab_id, True, None, purpose)
            if refused is not None and keep_existing and refused.reason == NOT_OURS:
                kept.append(f"{doc.kind} {doc.name}")
            elif refused is not None:
                raise InputError(
                    f"the API server refused {refused.line()}; nothing was applied",
                    f"API 서버가 거부했습니다: {refused.line()}; 아무것도 적용하지 않았습니다",
                )
    rejected = []
    applied: list[str] = []
    for doc in docs:
        if f"{doc.kind} {doc.name}" in kept:
            continue
        refused = _apply_one(kube, doc, namespace, lab_id, False, cleanup, purpose)
        if refused is None:
            applied.append(f"{doc.kind} {doc.name}")
        elif strict:  # accepted in the dry run, refused now: say what is applied already
            done = ", ".join(applied) or "nothing"
            raise InputError(
                f"the API server refused {refused.line()} (already applied: {done})",
                f"API 서버가 거부했습니다: {refused.line()} (이미 적용됨: {done})",
            )
        else:
            rejected.append(refused)
    return Applied(tuple(rejected), tuple(kept))


def run_steps(
    target: Target, namespace: str, steps: Iterable[Step], as_user: str | None = None
) -> list[Rejection]:
    """Run a variant's kubectl steps in order (what a learner types after applying), as
    `as_user` if given (a sandbox's ServiceAccount); the first that fails (or runs out of
    time) stops the rest and is returned."""
    for step in steps:
        if interrupts.stopping():
            raise Interrupted(undone=True)
        who = [f"--as={as_user}"] if as_user else []
        command = [str(kubectl_path()), *target.kubectl_flags(), *who, "-n", namespace, *step]
        limit = deadline.bound(STEP_TIMEOUT)
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            return [Rejection("kubectl " + " ".join(step), "step", "", "timed out")]
        if done.returncode != 0:
            reason = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()
            return [Rejection("kubectl " + " ".join(step), "step", "", reason[-1])]
    return []


@dataclass(frozen=True)
class ResetReport:
    """What `reset` did."""

    removed: tuple[str, ...]
    """Objects kubelab had created, now deleted."""
    left_alone: tuple[str, ...]
    """Objects that look like the lab's but that kubelab did not create: not touched."""
    leftovers: tuple[str, ...]
    """Objects kubelab created that could not be removed, with why."""


def reset(kube: Kube, lab: Lab) -> ResetReport:
    """Delete every namespace and cluster-scoped object kubelab created for this lab
    (recorded by UID), and nothing else."""
    ownership.settle_pending(kube)
    live = []
    for owned in ownership.recorded(kube, lab.id):
        if owned.purpose == CLASS:
            continue  # a class's seats go with `kubelab class down` only
        if ownership.gone(kube, owned):
            ownership.forget(kube, owned)
        elif not ownership.in_use(owned):  # a run in progress (a verify) keeps its own
            live.append(owned)
    leftovers = ownership.remove_all(kube, live)
    failed = {line.split(":", 1)[0] for line in leftovers}
    removed = [o.describe() for o in live if o.describe() not in failed]
    ours = {o.uid for o in ownership.recorded(kube)}  # a run in progress keeps its own: not "alone"
    left_alone = [
        f"{kind} {obj['metadata']['name']}"
        for kind in CLUSTER_SCOPED_KINDS
        for obj in kube.list(kind, selector=ownership.selector(lab.id))
        if obj["metadata"].get("uid") not in ours
    ]
    left_alone += [  # a learner's own volumes that the lab's claims used
        f"PersistentVolume {pv['metadata']['name']}"
        for pv in kube.list("PersistentVolume")
        if ((pv.get("spec") or {}).get("claimRef") or {}).get("namespace") == lab.answer_namespace
        and pv["metadata"].get("uid") not in ours
        and f"PersistentVolume {pv['metadata']['name']}" not in left_alone
    ]
    lab_ns = f"Namespace {lab.answer_namespace}"
    if lab_ns not in removed and lab_ns not in left_alone and kube.get("Namespace", lab.answer_namespace):
        left_alone.append(lab_ns)
    left_alone = [o for o in left_alone if o not in failed]  # ours, still being deleted
    return ResetReport(tuple(removed), tuple(left_alone), tuple(leftovers))


def cleanup(kube: Kube, everything: bool = False) -> ResetReport:
    """Remove what kubelab created on this cluster and left behind: sandboxes and
    scratch objects of runs that were killed (with `everything`, also the learner labs'
    namespaces and kubelab's admission policies). Only what the records say kubelab
    made; sandbox-labelled namespaces it has no record of are named, not touched."""
    ownership.settle_pending(kube)
    live = []
    for owned in ownership.recorded(kube):
        if ownership.gone(kube, owned):
            ownership.forget(kube, owned)
        elif ownership.in_use(owned) or owned.purpose == CLASS:
            continue  # a run in progress: not a leftover; a class's seats: `class down`
        elif everything or owned.purpose not in ("lab", "policy"):
            live.append(owned)
    going = {o.name for o in live if o.kind == "Namespace"}
    staying = [
        ns["metadata"]["name"]
        for ns in kube.list("Namespace", selector=f"{SANDBOX_LABEL}=true")
        if ns["metadata"]["name"] not in going
    ]
    if staying:  # a sandbox still there (a run in progress) keeps the policies that hold it
        live = [o for o in live if o.purpose != "policy"]
    sandboxes = release_sandboxes(kube, [o for o in live if o.kind == "Namespace"])
    leftovers = ownership.remove_all(kube, live)
    failed = {line.split(":", 1)[0] for line in leftovers}
    leftovers += remove_node_folders(kube, [n for n in sandboxes if f"Namespace {n}" not in failed])
    removed = [o.describe() for o in live if o.describe() not in failed]
    ours = {o.uid for o in live} | {o.uid for o in ownership.recorded(kube)}
    left_alone = [
        f"Namespace {ns['metadata']['name']}"
        for ns in kube.list("Namespace", selector=f"{SANDBOX_LABEL}=true")
        if ns["metadata"].get("uid") not in ours
    ]
    return ResetReport(tuple(removed), tuple(left_alone), tuple(leftovers))


def release_sandboxes(kube: Kube, namespaces: list[ownership.Owned]) -> list[str]:
    """A killed run's sandboxes: what their answers left goes without its finalizers (an
    answer's own would keep the namespace Terminating for good). Their names."""
    from kubelab import labspec, sandbox

    found = []
    for owned in namespaces:
        live = kube.get("Namespace", owned.name) or {}
        if ((live.get("metadata") or {}).get("labels") or {}).get(SANDBOX_LABEL) != "true":
            continue
        found.append(owned.name)
        with contextlib.suppress(KubelabError, api_exception()):
            sandbox.release(kube, owned.name, labspec.find_lab(owned.lab))
    return found


def remove_node_folders(kube: Kube, namespaces: list[str]) -> list[str]:
    """The node folders of the sandboxes removed (where their hostPaths wrote); what could
    not be removed, one line each."""
    from kubelab import nodefiles, sandbox
    from kubelab.params import SANDBOX_HOST_ROOT

    left: list[str] = []
    if not namespaces:
        return left
    with contextlib.ExitStack() as stack:
        if len(namespaces) > 1:  # one crew for them all, not pods on every node for each
            stack.enter_context(nodefiles.crew(kube, SANDBOX_HOST_ROOT))
        for namespace in namespaces:
            try:
                sandbox.remove_node_folder(sandbox.node_folder(kube, namespace), kube, namespace)
            except KubelabError as e:
                left.append(f"node folder {sandbox.host_root(namespace)}: {e.en}")
    return left
