"""Check results and the scorecard, and their JSON file (the grader's input)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kubelab.errors import Finding
from kubelab.labspec import CheckSpec
from kubelab.text import Lang, Text, printable

LABELS = {
    "object": Text("대상", "object"),
    "expected": Text("기대", "expected"),
    "found": Text("실제", "found"),
    "detail": Text("진단", "diagnosis"),
    "settled": Text("더 기다리지 않은 이유", "not waiting because"),
    "hint": Text("힌트", "hint"),
    "see": Text("확인", "look with"),
}


def failure_message(finding: Finding, spec: CheckSpec, namespace: str, lang: Lang) -> str:
    """The learner's message: object, expected, found, diagnosis, hint, kubectl command."""

    def row(key: str, value: str) -> str:
        return f"{LABELS[key].both(lang)}: {value}"

    waited = f"  (waited {finding.waited:g} s)" if finding.waited else ""
    rows = [  # what was found is the answer's own text: shown, never acted on by a terminal
        row("object", printable(finding.subject)),
        row("expected", printable(finding.expected, block=True)),
        row("found", printable(finding.found, block=True) + waited),
    ]
    if finding.detail:
        rows.append(row("detail", printable(finding.detail.both(lang), block=True)))
    if finding.settled:
        rows.append(row("settled", printable(finding.settled.both(lang), block=True)))
    rows.append(row("hint", spec.hint.both(lang)))
    rows.append(row("see", spec.kubectl))
    return "\n".join(rows)


def brief_message(finding: Finding, lang: Lang) -> str:
    """The same failure in one line, in `lang`: what was found, against what was expected."""
    found, expected = LABELS["found"].pick(lang), LABELS["expected"].pick(lang)
    return f"{found}: {printable(finding.found)} ({expected}: {printable(finding.expected)})"


def needs_text(failed: list[str], short: bool = False) -> Text:
    """Why a check did not run: checks it needs failed (short: for the scorecard's line)."""
    names = ", ".join(failed)
    if short:
        return Text(f"{names} 검사부터", f"needs {names} first")
    return Text(f"이 검사는 {names} 검사가 통과해야 합니다 (검사하지 않음)", f"needs {names} first (not run)")


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome."""

    id: str
    title: Text
    passed: bool
    points: int
    """Points the check is worth."""
    seconds: float
    message: str
    """Empty when passed; the learner's failure message otherwise."""
    fault: str = ""
    """Set when the check could not be judged because the cluster failed (not the
    learner's doing): what went wrong."""
    brief: str = ""
    """The failure in one line (the short scorecard's line for all but the first)."""
    blocked_by: tuple[str, ...] = ()
    """The failed checks to fix first: this one was not run (lab.yaml `needs`)."""
    judged: bool = False
    """The check looked at the answer's own object and gave a verdict on it: it passed,
    or failed on what it found. False when the object was missing, the check was not run
    (a need failed) or could not judge (a fault, a checker's error): then a failure is not
    one of the learner's tries (kubelab.hints)."""
    deferred: bool = False
    """Not judged here: the credential this run acts with may not do what the check needs
    (a student's class seat: read nodes, make a scratch namespace); its message says what.
    Left to the teacher's grading: neither passed nor the answer's failure."""

    @property
    def earned(self) -> int:
        return self.points if self.passed else 0


@dataclass(frozen=True)
class Scorecard:
    """All checks of one run of a lab against one namespace."""

    lab: str
    namespace: str
    results: tuple[CheckResult, ...] = ()
    error: str | None = None
    """Set when the run could not check anything (e.g. the cluster was unreachable)."""
    error_ko: str | None = None
    """The same in Korean."""
    error_code: int = 0
    """The exit code that error means (3: the cluster or machine; see errors.ExitCode)."""
    leftovers: tuple[str, ...] = ()
    """What the checks changed and could not undo (or remove), one line each."""
    interrupted: bool = False
    """The run was stopped (Ctrl-C) before every check ran."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def earned(self) -> int:
        return sum(r.earned for r in self.results)

    @property
    def total(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def deferred_points(self) -> int:
        """Points of the checks left to the teacher's grading (CheckResult.deferred)."""
        return sum(r.points for r in self.results if r.deferred)

    @property
    def passed(self) -> bool:
        """Every check judged here passed (a deferred one is not judged here)."""
        judged = [r for r in self.results if not r.deferred]
        return self.error is None and bool(judged) and all(r.passed for r in judged)

    def failed_ids(self, blocked: bool = True) -> list[str]:
        """The checks that failed; blocked=False leaves out those that did not run
        because a check they need failed."""
        return [
            r.id for r in self.results if not r.passed and not r.deferred and (blocked or not r.blocked_by)
        ]

    def fails_like(self, fails: str, passes: Iterable[str] = ()) -> bool:
        """This card fails `fails` itself (not for a need) and passes each of `passes`:
        what a known-wrong answer's card says (lab.yaml `wrong`)."""
        passed = {r.id for r in self.results if r.passed}
        return fails in self.failed_ids(blocked=False) and passed.issuperset(passes)

    def to_json(self) -> str:
        data = asdict(self)
        data["earned"], data["total"] = self.earned, self.total
        return json.dumps(data, ensure_ascii=False, indent=2)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Scorecard:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorecard:
        results = tuple(
            CheckResult(
                id=r["id"],
                title=Text(**r["title"]),
                passed=r["passed"],
                points=r["points"],
                seconds=r["seconds"],
                message=r["message"],
                fault=r.get("fault", ""),
                brief=r.get("brief", ""),
                blocked_by=tuple(r.get("blocked_by") or ()),
                judged=bool(r.get("judged", False)),
                deferred=bool(r.get("deferred", False)),
            )
            for r in data["results"]
        )
        return cls(
            data["lab"],
            data["namespace"],
            results,
            data.get("error"),
            data.get("error_ko"),
            int(data.get("error_code") or 0),
            tuple(data.get("leftovers") or ()),
            bool(data.get("interrupted")),
        )
