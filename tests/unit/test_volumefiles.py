"""Files in a pod's volumes as a check writes and reads them (kubelab.volumefiles), with
a fake lab whose containers run the few shell lines the module sends over volumes kept
in memory."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest

from kubelab import volumefiles
from kubelab.errors import CheckFailed
from kubelab.kube import ExecResult
from kubelab.volumes import FileSeen, Mount

T = TypeVar("T")


def pod(volume: dict[str, Any], uid: str = "u1") -> dict[str, Any]:
    """writer mounts the whole volume at /cache, reader its subPath s at /s."""
    return {
        "kind": "Pod",
        "metadata": {"name": "p", "uid": uid},
        "spec": {
            "nodeName": "worker",
            "containers": [
                {"name": "writer", "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]},
                {"name": "reader", "volumeMounts": [{"name": "cache", "mountPath": "/s", "subPath": "s"}]},
            ],
            "volumes": [{"name": "cache", **volume}],
        },
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


WRITER, READER = Mount("writer", "cache", "/cache"), Mount("reader", "cache", "/s", "s")


class FakeKube:
    def warning_events(self, pod: dict[str, Any]) -> tuple[str, ...]:
        return ()


class FakeLab:
    """One pod whose volume `cache` is a dict of files (path in the volume → content);
    deleting the pod empties an emptyDir, as the kubelet does."""

    namespace = "lab-04"

    def __init__(self, volume: dict[str, Any]) -> None:
        self.pod = pod(volume)
        self.files: dict[str, str] = {}
        self.undos: list[Callable[[], None]] = []
        self.kube = FakeKube()
        self.listings: list[str] = []

    def subject(self, kind: str, name: str) -> str:
        return f"{kind} {self.namespace}/{name}"

    def require(self, kind: str, name: str) -> dict[str, Any]:
        return self.pod

    def eventually(self, assertion: Callable[[], T]) -> T:
        return assertion()

    def defer(self, what: str, undo: Callable[[], None]) -> None:
        self.undos.append(undo)

    def delete_pod(
        self, pod: dict[str, Any], grace_seconds: int | None = None, same_node: bool = False
    ) -> None:
        if "emptyDir" in self.pod["spec"]["volumes"][0]:
            self.files.clear()

    def put_back(self, obj: dict[str, Any], node: str | None = None) -> None:
        self.pod = {**obj, "metadata": {"name": "p", "uid": "u2"}}

    def exec(self, name: str, command: Sequence[str], container: str | None = None) -> ExecResult:
        words = shlex.split(command[2])
        if words[0] == "cd":  # a listing (kubelab.volumes.list_files)
            return ExecResult(0, self.listings.pop(0), "")
        base = "s/" if container == "reader" else ""
        rel = base + posixpath.relpath(words[-1], "/s" if base else "/cache")
        if words[:2] == ["rm", "-f"]:
            self.files.pop(rel, None)
            return ExecResult(0, "", "")
        if words[0] == "cat":
            there = rel in self.files
            return ExecResult(0 if there else 1, self.files.get(rel, ""), "" if there else "No such file")
        self.files[rel] = (self.files.get(rel, "") if words[-2] == ">>" else "") + words[1] + "\n"
        return ExecResult(0, "", "")


def test_a_marker_is_read_through_each_mount_that_sees_it_and_removed_at_the_end() -> None:
    lab = FakeLab({"emptyDir": {}})
    marker = volumefiles.write_marker(lab, lab.pod, WRITER)  # type: ignore[arg-type]
    assert marker.name.startswith(volumefiles.PREFIX) and marker.path == f"/cache/{marker.name}"
    assert volumefiles.read_marker(lab, marker) == (True, "")  # type: ignore[arg-type]
    seen, instead = volumefiles.read_marker(lab, marker, through=READER)  # type: ignore[arg-type]
    assert not seen and "subPath s" in instead  # the reader's subPath leaves it out
    lab.files[marker.in_volume] = "another\n"
    assert volumefiles.read_marker(lab, marker) == (False, "other content: 'another'")  # type: ignore[arg-type]
    for undo in lab.undos:
        undo()
    assert lab.files == {}


def test_a_marker_in_a_subpath_is_seen_through_the_whole_volume() -> None:
    lab = FakeLab({"emptyDir": {}})
    marker = volumefiles.write_marker(lab, lab.pod, READER)  # type: ignore[arg-type]
    assert marker.in_volume == f"s/{marker.name}"
    assert volumefiles.read_marker(lab, marker, through=WRITER)[0]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("volume", "kept"), [({"emptyDir": {}}, False), ({"hostPath": {"path": "/d"}}, True)]
)
def test_what_a_new_pod_finds_of_a_marker(volume: dict[str, Any], kept: bool) -> None:
    lab = FakeLab(volume)
    assert volumefiles.survives_new_pod(lab, lab.pod, WRITER, same_node=True) is kept  # type: ignore[arg-type]
    assert lab.pod["metadata"]["uid"] == "u2"


def test_lines_appended_through_each_mount_that_sees_the_file() -> None:
    lab = FakeLab({"emptyDir": {}})
    lab.files["s/log"] = "one\n"
    appended = volumefiles.append_lines(lab, "p", [WRITER, READER], "s/log")  # type: ignore[arg-type]
    assert set(appended) == {"writer", "reader"}
    assert lab.files["s/log"].splitlines()[1:] == [appended["writer"], appended["reader"]]
    assert set(volumefiles.append_lines(lab, "p", [WRITER, READER], "log")) == {"writer"}  # type: ignore[arg-type]


def test_the_file_that_grows_seen_through_both_mounts() -> None:
    lab = FakeLab({"emptyDir": {}})
    lab.listings = ["100\n90 5 ./s/log\n", "100\n90 5 ./log\n", "101\n91 9 ./s/log\n", "101\n91 9 ./log\n"]
    grown = volumefiles.growing_file(lab, "p", [WRITER, READER])  # type: ignore[arg-type]
    assert grown == FileSeen("s/log", 91, 9)
    lab.listings = ["100\n90 5 ./log\n"] * 2 + ["101\n90 5 ./log\n"] * 2
    with pytest.raises(CheckFailed) as failed:
        volumefiles.growing_file(lab, "p", [WRITER, READER])  # type: ignore[arg-type]
    assert "none grew" in failed.value.finding.found


def test_files_written_since_the_container_started() -> None:
    lab = FakeLab({"hostPath": {"path": "/d"}})
    lab.pod["status"]["containerStatuses"] = [
        {"name": "writer", "state": {"running": {"startedAt": "1970-01-01T00:01:40Z"}}}
    ]
    lab.listings = ["120\n99 3 ./new.txt\n50 3 ./old.txt\n"]
    now, files, fresh = volumefiles.files_since_start(lab, lab.pod, WRITER)  # type: ignore[arg-type]
    assert now == 120 and len(files) == 2
    assert fresh == [FileSeen("new.txt", 99, 3)]  # 1 s before its start: within the slack
