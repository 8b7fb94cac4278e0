"""Measure kubelab's budgets (`make bench`): how fast lint, `kubelab list`, a check run,
a lab start, a wrong answer's scorecard and a full verification are, and a converged
lab 01 checked by kubelab and asserted by chainsaw v0.2.12 side by side (pairs, run in
turn). Prints one line per budget and writes .kubelab/bench.json.

Verification is measured per lab with `-j 1` and with the default concurrency, then all
seven labs at once with the default, with the machine's peak memory in use (sampled from
/proc/meminfo while it runs: kubelab, its check processes and the cluster's pods).
Grading throughput: benchmarks/grading.py (40 lab 01 submissions, at least 20 a minute).
`KUBELAB_BENCH_QUICK=1` leaves out the `-j 1` runs (about half an hour).

Budgets are measured here, not asserted by timed tests. Those that need a cluster are
measured only when kubelab's cluster answers (`make lab-01` first).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks import grading, scorecards
from kubelab import cluster, labspec, lint, manifests, ownership, repo, verify
from kubelab.errors import InputError, KubelabError
from kubelab.kube import Kube

LINT, REFUSE, LIST, CHECK, START, VERIFY, EMPTY, WRONG, GRADE = (
    "lint all labs",
    "refuse a 50 MB manifest",
    "kubelab list",
    "check lab 01 (solution applied)",
    "start lab 01 (cluster reused)",
    "verify all labs, -j default",
    "check lab 01, empty namespace",
    "slowest wrong answer's scorecard",
    f"grade {grading.STUDENTS} lab 01 submissions",
)
BENCH_NAMESPACE = "lab-01-bench"
BUDGETS = {
    LINT: 2.0,
    REFUSE: 1.0,
    LIST: 0.3,
    CHECK: 60.0,
    START: 60.0,
    VERIFY: 360.0,
    EMPTY: 5.0,
    WRONG: scorecards.BUDGET,
    GRADE: grading.STUDENTS / grading.PER_MINUTE * 60,
}
"""Seconds (median) each may take on the 2-core build machine."""
CHAINSAW_RATIO = 1.5
"""A converged lab 01's look-only check may take this many times chainsaw's assert of
the same state (benchmarks/chainsaw/lab01), median against median."""
PAIRS = 9
SCREEN_ROWS, SCREEN_COLUMNS = 25, 100
"""The empty-namespace scorecard of lab 01 must fit on one screen this size."""


@dataclass(frozen=True)
class Measure:
    name: str
    budget: float
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def within(self) -> bool:
        return self.median <= self.budget


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        seconds.append(round(time.perf_counter() - started, 3))
    return seconds


def kubelab(*args: str, columns: int | None = None) -> str:
    """Run the kubelab command (a process of its own, as a learner runs it); its output."""
    env = {**os.environ, "COLUMNS": str(columns)} if columns else None
    done = subprocess.run(
        [sys.executable, "-m", "kubelab", *args],
        check=False,
        capture_output=True,
        timeout=3600,
        text=True,
        env=env,
    )
    return done.stdout


def screen_rows(text: str, columns: int) -> int:
    """Rows the text takes on a terminal `columns` wide (wide characters count twice)."""
    from rich.cells import cell_len

    return sum(max(1, -(-cell_len(line) // columns)) for line in text.splitlines())


def chainsaw_pairs(namespace: str) -> tuple[Measure, Measure] | None:
    """chainsaw asserting a converged lab 01, and kubelab's look-only check of it, run
    in turn PAIRS times (so both see the same machine); None when chainsaw cannot be
    built here (ci/build-chainsaw.sh needs Go and the Go module proxy)."""
    built = subprocess.run(
        ["bash", str(repo.root() / "ci" / "build-chainsaw.sh")], capture_output=True, text=True, timeout=1500
    )
    if built.returncode != 0:
        print(f"chainsaw not built: {built.stderr.strip()[-300:]}")
        return None
    chainsaw = built.stdout.strip().splitlines()[-1]
    test_dir = str(repo.root() / "benchmarks" / "chainsaw" / "lab01")
    context = cluster.resolve_target().context or ""
    assert_state = [chainsaw, "test", "--test-dir", test_dir, "--namespace", namespace, "--no-color"]
    if context:
        assert_state += ["--kube-context", context]
    theirs, ours = [], []
    for _ in range(PAIRS):
        theirs += timed(lambda: subprocess.run(assert_state, capture_output=True, check=True, timeout=120), 1)
        ours += timed(lambda: kubelab("check", "01", "--namespace", namespace, "--look-only"), 1)
    return Measure("chainsaw assert, converged lab 01", 0.0, theirs), Measure(
        "kubelab check 01 --look-only, converged", 0.0, ours
    )


def empty_namespace_card(kube: Kube) -> tuple[Measure, int]:
    """lab 01 checked in a namespace with nothing in it: seconds, and screen rows."""
    empty = ownership.create_namespace(kube, f"{BENCH_NAMESPACE}-empty", "01", "bench")
    try:
        shown: list[str] = []
        runs = timed(
            lambda: shown.append(kubelab("check", "01", "--namespace", empty.name, columns=SCREEN_COLUMNS)),
            3,
        )
        return Measure(EMPTY, BUDGETS[EMPTY], runs), screen_rows(shown[-1], SCREEN_COLUMNS)
    finally:
        ownership.remove_all(kube, [empty])


def cluster_answers() -> bool:
    try:
        Kube(cluster.resolve_target()).server_version()
    except KubelabError:
        return False
    return True


def refuse(path: Path) -> None:
    """A learner's file that must be refused (from its size, not by parsing it)."""
    try:
        manifests.load([path])
    except InputError:
        return
    raise AssertionError(f"{path} was accepted")


def measure() -> list[Measure]:
    lint_all = lambda: [list(lint.lab_problems(lab)) for lab in labspec.all_labs()]  # noqa: E731
    found = [Measure(LINT, BUDGETS[LINT], timed(lint_all, 5))]
    with tempfile.TemporaryDirectory() as folder:
        huge = Path(folder) / "huge.yaml"
        huge.write_bytes(b"# filler\n" * (50 * 1024 * 1024 // 9))
        found.append(Measure(REFUSE, BUDGETS[REFUSE], timed(lambda: refuse(huge), 5)))
    found.append(Measure(LIST, BUDGETS[LIST], timed(lambda: kubelab("list"), 5)))
    if not cluster_answers():
        print("no cluster: cluster budgets not measured (make lab-01 first)")
        return found
    # the check is measured in a namespace of the bench's own: a learner's lab-01 is not touched
    kubelab("solve", "01", "--namespace", BENCH_NAMESPACE)
    found.append(Measure(START, BUDGETS[START], timed(lambda: kubelab("start", "01"), 1)))
    check = lambda: kubelab("check", "01", "--namespace", BENCH_NAMESPACE)  # noqa: E731
    found.append(Measure(CHECK, BUDGETS[CHECK], timed(check, 3)))
    pairs = chainsaw_pairs(BENCH_NAMESPACE)
    if pairs is not None:
        found += pairs
        ratio = pairs[1].median / pairs[0].median
        verdict = "ok" if ratio <= CHAINSAW_RATIO else "OVER"
        print(f"{verdict}: kubelab / chainsaw on a converged lab 01: {ratio:.2f}x (budget {CHAINSAW_RATIO}x)")
    kube = Kube(cluster.resolve_target())
    ownership.remove_all(kube, [o for o in ownership.recorded(kube, "01") if o.name == BENCH_NAMESPACE])
    empty, rows = empty_namespace_card(kube)
    found.append(empty)
    verdict = "ok" if rows <= SCREEN_ROWS else "OVER"
    print(f"{verdict}: lab 01's empty-namespace scorecard: {rows} rows at {SCREEN_COLUMNS} columns")
    wrong = scorecards.main([])
    graded = grading.main([])
    found.append(Measure(GRADE, BUDGETS[GRADE], [graded.seconds]))
    found.append(Measure(WRONG, BUDGETS[WRONG], [max((t.seconds for t in wrong), default=0.0)]))
    jobs = verify.default_jobs()
    one_at_a_time = 0.0
    for lab in labspec.all_labs():
        if not os.environ.get("KUBELAB_BENCH_QUICK"):
            one = timed(lambda lab_id=lab.id: kubelab("verify", lab_id, "-j", "1"), 1)
            found.append(Measure(f"verify lab {lab.id}, -j 1", 0.0, one))
            one_at_a_time += one[0]
        many = timed(lambda lab_id=lab.id: kubelab("verify", lab_id, "-j", str(jobs)), 1)
        found.append(Measure(f"verify lab {lab.id}, -j {jobs}", 0.0, many))
    if one_at_a_time:
        found.append(Measure("verify all labs, -j 1 (the labs' sum)", 0.0, [round(one_at_a_time, 3)]))
    with PeakMemory() as peak:
        found.append(Measure(VERIFY, BUDGETS[VERIFY], timed(lambda: kubelab("verify"), 1)))
    print(f"verify all labs, -j {jobs}: peak memory in use {peak.gib:.2f} GiB above the start")
    return found


class PeakMemory:
    """The most memory the machine had in use above where it started (MemAvailable)."""

    def __init__(self) -> None:
        self.start = self.lowest = available()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.lowest = min(self.lowest, available())

    @property
    def gib(self) -> float:
        return (self.start - self.lowest) / 2**30

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    results = measure()
    for m in results:
        mark = "    " if not m.budget else "ok  " if m.within else "OVER"
        budget = f"budget {m.budget:6g} s" if m.budget else " " * 13
        print(f"{mark} {m.name:<34} median {m.median:8.2f} s  {budget}  runs {m.runs}")
    out = repo.state_dir() / "bench.json"
    out.write_text(json.dumps([asdict(m) for m in results], indent=2), encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
