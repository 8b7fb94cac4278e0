"""`kubelab new`: the scaffolded lab lints clean as generated (its verify is in the e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelab import labspec, lint, repo, scaffold, verify
from kubelab.errors import InputError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository of no labs, with kubelab's images and versions."""
    (tmp_path / "labs").mkdir()
    for shared in ("images", "ci"):
        (tmp_path / shared).symlink_to(REPO / shared)
    monkeypatch.setenv("KUBELAB_ROOT", str(tmp_path))
    monkeypatch.setenv("KUBELAB_STATE", str(tmp_path / ".kubelab"))
    repo.versions.cache_clear()
    return tmp_path


def test_a_new_lab_lints_clean_and_its_variants_are_what_verify_runs(root: Path) -> None:
    folder = scaffold.new_lab("90", "hello-world")
    assert folder == root / "labs" / "90-hello-world"
    lab = labspec.find_lab("90")
    assert list(lint.lab_problems(lab)) == []
    assert all(spec.expect for spec in lab.checks) and not lab.checker.exists()  # data only
    assert [v.name for v in verify.variants(lab)] == [
        "solution",
        "starter",
        "wrong/selector-typo",
        "wrong/three-replicas",
    ]
    assert "${" not in "".join(p.read_text() for p in folder.rglob("*") if p.is_file())


def test_a_taken_number_or_a_bad_name_is_refused_and_nothing_is_written(root: Path) -> None:
    scaffold.new_lab("90", "hello")
    with pytest.raises(InputError, match="exists"):
        scaffold.new_lab("90", "other")
    for lab_id, name in (("9", "x9"), ("91", "Hello"), ("91", "a/../b"), ("91", "x")):
        with pytest.raises(InputError):
            scaffold.new_lab(lab_id, name)
    assert [p.name for p in (root / "labs").iterdir()] == ["90-hello"]


def test_a_wrong_answer_written_as_a_change_of_the_solution(root: Path) -> None:
    folder = scaffold.new_lab("90", "hello")
    extra = (folder / "solution" / "deployment.yaml").read_text().replace("name: hello\n", "name: extra\n", 1)
    (folder / "solution" / "extra.yaml").write_text(extra)
    yaml_path = folder / "lab.yaml"
    yaml_path.write_text(
        yaml_path.read_text().replace(
            "  - dir: wrong/three-replicas\n",
            "  - dir: wrong/three-replicas\n    base: solution\n",
        )
    )
    lab = labspec.find_lab("90")
    three = next(v for v in verify.variants(lab) if v.name == "wrong/three-replicas")
    # the solution's deployment.yaml is replaced by the answer's; its extra.yaml is kept
    assert [p.relative_to(folder).as_posix() for p in three.files] == [
        "solution/extra.yaml",
        "wrong/three-replicas/deployment.yaml",
    ]
    whole = next(v for v in verify.variants(lab) if v.name == "wrong/selector-typo")
    assert [p.relative_to(folder).as_posix() for p in whole.files] == ["wrong/selector-typo/deployment.yaml"]
    # an answer that only leaves a file out needs no folder of its own
    yaml_path.write_text(
        yaml_path.read_text().replace(
            "  - dir: wrong/selector-typo\n",
            "  - dir: wrong/no-extra\n    base: solution\n    drop: [extra.yaml]\n",
        )
    )
    lab = labspec.find_lab("90")
    assert list(lint.lab_problems(lab)) == []
    left_out = next(v for v in verify.variants(lab) if v.name == "wrong/no-extra")
    assert [p.relative_to(folder).as_posix() for p in left_out.files] == ["solution/deployment.yaml"]
    yaml_path.write_text(yaml_path.read_text().replace("drop: [extra.yaml]", "drop: [nosuch.yaml]"))
    problems = list(lint.lab_problems(labspec.find_lab("90")))
    assert any("drops nosuch.yaml, which the solution does not have" in p for p in problems)
