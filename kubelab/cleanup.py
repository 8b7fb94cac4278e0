"""Undoing what a check or a verification did: bounded, shielded, reported.

A disturbing check deletes a learner's pod, writes a marker file, makes a scratch
namespace or a volume; a verification makes a namespace per answer. Each registers its
undo here as soon as it has done the thing, so the undo happens however the work ends:
passed, failed, out of time, or interrupted with Ctrl-C. Undo steps run in reverse order
(the last thing done is undone first), each under a fresh deadline of its own; then the
objects kubelab created are removed together, namespaces first.

When the cluster stops answering, the rest is given up at once (each try would take its
full bound): after an undo the cluster did not answer (and, when the caller asks, before
the first), the API server's readiness decides, and what is left is said as leftovers
that `kubelab cleanup` removes later.

Cleanup is best effort and never the verdict: an undo that fails or runs out of time
becomes a leftover — one line naming what stayed and why — which the scorecard and the
CLI list, instead of an error that would replace the check's result.
"""

from __future__ import annotations

from collections.abc import Callable

from kubelab import deadline, interrupts, ownership
from kubelab.errors import CheckFailed, ClusterUnavailable, KubelabError
from kubelab.kube import Kube

STEP_SECONDS = 60.0
"""Seconds one undo step may take."""
DOWN = "the cluster did not answer; `kubelab cleanup` removes it"
"""Why what is left was not undone, when the cluster is down."""
NOTICE = "kubelab: cleaning up what this run created (Ctrl-C again is ignored until it is done)"


class Cleanup:
    """What to undo, registered as it is done."""

    TOTAL_SECONDS = 180.0
    """Seconds all of one cleanup may take (each step also at most STEP_SECONDS)."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._steps: list[tuple[str, Callable[[], None]]] = []
        self._last: list[tuple[str, Callable[[], None]]] = []
        self._owned: list[ownership.Owned] = []
        self._emptied: set[str] = set()
        self.leftovers: list[str] = []
        """What could not be undone, one line each (filled by `run`)."""

    def add(self, what: str, undo: Callable[[], None], last: bool = False) -> None:
        """Undo with `undo` (described as `what` if it fails); `last`: after the objects
        are removed (a node folder, once no pod writes to it)."""
        (self._last if last else self._steps).append((what, undo))

    def remove(self, owned: ownership.Owned, emptied_enough: bool = False) -> None:
        """Remove this object kubelab created, after the undo steps. emptied_enough: a
        namespace of a check's own, done once it is going with no pod left in it (the
        cluster removes the rest; the learner does not wait for it)."""
        self._owned.append(owned)
        if emptied_enough:
            self._emptied.add(owned.uid)

    def abandon(self, why: str) -> list[str]:
        """Give up undoing (the cluster does not answer, and each try would take its bound):
        everything still to undo becomes a leftover, said with `why`."""
        pending = [what for what, _ in (*self._steps, *self._last)] + [o.describe() for o in self._owned]
        self._steps, self._last, self._owned = [], [], []
        self.leftovers += [f"{what}: {why}" for what in pending]
        return self.leftovers

    def run(self, ask_first: bool = False) -> list[str]:
        """Undo everything, shielded from Ctrl-C; returns the leftovers (also kept in
        `self.leftovers`, for a caller that an interrupt after the cleanup reaches). Once
        an undo finds the cluster down, the rest is abandoned (DOWN), not tried; with
        `ask_first` (the caller has reason to doubt the cluster), the API server is asked
        before anything is tried (an undo of the machine's own is then abandoned too)."""
        with interrupts.shielded(NOTICE), deadline.fresh(self.TOTAL_SECONDS):
            if self._pending() and ask_first and not self.kube.healthy():
                return self.abandon(DOWN)
            if not self._undo(self._steps):
                return self.abandon(DOWN)
            owned, self._owned = self._owned, []
            if owned:
                try:
                    self.leftovers += ownership.remove_all(
                        self.kube, owned, emptied_enough=frozenset(self._emptied)
                    )
                except KubelabError as e:
                    self.leftovers += [f"{o.describe()}: {e.en}" for o in owned]
            if not self._undo(self._last):
                return self.abandon(DOWN)
        return self.leftovers

    def _pending(self) -> bool:
        return bool(self._steps or self._last or self._owned)

    def _undo(self, steps: list[tuple[str, Callable[[], None]]]) -> bool:
        """Undo these steps, last first; False when one found the cluster down (the
        rest are left in `steps`)."""
        while steps:
            what, undo = steps.pop()
            with deadline.within(STEP_SECONDS):
                try:
                    undo()
                except ClusterUnavailable as e:
                    self.leftovers.append(f"{what}: {_reason(e)}")
                    if not self.kube.healthy():
                        return False
                except Exception as e:  # best effort: any failure is a leftover, never the verdict
                    self.leftovers.append(f"{what}: {_reason(e)}")
        return True


def _reason(error: BaseException) -> str:
    if isinstance(error, CheckFailed):
        return f"{error.finding.subject}: expected {error.finding.expected}, found {error.finding.found}"
    if isinstance(error, KubelabError):
        return error.en
    return str(error) or type(error).__name__
