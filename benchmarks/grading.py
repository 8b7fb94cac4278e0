"""Grading throughput (`make bench`, or alone: `python -m benchmarks.grading [N]`): a class
of N (40) lab 01 submissions — the solution, the starter and the three known-wrong answers
in turn, each a student with their own variant — graded by `kubelab grade` on one kind
cluster, as a process of its own; submissions per minute and the machine's peak memory
in use while it ran. Budget: at least 20 per minute on the 2-core build machine.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kubelab import course, labspec, sample_class

STUDENTS = 40
PER_MINUTE = 20.0
"""Submissions per minute grading must reach."""


@dataclass(frozen=True)
class Throughput:
    students: int
    seconds: float
    peak_gib: float
    statuses: dict[str, int]

    @property
    def per_minute(self) -> float:
        return self.students / self.seconds * 60

    @property
    def budget_seconds(self) -> float:
        return self.students / PER_MINUTE * 60


def measure(students: int = STUDENTS) -> Throughput:
    from benchmarks.budgets import PeakMemory

    lab = labspec.find_lab("01")
    with tempfile.TemporaryDirectory(prefix="kubelab-bench-grade-") as folder:
        root = Path(folder)
        course_file = sample_class.course_file(root / "course.yaml")
        copies = -(-students // len(sample_class.verify.variants(lab)))
        made = sample_class.write_class(course.load_course(course_file), [lab], root / "class", copies)
        for extra in made["01"][students:]:
            import shutil

            shutil.rmtree(root / "class" / "01" / extra.id)
        roster = sample_class.roster(made["01"][:students], root / "roster.csv")
        command = [sys.executable, "-m", "kubelab", "--lang", "en", "grade", "01", str(root / "class" / "01")]
        command += ["--course", str(course_file), "--roster", str(roster), "--out", str(root / "out")]
        with PeakMemory() as peak:
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
            seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"kubelab grade failed ({done.returncode}): {done.stderr.strip()}")
        statuses: dict[str, int] = {}
        with open(root / "out" / "grades.csv", encoding="utf-8") as sheet:
            for row in csv.DictReader(sheet):
                statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    return Throughput(students, round(seconds, 1), round(peak.gib, 2), statuses)


def main(argv: list[str]) -> Throughput:
    result = measure(int(argv[0]) if argv else STUDENTS)
    verdict = "ok" if result.per_minute >= PER_MINUTE else "UNDER"
    print(
        f"{verdict}: grading {result.students} lab 01 submissions took {result.seconds:.1f} s: "
        f"{result.per_minute:.1f} per minute (budget ≥ {PER_MINUTE:g}); peak memory in use "
        f"{result.peak_gib:.2f} GiB; {result.statuses}"
    )
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
