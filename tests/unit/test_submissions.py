"""A student's submission taken in without trusting it (no cluster)."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from kubelab import repo, submissions
from kubelab.errors import InputError
from kubelab.submissions import Limits, SubmissionRefused

POD = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"


def a_zip(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in members.items():
            out.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            out.writestr(info, "/etc/passwd")
    return path


def a_tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as out:
        for member in members:
            body = (data or {}).get(member.name)
            if body is not None:
                member.size = len(body)
            out.addfile(member, io.BytesIO(body) if body is not None else None)
    return path


def test_a_plain_zip_is_extracted(tmp_path: Path) -> None:
    archive = a_zip(tmp_path / "s.zip", {"answers/pod.yaml": POD, "answers/svc.yaml": POD})
    into = submissions.extract(archive, tmp_path / "out")
    assert (into / "answers" / "pod.yaml").read_bytes() == POD
    assert [p.name for p in submissions.files_of(into)] == ["pod.yaml", "svc.yaml"]


@pytest.mark.parametrize(
    ("name", "said"),
    [("../evil.yaml", "'..'"), ("/etc/cron.d/x", "absolute"), ("a/../../x", "'..'"), ("C:/x", "absolute")],
)
def test_a_zip_slip_is_refused_and_nothing_is_left(tmp_path: Path, name: str, said: str) -> None:
    archive = a_zip(tmp_path / "s.zip", {"ok.yaml": POD, name: b"x"})
    with pytest.raises(SubmissionRefused, match=said):
        submissions.extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.yaml").exists()


def test_a_link_in_a_zip_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SubmissionRefused, match="a link"):
        submissions.extract(a_zip(tmp_path / "s.zip", {}, link="passwd"), tmp_path / "out")


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE])
def test_links_and_devices_in_a_tar_are_refused(tmp_path: Path, kind: bytes) -> None:
    member = tarfile.TarInfo("x")
    member.type = kind
    member.linkname = "/etc/passwd"
    with pytest.raises(SubmissionRefused, match="x: "):
        submissions.extract(a_tar(tmp_path / "s.tar.gz", [member]), tmp_path / "out")


def test_a_compression_bomb_stops_at_the_limit_whatever_it_claims(tmp_path: Path) -> None:
    archive = a_zip(tmp_path / "bomb.zip", {"big.yaml": b"0" * (3 * 1024 * 1024)})
    with zipfile.ZipFile(archive) as opened:
        assert opened.infolist()[0].compress_size < 10 * 1024  # small on disk
    with pytest.raises(SubmissionRefused, match="larger than 1024 KiB"):
        submissions.extract(archive, tmp_path / "out")


def test_too_many_files_or_bytes_are_refused(tmp_path: Path) -> None:
    many = a_zip(tmp_path / "many.zip", {f"f{i}.yaml": POD for i in range(5)})
    with pytest.raises(SubmissionRefused, match="more than 3 files"):
        submissions.extract(many, tmp_path / "out1", Limits(files=3))
    with pytest.raises(SubmissionRefused, match="in all"):
        submissions.extract(many, tmp_path / "out2", Limits(total_bytes=100))


def test_not_an_archive_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.zip").write_bytes(b"\x00binary\xff" * 10)
    with pytest.raises(SubmissionRefused, match=r"not a \.zip or \.tar\.gz"):
        submissions.extract(tmp_path / "s.zip", tmp_path / "out")


def test_never_inside_the_repository(tmp_path: Path) -> None:
    archive = a_zip(tmp_path / "s.zip", {"ok.yaml": POD})
    with pytest.raises(InputError, match="never extracted inside the repository"):
        submissions.extract(archive, repo.root() / "workspace" / "never-made")
    assert not (repo.root() / "workspace" / "never-made").exists()


def test_a_folder_with_a_link_or_a_fifo_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "pod.yaml").write_bytes(POD)
    (folder / "out").symlink_to("/etc")
    with pytest.raises(SubmissionRefused, match="a link"):
        submissions.files_of(folder)
    (folder / "out").unlink()
    os.mkfifo(folder / "pipe")
    with pytest.raises(SubmissionRefused, match="not a plain file"):
        submissions.files_of(folder)


def test_a_zip_with_an_entry_twice_is_refused_in_words(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("rs.yaml", "a: 1\n")
        with pytest.warns(UserWarning):  # zipfile itself says so
            z.writestr("rs.yaml", "a: 2\n")
        z.writestr("./other.yaml", "a: 3\n")
    with pytest.raises(submissions.SubmissionRefused, match="in the archive twice"):
        submissions.extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_broken_archive_is_said_without_python_names(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a", "x")
        z.writestr("a/b.yaml", "x")  # a file and a folder of one name
    with pytest.raises(submissions.SubmissionRefused) as refused:
        submissions.extract(archive, tmp_path / "out")
    said = refused.value.en + refused.value.ko
    assert "a file and a folder of the same name" in said and "Error" not in said and "[Errno" not in said
