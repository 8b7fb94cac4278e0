"""Files in a pod's volumes, as a check finds out what a volume shares and how long it
lives: the files a volume holds seen through every container that mounts it (and which
one keeps growing), the files of a hostPath as its node has them, and marker files of
the check's own — written through one container, read back through another, after the
container restarted or after the pod was made again.

Several answers may be checked one after another against the same node directory, so
nothing here relies on a volume being empty: a marker's name is unique
(`.kubelab-<random>`), listings leave markers out, and every marker is removed when the
check ends (through the pod, or from the node folder of a hostPath the pod cannot reach).
"""

from __future__ import annotations

import functools
import posixpath
import secrets
import shlex
from dataclasses import dataclass

from kubelab import nodefiles
from kubelab.checks import Diagnosis, LabContext, assert_that, field, name_of, ready_pod, sh
from kubelab.errors import KubelabError
from kubelab.kube import Kube
from kubelab.manifests import Obj
from kubelab.text import Text
from kubelab.volumes import (
    FileSeen,
    Mount,
    describe_files,
    hostpath_refused,
    in_container,
    in_volume,
    list_files,
    started_at,
    volume_type,
    volumes_of,
)
from kubelab.waiting import wait_until

PREFIX = ".kubelab-"
"""Name prefix of the checker's marker files (left out when looking at the learner's)."""
SLACK = 2
"""Seconds of leeway between a container's start time (whole seconds) and a file's mtime."""
REMOVE_WAIT = 45.0
"""Seconds a marker's removal waits for its pod to be Ready again."""


def marker_name() -> str:
    """A marker file's name no other check (or earlier answer) has used."""
    return f"{PREFIX}{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Marker:
    """A file of the check's own, written through one mount of a pod's volume."""

    pod: str
    mount: Mount
    """The mount it was written through."""
    name: str
    token: str
    """What the file holds (random: a file of the same name that an earlier run left is not it)."""

    @property
    def path(self) -> str:
        """Where it is in the container it was written through."""
        return posixpath.join(self.mount.path, self.name)

    @property
    def in_volume(self) -> str:
        """Where it is, relative to the volume."""
        return in_volume(self.mount, self.name)


def write_marker(lab: LabContext, pod: Obj, mount: Mount, node_root: str = "") -> Marker:
    """Write a new marker through `mount` of the (running) pod, or fail. It is removed
    when the check ends (remove_marker; `node_root`: the node folder a hostPath's marker
    may be removed below when the pod cannot do it)."""
    marker = Marker(name_of(pod), mount, marker_name(), secrets.token_hex(8))
    volume = volumes_of(pod).get(mount.volume) or {}
    lab.defer(
        f"remove {marker.path} in {lab.subject('Pod', marker.pod)}",
        lambda: remove_marker(lab, marker, pod, volume, node_root),
    )
    done = sh(lab, marker.pod, mount.container, f"echo {marker.token} > {shlex.quote(marker.path)}")
    assert_that(
        done.code == 0,
        f"{lab.subject('Pod', marker.pod)} container {mount.container}",
        f"a marker written at {marker.path}",
        f"exit {done.code}: {done.stderr.strip()[:160]}",
    )
    return marker


def read_marker(lab: LabContext, marker: Marker, through: Mount | None = None) -> tuple[bool, str]:
    """Is the marker there, read through `through` (another mount of its volume; by
    default the one it was written through)? And what was found instead."""
    mount = through or marker.mount
    path = in_container(mount, marker.in_volume)
    if path is None:
        return False, f"{mount.where()} mounts subPath {mount.sub_path}, which leaves out {marker.in_volume}"
    read = sh(lab, marker.pod, mount.container, f"cat {shlex.quote(path)}")
    if read.code == 0 and read.stdout.strip() == marker.token:
        return True, ""
    return False, read.stderr.strip()[:160] or f"other content: {read.stdout.strip()[:60]!r}"


def survives_new_pod(
    lab: LabContext,
    pod: Obj,
    mount: Mount,
    *,
    same_node: bool,
    node_root: str = "",
    why: Diagnosis | None = None,
) -> bool:
    """Write a marker through `mount` of the (running) pod, delete the pod, create it again
    from its spec (on the same node with same_node: a hostPath is that node's directory)
    and wait until it is Ready: is the marker there in the new pod? `why`: what the new
    pod's failure to come up says (kubelab.checks.ready_pod)."""
    marker = write_marker(lab, pod, mount, node_root)
    lab.delete_pod(pod, grace_seconds=1, same_node=same_node)
    lab.put_back(pod, str(field(pod, "spec.nodeName") or "") if same_node else None)
    old_uid = str(field(pod, "metadata.uid"))
    lab.eventually(lambda: ready_pod(lab, marker.pod, old_uid, why))
    return read_marker(lab, marker)[0]


def append_lines(lab: LabContext, pod: str, mounts: list[Mount], volume_rel: str) -> dict[str, str]:
    """Append a marker line of its own to a file of the volume through each mount that
    sees it: container → the line it appended (one that could not append is left out)."""
    appended: dict[str, str] = {}
    for mount in mounts:
        path = in_container(mount, volume_rel)
        if path is None:
            continue
        line = f"kubelab-check {secrets.token_hex(6)} appended through {mount.container}"
        done = sh(lab, pod, mount.container, f"echo {shlex.quote(line)} >> {shlex.quote(path)}")
        if done.code == 0:
            appended[mount.container] = line
    return appended


def remove_marker(lab: LabContext, marker: Marker, pod: Obj, volume: Obj, node_root: str) -> None:
    """Remove the marker through its pod once it is Ready (again); when the pod cannot run
    commands, from the node folder of a hostPath. An emptyDir's marker went with the pod
    it was written in."""
    try:
        wait_until(lambda: ready_pod(lab, marker.pod, why=hostpath_refused), REMOVE_WAIT)
        if sh(lab, marker.pod, marker.mount.container, f"rm -f {shlex.quote(marker.path)}").code == 0:
            return
    except KubelabError:
        pass
    if volume_type(volume) == "hostPath":
        folder = posixpath.join(str(field(volume, "hostPath.path") or ""), marker.mount.sub_path)
        node = str(field(pod, "spec.nodeName") or "")
        removed = remove_on_node(lab.kube, node, folder, marker.name, node_root)
        assert_that(removed, marker.path, "removed", "not reachable")


def remove_on_node(kube: Kube, node: str, folder: str, name: str, root: str) -> bool:
    """Remove the file `name` of a node's `folder` through a pod on that node
    (kubelab.nodefiles, mounting `root`); False when it cannot be done."""
    if not node or not folder.startswith("/"):
        return False
    try:
        with nodefiles.reader(kube, node, posixpath.normpath(folder), root=root, writable=True) as reader:
            return reader.remove(name)
    except (KubelabError, ValueError):  # not below the root, or the node is gone
        return False


def files_on_node(kube: Kube, node: str, directory: str, root: str) -> tuple[str, dict[str, FileSeen]]:
    """The regular files under a node's `directory`, as the node has them, and where that
    is: read through a reader pod on that node (kubelab.nodefiles, mounting `root`)."""
    with nodefiles.reader(kube, node, directory, root=root) as reader:
        listing = reader.listing()
    files = {path: FileSeen(path, entry.mtime, entry.size) for path, entry in listing.files().items()}
    return listing.where, files


def files_since_start(lab: LabContext, pod: Obj, mount: Mount) -> tuple[int, list[FileSeen], list[FileSeen]]:
    """The container's clock, the files under the mount (markers left out), and those
    written since the container (last) started."""
    started = started_at(pod, mount.container) or 0
    now, files = list_files(
        functools.partial(sh, lab, name_of(pod), mount.container),
        mount.path,
        f"{lab.subject('Pod', name_of(pod))} {mount.where()}",
        PREFIX,
    )
    return now, files, [f for f in files if f.mtime >= started - SLACK]


def volume_files(lab: LabContext, pod: str, mounts: list[Mount]) -> tuple[int, dict[str, FileSeen]]:
    """The files of a volume, listed through each container that mounts it (a subPath
    mount sees part of it), by path relative to the volume; markers left out; with the
    containers' clock."""
    subject = f"volume {mounts[0].volume} of {lab.subject('Pod', pod)}"
    merged: dict[str, FileSeen] = {}
    now = 0
    for mount in {m.container: m for m in mounts}.values():
        now, files = list_files(
            functools.partial(sh, lab, pod, mount.container),
            mount.path,
            f"{subject} in container {mount.container}",
            PREFIX,
        )
        for f in files:
            rel = in_volume(mount, f.rel)
            merged[rel] = FileSeen(rel, f.mtime, f.size)
    return now, merged


def growing_file(lab: LabContext, pod: str, mounts: list[Mount]) -> FileSeen:
    """A file of the volume that grows between two looks (a writer's log), as a path
    relative to the volume; waited for until the check's timeout."""
    _, first = lab.eventually(lambda: volume_files(lab, pod, mounts))

    def grown() -> FileSeen:
        now, files = volume_files(lab, pod, mounts)
        bigger = [f for f in files.values() if f.size > (first[f.rel].size if f.rel in first else 0)]
        assert_that(
            bool(bigger),
            f"volume {mounts[0].volume} of {lab.subject('Pod', pod)}",
            "a file that keeps growing (a new line every second)",
            f"{describe_files(list(files.values()), now)}; none grew",
            Text(
                "writer가 쓰는 경로가 볼륨의 mountPath 안에 있는지 보세요 "
                f"(마운트: {', '.join(m.where() for m in mounts)})",
                "check that the writer writes inside the volume's mountPath "
                f"(mounts: {', '.join(m.where() for m in mounts)})",
            ),
        )
        return bigger[0]

    return lab.eventually(grown)
