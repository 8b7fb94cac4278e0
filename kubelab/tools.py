"""The programs kubelab runs — docker and kind — each with a time limit, and the pinned
kind binary when none is installed.

Every run has a timeout and ends as one EnvironmentProblem line when the program is
missing, fails or hangs. kind is taken from KUBELAB_KIND or PATH; else kubelab gets the
pinned version itself, into its state folder: built with `go install` when Go is here
(the Go checksum database vouches for the source), else downloaded for this machine's
OS and CPU, if ci/versions.env pins a SHA-256 for that file, and checked against it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from kubelab import repo
from kubelab.errors import EnvironmentProblem

DOCKER_TIMEOUT = 60.0
"""Seconds a quick docker command (info, inspect, start) may take."""
KIND_TIMEOUT = 300.0
"""Seconds a kind command may take (loading an image into the node is the slowest)."""
GO_INSTALL_TIMEOUT = 900.0
DOWNLOAD_TIMEOUT = 600.0
MAX_DOWNLOAD = 200 * 1024 * 1024


def _last_line(text: str | None, fallback: str) -> str:
    lines = (text or "").strip().splitlines()
    return lines[-1][:300] if lines else fallback


def run(
    command: list[str], timeout: float, what: str, *, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a program to the end, within `timeout` seconds; a missing program or a
    timeout is an EnvironmentProblem (a failing exit code is the caller's to judge)."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError as e:
        raise EnvironmentProblem(
            f"{what}: {command[0]} not found", f"{what}: {command[0]} 명령이 없습니다"
        ) from e
    except subprocess.TimeoutExpired as e:
        raise EnvironmentProblem(
            f"{what} did not finish within {timeout:g} s",
            f"{what}: {timeout:g}초 안에 끝나지 않았습니다",
        ) from e


def docker(*args: str, timeout: float = DOCKER_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`docker ARGS…`, bounded; the caller judges the exit code."""
    found = shutil.which("docker")
    if found is None:
        raise EnvironmentProblem(
            "docker is not installed (install Docker, then run this again)",
            "docker가 설치되어 있지 않습니다 (Docker를 설치한 뒤 다시 실행하세요)",
        )
    return run([found, *args], timeout, f"docker {args[0]}")


def image_present(image: str) -> bool:
    """Is this image in the local Docker engine (so nothing needs pulling)?"""
    return docker("image", "inspect", "--format", "{{.Id}}", image).returncode == 0


def run_kind(kind: Path, *args: str, timeout: float = KIND_TIMEOUT) -> str:
    """`kind ARGS…`, bounded; its output, or an EnvironmentProblem with kind's last line."""
    done = run([str(kind), *args], timeout, f"kind {args[0]}")
    if done.returncode != 0:
        last = _last_line(done.stderr or done.stdout, f"exit {done.returncode}")
        raise EnvironmentProblem(
            f"kind {' '.join(args[:2])} failed: {last}", f"kind {' '.join(args[:2])} 실패: {last}"
        )
    return done.stdout


def platform_name() -> str:
    """This machine as kind's release files name it: linux-amd64, darwin-arm64, …"""
    system = platform.system().lower()
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    return f"{system}-{machine}"


def kind_binary(explicit: str | None) -> Path:
    """The kind to run: KUBELAB_KIND or PATH's; else the pinned one, got once."""
    if explicit:
        return Path(explicit)
    pins = repo.versions()
    version = pins["KIND_VERSION"]
    kept = repo.state_dir() / "bin" / f"kind-{version}"
    if kept.is_file() and os.access(kept, os.X_OK):
        return kept
    kept.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("go"):
        _go_install_kind(version, kept)
        return kept
    sha256 = pins.get(f"KIND_SHA256_{platform_name().replace('-', '_').upper()}")
    if not sha256:
        raise EnvironmentProblem(
            f"kind is not installed: install kind {version} (https://kind.sigs.k8s.io), "
            "or Go (kubelab then builds it), or set KUBELAB_KIND",
            f"kind가 설치되어 있지 않습니다: kind {version} 버전을 설치하거나 "
            "(https://kind.sigs.k8s.io), Go를 설치하거나 (kubelab이 빌드합니다), KUBELAB_KIND를 설정하세요",
        )
    url = f"https://github.com/kubernetes-sigs/kind/releases/download/{version}/kind-{platform_name()}"
    _download_verified(url, sha256, kept)
    return kept


def _go_install_kind(version: str, kept: Path) -> None:
    with tempfile.TemporaryDirectory(dir=kept.parent) as work:
        env = {**os.environ, "GOBIN": work, "CGO_ENABLED": "0"}
        done = run(
            ["go", "install", f"sigs.k8s.io/kind@{version}"], GO_INSTALL_TIMEOUT, "go install kind", env=env
        )
        built = Path(work) / "kind"
        if done.returncode != 0 or not built.is_file():
            last = _last_line(done.stderr, f"exit {done.returncode}")
            raise EnvironmentProblem(
                f"kind is not installed and building kind {version} with Go failed: {last}",
                f"kind가 없고 Go로 kind {version} 버전을 빌드하지 못했습니다: {last}",
            )
        built.replace(kept)


def _download_verified(url: str, sha256: str, kept: Path) -> None:
    """Download to a temporary file, check size and SHA-256, then put it in place."""
    digest = hashlib.sha256()
    size = 0
    started = time.monotonic()
    with tempfile.NamedTemporaryFile(dir=kept.parent, delete=False) as out:
        partial = Path(out.name)
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                while chunk := response.read(1 << 16):
                    size += len(chunk)
                    if size > MAX_DOWNLOAD or time.monotonic() - started > DOWNLOAD_TIMEOUT:
                        raise OSError("too big or too slow")
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as e:
            partial.unlink(missing_ok=True)
            raise EnvironmentProblem(
                f"kind is not installed and downloading {url} failed ({e}); install kind yourself",
                f"kind가 없고 {url} 내려받기에 실패했습니다 ({e}); kind를 직접 설치하세요",
            ) from e
    if digest.hexdigest() != sha256:
        partial.unlink(missing_ok=True)
        raise EnvironmentProblem(
            f"the downloaded kind ({url}) does not match its pinned SHA-256; not used",
            f"내려받은 kind ({url})가 고정된 SHA-256과 다릅니다; 쓰지 않습니다",
        )
    partial.chmod(0o755)
    partial.replace(kept)
