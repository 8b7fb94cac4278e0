"""Measure a class on kubelab's cluster (issue 22's budgets): `kubelab class up` of
STUDENTS students for lab 01 (at most UP_BUDGET seconds), `class up` again with nothing to
do, `class status` of them all (at most STATUS_BUDGET seconds; a few have applied the
solution, the rest not started), and `class down`. Prints one line each and writes
.kubelab/bench-classes.json. `python -m benchmarks.classes` (after `make lab-01`)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kubelab import cluster, course, labspec, repo, sample_class, verify

STUDENTS = 100
WORKING = 5
"""Students who have applied lab 01's solution when `class status` looks."""
UP_BUDGET = 60.0
STATUS_BUDGET = 10.0


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
            kubectl = str(cluster.kubectl_path())
            for student in students[:WORKING]:
                files = sample_class.write_submission(
                    crs, lab, verify.variants(lab)[0], student, folder / "hand"
                )
                config = out / f"{student}.kubeconfig"
                subprocess.run(
                    [kubectl, f"--kubeconfig={config}", "apply", "-f", str(files)], check=True, timeout=120
                )
            measured["class status"], _ = kubelab(
                "class", "status", str(course_file), str(roster), "--lab", "01"
            )
        finally:
            measured["class down"], _ = kubelab("class", "down", str(course_file))
    budgets = {"class up": UP_BUDGET, "class status": STATUS_BUDGET}
    for name, seconds in measured.items():
        budget = budgets.get(name)
        verdict = "" if budget is None else (" ✓" if seconds <= budget else f" ✗ (budget {budget:g} s)")
        print(f"{name} ({STUDENTS} students, lab 01): {seconds:.1f} s{verdict}")
    repo.write_state(repo.state_dir() / "bench-classes.json", json.dumps(measured, indent=2) + "\n")
    return 0 if all(measured[n] <= b for n, b in budgets.items()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
