"""Hints in steps: a learner's first failed try of a check shows its nudge (where to
look); a later try, or `kubelab check NN --hint full`, the whole hint (which may give the
answer). The tries are counted per lab and namespace in kubelab's own state
(`.kubelab/tries/`); `kubelab reset NN` forgets them.
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


def nudged(lab: Lab, mode: str) -> set[str]:
    """The checks whose nudge is shown instead of their hint this time."""
    if mode == "full":
        return set()
    with_nudge = {c.id for c in lab.checks if c.nudge is not None}
    if mode == "nudge":
        return with_nudge
    tried = failed_before(lab.id, lab.answer_namespace)
    return {i for i in with_nudge if not tried.get(i)}


def count(lab: Lab, card: Scorecard) -> None:
    """Count this run's failures (a check that did not run for a need is not a try)."""
    tried = failed_before(lab.id, lab.answer_namespace)
    for result in card.results:
        if not result.passed and not result.blocked_by and not result.fault:
            tried[result.id] = tried.get(result.id, 0) + 1
    repo.write_state(_path(lab.id, lab.answer_namespace), json.dumps(tried, sort_keys=True))


def forget(lab_ids: Iterable[str]) -> None:
    for lab_id in lab_ids:
        for path in (repo.state_dir() / "tries").glob(f"{lab_id}.*.json"):
            path.unlink(missing_ok=True)
