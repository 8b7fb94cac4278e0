"""How often a web container's page is rewritten, measured from inside the container.

A page's rhythm cannot be read from a spec. A check watches the page where it is served:
one look is one exec into the web container that, for a few seconds, reads the page
file's modification time (nanoseconds) every WATCH_STEP seconds and, at the start, at
each new mtime and at the end, asks the web server for the page; every rewrite within a
look is timed by the node itself, however slow the exec's round trip (on a busy machine
it takes seconds, longer than the interval). Between two looks a rewrite may come and go
unseen, making a gap a multiple of the interval, so the shortest gap between rewrites is
the one judged; the median failed a right answer under load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from kubelab.checks import assert_that, fail
from kubelab.text import Text

if TYPE_CHECKING:
    from kubelab.checks import LabContext
    from kubelab.containers import PodContainer

INTERVALS = 3
"""Gaps between rewrites seen before the shortest is judged."""
WATCH_SPAN_MOST = 8.0
"""Seconds one look watches at most (twice the interval asked for, up to this)."""
SLOWEST, FASTEST = 1.75, 0.75
"""The shortest gap must lie in [FASTEST, SLOWEST] × the interval asked for; a page
unchanged for SLOWEST × the interval plus a margin for slow polls is too slow at once."""
WATCH_STEP = 0.2
"""Seconds between two reads of the page file's mtime within one look."""
WATCH = r"""
end=$(( $(date +%s) + $2 )); last=none
while :; do
  m=$(stat -c %.9Y "$1/index.html" 2>/dev/null || echo -); now=$(date +%s.%N)
  if [ "$m" != "$last" ] || [ "${now%.*}" -ge "$end" ]; then
    body=$(curl -sSf -m 2 http://localhost/ 2>&1); code=$?
    if [ "$code" = 0 ]; then said=$(printf '%s' "$body" | md5sum | cut -c1-16)
    else said=$(printf '%s' "$body" | head -c 300 | tr '\n' ' '); fi
    echo "$now $code $m $said"; last=$m
  fi
  [ "${now%.*}" -ge "$end" ] && break
  sleep $3
done
"""
"""Run in the web container with the page's folder as $1, the seconds to watch as $2
and WATCH_STEP as $3: one line at the start, at each new mtime of index.html and at the
end: the node's time, curl's exit code, the mtime (- if none), and the page's digest
(or what curl said instead)."""


@dataclass(frozen=True)
class Sample:
    """One reading of the page."""

    at: float
    """When it was read (the node's clock, as the mtimes)."""
    ok: bool
    """curl got the page."""
    body: str
    """The page's digest, or what curl (or exec) said instead."""
    mtime: float | None
    """The page file's modification time, as the web container sees it."""


def parse_watch(printed: str) -> list[Sample]:
    """What WATCH printed, as Samples (a line it could not have printed is skipped)."""
    samples: list[Sample] = []
    for line in printed.splitlines():
        parts = line.split(" ", 3)
        try:
            at = float(parts[0])
        except ValueError:
            continue
        if len(parts) < 3:
            continue
        try:
            mtime: float | None = float(parts[2])
        except ValueError:
            mtime = None
        samples.append(Sample(at, parts[1] == "0", parts[3] if len(parts) > 3 else "", mtime))
    return samples


def watch(lab: LabContext, web: PodContainer, served: str, span: float) -> tuple[list[Sample], str]:
    """Watch the page for `span` seconds (WATCH in the web container, for the file in
    `served`): the readings, and what the exec said when it printed none."""
    command = ["sh", "-c", WATCH, "watch", served, str(max(1, round(span))), str(WATCH_STEP)]
    done = lab.exec(web.name, command, container=web.container_name)
    samples = parse_watch(done.stdout)
    said = (
        "" if samples else (done.stderr.strip() or done.stdout.strip() or f"exec ended with code {done.code}")
    )
    return samples, said


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
    span = min(WATCH_SPAN_MOST, 2 * interval)
    samples: list[Sample] = []

    def judged() -> None:
        looked, said = watch(lab, web, served, span)
        if not looked:  # the container did not run the watch (not running, restarting)
            fail(subject, wanted, f"no page: {said[:160]}")
        samples.extend(looked)
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
        # unchanged at least from the reading that first showed this page to the last
        # reading (never from before the first: nothing was seen then)
        quiet = last.at - (moved[-1] if moved else samples[0].at)
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
                subject,
                wanted,
                f"{len(times)} rewrites seen in {seconds(last.at - samples[0].at)}; still looking",
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

    lab.eventually(judged, timeout=SLOWEST * interval * (INTERVALS + 1) + 2 * span + 10)
