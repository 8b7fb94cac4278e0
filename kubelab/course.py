"""A course: its file (`course.yaml`), its roster, and each student's own variant of a lab.

A student's variant is decided by the course and the student alone, so the teacher's
grading run and the student's laptop (`kubelab start NN --course … --student …`) see the
same one:

- the namespace `<lab namespace>-u<student>` (the `u` keeps it apart from verify's `-sNN`
  sandboxes);
- `unique: name` and `unique: path` parameters follow from that namespace as in any
  sandbox (`pv-static-lab-05-u2026123`, `/data/sandboxes/lab-05-u2026123/host_dir`);
- a `unique: port` parameter is drawn from the course's secret seed: one of the 19 node
  ports after the lab's default (the ones kubelab's kind cluster maps to the host). On a
  shared cluster a node port is the whole cluster's, so a class's seat whose drawn port is
  another's is placed on a free one (kubelab.classroom.place_ports) and the seat records it
  (its namespace's kubelab.dev/node-ports, its kubeconfig): `with_ports`;
- any other parameter the course names under `vary:` is drawn from its list of choices,
  and one under `set:` has that value for every student.

The draw is HMAC-SHA256(seed, course/lab/student/parameter): without the seed no one can
tell a student's variant from another's, and two students' answers to a lab with such
values cannot be swapped.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubelab.errors import InputError
from kubelab.labspec import Lab
from kubelab.params import NODE_PORT_RANGE, Value, check_value

PORTS_PER_LAB = 19
"""Node ports a student's port is drawn from: the 19 after the lab's default (30081–30099
for lab 02: kind maps 30080–30099 to the host)."""
MAX_STUDENT_ID = 64
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
SLUG_LENGTH = 24
TAG_LENGTH = 10
"""Hex digits of the hash an id gets in its namespace (40 bits: no two of a class meet)."""


@dataclass(frozen=True)
class LabRules:
    """What a course sets for one lab."""

    due: str = ""
    setting: Mapping[str, Value] = field(default_factory=dict)
    """Parameters every student gets the same value of."""
    vary: Mapping[str, tuple[Value, ...]] = field(default_factory=dict)
    """Parameters each student gets one of these values of (drawn from the seed)."""


@dataclass(frozen=True)
class Course:
    id: str
    seed: str = field(repr=False)
    labs: Mapping[str, LabRules] = field(default_factory=dict)

    def rules(self, lab_id: str) -> LabRules:
        return self.labs.get(lab_id, LabRules())

    def draw(self, lab_id: str, student: str, what: str, choices: int) -> int:
        """A number in range(choices), fixed by the seed, the lab, the student and `what`."""
        message = f"{self.id}/{lab_id}/{student}/{what}".encode()
        digest = hmac.new(self.seed.encode(), message, hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") % choices


NO_COURSE = Course(id="", seed="")
"""Grading without a course file: every student's variant still their own (from the
student id), but anyone can work it out."""


def _refuse(where: str, en: str, ko: str) -> InputError:
    return InputError(f"{where}: {en}", f"{where}: {ko}")


def load_course(path: Path) -> Course:
    """A course file: `course:` (its id), `seed:` or `seed_env:` (the environment variable
    that holds it: keep the seed out of a repository students can read), and `labs:`
    (per lab id: `due`, `set`, `vary`)."""
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise _refuse(where, f"cannot read ({e.strerror})", f"읽을 수 없습니다 ({e.strerror})") from e
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise _refuse(where, f"not valid YAML ({e})", "올바른 YAML이 아닙니다") from e
    if not isinstance(data, dict) or not isinstance(data.get("course"), str) or not data["course"]:
        raise _refuse(where, "needs `course: <id>`", "`course: <id>`가 있어야 합니다")
    unknown = set(data) - {"course", "seed", "seed_env", "labs"}
    if unknown:
        raise _refuse(where, f"unknown keys: {', '.join(sorted(unknown))}", "알 수 없는 키가 있습니다")
    seed = data.get("seed")
    if data.get("seed_env"):
        seed = os.environ.get(str(data["seed_env"]))
        if not seed:
            raise _refuse(
                where,
                f"the seed is in ${data['seed_env']}, which is not set",
                f"시드가 ${data['seed_env']}에 있어야 하는데 설정되어 있지 않습니다",
            )
    if isinstance(seed, int) and not isinstance(seed, bool):
        seed = str(seed)
    if not isinstance(seed, str) or len(seed) < 8:
        raise _refuse(
            where,
            "needs a secret `seed:` (or `seed_env:`) of at least 8 characters",
            "8자 이상의 비밀 `seed:`(또는 `seed_env:`)가 있어야 합니다",
        )
    labs: dict[str, LabRules] = {}
    for lab_id, rules in (data.get("labs") or {}).items():
        labs[str(lab_id).zfill(2)] = _lab_rules(where, str(lab_id), rules or {})
    return Course(id=data["course"], seed=seed, labs=labs)


def _lab_rules(where: str, lab_id: str, rules: Any) -> LabRules:
    if not isinstance(rules, dict) or set(rules) - {"due", "set", "vary"}:
        raise _refuse(
            f"{where}: labs.{lab_id}", "may hold due, set and vary", "due, set, vary만 쓸 수 있습니다"
        )
    setting = rules.get("set") or {}
    vary = rules.get("vary") or {}
    if not isinstance(setting, dict) or not isinstance(vary, dict):
        raise _refuse(f"{where}: labs.{lab_id}", "set and vary are maps", "set과 vary는 맵입니다")
    choices: dict[str, tuple[Value, ...]] = {}
    for name, values in vary.items():
        if not isinstance(values, list) or not values:
            raise _refuse(f"{where}: labs.{lab_id}.vary.{name}", "a list of values", "값의 목록이어야 합니다")
        choices[str(name)] = tuple(values)
    return LabRules(due=str(rules.get("due") or ""), setting=dict(setting), vary=choices)


def check_student(student: str) -> str:
    if len(student) > MAX_STUDENT_ID or not STUDENT_ID.match(student):
        raise InputError(
            f"{student!r} is not a student id (letters, digits and . _ @ + -, at most {MAX_STUDENT_ID})",
            f"학생 ID로 쓸 수 없는 값입니다: {student!r} (영문자, 숫자, . _ @ + -, 최대 {MAX_STUDENT_ID}자)",
        )
    return student


TAG = re.compile(rf"-[0-9a-f]{{{TAG_LENGTH}}}$")


def slug(student: str) -> str:
    """The student id as part of a namespace name: lower-case letters and digits; ids that
    would lose something (case, other characters, length) get a hash of the id. An id that
    looks like such a hashed one (ends in a dash and TAG_LENGTH hex digits) is hashed too,
    so a plain id never equals another id's hashed form (`Alice` and `alice-<its hash>`)."""
    plain = re.sub(r"[^a-z0-9]+", "-", student.lower()).strip("-")
    if plain == student and len(plain) <= SLUG_LENGTH and not TAG.search(plain):
        return plain
    tag = hashlib.sha256(student.encode()).hexdigest()[:TAG_LENGTH]
    return f"{plain[: SLUG_LENGTH - TAG_LENGTH - 1].strip('-')}-{tag}".strip("-")


def student_namespace(lab: Lab, student: str) -> str:
    return f"{lab.namespace}-u{slug(check_student(student))}"


def distinct_namespaces(lab: Lab, students: Iterable[str]) -> None:
    """Refuse a roster in which two students would share one namespace (their grades
    would mix); with the hashes above only a hash collision can do it."""
    seen: dict[str, str] = {}
    for student in students:
        namespace = student_namespace(lab, student)
        other = seen.setdefault(namespace, student)
        if other != student:
            raise InputError(
                f"students {other!r} and {student!r} would share namespace {namespace}: "
                "rename one in the roster",
                f"두 학생({other!r}, {student!r})이 같은 네임스페이스를 쓰게 됩니다: {namespace}; "
                "명단에서 하나의 ID를 바꾸세요",
            )


def student_values(course: Course, lab: Lab, student: str) -> dict[str, Value]:
    """Every parameter's value in this student's variant (see the module)."""
    check_student(student)
    rules = course.rules(lab.id)
    unknown = (set(rules.setting) | set(rules.vary)) - set(lab.params)
    if unknown:
        raise InputError(f"course: lab {lab.id} has no parameter {', '.join(sorted(unknown))}")
    namespace = student_namespace(lab, student)
    values: dict[str, Value] = {}
    for name, param in lab.params.items():
        if param.unique == "port":
            first = int(param.default) + 1
            ports = [p for p in range(first, first + PORTS_PER_LAB) if p in NODE_PORT_RANGE]
            values[name] = ports[course.draw(lab.id, student, name, len(ports))]
        elif param.unique:
            values[name] = param.for_sandbox(namespace, 0)
        elif name in rules.vary:
            choices = rules.vary[name]
            values[name] = check_value(param, choices[course.draw(lab.id, student, name, len(choices))])
        elif name in rules.setting:
            values[name] = check_value(param, rules.setting[name])
    return values


def student_lab(course: Course, lab: Lab, student: str) -> Lab:
    """The lab as this student's variant has it."""
    return lab.with_values(student_namespace(lab, student), student_values(course, lab, student))


def with_ports(lab: Lab, ports: tuple[int, ...]) -> Lab:
    """The variant with its `unique: port` parameters, in order, at `ports` (a class's seat
    placed on other ports than its draw); unchanged when `ports` is not one per parameter."""
    names = [p.name for p in lab.params.values() if p.unique == "port"]
    if len(ports) != len(names) or tuple(lab.node_ports) == ports:
        return lab
    chosen = {k: v for k, v in lab.values.items() if k in lab.params}
    return lab.with_values(lab.answer_namespace, chosen | dict(zip(names, ports, strict=True)))


def load_roster(path: Path) -> dict[str, str]:
    """A roster CSV: a header, then one student per row (`id`, `name`; other columns are
    kept out). Student id → name."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the roster ({e})", f"{path}: 명단을 읽을 수 없습니다") from e
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "id" not in rows[0]:
        raise InputError(
            f"{path}: a roster is a CSV file with a header row holding id (and name)",
            f"{path}: 명단은 id(와 name) 머리글이 있는 CSV 파일입니다",
        )
    roster: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        student = (row.get("id") or "").strip()
        try:
            check_student(student)
        except InputError as e:
            raise InputError(f"{path} line {number}: {e.en}", f"{path} {number}행: {e.ko}") from None
        if student in roster:
            raise InputError(f"{path} line {number}: {student} is listed twice")
        roster[student] = (row.get("name") or "").strip()
    return roster
