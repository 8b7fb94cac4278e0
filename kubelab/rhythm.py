"""How often a web container's page is rewritten, measured from inside the container.

A page's rhythm cannot be read from a spec: a check asks the web container for its page
and for the page file's modification time (nanoseconds) about every half second, counts a
rewrite each time either changes, and judges the shortest gap between two rewrites seen.
A gap is the interval, or a multiple of it when a rewrite came and went between two looks
(an exec takes seconds on a busy machine), so the shortest gap is the interval; the median
failed a right answer under load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from kubelab.checks import assert_that, fail
from kubelab.kube import ExecResult
from kubelab.text import Text

if TYPE_CHECKING:
    from kubelab.checks import LabContext
    from kubelab.containers import PodContainer

INTERVALS = 3
"""Gaps between rewrites seen before the shortest is judged."""
SLOWEST, FASTEST = 1.75, 0.75
"""The shortest gap must lie in [FASTEST, SLOWEST] × the interval asked for; a page
unchanged for SLOWEST × the interval plus a margin for slow polls is too slow at once."""
PROBE = r"""
body=$(curl -sSf -m 2 http://localhost/ 2>&1); code=$?
echo "$code"
stat -c %.9Y "$1/index.html" 2>/dev/null || echo -
printf '%s' "$body"
"""
"""Run in the web container with the page's folder as $1: curl's exit code, the page
file's mtime, the page."""


@dataclass(frozen=True)
class Sample:
    """One look at the page."""

    at: float
    """Wall-clock time the poll ended."""
    ok: bool
    """curl got the page."""
    body: str
    """The page, or what curl (or exec) said instead."""
    mtime: float | None
    """The page file's modification time, as the web container sees it."""
    begun: float = 0.0
    """Wall-clock time the poll began (on a busy machine an exec takes seconds: the page
    was read somewhere between begun and at)."""


def parse_probe(done: ExecResult, begun: float, at: float) -> Sample:
    """What PROBE printed, as a Sample of a poll that ran from `begun` to `at`."""
    lines = done.stdout.split("\n", 2)
    code = lines[0].strip() if lines else ""
    try:
        mtime: float | None = float(lines[1]) if len(lines) > 1 else None
    except ValueError:
        mtime = None
    body = lines[2] if len(lines) > 2 else done.stderr
    return Sample(at, done.code == 0 and code == "0", body, mtime, begun)


def sample(lab: LabContext, web: PodContainer, served: str) -> Sample:
    """Look at the page once: PROBE in the web container, for the file in `served`."""
    begun = time.time()
    done = lab.exec(web.name, ["sh", "-c", PROBE, "probe", served], container=web.container_name)
    return parse_probe(done, begun, time.time())


def complete(sample: Sample) -> bool:
    """Did this look see a whole page? An empty one is a page being written (the shell
    empties the file, then the generator writes into it)."""
    return sample.ok and bool(sample.body.strip())


def changes(samples: list[Sample]) -> list[float]:
    """When the page was rewritten: a new mtime of the file (the first look's too: the
    write before it counts), else, with no mtime seen, a new page at the look's time. A
    look that read the page just before a rewrite and the file's mtime just after sees the
    new page only at the next look, with the same mtime: still one rewrite; a look that
    found the file emptied mid-write is not one."""
    whole = [s for s in samples if complete(s)]
    times: list[float] = [whole[0].mtime] if whole and whole[0].mtime is not None else []
    for before, after in pairwise(whole):
        if after.mtime is not None and before.mtime is not None:
            if after.mtime != before.mtime:
                times.append(after.mtime)
        elif after.body != before.body:
            times.append(after.at)
    return times


def seconds(value: float) -> str:
    return f"{value:.1f} s"


def page_rhythm(
    lab: LabContext,
    web: PodContainer,
    served: str,
    root: str,
    interval: float,
    hint: Callable[[], Text | None],
) -> None:
    """Look at the page `web` serves until INTERVALS gaps between rewrites were seen, then
    judge the interval (the shortest gap). `served`: the folder of the page file in the web
    container; `root`: the folder the web server serves; `hint`: why the rhythm is wrong,
    asked only when it is."""
    subject = f"the page served by {web.subject(lab)}"
    band = f"{FASTEST * interval:.1f}–{SLOWEST * interval:.1f} s"
    wanted = f"a new page about every {seconds(interval)} ({band})"
    stall = SLOWEST * interval + max(2.0, interval / 2)
    samples: list[Sample] = []
    started = time.time()

    def judged() -> None:
        samples.append(sample(lab, web, served))
        last = samples[-1]
        if not last.ok:
            refused = [s for s in samples[-3:] if not s.ok and "returned error" in s.body]
            fail(
                subject,
                wanted,
                f"no page: {last.body.strip()[:160] or 'curl failed'}",
                Text(
                    f"웹 서버가 {root}에서 index.html을 찾지 못합니다: 쓰인 페이지가 그 폴더에 오지 않습니다",
                    f"the web server finds no index.html in {root}: "
                    "the pages written do not reach that folder",
                )
                if refused
                else None,
                final=len(refused) == 3,
            )
        times = changes(samples)
        pages = len({s.body for s in samples if complete(s)})
        moved = [
            b.at for a, b in pairwise(samples) if a.ok and b.ok and (a.body, a.mtime) != (b.body, b.mtime)
        ]
        # unchanged at least from the end of the poll that first showed this page to the
        # start of the last poll (never from before the first poll: nothing was seen then)
        quiet = last.begun - (moved[-1] if moved else samples[0].at)
        if quiet > stall:
            fail(
                subject,
                wanted,
                f"the same page for {seconds(quiet)} (looked {len(samples)} times)",
                hint(),
                final=True,
            )
        gaps = [b - a for a, b in pairwise(times)]
        if len(gaps) < INTERVALS:
            fail(
                subject, wanted, f"{len(times)} rewrites seen in {seconds(last.at - started)}; still looking"
            )
        assert_that(
            pages > 2,
            subject,
            wanted,
            f"index.html was rewritten {len(times)} times but the page served showed {pages} different pages",
            Text(
                f"웹 서버가 {served} 폴더를 보여 주는지 보세요 (웹 서버는 {root} 폴더를 보여 줍니다)",
                f"check that the web server serves {served} (it serves {root})",
            ),
            final=True,
        )
        # a gap between two rewrites seen is the interval, or a multiple of it when a
        # rewrite came and went between two looks (an exec takes seconds on a busy
        # machine): the shortest gap is the interval
        shortest = min(gaps)
        assert_that(
            FASTEST * interval <= shortest <= SLOWEST * interval,
            subject,
            wanted,
            f"a new page every {seconds(shortest)} (the shortest of {', '.join(seconds(g) for g in gaps)})",
            hint(),
            final=True,
        )

    lab.eventually(judged, timeout=SLOWEST * interval * (INTERVALS + 1) + 10)
