"""A student's submission, taken in without trusting it: a folder, or a .zip or .tar.gz
that kubelab extracts itself (groundwork of course grading, issue 11).

Nothing in a submission may reach outside the folder it is extracted to, and nothing
in it is followed: an absolute path, a `..`, a link (symbolic or hard), a device or a
FIFO is refused, as is more than `Limits` allows in files, bytes per file, bytes in all
(counted as the bytes are written, so a compression bomb stops at the limit however
small it claims to be) and folder depth. The folder must not be inside the repository.
Every refusal is a SubmissionRefused: one line, the student's feedback.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from kubelab import repo
from kubelab.errors import EnvironmentProblem, InputError
from kubelab.manifests import MAX_FILE_BYTES

CHUNK = 64 * 1024


class SubmissionRefused(InputError):
    """The submission breaks a rule (see the module); its line is the student's feedback."""


@dataclass(frozen=True)
class Limits:
    files: int = 200
    file_bytes: int = MAX_FILE_BYTES
    total_bytes: int = 10 * 1024 * 1024
    depth: int = 8


def _refuse(en: str, ko: str) -> SubmissionRefused:
    return SubmissionRefused(en, ko)


def _member_path(name: str, limits: Limits) -> PurePosixPath:
    """The relative path an archive member may be extracted to, or a refusal."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (path.parts and ":" in path.parts[0]):
        raise _refuse(f"{name}: an absolute path", f"{name}: 절대 경로입니다")
    if ".." in path.parts:
        raise _refuse(f"{name}: a path with '..' (outside the submission)", f"{name}: '..'이 든 경로입니다")
    if len(path.parts) > limits.depth:
        raise _refuse(
            f"{name}: deeper than {limits.depth} folders", f"{name}: 폴더가 {limits.depth}단계보다 깊습니다"
        )
    return path


class _Budget:
    """Files and bytes written so far, against the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.files = 0
        self.total = 0

    def file(self, name: str, declared: int) -> None:
        self.files += 1
        if self.files > self.limits.files:
            raise _refuse(
                f"more than {self.limits.files} files", f"파일이 {self.limits.files}개보다 많습니다"
            )
        self._size(name, declared)

    def _size(self, name: str, size: int) -> None:
        if size > self.limits.file_bytes:
            raise _refuse(
                f"{name}: larger than {self.limits.file_bytes // 1024} KiB",
                f"{name}: {self.limits.file_bytes // 1024} KiB보다 큽니다",
            )

    def copy(self, name: str, source: IO[bytes], target: Path) -> None:
        """Write source to target, counting every byte (whatever the archive claimed)."""
        written = 0
        with open(target, "xb") as out:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                self.total += len(chunk)
                self._size(name, written)
                if self.total > self.limits.total_bytes:
                    raise _refuse(
                        f"more than {self.limits.total_bytes // 1024 // 1024} MiB in all",
                        f"모두 합쳐 {self.limits.total_bytes // 1024 // 1024} MiB보다 큽니다",
                    )
                out.write(chunk)


def _outside_repository(folder: Path) -> Path:
    where = folder.resolve()
    if where == repo.root().resolve() or repo.root().resolve() in where.parents:
        raise InputError(
            f"{folder}: submissions are never extracted inside the repository",
            f"{folder}: 제출물은 저장소 안에 풀지 않습니다",
        )
    return where


def extract(archive: Path, into: Path, limits: Limits = Limits()) -> Path:
    """Extract a .zip or .tar.gz submission into the new folder `into` (outside the
    repository); on a refusal, nothing of it is left there."""
    target = _outside_repository(into)
    target.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, target, limits)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, target, limits)
        else:
            raise _refuse(
                f"{archive.name}: not a .zip or .tar.gz", f"{archive.name}: .zip이나 .tar.gz가 아닙니다"
            )
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, zlib.error, RuntimeError) as e:
        shutil.rmtree(target, ignore_errors=True)
        if isinstance(e, OSError) and e.errno in GRADERS_ERRNOS:  # the grader's disk, not the archive
            raise EnvironmentProblem(
                f"cannot extract {archive.name} here: {e.strerror}",
                f"{archive.name}을(를) 풀 수 없습니다: {e.strerror}",
            ) from None
        why = _broken(e)
        raise _refuse(
            f"{archive.name}: a broken archive ({why})", f"{archive.name}: 깨진 압축 파일입니다 ({why})"
        ) from None
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


GRADERS_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EMFILE, errno.ENFILE, errno.EACCES}
)
"""Errors of the machine that extracts (a full disk, a read-only folder), never the student's."""


def _broken(error: BaseException) -> str:
    """Why an archive could not be read, for people: no exception names, no paths of the
    machine that extracted it."""
    if isinstance(error, (FileExistsError, IsADirectoryError, NotADirectoryError)):
        return "a file and a folder of the same name"
    said = getattr(error, "strerror", None) or str(error) or "unreadable"
    return " ".join(str(said).split())[:200]


class _Seen:
    """The paths an archive has given so far: a second member of the same path (a zip
    may list one name twice) is a refusal, never a silent overwrite."""

    def __init__(self) -> None:
        self.files: set[PurePosixPath] = set()

    def add(self, name: str, path: PurePosixPath) -> None:
        if path in self.files:
            raise _refuse(f"{name}: in the archive twice", f"{name}: 압축 파일 안에 두 번 있습니다")
        self.files.add(path)


def take_in(submission: Path, into: Path, limits: Limits = Limits()) -> Path:
    """A student's submission (a folder, a .zip or a .tar.gz) copied or extracted into the
    new folder `into`, which the grader then reads: the student's own files are never
    changed, and a file that changes while being read is read once."""
    if not submission.is_dir() or submission.is_symlink():
        return extract(submission, into, limits)
    target = _outside_repository(into)
    target.mkdir(parents=True)
    budget = _Budget(limits)
    try:
        for path in files_of(submission, limits):
            relative = path.relative_to(submission)
            budget.file(str(relative), path.lstat().st_size)
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            with os.fdopen(fd, "rb") as source:
                budget.copy(str(relative), source, target / relative)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


def _extract_zip(archive: Path, target: Path, limits: Limits) -> None:
    budget = _Budget(limits)
    seen = _Seen()
    with zipfile.ZipFile(archive) as opened:
        for info in opened.infolist():
            path = _member_path(info.filename, limits)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _refuse(f"{info.filename}: a link", f"{info.filename}: 링크입니다")
            if info.is_dir():
                (target / path).mkdir(parents=True, exist_ok=True)
                continue
            seen.add(info.filename, path)
            budget.file(info.filename, info.file_size)
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            with opened.open(info) as source:
                budget.copy(info.filename, source, target / path)


def _extract_tar(archive: Path, target: Path, limits: Limits) -> None:
    budget = _Budget(limits)
    seen = _Seen()
    with tarfile.open(archive, "r:*") as opened:
        for member in opened:
            path = _member_path(member.name, limits)
            if member.isdir():
                (target / path).mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                kind = "a link" if member.issym() or member.islnk() else "not a plain file (a device or FIFO)"
                raise _refuse(f"{member.name}: {kind}", f"{member.name}: 일반 파일이 아닙니다 (링크나 장치)")
            seen.add(member.name, path)
            budget.file(member.name, member.size)
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            source = opened.extractfile(member)
            if source is None:
                raise _refuse(f"{member.name}: unreadable", f"{member.name}: 읽을 수 없습니다")
            with source:
                budget.copy(member.name, source, target / path)


def files_of(folder: Path, limits: Limits = Limits()) -> list[Path]:
    """The regular files of a submission folder, sorted, without following anything: a
    link, a device or a FIFO anywhere in it is a refusal, as is more than the limits."""
    budget = _Budget(limits)
    found: list[Path] = []
    for path in _walk(folder, limits, 0):
        info = path.lstat()
        budget.file(str(path.relative_to(folder)), info.st_size)
        found.append(path)
    return sorted(found)


def _walk(folder: Path, limits: Limits, depth: int) -> Iterator[Path]:
    if depth > limits.depth:
        raise _refuse(f"{folder}: deeper than {limits.depth} folders", f"{folder}: 폴더가 너무 깊습니다")
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            mode = entry.stat(follow_symlinks=False).st_mode
            path = Path(entry.path)
            if stat.S_ISLNK(mode):
                raise _refuse(f"{path}: a link", f"{path}: 링크입니다")
            if stat.S_ISDIR(mode):
                yield from _walk(path, limits, depth + 1)
            elif stat.S_ISREG(mode):
                yield path
            else:
                raise _refuse(f"{path}: not a plain file (a device or FIFO)", f"{path}: 일반 파일이 아닙니다")
