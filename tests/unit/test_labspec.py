from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubelab import labspec
from kubelab.errors import ExitCode, InputError, LabContentError


def test_lab_01_is_complete() -> None:
    lab = labspec.find_lab("01")
    assert lab.namespace == "lab-01"
    assert lab.title.ko and lab.title.en
    assert {c.id for c in lab.checks} >= {"replicaset_exists", "replicaset_recreates_deleted_pod"}
    assert lab.check("replicaset_recreates_deleted_pod").disturbs
    assert lab.check("three_pods_ready").timeout == 120
    assert lab.check("replicaset_exists").timeout == 10  # the lab's default_timeout
    assert len(lab.wrong) >= 2 and all(w.dir.is_dir() for w in lab.wrong)
    assert lab.checker.name == "test_lab01.py"
    assert "ReplicaSet" in lab.instructions_text("ko") and "ReplicaSet" in lab.instructions_text("en")


@pytest.mark.parametrize("spelling", ["1", "01", "lab-01", "lab01"])
def test_lab_numbers_can_be_spelled_several_ways(spelling: str) -> None:
    assert labspec.normalize_id(spelling) == "01"


@pytest.mark.parametrize("spelling", ["x", "123", "lab-", ""])
def test_bad_lab_numbers_are_input_errors(spelling: str) -> None:
    with pytest.raises(InputError) as caught:
        labspec.normalize_id(spelling)
    assert caught.value.exit_code == ExitCode.BAD_INPUT


def test_unknown_lab_lists_the_labs_that_exist() -> None:
    with pytest.raises(InputError, match=r"no lab 99 \(labs: 01"):
        labspec.find_lab("99")


def _edit(lab_root: Path, change: dict[str, object]) -> Path:
    path = lab_root / "labs" / "01-replicaset" / "lab.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(change)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path.parent


def test_metadata_missing_a_language_is_refused(lab_root: Path) -> None:
    folder = _edit(lab_root, {"title": {"ko": "제목만"}})
    with pytest.raises(LabContentError, match="title: 'en' is a required property"):
        labspec.load_lab(folder)


def test_metadata_with_unknown_field_is_refused(lab_root: Path) -> None:
    folder = _edit(lab_root, {"colour": "blue"})
    with pytest.raises(LabContentError, match="colour"):
        labspec.load_lab(folder)


def test_steps_are_read_for_solution_and_wrong_answers(lab_root: Path) -> None:
    path = lab_root / "labs" / "01-replicaset" / "lab.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["solution_steps"] = [["scale", "rs/simple-replicaset", "--replicas=3"]]
    data["wrong"][0]["steps"] = [["scale", "rs/simple-replicaset", "--replicas=1"]]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    lab = labspec.load_lab(path.parent)
    assert lab.solution_steps == (("scale", "rs/simple-replicaset", "--replicas=3"),)
    assert lab.wrong[0].steps == (("scale", "rs/simple-replicaset", "--replicas=1"),)
    assert lab.starter_steps == () and lab.wrong[1].steps == ()
