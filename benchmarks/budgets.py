"""Measure kubelab's budgets (`make bench`): how fast lint, a check run, a lab start and
a full verification are. Prints one line per budget and writes .kubelab/bench.json.

Budgets are measured here, not asserted by timed tests. Those that need a cluster are
measured only when kubelab's cluster answers (`make lab-01` first).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from kubelab import cluster, labspec, lint, manifests, ownership, repo
from kubelab.errors import InputError, KubelabError
from kubelab.kube import Kube

LINT, REFUSE, CHECK, START, VERIFY = (
    "lint all labs",
    "refuse a 50 MB manifest",
    "check lab 01 (solution applied)",
    "start lab 01 (cluster reused)",
    "verify lab 01",
)
BENCH_NAMESPACE = "lab-01-bench"
BUDGETS = {LINT: 2.0, REFUSE: 1.0, CHECK: 60.0, START: 60.0, VERIFY: 900.0}
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
    found.append(Measure(VERIFY, BUDGETS[VERIFY], timed(lambda: kubelab("verify", "01"), 1)))
    return found


def main() -> None:
    results = measure()
    for m in results:
        mark = "ok  " if m.within else "OVER"
        print(f"{mark} {m.name:<34} median {m.median:8.2f} s  budget {m.budget:6.0f} s  runs {m.runs}")
    out = repo.state_dir() / "bench.json"
    out.write_text(json.dumps([asdict(m) for m in results], indent=2), encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
