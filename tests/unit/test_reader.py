"""kubelab.reader: which kubeconfigs kubelab reads itself, and where kinds live (no cluster)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from kubelab import reader

PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def kubeconfig(tmp_path: Path, user: dict[str, object], cluster: dict[str, object] | None = None) -> Path:
    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "kind-kubelab",
        "contexts": [
            {"name": "kind-kubelab", "context": {"cluster": "c", "user": "u"}},
            {"name": "other", "context": {"cluster": "c", "user": "plugin"}},
        ],
        "clusters": [
            {
                "name": "c",
                "cluster": cluster
                or {
                    "server": "https://127.0.0.1:6443/",
                    "certificate-authority-data": base64.b64encode(PEM).decode(),
                },
            }
        ],
        "users": [
            {"name": "u", "user": user},
            {"name": "plugin", "user": {"exec": {"command": "gke-gcloud-auth-plugin"}}},
        ],
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_client_certificate_kubeconfig_is_read(tmp_path: Path) -> None:
    cert = {
        "client-certificate-data": base64.b64encode(b"CERT").decode(),
        "client-key-data": base64.b64encode(b"KEY").decode(),
    }
    found = reader.access(kubeconfig(tmp_path, cert), None)
    assert found == reader.Access("https://127.0.0.1:6443", PEM, False, b"CERT", b"KEY", None)


def test_a_token_file_is_read_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret\n")
    found = reader.access(kubeconfig(tmp_path, {"tokenFile": "token"}), "kind-kubelab")
    assert found is not None and found.token == "s3cret"


@pytest.mark.parametrize(
    ("context", "cluster"),
    [
        ("other", None),  # an exec plugin
        ("kind-kubelab", {"server": "https://x", "proxy-url": "http://proxy"}),
        ("no-such-context", None),
    ],
)
def test_anything_else_is_left_to_the_official_client(
    tmp_path: Path, context: str, cluster: dict[str, object] | None
) -> None:
    assert reader.access(kubeconfig(tmp_path, {"token": "t"}, cluster), context) is None


def test_several_kubeconfig_files_or_none_are_left_to_the_official_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    assert reader.access(None, None) is None
    assert reader.access(tmp_path / "missing", None) is None
    (tmp_path / "broken").write_text("{{{")
    assert reader.access(tmp_path / "broken", None) is None


def test_paths_of_built_in_kinds() -> None:
    access = reader.Access("https://h", None, True, None, None, "t")
    context = reader.tls(access)
    assert context is not None
    read = reader.Reader(access, context)
    assert read.path("Pod", "web", "lab-01") == "/api/v1/namespaces/lab-01/pods/web"
    assert read.path("ReplicaSet", None, "lab-01") == "/apis/apps/v1/namespaces/lab-01/replicasets"
    assert read.path("PersistentVolume", "pv-static") == "/api/v1/persistentvolumes/pv-static"
    assert read.path("Pod", None, None) == "/api/v1/pods"  # every namespace
    assert read.path("Pod", "web", None) is None  # which namespace? the official client decides
    assert read.path("CronJob", "x", "ns") is None  # not known here


def test_what_python_cannot_load_is_left_to_the_official_client() -> None:
    broken_ca = reader.Access("https://h", b"not a certificate", False, None, None, None)
    encrypted = reader.Access(
        "https://h", None, True, b"CERT", b"-----BEGIN ENCRYPTED PRIVATE KEY-----", None
    )
    mismatched = reader.Access("https://h", None, True, b"CERT", b"KEY", None)
    assert reader.tls(broken_ca) is None
    assert reader.tls(encrypted) is None
    assert reader.tls(mismatched) is None
