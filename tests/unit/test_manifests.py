from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kubelab import manifests
from kubelab.errors import ExitCode, InputError
from tests.unit.samples import DEV_POD, REPLICASET

GOOD = REPLICASET + "---\n" + DEV_POD


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_multi_document_file_is_read_in_order(tmp_path: Path) -> None:
    docs = manifests.load([write(tmp_path, GOOD)])
    assert [(d.kind, d.name, d.index) for d in docs] == [
        ("ReplicaSet", "simple-replicaset", 1),
        ("Pod", "dev-pod", 2),
    ]
    manifests.validate(docs, ("ReplicaSet", "Pod"))


def test_broken_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [oops\n")
    with pytest.raises(InputError) as caught:
        manifests.load([path])
    assert str(path) in caught.value.en and "line" in caught.value.en
    assert caught.value.exit_code == ExitCode.BAD_INPUT


def test_wrong_kind_is_refused_with_the_kinds_wanted(tmp_path: Path) -> None:
    docs = manifests.load([write(tmp_path, GOOD.replace("kind: ReplicaSet", "kind: Deployment"))])
    with pytest.raises(InputError, match="kind Deployment does not belong") as caught:
        manifests.validate(docs, ("ReplicaSet", "Pod"))
    assert "ReplicaSet, Pod" in caught.value.en
    assert "Deployment" in caught.value.ko


def test_missing_field_fails_the_schema(tmp_path: Path) -> None:
    text = GOOD.replace("  selector: {matchLabels: {app: my-little-pod}}\n", "")
    docs = manifests.load([write(tmp_path, text)])
    with pytest.raises(InputError, match="selector"):
        manifests.validate(docs)


def test_wrong_type_fails_the_schema(tmp_path: Path) -> None:
    docs = manifests.load([write(tmp_path, GOOD.replace("replicas: 3", 'replicas: "3"'))])
    with pytest.raises(InputError, match=r"spec\.replicas"):
        manifests.validate(docs)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just\n- a list\n", "not a Kubernetes object"),
        ("kind: Pod\nmetadata: {name: p}\n", "missing apiVersion"),
        ("apiVersion: v1\nkind: Pod\n", "missing metadata.name"),
    ],
)
def test_not_an_object(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        manifests.load([write(tmp_path, text)])


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        manifests.load([tmp_path / "nope.yaml"])


def test_reading_never_changes_the_learners_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("replicas: 3", 'replicas: "3"'))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(InputError):
        manifests.validate(manifests.load([path]))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_folders_are_read_in_name_order(tmp_path: Path) -> None:
    write(tmp_path, "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\n", "2.yaml")
    write(tmp_path, "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", "1.yml")
    write(tmp_path, "not yaml at all: [", "notes.txt")
    assert [d.name for d in manifests.load([tmp_path])] == ["a", "b"]
