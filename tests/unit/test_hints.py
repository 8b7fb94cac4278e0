"""Hints in steps: nudges on a check's first tries, the whole hint after; only a check
that judged the learner's object counts a try (no cluster)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kubelab import engine, hints, labspec
from kubelab.checks import LabContext, fail
from kubelab.labspec import CheckSpec, Lab
from kubelab.results import CheckResult, Scorecard
from kubelab.text import Text


def _lab(*nudges: Text) -> tuple[Lab, CheckSpec]:
    lab = labspec.find_lab("01")
    first = replace(lab.checks[0], nudges=nudges)
    return replace(lab, checks=(first, *(replace(c, nudges=()) for c in lab.checks[1:]))), first


def _failed(spec: CheckSpec, judged: bool = True, **more: object) -> CheckResult:
    return CheckResult(spec.id, spec.title, False, spec.points, 0.1, "x", judged=judged, **more)  # type: ignore[arg-type]


def test_a_nudge_first_then_the_whole_hint(lab_root: Path) -> None:
    lab, first = _lab(Text("어디를 보세요", "look here"))
    assert hints.nudged(lab, "auto") == {first.id: 0}
    assert hints.nudged(lab, "full") == {} and hints.nudged(lab, "nudge") == {first.id: 0}
    told = first.nudged(0)
    assert told.hint.en.startswith("look here") and "HINT=full" in told.hint.en and told.id == first.id
    blocked = replace(_failed(lab.checks[1], judged=False), blocked_by=(first.id,))
    hints.count(lab, Scorecard(lab.id, lab.answer_namespace, (_failed(first), blocked)))
    assert hints.failed_before(lab.id, lab.answer_namespace) == {first.id: 1}
    assert hints.nudged(lab, "auto") == {}  # the second try gets the whole hint
    hints.forget([lab.id])
    assert hints.nudged(lab, "auto") == {first.id: 0}
    assert lab.checks[1].nudged(0) is lab.checks[1]  # no nudge: the hint as it is


def test_several_nudges_one_per_try(lab_root: Path) -> None:
    lab, first = _lab(Text("하나", "one"), Text("둘", "two"))
    shown = []
    for _ in range(3):
        step = hints.nudged(lab, "auto").get(first.id)
        shown.append(first.nudged(step).hint.en.split(" (")[0] if step is not None else "whole")
        hints.count(lab, Scorecard(lab.id, lab.answer_namespace, (_failed(first),)))
    assert shown == ["one", "two", "whole"]
    assert first.nudged(2) is first


def test_what_judged_nothing_is_not_a_try(lab_root: Path) -> None:
    lab, first = _lab(Text("어디를 보세요", "look here"))
    missing = _failed(first, judged=False)  # the object was not there yet
    fault = _failed(first, judged=False, fault="the API server did not answer")
    for card in (missing, fault):
        hints.count(lab, Scorecard(lab.id, lab.answer_namespace, (card,)))
    assert hints.failed_before(lab.id, lab.answer_namespace) == {}
    assert hints.nudged(lab, "auto") == {first.id: 0}


def _judge(lab: Lab, spec: CheckSpec, check: object) -> CheckResult:
    return engine.judge(None, lab, spec, check, "en", []).result  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("what", "judged"),
    [
        ("passes", True),
        ("finds it wrong", True),
        ("finds it missing", False),
        ("breaks", False),
    ],
)
def test_the_engine_says_whether_a_check_judged(lab_root: Path, what: str, judged: bool) -> None:
    lab, first = _lab()

    def check(context: LabContext) -> None:
        if what == "finds it wrong":
            fail("ReplicaSet lab-01/web", "spec.replicas: 3", "spec.replicas: 1")
        if what == "finds it missing":
            fail("ReplicaSet lab-01/web", "exists", "not found", missing=True)
        if what == "breaks":
            raise ZeroDivisionError

    result = _judge(lab, first, check)
    assert result.judged is judged and result.passed is (what == "passes")
    back = Scorecard.from_dict(json.loads(Scorecard("01", "ns", (result,)).to_json()))
    assert back.results[0].judged is judged
