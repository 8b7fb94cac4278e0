"""Lab 04 — emptyDir vs hostPath. Titles, points and hints: labs/04-volumes/lab.yaml.

The checks look at files, not at spelling: the checker writes marker files through one
container's mount and reads them through another's, appends a marker line to the file the
writer writes and looks for it in the reader's log, compares the file node-store wrote
with the same file seen from the node, and deletes and recreates the pods to see which
markers live on. Verification runs several answers one after another against the same
node directory /data/lab-04, so every marker is unique (`.kubelab-<random>`), nothing
relies on the directory being empty, and markers are removed afterwards.
"""

from __future__ import annotations

import functools
import posixpath
import secrets
import shlex
from typing import Any

from kubelab import nodefiles
from kubelab.checks import (
    LabContext,
    assert_that,
    fail,
    field,
    is_ready,
    latest_warning,
    name_of,
    ready_pod,
    restart_count,
    sh,
)
from kubelab.errors import KubelabError
from kubelab.manifests import Obj
from kubelab.selectors import node_constraints, node_fits, tolerates
from kubelab.settled import Unchanged
from kubelab.text import Text
from kubelab.volumes import (
    FileSeen,
    Mount,
    describe_files,
    describe_volumes,
    list_files,
    mounts_of,
    started_at,
    volume_type,
    volumes_of,
)
from kubelab.waiting import wait_until

SHARED, STORE = "shared-cache", "node-store"
WEB_IMAGE = "kubelab/web:v1"
DOCKER_HUB = "docker.io/"
MARKER = ".kubelab-"
"""Name prefix of the checker's marker files (left out when looking at the learner's)."""
SLACK = 2
"""Seconds of leeway between a container's start time (whole seconds) and a file's mtime."""


# --- helpers of this lab's own ------------------------------------------------------


def shared_mounts(pod: Obj) -> list[Mount]:
    """The mounts of the volume mounted in the most containers (at least two), else []."""
    mounts = mounts_of(pod)
    best: list[Mount] = []
    for name in volumes_of(pod):
        these = [m for m in mounts if m.volume == name]
        first_per_container = list({m.container: m for m in reversed(these)}.values())[::-1]
        if len(first_per_container) >= 2 and len(first_per_container) > len(best):
            best = first_per_container
    return best


def in_container(mount: Mount, volume_rel: str) -> str | None:
    """Where a path relative to the volume is inside this mount's container (None: not visible)."""
    if mount.sub_path:
        prefix = mount.sub_path.strip("/") + "/"
        if not volume_rel.startswith(prefix):
            return None
        volume_rel = volume_rel[len(prefix) :]
    return posixpath.join(mount.path, volume_rel)


def in_volume(mount: Mount, container_rel: str) -> str:
    """A path relative to the mount point, as a path relative to the volume."""
    return posixpath.join(mount.sub_path.strip("/"), container_rel) if mount.sub_path else container_rel


def hostpath_refused(lab: LabContext, pod: Obj) -> tuple[Text | None, bool]:
    """A hostPath the kubelet will not mount (its type check failed): it keeps retrying,
    but only someone making the directory can mend it; else the latest warning event."""
    events = lab.kube.warning_events(pod)
    refused = [e for e in events if e.startswith("FailedMount") and "hostPath type check" in e]
    if not refused:
        return latest_warning(lab, pod) if events else None, False
    return (
        Text(
            f"{refused[-1][:200]}: 노드에 그 디렉터리가 없어 kubelet이 hostPath를 마운트하지 않습니다 "
            "(type: Directory는 만들지 않습니다; DirectoryOrCreate는 만듭니다)",
            f"{refused[-1][:200]}: the node has no such directory, so the kubelet will not mount the "
            "hostPath (type: Directory does not make it; DirectoryOrCreate does)",
        ),
        True,
    )


def running(lab: LabContext, name: str, old_uid: str | None = None) -> Obj:
    """The pod once every container is Ready (and not the pod with old_uid)."""
    return ready_pod(lab, name, old_uid, hostpath_refused)


def files_on_node(lab: LabContext, node: str, directory: str) -> tuple[str, dict[str, FileSeen]]:
    """The regular files under a node directory, as the node has them: read through a
    reader pod on that node (kubelab.nodefiles), on any cluster."""
    root = posixpath.dirname(lab.param("host_dir"))  # the sandbox's own folder (or /data)
    with nodefiles.reader(lab.kube, node, directory, root=root) as reader:
        listing = reader.listing()
    files = {path: FileSeen(path, entry.mtime, entry.size) for path, entry in listing.files().items()}
    return listing.where, files


def marker_name() -> str:
    return f"{MARKER}{secrets.token_hex(4)}"


def remove(lab: LabContext, pod: str, container: str, path: str) -> None:
    """Remove a marker file through a container (an undo: it raises when it cannot)."""
    done = sh(lab, pod, container, f"rm -f {shlex.quote(path)}")
    assert_that(
        done.code == 0,
        f"{lab.subject('Pod', pod)} container {container}",
        f"{path} removed",
        done.stderr.strip()[:160],
    )


# --- shared-cache -------------------------------------------------------------------


def require_shared(lab: LabContext, pod: Obj) -> list[Mount]:
    """The mounts of the volume two containers share, or a final failure."""
    mounts = shared_mounts(pod)
    containers = [str(c.get("name")) for c in field(pod, "spec.containers") or []]
    assert_that(
        bool(mounts),
        lab.subject("Pod", SHARED),
        "one volume mounted in both containers",
        describe_volumes(pod),
        Text(
            "같은 볼륨을 마운트한 컨테이너가 둘 이상 없습니다: 컨테이너마다 다른 디렉터리를 봅니다"
            if len(containers) >= 2
            else "컨테이너가 하나뿐입니다",
            "no volume is mounted in two containers: each container sees its own directory"
            if len(containers) >= 2
            else "the pod has a single container",
        ),
        final=True,
    )
    return mounts


def growing_file(lab: LabContext, mounts: list[Mount]) -> FileSeen:
    """A file in the shared volume that grows (the writer's), as a path relative to the volume."""
    subject = f"volume {mounts[0].volume} of Pod {lab.namespace}/{SHARED}"
    looks = {m.container: m for m in mounts}

    def listing() -> tuple[int, dict[str, FileSeen]]:
        merged: dict[str, FileSeen] = {}
        now = 0
        for mount in looks.values():
            now, files = list_files(
                functools.partial(sh, lab, SHARED, mount.container),
                mount.path,
                f"{subject} in container {mount.container}",
                MARKER,
            )
            for f in files:
                rel = in_volume(mount, f.rel)
                merged[rel] = FileSeen(rel, f.mtime, f.size)
        return now, merged

    _, first = lab.eventually(listing)

    def grown() -> FileSeen:
        now, files = listing()
        bigger = [f for f in files.values() if f.size > (first[f.rel].size if f.rel in first else 0)]
        assert_that(
            bool(bigger),
            subject,
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


def test_containers_share_one_emptydir(lab: LabContext) -> None:
    pod = lab.require("Pod", SHARED)
    mounts = require_shared(lab, pod)
    volume = volumes_of(pod).get(mounts[0].volume)
    assert_that(
        volume_type(volume) == "emptyDir",
        lab.subject("Pod", SHARED),
        f"volume {mounts[0].volume} is an emptyDir",
        f"it is a {volume_type(volume)} ({describe_volumes(pod)})",
        final=True,
    )
    lab.eventually(lambda: running(lab, SHARED))
    name = marker_name()
    token = secrets.token_hex(8)
    writer, others = mounts[0], mounts[1:]
    written = in_container(writer, name)
    assert written is not None
    lab.defer(
        f"remove {written} in {lab.subject('Pod', SHARED)}",
        lambda: remove(lab, SHARED, writer.container, written),
    )
    done = sh(lab, SHARED, writer.container, f"echo {token} > {shlex.quote(written)}")
    assert_that(
        done.code == 0,
        f"{lab.subject('Pod', SHARED)} container {writer.container}",
        f"a file written at {written}",
        f"exit {done.code}: {done.stderr.strip()[:160]}",
    )
    for other in others:
        path = in_container(other, in_volume(writer, name))
        read = sh(lab, SHARED, other.container, f"cat {shlex.quote(path or '/nonexistent')}")
        assert_that(
            read.stdout.strip() == token,
            f"{lab.subject('Pod', SHARED)} container {other.container}",
            f"the file written in {writer.container} at {written}, seen at {path}",
            read.stderr.strip()[:160] or f"other content: {read.stdout.strip()[:60]!r}",
            Text(
                f"{writer.container} 컨테이너와 {other.container} 컨테이너가 "
                "같은 볼륨의 다른 하위 경로(subPath)를 봅니다",
                f"{writer.container} and {other.container} see different subPaths of the volume",
            )
            if writer.sub_path != other.sub_path
            else None,
        )


def test_writer_adds_a_line_every_second(lab: LabContext) -> None:
    pod = lab.require("Pod", SHARED)
    mounts = require_shared(lab, pod)
    lab.eventually(lambda: running(lab, SHARED))
    growing_file(lab, mounts)


def test_reader_shows_what_writer_wrote(lab: LabContext) -> None:
    pod = lab.require("Pod", SHARED)
    mounts = require_shared(lab, pod)
    lab.eventually(lambda: running(lab, SHARED))
    target = growing_file(lab, mounts)
    # Each container appends its own marker line to the writer's file; a reader shows in its
    # log a marker that another container appended (the writer's own output would not).
    markers: dict[str, str] = {}
    for mount in mounts:
        path = in_container(mount, target.rel)
        if path is None:
            continue
        line = f"kubelab-check {secrets.token_hex(6)} appended through {mount.container}"
        done = sh(lab, SHARED, mount.container, f"echo {shlex.quote(line)} >> {shlex.quote(path)}")
        if done.code == 0:
            markers[mount.container] = line
    containers = [str(c.get("name")) for c in field(pod, "spec.containers") or []]
    where = ", ".join(f"{m.container}:{in_container(m, target.rel)}" for m in mounts)

    # A reader that follows the file (tail -F, as the lab says) logs each line the writer
    # adds, every second; logs that stay exactly the same for seconds while the file grows
    # follow no file of the volume, and waiting longer will not change that.
    quiet = Unchanged(seconds=5, rounds=3)

    def shown() -> None:
        last_lines, texts = {}, []
        for container in containers:
            text = lab.kube.logs(SHARED, lab.namespace, container, tail=200)
            if any(line in text for by, line in markers.items() if by != container):
                return
            texts.append(text)
            last_lines[container] = (text.strip().splitlines() or ["(empty)"])[-1][:100]
        # only logs of containers that run, Ready, without a restart in between count
        # (a log that could not be read is "" too)
        now = lab.get("Pod", SHARED)
        running = now is not None and is_ready(now)
        restarts = tuple(s.get("restartCount") for s in field(now, "status.containerStatuses") or [])
        settled = quiet.see((tuple(texts), restarts, running)) and running
        fail(
            lab.subject("Pod", SHARED),
            f"a container's log shows the line appended to the writer's file ({where})",
            "; ".join(f"{c} log ends with {line!r}" for c, line in last_lines.items()),
            Text(
                "reader가 읽는 경로가 자기 컨테이너의 마운트 경로 안에 있는지 보세요 "
                "(다른 경로의 파일은 볼륨이 아니라 컨테이너 자신의 파일입니다)",
                "check that the reader reads inside its own container's mount path "
                "(a file anywhere else is the container's own, not the volume's)",
            ),
            settled=quiet.reason(Text("컨테이너들의 로그", "the containers' logs")) if settled else None,
        )

    lab.eventually(shown)


# --- node-store ----------------------------------------------------------------------


def store_mounts(pod: Obj, node_dir: str) -> list[Mount]:
    """Mounts of a hostPath volume whose path is the lab's node directory (host_dir)."""
    volumes = volumes_of(pod)
    return [
        m
        for m in mounts_of(pod)
        if posixpath.normpath(str(field(volumes.get(m.volume), "hostPath.path") or "/-")) == node_dir
    ]


def require_store_mount(lab: LabContext, pod: Obj) -> Mount:
    mounts = store_mounts(pod, lab.param("host_dir"))
    assert_that(
        bool(mounts),
        lab.subject("Pod", STORE),
        f"a hostPath volume {lab.param('host_dir')} mounted in a container",
        describe_volumes(pod),
        final=True,
    )
    return mounts[0]


def test_node_store_running(lab: LabContext) -> None:
    lab.require("Pod", STORE)
    lab.eventually(lambda: running(lab, STORE))


def test_node_store_stays_on_its_node(lab: LabContext) -> None:
    pod = lab.eventually(lambda: running(lab, STORE))
    subject = lab.subject("Pod", STORE)
    spec = pod.get("spec") or {}
    here = str(spec.get("nodeName") or "")
    assert_that(
        node_constraints(spec),
        subject,
        "a nodeSelector or a required node affinity that keeps it on the node holding its hostPath data",
        f"none: it may run on any node (now {here})",
        Text(
            "hostPath의 파일은 한 노드에만 있습니다: "
            "파드를 다시 만들 때 다른 노드로 가면 그 파일이 보이지 않습니다",
            "a hostPath's files are on one node only: a pod made again on another node does not see them",
        ),
        final=True,
    )
    fits = sorted(name_of(n) for n in lab.kube.list("Node") if node_fits(spec, n) and tolerates(spec, n))
    assert_that(
        fits == [here],
        subject,
        f"its node rules fit exactly one node, the one it runs on ({here})",
        f"they fit {', '.join(fits) or 'no node'}",
        Text(
            "규칙에 맞는 노드가 여럿이면 다시 만든 파드가 다른 노드로 갈 수 있습니다",
            "where the rules fit several nodes, the pod made again may land on another",
        )
        if len(fits) > 1
        else None,
        final=True,
    )


def test_node_store_file_on_node(lab: LabContext) -> None:
    pod = lab.require("Pod", STORE)
    mount = require_store_mount(lab, pod)
    host_dir = lab.param("host_dir")
    node_dir = posixpath.join(host_dir, mount.sub_path) if mount.sub_path else host_dir
    subject = lab.subject("Pod", STORE)

    def written() -> tuple[Obj, list[FileSeen]]:
        pod = running(lab, STORE)
        started = started_at(pod, mount.container) or 0
        now, files = list_files(
            lambda script: sh(lab, STORE, mount.container, script),
            mount.path,
            f"{subject} {mount.where()}",
            MARKER,
        )
        fresh = [f for f in files if f.mtime >= started - SLACK]
        assert_that(
            bool(fresh),
            subject,
            f"a file that container {mount.container} wrote in {mount.path} since it started",
            f"{mount.path}: {describe_files(files, now)}",
        )
        return pod, fresh

    pod, fresh = lab.eventually(written)
    where, seen = files_on_node(lab, str(field(pod, "spec.nodeName") or ""), node_dir)
    same = [f for f in fresh if seen.get(f.rel) == f]
    if same:
        return
    found = "; ".join(
        f"{f.rel}: " + ("missing" if f.rel not in seen else f"another file ({seen[f.rel].size} bytes)")
        for f in fresh
    )
    fail(
        f"{subject} → {where}",
        f"the file it wrote ({', '.join(f.rel for f in fresh)}) in {where}",
        found,
        Text(
            f"파드 안의 {mount.path}에서 본 파일이 {where}에 없습니다: "
            f"마운트된 것이 노드의 {node_dir} 디렉터리가 아닙니다",
            f"the file the pod sees in {mount.path} is not in {where}: "
            f"the mount is not the node's {node_dir}",
        ),
    )


# --- lifetime -------------------------------------------------------------------------


def lifetime_volume(pod: Obj, prefer: str, node_dir: str) -> Mount | None:
    """The mount to test: the shared one (shared-cache) or the node_dir one (node-store);
    else any mount of a volume of the preferred type; else any mount."""
    volumes = volumes_of(pod)
    first = (shared_mounts(pod) if prefer == "emptyDir" else store_mounts(pod, node_dir))[:1]
    typed = [m for m in mounts_of(pod) if volume_type(volumes.get(m.volume)) == prefer]
    candidates = first + typed + mounts_of(pod)
    return candidates[0] if candidates else None


def marker_after_recreate(
    lab: LabContext, name: str, prefer: str, same_node: bool
) -> tuple[Mount, Obj, bool]:
    """Write a marker into the pod's volume, delete the pod, create it again from its spec:
    is the marker still there? Returns the mount, the volume and the answer."""
    pod = lab.eventually(lambda: running(lab, name))
    subject = lab.subject("Pod", name)
    mount = lifetime_volume(pod, prefer, lab.param("host_dir"))
    if mount is None:
        fail(subject, "a volume mounted in a container", describe_volumes(pod), final=True)
    volume = volumes_of(pod).get(mount.volume) or {}
    marker = posixpath.join(mount.path, marker_name())
    token = secrets.token_hex(8)
    node = str(field(pod, "spec.nodeName") or "") if same_node else None
    lab.defer(f"remove {marker} in {subject}", lambda: remove_marker(lab, pod, volume, marker, mount))
    done = sh(lab, name, mount.container, f"echo {token} > {shlex.quote(marker)}")
    assert_that(
        done.code == 0, f"{subject} {mount.where()}", f"a marker written at {marker}", done.stderr.strip()
    )
    lab.delete_pod(pod, grace_seconds=1, same_node=same_node)
    lab.put_back(pod, node)  # on the same node for a hostPath: it is that node's directory
    old_uid = str(field(pod, "metadata.uid"))
    lab.eventually(lambda: running(lab, name, old_uid))
    read = sh(lab, name, mount.container, f"cat {shlex.quote(marker)}")
    return mount, volume, read.code == 0 and read.stdout.strip() == token


def remove_marker(lab: LabContext, pod: Obj, volume: Obj, marker: str, mount: Mount) -> None:
    """Remove the marker through the pod once it is Ready again; when it cannot run
    commands, from the host folder of a hostPath. An emptyDir's marker went with the pod
    it was written in."""
    try:
        wait_until(lambda: running(lab, name_of(pod)), 45)
        if sh(lab, name_of(pod), mount.container, f"rm -f {shlex.quote(marker)}").code == 0:
            return
    except KubelabError:
        pass
    if volume_type(volume) == "hostPath":
        assert_that(clean_on_node(lab, pod, volume, marker, mount), marker, "removed", "not reachable")


def clean_on_node(lab: LabContext, pod: Obj, volume: Obj, marker: str, mount: Mount) -> bool:
    """Remove a marker left in a hostPath through a pod on its node (kubelab.nodefiles);
    False when it cannot be done."""
    path = field(volume, "hostPath.path")
    node = str(field(pod, "spec.nodeName") or "")
    if not path or not node:
        return False
    folder = posixpath.normpath(posixpath.join(str(path), mount.sub_path))
    try:
        root = posixpath.dirname(lab.param("host_dir"))
        with nodefiles.reader(lab.kube, node, folder, root=root, writable=True) as reader:
            return reader.remove(posixpath.basename(marker))
    except (KubelabError, ValueError):  # not below the lab's folder, or the node is gone
        return False


def other_name(image: str) -> str | None:
    """The same image under its other Docker Hub name (with or without docker.io/); None
    for an image of another registry. Changing a container's image is one of the few pod
    changes allowed, and the kubelet restarts just that container for it."""
    if image.startswith(DOCKER_HUB):
        return image.removeprefix(DOCKER_HUB)
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return None
    return DOCKER_HUB + image


def set_image(lab: LabContext, container: str, image: str) -> None:
    """kubectl set image pod/shared-cache CONTAINER=IMAGE (a strategic merge patch)."""
    lab.kube.patch(
        "Pod", SHARED, lab.namespace, {"spec": {"containers": [{"name": container, "image": image}]}}
    )


def restarted(lab: LabContext, container: str, uid: str, before: int) -> Obj:
    """The same pod, Ready again once the container has restarted (restartCount grew)."""
    pod = running(lab, SHARED)
    subject = lab.subject("Pod", SHARED)
    assert_that(field(pod, "metadata.uid") == uid, subject, "the same pod", "another pod", final=True)
    count = restart_count(pod, container)
    assert_that(count > before, f"{subject} container {container}", "restarted", f"restartCount {count}")
    return pod


def put_back_image(lab: LabContext, container: str, image: str, uid: str) -> None:
    """Give the container its own image name again (one more restart), and wait until it runs."""
    pod = lab.get("Pod", SHARED)
    if pod is None or field(pod, "metadata.uid") != uid:
        return
    now: dict[str, Any] = next(
        (c for c in field(pod, "spec.containers") or [] if c.get("name") == container), {}
    )
    if now.get("image") == image:
        return
    before = restart_count(pod, container)
    set_image(lab, container, image)
    wait_until(lambda: restarted(lab, container, uid, before), 45)


def test_emptydir_survives_container_restart(lab: LabContext) -> None:
    pod = lab.eventually(lambda: running(lab, SHARED))
    mount = require_shared(lab, pod)[-1]  # the reader, in the lab's pod
    subject = lab.subject("Pod", SHARED)
    where = f"{subject} container {mount.container}"
    uid = str(field(pod, "metadata.uid"))
    spec = next(c for c in field(pod, "spec.containers") or [] if c.get("name") == mount.container)
    image = str(spec.get("image") or "")
    other = other_name(image)
    if other is None:
        fail(
            where,
            f"an image name without a registry host (e.g. {WEB_IMAGE}): the checker restarts the "
            "container by giving it the same image's full docker.io/ name",
            f"image {image}",
            final=True,
        )
    marker = posixpath.join(mount.path, marker_name())
    token = secrets.token_hex(8)
    lab.defer(f"remove {marker} in {subject}", lambda: remove(lab, SHARED, mount.container, marker))
    done = sh(lab, SHARED, mount.container, f"echo {token} > {shlex.quote(marker)}")
    assert_that(done.code == 0, where, f"a marker written at {marker}", done.stderr.strip()[:160])
    before = restart_count(pod, mount.container)
    lab.defer(
        f"give {where} its image {image} again",
        lambda: put_back_image(lab, mount.container, image, uid),
    )
    set_image(lab, mount.container, other)
    lab.eventually(lambda: restarted(lab, mount.container, uid, before))
    read = sh(lab, SHARED, mount.container, f"cat {shlex.quote(marker)}")
    assert_that(
        read.code == 0 and read.stdout.strip() == token,
        where,
        f"the marker written at {marker} before the container restarted, still there after",
        read.stderr.strip()[:160] or f"other content: {read.stdout.strip()[:60]!r}",
        Text(
            f"{mount.volume} 볼륨이 컨테이너와 함께 새로 생겼습니다: emptyDir는 파드의 것이라 "
            "컨테이너가 다시 시작해도 남습니다",
            f"volume {mount.volume} came back new with the container: an emptyDir belongs to the pod "
            "and survives a container restart",
        ),
    )


def test_emptydir_dies_with_its_pod(lab: LabContext) -> None:
    mount, volume, kept = marker_after_recreate(lab, SHARED, "emptyDir", same_node=False)
    kind = volume_type(volume)
    assert_that(
        not kept,
        lab.subject("Pod", SHARED),
        f"the marker written into volume {mount.volume} is gone with the old pod",
        f"the new pod still has it (volume {mount.volume} is a {kind})",
        Text(
            f"{kind} 볼륨은 파드보다 오래 삽니다: emptyDir는 파드와 함께 새로 생깁니다",
            f"a {kind} volume outlives the pod: an emptyDir is made anew with each pod",
        ),
    )


def test_hostpath_outlives_its_pod(lab: LabContext) -> None:
    mount, volume, kept = marker_after_recreate(lab, STORE, "hostPath", same_node=True)
    kind = volume_type(volume)
    assert_that(
        kept,
        lab.subject("Pod", STORE),
        f"the marker written into volume {mount.volume} ({mount.where()}) is still there in the new pod",
        f"it is gone (volume {mount.volume} is a {kind})",
        Text(
            f"{kind} 볼륨은 파드와 함께 사라집니다: 노드의 디렉터리(hostPath)에 쓴 것만 남습니다",
            f"a {kind} volume dies with its pod: only what is in the node's directory (hostPath) stays",
        )
        if kind != "hostPath"
        else None,
    )
