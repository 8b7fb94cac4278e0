"""A student's submission taken in without trusting it (no cluster)."""

from __future__ import annotations

import gzip
import io
import os
import signal
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from kubelab import archives, repo, submissions
from kubelab.errors import EnvironmentProblem, InputError, KubelabError
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


# Hostile tar archives, written byte by byte (tarfile would not write most of them).


def header(
    name: bytes,
    typeflag: bytes = b"0",
    size: int = 0,
    *,
    size_field: bytes | None = None,
    prefix: bytes = b"",
    magic: bytes = b"ustar\x0000",
) -> bytes:
    """One 512-byte tar header, its checksum right."""
    block = bytearray(archives.BLOCK)
    block[0 : len(name)] = name
    block[100:124] = b"0000644\x000000000\x000000000\x00"
    block[124:136] = size_field if size_field is not None else b"%011o\x00" % size
    block[136:148] = b"00000000000\x00"
    block[156:157] = typeflag
    block[257 : 257 + len(magic)] = magic
    block[345 : 345 + len(prefix)] = prefix
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block)


def member(name: bytes, data: bytes = b"", typeflag: bytes = b"0", **fields: bytes) -> bytes:
    """A header and its data, padded to whole blocks."""
    return header(name, typeflag, len(data), **fields) + data + b"\x00" * (-len(data) % archives.BLOCK)


def pax(**records: str) -> bytes:
    """A pax header's data: "LEN key=value\\n" records."""
    out = b""
    for key, value in records.items():
        body = f" {key}={value}\n".encode()
        digits = len(str(len(body)))
        length = len(body) + digits
        if len(str(length)) != digits:
            length += 1
        out += str(length).encode() + body
    return out


def raw_tar(path: Path, *members: bytes, end: bool = True, compress: bool = True) -> Path:
    data = b"".join(members) + (b"\x00" * 1024 if end else b"")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def refused(archive: Path, into: Path, limits: Limits | None = None) -> SubmissionRefused:
    """The refusal of extracting `archive`: one line in each language, nothing left."""
    with pytest.raises(SubmissionRefused) as caught:
        submissions.extract(archive, into, limits or Limits())
    assert not into.exists()
    said = caught.value
    assert "\n" not in said.en + said.ko and "Error" not in said.en + said.ko
    return said


def test_cve_2024_6232_a_pax_header_of_digits_is_refused_from_its_size(tmp_path: Path) -> None:
    """150,000 digits froze tarfile for ~50 s (2,000,000 for hours): refused unread."""
    for digits in (150_000, 2_000_000):
        archive = raw_tar(
            tmp_path / f"{digits}.tar.gz",
            member(b"././@PaxHeader", b"1" * digits, b"x"),
            member(b"a.yaml", POD),
        )
        assert archive.stat().st_size < 4096
        said = refused(archive, tmp_path / f"out{digits}")
        assert said.en == f"{digits}.tar.gz: a header larger than 64 KiB"
        assert said.ko == f"{digits}.tar.gz: 64 KiB보다 큰 헤더가 있습니다"


def test_a_pax_header_of_digits_within_the_bound_is_read_in_one_pass(tmp_path: Path) -> None:
    archive = raw_tar(tmp_path / "s.tar.gz", member(b"p", b"1" * 60_000, b"x"), member(b"a.yaml", POD))
    assert "an unreadable pax header" in refused(archive, tmp_path / "out").en
    with pytest.raises(archives.ArchiveError, match="unreadable pax header"):
        archives.pax_records(b"9" * 60_000)


def test_a_gnu_long_name_of_2_mb_is_refused_unread(tmp_path: Path) -> None:
    """It took the grader to 2.1 GiB of memory."""
    archive = raw_tar(
        tmp_path / "s.tar.gz", member(b"././@LongLink", b"a" * 2_000_000, b"L"), member(b"x", POD)
    )
    assert archive.stat().st_size < 4096
    assert refused(archive, tmp_path / "out").en == "s.tar.gz: a header larger than 64 KiB"


def test_long_names_and_pax_paths_and_sizes_are_honoured(tmp_path: Path) -> None:
    long = "d/" + "n" * 150 + ".yaml"
    archive = raw_tar(
        tmp_path / "s.tar.gz",
        member(b"././@LongLink", long.encode() + b"\x00", b"L"),
        member(b"truncated", POD),
        member(b"PaxHeaders/x", pax(path="deep/real.yaml", mtime="1.5", comment="ignored"), b"x"),
        member(b"ignored-name", b"a: 1\n"),
        member(b"PaxHeaders/y", pax(size="4"), b"x"),
        header(b"sized.yaml", b"0", 0) + b"b: 2" + b"\x00" * 508,  # the header says 0, pax says 4
        member(b"pax_global_header", pax(comment="g" * 1000), b"g"),
        member(b"b.yaml", b"x", prefix=b"pre/fix"),  # ustar: prefix + '/' + name
    )
    into = submissions.extract(archive, tmp_path / "out")
    assert (into / long).read_bytes() == POD
    assert (into / "deep" / "real.yaml").read_bytes() == b"a: 1\n"
    assert (into / "sized.yaml").read_bytes() == b"b: 2"
    assert (into / "pre" / "fix" / "b.yaml").read_bytes() == b"x"
    assert not (into / "ignored-name").exists() and not (into / "truncated").exists()


@pytest.mark.parametrize(
    ("records", "said"),
    [
        ({"path": "../evil.yaml"}, "'..'"),
        ({"path": "/etc/x"}, "absolute"),
        ({"path": "a\x00b"}, "a NUL character"),
    ],
)
def test_a_pax_path_obeys_the_rules(tmp_path: Path, records: dict[str, str], said: str) -> None:
    archive = raw_tar(tmp_path / "s.tar.gz", member(b"p", pax(**records), b"x"), member(b"ok.yaml", POD))
    assert said in refused(archive, tmp_path / "out").en


def test_a_gnu_header_has_no_prefix(tmp_path: Path) -> None:
    """GNU tar keeps times where ustar has its prefix: they are never part of a name."""
    archive = raw_tar(
        tmp_path / "s.tar.gz", member(b"a.yaml", POD, magic=b"ustar  \x00", prefix=b"14712345670")
    )
    assert (submissions.extract(archive, tmp_path / "out") / "a.yaml").read_bytes() == POD


def test_a_wrong_checksum_is_refused(tmp_path: Path) -> None:
    bad = bytearray(member(b"b.yaml", POD))
    bad[0] = ord("c")  # the checksum was of "b.yaml"
    archive = raw_tar(tmp_path / "s.tar.gz", member(b"a.yaml", POD), bytes(bad))
    assert "a header's checksum is wrong" in refused(archive, tmp_path / "out").en
    first = raw_tar(tmp_path / "first.tar.gz", bytes(bad))  # not even a tar archive
    assert refused(first, tmp_path / "out2").en == "first.tar.gz: not a .zip or .tar.gz"


def test_a_base_256_size_is_read_and_a_negative_one_refused(tmp_path: Path) -> None:
    field = b"\x80" + len(POD).to_bytes(11, "big")
    archive = raw_tar(tmp_path / "s.tar.gz", header(b"a.yaml", size_field=field) + POD.ljust(512, b"\x00"))
    assert (submissions.extract(archive, tmp_path / "out") / "a.yaml").read_bytes() == POD
    negative = raw_tar(tmp_path / "n.tar.gz", header(b"a.yaml", size_field=b"\xff" * 12))
    assert "a negative or unreadable size" in refused(negative, tmp_path / "out2").en
    letters = raw_tar(tmp_path / "l.tar.gz", header(b"a.yaml", size_field=b"0000000008x\x00"))
    assert "not octal" in refused(letters, tmp_path / "out3").en


def test_a_huge_base_256_size_is_the_file_size_refusal(tmp_path: Path) -> None:
    archive = raw_tar(tmp_path / "s.tar.gz", header(b"a.yaml", size_field=b"\x80" + b"\xff" * 11))
    assert refused(archive, tmp_path / "out").en == "a.yaml: larger than 1024 KiB"


def test_a_folders_bogus_size_is_ignored(tmp_path: Path) -> None:
    """POSIX: a folder's size is no data that follows (as tarfile reads it too)."""
    archive = raw_tar(
        tmp_path / "s.tar.gz",
        header(b"d/", b"5", size_field=b"\x80" + b"\xff" * 11),
        header(b"e/", b"5", 0o77777777777),
        header(b"v7/", b"\x00"),  # old tar: a folder is a file whose name ends in '/'
        member(b"d/a.yaml", POD),
    )
    into = submissions.extract(archive, tmp_path / "out")
    assert (into / "d" / "a.yaml").read_bytes() == POD and (into / "e").is_dir() and (into / "v7").is_dir()


@pytest.mark.parametrize(
    ("parts", "said"),
    [
        ((member(b"l", typeflag=b"2"),), "l: a link"),
        ((member(b"h", typeflag=b"1"),), "h: a link"),
        ((member(b"K", b"/etc/passwd\x00", b"K"), member(b"k", typeflag=b"2")), "k: a link"),
        ((member(b"f", typeflag=b"6"),), "f: not a plain file (a device or FIFO)"),
        ((member(b"c", typeflag=b"3"),), "c: not a plain file (a device or FIFO)"),
        ((member(b"s", b"x", typeflag=b"S"),), "s: not a plain file"),
        ((member(b"./", typeflag=b"5"), member(b"./", b"x")), "'./': a file without a name"),
    ],
)
def test_links_devices_and_unknown_kinds_are_refused(
    tmp_path: Path, parts: tuple[bytes, ...], said: str
) -> None:
    archive = raw_tar(tmp_path / "s.tar.gz", member(b"ok.yaml", POD), *parts)
    assert refused(archive, tmp_path / "out").en == said


@pytest.mark.parametrize("cut", [700, 1024 + 100, 1024 + 512 + 3])
def test_a_cut_archive_is_refused(tmp_path: Path, cut: int) -> None:
    whole = member(b"a.yaml", POD) + member(b"b.yaml", POD * 20) + b"\x00" * 1024
    plain = tmp_path / "s.tar"
    plain.write_bytes(whole[:cut])
    assert refused(plain, tmp_path / "out").en == "s.tar: a broken archive (cut short)"
    zipped = tmp_path / "s.tar.gz"
    zipped.write_bytes(gzip.compress(whole)[:-30])  # the compressed stream cut short
    assert "a broken archive (cut short)" in refused(zipped, tmp_path / "out").en


def test_an_archive_without_its_end_blocks_is_read_to_its_last_member(tmp_path: Path) -> None:
    archive = raw_tar(tmp_path / "s.tar", member(b"a.yaml", POD), end=False, compress=False)
    assert (submissions.extract(archive, tmp_path / "out") / "a.yaml").read_bytes() == POD
    half = raw_tar(tmp_path / "half.tar", member(b"p", pax(path="b.yaml"), b"x"), end=False, compress=False)
    assert refused(half, tmp_path / "out2").en == "half.tar: a broken archive (cut short)"


def test_a_gzip_bomb_stops_at_the_byte_limits(tmp_path: Path) -> None:
    big = raw_tar(tmp_path / "big.tar.gz", member(b"big.yaml", b"0" * (3 * 1024 * 1024)))
    assert big.stat().st_size < 10 * 1024
    assert refused(big, tmp_path / "out").en == "big.yaml: larger than 1024 KiB"
    many = raw_tar(tmp_path / "many.tar.gz", *(member(b"f%d" % i, b"0" * 1000_000) for i in range(30)))
    assert refused(many, tmp_path / "out").en == "more than 10 MiB in all"


def test_headers_and_folders_without_end_stop_at_the_stream_limit(tmp_path: Path) -> None:
    """What is not a file's bytes is counted too: a run of headers ends at the limit."""
    block = member(b"g", b"\x00" * 60_000, b"g")
    archive = raw_tar(tmp_path / "s.tar.gz", *([block] * 400))  # 24 MB of global headers
    assert archive.stat().st_size < 100 * 1024
    assert (
        refused(archive, tmp_path / "out").en
        == "s.tar.gz: more than 21 MiB once uncompressed (with its headers)"
    )

    class Counted(io.BytesIO):
        given = 0

        def read(self, size: int | None = -1, /) -> bytes:
            data = super().read(size)
            self.given += len(data)
            return data

    stream = Counted(member(b"d/", typeflag=b"5") * 10_000)
    with pytest.raises(archives.ArchiveError, match="more than 1 MiB"):
        for _ in archives.read_tar(stream, 1024 * 1024):
            pass
    assert stream.given <= 1024 * 1024


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz", "w"])
@pytest.mark.parametrize("form", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_a_plain_tar_is_extracted_exactly(tmp_path: Path, mode: str, form: int) -> None:
    folder = tmp_path / "student"
    files = {"answers/pod.yaml": POD, "answers/deep/" + "x" * 120 + ".yaml": b"y" * 70_000, "a.yml": b""}
    if form == tarfile.USTAR_FORMAT:
        del files["answers/deep/" + "x" * 120 + ".yaml"]  # beyond ustar's names
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    archive = tmp_path / "s.any"  # the name says nothing: the bytes do
    with tarfile.open(archive, mode, format=form) as out:
        out.add(folder, ".")
    into = submissions.extract(archive, tmp_path / "out")
    assert {p.relative_to(into).as_posix(): p.read_bytes() for p in submissions.files_of(into)} == files


def test_an_archive_larger_than_its_contents_may_be_is_refused_unread(tmp_path: Path) -> None:
    limits = Limits(total_bytes=100)
    noise = os.urandom(1024 * 1024 + 200)
    big_zip = a_zip(tmp_path / "s.zip", {"noise.bin": noise})
    said = refused(big_zip, tmp_path / "out", limits)
    assert said.en == "s.zip: an archive larger than 1 MiB (its files may hold 0 MiB in all)"
    big_tar = raw_tar(tmp_path / "s.tar", member(b"n", noise), compress=False)
    assert "an archive larger than" in refused(big_tar, tmp_path / "out", limits).en


def test_a_fifo_for_an_archive_is_refused_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "s.zip")
    assert refused(tmp_path / "s.zip", tmp_path / "out").en == "s.zip: not a .zip or .tar.gz"


def test_korean_comes_back_from_the_child_intact(tmp_path: Path) -> None:
    archive = a_zip(tmp_path / "s.zip", {"../x.yaml": POD})
    assert refused(archive, tmp_path / "out").ko == "../x.yaml: '..'이 든 경로입니다"


def test_an_archive_that_takes_too_long_is_refused_in_one_line(tmp_path: Path) -> None:
    archive = a_zip(tmp_path / "s.zip", {"ok.yaml": POD})
    said = refused(archive, tmp_path / "out", Limits(seconds=0.001))  # the child cannot even start
    assert (said.en, said.ko) == (
        "s.zip: took longer than 0.001 s to extract",
        "s.zip: 푸는 데 0.001초보다 오래 걸렸습니다",
    )


def test_an_archive_that_needs_too_much_memory_is_refused_in_one_line(tmp_path: Path) -> None:
    """A zip's central directory is read whole: 1.2 MB here, in a child allowed less
    memory than Python itself needs (a real limit is 1 GiB)."""
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for i in range(20):
            info = zipfile.ZipInfo(f"f{i}.yaml")
            info.comment = b"c" * 60_000
            out.writestr(info, POD)
    said = refused(archive, tmp_path / "out", Limits(memory_bytes=8 * 1024 * 1024))
    assert (said.en, said.ko) == (
        "s.zip: needed more than 8 MiB to extract",
        "s.zip: 푸는 데 메모리가 8 MiB보다 많이 필요했습니다",
    )


def test_what_the_child_answers_is_raised_as_it_was(tmp_path: Path) -> None:
    archive, limits = tmp_path / "s.zip", Limits()
    with pytest.raises(EnvironmentProblem, match="disk full") as environment:
        submissions._answered(archive, limits, 0, b'{"environment": ["disk full", "\\ub514"]}\n', b"")
    assert environment.value.ko == "디"
    with pytest.raises(SubmissionRefused, match="took longer than 60 s"):
        submissions._answered(archive, limits, -signal.SIGXCPU, b"", b"")
    with pytest.raises(SubmissionRefused, match="needed more than 1024 MiB"):
        submissions._answered(archive, limits, 1, b"", b"Traceback ...\nMemoryError\n")
    with pytest.raises(KubelabError) as bug:  # kubelab's bug, never the student's zero
        submissions._answered(archive, limits, 1, b"", b"Traceback ...\nValueError: odd\n")
    assert not isinstance(bug.value, InputError) and "ValueError: odd" in bug.value.en
    submissions._answered(archive, limits, 0, b'{"done": true}\n', b"")


def test_a_ctrl_c_kills_the_child_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[bytes]] = []

    def interrupted(self: subprocess.Popen[bytes], *args: object, **kwargs: object) -> None:
        started.append(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(subprocess.Popen, "communicate", interrupted)
    archive = a_zip(tmp_path / "s.zip", {"ok.yaml": POD})
    with pytest.raises(KeyboardInterrupt):
        submissions.extract(archive, tmp_path / "out")
    assert started and started[0].returncode == -signal.SIGKILL
    assert not (tmp_path / "out").exists()


def test_the_child_loads_no_kubernetes_client() -> None:
    loaded = subprocess.run(
        [sys.executable, "-P", "-c", "import sys, kubelab.submissions; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "'kubernetes" not in loaded and "'jsonschema" not in loaded and "'tarfile'" not in loaded


def test_no_child_is_the_graders_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(EnvironmentProblem, match=r"cannot start the process that extracts s\.zip"):
        submissions.extract(a_zip(tmp_path / "s.zip", {"ok.yaml": POD}), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_students_in_threads_extract_at_once(tmp_path: Path) -> None:
    """The grader takes students in threads: each archive has a child of its own."""
    from concurrent.futures import ThreadPoolExecutor

    archives_ = [a_zip(tmp_path / f"{i}.zip", {f"s{i}.yaml": POD}) for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        done = list(pool.map(lambda i: submissions.extract(archives_[i], tmp_path / f"out{i}"), range(6)))
    assert [(d / f"s{i}.yaml").read_bytes() for i, d in enumerate(done)] == [POD] * 6
