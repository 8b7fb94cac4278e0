"""How often a web container's page is rewritten (kubelab.rhythm), with a fake lab whose
exec answers PROBE from a list of (page, mtime) and a wait that looks again at once."""

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


class FakeLab:
    """exec answers each PROBE with the next page of `pages`; eventually looks again until a
    look passes or fails for good (or `looks` run out)."""

    namespace = "lab-07"

    def __init__(self, pages: Sequence[tuple[str, str]], code: int = 0) -> None:
        self.pages = list(pages)
        self.code = code
        self.ran: list[tuple[str, Sequence[str], str | None]] = []

    def subject(self, kind: str, name: str) -> str:
        return f"{kind} {self.namespace}/{name}"

    def exec(self, pod: str, command: Sequence[str], container: str | None = None) -> ExecResult:
        self.ran.append((pod, command, container))
        body, mtime = self.pages.pop(0) if len(self.pages) > 1 else self.pages[0]
        curl = "0" if self.code == 0 else "22"
        return ExecResult(0, f"{curl}\n{mtime}\n{body}", "")

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


def test_what_the_probe_printed() -> None:
    seen = rhythm.parse_probe(ExecResult(0, "0\n1700000000.250000000\n<p>fortune\n</p>", ""), 1.0, 2.0)
    assert seen == Sample(2.0, True, "<p>fortune\n</p>", 1700000000.25, 1.0)
    refused = rhythm.parse_probe(ExecResult(0, "22\n-\ncurl: (22) returned error: 404", ""), 1.0, 2.0)
    assert (refused.ok, refused.mtime, refused.body) == (False, None, "curl: (22) returned error: 404")
    gone = rhythm.parse_probe(ExecResult(1, "", "container not found"), 1.0, 2.0)
    assert (gone.ok, gone.body) == (False, "container not found")


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
        ["sh", "-c", rhythm.PROBE, "probe", "/usr/share/nginx/html"],
        "web-server",
    )


def test_the_shortest_gap_is_the_interval_when_a_rewrite_came_and_went_between_looks() -> None:
    lab = FakeLab([("a", "100"), ("b", "104.1"), ("c", "106.3"), ("d", "108.2")])
    judged(lab, 2)


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
