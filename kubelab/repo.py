"""Where kubelab's own content lives: labs, checkers, images, manifests, pinned versions.

kubelab runs from a checkout of this repository (the labs are files in it), so every
path is found relative to the repository root, or to KUBELAB_ROOT when set.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from pathlib import Path


def root() -> Path:
    """The repository root (the folder that holds labs/)."""
    env = os.environ.get("KUBELAB_ROOT")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parent.parent


def labs_dir() -> Path:
    return root() / "labs"


def checkers_dir() -> Path:
    return root() / "checkers"


def images_dir() -> Path:
    return root() / "images"


def manifests_dir() -> Path:
    return root() / "manifests"


def state_dir() -> Path:
    """Files kubelab writes for itself (results, logs); never a learner's folder."""
    path = Path(os.environ.get("KUBELAB_STATE", root() / ".kubelab"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@cache
def versions() -> dict[str, str]:
    """The pins in ci/versions.env (KEY=VALUE lines; # comments)."""
    pins: dict[str, str] = {}
    for raw in (root() / "ci" / "versions.env").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pins[key.strip()] = value.strip()
    return pins


def write_state(path: Path, text: str) -> None:
    """Write one of kubelab's state files whole or not at all (a run that reads it at
    the same time, or a write cut short, never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
