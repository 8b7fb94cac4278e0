"""A class on a shared cluster: `kubelab class up`, `down` and `revoke`.

For every student of the roster and every lab of the course, a *seat*: the student's own
variant namespace (kubelab.course: `<lab namespace>-u<student>`) with a sandbox's fences —
its quota (the share of the lab's solution), container limits, the network policy, the
sandbox label that puts kubelab's admission policies on it — and the sandbox's identity,
the ServiceAccount `kubelab-answer` with the RBAC the lab's kinds need (kubelab.sandbox).
The policies already hold what that identity may do (a volume named for its namespace,
only its node ports, no token in a pod), so a student acts exactly as a graded answer is
applied: nothing new to prove safe.

The credential is a ServiceAccount token from the TokenRequest API, with an expiry, one
per seat, gathered into one kubeconfig file per student (a context per lab: `lab-01`, …).
A client certificate (the CSR API) was the other way: Kubernetes cannot revoke a
certificate before it expires, while a token dies with its ServiceAccount, so `revoke`
takes a student's access away at once (it makes the accounts again, with no token).

`up` is idempotent: what is there is applied again unchanged, a kubeconfig whose tokens
still hold for RENEW_BEFORE is kept as it is, and a roster with a new student adds that
student. `down` removes what `up` recorded as its own (by UID: kubelab.ownership), and
nothing else.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kubelab import apply, capacity, course, isolation, ownership, sandbox
from kubelab import seat as student_seat
from kubelab.course import Course
from kubelab.errors import InputError, KubelabError
from kubelab.kube import Kube, api_exception
from kubelab.labspec import Lab
from kubelab.params import NODE_PORT_RANGE
from kubelab.text import Lang

if TYPE_CHECKING:
    from kubelab.grade import Grade

PURPOSE = apply.CLASS
COURSE_LABEL = capacity.COURSE
"""On every namespace of a class: the course's id (as a label value)."""
STUDENT_ANNOTATION = "kubelab.dev/student"
TOKEN_SECONDS = 14 * 24 * 3600
"""How long a student's token holds by default (two weeks: a lab's span)."""
RENEW_BEFORE = 24 * 3600
"""A kubeconfig whose tokens expire sooner than this is issued again by `up`."""
JOBS = 8
"""Seats furnished at once (API requests, not pods: the cluster's CPU is not the bound)."""


@dataclass(frozen=True)
class Seat:
    """One student's namespace for one lab."""

    student: str
    lab: Lab
    """The lab as this student's variant has it (answer_namespace: the seat's namespace)."""

    @property
    def namespace(self) -> str:
        return self.lab.answer_namespace


@dataclass(frozen=True)
class Report:
    """What a `class` command did, one line per thing."""

    made: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    kubeconfigs: tuple[Path, ...] = ()


def label_value(course_id: str) -> str:
    """The course id as a label value (63 characters of [a-z0-9.-_], ends alphanumeric)."""
    return course.slug(course_id)


def seats(crs: Course, labs: Iterable[Lab], students: Iterable[str]) -> list[Seat]:
    labs = list(labs)
    students = list(students)
    for lab in labs:
        course.distinct_namespaces(lab, students)
    return [Seat(s, course.student_lab(crs, lab, s)) for s in students for lab in labs]


def up(
    kube: Kube,
    crs: Course,
    labs: list[Lab],
    roster: Mapping[str, str],
    out: Path,
    token_seconds: int = TOKEN_SECONDS,
    server: str | None = None,
) -> Report:
    """Make (or keep) every seat of the class and one kubeconfig per student in `out`."""
    if not labs:
        raise InputError("no labs to set up", "준비할 실습이 없습니다")
    all_seats = seats(crs, labs, roster)
    sandbox.ensure_policies(kube)
    ranges = isolation.pod_ranges(kube)
    classes = ",".join(sandbox.provisioning_classes(kube))
    shares = {
        lab.id: capacity.share(kube, lab.manifests(lab.solution), lab.solution_steps, lab.own_requests)
        for lab in labs
    }
    all_seats, lost = place_ports(kube, crs, all_seats)
    ours = {o.uid for o in ownership.recorded(kube)}  # read once, not once a seat
    with ThreadPoolExecutor(JOBS, thread_name_prefix="seats") as pool:
        done = [("problem", why) for why in lost.values()]
        done += pool.map(lambda s: _furnish(kube, crs, s, shares[s.lab.id], ranges, classes, ours), all_seats)
    made = tuple(line for state, line in done if state == "made")
    kept = tuple(line for state, line in done if state == "kept")
    problems = tuple(line for state, line in done if state == "problem")
    out.mkdir(parents=True, exist_ok=True)
    broken = {line.split(":", 1)[0] for line in problems}
    for lab in labs:  # before any student's credential is handed out
        first = next((s for s in all_seats if s.lab.id == lab.id and s.namespace not in broken), None)
        if first is not None:
            sandbox.wait_rbac_enforced(kube, first.lab)
    written: list[Path] = []
    for student in roster:
        mine = [s for s in all_seats if s.student == student and s.namespace not in broken]
        if not mine:
            continue
        path = kubeconfig_path(out, student)
        if _still_good(path, crs, mine):
            continue
        written.append(_write_kubeconfig(kube, path, crs, mine, token_seconds, server))
    return Report(made=made, kept=kept, problems=problems, kubeconfigs=tuple(written))


MOVED_PORTS = range(30100, NODE_PORT_RANGE.stop)
"""Where a seat whose drawn node port is taken is placed: past the 20 that kubelab's kind
cluster maps to the host (its learners' and sandboxes' ports), so a class on kubelab's own
cluster leaves those to them."""


def seat_ports(kube: Kube, crs: Course) -> dict[str, tuple[int, ...]]:
    """The class's seats on the cluster and the node ports each was placed on."""
    return {
        str(ns["metadata"]["name"]): sandbox.recorded_ports(ns)
        for ns in kube.list("Namespace", selector=f"{COURSE_LABEL}={label_value(crs.id)}")
    }


def place_ports(kube: Kube, crs: Course, all_seats: list[Seat]) -> tuple[list[Seat], dict[str, str]]:
    """Every seat on node ports of its own (a node port is the whole cluster's): a seat that
    is on the cluster keeps the ports its namespace records; a new one takes its drawn port
    (kubelab.course) when no seat of the class nor any Service holds it, else the first free
    one of MOVED_PORTS, in the roster's order. The seats as placed, and those that found no
    port (namespace → why)."""
    ours = seat_ports(kube, crs)
    taken = {port for ports in ours.values() for port in ports}
    taken |= {port for port, (namespace, _) in sandbox.held_node_ports(kube).items() if namespace not in ours}
    placed: list[Seat] = []
    lost: dict[str, str] = {}
    for seat in sorted(all_seats, key=lambda s: s.namespace not in ours):  # the kept first
        if seat.namespace in ours:
            placed.append(replace(seat, lab=course.with_ports(seat.lab, ours[seat.namespace])))
            continue
        ports: list[int] = []
        for drawn in seat.lab.node_ports:
            free = next((p for p in (drawn, *MOVED_PORTS) if p not in taken), None)
            if free is None:
                break
            ports.append(free)
            taken.add(free)
        if len(ports) < len(seat.lab.node_ports):
            lost[seat.namespace] = (
                f"{seat.namespace}: every node port from {MOVED_PORTS.start} is taken: "
                f"no seat in lab {seat.lab.id}"
            )
            continue
        placed.append(replace(seat, lab=course.with_ports(seat.lab, tuple(ports))))
    order = {s.namespace: n for n, s in enumerate(all_seats)}
    return sorted(placed, key=lambda s: order[s.namespace]), lost


def kubeconfig_path(out: Path, student: str) -> Path:
    return out / f"{course.slug(student)}.kubeconfig"


def _furnish(
    kube: Kube,
    crs: Course,
    seat: Seat,
    share: capacity.Resources,
    ranges: list[str],
    classes: str,
    ours: set[str],
) -> tuple[str, str]:
    """("made" | "kept" | "problem", a line): the seat's namespace (made and recorded, or
    found as kubelab's own), then its fences and identity applied (unchanged ones stay)."""
    name = seat.namespace
    try:
        live = kube.get("Namespace", name)
        if live is not None and str((live.get("metadata") or {}).get("uid")) not in ours:
            return "problem", f"{name}: exists and is not kubelab's: left alone"
        if live is not None and (live.get("metadata") or {}).get("deletionTimestamp"):
            return (
                "problem",
                f"{name}: being deleted (by `class down`?): run `class up` again once it is gone",
            )
        state = "kept"
        if live is None:
            labels = {COURSE_LABEL: label_value(crs.id)}
            body = sandbox.namespace_body(
                seat.lab,
                classes,
                share,
                labels,
                {STUDENT_ANNOTATION: seat.student, **sandbox.requests_fence(kube, seat.lab)},
            )
            ownership.create(kube, body, seat.lab.id, PURPOSE)
            state = "made"
        for obj in sandbox.seat_objects(kube, seat.lab, PURPOSE, share, ranges):
            kube.apply(obj, name)
        for obj in sandbox.seat_cluster_objects(kube, seat.lab):
            if kube.get(obj["kind"], obj["metadata"]["name"]) is None:
                ownership.create(kube, obj, seat.lab.id, PURPOSE)
        return state, f"{name} ({seat.student}, lab {seat.lab.id})"
    except (KubelabError, api_exception()) as e:
        said = e.en if isinstance(e, KubelabError) else " ".join(str(e).split())[:200]
        return "problem", f"{name}: {said}"


def _still_good(path: Path, crs: Course, mine: list[Seat]) -> bool:
    """Does the student's kubeconfig name every seat as it is (kubelab.seat's extension),
    each with a token that holds for RENEW_BEFORE more (read from the token's own expiry;
    the API server is the judge)?"""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        users = {u["name"]: u["user"]["token"] for u in config["users"]}
        contexts = {c["name"]: c["context"].get("extensions") for c in config["contexts"]}
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return False
    for seat in mine:
        if contexts.get(context_name(seat.lab)) != [student_seat.extension(seat.lab, crs.id, seat.student)]:
            return False
        token = users.get(context_name(seat.lab))
        if not isinstance(token, str) or _expires(token) < time.time() + RENEW_BEFORE:
            return False
    return True


def _expires(token: str) -> float:
    """The `exp` claim of a JWT (0 when it cannot be read)."""
    with contextlib.suppress(ValueError, IndexError, TypeError, AttributeError):
        claims = token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        return float(payload["exp"])
    return 0.0


def context_name(lab: Lab) -> str:
    return f"lab-{lab.id}"


def _write_kubeconfig(
    kube: Kube, path: Path, crs: Course, mine: list[Seat], seconds: int, server: str | None
) -> Path:
    """One kubeconfig: the cluster as kubelab reaches it (or `server`), a user and a
    context per seat (namespace set; the seat's lab and variant in an extension, which
    the student's kubelab reads: kubelab.seat), the first lab's context current. Written 0600."""
    settings = kube.api.configuration
    ca = Path(settings.ssl_ca_cert).read_bytes() if settings.ssl_ca_cert else b""
    cluster: dict[str, Any] = {"server": server or settings.host}
    if ca:
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    users, contexts = [], []
    for seat in mine:
        name = context_name(seat.lab)
        users.append({"name": name, "user": {"token": kube.token(seat.namespace, sandbox.ANSWER, seconds)}})
        context = {
            "cluster": "course",
            "user": name,
            "namespace": seat.namespace,
            "extensions": [student_seat.extension(seat.lab, crs.id, seat.student)],
        }
        contexts.append({"name": name, "context": context})
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "course", "cluster": cluster}],
        "users": users,
        "contexts": contexts,
        "current-context": contexts[0]["name"],
    }
    temporary = path.with_suffix(".tmp")
    temporary.touch(mode=0o600)
    temporary.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    temporary.replace(path)
    return path


def recorded_seats(kube: Kube, crs: Course, students: Iterable[str] | None = None) -> list[ownership.Owned]:
    """What `up` made for this course (and these students), by kubelab's records, live."""
    wanted = set(students) if students is not None else None
    found: list[ownership.Owned] = []
    for owned in ownership.recorded(kube):
        if owned.purpose != PURPOSE or owned.kind != "Namespace":
            continue
        live = kube.get("Namespace", owned.name)
        metadata = (live or {}).get("metadata") or {}
        if live is None or str(metadata.get("uid")) != owned.uid:
            continue
        if (metadata.get("labels") or {}).get(COURSE_LABEL) != label_value(crs.id):
            continue
        if wanted is None or (metadata.get("annotations") or {}).get(STUDENT_ANNOTATION) in wanted:
            found.append(owned)
    return found


def down(kube: Kube, crs: Course) -> Report:
    """Remove every seat of the course that `up` made (its namespace, the cluster-scoped
    objects made for it, its node folders), and nothing else."""
    namespaces = recorded_seats(kube, crs)
    names = {o.name for o in namespaces}
    extra = [
        o
        for o in ownership.recorded(kube)
        if o.purpose == PURPOSE and o.kind != "Namespace" and any(o.name.endswith(f"-{n}") for n in names)
    ]
    released = apply.release_sandboxes(kube, namespaces)
    left = ownership.remove_all(kube, [*namespaces, *extra])
    failed = {line.split(":", 1)[0] for line in left}
    left += apply.remove_node_folders(kube, [n for n in released if f"Namespace {n}" not in failed])
    removed = tuple(o.describe() for o in (*namespaces, *extra) if o.describe() not in failed)
    return Report(removed=removed, problems=tuple(left))


def revoke(kube: Kube, crs: Course, student: str, out: Path | None = None) -> Report:
    """Take a student's access away now: their ServiceAccounts are deleted (every token
    issued for them dies with them) and made again with none; their kubeconfig (in `out`)
    is removed. `up` issues a new one."""
    course.check_student(student)
    seats_of = recorded_seats(kube, crs, [student])
    if not seats_of:
        raise InputError(
            f"{student} has no seat in course {crs.id} on this cluster",
            f"{student} 학생은 이 클러스터의 {crs.id} 과정에 자리가 없습니다",
        )
    removed: list[str] = []
    for owned in seats_of:
        account = kube.get("ServiceAccount", sandbox.ANSWER, owned.name)
        if account is not None:
            kube.delete("ServiceAccount", sandbox.ANSWER, owned.name, uid=str(account["metadata"]["uid"]))
        kube.create(sandbox.answer_account(owned.lab, PURPOSE), owned.name)
        removed.append(f"ServiceAccount {owned.name}/{sandbox.ANSWER}")
    if out is not None:
        kubeconfig_path(out, student).unlink(missing_ok=True)
    return Report(removed=tuple(removed))


STATUS_SECONDS = 3.0
"""How long each of one seat's look-only checks may take (a snapshot, not a verdict: each
looks once, and what it looks at is not waited for)."""


def standings(
    kube: Kube, crs: Course, lab: Lab, roster: Mapping[str, str], lang: Lang, seconds: float = STATUS_SECONDS
) -> list[Grade]:
    """Each student's seat of `lab` as it is now: not started (nothing of the lab's kinds in
    it yet: `missing`), or the score of the lab's look-only checks (`graded`; the checks
    that change the cluster are left to the teacher's grading). Read-only; one list per
    kind of the lab for the whole class, then the started seats' checks, JOBS at a time,
    each within `seconds`."""
    from kubelab import deadline, engine, grade

    mine = {course.student_namespace(lab, s): s for s in roster}
    placed = seat_ports(kube, crs)
    started: set[str] = set()
    for kind in lab.kinds:
        if kube.is_namespaced(kind):
            started |= {str(o["metadata"].get("namespace")) for o in kube.list(kind)} & set(mine)

    def one(namespace: str) -> Grade:
        student = mine[namespace]
        base = grade.Grade(
            student,
            roster[student],
            lab.id,
            grade.MISSING,
            total=lab.total_points,
            namespace=namespace,
            course=crs.id,
        )
        if namespace not in started:
            return base
        seat = course.with_ports(course.student_lab(crs, lab, student), placed.get(namespace, ()))
        # a snapshot: each check looks once (a pod still starting is "not yet"), the seat's
        # checks together within their deadline
        now = replace(seat, checks=tuple(replace(c, timeout=0.0) for c in seat.checks))
        with deadline.within(seconds * len(engine.selected(now, look_only=True)) + seconds):
            card = engine.run_in_process(kube, now, lang, look_only=True)
        points = {c.id: 0 for c in lab.checks} | {r.id: r.earned for r in card.results}
        values = dict(seat.values)
        return replace(base, status=grade.GRADED, earned=card.earned, points=points, card=card, values=values)

    with ThreadPoolExecutor(JOBS, thread_name_prefix="status") as pool:
        return sorted(pool.map(one, mine), key=lambda g: g.student)
