"""The teacher's page (kubelab/teacherpage.py) in a real browser: Debian's chromium,
headless, driven from Python (tests/e2e/browser.py), at 1280 px and at a phone's 390 px.
Screenshots are kept in .kubelab/artifacts/ (a test artifact: look at them).

The page is made from a class of grades as `kubelab grade` writes them (no cluster needed:
it is the browser this needs; `sudo ci/browser.sh` installs the pinned one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelab import gradebook, labspec, repo
from kubelab.grade import Grade
from kubelab.labspec import Lab
from tests.e2e.browser import browser

pytestmark = pytest.mark.e2e

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def a_class(lab: Lab) -> list[Grade]:
    """Thirty students: most pass, the last check is the one most fail; a few not graded;
    one whose name and reason carry markup."""
    hardest = lab.checks[-1].id
    grades = []
    for n in range(30):
        points = {c.id: c.points for c in lab.checks}
        if n % 3:
            points[hardest] = 0
        if n % 5 == 0:
            points[lab.checks[1].id] = 0
        earned = sum(points.values())
        grades.append(
            Grade(
                student=f"2026{n:03d}",
                name="김민지" if n else HOSTILE,
                lab=lab.id,
                status="graded",
                earned=earned,
                total=lab.total_points,
                points=points,
                values={"namespace_suffix": f"s{n:02d}", "node_port": 30080 + n % 20},
                namespace=f"lab-01-u2026{n:03d}",
            )
        )
    grades.append(Grade("2026100", "이서준", lab.id, "invalid", total=lab.total_points, reason=HOSTILE))
    grades.append(
        Grade(
            "2026101",
            "박지호",
            lab.id,
            "environment-error",
            total=lab.total_points,
            reason="the cluster went away",
        )
    )
    grades.append(Grade("2026102", "최유나", lab.id, "missing", total=lab.total_points))
    return grades


def test_the_teachers_page_reads_well_at_1280_px_and_on_a_phone(tmp_path: Path) -> None:
    lab = labspec.find_lab("01")
    grades = a_class(lab)
    gradebook.write_all(tmp_path, lab, grades, {"course": "k8s-2026", "graded_at": "2026-12-05T10:00:00Z"})
    url = (tmp_path / "index.html").resolve().as_uri()
    artifacts = repo.state_dir() / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    hardest = lab.checks[-1].id
    with browser() as page:
        page.open(url, 1280, 900)
        assert lab.title.en in page.value("document.title")
        rows = page.value("[...document.querySelectorAll('section:last-of-type tbody tr')].length")
        assert rows == len(grades)
        assert page.value("document.querySelectorAll('script').length") == 0  # markup stays text
        assert HOSTILE in page.value("document.body.innerText")
        first_check = page.value("document.querySelector('section:nth-of-type(2) tbody tr code').textContent")
        assert first_check == hardest, first_check  # the hardest first
        assert "33%" in page.value("document.querySelector('section:nth-of-type(2) tbody tr').innerText")
        bars = page.value("document.querySelectorAll('svg rect').length")
        assert bars == lab.total_points + 1
        links = page.value("[...document.querySelectorAll('tbody a')].map(a => a.getAttribute('href'))")
        assert len(links) == len(grades) and all((tmp_path / link).is_file() for link in links)
        for word in ("학생", "students", "검사별 통과율", "pass rate per check", "채점됨", "graded"):
            assert word in page.value("document.body.innerText"), word
        assert page.value("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(artifacts / "teacher-page-1280.png")

        page.open(url, 390, 844, mobile=True)
        # nothing wider than the phone but the students' table, which scrolls in its own box
        assert page.value("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert page.value("getComputedStyle(document.querySelector('.scroll')).overflowX") == "auto"
        # each check's pass rate is seen whole, inside its box (not cut at the phone's edge)
        right = page.value(
            "Math.max(...[...document.querySelectorAll('table.rates .num')]"
            ".map(e => e.getBoundingClientRect().right))"
        )
        box = page.value("document.querySelector('table.rates').parentElement.getBoundingClientRect().right")
        assert right <= box <= 390, (right, box)
        font = page.value("parseFloat(getComputedStyle(document.body).fontSize)")
        assert font >= 14
        page.screenshot(artifacts / "teacher-page-phone.png")
