"""The teacher's page as text (it is opened in a real browser in tests/e2e/test_teacher_page.py)."""

from __future__ import annotations

from kubelab import labspec, teacherpage
from kubelab.grade import Grade


def test_the_page_escapes_what_students_wrote_and_loads_nothing() -> None:
    lab = labspec.find_lab("01")
    evil = "<script>alert(1)</script>"
    grades = [
        Grade("s1", evil, "01", "invalid", total=lab.total_points, reason=f'"><img src=x onerror={evil}>')
    ]
    page = teacherpage.page(lab, grades, {"course": evil})
    assert "<script>" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert teacherpage.CSP in page and "http" not in page.replace("http-equiv", "")


def test_the_hardest_check_comes_first_and_only_graded_students_count() -> None:
    lab = labspec.find_lab("01")
    full = {c.id: c.points for c in lab.checks}
    easy_miss = {**full, lab.checks[0].id: 0}
    grades = [
        Grade("a", "", "01", "graded", points=full),
        Grade("b", "", "01", "graded", points=easy_miss),
        Grade("c", "", "01", "missing"),
    ]
    rates = teacherpage.pass_rates(lab, grades)
    assert rates[0][0] == lab.checks[0].id and rates[0][2:] == (1, 2)
    assert all(count == 2 for *_, count in rates)


def test_the_histogram_has_a_bar_per_score() -> None:
    svg = teacherpage.histogram([3, 3, 5], 5)
    assert svg.count("<rect") == 6 and "<title>3: 2</title>" in svg
