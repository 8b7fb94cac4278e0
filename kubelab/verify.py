"""Verification of a lab's content against a real cluster (CI's and teachers' view).

Each variant in a sandbox of its own (kubelab.sandbox: its namespace, its parameter
values, applied as its own ServiceAccount): the reference solution passes every check;
the starter fails at least one; each known-wrong answer fails the check it declares.
Variants run concurrently (`jobs` at a time), longest first by the times of earlier
runs. What a variant created is removed after it, however it ends (Ctrl-C stops every
running check, which undoes what it changed, and then every sandbox is removed); what
could not be is reported with the outcome.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kubelab import engine, manifests, nodefiles, repo, runner, sandbox
from kubelab.apply import Rejection
from kubelab.cleanup import Cleanup
from kubelab.errors import ClusterUnavailable, Interrupted, KubelabError
from kubelab.kube import Kube
from kubelab.labspec import Lab, Step
from kubelab.params import SANDBOX_HOST_ROOT
from kubelab.results import Scorecard
from kubelab.text import Lang, Text


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
    must_pass: tuple[str, ...] = ()
    """Checks that must pass all the same (a wrong answer's `passes`)."""
    base_files: tuple[Path, ...] = ()
    """Files of the solution a wrong answer written as a change of it keeps (its `base`)."""
    why: Text | None = None
    """Why a wrong answer is wrong (lab.yaml), said under its line."""

    @property
    def files(self) -> list[Path]:
        """The answer's manifest files: what it keeps of its base, then its own."""
        own = manifests.manifest_files([self.folder]) if self.folder.is_dir() or not self.base_files else []
        return [*self.base_files, *own]


@dataclass(frozen=True)
class Outcome:
    """What verification saw for one variant."""

    variant: Variant
    card: Scorecard
    rejected: tuple[str, ...]
    """Documents the API server refused (expected for some wrong answers)."""
    leftovers: tuple[str, ...] = ()
    """What the variant created and could not be removed afterwards."""
    lab: str = ""
    namespace: str = ""
    seconds: float = 0.0
    error: str = ""
    """Why the checks could not run (then the outcome is not ok)."""

    @property
    def key(self) -> str:
        return f"{self.lab}/{self.variant.name}"

    @property
    def ok(self) -> bool:
        if self.error:
            return False
        wanted = self.variant.must_fail
        if wanted is None:
            return self.card.passed and not self.rejected
        if wanted == "*":
            return not self.card.passed
        return self.card.fails_like(wanted, self.variant.must_pass)

    def expectation(self) -> str:
        wanted = self.variant.must_fail
        if wanted is None:
            return "every check passes"
        if wanted == "*":
            return "some check fails"
        also = f", passes {', '.join(self.variant.must_pass)}" if self.variant.must_pass else ""
        return f"fails {wanted}{also}"

    def summary(self) -> str:
        if self.error:
            return f"error: {self.error}"
        failed = ", ".join(self.card.failed_ids()) or "none"
        refused = f"; refused: {len(self.rejected)}" if self.rejected else ""
        left = f"; left behind: {', '.join(self.leftovers)}" if self.leftovers else ""
        return f"{self.card.earned}/{self.card.total} points; failed: {failed}{refused}{left}"


def variants(lab: Lab) -> list[Variant]:
    wrong = [
        Variant(f"wrong/{w.name}", w.dir, w.fails, w.steps, w.passes, w.kept_from_base(), w.why)
        for w in lab.wrong
    ]
    return [
        Variant("solution", lab.solution, None, lab.solution_steps),
        Variant("starter", lab.starter, "*", lab.starter_steps),
        *wrong,
    ]


def apply_variant(kube: Kube, box: sandbox.Sandbox, variant: Variant, cleanup: Cleanup) -> list[Rejection]:
    """Apply a variant's manifests in its sandbox as the sandbox's ServiceAccount, then its
    kubectl steps; what the API server (or a step) refused, in order."""
    return sandbox.apply_answer(
        kube, box, manifests.load(variant.files, box.lab.render), variant.steps, cleanup, "verify"
    )


def verify_variant(kube: Kube, lab: Lab, variant: Variant, lang: Lang) -> Outcome:
    """Apply one variant in a sandbox of its own, run the checks, remove what it made."""
    cleanup = Cleanup(kube)
    started = time.monotonic()
    namespace = ""
    try:
        box = sandbox.open_sandbox(
            kube, lab, cleanup, docs=manifests.load(variant.files, lab.render), steps=variant.steps
        )
        namespace = box.namespace
        rejected = apply_variant(kube, box, variant, cleanup)
        card = engine.run_isolated(box.lab, kube.target, lang)
    except KeyboardInterrupt:
        raise Interrupted(cleanup.run(), undone=True) from None
    except Interrupted as stopped:  # the checks were stopped and cleaned up after themselves
        raise Interrupted((*stopped.leftovers, *cleanup.run()), undone=stopped.undone) from None
    except Exception as e:  # this variant could not be checked (out of time, a bug); the others go on
        if isinstance(e, ClusterUnavailable) and not kube.healthy():
            raise  # the cluster is gone: no variant can be judged
        reason = e.en if isinstance(e, KubelabError) else f"internal error: {type(e).__name__}: {e}"
        cleanup.run()
        return Outcome(
            variant,
            Scorecard(lab=lab.id, namespace=namespace, results=()),
            (),
            tuple(cleanup.leftovers),
            lab.id,
            namespace,
            round(time.monotonic() - started, 1),
            " ".join(reason.split()),
        )
    finally:
        cleanup.run()  # a no-op when it already ran
    return Outcome(
        variant,
        card,
        tuple(r.line() for r in rejected),
        tuple(cleanup.leftovers + list(card.leftovers)),
        lab.id,
        namespace,
        round(time.monotonic() - started, 1),
    )


def default_jobs(kube: Kube | None = None) -> int:
    """How many answers to check at once: they mostly wait for the cluster, so several per
    core of this machine (6, at most 12: on 2 cores all labs took 174–187 s with 12, where
    the cluster's own work was the limit), as its memory allows (about 0.75 GiB each: a
    pytest process), and no more than the cluster has room for (kubelab.capacity)."""
    cores = os.cpu_count() or 1
    here = max(1, min(12, 6 * cores, int(available_memory_gib() / 0.75)))
    if kube is None:
        return here
    from kubelab import capacity

    return min(here, capacity.jobs(kube))


def available_memory_gib() -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    return 4.0


def _times_path() -> Path:
    return repo.state_dir() / "verify-times.json"


def past_times() -> dict[str, float]:
    """Seconds each variant took in earlier runs here (to start the longest first, and
    the time left), over the times measured when the labs were last changed
    (labs/verify-times.json: a fresh checkout orders its first run well too)."""
    times: dict[str, float] = {}
    for path in (repo.labs_dir() / "verify-times.json", _times_path()):
        with contextlib.suppress(OSError, ValueError, TypeError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                times.update({str(k): float(v) for k, v in data.items()})
    return times


def _save_times(outcomes: Iterable[Outcome]) -> None:
    times = past_times()
    times.update({o.key: o.seconds for o in outcomes if not o.error})
    repo.write_state(_times_path(), json.dumps(times, indent=1, sort_keys=True))


@dataclass(frozen=True)
class Task:
    """One variant of one lab to verify, and how long it is expected to take."""

    lab: Lab
    variant: Variant
    estimate: float

    @property
    def key(self) -> str:
        return f"{self.lab.id}/{self.variant.name}"


def plan(labs: Iterable[Lab], repeat: int = 1) -> list[Task]:
    """Every variant of every lab (`repeat` times), longest expected first."""
    past = past_times()
    tasks: list[Task] = []
    for lab in labs:
        guess = sum(c.timeout for c in lab.checks) / 3
        for variant in variants(lab):
            key = f"{lab.id}/{variant.name}"
            tasks.extend(Task(lab, variant, past.get(key, guess)) for _ in range(repeat))
    return sorted(tasks, key=lambda t: -t.estimate)


class Progress(Protocol):
    """What a concurrent run reports as it goes (the CLI shows it)."""

    def started(self, task: Task) -> None: ...

    def finished(self, task: Task, outcome: Outcome) -> None: ...


def verify_all(kube: Kube, tasks: list[Task], lang: Lang, jobs: int, progress: Progress) -> list[Outcome]:
    """Verify the tasks, `jobs` at a time (kubelab.runner). On Ctrl-C every running check
    is stopped (undoing what it changed) and every sandbox removed, then Interrupted; on
    an environment problem (the cluster is gone) the same, then that problem."""
    kube.resource("Namespace")  # discover the API once, before the threads share the connection
    seen: list[Outcome] = []

    def finished(task: Task, outcome: Outcome) -> None:
        seen.append(outcome)
        progress.finished(task, outcome)

    try:
        with nodefiles.crew(kube, SANDBOX_HOST_ROOT):
            ran = runner.run_all(
                tasks,
                lambda task: verify_variant(kube, task.lab, task.variant, lang),
                jobs,
                progress.started,
                finished,
                lambda outcome: outcome.leftovers,
            )
    finally:
        _save_times(seen)
    if ran.problem is not None:
        raise ran.problem
    return ran.outcomes


def flakes(outcomes: Iterable[Outcome]) -> dict[str, list[str]]:
    """Checks whose verdict changed between runs of the same variant (--repeat): for
    each variant, the check ids (or "outcome") that did not always say the same."""
    seen: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        seen.setdefault(outcome.key, []).append(outcome)
    changed: dict[str, list[str]] = {}
    for key, runs in seen.items():
        ids = sorted({r.id for run in runs for r in run.card.results})
        flaky = [
            i
            for i in ids
            if len({next((r.passed for r in run.card.results if r.id == i), None) for run in runs}) > 1
        ]
        if len({run.ok for run in runs}) > 1:
            flaky.append("outcome")
        if flaky:
            changed[key] = flaky
    return changed
