"""The node reader's pod and paths, as data (it reads real nodes in the e2e: lab 04)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kubelab import nodefiles


def test_the_reader_pod_is_pinned_read_only_and_mounts_the_root() -> None:
    pod = nodefiles._pod("kubelab-worker", "/data/sandboxes/lab-04-s01", "kubelab/web:v1", writable=False)
    spec = pod["spec"]
    assert spec["nodeName"] == "kubelab-worker"
    assert spec["automountServiceAccountToken"] is False
    assert spec["volumes"] == [
        {"name": "node", "hostPath": {"path": "/data/sandboxes/lab-04-s01", "type": "Directory"}}
    ]
    [container] = spec["containers"]
    assert container["volumeMounts"] == [{"name": "node", "mountPath": "/node", "readOnly": True}]
    assert container["resources"]["limits"]["memory"]


@pytest.mark.parametrize(
    ("folder", "root"),
    [("/", None), ("data/x", None), ("/data/x", "/data/x"), ("/data/x", "/other"), ("/data/xy", "/data/x")],
)
def test_a_folder_must_be_inside_its_root(folder: str, root: str | None) -> None:
    with pytest.raises(ValueError), nodefiles.reader(None, "node", folder, root=root):  # type: ignore[arg-type]
        pass


@pytest.mark.parametrize("path", ["../etc/passwd", "/", ".", "a/../../b"])
def test_a_name_read_or_removed_stays_in_the_folder(path: str) -> None:
    with pytest.raises(ValueError):
        nodefiles._relative(path)


def test_a_listing_keeps_files_apart_from_links_and_fifos() -> None:
    listing = nodefiles.Listing(
        "n",
        "/data/x",
        100,
        (
            nodefiles.NodeEntry("hello.txt", "f", 5, 90),
            nodefiles.NodeEntry("to-etc", "l", 4, 90),
            nodefiles.NodeEntry("pipe", "p", 0, 90),
        ),
    )
    assert list(listing.files()) == ["hello.txt"]
    assert listing.where == "/data/x on node n"


def test_a_crew_measures_every_folder_on_one_line(tmp_path: Path) -> None:
    """The crew pod's own shell line, run here: what `du` prints is what Crew reads."""
    (tmp_path / "lab-04-s01").mkdir()
    (tmp_path / "lab-04-s01" / "data").write_bytes(b"x" * 100_000)
    (tmp_path / "lab-05-s02").mkdir()
    (tmp_path / "a-file").write_bytes(b"not a folder")
    said = subprocess.run(["sh", "-c", nodefiles.CREW_MEASURE], cwd=tmp_path, capture_output=True, text=True)
    assert said.stdout.count("\n") == 1 and said.stdout.startswith("du ")
    sizes = nodefiles._sizes(said.stdout.removeprefix("du"))
    assert set(sizes) == {"lab-04-s01", "lab-05-s02"}
    assert sizes["lab-04-s01"] >= 100_000 > sizes["lab-05-s02"]


def test_a_crew_with_no_folder_says_so(tmp_path: Path) -> None:
    assert nodefiles._sizes("") == {}
    said = subprocess.run(["sh", "-c", nodefiles.CREW_MEASURE], cwd=tmp_path, capture_output=True, text=True)
    assert said.stdout == "du \n"
