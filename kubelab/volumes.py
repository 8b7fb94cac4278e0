"""A pod's volumes as a checker reads them: which volume is mounted where in which
container (and which one containers share), what kind of volume it is, how to tell the
learner in a few words, and why the kubelet will not mount a hostPath; when a container
started and what files it wrote since (for checks that look at files)."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubelab.checks import LabContext, assert_that, field
from kubelab.kube import ExecResult
from kubelab.manifests import Obj
from kubelab.text import Text

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
    read_only: bool = False

    def where(self) -> str:
        return f"{self.container}:{self.path}"


def mounts_of(pod: Obj) -> list[Mount]:
    """The learner's volume mounts, container by container."""
    found = [
        Mount(
            str(c.get("name")),
            str(m.get("name")),
            str(m.get("mountPath")),
            str(m.get("subPath") or ""),
            bool(m.get("readOnly")),
        )
        for c in field(pod, "spec.containers") or []
        for m in c.get("volumeMounts") or []
    ]
    return [m for m in found if not injected(m.volume)]


def mount_at(pod: Obj, container: str, path: str) -> Mount | None:
    """The container's mount at `path` (written with or without a trailing slash)."""
    return next((m for m in mounts_of(pod) if m.container == container and m.path.rstrip("/") == path), None)


def volumes_of(pod: Obj) -> dict[str, Obj]:
    """The learner's volumes by name."""
    return {
        str(v.get("name")): v for v in field(pod, "spec.volumes") or [] if not injected(str(v.get("name")))
    }


def volume_type(volume: Obj | None) -> str:
    """emptyDir, hostPath, configMap, persistentVolumeClaim, … (the volume's source key)."""
    kinds = [k for k in (volume or {}) if k != "name"]
    return kinds[0] if kinds else "?"


def shared_mounts(pod: Obj) -> list[Mount]:
    """The mounts of the volume mounted in the most containers (at least two), the first
    one in each container; [] when no volume is shared."""
    mounts = mounts_of(pod)
    best: list[Mount] = []
    for name in volumes_of(pod):
        first_per_container: dict[str, Mount] = {}
        for mount in mounts:
            if mount.volume == name:
                first_per_container.setdefault(mount.container, mount)
        if len(first_per_container) >= 2 and len(first_per_container) > len(best):
            best = list(first_per_container.values())
    return best


def in_container(mount: Mount, volume_rel: str) -> str | None:
    """Where a path relative to the volume is inside this mount's container; None when
    the mount's subPath leaves it out."""
    if mount.sub_path:
        prefix = mount.sub_path.strip("/") + "/"
        if not volume_rel.startswith(prefix):
            return None
        volume_rel = volume_rel[len(prefix) :]
    return posixpath.join(mount.path, volume_rel)


def in_volume(mount: Mount, container_rel: str) -> str:
    """A path relative to the mount point, as a path relative to the volume."""
    return posixpath.join(mount.sub_path.strip("/"), container_rel) if mount.sub_path else container_rel


def hostpath_mounts(pod: Obj, directory: str) -> list[Mount]:
    """The mounts of a hostPath volume of the node's `directory` (however its path is
    written: /data/x/ and /data//x are /data/x)."""
    volumes = volumes_of(pod)
    return [
        m
        for m in mounts_of(pod)
        if posixpath.normpath(str(field(volumes.get(m.volume), "hostPath.path") or "/-")) == directory
    ]


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


HOSTPATH_TYPE_CHECK = "hostPath type check"
"""Words of the kubelet's FailedMount when a hostPath's `type` does not fit the node's path."""


def hostpath_type_refused(events: Sequence[str]) -> Text | None:
    """Why the kubelet will not mount a hostPath, from a pod's Warning events ("Reason:
    message"): its type check failed (type: Directory of a missing directory, …). The
    kubelet keeps retrying, but only someone making the directory can mend it."""
    refused = [e for e in events if e.startswith("FailedMount") and HOSTPATH_TYPE_CHECK in e]
    if not refused:
        return None
    return Text(
        f"{refused[-1][:200]}: 노드에 그 디렉터리가 없어 kubelet이 hostPath를 마운트하지 않습니다 "
        "(type: Directory는 만들지 않습니다; DirectoryOrCreate는 만듭니다)",
        f"{refused[-1][:200]}: the node has no such directory, so the kubelet will not mount the "
        "hostPath (type: Directory does not make it; DirectoryOrCreate does)",
    )


def hostpath_refused(lab: LabContext, pod: Obj) -> tuple[Text, bool] | None:
    """A diagnosis for kubelab.checks.ready_pod: a hostPath the kubelet refuses to mount
    is final (hostpath_type_refused); otherwise None (the pod's latest warning is said)."""
    why = hostpath_type_refused(lab.kube.warning_events(pod))
    return (why, True) if why is not None else None


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
