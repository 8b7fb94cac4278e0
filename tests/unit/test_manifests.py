from __future__ import annotations

import hashlib
import os
import threading
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


# --- untrusted input: limits -------------------------------------------------------------


def refused_quickly(path: Path, *words: str) -> None:
    """Reading `path` is refused with these words, without hanging (how fast: make bench)."""
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            manifests.load([path])
            outcome.append(None)
        except BaseException as e:
            outcome.append(e)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome, f"reading {path.name} did not end within 10 s"
    assert isinstance(outcome[0], InputError), outcome[0]
    for word in words:
        assert word in outcome[0].en


def test_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "x.yaml"
    os.mkfifo(fifo)
    refused_quickly(fifo, "not a regular file")
    refused_quickly(tmp_path, "not a regular file")  # found in a folder too


def test_a_huge_file_is_refused_from_its_size(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as out:
        out.truncate(50 * 1024 * 1024)
    refused_quickly(huge, "50.0 MiB", "at most 1024 KiB")


def test_aliases_cannot_expand_a_small_file_into_gigabytes(tmp_path: Path) -> None:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "data:", '  a0: &a0 ["lol"]']
    for level in range(1, 10):
        earlier = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"  a{level}: &a{level} [{earlier}]")
    bomb = write(tmp_path, "\n".join(lines) + "\n")
    assert bomb.stat().st_size < 1024
    refused_quickly(bomb, "aliases expand to more than")


def test_an_alias_to_itself_is_refused(tmp_path: Path) -> None:
    refused_quickly(
        write(tmp_path, "apiVersion: v1\nkind: List\nmetadata: {name: x}\nitems: &a [*a]\n"), "itself"
    )


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: &l {app: web}}\ndata: {x: '1'}\n"
    text += "x-copy: *l\n"
    [doc] = manifests.load([write(tmp_path, text)])
    assert doc.obj["x-copy"] == {"app": "web"}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n---\n"])
def test_a_file_with_no_object_is_said_so(tmp_path: Path, text: str) -> None:
    refused_quickly(write(tmp_path, text), "holds no Kubernetes object")


def test_too_many_documents_are_refused(tmp_path: Path) -> None:
    one = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    refused_quickly(write(tmp_path, "---\n".join([one] * 101)), "more than 100 documents")
