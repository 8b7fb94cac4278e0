"""Verification of a lab's content against a real cluster (CI's and teachers' view).

In a fresh namespace each: the reference solution passes every check; the starter
fails at least one; each known-wrong answer fails the check it declares. What a variant
created (its namespace, its cluster-scoped objects) is removed after it, however it
ends; what could not be is reported with the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kubelab import apply, engine, manifests
from kubelab.cleanup import Cleanup
from kubelab.errors import Interrupted
from kubelab.kube import Kube
from kubelab.labspec import Lab, Step
from kubelab.results import Scorecard
from kubelab.text import Lang


@dataclass(frozen=True)
class Variant:
    """One set of manifests and what the checks must say about it."""

    name: str
    """solution, starter or wrong/<name>."""
    folder: Path
    must_fail: str | None
    """None: every check must pass; "*": some check must fail; else this check must fail."""
    steps: tuple[Step, ...] = ()
    """kubectl commands run after the manifests are applied."""


@dataclass(frozen=True)
class Outcome:
    """What verification saw for one variant."""

    variant: Variant
    card: Scorecard
    rejected: tuple[str, ...]
    """Documents the API server refused (expected for some wrong answers)."""
    leftovers: tuple[str, ...] = ()
    """What the variant created and could not be removed afterwards."""

    @property
    def ok(self) -> bool:
        wanted = self.variant.must_fail
        if wanted is None:
            return self.card.passed and not self.rejected
        if wanted == "*":
            return not self.card.passed
        return wanted in self.card.failed_ids()

    def expectation(self) -> str:
        wanted = self.variant.must_fail
        if wanted is None:
            return "every check passes"
        return "some check fails" if wanted == "*" else f"fails {wanted}"

    def summary(self) -> str:
        failed = ", ".join(self.card.failed_ids()) or "none"
        refused = f"; refused: {len(self.rejected)}" if self.rejected else ""
        left = f"; left behind: {', '.join(self.leftovers)}" if self.leftovers else ""
        return f"{self.card.earned}/{self.card.total} points; failed: {failed}{refused}{left}"


def variants(lab: Lab) -> list[Variant]:
    wrong = [Variant(f"wrong/{w.name}", w.dir, w.fails, w.steps) for w in lab.wrong]
    return [
        Variant("solution", lab.solution, None, lab.solution_steps),
        Variant("starter", lab.starter, "*", lab.starter_steps),
        *wrong,
    ]


def verify_variant(kube: Kube, lab: Lab, variant: Variant, lang: Lang) -> Outcome:
    """Apply one variant in a scratch namespace, run the checks, remove what it created."""
    docs = lab.manifests(variant.folder)
    cleanup = Cleanup(kube)
    try:
        namespace = apply.scratch_namespace(kube, lab, "verify", cleanup)
        rejected = list(
            apply.apply_documents(kube, docs, namespace, lab.id, strict=False, cleanup=cleanup).rejected
        )
        rejected += apply.run_steps(kube.target, namespace, variant.steps)
        card = engine.run_checks(lab, kube.target, namespace, lang)
    except KeyboardInterrupt:
        raise Interrupted(cleanup.run(), undone=True) from None
    except Interrupted as stopped:  # the checks were stopped and cleaned up after themselves
        raise Interrupted((*stopped.leftovers, *cleanup.run()), undone=stopped.undone) from None
    finally:
        cleanup.run()  # a no-op when an interrupt already ran it
    return Outcome(
        variant, card, tuple(r.line() for r in rejected), tuple(cleanup.leftovers + list(card.leftovers))
    )


def verify_lab(
    kube: Kube, lab: Lab, lang: Lang, progress: Callable[[Outcome], None] = lambda _: None
) -> list[Outcome]:
    outcomes = []
    for variant in variants(lab):
        outcome = verify_variant(kube, lab, variant, lang)
        progress(outcome)
        outcomes.append(outcome)
    return outcomes
