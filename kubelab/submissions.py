"""A student's submission, taken in without trusting it: a folder, or a .zip or .tar.gz
that kubelab extracts itself (groundwork of course grading, issue 11).

Nothing in a submission may reach outside the folder it is extracted to, and nothing
in it is followed: an absolute path, a `..`, a link (symbolic or hard), a device or a
FIFO is refused, as is more than `Limits` allows in files, bytes per file, bytes in all
(counted as the bytes are written, so a compression bomb stops at the limit however
small it claims to be) and folder depth. The folder must not be inside the repository.
Every refusal is a SubmissionRefused: one line, the student's feedback.

An archive is read by a process of its own (`python -m kubelab.submissions`), under a
wall-clock limit and a memory limit (`Limits.seconds`, `Limits.memory_bytes`): whatever
a reader of archives may still do wrong, it cannot hold up or exhaust the grader; a child
that runs out of either is killed, and its archive refused in one line. A tar archive is
read by kubelab.archives (bounded, not Python's tarfile); an archive file larger than
its contents may be (`Limits.archive_bytes`) is refused before it is read. A folder is
copied in the grader's own process: its sizes are known before a byte is read.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import json
import math
import os
import shutil
import signal
import stat
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from kubelab import archives, repo
from kubelab.archives import ArchiveError, Kind, NotATar, Readable
from kubelab.errors import EnvironmentProblem, InputError, KubelabError
from kubelab.manifests import MAX_FILE_BYTES

CHUNK = 64 * 1024
MIB = 1024 * 1024


class SubmissionRefused(InputError):
    """The submission breaks a rule (see the module); its line is the student's feedback."""


@dataclass(frozen=True)
class Limits:
    files: int = 200
    file_bytes: int = MAX_FILE_BYTES
    total_bytes: int = 10 * MIB
    depth: int = 8
    seconds: float = 60.0
    """Wall-clock seconds an archive may take to extract (its process's start included)."""
    memory_bytes: int = 1024 * MIB
    """Address space the process that extracts an archive may use."""

    @property
    def archive_bytes(self) -> int:
        """The largest archive file read: one larger than the files it may hold makes no sense."""
        return self.total_bytes + MIB

    @property
    def stream_bytes(self) -> int:
        """Bytes a tar archive may hold once decompressed, its headers and padding included."""
        return 2 * self.total_bytes + MIB


def _refuse(en: str, ko: str) -> SubmissionRefused:
    return SubmissionRefused(en, ko)


def _member_path(name: str, limits: Limits) -> PurePosixPath:
    """The relative path an archive member may be extracted to, or a refusal."""
    if "\x00" in name:
        shown = name.replace("\x00", "\\0")
        raise _refuse(f"{shown}: a name with a NUL character", f"{shown}: 이름에 NUL 문자가 있습니다")
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

    def copy(self, name: str, source: Readable, target: Path) -> None:
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
    repository), in a process of its own within the limits' time and memory; on a
    refusal, nothing of it is left there."""
    target = _outside_repository(into)
    target.mkdir(parents=True)
    try:
        _extract_in_child(archive, target, limits)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


def _extract_in_child(archive: Path, target: Path, limits: Limits) -> None:
    """Run `_extract_here` in a child process; its answer (done, a refusal, a problem of
    the grader's machine) comes back here as it was raised there. A child still running
    when this returns or raises (out of time, a Ctrl-C) is killed."""
    with _started(archive, target, limits) as child:
        try:
            out, err = child.communicate(timeout=limits.seconds)
        except subprocess.TimeoutExpired:
            raise _too_slow(archive, limits) from None
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    _answered(archive, limits, child.returncode, out, err)


def _started(archive: Path, target: Path, limits: Limits) -> subprocess.Popen[bytes]:
    """The child process, started (in a session of its own: a Ctrl-C at the terminal is
    the grader's to handle); the grader's problem when it cannot be."""
    request = json.dumps({"archive": str(archive.absolute()), "into": str(target), "limits": asdict(limits)})
    try:
        return subprocess.Popen(
            [sys.executable, "-P", "-m", "kubelab.submissions", request],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_child_environment(),
            start_new_session=True,
        )
    except OSError as e:
        raise EnvironmentProblem(
            f"cannot start the process that extracts {archive.name}: {e.strerror}",
            f"{archive.name} 파일을 풀 프로세스를 시작할 수 없습니다: {e.strerror}",
        ) from None


def _child_environment() -> dict[str, str]:
    """The grader's environment, with this very kubelab first on the child's path."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


def _answered(archive: Path, limits: Limits, code: int, out: bytes, err: bytes) -> None:
    """Raise what the child answered (its last line of output, JSON); nothing when it
    extracted the archive."""
    answer = _answer(out)
    if code == 0 and answer.get("done") is True:
        return
    if "refused" in answer:
        raise SubmissionRefused(*_said(answer["refused"]))
    if "environment" in answer:
        raise EnvironmentProblem(*_said(answer["environment"]))
    if "memory" in answer or any(sign in err for sign in _OUT_OF_MEMORY_SIGNS):
        raise _too_big(archive, limits)
    if code == -signal.SIGXCPU:
        raise _too_slow(archive, limits)
    tail = (err.decode("utf-8", "replace").strip() or "no output").splitlines()[-1][:200]
    raise KubelabError(
        f"extracting {archive.name} failed (exit {code}): {tail}",
        f"{archive.name} 파일을 푸는 프로세스가 실패했습니다 (exit {code}): {tail}",
    )


def _answer(out: bytes) -> dict[str, Any]:
    lines = out.decode("utf-8", "replace").strip().splitlines()
    try:
        found = json.loads(lines[-1]) if lines else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _said(pair: object) -> tuple[str, str]:
    if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
        return pair[0], pair[1]
    return "unreadable", "unreadable"


def _too_slow(archive: Path, limits: Limits) -> SubmissionRefused:
    return _refuse(
        f"{archive.name}: took longer than {limits.seconds:g} s to extract",
        f"{archive.name}: 푸는 데 {limits.seconds:g}초보다 오래 걸렸습니다",
    )


def _too_big(archive: Path, limits: Limits) -> SubmissionRefused:
    mib = limits.memory_bytes // MIB
    return _refuse(
        f"{archive.name}: needed more than {mib} MiB to extract",
        f"{archive.name}: 푸는 데 메모리가 {mib} MiB보다 많이 필요했습니다",
    )


_OUT_OF_MEMORY = b'{"memory": true}\n'
"""The child's answer when it ran out of memory, made before it did."""
_OUT_OF_MEMORY_SIGNS = (b"MemoryError", b"Cannot allocate memory", b"failed to map segment")
"""What a child that ran out of memory before it could answer may have left on stderr."""


def _child(argv: list[str]) -> int:
    """The child process: extract one archive within the limits, then answer in one line
    of JSON on stdout: done, refused [en, ko], environment [en, ko] or memory."""
    request = json.loads(argv[0])
    limits = Limits(**request["limits"])
    _confine(limits)
    try:
        _extract_here(Path(request["archive"]), Path(request["into"]), limits)
        answer: dict[str, object] = {"done": True}
    except SubmissionRefused as e:
        answer = {"refused": [e.en, e.ko]}
    except EnvironmentProblem as e:
        answer = {"environment": [e.en, e.ko]}
    except MemoryError:
        os.write(1, _OUT_OF_MEMORY)
        return 1
    except Exception:  # what no rule above foresaw (a zip whose UTF-8 name is not UTF-8): the archive's
        name = Path(request["archive"]).name
        answer = {
            "refused": [
                f"{name}: a broken archive (unreadable)",
                f"{name}: 깨진 압축 파일입니다 (읽을 수 없음)",
            ]
        }
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


def _confine(limits: Limits) -> None:
    """Limit this process's memory (address space) and CPU time (a second past the
    wall-clock limit, so a child whose grader died still ends)."""
    import resource

    cpu = math.ceil(limits.seconds) + 1
    for which, soft, hard in (
        (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
    ):
        _, most = resource.getrlimit(which)
        if most != resource.RLIM_INFINITY:
            soft, hard = min(soft, most), min(hard, most)
        with contextlib.suppress(ValueError, OSError):  # a system without it (macOS's RLIMIT_AS)
            resource.setrlimit(which, (soft, hard))  # … still has the clock


def _extract_here(archive: Path, target: Path, limits: Limits) -> None:
    """Extract the archive into the existing folder `target`, in this process: a refusal
    (SubmissionRefused) or the grader's problem (EnvironmentProblem), whatever broke."""
    try:
        with _opened(archive, limits) as raw:
            _extract_opened(archive, raw, target, limits)
    except NotATar:
        raise _not_an_archive(archive) from None
    except ArchiveError as e:
        raise _refuse(f"{archive.name}: {e.en}", f"{archive.name}: {e.ko}") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError) as e:
        if isinstance(e, OSError) and e.errno in GRADERS_ERRNOS:  # the grader's disk, not the archive
            raise EnvironmentProblem(
                f"cannot extract {archive.name} here: {e.strerror}",
                f"{archive.name} 파일을 풀 수 없습니다: {e.strerror}",
            ) from None
        why = _broken(e)
        raise _refuse(
            f"{archive.name}: a broken archive ({why})", f"{archive.name}: 깨진 압축 파일입니다 ({why})"
        ) from None


def _opened(archive: Path, limits: Limits) -> IO[bytes]:
    """The archive file, open for reading: a regular file (never a FIFO that would block),
    no larger than `limits.archive_bytes`, refused before a byte of it is read."""
    fd = os.open(archive, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_an_archive(archive)
        if info.st_size > limits.archive_bytes:
            most, holds = limits.archive_bytes // MIB, limits.total_bytes // MIB
            raise _refuse(
                f"{archive.name}: an archive larger than {most} MiB (its files may hold {holds} MiB in all)",
                f"{archive.name}: {most} MiB보다 큰 압축 파일입니다 (파일은 모두 합쳐 {holds} MiB까지입니다)",
            )
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _not_an_archive(archive: Path) -> SubmissionRefused:
    return _refuse(f"{archive.name}: not a .zip or .tar.gz", f"{archive.name}: .zip이나 .tar.gz가 아닙니다")


def _extract_opened(archive: Path, raw: IO[bytes], target: Path, limits: Limits) -> None:
    """A tar archive (gzip-, bzip2- or xz-compressed or not) or a zip, told by its first
    bytes, never by its name."""
    head = raw.read(archives.BLOCK)
    raw.seek(0)
    compressed = _decompressed(raw, head)
    if compressed is not None:
        _extract_tar(compressed, target, limits)
    elif archives.looks_like_tar(head):
        _extract_tar(raw, target, limits)
    elif zipfile.is_zipfile(raw):
        _extract_zip(raw, target, limits)
    else:
        raise _not_an_archive(archive)


def _decompressed(raw: IO[bytes], head: bytes) -> Readable | None:
    """The archive decompressed as it is read, when its magic bytes say gzip, bzip2 or xz."""
    if head.startswith(b"\x1f\x8b"):
        return _Decompressing(gzip.GzipFile(fileobj=raw, mode="rb"), (OSError, zlib.error))
    if head.startswith(b"BZh"):
        import bz2  # (already imported by shutil where Python has it)

        return _Decompressing(bz2.BZ2File(raw), (OSError,))
    if head.startswith(b"\xfd7zXZ\x00"):
        import lzma

        return _Decompressing(lzma.LZMAFile(raw), (OSError, lzma.LZMAError))
    return None


class _Decompressing:
    """A decompressing reader whose damaged or cut-short data is an ArchiveError (said in
    words), not its library's exception."""

    def __init__(self, stream: Readable, damaged: tuple[type[Exception], ...]) -> None:
        self.stream = stream
        self.damaged = damaged

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self.stream.read(size)
        except EOFError:
            raise ArchiveError(
                "a broken archive (cut short)", "깨진 압축 파일입니다 (중간에 끊겼습니다)"
            ) from None
        except self.damaged as e:
            if isinstance(e, OSError) and e.errno in GRADERS_ERRNOS:
                raise
            raise ArchiveError(
                "a broken archive (its compressed data is damaged)",
                "깨진 압축 파일입니다 (압축된 데이터가 손상되었습니다)",
            ) from None


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
        if not path.parts:
            raise _refuse(f"{name!r}: a file without a name", f"{name!r}: 이름이 없는 파일입니다")
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


def _extract_zip(raw: IO[bytes], target: Path, limits: Limits) -> None:
    budget = _Budget(limits)
    seen = _Seen()
    with zipfile.ZipFile(raw) as opened:
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


_NOT_FILES = {
    Kind.LINK: ("a link", "링크입니다"),
    Kind.DEVICE: ("not a plain file (a device or FIFO)", "일반 파일이 아닙니다 (장치나 FIFO)"),
    Kind.OTHER: ("not a plain file", "일반 파일이 아닙니다"),
}


def _extract_tar(stream: Readable, target: Path, limits: Limits) -> None:
    budget = _Budget(limits)
    seen = _Seen()
    for member, data in archives.read_tar(stream, limits.stream_bytes):
        path = _member_path(member.name, limits)
        if member.kind is Kind.DIRECTORY:
            (target / path).mkdir(parents=True, exist_ok=True)
            continue
        if member.kind is not Kind.FILE:
            en, ko = _NOT_FILES[member.kind]
            raise _refuse(f"{member.name}: {en}", f"{member.name}: {ko}")
        seen.add(member.name, path)
        budget.file(member.name, member.size)
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        budget.copy(member.name, data, target / path)


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


if __name__ == "__main__":  # the child process of `_extract_in_child`
    raise SystemExit(_child(sys.argv[1:]))
