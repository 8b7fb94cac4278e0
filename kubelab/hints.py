"""Hints in steps: a learner's first failed tries of a check show its nudges, one per
try (where to look); the try after the last nudge, or `kubelab check NN --hint full`, the
whole hint (which may give the answer).

A try is a run in which the check judged the learner's own object and found it wrong
(CheckResult.judged): a check run before the object exists, one not run because a check
it needs failed, and one the cluster kept from judging are not tries. The tries are
counted per lab and namespace in kubelab's own state (`.kubelab/tries/`); `kubelab reset
NN` forgets them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from pathlib import Path

from kubelab import repo
from kubelab.labspec import Lab
from kubelab.results import Scorecard

MODES = ("auto", "nudge", "full")
"""`kubelab check --hint`: auto (a nudge first, then the whole hint), always a nudge,
always the whole hint."""


def _path(lab_id: str, namespace: str) -> Path:
    return repo.state_dir() / "tries" / f"{lab_id}.{namespace}.json"


def failed_before(lab_id: str, namespace: str) -> dict[str, int]:
    """How many earlier runs each check failed in (by this learner, here)."""
    with contextlib.suppress(OSError, ValueError, TypeError):
        data = json.loads(_path(lab_id, namespace).read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return {str(k): int(v) for k, v in data.items()}
    return {}


def nudged(lab: Lab, mode: str) -> dict[str, int]:
    """The checks that show a nudge instead of their hint this time, and which one (its
    number among the check's nudges)."""
    if mode == "full":
        return {}
    if mode == "nudge":
        return {c.id: 0 for c in lab.checks if c.nudges}
    tried = failed_before(lab.id, lab.answer_namespace)
    return {c.id: tried.get(c.id, 0) for c in lab.checks if tried.get(c.id, 0) < len(c.nudges)}


def count(lab: Lab, card: Scorecard) -> None:
    """Count this run's tries: the checks that judged the learner's object and failed."""
    tried = failed_before(lab.id, lab.answer_namespace)
    for result in card.results:
        if not result.passed and result.judged:
            tried[result.id] = tried.get(result.id, 0) + 1
    repo.write_state(_path(lab.id, lab.answer_namespace), json.dumps(tried, sort_keys=True))


def forget(lab_ids: Iterable[str]) -> None:
    for lab_id in lab_ids:
        for path in (repo.state_dir() / "tries").glob(f"{lab_id}.*.json"):
            path.unlink(missing_ok=True)
