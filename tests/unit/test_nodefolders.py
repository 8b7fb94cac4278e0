"""The measure of an answer's node folder (kubelab.nodefolders): bounded, following
nothing, counting the space really used."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubelab import nodefolders


def test_usage_counts_blocks_not_claimed_sizes(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data").write_bytes(b"x" * 200_000)
    with open(tmp_path / "sparse", "wb") as sparse:  # claims 10 GiB, holds nothing
        sparse.truncate(10 * 1024**3)
    found = nodefolders.usage(tmp_path, cap=10**9)
    assert not found.problem and 200_000 <= found.used < 1_000_000
    assert not found.over(10**9) and found.over(100_000)


def test_usage_follows_no_link(tmp_path: Path) -> None:
    big = tmp_path / "elsewhere"
    big.mkdir()
    (big / "data").write_bytes(b"x" * 500_000)
    watched = tmp_path / "watched"
    watched.mkdir()
    (watched / "link").symlink_to(big)
    assert nodefolders.usage(watched).used < 100_000


def test_usage_stops_at_the_cap_and_at_too_many_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(30):
        (tmp_path / f"f{i}").write_bytes(b"x" * 8192)
    assert nodefolders.usage(tmp_path, cap=50_000).over(50_000)
    monkeypatch.setattr(nodefolders, "MAX_ENTRIES", 10)
    found = nodefolders.usage(tmp_path, cap=10**9)
    assert found.over(10**9) and "more than 10 files" in found.problem


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_a_folder_closed_to_reading_counts_as_over(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0)
    try:
        found = nodefolders.usage(tmp_path)
        assert found.over(nodefolders.CAP) and "cannot be read" in found.problem
    finally:
        closed.chmod(0o755)


def test_an_unwatched_sandbox_has_no_reason() -> None:
    watch = nodefolders.Watch(kube=None, namespace="lab-01-ux")  # type: ignore[arg-type]
    with watch.running():
        pass
    assert watch.reason() is None


def test_an_entry_that_cannot_be_looked_at_counts_as_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder open to listing but closed to looking in (mode 0644 as root made it): the
    stat fails; that is over, never a watch that dies and lets the answer write on."""
    (tmp_path / "hidden").write_bytes(b"x")

    def refuse(self: object, follow_symlinks: bool = True) -> None:
        raise PermissionError(13, "Permission denied")

    real = os.scandir

    class Entry:
        def __init__(self, entry: os.DirEntry[str]) -> None:
            self.name, self.path = entry.name, entry.path

        stat = refuse

    monkeypatch.setattr(nodefolders.os, "scandir", lambda p: [Entry(e) for e in real(p)])
    found = nodefolders.usage(tmp_path)
    assert found.over(nodefolders.CAP) and "hidden: cannot be read" in found.problem
