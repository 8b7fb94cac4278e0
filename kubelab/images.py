"""The labs' images: built from the repo's own Dockerfiles, loaded into kind.

`web:v1` in a lab's metadata is the image `kubelab/web:v1`, built from images/web/ with
the build argument VERSION=v1. A build is skipped when an image with the same tag and
the same content hash (a label) already exists; kind itself skips loading an image the
node already has.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from kubelab import cluster, repo, tools
from kubelab.errors import EnvironmentProblem, LabContentError

BUILD_TIMEOUT = 1200.0
"""Seconds one image build may take (apt-get inside it is the slow part)."""
PREFIX = "kubelab/"
HASH_LABEL = "dev.kubelab.content-hash"


def full_name(short: str) -> str:
    """`web:v1` → `kubelab/web:v1`."""
    return PREFIX + short


def context_dir(short: str) -> Path:
    folder = repo.images_dir() / short.split(":")[0]
    if not (folder / "Dockerfile").is_file():
        raise LabContentError(f"image {short}: no Dockerfile in {folder}")
    return folder


def content_hash(short: str) -> str:
    """A hash of the build context's files and the tag (what decides a rebuild)."""
    digest = hashlib.sha256(short.encode())
    folder = context_dir(short)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def built_hash(name: str) -> str | None:
    done = tools.docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{HASH_LABEL}"}}}}', name)
    return done.stdout.strip() if done.returncode == 0 else None


def build(short: str) -> bool:
    """Build one image unless it is already built from the same content; True if built."""
    name, wanted = full_name(short), content_hash(short)
    if built_hash(name) == wanted:
        return False
    version = short.split(":", 1)[1]
    done = tools.docker(
        "build",
        "--tag",
        name,
        "--build-arg",
        f"VERSION={version}",
        "--label",
        f"{HASH_LABEL}={wanted}",
        str(context_dir(short)),
        timeout=BUILD_TIMEOUT,
    )
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        raise EnvironmentProblem(
            f"docker build of {name} failed: {' | '.join(last)}",
            f"{name} 이미지 빌드 실패: {' | '.join(last)}",
        )
    return True


def load_into_kind(short: str, chosen: cluster.Settings) -> None:
    cluster.run_kind(chosen, "load", "docker-image", "--name", cluster.CLUSTER_NAME, full_name(short))


def prepare(images: Iterable[str], chosen: cluster.Settings) -> list[str]:
    """Build (if needed) and load every image into kind; returns the names built."""
    images = tuple(images)
    built = [short for short in images if build(short)]
    if chosen.provider == "kind":
        for short in images:
            load_into_kind(short, chosen)
    return built
