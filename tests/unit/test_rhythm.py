"""How often a web container's page is rewritten (kubelab.rhythm), with a fake lab whose
exec answers WATCH from a list of looks and a wait that looks again at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest

from kubelab import rhythm
from kubelab.containers import PodContainer
from kubelab.errors import CheckFailed
from kubelab.kube import ExecResult
from kubelab.rhythm import Sample
from kubelab.text import Text

T = TypeVar("T")
WEB = PodContainer({"metadata": {"name": "fortune"}}, {"name": "web-server"})
SLOW = Text("느립니다", "too slow")
Reading = tuple[str, str] | tuple[str, str, float]
"""(page, mtime) read half a second after the reading before, or (page, mtime, when)."""


class FakeLab:
    """exec answers each WATCH with the next look of `looks` (one reading, or a list of
    readings); eventually looks again until a look passes or fails for good (or `looks`
    run out)."""

    namespace = "lab-07"

    def __init__(self, looks: Sequence[Reading | list[Reading]], code: int = 0) -> None:
        self.looks = list(looks)
        self.code = code
        self.clock = 1000.0
        self.ran: list[tuple[str, Sequence[str], str | None]] = []

    def subject(self, kind: str, name: str) -> str:
        return f"{kind} {self.namespace}/{name}"

    def exec(self, pod: str, command: Sequence[str], container: str | None = None) -> ExecResult:
        self.ran.append((pod, command, container))
        look = self.looks.pop(0) if len(self.looks) > 1 else self.looks[0]
        lines = []
        for reading in look if isinstance(look, list) else [look]:
            self.clock = float(reading[2]) if len(reading) > 2 else self.clock + 0.5  # type: ignore[misc]
            lines.append(f"{self.clock} {0 if self.code == 0 else 22} {reading[1]} {reading[0]}")
        return ExecResult(0, "\n".join(lines) + "\n", "")

    def eventually(self, assertion: Callable[[], T], timeout: float | None = None) -> T:
        for _ in range(20):
            try:
                return assertion()
            except CheckFailed as e:
                if e.final:
                    raise
        return assertion()


def judged(lab: FakeLab, interval: float, hint: Text | None = SLOW) -> None:
    rhythm.page_rhythm(lab, WEB, "/usr/share/nginx/html", "/usr/share/nginx/html", interval, lambda: hint)  # type: ignore[arg-type]


def failure(run: Callable[[], Any]) -> CheckFailed:
    with pytest.raises(CheckFailed) as e:
        run()
    return e.value


def test_what_the_watch_printed() -> None:
    printed = "1700000001.5 0 1700000000.250000000 3f2a\n1700000002 22 - curl: (22) returned error: 404\n"
    assert rhythm.parse_watch(printed) == [
        Sample(1700000001.5, True, "3f2a", 1700000000.25),
        Sample(1700000002.0, False, "curl: (22) returned error: 404", None),
    ]
    assert rhythm.parse_watch("sh: 1: stat: not found\n") == []


def test_rewrites_are_the_files_mtimes_and_the_first_page_counts() -> None:
    looks = [Sample(10, True, "a", 9.5), Sample(11, True, "a", 9.5), Sample(12, True, "b", 11.5)]
    assert rhythm.changes(looks) == [9.5, 11.5]
    without_mtime = [Sample(10, True, "a", None), Sample(11, True, "b", None), Sample(12, False, "x", None)]
    assert rhythm.changes(without_mtime) == [11]


def test_a_rewrite_seen_in_two_looks_is_one() -> None:
    """The page read just before a rewrite, the mtime just after (the next look brings the
    new page, same mtime); a file emptied mid-write, then written (a new mtime again)."""
    late = [Sample(10, True, "a", 9.5), Sample(11, True, "a", 10.8), Sample(12, True, "b", 10.8)]
    assert rhythm.changes(late) == [9.5, 10.8]
    emptied = [Sample(10, True, "a", 9.5), Sample(11, True, "", 10.8), Sample(12, True, "b", 10.81)]
    assert rhythm.changes(emptied) == [9.5, 10.81]


def test_a_page_every_two_seconds_passes() -> None:
    lab = FakeLab([("a", "100"), ("a", "100"), ("b", "102"), ("c", "104"), ("d", "106")])
    judged(lab, 2)
    assert lab.ran[0] == (
        "fortune",
        ["sh", "-c", rhythm.WATCH, "watch", "/usr/share/nginx/html", "4", "0.2"],
        "web-server",
    )


def test_the_shortest_gap_is_the_interval_when_a_rewrite_came_and_went_between_looks() -> None:
    lab = FakeLab([("a", "100"), ("b", "104.1"), ("c", "106.3"), ("d", "108.2")])
    judged(lab, 2)


def test_rewrites_within_one_look_are_timed_however_far_apart_the_looks() -> None:
    """On a busy machine an exec takes longer than the interval: each look still times the
    rewrites it saw by the node's clock."""
    far = [
        [("a", "100", 100.1), ("b", "102", 102.1), ("b", "102", 104.1)],
        [("e", "108", 109.0), ("f", "110", 110.1), ("f", "110", 113.0)],
    ]
    judged(FakeLab(far), 2)


def test_a_container_that_runs_no_watch_is_not_yet_a_verdict() -> None:
    class Restarting(FakeLab):
        def exec(self, pod: str, command: Sequence[str], container: str | None = None) -> ExecResult:
            return ExecResult(-1, "", 'container not found ("web-server")')

    said = failure(lambda: judged(Restarting([("a", "1")]), 2))
    assert not said.final and said.finding.found == 'no page: container not found ("web-server")'


def test_a_page_every_ten_seconds_fails_for_good_with_the_hint() -> None:
    lab = FakeLab([("a", "100"), ("b", "110"), ("c", "120"), ("d", "130")])
    said = failure(lambda: judged(lab, 2))
    assert said.final
    assert said.finding.found == "a new page every 10.0 s (the shortest of 10.0 s, 10.0 s, 10.0 s)"
    assert said.finding.expected == "a new page about every 2.0 s (1.5–3.5 s)"
    assert said.finding.subject == "the page served by Pod lab-07/fortune (container web-server)"


def test_no_index_html_three_times_is_final() -> None:
    lab = FakeLab([("curl: (22) The requested URL returned error: 404", "-")], code=22)
    said = failure(lambda: judged(lab, 2))
    assert said.final
    assert said.finding.found.startswith("no page: curl: (22)")
