"""Hints in steps: a nudge on a check's first failed try, the whole hint after (no cluster)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kubelab import hints, labspec
from kubelab.results import CheckResult, Scorecard
from kubelab.text import Text


def test_a_nudge_first_then_the_whole_hint(lab_root: Path) -> None:
    lab = labspec.find_lab("01")
    first = replace(lab.checks[0], nudge=Text("어디를 보세요", "look here"))
    lab = replace(lab, checks=(first, *(replace(c, nudge=None) for c in lab.checks[1:])))
    assert hints.nudged(lab, "auto") == {first.id}
    assert hints.nudged(lab, "full") == set() and hints.nudged(lab, "nudge") == {first.id}
    told = first.nudged()
    assert told.hint.en.startswith("look here") and "HINT=full" in told.hint.en and told.id == first.id
    failed = CheckResult(first.id, first.title, False, first.points, 0.1, "x")
    blocked = CheckResult(lab.checks[1].id, lab.checks[1].title, False, 1, 0.0, "", blocked_by=(first.id,))
    hints.count(lab, Scorecard(lab.id, lab.answer_namespace, (failed, blocked)))
    assert hints.failed_before(lab.id, lab.answer_namespace) == {first.id: 1}
    assert hints.nudged(lab, "auto") == set()  # the second try gets the whole hint
    hints.forget([lab.id])
    assert hints.nudged(lab, "auto") == {first.id}
    assert lab.checks[1].nudged() is lab.checks[1]  # no nudge: the hint as it is
