"""The graders' results files, each against the JSON Schema of its documentation
(tests/unit/schemas/README.md says where each is documented)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kubelab import gradebook, graders, labspec
from kubelab.errors import InputError
from kubelab.grade import Grade
from kubelab.results import CheckResult, Scorecard

SCHEMAS = Path(__file__).parent / "schemas"
CLASSROOM50_ENV = {
    "CLASSROOM": "k8s-2026",
    "ASSIGNMENT": "lab-01",
    "SUBMISSION_TAG": "submit/2026-12-05T10-00-00Z-a1b2c3d",
    "COMMIT_URL": "https://github.com/k8s-2026/lab-01-minji/commit/a1b2c3d",
    "RELEASE_URL": "https://github.com/k8s-2026/lab-01-minji/releases/tag/submit%2F2026-12-05T10-00-00Z-a1b2c3d",
}


def valid(document: Any, schema: str) -> None:
    jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{schema}.schema.json").read_text())).validate(
        document
    )


def card(passed_from: int = 1, error: str | None = None) -> Scorecard:
    lab = labspec.find_lab("01")
    results = tuple(
        CheckResult(
            c.id, c.title, i >= passed_from, c.points, 0.5, "" if i >= passed_from else "expected 3\nfound 1"
        )
        for i, c in enumerate(lab.checks)
    )
    return Scorecard(lab="01", namespace="lab-01", results=results, error=error)


@pytest.mark.parametrize("made", [card(), card(passed_from=0), card(passed_from=99)])
def test_gradescope(made: Scorecard) -> None:
    result = graders.gradescope(made)
    valid(result, "gradescope-results")
    assert result["score"] == made.earned == sum(t["score"] for t in result["tests"])
    assert sum(t["max_score"] for t in result["tests"]) == made.total
    assert [t["status"] for t in result["tests"]].count("failed") == len(
        [r for r in made.results if not r.passed]
    )


@pytest.mark.parametrize("made", [card(), card(passed_from=0), card(passed_from=99)])
def test_prairielearn(made: Scorecard) -> None:
    result = graders.prairielearn(made)
    valid(result, "prairielearn-results")
    assert 0 <= result["score"] <= 1 and result["gradable"] is True
    assert result["score"] == pytest.approx(made.earned / made.total, abs=1e-4)


def test_a_check_left_to_the_teacher_is_said_so_not_failed() -> None:
    """A student's run with a class seat's credential: the check it may not run is no
    failure of theirs, and each format's summary says who grades it."""
    made = card(passed_from=0)
    last = made.results[-1]
    left = CheckResult(last.id, last.title, False, last.points, 0.1, "left to your teacher", deferred=True)
    made = Scorecard(lab="01", namespace="lab-01-uminji", results=(*made.results[:-1], left))
    for document in (graders.gradescope(made), graders.prairielearn(made)):
        summary = document.get("output") or document["message"]
        assert "failed" not in summary and f"left to the teacher's grading: {last.id}" in summary, summary
    valid(graders.gradescope(made), "gradescope-results")


def test_a_run_the_cluster_stopped_is_not_gradable_on_prairielearn() -> None:
    result = graders.prairielearn(card(error="the cluster did not answer"))
    valid(result, "prairielearn-results")
    assert result["gradable"] is False and "score" not in result and result["format_errors"]


def test_classroom50_as_written_and_as_the_runner_publishes_it() -> None:
    made = card()
    result = graders.classroom50(made, CLASSROOM50_ENV)
    valid(result, "classroom50-autograder-output")
    stamped = {
        **result,
        "owner": "minji",
        "assignment_type": "individual",
        "datetime": "2026-12-05T10:00:00Z",
    }
    valid(stamped, "classroom50-result")
    assert result["score"] <= result["max-score"] == made.total
    assert all(t["score"] <= t["max-score"] for t in result["tests"])
    assert result["review"] == CLASSROOM50_ENV["COMMIT_URL"]


@pytest.mark.parametrize(
    ("change", "said"),
    [({"CLASSROOM": ""}, "CLASSROOM"), ({"SUBMISSION_TAG": "v1"}, "submit/")],
)
def test_classroom50_without_its_runners_values_is_one_line(change: dict[str, str], said: str) -> None:
    with pytest.raises(InputError, match=said):
        graders.classroom50(card(), {**CLASSROOM50_ENV, **change})


def test_the_legacy_github_classroom_line() -> None:
    line = graders.document(card(), "classroom")
    valid(json.loads(base64.b64decode(line)), "github-classroom-autograding-result")


def test_a_grade_without_a_card_is_every_check_failed_with_why() -> None:
    lab = labspec.find_lab("01")
    grade = Grade(
        student="s1", name="x", lab="01", status="invalid", total=lab.total_points, reason="not YAML"
    )
    made = graders.grade_card(lab, grade)
    assert made.earned == 0 and made.total == lab.total_points
    assert all("not YAML" in r.message for r in made.results)
    valid(json.loads(graders.document(made, "gradescope")), "gradescope-results")
    stopped = Grade(
        student="s1", name="x", lab="01", status="environment-error", total=lab.total_points, reason="down"
    )
    assert json.loads(graders.document(graders.grade_card(lab, stopped), "prairielearn"))["gradable"] is False


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(InputError):
        graders.document(card(), "moodle")


def test_a_grading_run_writes_each_students_result_in_each_format(tmp_path: Path) -> None:
    lab = labspec.find_lab("01")
    graded = Grade(student="s1", name="x", lab="01", status="graded", total=lab.total_points, card=card())
    missing = Grade(student="s2", name="y", lab="01", status="missing", total=lab.total_points)
    gradebook.write_all(tmp_path, lab, [graded, missing], {}, ("gradescope", "prairielearn", "classroom"))
    for student in ("s1", "s2"):
        valid(json.loads((tmp_path / "gradescope" / f"{student}.json").read_text()), "gradescope-results")
        valid(json.loads((tmp_path / "prairielearn" / f"{student}.json").read_text()), "prairielearn-results")
        assert (tmp_path / "classroom" / f"{student}.txt").is_file()
    assert json.loads((tmp_path / "gradescope" / "s2.json").read_text())["score"] == 0
