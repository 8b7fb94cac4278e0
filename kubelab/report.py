"""Rendering for people: the scorecard, lab lists and verification tables (rich)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.text import Text as RichText

from kubelab.results import Scorecard
from kubelab.text import Lang, Text

if TYPE_CHECKING:
    from pathlib import Path

    from kubelab.grade import Grade, Submission
    from kubelab.verify import Outcome, Task

console = Console(highlight=False, soft_wrap=True)

SCORE = Text("점수", "score")
ALL_PASSED = Text("모든 검사를 통과했습니다", "all checks passed")
SOME_FAILED = Text("실패한 검사를 고친 뒤 다시 실행하세요", "fix the failed checks and run again")


MORE = Text("--verbose: 모든 실패를 자세히", "--verbose: every failure in full")


def scorecard(card: Scorecard, lang: Lang, verbose: bool = False) -> None:
    """Print each check ✓/✗ with points, short enough for one screen: titles in `lang`;
    the first failure (of a check that ran) with its whole message in both languages —
    object, expected, found, diagnosis, hint, kubectl — and every other failure in its own
    line (what was found; for a check that did not run, which check it needs).
    `verbose`: titles and every message in full in both languages, and each check's
    seconds."""
    first = next((r for r in card.results if not r.passed and not r.blocked_by and not r.deferred), None)
    shortened = not verbose and sum(not r.passed for r in card.results) > (first is not None)
    more = f"  [dim]({escape(MORE.pick(lang))})[/]" if shortened else ""
    console.print(f"[bold]lab {card.lab}[/] · namespace {card.namespace}{more}")
    for result in card.results:
        mark = "[green]✓[/]" if result.passed else "[cyan]→[/]" if result.deferred else "[red]✗[/]"
        points = f"{result.earned}/{result.points}"
        title = result.title.both(lang) if verbose else result.title.pick(lang)
        line = f" {mark} {points:>5}  {escape(title)}  [dim]{result.id}[/]"
        if verbose:
            line += f"  [dim]({result.seconds:g} s)[/]"
        elif not result.passed and result is not first:
            brief = result.brief or result.message.partition("\n")[0]
            line += f" — {escape(brief)}"
        console.print(line)
        if not result.passed and (verbose or result is first):
            for said in result.message.splitlines():
                console.print(RichText("          " + said))
    verdict = ALL_PASSED if card.passed else SOME_FAILED
    colour = "green" if card.passed else "yellow"
    console.print(
        f"[bold]{SCORE.both(lang)}: {card.earned}/{card.total}[/] — [{colour}]{verdict.both(lang)}[/]"
    )
    if card.deferred_points:
        left = sum(r.deferred for r in card.results)
        deferred = Text(
            f"→ 선생님의 채점에 맡긴 검사: {left}개, {card.deferred_points}점 "
            "(여러분의 자격 증명으로는 할 수 없는 일이 필요합니다)",
            f"→ {left} checks ({card.deferred_points} points) are left to your teacher's grading "
            "(they need more than your credential allows)",
        )
        console.print(escape(deferred.both(lang)))


class LiveBar:
    """A live view of a concurrent run: a bar (done of all, elapsed, time left), what is
    running now; subclasses print a line per task as it ends."""

    label = "run"

    def __init__(
        self, out: Console, total: int, jobs: int, estimates: dict[int, float] | None = None
    ) -> None:
        from rich.progress import (  # only concurrent runs show progress: the others do not import it
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.out = out
        self.jobs = max(1, jobs)
        self.running: dict[int, str] = {}
        self._lock = threading.Lock()
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("left ~{task.fields[left]}" if estimates is not None else ""),
            console=out,
            transient=True,
        )
        self.remaining = dict(estimates or {})
        self.task = self.bar.add_task(self.label, total=total, left=self._left())

    def _left(self) -> str:
        seconds = sum(self.remaining.values()) / self.jobs
        return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"

    def _describe(self) -> str:
        names = ", ".join(self.running.values())
        return f"running: {names}" if names else self.label

    def _started(self, key: int, name: str) -> None:
        with self._lock:
            self.running[key] = name
            self.bar.update(self.task, description=self._describe())

    def _finished(self, key: int) -> None:
        with self._lock:
            self.running.pop(key, None)
            self.remaining.pop(key, None)
            self.bar.update(self.task, advance=1, description=self._describe(), left=self._left())

    def __enter__(self) -> LiveBar:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


class VerifyProgress(LiveBar):
    """Verify's view: time left from earlier runs' times, a line per variant as it ends."""

    label = "verify"

    def __init__(self, out: Console, tasks: list[Task], jobs: int, lang: Lang = "ko") -> None:
        super().__init__(out, len(tasks), jobs, {id(t): t.estimate for t in tasks})
        self.lang = lang

    def started(self, task: Task) -> None:
        self._started(id(task), f"{task.lab.id} {task.variant.name}")

    def finished(self, task: Task, outcome: Outcome) -> None:
        self._finished(id(task))
        mark = "[green]✓[/]" if outcome.ok else "[red]✗[/]"
        name = f"{outcome.lab} {outcome.variant.name}"
        self.out.print(
            f" {mark} {escape(name):<31} {outcome.expectation():<34} {escape(outcome.summary())}"
            f"  [dim]{outcome.seconds:.0f} s, {outcome.namespace}[/]"
        )
        if outcome.variant.why is not None:  # the mistake this wrong answer stands for
            self.out.print(RichText(f"     why: {outcome.variant.why.pick(self.lang)}", style="dim"))
        if not outcome.ok:  # what to look at, without running it again
            for line in outcome.rejected:
                self.out.print(RichText(f"     refused: {line}"))
            for result in outcome.card.results:
                if not result.passed and result.message:
                    self.out.print(
                        RichText(f"     {result.id}: {' | '.join(result.message.splitlines()[:3])}")
                    )

    def __enter__(self) -> VerifyProgress:
        super().__enter__()
        return self


class GradeProgress(LiveBar):
    """Grading's view: a line per student as their submission is graded."""

    label = "grade"

    def started(self, task: tuple[Submission, int]) -> None:
        self._started(id(task), task[0].student)

    def finished(self, task: tuple[Submission, int], grade: Grade) -> None:
        self._finished(id(task))
        colour = {"graded": "green", "missing": "dim", "invalid": "yellow"}.get(grade.status, "red")
        why = f"  {escape(grade.reason)}" if grade.reason else ""
        refused = f"  [dim]refused {len(grade.refused)}[/]" if grade.refused else ""
        self.out.print(
            f" {escape(grade.student):<20} {grade.earned:>3}/{grade.total:<3} [{colour}]{grade.status}[/]"
            f"{refused}{why}  [dim]{grade.seconds:.0f} s[/]"
        )

    def __enter__(self) -> GradeProgress:
        super().__enter__()
        return self


def grade_summary(grades: list[Grade], changed: dict[str, list[str]], seconds: float, out: Path) -> None:
    """Statuses counted, a histogram of the graded scores, changed verdicts, where it all is."""
    from collections import Counter

    from rich.table import Table

    statuses = Counter(g.status for g in grades)
    console.print("  ".join(f"{status}: {count}" for status, count in sorted(statuses.items())))
    graded = [g for g in grades if g.status == "graded"]
    if graded:
        total = max(g.total for g in graded)
        counts = Counter(g.earned for g in graded)
        table = Table("score", "students", "", box=None)
        for score in range(total, -1, -1):
            table.add_row(f"{score}/{total}", str(counts.get(score, 0)), "█" * counts.get(score, 0))
        console.print(table)
    for student, checks in sorted(changed.items()):
        console.print(f" [red]changed[/] {student}: verdict differed between runs: {', '.join(checks)}")
    per_minute = len(grades) / seconds * 60 if seconds else 0.0
    console.print(
        f"grade: {len(grades)} students in {seconds:.0f} s ({per_minute:.1f}/min) → "
        f"{out}/grades.csv, feedback/, evidence/"
    )


def _failures(outcomes: list[Outcome], key: str, checks: list[str]) -> list[tuple[str, str]]:
    """For each of these checks of a variant, what its first failed run said (one line)."""
    found: list[tuple[str, str]] = []
    for check in checks:
        said = next(
            (
                r.brief or r.message.strip().splitlines()[0]
                for o in outcomes
                if o.key == key
                for r in o.card.results
                if r.id == check and not r.passed and (r.brief or r.message.strip())
            ),
            "",
        )
        if said:
            found.append((check, said[:400]))
    return found


def verify_summary(outcomes: list[Outcome], flakes: dict[str, list[str]], seconds: float) -> None:
    """Per lab: variants right of all and the time they took; then flakes, then a total."""
    labs = sorted({o.lab for o in outcomes})
    for lab in labs:
        mine = [o for o in outcomes if o.lab == lab]
        right = sum(o.ok for o in mine)
        colour = "green" if right == len(mine) else "red"
        busy = sum(o.seconds for o in mine)
        console.print(
            f" lab {lab}: [{colour}]{right}/{len(mine)} as expected[/]  [dim]{busy:.0f} s of checking[/]"
        )
    for key, checks in sorted(flakes.items()):
        console.print(f" [red]flaky[/] {key}: verdict changed between runs: {', '.join(checks)}")
        for check, said in _failures(outcomes, key, checks):  # what the run that failed said
            console.print(f"     {check}: {escape(said)}", highlight=False)
    bad = sum(not o.ok for o in outcomes)
    verdict = "[green]all as expected[/]" if not bad and not flakes else f"[red]{bad} not as expected[/]"
    console.print(f"verify: {len(outcomes)} variants in {seconds:.0f} s — {verdict}")
