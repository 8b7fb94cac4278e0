from __future__ import annotations

from pathlib import Path

import pytest

from kubelab import labspec, report
from kubelab.errors import Finding
from kubelab.results import CheckResult, Scorecard, failure_message
from kubelab.text import Text


def test_scorecard_json_round_trip(tmp_path: Path) -> None:
    card = Scorecard(
        lab="01",
        namespace="lab-01",
        results=(
            CheckResult("a", Text("가", "a"), True, 2, 0.1, ""),
            CheckResult("b", Text("나", "b"), False, 3, 1.5, "기대 / expected: x"),
        ),
    )
    path = tmp_path / "r.json"
    card.write(path)
    again = Scorecard.read(path)
    assert again == card
    assert (again.earned, again.total, again.passed, again.failed_ids()) == (2, 5, False, ["b"])
    assert '"earned": 2' in path.read_text(encoding="utf-8")


def test_no_results_is_not_a_pass() -> None:
    assert not Scorecard("01", "lab-01").passed
    assert not Scorecard("01", "lab-01", (CheckResult("a", Text("가", "a"), True, 1, 0, ""),), "boom").passed


def test_failure_message_has_every_part_in_both_languages() -> None:
    spec = labspec.find_lab("01").check("replicaset_wants_three_replicas")
    finding = Finding(
        "ReplicaSet lab-01/simple-replicaset",
        "spec.replicas: 3",
        "spec.replicas: 1",
        Text("진단", "diagnosis"),
        waited=2.5,
    )
    message = failure_message(finding, spec, "lab-01", "ko")
    lines = message.splitlines()
    assert lines[0] == "대상 / object: ReplicaSet lab-01/simple-replicaset"
    assert lines[1] == "기대 / expected: spec.replicas: 3"
    assert lines[2] == "실제 / found: spec.replicas: 1  (waited 2.5 s)"
    assert lines[3] == "진단 / diagnosis: 진단 / diagnosis"
    assert lines[4].startswith("힌트 / hint: spec.replicas가 의도한 상태입니다")
    assert (
        lines[5]
        == "확인 / look with: kubectl -n lab-01 get rs simple-replicaset -o jsonpath='{.spec.replicas}'"
    )


def test_scorecard_shows_marks_points_and_each_failure(capsys: pytest.CaptureFixture[str]) -> None:
    card = Scorecard(
        lab="01",
        namespace="lab-01",
        results=(
            CheckResult("a_ok", Text("가 통과", "a passes"), True, 2, 0.1, ""),
            CheckResult(
                "b_bad", Text("나 실패", "b fails"), False, 3, 1.5, "기대 / expected: x\n실제 / found: y"
            ),
        ),
    )
    report.scorecard(card, "en")
    out = capsys.readouterr().out
    assert "✓   2/2  a passes  a_ok" in out  # the short card: titles in the chosen language
    assert "✗   0/3  b fails  b_bad" in out
    assert "          기대 / expected: x\n          실제 / found: y" in out  # the first failure in full
    assert "score / 점수: 2/5 — fix the failed checks and run again" in out
    report.scorecard(card, "en", verbose=True)
    out = capsys.readouterr().out
    assert "✓   2/2  a passes / 가 통과  a_ok  (0.1 s)" in out
