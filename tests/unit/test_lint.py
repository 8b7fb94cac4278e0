from __future__ import annotations

from pathlib import Path

import yaml

from kubelab import labspec, lint


def test_every_lab_in_the_repo_passes_lint() -> None:
    # how fast: measured by `make bench` (budget: all labs in under 2 s), not asserted here
    problems = [p for lab in labspec.all_labs() for p in lint.lab_problems(lab)]
    assert problems == []


def test_lint_finds_what_is_wrong_with_a_broken_lab(lab_root: Path) -> None:
    folder = lab_root / "labs" / "01-replicaset"
    (folder / "solution" / "replicaset.yaml").write_text(
        (folder / "solution" / "replicaset.yaml").read_text().replace("kubelab/web:v1", "nginx:latest")
    )
    (folder / "starter" / "svc.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
        "spec: {type: NodePort, ports: [{port: 80, nodePort: 8080}]}\n"
    )
    (folder / "instructions.en.md").unlink()
    data = yaml.safe_load((folder / "lab.yaml").read_text(encoding="utf-8"))
    data["wrong"][0]["fails"] = "no_such_check"
    data["checks"].pop()  # dev_pod_stays_unselected: now only in the checker
    data["checks"][0]["needs"] = ["three_pods_ready"]  # a check that comes later
    (folder / "lab.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    problems = "\n".join(lint.lab_problems(labspec.load_lab(folder)))

    assert "nginx:latest uses :latest" in problems
    assert "nodePort 8080 is outside 30000-32767" in problems
    assert "kind Service does not belong" in problems
    assert "instructions (en) missing" in problems
    assert "declares unknown check no_such_check" in problems
    assert (
        "test_dev_pod_stays_unselected in test_lab01.py: check dev_pod_stays_unselected is not declared"
        in problems
    )
    assert "check replicaset_exists needs three_pods_ready, which is not a check before it" in problems


def test_image_pinning_rules() -> None:
    assert lint.image_problem("kubelab/web:v1") is None
    assert lint.image_problem("registry:5000/web@sha256:" + "0" * 64) is None
    assert "no tag" in str(lint.image_problem("registry:5000/web"))
    assert "latest" in str(lint.image_problem("busybox:latest"))


def test_a_learners_file_is_linted_against_the_lab(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n")
    problems = lint.file_problems([mine], labspec.find_lab("01"))
    assert any("kind Deployment does not belong" in p for p in problems)


def test_a_labs_own_template_is_rendered_before_it_is_linted() -> None:
    """`kubelab lint labs/05-…/solution/claims.yaml`: `{{ … }}` is a lab's value, not YAML
    (it said "found unhashable key"); a wrong answer's kinds are its own (a lab's mistakes)."""
    lab = labspec.find_lab("05")
    files = sorted(lab.solution.glob("*.yaml")) + sorted(w for v in lab.wrong for w in v.dir.glob("*.yaml"))
    assert any("{{" in f.read_text() for f in files)
    assert lint.file_problems(files, None) == []
    service = labspec.find_lab("02").solution / "service.yaml"
    assert lint.file_problems([service], labspec.find_lab("01")) == []  # rendered with lab 02's values
