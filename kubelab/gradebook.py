"""What a grading run hands the teacher and the students: grades.csv, grades.json, the
teacher's page (index.html), a JUnit file and a feedback page per student, and results
files for other graders (kubelab.graders); and the GitHub Classroom result of one
scorecard (legacy).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from kubelab import repo
from kubelab.labspec import Lab
from kubelab.results import Scorecard
from kubelab.text import Text, printable

STATUS_TEXT = {
    "graded": Text("채점됨", "graded"),
    "invalid": Text("제출물을 읽을 수 없음", "the submission could not be read"),
    "timed-out": Text("시간 초과", "timed out"),
    "environment-error": Text(
        "클러스터 문제 (학생 탓이 아님, 다시 채점)", "cluster problem (not the student's; graded again)"
    ),
    "missing": Text("제출하지 않음", "nothing handed in"),
}

if TYPE_CHECKING:
    from kubelab.grade import Grade


def write_all(
    out: Path, lab: Lab, grades: Sequence[Grade], run: dict[str, Any], formats: Sequence[str] = ()
) -> None:
    """grades.csv, grades.json, the teacher's page index.html (kubelab.teacherpage),
    junit/<student>.xml and feedback/<student>.md in `out`; and each student's result in
    each of `formats` (kubelab.graders)."""
    from kubelab import graders

    ordered = sorted(grades, key=lambda g: g.student)
    repo.write_state(out / "grades.csv", sheet(lab, ordered))
    document = {**run, "lab": lab.id, "total": lab.total_points, "students": [_row(g) for g in ordered]}
    repo.write_state(out / "grades.json", json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    from kubelab import teacherpage

    repo.write_state(out / "index.html", teacherpage.page(lab, ordered, run))
    for grade in ordered:
        repo.write_state(out / "junit" / f"{grade.student}.xml", junit(lab, grade))
        repo.write_state(out / "feedback" / f"{grade.student}.md", feedback(lab, grade))
        for name in formats:
            card = graders.grade_card(lab, grade)
            repo.write_state(out / graders.file_name(grade.student, name), graders.document(card, name))


def _row(grade: Grade) -> dict[str, Any]:
    data = grade.to_dict()
    data.pop("card")
    return data


def sheet(lab: Lab, grades: Sequence[Grade]) -> str:
    """The grade sheet: a row per student, a column per check (points earned)."""
    checks = [c.id for c in lab.checks]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "name", "earned", "total", *checks, "status", "refused", "reason"])
    for g in grades:
        points = [g.points.get(c, 0) for c in checks]
        writer.writerow(
            [
                _cell(g.student),
                _cell(g.name),
                g.earned,
                g.total,
                *points,
                g.status,
                len(g.refused),
                _cell(g.reason),
            ]
        )
    return buffer.getvalue()


def _cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: never a formula (a student's file names
    reach the reason column), no control characters."""
    clean = printable(text)
    return "'" + clean if clean[:1] in ("=", "+", "-", "@") else clean


def _code(text: str) -> str:
    """`text` as inline Markdown code that nothing in it can end (a fence longer than
    any run of backticks in it)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {printable(text)} {fence}"


def _block(text: str) -> list[str]:
    """`text` as a Markdown code block that nothing in it can end."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return [fence, printable(text, block=True), fence]


def junit(lab: Lab, grade: Grade) -> str:
    """One testsuite for the student, a testcase per check (CI systems and LMS importers
    read it)."""
    suite = ET.Element("testsuite", name=f"lab-{lab.id}.{grade.student}", timestamp=grade.started)
    results = {r.id: r for r in grade.card.results} if grade.card else {}
    failures = errors = 0
    for spec in lab.checks:
        case = ET.SubElement(suite, "testcase", classname=f"lab-{lab.id}", name=spec.id)
        result = results.get(spec.id)
        if grade.status != "graded":
            errors += 1
            ET.SubElement(case, "error", message=grade.status).text = printable(grade.reason or grade.status)
        elif result is not None and not result.passed:
            failures += 1
            first = (
                (result.brief or result.message).splitlines()[0] if (result.brief or result.message) else ""
            )
            failure = ET.SubElement(case, "failure", message=printable(first))
            failure.text = printable(result.message, block=True)
        if result is not None:
            case.set("time", f"{result.seconds:g}")
    suite.set("tests", str(len(lab.checks)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("time", f"{grade.seconds:g}")
    return ET.tostring(suite, encoding="unicode") + "\n"


def feedback(lab: Lab, grade: Grade) -> str:
    """The student's page: score, status, each lost check with what was expected and found
    and a hint (both languages), what the sandbox refused."""
    status = STATUS_TEXT.get(grade.status, Text(grade.status, grade.status))
    who = f"{grade.student}" + (f" ({grade.name})" if grade.name else "")
    lines = [
        f"# Lab {lab.id} — {lab.title.ko} / {lab.title.en}",
        "",
        f"- 학생 / student: {who}",
        f"- 점수 / score: **{grade.earned}/{grade.total}**",
        f"- 상태 / status: {status.ko} / {status.en}",
    ]
    if grade.values:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(grade.values.items()))
        lines.append(f"- 내 값 / your values: namespace {grade.namespace}; {shown}")
    if grade.reason:
        lines += ["", f"> {_code(grade.reason_ko or grade.reason)}", f"> {_code(grade.reason)}"]
    if grade.refused:
        lines += ["", "## 적용하지 않은 것 / not applied (the sandbox refused)", ""]
        lines += [f"- {_code(line)}" for line in grade.refused]
    lost = [r for r in grade.card.results if not r.passed] if grade.card else []
    if lost:
        lines += ["", "## 잃은 점수 / points lost"]
        for result in lost:
            lines += [
                "",
                f"### ✗ {result.title.ko} / {result.title.en} (0/{result.points}, `{result.id}`)",
                "",
            ]
            lines += _block(result.message)
    elif grade.status == "graded":
        lines += ["", "모든 검사를 통과했습니다 / every check passed"]
    graded = grade.status == "graded" and grade.card is not None and not grade.card.error
    known = [w for w in lab.wrong if graded and grade.card and grade.card.fails_like(w.fails, w.passes)]
    if known:
        lines += ["", "## 이런 실수일 수 있습니다 / it may be one of these known mistakes", ""]
        lines += [f"- {w.why.ko} / {w.why.en} (`{w.name}`)" for w in known]
    return "\n".join(lines) + "\n"


def classroom(card: Scorecard) -> dict[str, Any]:
    """The result GitHub Classroom's grading reporter reads from a runner (`version`,
    `status`, `max_score`, `tests` with name, status, score, message)."""
    tests = [
        {
            "name": f"{r.id}: {r.title.en}",
            "status": "pass" if r.passed else ("error" if r.fault else "fail"),
            "score": r.earned,
            "max_score": r.points,
            "message": r.message,
            "execution_time": f"{r.seconds:g}s",
        }
        for r in card.results
    ]
    status = "error" if card.error else ("pass" if card.passed else "fail")
    return {"version": 1, "status": status, "max_score": card.total, "tests": tests}


def classroom_line(card: Scorecard) -> str:
    """The runner output a Classroom workflow step passes on: the result, base64-encoded."""
    return base64.b64encode(json.dumps(classroom(card), ensure_ascii=False).encode()).decode()
