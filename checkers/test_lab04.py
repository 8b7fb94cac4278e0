"""Lab 04 — emptyDir vs hostPath. Titles, points and hints: labs/04-volumes/lab.yaml.

The checks look at files, not at spelling: the checker writes marker files through one
container's mount and reads them through another's, appends a marker line to the file the
writer writes and looks for it in the reader's log, compares the file node-store wrote
with the same file seen from the node, and deletes and recreates the pods to see which
markers live on. Verification runs several answers one after another against the same
node directory /data/lab-04, so every marker is unique, nothing relies on the directory
being empty, and markers are removed afterwards (kubelab.volumefiles).
"""

from __future__ import annotations

import posixpath

from kubelab.checks import LabContext, assert_that, fail, field, name_of, ready_pod
from kubelab.manifests import Obj
from kubelab.restarts import restart_container
from kubelab.selectors import node_constraints, node_fits, tolerates
from kubelab.settled import Unchanged, is_ready
from kubelab.text import Text
from kubelab.volumefiles import (
    append_lines,
    files_on_node,
    files_since_start,
    growing_file,
    read_marker,
    survives_new_pod,
    write_marker,
)
from kubelab.volumes import (
    FileSeen,
    Mount,
    describe_files,
    describe_volumes,
    hostpath_mounts,
    hostpath_refused,
    in_container,
    mounts_of,
    shared_mounts,
    volume_type,
    volumes_of,
)

SHARED, STORE = "shared-cache", "node-store"


def running(lab: LabContext, name: str, old_uid: str | None = None) -> Obj:
    """The pod once every container is Ready (and not the pod with old_uid); a hostPath
    the kubelet refuses to mount fails at once."""
    return ready_pod(lab, name, old_uid, hostpath_refused)


def node_root(lab: LabContext) -> str:
    """The node folder the lab's host_dir is in (the sandbox's own folder, or /data)."""
    return posixpath.dirname(str(lab.param("host_dir")))


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


def test_containers_share_one_emptydir(lab: LabContext) -> None:
    pod = lab.require("Pod", SHARED)
    subject = lab.subject("Pod", SHARED)
    mounts = require_shared(lab, pod)
    volume = volumes_of(pod).get(mounts[0].volume)
    assert_that(
        volume_type(volume) == "emptyDir",
        subject,
        f"volume {mounts[0].volume} is an emptyDir",
        f"it is a {volume_type(volume)} ({describe_volumes(pod)})",
        final=True,
    )
    pod = lab.eventually(lambda: running(lab, SHARED))
    writer, others = mounts[0], mounts[1:]
    marker = write_marker(lab, pod, writer)
    for other in others:
        seen, instead = read_marker(lab, marker, through=other)
        assert_that(
            seen,
            f"{subject} container {other.container}",
            f"the file written in {writer.container} at {marker.path}, "
            f"seen at {in_container(other, marker.in_volume)}",
            instead,
            Text(
                f"{writer.container} 컨테이너와 {other.container} 컨테이너가 "
                "같은 볼륨의 다른 하위 경로(subPath)를 봅니다",
                f"{writer.container} and {other.container} see different subPaths of the volume",
            )
            if writer.sub_path != other.sub_path
            else None,
        )


def test_writer_adds_a_line_every_second(lab: LabContext) -> None:
    mounts = require_shared(lab, lab.require("Pod", SHARED))
    lab.eventually(lambda: running(lab, SHARED))
    growing_file(lab, SHARED, mounts)


def test_reader_shows_what_writer_wrote(lab: LabContext) -> None:
    pod = lab.require("Pod", SHARED)
    mounts = require_shared(lab, pod)
    lab.eventually(lambda: running(lab, SHARED))
    target = growing_file(lab, SHARED, mounts)
    # Each container appends its own marker line to the writer's file; a reader shows in its
    # log a marker that another container appended (the writer's own output would not).
    markers = append_lines(lab, SHARED, mounts, target.rel)
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


def require_store_mount(lab: LabContext, pod: Obj) -> Mount:
    """The mount of the node's host_dir (a hostPath volume), or a final failure."""
    mounts = hostpath_mounts(pod, lab.param("host_dir"))
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
        now, files, fresh = files_since_start(lab, pod, mount)
        assert_that(
            bool(fresh),
            subject,
            f"a file that container {mount.container} wrote in {mount.path} since it started",
            f"{mount.path}: {describe_files(files, now)}",
        )
        return pod, fresh

    pod, fresh = lab.eventually(written)
    node = str(field(pod, "spec.nodeName") or "")
    where, seen = files_on_node(lab.kube, node, node_dir, node_root(lab))
    if any(seen.get(f.rel) == f for f in fresh):
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
    first = (shared_mounts(pod) if prefer == "emptyDir" else hostpath_mounts(pod, node_dir))[:1]
    typed = [m for m in mounts_of(pod) if volume_type(volumes.get(m.volume)) == prefer]
    candidates = first + typed + mounts_of(pod)
    return candidates[0] if candidates else None


def marker_after_recreate(
    lab: LabContext, name: str, prefer: str, same_node: bool
) -> tuple[Mount, str, bool]:
    """Does a marker in the pod's volume live on when the pod is made again (on the same
    node for a hostPath)? Returns the mount, the volume's type and the answer."""
    pod = lab.eventually(lambda: running(lab, name))
    mount = lifetime_volume(pod, prefer, lab.param("host_dir"))
    if mount is None:
        fail(lab.subject("Pod", name), "a volume mounted in a container", describe_volumes(pod), final=True)
    kept = survives_new_pod(
        lab, pod, mount, same_node=same_node, node_root=node_root(lab), why=hostpath_refused
    )
    return mount, volume_type(volumes_of(pod).get(mount.volume)), kept


def test_emptydir_survives_container_restart(lab: LabContext) -> None:
    pod = lab.eventually(lambda: running(lab, SHARED))
    mount = require_shared(lab, pod)[-1]  # the reader, in the lab's pod
    where = f"{lab.subject('Pod', SHARED)} container {mount.container}"
    marker = write_marker(lab, pod, mount)
    restart_container(lab, pod, mount.container)
    kept, instead = read_marker(lab, marker)
    assert_that(
        kept,
        where,
        f"the marker written at {marker.path} before the container restarted, still there after",
        instead,
        Text(
            f"{mount.volume} 볼륨이 컨테이너와 함께 새로 생겼습니다: emptyDir는 파드의 것이라 "
            "컨테이너가 다시 시작해도 남습니다",
            f"volume {mount.volume} came back new with the container: an emptyDir belongs to the pod "
            "and survives a container restart",
        ),
    )


def test_emptydir_dies_with_its_pod(lab: LabContext) -> None:
    mount, kind, kept = marker_after_recreate(lab, SHARED, "emptyDir", same_node=False)
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
    mount, kind, kept = marker_after_recreate(lab, STORE, "hostPath", same_node=True)
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
