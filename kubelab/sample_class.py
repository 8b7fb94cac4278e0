"""A generated class, for the grading tests and benchmark: each of a lab's variants (the
solution, the starter, each known-wrong answer) handed in by a "student" of its own, with
that student's own values written into the files, as a student would have them from
`kubelab start NN --course … --student …`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from kubelab import course, verify
from kubelab.course import Course
from kubelab.labspec import Lab


@dataclass(frozen=True)
class Student:
    id: str
    variant: verify.Variant
    """What the student handed in, and what the checks must say about it."""


def student_id(lab: Lab, variant: verify.Variant, number: int = 0) -> str:
    name = variant.name.replace("wrong/", "w-")
    return f"l{lab.id}-{name}" + (f"-{number}" if number else "")


def write_submission(crs: Course, lab: Lab, variant: verify.Variant, student: str, into: Path) -> Path:
    """The variant's manifests rendered with the student's values, as plain files in
    `into/<student>/`, with its kubectl steps as steps.txt."""
    mine = course.student_lab(crs, lab, student)
    folder = into / student
    folder.mkdir(parents=True)
    for doc_file in variant.files:
        text = mine.render(doc_file.read_text(encoding="utf-8"), str(doc_file))
        (folder / doc_file.name).write_text(text, encoding="utf-8")
    if variant.steps:
        lines = ["kubectl " + " ".join(step) for step in variant.steps]
        (folder / "steps.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def write_class(
    crs: Course, labs: list[Lab], into: Path, copies: int = 1, most: int | None = None
) -> dict[str, list[Student]]:
    """Every variant of every lab as students (`copies` of each; at most `most` variants a
    lab: the solution, the starter, then the known-wrong answers in order): per lab, its
    folder of submissions is `into/<lab id>/`."""
    made: dict[str, list[Student]] = {}
    for lab in labs:
        students = []
        for number in range(copies):
            for variant in verify.variants(lab)[:most]:
                student = student_id(lab, variant, number)
                write_submission(crs, lab, variant, student, into / lab.id)
                students.append(Student(student, variant))
        made[lab.id] = students
    return made


def roster(students: list[Student], path: Path) -> Path:
    lines = ["id,name", *(f"{s.id},{s.variant.name}" for s in students)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def course_file(path: Path, seed: str = "sample-class-seed") -> Path:
    path.write_text(yaml.safe_dump({"course": "sample", "seed": seed}), encoding="utf-8")
    return path
