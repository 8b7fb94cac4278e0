"""What kubelab created, by UID: the only objects it ever deletes.

Labels say whose an object is, but anyone can copy labels (`kubectl get -o yaml` and
apply under another name), so labels alone never decide a deletion. When kubelab creates
a namespace or a cluster-scoped object, it records the UID the API server gave it, in
its state folder, one file per object (concurrent runs never share a file). Deleting
goes by that record, with the UID as a precondition the API server itself checks: an
object of the same name made by someone else is never touched. A system namespace is
never deleted, recorded or not.

Namespaced objects inside a kubelab namespace go with their namespace; they need no
record of their own.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from kubelab import processes, repo
from kubelab.errors import CheckFailed, ClusterUnavailable, Finding, InputError, KubelabError
from kubelab.kube import Kube, conflict_error
from kubelab.manifests import Obj
from kubelab.waiting import timeout_scale, wait_until

MANAGED_BY = "app.kubernetes.io/managed-by"
LAB = "kubelab.dev/lab"
PURPOSE = "kubelab.dev/purpose"
CREATION = "kubelab.dev/creation"
"""Annotation with a token of one create call: when the API server's answer to a create
was lost and the retry meets "already exists", the token tells our own object apart."""

SYSTEM_NAMESPACES = frozenset(
    {"default", "kube-system", "kube-public", "kube-node-lease", "local-path-storage"}
)
"""Never deleted by kubelab (nor any namespace whose name starts with kube-)."""

REMOVE_WAIT = 120.0
"""Seconds removal may go on with nothing more gone (a namespace's pods terminate first)."""
REMOVE_EACH = 2.0
"""Seconds more in all for each object removed at once: a class's hundred namespaces go at
the namespace controller's pace (class down of 100 seats took 112-139 s here)."""
REMOVE_POLL = 1.0
"""Seconds between two looks while waiting for removed objects to be gone."""


def ownership(lab_id: str, purpose: str = "lab") -> dict[str, str]:
    """The labels on everything kubelab creates (for people and selectors, not for deleting)."""
    return {MANAGED_BY: "kubelab", LAB: lab_id, PURPOSE: purpose}


def selector(lab_id: str) -> str:
    return f"{MANAGED_BY}=kubelab,{LAB}={lab_id}"


def labelled(obj: Obj, labels: dict[str, str]) -> Obj:
    """A copy of obj with labels added (the original is left as it was)."""
    result = copy.deepcopy(obj)
    metadata = result.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    return result


def is_system_namespace(name: str) -> bool:
    return name in SYSTEM_NAMESPACES or name.startswith("kube-")


@dataclass(frozen=True)
class Owned:
    """One object kubelab created, as the API server named it."""

    kind: str
    api_version: str
    name: str
    uid: str
    lab: str
    purpose: str
    pid: int = 0
    """The process that created it (0: unknown): `kubelab cleanup` leaves alone what a
    run still in progress made."""
    started: str = ""
    """When that process started (processes.started; "": unknown): a pid reused by another
    process does not keep a dead run's objects."""

    def describe(self) -> str:
        return f"{self.kind} {self.name}"


def _ledger_dir(kube: Kube) -> Path:
    path = repo.state_dir() / "owned" / kube.cluster_id()
    path.mkdir(parents=True, exist_ok=True)
    return path


def record(kube: Kube, owned: Owned) -> None:
    repo.write_state(_ledger_dir(kube) / f"{owned.uid}.json", json.dumps(asdict(owned)))


def forget(kube: Kube, owned: Owned) -> None:
    (_ledger_dir(kube) / f"{owned.uid}.json").unlink(missing_ok=True)


def recorded(kube: Kube, lab_id: str | None = None) -> list[Owned]:
    """What this machine's kubelab created on this cluster (for one lab, or all)."""
    found: list[Owned] = []
    for path in sorted(_ledger_dir(kube).glob("*.json")):
        with contextlib.suppress(OSError, ValueError, TypeError):
            owned = Owned(**json.loads(path.read_text(encoding="utf-8")))
            if lab_id is None or owned.lab == lab_id:
                found.append(owned)
    return found


def is_ours(kube: Kube, obj: Obj) -> Owned | None:
    """The record of this live object, if kubelab created it (same UID)."""
    uid = str((obj.get("metadata") or {}).get("uid") or "")
    return next((o for o in recorded(kube) if o.uid == uid), None) if uid else None


def create(kube: Kube, obj: Obj, lab_id: str, purpose: str) -> Owned:
    """Create a namespace or cluster-scoped object (never take one over) and record it.
    A name already taken is an InputError that says so. While the create is under way a
    note of it is kept (`settle_pending`): it stays only when the answer never came."""
    body = labelled(obj, ownership(lab_id, purpose))
    token = secrets.token_hex(8)
    metadata = body["metadata"]
    metadata["annotations"] = {**(metadata.get("annotations") or {}), CREATION: token}
    pid, started = processes.this_one()
    owned = Owned(
        obj["kind"],
        str(obj.get("apiVersion", "v1")),
        str(metadata["name"]),
        "",
        lab_id,
        purpose,
        pid,
        started,
    )
    note = _pending(kube, token)
    note.write_text(json.dumps(asdict(owned)), encoding="utf-8")
    try:
        made = _create(kube, body, token)
    except ClusterUnavailable:
        raise  # the answer was lost: the object may be there, and the note says whose it is
    except BaseException:
        note.unlink(missing_ok=True)  # refused: nothing was made
        raise
    owned = replace(owned, name=str(made["metadata"]["name"]), uid=str(made["metadata"]["uid"]))
    record(kube, owned)
    note.unlink(missing_ok=True)
    return owned


def _create(kube: Kube, body: Obj, token: str) -> Obj:
    try:
        made: Obj = kube.create(body)
        return made
    except conflict_error() as e:
        kind, name = body["kind"], body["metadata"]["name"]
        live = kube.get(kind, name)
        if live is not None and (live["metadata"].get("annotations") or {}).get(CREATION) == token:
            return live  # our own create: its answer was lost, and the retry found it
        raise InputError(
            f"{kind} {name} already exists and kubelab did not create it; "
            "kubelab does not change or take over it",
            f"{kind} {name} 오브젝트가 이미 있고 kubelab이 만든 것이 아닙니다; "
            "kubelab은 그것을 바꾸거나 가져오지 않습니다",
        ) from e


def _pending(kube: Kube, token: str) -> Path:
    """A create kubelab has sent and not yet seen answered: if the answer is lost (the
    cluster stopped answering meanwhile), the object may exist with no record of it."""
    folder = _ledger_dir(kube) / "pending"
    folder.mkdir(exist_ok=True)
    return folder / f"{token}.json"


def settle_pending(kube: Kube) -> None:
    """The creates of runs that ended before their answer came: an object that carries
    the create's token is kubelab's (recorded now, so that it can be removed); any other
    of that name is not, and the note goes."""
    for path in sorted((_ledger_dir(kube) / "pending").glob("*.json")):
        with contextlib.suppress(OSError, ValueError, TypeError):
            sent = Owned(**json.loads(path.read_text(encoding="utf-8")))
            if in_use(sent):
                continue  # still waiting for its answer
            live = kube.get(sent.kind, sent.name)
            annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
            if live is not None and annotations.get(CREATION) == path.stem:
                record(kube, replace(sent, uid=str(live["metadata"]["uid"])))
            path.unlink(missing_ok=True)


def create_namespace(kube: Kube, name: str, lab_id: str, purpose: str, like: Obj | None = None) -> Owned:
    """A namespace kubelab creates; `like`: a namespace whose labels and annotations it
    takes (a sandbox's, so that its rules hold in the new one too)."""
    metadata: Obj = {"name": name}
    if like is not None:
        metadata["labels"] = dict((like.get("metadata") or {}).get("labels") or {})
        metadata["annotations"] = dict((like.get("metadata") or {}).get("annotations") or {})
    return create(kube, {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}, lab_id, purpose)


def scratch_namespace(kube: Kube, base: str, lab_id: str, purpose: str, like: Obj | None = None) -> Owned:
    """A fresh namespace `<base>-<purpose>-<random>`, recorded as kubelab's."""
    for _ in range(5):
        name = f"{base}-{purpose}-{secrets.token_hex(3)}"[:63].rstrip("-")
        with contextlib.suppress(InputError):  # the name was taken: draw another
            return create_namespace(kube, name, lab_id, purpose, like)
    raise InputError(f"no free namespace name for {base}-{purpose}-…")


def in_use(owned: Owned) -> bool:
    """Was it made by a process of this machine that is still running (another one)?"""
    return owned.pid != os.getpid() and processes.alive(owned.pid, owned.started)


def delete(kube: Kube, owned: Owned) -> None:
    """Ask the API server to delete the object, if it is still the one kubelab created."""
    if owned.kind == "Namespace" and is_system_namespace(owned.name):
        raise KubelabError(f"refusing to delete system namespace {owned.name}")
    kube.delete(owned.kind, owned.name, uid=owned.uid)


def gone(kube: Kube, owned: Owned) -> bool:
    """Is the object kubelab created no longer there (deleted, or replaced by another)?"""
    live = kube.get(owned.kind, owned.name)
    return live is None or str((live.get("metadata") or {}).get("uid")) != owned.uid


def emptied(kube: Kube, owned: Owned) -> bool:
    """Is this namespace gone, or going (Terminating) with no pod left in it and no object
    held by a finalizer (the namespace controller's own condition says so)? What is left
    then, the controller removes by itself in a few seconds; a finalizer nothing serves
    would hold it for good, and that is not "removed"."""
    live = kube.get(owned.kind, owned.name)
    if live is None or str((live.get("metadata") or {}).get("uid")) != owned.uid:
        return True
    if not (live.get("metadata") or {}).get("deletionTimestamp"):
        return False
    held = any(
        c.get("type") == "NamespaceFinalizersRemaining" and c.get("status") == "True"
        for c in (live.get("status") or {}).get("conditions") or []
    )
    return not held and not kube.list("Pod", owned.name)


def remove_all(
    kube: Kube, owned: list[Owned], wait: float = REMOVE_WAIT, emptied_enough: frozenset[str] = frozenset()
) -> list[str]:
    """Delete these objects (namespaces first: a volume waits for its claims to go) and
    wait until they are gone — for a namespace whose uid is in `emptied_enough`, until it
    is `emptied` — and forget each that is. The wait ends when `wait` seconds pass with
    nothing more gone, and at most `wait` plus REMOVE_EACH a object after it began. Each
    look lists each kind once (not an object at a time: a class's hundreds of namespaces
    would be hundreds of requests a second). Returns what is still there, each as
    "Kind name: why"."""
    ordered = sorted(owned, key=lambda o: o.kind != "Namespace")
    problems: dict[str, str] = {}
    for number, item in enumerate(ordered):
        try:
            delete(kube, item)
        except ClusterUnavailable as e:
            problems[item.uid] = e.en
            if not kube.healthy():  # the rest would each take their bound: not tried
                problems |= {o.uid: e.en for o in ordered[number + 1 :]}
                break
        except KubelabError as e:
            problems[item.uid] = e.en
    pending = [o for o in ordered if o.uid not in problems]
    began = last_gone = time.monotonic()
    stall = wait * timeout_scale()

    def all_gone() -> None:
        nonlocal last_gone

        def enough(o: Owned) -> bool:
            return o.kind == "Namespace" and o.uid in emptied_enough

        kinds = {o.kind for o in pending if not enough(o)}
        live = {kind: {str((x.get("metadata") or {}).get("uid")) for x in kube.list(kind)} for kind in kinds}

        def done(o: Owned) -> bool:
            return emptied(kube, o) if enough(o) else o.uid not in live[o.kind]

        still = [o for o in pending if not done(o)]
        for o in pending:
            if o not in still:
                forget(kube, o)
        if len(still) < len(pending):
            last_gone = time.monotonic()
        pending[:] = still
        if still:
            names = ", ".join(o.describe() for o in still)
            stalled = time.monotonic() - last_gone >= stall
            raise CheckFailed(Finding(subject=names, expected="gone", found="still there"), stalled)

    try:
        wait_until(all_gone, wait + REMOVE_EACH * len(pending), interval=REMOVE_POLL)
    except CheckFailed:
        for o in pending:
            problems[o.uid] = f"still being deleted after {time.monotonic() - began:.0f} s"
    except KubelabError as e:
        for o in pending:
            problems[o.uid] = e.en
    return [f"{o.describe()}: {problems[o.uid]}" for o in ordered if o.uid in problems]
