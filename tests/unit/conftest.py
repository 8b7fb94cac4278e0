"""Fixtures for unit tests: a throw-away copy of the repo's content, and a fake cluster."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelab import repo
from tests.unit.fakes import FakeKube

REAL_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_cluster(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach a cluster, even on a machine where one runs: the usual
    kubeconfig lookup finds a file that does not exist (a test that needs a cluster's
    answers uses a fake one; one that reaches out by mistake fails here as it would on CI)."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path_factory.getbasetemp() / "no-cluster" / "kubeconfig"))
    monkeypatch.delenv("KUBELAB_KUBECONFIG", raising=False)


@pytest.fixture
def lab_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of labs/, checkers/, images/, manifests/ and ci/versions.env as KUBELAB_ROOT."""
    root = tmp_path / "repo"
    for name in ("labs", "checkers", "images", "manifests"):
        shutil.copytree(REAL_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "ci").mkdir()
    shutil.copy(REAL_ROOT / "ci" / "versions.env", root / "ci" / "versions.env")
    monkeypatch.setenv("KUBELAB_ROOT", str(root))
    monkeypatch.setenv("KUBELAB_STATE", str(tmp_path / "state"))
    repo.versions.cache_clear()
    yield root
    repo.versions.cache_clear()


@pytest.fixture
def fake_kube() -> FakeKube:
    return FakeKube()
