"""A pod's volumes as a checker reads them: which volume is mounted where in which
container, what kind of volume it is, and how to tell the learner in a few words; when a
container started and what files it wrote since (for checks that look at files)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubelab.checks import assert_that, field
from kubelab.kube import ExecResult
from kubelab.manifests import Obj

TOKEN_PREFIX = "kube-api-access-"
"""The service-account token volume Kubernetes adds to every pod (not the learner's)."""


def injected(volume_name: str) -> bool:
    """The service-account token volume Kubernetes adds to every pod (not the learner's)."""
    return volume_name.startswith(TOKEN_PREFIX)


@dataclass(frozen=True)
class Mount:
    """One volume mounted in one container."""

    container: str
    volume: str
    path: str
    sub_path: str = ""

    def where(self) -> str:
        return f"{self.container}:{self.path}"


def mounts_of(pod: Obj) -> list[Mount]:
    """The learner's volume mounts, container by container."""
    found = [
        Mount(str(c.get("name")), str(m.get("name")), str(m.get("mountPath")), str(m.get("subPath") or ""))
        for c in field(pod, "spec.containers") or []
        for m in c.get("volumeMounts") or []
    ]
    return [m for m in found if not injected(m.volume)]


def volumes_of(pod: Obj) -> dict[str, Obj]:
    """The learner's volumes by name."""
    return {
        str(v.get("name")): v for v in field(pod, "spec.volumes") or [] if not injected(str(v.get("name")))
    }


def volume_type(volume: Obj | None) -> str:
    """emptyDir, hostPath, configMap, persistentVolumeClaim, … (the volume's source key)."""
    kinds = [k for k in (volume or {}) if k != "name"]
    return kinds[0] if kinds else "?"


def claim_volumes(pod: Obj) -> dict[str, str]:
    """Volume name → claim name, for the pod's persistentVolumeClaim volumes."""
    return {
        str(v.get("name")): str(field(v, "persistentVolumeClaim.claimName"))
        for v in field(pod, "spec.volumes") or []
        if field(v, "persistentVolumeClaim.claimName")
    }


def claim_mounts(pod: Obj) -> dict[str, Mount]:
    """Claim name → where it is mounted first, container by container."""
    volumes = claim_volumes(pod)
    found: dict[str, Mount] = {}
    for mount in mounts_of(pod):
        claim = volumes.get(mount.volume)
        if claim and claim not in found:
            found[claim] = mount
    return found


def describe_volumes(pod: Obj) -> str:
    """e.g. "cache (emptyDir) in writer:/cache, reader:/cache; store (hostPath /data/x,
    type (none)) not mounted; static (claim pvc-static) in app:/static"."""
    mounts = mounts_of(pod)
    parts = []
    for name, volume in volumes_of(pod).items():
        kind = volume_type(volume)
        if kind == "hostPath":
            source = volume.get("hostPath") or {}
            kind = f"hostPath {source.get('path')}, type {source.get('type') or '(none)'}"
        elif kind == "persistentVolumeClaim":
            kind = f"claim {field(volume, 'persistentVolumeClaim.claimName')}"
        where = ", ".join(m.where() for m in mounts if m.volume == name)
        parts.append(f"{name} ({kind}) " + (f"in {where}" if where else "not mounted"))
    return "; ".join(parts) or "no volumes"


def epoch(value: Any) -> int | None:
    """A Kubernetes timestamp (a datetime, or its text) in seconds since the epoch."""
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, str) and value:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    return None


def started_at(pod: Obj, container: str) -> int | None:
    """When the container (last) started, in seconds since the epoch."""
    for status in field(pod, "status.containerStatuses") or []:
        if status.get("name") == container:
            return epoch(field(status, "state.running.startedAt"))
    return None


@dataclass(frozen=True)
class FileSeen:
    """A regular file as `stat` sees it: path relative to the volume, mtime, size."""

    rel: str
    mtime: int
    size: int


def list_files(
    run: Callable[[str], ExecResult], directory: str, subject: str, skip: str
) -> tuple[int, list[FileSeen]]:
    """The container's clock and the regular files under `directory`, listed by a shell
    script `run` runs in the container; names starting with `skip` (the checker's own
    markers) left out."""
    script = (
        f"cd {shlex.quote(directory)} && date +%s && "
        f"find . -type f ! -name '{skip}*' -exec stat -c '%Y %s %n' {{}} +"
    )
    done = run(script)
    assert_that(
        done.code == 0,
        subject,
        f"a listing of {directory}",
        f"exit {done.code}: {(done.stderr or done.stdout).strip()[:160]}",
    )
    lines = done.stdout.splitlines()
    files = []
    for line in lines[1:]:
        mtime, size, name = line.split(" ", 2)
        files.append(FileSeen(name.removeprefix("./"), int(mtime), int(size)))
    return int(lines[0]), files


def describe_files(files: list[FileSeen], now: int) -> str:
    """The newest few files, with their size and age."""
    newest = sorted(files, key=lambda f: -f.mtime)[:4]
    shown = ", ".join(f"{f.rel} ({f.size} bytes, written {now - f.mtime} s ago)" for f in newest)
    return shown or "no files"
