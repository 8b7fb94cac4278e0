"""The engine run in this process (what `kubelab check` does), and the short scorecard:
the demo lab of test_plugin against a fake cluster."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from kubelab import engine, labspec, repo, report
from kubelab.results import CheckResult
from kubelab.text import Text
from tests.unit.test_plugin import CHECKER, DEMO_LAB, write_demo_repo

NEEDS = DEMO_LAB.replace(
    "  - id: color_is_blue\n    points: 2\n",
    "  - id: color_is_blue\n    points: 2\n    needs: [config_exists]\n",
)


class FakeKube:
    def __init__(self, color: str | None) -> None:
        self.color = color
        self.faults: list[str] = []

    def get(self, kind: str, name: str, namespace: str | None = None) -> Any:
        if self.color is None:
            return None
        return {"kind": kind, "metadata": {"name": name}, "data": {"color": self.color}}

    def list(self, kind: str, namespace: str | None = None, selector: str = "") -> list[Any]:
        return []

    def is_namespaced(self, kind: str) -> bool:
        return True


@pytest.fixture
def demo_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> labspec.Lab:
    root = write_demo_repo(tmp_path / "repo", NEEDS, CHECKER)
    monkeypatch.setenv("KUBELAB_ROOT", str(root))
    monkeypatch.setenv("KUBELAB_STATE", str(tmp_path / "state"))
    repo.versions.cache_clear()
    return labspec.find_lab("99")


def test_a_check_whose_needs_failed_is_not_run_and_says_so_in_one_line(demo_lab: labspec.Lab) -> None:
    card = engine.run_in_process(FakeKube(None), demo_lab, "en")  # type: ignore[arg-type]
    exists, blue = card.results
    assert not exists.passed and "expected / 기대: exists" in exists.message
    assert not blue.passed and blue.blocked_by == ("config_exists",)
    assert blue.message.startswith("needs config_exists first (not run) / 이 검사는 config_exists")
    assert blue.brief == "needs config_exists first"
    assert blue.seconds == 0.0


def test_checks_run_in_this_process_pass_and_fail_like_the_plugin(demo_lab: labspec.Lab) -> None:
    card = engine.run_in_process(FakeKube("blue"), demo_lab, "en")  # type: ignore[arg-type]
    assert card.passed and card.earned == 3
    card = engine.run_in_process(FakeKube("red"), demo_lab, "en")  # type: ignore[arg-type]
    assert card.failed_ids() == ["color_is_blue"]
    assert card.results[1].brief == "found: data.color: red (expected: data.color: blue)"


def test_only_picks_checks_by_a_word_of_their_id(demo_lab: labspec.Lab) -> None:
    card = engine.run_in_process(FakeKube("blue"), demo_lab, "en", ["color"])  # type: ignore[arg-type]
    assert [r.id for r in card.results] == ["color_is_blue"]


def test_the_short_scorecard_shows_the_first_failure_in_full_and_the_rest_in_a_line(
    demo_lab: labspec.Lab,
) -> None:
    card = engine.run_in_process(FakeKube(None), demo_lab, "en")  # type: ignore[arg-type]
    with report.console.capture() as short:
        report.scorecard(card, "en")
    with report.console.capture() as full:
        report.scorecard(card, "en", verbose=True)
    lines = short.get().splitlines()
    assert any("expected / 기대: exists" in line for line in lines)
    assert any(line.endswith("color_is_blue — needs config_exists first") for line in lines)
    assert "score / 점수: 0/3" in lines[-1]
    assert "(0 s)" in full.get() and "(0 s)" not in short.get()  # seconds only in verbose


def test_a_broken_checker_is_one_line_not_a_traceback(demo_lab: labspec.Lab) -> None:
    demo_lab.checker.write_text(CHECKER + "\n\ndef test_color_is_blue(lab):\n    raise TypeError('oops')\n")
    sys.modules.pop("kubelab_checkers.test_lab99", None)  # imported once per process
    card = engine.run_in_process(FakeKube("blue"), demo_lab, "en")  # type: ignore[arg-type]
    message = card.results[1].message
    assert message.startswith("the check itself failed (a bug of kubelab's") and message.endswith(": oops")
    assert "TypeError" not in message and "\n" not in message


def test_a_check_blocked_by_a_blocked_need_names_the_check_to_fix_first() -> None:
    spec = labspec.CheckSpec("c", 1, 1.0, Text("c", "c"), Text("h", "h"), "k", False, needs=("a", "b"))
    a = CheckResult("a", Text("a", "a"), False, 1, 0.0, "failed")
    b = CheckResult("b", Text("b", "b"), False, 1, 0.0, "not run", blocked_by=("a",))
    result = engine.blocked(spec, {"a": a, "b": b}, "en")
    assert result is not None and result.blocked_by == ("a",)
    assert result.brief == "needs a first"


def test_a_cancelled_run_stops_waiting_at_once_and_a_slow_one_at_its_budget() -> None:
    import subprocess
    import threading
    import time

    from kubelab.errors import ChecksStopped

    def child() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(30)"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    slow = child()
    began = time.monotonic()
    with pytest.raises(ChecksStopped):
        engine._wait(slow, 30, cancel)
    assert time.monotonic() - began < 3
    assert slow.poll() is None  # the caller stops it (and lets it undo what it changed)
    slow.kill()
    slow.communicate()
    late = child()
    with pytest.raises(subprocess.TimeoutExpired):
        engine._wait(late, 0.5, threading.Event())
    late.kill()
    quick = subprocess.Popen(
        [sys.executable, "-c", "print('done')"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert engine._wait(quick, 30, threading.Event())[0] == "done\n"


def test_a_check_the_credential_may_not_run_is_left_to_the_teacher_not_failed(demo_lab: labspec.Lab) -> None:
    """A student's seat may not read what a check needs (RBAC's refusal, NotPermitted):
    the check is deferred, said in one line, and the card passes on what was judged."""
    demo_lab.checker.write_text(
        CHECKER + "\n\ndef test_color_is_blue(lab):\n"
        "    from kubelab.errors import NotPermitted\n"
        "    raise NotPermitted('list nodes', '노드 목록')\n"
    )
    sys.modules.pop("kubelab_checkers.test_lab99", None)  # imported once per process
    card = engine.run_in_process(FakeKube("blue"), demo_lab, "en")  # type: ignore[arg-type]
    exists, blue = card.results
    assert exists.passed and not blue.passed and blue.deferred and not blue.judged
    assert (
        blue.brief
        == "this check needs more than your credential allows (list nodes): left to your teacher's grading"
    )
    assert card.passed and card.failed_ids() == [] and card.deferred_points == 2 and card.earned == 1
    with report.console.capture() as shown:
        report.scorecard(card, "en")
    said = shown.get()
    assert "→" in said and "1 checks (2 points) are left to your teacher's grading" in said
    assert "expected" not in said  # no failure card for it


def test_a_check_needing_a_deferred_one_still_runs() -> None:
    spec = labspec.CheckSpec("c", 1, 1.0, Text("c", "c"), Text("h", "h"), "k", False, needs=("a",))
    a = CheckResult("a", Text("a", "a"), False, 1, 0.0, "left to the teacher", deferred=True)
    assert engine.blocked(spec, {"a": a}, "en") is None
