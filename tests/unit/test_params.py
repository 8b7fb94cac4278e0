"""Lab parameters and templating, without a cluster: defaults, a sandbox's own values,
settings from the command line, rendering of every lab, and the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubelab import engine, labspec, lint, manifests, params, report, verify, workspace
from kubelab.errors import InputError, LabContentError
from kubelab.kube import Target
from kubelab.params import Param
from kubelab.results import CheckResult, Scorecard
from kubelab.text import Text

PORT = Param("node_port", 30080, "port")
NAME = Param("pv_static", "pv-static", "name")
PATH = Param("host_dir", "/data/lab-05", "path")
COUNT = Param("replicas", 3)


def test_a_sandbox_gets_its_own_unique_values_and_shares_the_rest() -> None:
    declared = {p.name: p for p in (PORT, NAME, PATH, COUNT)}
    values = params.resolve(declared, "lab-05-s07", slot=7)
    assert values == {
        "node_port": 30087,
        "pv_static": "pv-static-lab-05-s07",
        "host_dir": "/data/sandboxes/lab-05-s07/host_dir",
        "replicas": 3,
        "namespace": "lab-05-s07",
    }
    assert params.resolve(declared, "lab-05")["node_port"] == 30080  # a learner: the notes' values


def test_settings_are_checked_against_the_lab() -> None:
    declared = {p.name: p for p in (PORT, COUNT)}
    assert params.parse_settings(declared, ["replicas=5", "node_port = 30100"]) == {
        "replicas": 5,
        "node_port": 30100,
    }
    for bad in ("nope=1", "replicas", "replicas=three", "node_port=80", "node_port=99999"):
        with pytest.raises(InputError):
            params.parse_settings(declared, [bad])


@pytest.mark.parametrize(
    "value", ["a b", "x;rm -rf /", "{{ 7*7 }}", "../etc", "a:b", "", "x" * 201, "null", "true", "123", "1e3"]
)
def test_a_word_value_cannot_carry_yaml_shell_or_template(value: str) -> None:
    with pytest.raises(InputError):
        params.check_value(NAME, value)


@pytest.mark.parametrize("namespace", ["Lab-01", "lab_01", "a" * 64, "x\ny", "-lab"])
def test_a_namespace_must_be_a_namespace_name(namespace: str) -> None:
    with pytest.raises(InputError):
        params.resolve({}, namespace)


def test_settings_round_trip_to_a_child_process() -> None:
    declared = {p.name: p for p in (PORT, NAME, COUNT)}
    values = params.resolve(declared, "lab-02-s03", {"replicas": 4}, slot=3)
    again = params.resolve(
        declared, "lab-02-s03", params.parse_settings(declared, params.settings_of(declared, values))
    )
    assert again == values


def test_rendering_fills_values_and_refuses_unknown_names() -> None:
    assert params.render("nodePort: {{ node_port }}", {"node_port": 30081}, "x") == "nodePort: 30081"
    assert params.render("{.spec.replicas}", {}, "x") == "{.spec.replicas}"  # jsonpath stays
    with pytest.raises(LabContentError, match=r"where\.yaml"):
        params.render("{{ nodeport }}", {"node_port": 1}, "where.yaml")
    with pytest.raises(LabContentError):
        params.render("{{ ''.__class__.__mro__ }}", {}, "x")  # sandboxed: no reaching into Python


def test_a_value_never_changes_the_structure_of_lab_yaml() -> None:
    data = {"title": {"en": "port {{ p }}"}, "list": ["{{ p }}"], "n": 3}
    assert params.render_data(data, {"p": "a: b"}, "x") == {
        "title": {"en": "port a: b"},
        "list": ["a: b"],
        "n": 3,
    }


@pytest.mark.parametrize("lab", labspec.all_labs(), ids=lambda lab: lab.id)
def test_every_lab_renders_for_a_sandbox(lab: labspec.Lab) -> None:
    """Texts and manifests render with a sandbox's values; none keeps a default of a
    per-answer parameter; the manifests still validate."""
    box = lab.with_values(f"{lab.namespace}-s42", slot=42)
    defaults = [str(p.default) for p in lab.params.values() if p.unique]
    texts = [box.instructions_text("ko"), box.instructions_text("en")]
    texts += [c.title.en + c.hint.en + c.hint.ko + c.kubectl for c in box.checks]
    for folder in (box.solution, box.starter, *(w.dir for w in box.wrong)):
        docs = box.manifests(folder)
        manifests.validate(docs)
        texts.append(yaml.safe_dump([d.obj for d in docs]))
    for default in defaults:
        assert not any(lint._literal(default).search(t) for t in texts), default
    assert all(f"{lab.namespace}-s42" in c.kubectl for c in box.checks if "-n " in c.kubectl)
    assert list(lint.repeated_parameters(lab)) == []


def test_lint_finds_a_default_written_instead_of_its_parameter(lab_root: Path) -> None:
    service = lab_root / "labs" / "02-nodeport" / "solution" / "service.yaml"
    service.write_text(service.read_text().replace("{{ node_port }}", "30080", 1))
    checker = lab_root / "checkers" / "test_lab02.py"
    checker.write_text(checker.read_text() + "\nPORT = 30080\n")
    found = list(lint.repeated_parameters(labspec.find_lab("02")))
    assert any("service.yaml" in f and "{{ node_port }}" in f for f in found)
    assert any("test_lab02.py" in f and 'lab.param("node_port")' in f for f in found)


def test_the_check_command_carries_the_answers_values() -> None:
    lab = labspec.find_lab("02").with_values("lab-02-s05", slot=5)
    command = engine.pytest_command(lab, Target(None, None), "en", Path("out.json"))
    assert command[command.index("--namespace") + 1] == "lab-02-s05"
    assert command[command.index("--set") + 1] == "node_port=30085"
    assert "--set" not in engine.pytest_command(labspec.find_lab("02"), Target(None, None), "en", Path("o"))


def test_start_renders_the_starter_into_a_workspace_and_keeps_what_the_learner_changed(
    lab_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBELAB_WORKSPACE", str(tmp_path / "ws"))
    lab = workspace.answer_lab(labspec.find_lab("02"), None, ["node_port=30090"])
    first = workspace.prepare(lab)
    service = first.folder / "service.yaml"
    assert "service.yaml" in first.written and "30090" in service.read_text()
    assert "{{" not in service.read_text()
    workspace.remember(lab)
    assert workspace.answer_lab(labspec.find_lab("02"), None, None).param("node_port") == 30090

    again = workspace.prepare(labspec.find_lab("02"))  # the defaults now, file untouched
    assert again.written == ("service.yaml",) and "30080" in service.read_text()
    service.write_text("# mine\n")
    third = workspace.prepare(lab)
    assert third.kept == ("service.yaml",) and service.read_text() == "# mine\n"
    assert (
        (lab_root / "labs" / "02-nodeport" / "starter" / "service.yaml").read_text().count("{{ node_port }}")
    )


def outcome(
    lab_id: str,
    name: str,
    failed: tuple[str, ...],
    must_fail: str | None = None,
    must_pass: tuple[str, ...] = (),
    blocked: tuple[str, ...] = (),
) -> verify.Outcome:
    checks = ("a", "b", "c")
    results = tuple(
        CheckResult(
            id=c,
            title=Text(c, c),
            passed=c not in failed + blocked,
            points=1,
            seconds=0.1,
            message=f"{c}: expected x, found y" if c in failed else "",
            blocked_by=("a",) if c in blocked else (),
        )
        for c in checks
    )
    variant = verify.Variant(name, Path("."), must_fail, (), must_pass)
    return verify.Outcome(variant, Scorecard(lab=lab_id, namespace="ns", results=results), (), lab=lab_id)


def test_a_wrong_answer_loses_only_the_checks_its_mistake_reaches() -> None:
    """`passes`: the checks a wrong answer must still pass (a need too wide would block them)."""
    assert outcome("02", "wrong/x", ("a",), "a", must_pass=("b", "c")).ok
    blocked = outcome("02", "wrong/x", ("a",), "a", must_pass=("b", "c"), blocked=("c",))
    assert not blocked.ok and "passes b, c" in blocked.expectation()
    assert not outcome("02", "wrong/x", ("a", "b"), "a", must_pass=("b",)).ok


def test_repeat_names_the_checks_whose_verdict_changed() -> None:
    runs = [
        outcome("01", "solution", ()),
        outcome("01", "solution", ("b",)),
        outcome("01", "wrong/x", ("a",), "a"),
        outcome("01", "wrong/x", ("a",), "a"),
    ]
    assert verify.flakes(runs) == {"01/solution": ["b", "outcome"]}
    assert verify.flakes(runs[2:]) == {}


def test_a_flake_is_reported_with_what_its_failed_run_said(capsys: pytest.CaptureFixture[str]) -> None:
    runs = [outcome("01", "solution", ()), outcome("01", "solution", ("b",))]
    report.verify_summary(runs, verify.flakes(runs), 1.0)
    said = capsys.readouterr().out
    assert "flaky 01/solution: verdict changed between runs: b, outcome" in said
    assert "b: b: expected x, found y" in said


def test_the_plan_starts_the_longest_first_and_repeats(lab_root: Path) -> None:
    """Earlier times decide the order; a variant never timed is guessed from its lab's
    timeouts."""
    state = lab_root.parent / "state"
    state.mkdir(exist_ok=True)
    (state / "verify-times.json").write_text('{"01/starter": 500, "01/solution": 1}')
    labs = [labspec.find_lab("01"), labspec.find_lab("06")]
    tasks = verify.plan(labs, repeat=2)
    assert len(tasks) == 2 * sum(len(verify.variants(lab)) for lab in labs)
    assert [t.key for t in tasks[:2]] == ["01/starter", "01/starter"]
    assert [t.key for t in tasks[-2:]] == ["01/solution", "01/solution"]


def test_the_default_concurrency_fits_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(verify, "available_memory_gib", lambda: 20.0)
    assert verify.default_jobs() == 12
    monkeypatch.setattr(verify.os, "cpu_count", lambda: 1)
    assert verify.default_jobs() == 6
    monkeypatch.setattr(verify, "available_memory_gib", lambda: 1.6)
    assert verify.default_jobs() == 2  # memory first
    monkeypatch.setattr(verify, "available_memory_gib", lambda: 0.1)
    assert verify.default_jobs() == 1
