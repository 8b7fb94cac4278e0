"""Grading a course: every student's submission to a lab, each in a sandbox of its own,
checked, explained and kept as evidence.

A submission is taken in without trusting it (kubelab.submissions), read as manifests
(and, for a lab that declares `step_verbs`, a `steps.txt` of kubectl commands), applied in
the student's own sandbox (kubelab.sandbox: the namespace of the student's variant,
kubelab.course) as the sandbox's ServiceAccount, checked by a checker process of its own,
and the sandbox removed. What the student asked for that the sandbox refused is listed
in the feedback and applied no further. Every student ends with one status:

- graded: the checks ran; the points are the checks';
- invalid: the submission could not be read (an archive or file refused, broken YAML, no
  manifest): no points, and the one line why;
- timed-out: the submission did not finish within its time;
- environment-error: the cluster failed, not the student: no grade (regraded by --resume);
- missing: on the roster, nothing handed in.

`--live` grades the students' existing namespaces on a course cluster instead, applying
nothing. Evidence of each (kubelab.evidence) is written before the sandbox goes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shlex
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubelab import (
    capacity,
    course,
    deadline,
    engine,
    evidence,
    manifests,
    nodefiles,
    nodefolders,
    ownership,
    sandbox,
    submissions,
)
from kubelab.cleanup import Cleanup
from kubelab.course import Course
from kubelab.errors import (
    ChecksStopped,
    ChecksTimedOut,
    ClusterUnavailable,
    EnvironmentProblem,
    InputError,
    Interrupted,
    KubelabError,
)
from kubelab.kube import Kube, api_exception
from kubelab.labspec import Lab, Step
from kubelab.manifests import Document
from kubelab.params import SANDBOX_HOST_ROOT, Value
from kubelab.results import Scorecard
from kubelab.text import Lang, Text, printable

GRADED, INVALID, TIMED_OUT, ENVIRONMENT_ERROR, MISSING = (
    "graded",
    "invalid",
    "timed-out",
    "environment-error",
    "missing",
)
FINAL = (GRADED, INVALID, MISSING)
"""Statuses --resume keeps (the others are graded again)."""
ARCHIVES = (".zip", ".tar.gz", ".tgz")
STEPS_FILE = "steps.txt"
MAX_STEPS = 20
EVIDENCE_SECONDS = 60.0
"""Seconds kubelab's own collection of evidence may take (not the student's time)."""
PORT_WAIT = 60.0
TIME_LIMIT = 300.0
"""Seconds one submission may take, applying and checking (the checks' own timeouts are
within it)."""
ALLOWED_FLAGS = frozenset({"--replicas", "--current-replicas", "--to-revision", "--revision", "--overwrite"})
"""The only flags a steps file may give (with `=value`): kubelab chooses who runs a step,
against which cluster and namespace, reading which files; anything else is refused."""


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path | None
    """A folder, .zip or .tar.gz; None: nothing handed in (or, live, the namespace)."""
    name: str = ""
    namespace: str = ""
    """Live grading: the student's namespace on the course cluster."""
    ports: tuple[int, ...] = ()
    """Live grading of a class's seat: the node ports the seat was placed on (they may not
    be the student's draw: kubelab.classroom.place_ports)."""


@dataclass(frozen=True)
class Grade:
    """One student's result, as grades.csv/json and evidence/<student>/grade.json hold it."""

    student: str
    name: str
    lab: str
    status: str
    earned: int = 0
    total: int = 0
    points: Mapping[str, int] = field(default_factory=dict)
    """Check id → points earned (every check of the lab; 0 when not graded)."""
    reason: str = ""
    """Why it is not graded (invalid, timed-out, environment-error), in English."""
    reason_ko: str = ""
    refused: tuple[str, ...] = ()
    """What the sandbox refused to apply, one line each."""
    digest: str = ""
    """SHA-256 over the submission's files (their paths and contents)."""
    namespace: str = ""
    values: Mapping[str, Value] = field(default_factory=dict)
    seconds: float = 0.0
    started: str = ""
    course: str = ""
    leftovers: tuple[str, ...] = ()
    card: Scorecard | None = None

    @property
    def key(self) -> str:
        return self.student

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("card")
        data["card"] = json.loads(self.card.to_json()) if self.card else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Grade:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "card"}
        for name in ("refused", "leftovers"):
            fields[name] = tuple(fields.get(name) or ())
        return cls(**fields, card=Scorecard.from_dict(data["card"]) if data.get("card") else None)


def find_submissions(folder: Path, roster: Mapping[str, str]) -> tuple[list[Submission], list[Text]]:
    """One submission per entry of `folder` (a folder or an archive named for the student),
    and one per roster student without one; with the entries left out, and why."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder of submissions", f"{folder}: 제출물 폴더가 없습니다")
    found: dict[str, Submission] = {}
    notes: list[Text] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        student = entry.name
        shown = printable(entry.name)  # a folder's name is the student's: shown, never acted on
        for suffix in ARCHIVES:
            if entry.is_file() and student.endswith(suffix):
                student = student.removesuffix(suffix)
                break
        else:
            if not entry.is_dir() or entry.is_symlink():
                notes.append(
                    Text(
                        f"{shown}: 폴더나 .zip/.tar.gz가 아니라 건너뜁니다",
                        f"{shown}: not a folder, .zip or .tar.gz; skipped",
                    )
                )
                continue
        try:
            course.check_student(student)
        except InputError as e:
            notes.append(Text(f"{shown}: 건너뜁니다 ({e.ko})", f"{shown}: skipped ({e.en})"))
            continue
        if entry.is_symlink():
            notes.append(Text(f"{shown}: 링크라서 건너뜁니다", f"{shown}: a link; skipped"))
            continue
        if student in found or student.lower() in {s.lower() for s in found}:
            notes.append(
                Text(
                    f"{shown}: {student}의 제출물이 이미 있어 건너뜁니다",
                    f"{shown}: {student} has a submission already; skipped",
                )
            )
            continue
        if roster and student not in roster:
            notes.append(
                Text(f"{student}: 명단에 없지만 채점합니다", f"{student}: not on the roster; graded anyway")
            )
        found[student] = Submission(student, entry, roster.get(student, ""))
    for student, name in roster.items():
        if student not in found:
            found[student] = Submission(student, None, name)
    return sorted(found.values(), key=lambda s: s.student), notes


def live_submissions(
    kube: Kube, lab: Lab, pattern: str, crs: Course | None, roster: Mapping[str, str]
) -> list[Submission]:
    """The students' namespaces on a course cluster that match `pattern` (a shell-style
    pattern, e.g. lab-03-*): with a course, each maps back to the roster student whose
    variant it is; otherwise the student is the namespace."""
    import fnmatch

    by_namespace = {course.student_namespace(lab, s): s for s in roster} if crs else {}
    found = []
    for ns in kube.list("Namespace"):
        name = str(ns["metadata"]["name"])
        labels = ns["metadata"].get("labels") or {}
        sandboxed = labels.get(sandbox.SANDBOX) and capacity.COURSE not in labels  # a class's seat is graded
        if not fnmatch.fnmatchcase(name, pattern) or sandboxed or ownership.is_system_namespace(name):
            continue  # checks disturb what they look at: never kube-system and the like
        student = by_namespace.get(name, name)
        ports = sandbox.recorded_ports(ns) if capacity.COURSE in labels else ()
        found.append(Submission(student, None, roster.get(student, ""), namespace=name, ports=ports))
    if not found:
        raise InputError(f"no namespace matches {pattern!r}", f"{pattern!r}에 맞는 네임스페이스가 없습니다")
    return sorted(found, key=lambda s: s.student)


def parse_steps(text: str, lab: Lab) -> tuple[Step, ...]:
    """A steps file: one `kubectl <verb> …` per line (# comments), each verb one the lab
    declares, no flag that chooses who, where or which files; never a shell."""
    if not lab.step_verbs:
        raise submissions.SubmissionRefused(
            f"lab {lab.id} takes no {STEPS_FILE}: its task is manifests",
            f"실습 {lab.id}에서는 {STEPS_FILE} 파일을 받지 않습니다: 과제는 매니페스트입니다",
        )
    steps: list[Step] = []
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: \x1c, \x85 … are refused
        line = line.removesuffix("\r")  # a file written on Windows
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{STEPS_FILE} line {number}"
        if printable(line) != line:
            raise submissions.SubmissionRefused(
                f"{where}: a control character ({_first_control(line)}) has no place in a command",
                f"{where}: 명령에 제어 문자({_first_control(line)})가 있습니다",
            )
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            raise submissions.SubmissionRefused(f"{where}: {e}", f"{where}: {e}") from None
        if len(words) < 2 or words[0] != "kubectl" or words[1] not in lab.step_verbs:
            verbs = ", ".join(lab.step_verbs)
            raise submissions.SubmissionRefused(
                f"{where}: a step is `kubectl <verb> …` with a verb of this lab ({verbs})",
                f"{where}: 단계는 이 실습의 동사({verbs})로 된 `kubectl <동사> …`입니다",
            )
        for word in words[2:]:
            flag = word.split("=", 1)[0]
            if word.startswith("-") and flag not in ALLOWED_FLAGS:
                raise submissions.SubmissionRefused(
                    f"{where}: {flag} is not allowed (only {', '.join(sorted(ALLOWED_FLAGS))}=…: kubelab "
                    "chooses the namespace, user and files)",
                    f"{where}: {flag} 옵션은 쓸 수 없습니다 "
                    "(네임스페이스, 사용자, 파일은 kubelab이 정합니다)",
                )
        steps.append(tuple(words[1:]))
        if len(steps) > MAX_STEPS:
            raise submissions.SubmissionRefused(
                f"more than {MAX_STEPS} steps", f"단계가 {MAX_STEPS}개보다 많습니다"
            )
    return tuple(steps)


@dataclass(frozen=True)
class TakenIn:
    """A submission as kubelab read it."""

    folder: Path
    files: tuple[tuple[str, str, int], ...]
    """(path in the submission, SHA-256, bytes) of every file."""
    digest: str
    docs: tuple[Document, ...]
    steps: tuple[Step, ...]


def _first_control(line: str) -> str:
    return next(printable(c) for c in line if printable(c) != c)


def take_in(submission: Path, work: Path, lab: Lab, limits: submissions.Limits) -> TakenIn:
    """Copy or extract the submission into `work` and read it; a SubmissionRefused (the
    student's one line, naming paths as they are inside the submission) when it cannot be."""
    try:
        return _take_in(submission, work, lab, limits)
    except InputError as e:
        raise submissions.SubmissionRefused(
            _inside(e.en, submission, work), _inside(e.ko, submission, work)
        ) from None


def _inside(said: str, *roots: Path) -> str:
    """A refusal's line with the grader's folders taken out of its paths (`zz-broken.yaml:
    line 5 …`, not kubelab's temporary folder), and shown safely."""
    for root in roots:
        for where in dict.fromkeys((str(root.resolve()), str(root.absolute()), str(root))):
            said = said.replace(where + "/", "").replace(where, ".")
    return printable(said)


def _take_in(submission: Path, work: Path, lab: Lab, limits: submissions.Limits) -> TakenIn:
    folder = submissions.take_in(submission, work, limits)
    files = []
    paths = []
    digest = hashlib.sha256()
    for path in submissions.files_of(folder, limits):
        data = path.read_bytes()
        paths.append(path.relative_to(folder).as_posix())
        files.append((printable(paths[-1]), hashlib.sha256(data).hexdigest(), len(data)))
        digest.update(f"{paths[-1]}\0{files[-1][1]}\0".encode())
    yaml_files = [folder / p for p in paths if p.endswith((".yaml", ".yml"))]
    if not yaml_files:
        raise submissions.SubmissionRefused("no .yaml or .yml file", ".yaml 이나 .yml 파일이 없습니다")
    docs = manifests.load(yaml_files)
    if len(docs) > manifests.MAX_DOCUMENTS:
        raise submissions.SubmissionRefused(
            f"{len(docs)} documents; a submission may hold at most {manifests.MAX_DOCUMENTS}",
            f"문서가 {len(docs)}개입니다; 제출물은 {manifests.MAX_DOCUMENTS}개까지입니다",
        )
    steps_files = [folder / p for p in paths if p.rsplit("/", 1)[-1] == STEPS_FILE]
    if len(steps_files) > 1:
        raise submissions.SubmissionRefused(
            f"more than one {STEPS_FILE}", f"{STEPS_FILE} 파일이 여러 개입니다"
        )
    steps = parse_steps(manifests.read_text(steps_files[0]), lab) if steps_files else ()
    shown = tuple(replace(d, path=d.path.relative_to(folder)) for d in docs)
    return TakenIn(folder, tuple(files), digest.hexdigest(), shown, steps)


def placed(docs: Iterable[Document], lab: Lab, student_namespace: str) -> tuple[list[Document], list[str]]:
    """The documents for the student's namespace: one that names the lab's namespace or the
    student's is moved into the sandbox; one that names another is refused."""
    kept: list[Document] = []
    refused: list[str] = []
    for doc in docs:
        found = doc.obj.get("metadata")
        metadata: dict[str, Any] = found if isinstance(found, dict) else {}
        declared = metadata.get("namespace")
        if declared in (None, "", lab.namespace, student_namespace):
            if declared:
                rest = {k: v for k, v in metadata.items() if k != "namespace"}
                doc = replace(doc, obj={**doc.obj, "metadata": rest})
            kept.append(doc)
        else:
            refused.append(f"{doc.where} {doc.kind} {doc.name}: namespace {declared} is not the student's")
    return kept, refused


class Locks:
    """Submissions that may not run at once (the same namespace, the same node port)
    wait for each other."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextlib.contextmanager
    def holding(self, keys: Iterable[str]) -> Iterator[None]:
        with self._guard:
            locks = [self._locks.setdefault(k, threading.Lock()) for k in sorted(set(keys))]
        with contextlib.ExitStack() as stack:
            for lock in locks:
                stack.enter_context(lock)
            yield


@dataclass(frozen=True)
class Run:
    """What one grading run shares."""

    kube: Kube
    lab: Lab
    course: Course
    out: Path
    work: Path
    lang: Lang = "ko"
    live: bool = False
    time_limit: float = TIME_LIMIT
    limits: submissions.Limits = field(default_factory=submissions.Limits)
    locks: Locks = field(default_factory=Locks)
    kept: Mapping[str, Grade] = field(default_factory=dict)
    """Earlier grades --resume keeps when the submission is unchanged."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def student_lab(run: Run, sub: Submission) -> Lab:
    """The lab as this student's variant has it: from the course, or (live, a namespace
    that is no roster student's) the namespace's own with the lab's defaults."""
    if run.live and sub.namespace != course.student_namespace(run.lab, sub.student):
        return run.lab.with_values(sub.namespace, {})
    return course.with_ports(course.student_lab(run.course, run.lab, sub.student), sub.ports)


def grade_one(run: Run, sub: Submission, attempt: int = 0) -> Grade:
    """Grade one submission (see the module); a ClusterUnavailable goes up (no one else can
    be graded either), every other failure is this student's status. Two gradings of one
    student (--repeat), or of two students who share a node port, take turns, evidence
    and all."""
    lab = student_lab(run, sub)
    with run.locks.holding([lab.answer_namespace, *map(str, lab.node_ports)]):
        return _grade_one(run, sub, lab, attempt)


def _grade_one(run: Run, sub: Submission, lab: Lab, attempt: int) -> Grade:
    started, began = _now(), time.monotonic()
    base = Grade(
        student=sub.student,
        name=sub.name,
        lab=lab.id,
        status=MISSING,
        total=lab.total_points,
        points={c.id: 0 for c in lab.checks},
        namespace=lab.answer_namespace,
        values={k: v for k, v in lab.values.items() if k != "namespace"},
        started=started,
        course=run.course.id,
    )
    if not run.live and sub.path is None:
        return evidence.keep(evidence.fresh_folder(run.out, sub.student), base)
    taken: TakenIn | None = None
    left: list[str] = []
    starved: list[str] = []
    try:
        if not run.live:
            assert sub.path is not None
            work = run.work / f"{sub.student}.{attempt}"
            taken = take_in(sub.path, work, lab, run.limits)
            base = replace(base, digest=taken.digest)
            previous = run.kept.get(sub.student)
            same = previous and previous.digest == taken.digest and dict(previous.values) == dict(base.values)
            if previous and same and previous.status in FINAL:
                return previous
        folder = evidence.fresh_folder(run.out, sub.student)
        evidence.submission(folder, taken.files if taken else (), base)
        if lab.node_ports and taken is not None:  # a port held elsewhere is the run's problem
            _wait_ports_free(run.kube, lab.node_ports)
        grade = _check(run, lab, taken, base, folder, left, starved)
    except (submissions.SubmissionRefused, InputError) as e:
        grade = replace(base, status=INVALID, reason=e.en, reason_ko=e.ko)
    except ChecksTimedOut as e:
        grade = replace(base, status=TIMED_OUT, reason=e.en, reason_ko=e.ko)
    except Interrupted:
        raise
    except ClusterUnavailable as e:
        if not run.kube.healthy():
            raise  # the cluster is down: nobody else can be graded either
        grade = replace(base, status=ENVIRONMENT_ERROR, reason=e.en, reason_ko=e.ko)  # this one alone
    except EnvironmentProblem as e:
        grade = replace(base, status=ENVIRONMENT_ERROR, reason=e.en, reason_ko=e.ko)
    except KubelabError as e:
        grade = replace(
            base, status=ENVIRONMENT_ERROR, reason=f"kubelab: {e.en}", reason_ko=f"kubelab: {e.ko}"
        )
    except Exception:  # a bug of kubelab's: never the student's zero, never its traceback
        said = _bug(run, sub)
        grade = replace(base, status=ENVIRONMENT_ERROR, reason=said.en, reason_ko=said.ko)
    finally:
        if taken is not None:
            import shutil

            shutil.rmtree(taken.folder, ignore_errors=True)
    if grade.status == INVALID:
        evidence.fresh_folder(run.out, sub.student)  # nothing of an earlier grading beside it
    grade = _no_room(grade, starved)
    done = replace(
        grade,
        seconds=round(time.monotonic() - began, 1),
        leftovers=(*grade.leftovers, *left),
        reason=printable(grade.reason),
        reason_ko=printable(grade.reason_ko),
        refused=tuple(printable(r) for r in grade.refused),
    )
    return evidence.keep(evidence.folder(run.out, sub.student), done)


BUG_FILE = "kubelab-error.txt"


def _bug(run: Run, sub: Submission) -> Text:
    """A bug of kubelab's met while grading this student: its traceback goes to the
    evidence (for kubelab's developers), the teacher reads one line that points there."""
    import traceback

    where = evidence.folder(run.out, sub.student) / BUG_FILE
    with contextlib.suppress(OSError):
        where.write_text(traceback.format_exc(), encoding="utf-8")
    shown = f"evidence/{sub.student}/{BUG_FILE}"
    return Text(
        f"kubelab이 이 제출물을 채점하다 실패했습니다 (kubelab의 버그; 학생 탓이 아닙니다): {shown}",
        f"kubelab failed while grading this submission (a bug of kubelab's, not the student's): {shown}",
    )


def _expired(run: Run) -> None:
    found = deadline.current()
    if found is not None and found.expired():
        raise ChecksTimedOut(
            f"not finished within {run.time_limit:g} s", f"{run.time_limit:g}초 안에 끝나지 않았습니다"
        )


def _after_checks(run: Run, lab: Lab, folder: Path, starved: list[str]) -> None:
    """What the cluster shows once the checks end: a pod it had no room for (added to
    `starved`) and the evidence. Nothing is asked of a cluster that is down (each request
    would take its bound, and the run is ending)."""
    if not run.kube.healthy():
        return
    with deadline.fresh(EVIDENCE_SECONDS):
        try:
            found = capacity.starved(run.kube, lab.answer_namespace)
        except ClusterUnavailable:
            return
        except (KubelabError, api_exception()):
            found = None
        starved += [found] if found else []
        with contextlib.suppress(KubelabError):
            evidence.cluster(folder, run.kube, lab)


def _check(
    run: Run, lab: Lab, taken: TakenIn | None, base: Grade, folder: Path, left: list[str], starved: list[str]
) -> Grade:
    """Apply (unless live) and check within the student's time; the evidence is collected
    before the sandbox goes, however the checking ended; what could not be removed is
    added to `left`, and a pod the cluster had no room for to `starved`. The wait for room
    on the cluster and the sandbox's furnishing are the run's time, not the student's."""
    cleanup = Cleanup(run.kube)
    refused: list[str] = []
    folders = nodefolders.Watch(run.kube, lab.answer_namespace)
    try:
        box: sandbox.Sandbox | None = None
        docs: list[Document] = []
        if taken is not None:
            docs, refused = placed(taken.docs, run.lab, lab.answer_namespace)
            box = sandbox.open_sandbox(
                run.kube,
                run.lab,
                cleanup,
                "grade",
                dict(base.values),
                namespace=lab.answer_namespace,
                docs=docs,
                steps=taken.steps,
            )
            folders.folder = sandbox.node_folder(run.kube, lab.answer_namespace)
            folders.nodes = sandbox.nodes_elsewhere(run.kube, folders.folder)
        with folders.running(), deadline.within(run.time_limit):
            if box is not None and taken is not None:
                rejected = sandbox.apply_answer(run.kube, box, docs, taken.steps, cleanup, "grade")
                refused += [r.line() for r in rejected]
                _expired(run)
            card = engine.run_isolated(lab, run.kube.target, run.lang, cancel=folders.stopped)
            _expired(run)
    except (ChecksTimedOut, ChecksStopped):
        over = folders.reason()
        if over is not None:  # stopped for what it wrote: that, not the time, is its grade
            raise submissions.SubmissionRefused(*over) from None
        raise
    except KeyboardInterrupt:
        raise Interrupted(cleanup.run(), undone=True) from None
    except Interrupted as stopped:
        raise Interrupted((*stopped.leftovers, *cleanup.run()), undone=stopped.undone) from None
    finally:
        _after_checks(run, lab, folder, starved)
        left += cleanup.run(ask_first=True)  # after an outage, `kubelab cleanup` removes it
    faults = [f"{r.id}: {r.fault}" for r in card.results if r.fault]
    grade = replace(
        base,
        status=GRADED,
        earned=card.earned,
        total=card.total,
        points={r.id: r.earned for r in card.results},
        refused=tuple(refused),
        leftovers=tuple(card.leftovers),
        card=card,
    )
    over = folders.reason()
    if over is not None:  # the answer broke the sandbox's rule: its checks say nothing
        zero = {r.id: 0 for r in card.results}
        return replace(grade, status=INVALID, earned=0, points=zero, reason=over[0], reason_ko=over[1])
    if card.error or faults:
        why = card.error or "; ".join(faults)
        return replace(grade, status=ENVIRONMENT_ERROR, reason=why, reason_ko=card.error_ko or why)
    return grade


def _no_room(grade: Grade, starved: list[str]) -> Grade:
    """A grade that a pod the cluster had no room for may have cost (out of time, or points
    lost) is the run's environment error, graded again by --resume, never the student's."""
    if not starved or not (
        grade.status == TIMED_OUT or (grade.status == GRADED and grade.earned < grade.total)
    ):
        return grade
    return replace(
        grade,
        status=ENVIRONMENT_ERROR,
        reason=f"the cluster had no room for this submission's pods ({starved[0]}): not the student's doing; "
        "grade it again (--resume)",
        reason_ko=f"클러스터에 이 제출물의 파드를 둘 자리가 없었습니다 ({starved[0]}): 학생 탓이 아닙니다; "
        "다시 채점하세요 (--resume)",
    )


def _wait_ports_free(kube: Kube, ports: Sequence[int]) -> None:
    """Until no Service holds these node ports (the student before, who drew the same port,
    has its Services go with its namespace a moment after it is emptied), at most
    PORT_WAIT seconds; a port still held then is an EnvironmentProblem naming the holder:
    the student is graded again (--resume), never scored without their port."""
    from kubelab.errors import CheckFailed, Finding
    from kubelab.waiting import wait_until

    def free() -> None:
        held = sorted(
            f"{port} (Service {namespace}/{name})"
            for port, (namespace, name) in sandbox.held_node_ports(kube).items()
            if port in ports
        )
        if held:
            raise CheckFailed(Finding(f"node ports {', '.join(map(str, ports))}", "free", ", ".join(held)))

    try:
        wait_until(free, PORT_WAIT)
    except CheckFailed as e:
        raise EnvironmentProblem(
            f"node port held by another: {e.finding.found}; not the student's doing: grade again (--resume)",
            f"다른 곳이 노드 포트를 쓰고 있습니다: {e.finding.found}; 학생 탓이 아닙니다: "
            "다시 채점하세요 (--resume)",
        ) from None


def grade_all(
    run: Run,
    subs: Sequence[Submission],
    jobs: int,
    started: Any,
    finished: Any,
    repeat: int = 1,
) -> tuple[list[Grade], EnvironmentProblem | None]:
    """Grade every submission (`repeat` times each), `jobs` at a time, in the order of
    the attempts; an environment problem that stops the run marks every student not yet
    graded environment-error. `started(task)` and `finished(task, grade)` are told of
    each (submission, attempt) task."""
    from kubelab import runner

    run.kube.resource("Namespace")  # discover the API once, before the threads share it
    tasks = [(sub, attempt) for attempt in range(repeat) for sub in subs]
    with nodefiles.crew(run.kube, SANDBOX_HOST_ROOT):  # the node folders' gauges and removal
        ran = runner.run_all(
            tasks,
            lambda task: (task[1], grade_one(run, task[0], task[1])),
            jobs,
            started,
            lambda task, done: finished(task, done[1]),
            lambda done: done[1].leftovers,
        )
    grades = [grade for _, grade in sorted(ran.outcomes, key=lambda done: done[0])]  # first attempts first
    if ran.problem is not None:
        done = {g.student for g in grades}
        for sub in subs:
            if sub.student in done:
                continue
            if sub.student in run.kept:
                grades.append(run.kept[sub.student])  # its grade.json is left as it was
                continue
            status = MISSING if sub.path is None and not run.live else ENVIRONMENT_ERROR
            why = (ran.problem.en, ran.problem.ko) if status == ENVIRONMENT_ERROR else ("", "")
            grade = Grade(
                student=sub.student,
                name=sub.name,
                lab=run.lab.id,
                status=status,
                total=run.lab.total_points,
                points={c.id: 0 for c in run.lab.checks},
                reason=why[0],
                reason_ko=why[1],
                course=run.course.id,
            )
            grades.append(evidence.keep(evidence.folder(run.out, sub.student), grade))
    return grades, ran.problem


def changed(grades: Iterable[Grade]) -> dict[str, list[str]]:
    """Students graded more than once (--repeat) whose verdicts differed: the checks (or
    "status") that did not always say the same."""
    runs: dict[str, list[Grade]] = {}
    for grade in grades:
        runs.setdefault(grade.student, []).append(grade)
    found: dict[str, list[str]] = {}
    for student, mine in runs.items():
        differs = [c for c in mine[0].points if len({g.points.get(c) for g in mine}) > 1]
        if len({g.status for g in mine}) > 1:
            differs.append("status")
        if differs:
            found[student] = differs
    return found


def previous_grades(out: Path, lab: Lab, course_id: str) -> dict[str, Grade]:
    """The grades an earlier run of the same lab and course wrote to `out` (for --resume
    and --only); a grade whose values differ from the student's now is not kept by
    --resume (grade_one compares the submission's digest)."""
    kept: dict[str, Grade] = {}
    for path in sorted((out / "evidence").glob("*/grade.json")):
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            grade = Grade.from_dict(json.loads(path.read_text(encoding="utf-8")))
            if grade.lab == lab.id and grade.course == course_id:
                kept[grade.student] = grade
    return kept
