"""Measure kubelab's budgets (`make bench`): how fast lint, a check run, a lab start and
a full verification are. Prints one line per budget and writes .kubelab/bench.json.

Verification is measured per lab with `-j 1` and with the default concurrency, then all
seven labs at once with the default, with the machine's peak memory in use (sampled from
/proc/meminfo while it runs: kubelab, its check processes and the cluster's pods).
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

from kubelab import cluster, labspec, lint, manifests, ownership, repo, verify
from kubelab.errors import InputError, KubelabError
from kubelab.kube import Kube

LINT, REFUSE, CHECK, START, VERIFY = (
    "lint all labs",
    "refuse a 50 MB manifest",
    "check lab 01 (solution applied)",
    "start lab 01 (cluster reused)",
    "verify all labs, -j default",
)
BENCH_NAMESPACE = "lab-01-bench"
BUDGETS = {LINT: 2.0, REFUSE: 1.0, CHECK: 60.0, START: 60.0, VERIFY: 360.0}
"""Seconds (median) each may take on the 2-core build machine."""


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


def kubelab(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "kubelab", *args], check=False, capture_output=True, timeout=3600)


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
    if not cluster_answers():
        print("no cluster: cluster budgets not measured (make lab-01 first)")
        return found
    # the check is measured in a namespace of the bench's own: a learner's lab-01 is not touched
    kubelab("solve", "01", "--namespace", BENCH_NAMESPACE)
    found.append(Measure(START, BUDGETS[START], timed(lambda: kubelab("start", "01"), 1)))
    check = lambda: kubelab("check", "01", "--namespace", BENCH_NAMESPACE)  # noqa: E731
    found.append(Measure(CHECK, BUDGETS[CHECK], timed(check, 3)))
    kube = Kube(cluster.resolve_target())
    ownership.remove_all(kube, [o for o in ownership.recorded(kube, "01") if o.name == BENCH_NAMESPACE])
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
        budget = f"budget {m.budget:6.0f} s" if m.budget else " " * 13
        print(f"{mark} {m.name:<34} median {m.median:8.2f} s  {budget}  runs {m.runs}")
    out = repo.state_dir() / "bench.json"
    out.write_text(json.dumps([asdict(m) for m in results], indent=2), encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
