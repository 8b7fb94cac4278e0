"""docker and kind, bounded; the pinned kind got and checked when none is installed."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelab import repo, tools
from kubelab.errors import EnvironmentProblem

KIND = repo.versions()["KIND_VERSION"]
BINARY = f"#!/bin/sh\necho kind {KIND}\n".encode()


class Serve(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(BINARY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def release() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/kind-linux-amd64"
    httpd.shutdown()
    httpd.server_close()


def test_a_download_that_matches_its_pin_is_kept(release: str, tmp_path: Path) -> None:
    kept = tmp_path / f"kind-{KIND}"
    tools._download_verified(release, hashlib.sha256(BINARY).hexdigest(), kept)
    assert kept.read_bytes() == BINARY and os.access(kept, os.X_OK)


def test_a_download_that_does_not_match_is_not_used(release: str, tmp_path: Path) -> None:
    kept = tmp_path / f"kind-{KIND}"
    with pytest.raises(EnvironmentProblem, match="does not match its pinned SHA-256"):
        tools._download_verified(release, "0" * 64, kept)
    assert list(tmp_path.iterdir()) == []  # nothing half-written stays


def test_no_kind_no_go_no_pin_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("KUBELAB_STATE", str(tmp_path / "state"))
    monkeypatch.setattr(tools, "platform_name", lambda: "plan9-mips")
    with pytest.raises(EnvironmentProblem, match=rf"kind is not installed: install kind {KIND}"):
        tools.kind_binary(None)


def test_the_pinned_linux_amd64_kind_has_a_checksum() -> None:
    assert len(repo.versions()["KIND_SHA256_LINUX_AMD64"]) == 64


@pytest.mark.parametrize(
    ("system", "machine", "name"),
    [
        ("Linux", "x86_64", "linux-amd64"),
        ("Darwin", "arm64", "darwin-arm64"),
        ("Linux", "aarch64", "linux-arm64"),
    ],
)
def test_platform_names_follow_kinds_release_files(
    monkeypatch: pytest.MonkeyPatch, system: str, machine: str, name: str
) -> None:
    monkeypatch.setattr(tools.platform, "system", lambda: system)
    monkeypatch.setattr(tools.platform, "machine", lambda: machine)
    assert tools.platform_name() == name


def test_a_program_that_hangs_is_stopped(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match=r"did not finish within 0\.5 s"):
        tools.run(["sleep", "30"], 0.5, "sleep")
