"""What the cluster can schedule, and each answer's share of it: one answer never starves
another.

Many answers are checked at once on one cluster (a class graded, every lab verified). An
answer's pods may ask for CPU and memory; before this, a sandbox's quota allowed 2 CPUs,
and a dozen sandboxes together could ask for far more than the nodes have, so one
answer that asked for its whole quota left its neighbours' right answers Pending.

So every sandbox *reserves* its share before it is opened, and its quota is that share:

- the share is what the answer's own manifests and steps ask for (`needs`: each pod
  template's requests, times its replicas and one more, a Deployment's twice and one
  more, the LimitRange's default for a container that names none), never less than FLOOR
  (room for any lab's right answer and the checks' own pods) and never more than half
  what the cluster can give; for a lab whose pods keep their own requests (lab 10), that
  many pods times the most one may ask for (`share`);
- a sandbox counts twice its share: a check may run a copy of the answer in a scratch
  namespace of its own, fenced by the same quota (kubelab.checks);
- a sandbox is admitted only when the nodes' allocatable capacity, less what every pod
  outside the sandboxes asks for and less every sandbox's reservation, still holds it
  (`admitted`); until then it waits, first come, first served, before the answer's own
  time starts.

The ledger is the cluster itself: each sandbox namespace carries its reservation in an
annotation, so every kubelab process that grades on the cluster sees every other's; a
lock file beside the kubeconfig (or in .kubelab/) makes "look, then claim" one step for
the processes of one machine, and a queue file beside it keeps their turns. Processes on
two machines could still claim at the same moment.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from pathlib import Path
from typing import Any, TypeVar

from kubelab import interrupts, processes
from kubelab.errors import CheckFailed, EnvironmentProblem, Finding, Interrupted, KubelabError
from kubelab.kube import Kube
from kubelab.manifests import Document, Obj
from kubelab.waiting import wait_until

T = TypeVar("T")

RESERVED = "kubelab.dev/reserved"
"""Annotation of a sandbox namespace: the share it reserved (`cpu=25m,memory=512Mi,pods=10`)."""
SANDBOX = "kubelab.dev/sandbox"
COURSE = "kubelab.dev/course"
"""On a class's seat (kubelab.classroom): its quota is a fence, not a reservation; its pods count."""
ADMIT_WAIT = 900.0
"""Seconds an answer may wait for room on the cluster before it is given up (then it is
the run's environment error, never the student's)."""
LOCK_WAIT = 60.0
"""Seconds to wait for another kubelab process of this machine to finish claiming room."""
SCRATCH_COPIES = 2
"""A sandbox counts this many times its share: itself, and a check's scratch namespace."""


@dataclass(frozen=True, order=True)
class Resources:
    """CPU (millicores), memory (bytes) and pods."""

    cpu: int = 0
    memory: int = 0
    pods: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory + other.memory, self.pods + other.pods)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.memory - other.memory, self.pods - other.pods)

    def times(self, n: int) -> Resources:
        return Resources(self.cpu * n, self.memory * n, self.pods * n)

    def fits_in(self, room: Resources) -> bool:
        return self.cpu <= room.cpu and self.memory <= room.memory and self.pods <= room.pods

    def clamp(self, low: Resources, high: Resources) -> Resources:
        return Resources(
            min(max(self.cpu, low.cpu), high.cpu),
            min(max(self.memory, low.memory), high.memory),
            min(max(self.pods, low.pods), high.pods),
        )

    def halved(self) -> Resources:
        return Resources(self.cpu // 2, self.memory // 2, self.pods // 2)

    def how_many(self, each: Resources) -> int:
        """How many of `each` fit in this."""
        counts = [
            mine // theirs for mine, theirs in zip(self.fields(), each.fields(), strict=True) if theirs > 0
        ]
        return max(0, min(counts)) if counts else 0

    def fields(self) -> tuple[int, int, int]:
        return self.cpu, self.memory, self.pods

    def quota(self) -> dict[str, str]:
        """As ResourceQuota `hard` entries."""
        return {"requests.cpu": f"{self.cpu}m", "requests.memory": str(self.memory), "pods": str(self.pods)}

    def annotation(self) -> str:
        return f"cpu={self.cpu}m,memory={self.memory},pods={self.pods}"

    @classmethod
    def parse(cls, text: str) -> Resources | None:
        try:
            said = dict(part.split("=", 1) for part in text.split(","))
            return cls(cpu_millis(said["cpu"]), memory_bytes(said["memory"]), int(said["pods"]))
        except (ValueError, KeyError):
            return None

    def __str__(self) -> str:
        return f"cpu {self.cpu}m, memory {self.memory // 2**20}Mi, pods {self.pods}"


DEFAULT_REQUEST = Resources(cpu=5, memory=32 * 2**20)
"""What a container that names no requests is given (the sandbox's LimitRange default)."""
FLOOR = Resources(cpu=50, memory=512 * 2**20, pods=10)
"""The least share: any lab's right answer with the default requests (lab 01's needs ten
pods and 50m, the checks' own and the replacements among them)."""
CEILING = Resources(cpu=2000, memory=2 * 2**30, pods=20)
"""The most share one answer may have (the quota's values before shares existed)."""
CHECK_PODS = 2
"""Pods the checks may run in a sandbox besides the answer's (a client, a reader)."""
OWN_REQUESTS_CAP = Resources(cpu=200, memory=256 * 2**20, pods=10)
"""The most a lab may let one pod of its answers ask for when the answers' pods keep their
own requests (lab.yaml `sandbox: resources`), and how many such pods at most."""

_QUANTITY = re.compile(r"([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?")
_SUFFIX = {
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    None: Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


def quantity(value: object) -> Decimal:
    """A Kubernetes quantity (`250m`, `0.5`, `64Mi`, `1e3`) as a number; ValueError when it
    is not one."""
    found = _QUANTITY.fullmatch(str(value).strip())
    if found is None:
        raise ValueError(f"not a quantity: {value!r}")
    try:
        number = Decimal(found.group(1)) * _SUFFIX[found.group(2)]
    except DecimalException as e:  # InvalidOperation, Overflow (1e999999999): not a quantity
        raise ValueError(f"not a quantity: {value!r}") from e
    if number < 0 or number > Decimal("1e21"):
        raise ValueError(f"out of range: {value!r}")
    return number


def cpu_millis(value: object) -> int:
    if str(value).endswith("m") and str(value)[:-1].isdigit():
        return int(str(value)[:-1])
    return math.ceil(quantity(value) * 1000)


def memory_bytes(value: object) -> int:
    return math.ceil(quantity(value))


def _asked(resources: Mapping[str, Any], default: Resources) -> Resources:
    """One container's requests (its limits where it names only limits, as the API server
    defaults them; the default where it names neither, or something unreadable)."""

    def one(name: str, parse: Callable[[object], int], fallback: int) -> int:
        for part in ("requests", "limits"):
            value = (resources.get(part) or {}).get(name) if isinstance(resources.get(part), dict) else None
            if value is not None:
                with contextlib.suppress(ValueError, TypeError):
                    return parse(value)
        return fallback

    return Resources(one("cpu", cpu_millis, default.cpu), one("memory", memory_bytes, default.memory), 0)


def pod_requests(spec: Mapping[str, Any], default: Resources = DEFAULT_REQUEST) -> Resources:
    """What one pod of this spec asks the scheduler for: its containers' requests together,
    or its largest init container's if that is more (they run one at a time, first)."""

    def containers(key: str) -> list[Resources]:
        listed = spec.get(key)
        found: list[Resources] = []
        for container in listed if isinstance(listed, list) else []:
            asked = container.get("resources") if isinstance(container, dict) else None
            found.append(_asked(asked if isinstance(asked, dict) else {}, default))
        return found

    main = sum(containers("containers"), Resources())
    first = containers("initContainers")
    biggest = Resources(max([r.cpu for r in first], default=0), max([r.memory for r in first], default=0))
    return Resources(max(main.cpu, biggest.cpu), max(main.memory, biggest.memory), 1)


def _count(value: object, default: int = 1) -> int:
    return (
        min(max(value, 0), CEILING.pods)
        if isinstance(value, int) and not isinstance(value, bool)
        else default
    )


def _replicas(obj: Mapping[str, Any], scaled: int) -> int:
    spec = obj.get("spec")
    value = spec.get("replicas", spec.get("parallelism", 1)) if isinstance(spec, dict) else 1
    return max(_count(value), scaled)


def scaled_to(steps: Iterable[Sequence[str]]) -> int:
    """The most replicas an answer's kubectl steps ask for (`--replicas=N`), else 0."""
    found = [
        _count(int(word.split("=", 1)[1]), 0)
        for step in steps
        for word in step
        if word.startswith("--replicas=") and word.split("=", 1)[1].isdigit()
    ]
    return max(found, default=0)


def needs(docs: Iterable[Document], steps: Iterable[Sequence[str]] = ()) -> Resources:
    """What an answer's manifests ask for when every pod runs: each bare Pod, and each pod
    template times its replicas (or what its steps scale to, if more) and one more (a pod
    deleted by a self-healing check still counts while its replacement starts; a
    Deployment twice its replicas and one more: while it rolls, the old pods still count
    as they stop, and one more starts as its surge), plus the checks' own pods."""
    scaled = scaled_to(steps)
    total = DEFAULT_REQUEST.times(CHECK_PODS) + Resources(pods=CHECK_PODS)
    for doc in docs:
        spec = doc.obj.get("spec")
        if not isinstance(spec, dict):
            continue
        if doc.kind == "Pod":
            total += pod_requests(spec)
            continue
        template = spec.get("template")
        pod_spec = template.get("spec") if isinstance(template, dict) else None
        if isinstance(pod_spec, dict):  # one more for a replacement that starts while a pod stops
            replicas = _replicas(doc.obj, scaled)
            copies = 2 * replicas + 1 if doc.kind == "Deployment" else replicas + 1
            total += pod_requests(pod_spec).times(copies)
    return total


def _usable(node: Obj) -> bool:
    """A node answers may run on at all: not cordoned, no taint of its own that keeps them
    off (a control plane's); the node lifecycle's own taints (not-ready, unreachable, …)
    pass, as they pass when the node comes back."""
    spec = node.get("spec") or {}
    kept_off = any(
        t.get("effect") in ("NoSchedule", "NoExecute") and not str(t.get("key", "")).startswith(LIFECYCLE)
        for t in spec.get("taints") or []
    )
    return not spec.get("unschedulable") and not kept_off


def _schedulable(node: Obj) -> bool:
    """A usable node that takes pods now: Ready, no taint at all that keeps them off."""
    spec = node.get("spec") or {}
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    fenced = any(t.get("effect") in ("NoSchedule", "NoExecute") for t in spec.get("taints") or [])
    return _usable(node) and ready and not fenced


LIFECYCLE = "node.kubernetes.io/"
"""The prefix of the taints the node lifecycle sets and lifts by itself."""


def _allocatable(node: Obj) -> Resources:
    found = (node.get("status") or {}).get("allocatable") or {}
    try:
        return Resources(cpu_millis(found["cpu"]), memory_bytes(found["memory"]), int(found["pods"]))
    except (KeyError, ValueError, TypeError):
        return Resources()


def _holds(pod: Obj) -> Resources:
    """What a pod that is not finished holds of its node (or will, once scheduled)."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return Resources()
    spec = pod.get("spec") or {}
    overhead = _asked({"requests": spec.get("overhead") or {}}, Resources())
    return pod_requests(spec, Resources()) + overhead


@dataclass(frozen=True)
class Room:
    """The cluster's capacity for answers, as seen at one moment."""

    allocatable: Resources
    """Allocatable on the usable nodes (whether or not they take pods this moment)."""
    steady: Resources
    """That, less what pods outside the sandboxes ask for: what answers can have."""
    capacity: Resources
    """The same on the nodes that take pods now (a node that is not Ready gives nothing)."""
    reserved: Resources
    """What the sandboxes there reserved (each counted SCRATCH_COPIES times)."""

    @property
    def free(self) -> Resources:
        return self.capacity - self.reserved


def room(kube: Kube) -> Room:
    """The nodes' allocatable capacity, what pods outside the sandboxes take of it, and what
    the sandboxes reserved (a sandbox with no reservation counts its pods)."""
    every = kube.list("Node")
    nodes = [n for n in every if _usable(n)]
    names = {str(n["metadata"]["name"]) for n in nodes}
    allocatable = sum((_allocatable(n) for n in nodes), Resources())
    now = sum((_allocatable(n) for n in nodes if _schedulable(n)), Resources())
    fenced: dict[str, Resources | None] = {}
    """Sandbox and scratch namespaces → the share they reserved (None: none, count pods)."""
    going: set[str] = set()
    for ns in kube.list("Namespace"):
        metadata = ns.get("metadata") or {}
        name = str(metadata.get("name"))
        label = (metadata.get("labels") or {}).get(SANDBOX)
        if label == "true":
            said = (metadata.get("annotations") or {}).get(RESERVED)
            seat = COURSE in (metadata.get("labels") or {})
            fenced[name] = Resources.parse(said) if said and not seat else None
            going |= {name} if metadata.get("deletionTimestamp") else set()
        elif label == "scratch":
            fenced[name] = Resources()  # within its sandbox's reservation
    taken = Resources()
    busy: set[str] = set()
    largest = _largest(every)
    for pod in kube.list("Pod"):
        namespace = str(pod["metadata"].get("namespace"))
        node = (pod.get("spec") or {}).get("nodeName")
        if node and node not in names:
            continue
        busy.add(namespace)
        holds = _holds(pod)
        if fenced.get(namespace) is None and (node or not never_scheduled(holds, largest)):
            taken += holds  # a pod no node can take (lab 10's `cpu: "64"`) holds nothing
    reserved = Resources()
    for name, share in fenced.items():  # a sandbox going with no pod left holds nothing
        if share is not None and (name in busy or name not in going):
            reserved += share.times(SCRATCH_COPIES)
    return Room(allocatable, allocatable - taken, now - taken, reserved)


def share(
    kube: Kube, docs: Iterable[Document], steps: Iterable[Sequence[str]] = (), own: Resources | None = None
) -> Resources:
    """An answer's share: what its manifests (and steps) ask for, at least FLOOR, at most
    CEILING and half of what the cluster can give answers at all. For a lab whose answers'
    pods keep their own requests (`own`: the most one pod may ask for, and how many such
    pods), the CPU and memory are that many times that much, whatever the manifests say
    (a pod that asks for more than any node has holds nothing: it stays Pending)."""
    half = Resources(*(n // SCRATCH_COPIES for n in room(kube).steady.fields()))
    high = Resources(
        *(max(f, min(c, h)) for f, c, h in zip(FLOOR.fields(), CEILING.fields(), half.fields(), strict=True))
    )
    usual = needs(docs, steps).clamp(FLOOR, high)
    if own is None:
        return usual
    # as many pods may ask for nothing as ask (kubelab.sandbox.fences), and the checks' own
    return Resources(own.cpu * own.pods, own.memory * own.pods, max(usual.pods, 2 * own.pods + CHECK_PODS))


def largest_node(kube: Kube) -> Resources:
    """The most CPU, the most memory and the most pods any one node can give (each may be
    another node's; cordoned and tainted nodes too, as a toleration or a nodeName may reach
    them): a pod that asks for more of one can never run. On a cluster whose nodes grow on
    demand (an autoscaler that makes bigger nodes) it might, one day."""
    return _largest(kube.list("Node"))


def _largest(nodes: Iterable[Obj]) -> Resources:
    found = [_allocatable(n).fields() for n in nodes]
    return Resources(*(max((f[i] for f in found), default=0) for i in range(3)))


def never_scheduled(asked: Resources, largest: Resources) -> bool:
    """Does a pod that asks for this fit on no node, however empty (Pending for good)?"""
    return asked.cpu > largest.cpu or asked.memory > largest.memory


def jobs(kube: Kube) -> int:
    """How many answers of the least share the cluster can hold at once (at least 1)."""
    return max(1, room(kube).steady.how_many(FLOOR.times(SCRATCH_COPIES)))


_claiming = threading.Lock()


def admitted(kube: Kube, want: Resources, claim: Callable[[], T], wait: float = ADMIT_WAIT) -> T:
    """Wait until the cluster has room for `want` beside every sandbox already there, then
    `claim` it (create the sandbox namespace carrying its reservation) in the same step.
    One kubelab thread and process of this machine at a time looks and claims, and the
    answers that wait are admitted first come, first served (a queue beside the lock): a
    large share is not passed over for ever by small ones."""
    needed = want.times(SCRATCH_COPIES)
    ticket = f"{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(4)}"

    def attempt() -> T:
        if interrupts.stopping():
            raise Interrupted(undone=True)
        with _one_claim_at_a_time(kube) as queue:
            seen = room(kube)
            if not needed.fits_in(seen.allocatable):  # not even on an empty cluster: say so now
                queue.leave(ticket)
                raise EnvironmentProblem(
                    f"the cluster is too small for an answer: it needs {needed}, "
                    f"its nodes have {seen.allocatable}",
                    f"클러스터가 너무 작습니다: 답안 하나에 필요한 양은 {needed}인데 노드에 있는 양은 "
                    f"{seen.allocatable}입니다",
                )
            ahead = queue.ahead_of(ticket)
            if ahead:
                raise CheckFailed(Finding("the cluster", "its turn", f"{ahead} answer(s) waiting before it"))
            if not needed.fits_in(seen.free):
                raise CheckFailed(
                    Finding("the cluster", f"room for a sandbox ({needed})", f"free: {seen.free}")
                )
            claimed = claim()
            queue.leave(ticket)
            return claimed

    try:
        return wait_until(attempt, wait, interval=1.0)
    except CheckFailed as e:
        raise EnvironmentProblem(
            f"no room on the cluster for another answer after {wait:.0f} s ({e.finding.expected}; "
            f"{e.finding.found}): fewer at once (-j), or a larger cluster",
            f"{wait:.0f}초를 기다려도 클러스터에 답안 하나를 더 둘 자리가 없습니다 ({e.finding.found}): "
            "-j를 줄이거나 더 큰 클러스터를 쓰세요",
        ) from e
    finally:
        with contextlib.suppress(KubelabError, OSError), _one_claim_at_a_time(kube) as queue:
            queue.leave(ticket)  # given up, stopped or failed: not in anyone's way


class _Queue:
    """The answers of this machine waiting for room, oldest first (a JSON file read and
    written only under the claim lock); an entry of a process that ended, or older than
    twice ADMIT_WAIT, is dropped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
            entries = [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []
        except (OSError, ValueError):
            entries = []
        now = time.time()
        self.entries = [
            e
            for e in entries
            if processes.alive(e.get("pid"), e.get("started"))
            and now - float(e.get("since") or 0) < 2 * ADMIT_WAIT
        ]

    def ahead_of(self, ticket: str) -> int:
        """How many wait before `ticket` (which joins the queue if it is not in it)."""
        tickets = [e.get("ticket") for e in self.entries]
        if ticket not in tickets:
            pid, started = processes.this_one()
            self.entries.append({"ticket": ticket, "pid": pid, "started": started, "since": time.time()})
            tickets.append(ticket)
        return tickets.index(ticket)

    def leave(self, ticket: str) -> None:
        self.entries = [e for e in self.entries if e.get("ticket") != ticket]

    def save(self) -> None:
        self.path.write_text(json.dumps(self.entries), encoding="utf-8")


def _lock_folder(kube: Kube) -> Path:
    """Beside the kubeconfig (every kubelab of the machine that uses it finds it there), or
    kubelab's own folder where that one cannot be written (a kubeconfig mounted read-only)."""
    from kubelab import cluster, repo

    where = (kube.target.kubeconfig or cluster.default_kubeconfig()).parent
    return where if os.access(where, os.W_OK) else repo.state_dir()


@contextlib.contextmanager
def _one_claim_at_a_time(kube: Kube) -> Iterator[_Queue]:
    from kubelab import locks

    if not _claiming.acquire(timeout=LOCK_WAIT):
        raise CheckFailed(Finding("the cluster", "a turn to claim room", "another thread kept it"))
    try:
        base = _lock_folder(kube) / f".kubelab-room-{kube.cluster_id()}"
        with locks.one_at_a_time(base.with_suffix(".lock"), LOCK_WAIT):
            queue = _Queue(base.with_suffix(".queue"))
            try:
                yield queue
            finally:
                queue.save()
    finally:
        _claiming.release()


ROOM = re.compile(r"Insufficient (cpu|memory)|Too many pods")
"""What the scheduler says of a node that has no room: the resources shares hold."""


def starved(kube: Kube, namespace: str) -> str | None:
    """A pod of this namespace that the scheduler left Pending for want of CPU, memory or
    pods (not for a rule the answer itself set, such as a node selector, nor a resource
    no share holds, such as a GPU, nor more than any node has: lab 10's `cpu: "64"`), said
    in one line; else None."""
    largest = largest_node(kube)
    for pod in kube.list("Pod", namespace):
        if largest.cpu and never_scheduled(_holds(pod), largest):
            continue  # the answer asked for it: no room on any cluster of these nodes
        for condition in (pod.get("status") or {}).get("conditions") or []:
            said = str(condition.get("message") or "")
            if condition.get("reason") == "Unschedulable" and ROOM.search(said):
                return f"pod {pod['metadata']['name']}: {said}"
    return None


def reservation(want: Resources) -> dict[str, str]:
    """The annotation of a sandbox namespace that holds its share."""
    return {RESERVED: want.annotation()}
