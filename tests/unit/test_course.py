"""A course's student variants and roster (no cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelab import course, labspec
from kubelab.course import Course
from kubelab.errors import InputError

COURSE = Course(id="k8s-2026", seed="a-secret-seed")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_students_variant_is_fixed_by_the_course_and_the_student() -> None:
    lab = labspec.find_lab("02")
    first = course.student_values(COURSE, lab, "2026123")
    assert first == course.student_values(COURSE, lab, "2026123")
    assert 30081 <= int(first["node_port"]) <= 30099
    other_seed = course.student_values(Course(id="k8s-2026", seed="another-seed"), lab, "2026123")
    ports = {course.student_values(COURSE, lab, f"s{n}")["node_port"] for n in range(40)}
    assert len(ports) > 10, "students are spread over the node ports"
    assert other_seed["node_port"] != first["node_port"] or len(ports) > 10


def test_names_and_folders_follow_the_students_namespace() -> None:
    lab = course.student_lab(COURSE, labspec.find_lab("05"), "2026123")
    assert lab.answer_namespace == "lab-05-u2026123"
    assert lab.values["pv_static"] == "pv-static-lab-05-u2026123"
    four = course.student_lab(COURSE, labspec.find_lab("04"), "2026123")
    assert four.values["host_dir"] == "/data/sandboxes/lab-04-u2026123/host_dir"


def test_student_ids_that_would_collide_get_a_hash() -> None:
    assert course.slug("2026123") == "2026123"
    assert course.slug("Kim.Minji") != course.slug("kim-minji")
    assert len(course.student_namespace(labspec.find_lab("01"), "x" * 64)) <= 63


def test_a_plain_id_never_takes_another_ids_hashed_namespace() -> None:
    """`Alice` is hashed (case is lost); an id spelled like that hashed form is hashed too,
    so the two never share a namespace (they did when a plain id was kept as it was)."""
    lab = labspec.find_lab("01")
    hashed = course.slug("Alice")
    assert hashed.startswith("alice-") and course.TAG.search(hashed)
    assert course.slug(hashed) != hashed
    students = ["Alice", hashed, "alice", "ALICE", "alice-3bc510"]
    assert len({course.student_namespace(lab, s) for s in students}) == len(students)
    course.distinct_namespaces(lab, students)


def test_a_roster_whose_students_would_share_a_namespace_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = labspec.find_lab("01")
    monkeypatch.setattr(course, "slug", lambda student: "same")
    with pytest.raises(InputError) as caught:
        course.distinct_namespaces(lab, ["one", "two"])
    assert "'one' and 'two' would share namespace lab-01-usame" in caught.value.en


@pytest.mark.parametrize("student", ["", "../etc", ".hidden", "a/b", "x" * 65, "한글"])
def test_a_student_id_is_a_plain_word(student: str) -> None:
    with pytest.raises(InputError):
        course.check_student(student)


def test_course_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "course.yaml", "course: k8s\nseed_env: SEED\nlabs:\n  2: {due: 2026-12-01}\n")
    with pytest.raises(InputError, match=r"\$SEED"):
        course.load_course(path)
    monkeypatch.setenv("SEED", "long-enough-seed")
    loaded = course.load_course(path)
    assert loaded.seed == "long-enough-seed" and loaded.rules("02").due == "2026-12-01"
    for bad in (
        "course: k8s\nseed: short\n",
        "seed: long-enough-seed\n",
        "course: k\nseed: 12345678\nx: 1\n",
        "{",
    ):
        with pytest.raises(InputError):
            course.load_course(write(tmp_path / "bad.yaml", bad))


def test_a_course_may_vary_a_parameter_only_a_lab_has(tmp_path: Path) -> None:
    crs = course.load_course(
        write(tmp_path / "c.yaml", "course: k\nseed: 12345678\nlabs:\n  '01': {vary: {x: [1, 2]}}\n")
    )
    with pytest.raises(InputError, match="no parameter x"):
        course.student_values(crs, labspec.find_lab("01"), "2026123")


def test_roster(tmp_path: Path) -> None:
    roster = course.load_roster(
        write(tmp_path / "r.csv", "\ufeffid,name,email\n2026123,김민지,m@x\n2026124,Lee\n")
    )
    assert roster == {"2026123": "김민지", "2026124": "Lee"}
    for bad in ("name\nx\n", "id,name\n2026123,a\n2026123,b\n", "id,name\n../x,a\n"):
        with pytest.raises(InputError):
            course.load_roster(write(tmp_path / "bad.csv", bad))
