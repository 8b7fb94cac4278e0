"""Rendering for people: the scorecard, lab lists and verification tables (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text as RichText

from kubelab.results import Scorecard
from kubelab.text import Lang, Text

console = Console(highlight=False, soft_wrap=True)

SCORE = Text("점수", "score")
ALL_PASSED = Text("모든 검사를 통과했습니다", "all checks passed")
SOME_FAILED = Text("실패한 검사를 고친 뒤 다시 실행하세요", "fix the failed checks and run again")


def scorecard(card: Scorecard, lang: Lang) -> None:
    """Print each check ✓/✗ with points; each ✗ with its message, indented."""
    console.print(f"[bold]lab {card.lab}[/] · namespace {card.namespace}")
    for result in card.results:
        mark = "[green]✓[/]" if result.passed else "[red]✗[/]"
        points = f"{result.earned}/{result.points}"
        console.print(f" {mark} {points:>5}  {escape(result.title.both(lang))}  [dim]{result.id}[/]")
        if not result.passed:
            for line in result.message.splitlines():
                console.print(RichText("          " + line))
    verdict = ALL_PASSED if card.passed else SOME_FAILED
    colour = "green" if card.passed else "yellow"
    console.print(
        f"[bold]{SCORE.both(lang)}: {card.earned}/{card.total}[/] — [{colour}]{verdict.both(lang)}[/]"
    )
