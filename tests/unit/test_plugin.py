"""The pytest plugin, run through pytester on a small demo lab with a fake cluster."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from kubelab import repo

DEMO_LAB = """\
id: "99"
title: {ko: 데모, en: demo}
summary: {ko: 데모 실습, en: a demo lab}
objectives: [{ko: 목표, en: goal}]
namespace: lab-99
images: []
kinds: [ConfigMap]
default_timeout: 0.3
instructions: {ko: ko.md, en: en.md}
starter: starter
solution: solution
wrong:
  - {dir: wrong/a, fails: color_is_blue, why: {ko: 빨강, en: red}}
  - {dir: wrong/b, fails: config_exists, why: {ko: 없음, en: none}}
checks:
  - id: config_exists
    points: 1
    title: {ko: 설정이 있다, en: the config exists}
    hint: {ko: 설정을 만드세요, en: create the config}
    kubectl: kubectl -n {{ namespace }} get configmaps
  - id: color_is_blue
    points: 2
    title: {ko: 색은 파랑, en: the color is blue}
    hint: {ko: data.color를 보세요, en: look at data.color}
    kubectl: kubectl -n {{ namespace }} get configmap settings -o yaml
"""

CHECKER = """\
from kubelab.checks import LabContext, assert_that, field


def test_config_exists(lab: LabContext) -> None:
    lab.eventually(lambda: lab.require("ConfigMap", "settings"))


def test_color_is_blue(lab: LabContext) -> None:
    def blue() -> None:
        color = field(lab.require("ConfigMap", "settings"), "data.color")
        subject = lab.subject("ConfigMap", "settings")
        assert_that(color == "blue", subject, "data.color: blue", f"data.color: {color}")

    lab.eventually(blue)
"""

CONFTEST = """\
import os
import pytest


class FakeKube:
    def __init__(self, color):
        self.color = color

    def get(self, kind, name, namespace=None):
        if self.color is None:
            return None
        return {"kind": kind, "metadata": {"name": name}, "data": {"color": self.color}}

    def list(self, kind, namespace=None, selector=""):
        return []

    def is_namespaced(self, kind, api_version=None):
        return True


@pytest.fixture(scope="session")
def kubelab_kube():
    return FakeKube(os.environ.get("DEMO_COLOR") or None)
"""


def write_demo_repo(root: Path, lab_yaml: str = DEMO_LAB, checker: str = CHECKER) -> Path:
    """A repository with one lab, 99, whose checks run against the fake cluster above."""
    (root / "labs" / "99-demo").mkdir(parents=True)
    (root / "labs" / "99-demo" / "lab.yaml").write_text(lab_yaml, encoding="utf-8")
    (root / "checkers").mkdir()
    (root / "checkers" / "test_lab99.py").write_text(checker, encoding="utf-8")
    (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")  # for labs/ and checkers/ alike
    (root / "ci").mkdir()
    (root / "ci" / "versions.env").write_text(
        (Path(__file__).parents[2] / "ci" / "versions.env").read_text(), encoding="utf-8"
    )
    return root


@pytest.fixture
def demo(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    root = write_demo_repo(pytester.path)
    monkeypatch.setenv("KUBELAB_ROOT", str(root))
    repo.versions.cache_clear()
    return pytester


def results(path: Path) -> dict[str, dict[str, object]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {r["id"]: r for r in data["results"]}


def test_passing_checks_are_written_to_the_json_file(
    demo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_COLOR", "blue")
    out = demo.path / "out.json"
    run = demo.runpytest("checkers/test_lab99.py", "--kubelab-json", str(out))
    run.assert_outcomes(passed=2)
    found = results(out)
    assert found["color_is_blue"]["passed"] is True
    assert found["color_is_blue"]["points"] == 2
    assert isinstance(found["color_is_blue"]["seconds"], float)
    assert json.loads(out.read_text())["earned"] == 3


def test_a_failure_tells_the_learner_what_to_fix(
    demo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_COLOR", "red")
    out = demo.path / "out.json"
    run = demo.runpytest("checkers/test_lab99.py", "--kubelab-json", str(out), "--namespace", "ns-x")
    run.assert_outcomes(passed=1, failed=1)
    message = str(results(out)["color_is_blue"]["message"])
    for part in (
        "대상 / object: ConfigMap ns-x/settings",
        "기대 / expected: data.color: blue",
        "실제 / found: data.color: red",
        "(waited",
        "힌트 / hint: data.color를 보세요 / look at data.color",
        "확인 / look with: kubectl -n ns-x get configmap settings -o yaml",
    ):
        assert part in message
    run.stdout.fnmatch_lines(["*기대 / expected: data.color: blue*"])  # pytest shows it too
    assert "Traceback" not in run.stdout.str()


def test_english_first_with_lang_en(demo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    out = demo.path / "out.json"
    demo.runpytest("checkers/test_lab99.py", "--kubelab-json", str(out), "--lang", "en")
    message = str(results(out)["config_exists"]["message"])
    assert "expected / 기대: exists" in message and "found / 실제: not found" in message


def test_json_goes_beside_junitxml(demo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_COLOR", "blue")
    demo.runpytest("checkers/test_lab99.py", "--junitxml", "reports/junit.xml")
    assert (demo.path / "reports" / "junit.kubelab.json").is_file()


def test_lab_option_skips_other_labs_checkers(demo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_COLOR", "blue")
    demo.runpytest("checkers", "--lab", "01").assert_outcomes()
    demo.runpytest("checkers", "--lab", "99").assert_outcomes(passed=2)


def test_a_checker_test_without_metadata_is_a_usage_error(demo: pytest.Pytester) -> None:
    checker = demo.path / "checkers" / "test_lab99.py"
    checker.write_text(checker.read_text() + "\n\ndef test_undeclared(lab):\n    pass\n")
    run = demo.runpytest("checkers/test_lab99.py")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines(["*lab 99 has no check 'undeclared'*"])


def test_report_header_names_the_cluster(demo: pytest.Pytester, tmp_path: Path) -> None:
    empty = tmp_path / "kubeconfig"
    empty.write_text("")
    run = demo.runpytest("checkers/test_lab99.py", "--lab", "99", "--kubeconfig", str(empty), "--co")
    run.stdout.fnmatch_lines(["kubelab: lab 99; cluster context kind-kubelab in */kubeconfig; unreachable*"])


def test_ordinary_tests_are_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain=textwrap.dedent("def test_x():\n    assert 1 + 1 == 2\n"))
    run = pytester.runpytest()
    run.assert_outcomes(passed=1)
    assert "kubelab:" not in run.stdout.str()


FAULTY = """\
import os
from pathlib import Path

from kubelab.checks import LabContext
from kubelab.errors import ClusterUnavailable


def test_config_exists(lab: LabContext) -> None:
    lab.defer("note the undo", lambda: Path(os.environ["UNDONE"]).write_text("undone"))
    if os.environ.get("FAULT") == "lost":
        raise ClusterUnavailable("cannot reach the cluster (context c): connection refused")
    lab.kube.faults.append("HTTP 503 Service Unavailable")
    lab.require("ConfigMap", "settings")


def test_color_is_blue(lab: LabContext) -> None:
    pass
"""


@pytest.mark.parametrize("fault", ["lost", "flaky"])
def test_a_fault_of_the_cluster_is_not_the_learners_failure(
    demo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """A lost cluster, or a check that failed while the cluster kept failing: the run
    stops there, says it was the environment (exit code 3 in the JSON), and still undoes
    what the check did."""
    (demo.path / "checkers" / "test_lab99.py").write_text(FAULTY, encoding="utf-8")
    conftest = demo.path / "conftest.py"
    conftest.write_text(
        conftest.read_text().replace("self.color = color", "self.color = color\n        self.faults = []")
    )
    undone = demo.path / "undone"
    monkeypatch.setenv("UNDONE", str(undone))
    monkeypatch.setenv("FAULT", fault)
    out = demo.path / "out.json"
    demo.runpytest("checkers/test_lab99.py", "--kubelab-json", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["error_code"] == 3 and data["error"]
    assert [r["id"] for r in data["results"]] == ["config_exists"]  # nothing judged after it
    assert data["results"][0]["fault"] and not data["results"][0]["passed"]
    assert undone.read_text() == "undone"


SLOW_LAB = DEMO_LAB.replace("default_timeout: 0.3", "default_timeout: 1")

UNDOING = """\
import os
from pathlib import Path

from kubelab.checks import LabContext, assert_that


def test_config_exists(lab: LabContext) -> None:
    lab.defer("first", lambda: Path(os.environ["UNDONE"]).write_text("first undone last"))
    lab.defer("second", lambda: assert_that(False, "Pod p", "put back", "refused"))
    for _ in range(3):  # three waits of 30 s each, under one deadline of 1 s
        try:
            lab.eventually(lambda: assert_that(False, "ConfigMap c", "there", "missing"), 30)
        except Exception:
            pass
    assert_that(False, "ConfigMap c", "there", "missing")


def test_color_is_blue(lab: LabContext) -> None:
    pass
"""


def test_undo_steps_run_last_first_and_failures_are_leftovers_not_verdicts(
    demo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (demo.path / "labs" / "99-demo" / "lab.yaml").write_text(SLOW_LAB, encoding="utf-8")
    (demo.path / "checkers" / "test_lab99.py").write_text(UNDOING, encoding="utf-8")
    undone = demo.path / "undone"
    monkeypatch.setenv("UNDONE", str(undone))
    out = demo.path / "out.json"
    demo.runpytest("checkers/test_lab99.py", "--kubelab-json", str(out)).assert_outcomes(passed=1, failed=1)
    data = json.loads(out.read_text(encoding="utf-8"))
    first = data["results"][0]
    assert first["id"] == "config_exists" and "ConfigMap c" in first["message"]  # its own verdict
    assert first["seconds"] < 3  # one deadline for the check, not 3 × 30 s
    assert data["leftovers"] == ["second: Pod p: expected put back, found refused"]
    assert undone.read_text() == "first undone last"
    assert data["error"] is None


DECLARED = DEMO_LAB.replace(
    "    kubectl: kubectl -n {{ namespace }} get configmap settings -o yaml\n",
    "    kubectl: kubectl -n {{ namespace }} get configmap settings -o yaml\n"
    "    expect:\n"
    "      object: {kind: ConfigMap, name: settings}\n"
    "      has: {data: {color: blue}}\n",
)


def test_a_check_written_as_data_runs_from_lab_yaml(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lab.yaml is collected as its lab's checks: the data check and the code check run
    in lab.yaml's order and fail alike (expected, found, hint)."""
    root = write_demo_repo(pytester.path, DECLARED, CHECKER.split("\n\ndef test_color_is_blue")[0] + "\n")
    monkeypatch.setenv("KUBELAB_ROOT", str(root))
    repo.versions.cache_clear()
    out = root / "out.json"
    monkeypatch.setenv("DEMO_COLOR", "red")
    run = pytester.runpytest("labs/99-demo/lab.yaml", "--kubelab-json", str(out), "-p", "no:cacheprovider")
    run.assert_outcomes(passed=1, failed=1)
    message = str(results(out)["color_is_blue"]["message"])
    assert "기대 / expected: data.color: blue" in message and "실제 / found: data.color: red" in message
    assert list(results(out)) == ["config_exists", "color_is_blue"]
    monkeypatch.setenv("DEMO_COLOR", "blue")
    pytester.runpytest("labs/99-demo/lab.yaml", "-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_a_check_both_data_and_code_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_demo_repo(pytester.path, DECLARED)  # test_color_is_blue is still in the checker
    monkeypatch.setenv("KUBELAB_ROOT", str(root))
    repo.versions.cache_clear()
    run = pytester.runpytest("checkers/test_lab99.py")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines(["*lab 99 declares it with expect:, not as code*test_color_is_blue*"])
