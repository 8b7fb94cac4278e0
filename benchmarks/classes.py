"""Measure a class on kubelab's cluster (issue 22's budgets): `kubelab class up` of
STUDENTS students for lab 01 (at most UP_BUDGET seconds), `class up` again with nothing to
do, `class status` of them all (at most STATUS_BUDGET seconds; a few have applied the
solution, the rest not started), `grade --live` of GRADED students who have applied an
answer with their own kubeconfig — lab 01's variants in turn — (at least LIVE_PER_MINUTE
students a minute), and `class down`. Prints one line each and writes
.kubelab/bench-classes.json. `python -m benchmarks.classes` (after `make lab-01`)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from kubelab import cluster, course, labspec, repo, sample_class, verify

STUDENTS = 100
WORKING = 5
"""Students who have applied lab 01's solution when `class status` looks."""
GRADED = 40
"""Students whose seats `grade --live` grades: s000 … s039 (SEATS_GRADED)."""
SEATS_GRADED = "lab-01-us0[0-3][0-9]"
UP_BUDGET = 60.0
STATUS_BUDGET = 10.0
LIVE_PER_MINUTE = 40.0


def kubelab(*args: str, timeout: float = 900) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "kubelab", "--lang", "en", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise SystemExit(f"kubelab {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}")
    return time.monotonic() - began, done


def apply_answer(
    crs: course.Course, lab: labspec.Lab, configs: Path, into: Path, student: str, variant: verify.Variant
) -> bool:
    """The variant's files, with the student's values, applied with the student's own
    kubeconfig (its steps are not run: lab 01 has none); False when the API server refused
    some of them (a known-wrong answer may be refused)."""
    files = sample_class.write_submission(crs, lab, variant, student, into)
    config = configs / f"{student}.kubeconfig"
    command = [str(cluster.kubectl_path()), f"--kubeconfig={config}", "apply", "-f", str(files)]
    return subprocess.run(command, timeout=120, capture_output=True).returncode == 0


SETTLE_WAIT = 600.0


def settle(seats: str) -> float:
    """Seconds until every pod of these seats has settled (settled.pods_settled: Ready,
    stuck, or finished): `grade --live` is timed on a class whose answers are in place, as
    after a lab, not while the cluster is still starting the pods the answers just asked for."""
    from fnmatch import fnmatch

    from kubelab.errors import CheckFailed, Finding
    from kubelab.kube import Kube
    from kubelab.settled import pods_settled
    from kubelab.waiting import wait_until

    kube = Kube(cluster.resolve_target())
    began = time.monotonic()

    def in_place() -> None:
        pods = [p for p in kube.list("Pod") if fnmatch(str(p["metadata"].get("namespace")), seats)]
        if not pods_settled(pods):
            raise CheckFailed(Finding("the graded seats' pods", "Ready or stuck", "some still starting"))

    wait_until(in_place, SETTLE_WAIT, interval=2.0)
    return time.monotonic() - began


def main() -> int:
    lab = labspec.find_lab("01")
    with tempfile.TemporaryDirectory(prefix="kubelab-bench-class-") as tmp:
        folder = Path(tmp)
        course_file = sample_class.course_file(folder / "course.yaml", seed="bench-class-seed")
        students = [f"s{n:03d}" for n in range(STUDENTS)]
        roster = folder / "roster.csv"
        roster.write_text("id,name\n" + "".join(f"{s},{s}\n" for s in students), encoding="utf-8")
        out = folder / "kubeconfigs"
        args = [str(course_file), str(roster), "--lab", "01", "--out", str(out)]
        measured: dict[str, float] = {}
        try:
            measured["class up"], _ = kubelab("class", "up", *args)
            measured["class up again"], _ = kubelab("class", "up", *args)
            crs = course.load_course(course_file)
            variants = verify.variants(lab)
            answer = partial(apply_answer, crs, lab, out, folder / "hand")
            for student in students[:WORKING]:
                answer(student, variants[0])
            measured["class status"], _ = kubelab(
                "class", "status", str(course_file), str(roster), "--lab", "01"
            )
            with ThreadPoolExecutor(4) as pool:  # the rest of the graded students, as in class
                rest = students[WORKING:GRADED]
                turns = [variants[n % len(variants)] for n in range(len(rest))]
                applied = list(pool.map(answer, rest, turns))
            print(f"{len(rest)} more answers applied, {applied.count(False)} refused in part")
            settled = settle(SEATS_GRADED)  # a class is graded after its lab, not while it starts
            print(f"their pods running or stuck after {settled:.0f} s")
            measured["grade --live"], graded = kubelab(
                "grade", "01", "--live", "--namespaces", SEATS_GRADED, "--course", str(course_file),
                "--roster", str(roster), "--out", str(folder / "grades"), timeout=3600,
            )  # fmt: skip
            print(next((line for line in graded.stdout.splitlines() if "at a time" in line), ""))
        finally:
            measured["class down"], _ = kubelab("class", "down", str(course_file))
    budgets = {
        "class up": UP_BUDGET,
        "class status": STATUS_BUDGET,
        "grade --live": GRADED / LIVE_PER_MINUTE * 60,
    }
    for name, seconds in measured.items():
        budget = budgets.get(name)
        verdict = "" if budget is None else (" ✓" if seconds <= budget else f" ✗ (budget {budget:g} s)")
        live = name == "grade --live"
        rate = f", {GRADED / seconds * 60:.0f} students a minute" if live else ""
        print(f"{name} ({GRADED if live else STUDENTS} students, lab 01): {seconds:.1f} s{rate}{verdict}")
    repo.write_state(repo.state_dir() / "bench-classes.json", json.dumps(measured, indent=2) + "\n")
    return 0 if all(measured[n] <= b for n, b in budgets.items()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
