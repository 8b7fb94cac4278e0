"""Results files for the graders teachers use (GitHub Classroom was retired on 2026-08-28):
one scorecard as Gradescope's, PrairieLearn's or Classroom 50's result, each as its
documentation says (tests/unit/schemas/ holds a JSON Schema of each, with where it is
documented). `kubelab check NN --format F` prints one on stdout (the grader's autograder
runs it per submission); `kubelab grade --format F` writes one per student.

- gradescope: Gradescope's autograder `results.json` (/autograder/results/results.json):
  `score`, `execution_time`, `output`, a test per check (`name`, `number`, `score`,
  `max_score`, `status`, `output`).
- prairielearn: PrairieLearn's external grader `results.json` (/grade/results/results.json):
  `gradable`, `score` in [0, 1], `message`, a test per check (`points`, `max_points`);
  a run the cluster stopped is not gradable (`format_errors` says why), never a 0.
- classroom50: Classroom 50's `result.json` (schema `classroom50/result/v1`) as its
  autograder writes it; the submission's identity comes from the variables its runner sets
  (CLASSROOM, ASSIGNMENT, SUBMISSION_TAG, COMMIT_URL, RELEASE_URL, REVIEW_URL); the runner
  stamps the rest.
- classroom: GitHub Classroom's runner result, base64 (legacy: kubelab.gradebook.classroom).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kubelab.errors import InputError
from kubelab.labspec import Lab
from kubelab.results import CheckResult, Scorecard

if TYPE_CHECKING:
    from kubelab.grade import Grade

FORMATS = ("gradescope", "prairielearn", "classroom50", "classroom")
"""What `--format` takes besides `card`; `classroom` is the legacy GitHub Classroom line."""
CLASSROOM50_VARIABLES = {
    "classroom": "CLASSROOM",
    "assignment": "ASSIGNMENT",
    "submission": "SUBMISSION_TAG",
    "commit": "COMMIT_URL",
    "release": "RELEASE_URL",
}
MESSAGE_LIMIT = 8000
"""Characters of one check's message in a results file (the whole file stays small:
PrairieLearn refuses one over 1 MB)."""


def _message(result: CheckResult) -> str:
    text = result.message or ("passed" if result.passed else "")
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + " …"


def _summary(card: Scorecard) -> str:
    if card.error:
        return f"the checks could not run (not your answer's fault): {card.error}"
    failed = card.failed_ids()
    deferred = [r.id for r in card.results if r.deferred]
    return (
        f"lab {card.lab}: {card.earned}/{card.total} points"
        + (f"; failed: {', '.join(failed)}" if failed else "; every check passed" if not deferred else "")
        + (f"; left to the teacher's grading: {', '.join(deferred)}" if deferred else "")
    )


def gradescope(card: Scorecard) -> dict[str, Any]:
    tests = [
        {
            "name": f"{r.id}: {r.title.en}",
            "number": str(number),
            "score": r.earned,
            "max_score": r.points,
            "status": "passed" if r.passed else "failed",
            "output": _message(r),
            "visibility": "visible",
        }
        for number, r in enumerate(card.results, 1)
    ]
    return {
        "score": card.earned,
        "execution_time": round(sum(r.seconds for r in card.results), 1),
        "output": _summary(card),
        "visibility": "visible",
        "tests": tests,
    }


def prairielearn(card: Scorecard) -> dict[str, Any]:
    if card.error:  # the cluster's fault, not the student's: no score at all
        return {"gradable": False, "format_errors": [card.error], "message": _summary(card)}
    tests = [
        {
            "name": r.id,
            "description": r.title.en,
            "points": r.earned,
            "max_points": r.points,
            "message": _message(r),
        }
        for r in card.results
    ]
    score = card.earned / card.total if card.total else 0.0
    return {"gradable": True, "score": round(score, 4), "message": _summary(card), "tests": tests}


def classroom50(card: Scorecard, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    missing = [v for v in CLASSROOM50_VARIABLES.values() if not env.get(v)]
    if missing:
        raise InputError(
            f"--format classroom50 needs what Classroom 50's runner sets: {', '.join(missing)} not set",
            f"--format classroom50에는 Classroom 50 러너가 주는 값이 필요합니다: "
            f"{', '.join(missing)}이 없습니다",
        )
    identity = {key: env[variable] for key, variable in CLASSROOM50_VARIABLES.items()}
    if not identity["submission"].startswith("submit/"):
        raise InputError(
            f"SUBMISSION_TAG must start with submit/ (Classroom 50's tags do), not {identity['submission']!r}"
        )
    tests = [
        {
            "test-name": r.id,
            "passed": r.passed,
            "score": r.earned,
            "max-score": r.points,
            "message": _message(r),
        }
        for r in card.results
    ]
    return {
        "schema": "classroom50/result/v1",
        **identity,
        "review": env.get("REVIEW_URL") or env["COMMIT_URL"],
        "score": card.earned,
        "max-score": card.total,
        "tests": tests,
    }


def document(card: Scorecard, name: str) -> str:
    """The scorecard in format `name` (FORMATS), as the text of its file."""
    if name == "classroom":
        from kubelab import gradebook

        return gradebook.classroom_line(card) + "\n"
    makers: dict[str, Callable[[Scorecard], dict[str, Any]]] = {
        "gradescope": gradescope,
        "prairielearn": prairielearn,
        "classroom50": classroom50,
    }
    if name not in makers:
        raise InputError(f"--format must be card or one of {', '.join(FORMATS)}, not {name!r}")
    return json.dumps(makers[name](card), ensure_ascii=False, indent=2) + "\n"


def grade_card(lab: Lab, grade: Grade) -> Scorecard:
    """The scorecard a grade stands for: its own when graded; when the cluster stopped it,
    a card with that error (no score); else (invalid, timed out, missing) every check
    failed, with why."""
    if grade.status == "graded" and grade.card is not None:
        return grade.card
    if grade.status == "environment-error":
        return Scorecard(lab.id, "", error=grade.reason or grade.status)
    why = f"{grade.status}: {grade.reason}" if grade.reason else grade.status
    return Scorecard(
        lab.id, "", tuple(CheckResult(c.id, c.title, False, c.points, 0.0, why) for c in lab.checks)
    )


def file_name(student: str, name: str) -> str:
    return f"{name}/{student}.{'txt' if name == 'classroom' else 'json'}"
