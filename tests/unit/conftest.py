"""Fixtures for unit tests: a throw-away copy of the repo's content, and a fake cluster."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelab import repo
from tests.unit.fakes import FakeKube

REAL_ROOT = Path(__file__).resolve().parents[2]


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
