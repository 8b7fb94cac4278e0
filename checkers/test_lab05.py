"""Lab 05 — Static and dynamic PV/PVC. Titles, points and hints: labs/05-persistent-volumes/lab.yaml.

A PersistentVolume is cluster-scoped: there is one `pv-static` (parameter pv_static) for
the whole cluster, whichever namespace's claim took it. The checks therefore never assume it is ours: they
follow this namespace's claim to its volume and read the volume's claimRef (namespace,
name, uid) back. Why a claim is Pending, and whose a volume is, are kubelab.claims.

Retain is proved on a copy, not on the learner's volume: the learner's final state is
"everything bound", so the last check copies the learner's pv-static spec into a scratch
PersistentVolume with a unique name on a node folder retain-<random> (beside host_dir, one
level under the sandbox's folder, when graded in a sandbox: there no answer can have put a
link; inside host_dir on a learner's own cluster), pre-bound to a claim
in a scratch namespace, writes a marker through the claim, deletes the claim, and wants
the copy Released (not deleted, not Failed) with the marker still in the node directory.
The scratch PV, namespace and node directory are removed in a `finally`.

A learner may check several answers one after another against the same node directory
(parameter host_dir), so nothing relies on it being empty: the checker's markers are unique
(`.kubelab-<random>`) and removed afterwards, and "the pod wrote a file" means a file
written since its container started.
"""

from __future__ import annotations

import secrets

from kubelab import claims
from kubelab.checks import LabContext, assert_that, fail, field, name_of, owner_uid, ready_pod, sh
from kubelab.manifests import Obj
from kubelab.scratch import finished, one_shot_pod, wait_gone
from kubelab.text import Text
from kubelab.volumefiles import files_since_start, marker_name
from kubelab.volumes import Mount, claim_mounts, describe_volumes, started_at
from kubelab.waiting import wait_until

PVC_STATIC, PVC_DYNAMIC, POD = "pvc-static", "pvc-dynamic", "storage-user"
CLAIMS = (PVC_STATIC, PVC_DYNAMIC)
STANDARD = "standard"
SIZE = "1Gi"
WRITE_WITHIN = 20
"""Seconds after its start by which storage-user should have written its files."""


def meant(lab: LabContext) -> dict[str, str]:
    """The volume the lab means for each claim: pvc-static's is pv-static, whatever the
    claim's class (so a Pending pvc-static is told why pv-static does not fit)."""
    return {PVC_STATIC: lab.param("pv_static")}


# --- the pod and its mounts --------------------------------------------------------------


def require_mounts(lab: LabContext, pod: Obj) -> dict[str, Mount]:
    """Both claims mounted in the pod, or a final failure naming what it mounts."""
    mounts = claim_mounts(pod)
    missing = [c for c in CLAIMS if c not in mounts]
    if missing:
        fail(
            lab.subject("Pod", POD),
            f"volumes that use {PVC_STATIC} and {PVC_DYNAMIC}, each mounted in a container",
            describe_volumes(pod),
            Text(
                f"{', '.join(missing)} 클레임을 쓰는 볼륨이 없거나 컨테이너에 마운트되지 않았습니다: "
                "spec.volumes에 persistentVolumeClaim.claimName으로 넣고 volumeMounts로 마운트하세요",
                f"no volume uses {', '.join(missing)}, or it is not mounted: add it to spec.volumes with "
                "persistentVolumeClaim.claimName and mount it with volumeMounts",
            ),
            final=True,
        )
    return mounts


def running_pod(lab: LabContext, old_uid: str | None = None) -> Obj:
    """storage-user once it is Ready (and not the pod with old_uid); while it is not, why
    (the scheduler's message and its claims that are not bound)."""
    return ready_pod(lab, POD, old_uid, lambda lab, pod: claims.unscheduled(lab, pod, meant(lab)))


# --- the checks --------------------------------------------------------------------------


def require_pv_static(lab: LabContext) -> Obj:
    """pv-static, when it is free or this namespace's; else a failure saying whose it is."""
    pv_static = lab.param("pv_static")
    pv = lab.require("PersistentVolume", pv_static)  # else a failure listing the cluster's PVs
    ns, claim, _ = claims.claim_ref(pv)
    assert_that(
        not claim or ns == lab.namespace,
        lab.subject("PersistentVolume", pv_static),
        f"free, or held for a claim in namespace {lab.namespace}",
        f"held for claim {ns}/{claim}",
        Text(
            "PV는 클러스터 범위라 어느 네임스페이스의 클레임이든 가져갈 수 있습니다: "
            "다른 네임스페이스의 클레임이 이 PV를 가져갔습니다",
            "a PV is cluster-scoped, so a claim in any namespace can take it: "
            "one in another namespace took this one",
        ),
        final=True,
    )
    return pv


def test_pvc_static_bound_to_pv_static(lab: LabContext) -> None:
    pv_static = lab.param("pv_static")
    subject = lab.subject("PersistentVolumeClaim", PVC_STATIC)
    expected = f"Bound to {pv_static}"

    def bound() -> None:
        pvc = lab.get("PersistentVolumeClaim", PVC_STATIC)
        pv = lab.kube.get("PersistentVolume", pv_static)
        if pvc is None:
            why = claims.released_for(pv, lab.namespace, PVC_STATIC)
            fail(subject, f"exists and is {expected}", "not found", why, final=True, missing=True)
        phase, volume = field(pvc, "status.phase") or "Pending", field(pvc, "spec.volumeName")
        if phase == "Bound":
            ours = (lab.namespace, PVC_STATIC, field(pvc, "metadata.uid"))
            if volume == pv_static and claims.claim_ref(pv) == ours:
                return
            other = claims.volume_of(lab, pvc)
            why = claims.provisioned_instead(pvc, other, pv_static, lab.param("storage_class"))
            fail(subject, expected, f"Bound to {volume} ({claims.describe_pv(other)})", why, final=True)
        if pv is None:
            fail(subject, expected, f"{phase}; PersistentVolume {pv_static} does not exist", final=True)
        misfit = claims.misfit(pv, pvc)
        found = f"{phase}, storageClassName {field(pvc, 'spec.storageClassName')!r}, asks for " + str(
            field(pvc, "spec.resources.requests.storage")
        )
        if misfit is not None:
            fail(subject, expected, found, misfit, final=True)
        fail(
            subject,
            expected,
            found,
            Text(
                f"{pv_static} PV가 이 클레임에 맞습니다: 바인딩은 보통 몇 초 안에 일어납니다",
                f"{pv_static} fits this claim: the binding usually follows within seconds",
            ),
        )

    lab.eventually(bound)


def test_pvc_dynamic_bound_by_provisioner(lab: LabContext) -> None:
    pv_static = lab.param("pv_static")
    lab.require("PersistentVolumeClaim", PVC_DYNAMIC)
    subject = lab.subject("PersistentVolumeClaim", PVC_DYNAMIC)
    expected = f"Bound to a volume a provisioner made for it (class {STANDARD})"

    def bound() -> None:
        pvc = lab.require("PersistentVolumeClaim", PVC_DYNAMIC)
        phase, volume = field(pvc, "status.phase") or "Pending", field(pvc, "spec.volumeName")
        if phase != "Bound":
            reason = claims.pending_reason(lab, pvc, meant(lab))
            found = f"{phase}, storageClassName {field(pvc, 'spec.storageClassName')!r}"
            fail(subject, expected, found, reason.text, final=reason.final)
        pv = claims.volume_of(lab, pvc)
        made = volume != pv_static and (
            claims.provisioner(pv) is not None or claims.storage_class(pv) == STANDARD
        )
        ns, claim, _ = claims.claim_ref(pv)
        assert_that(
            pv is not None and made and (ns, claim) == (lab.namespace, PVC_DYNAMIC),
            subject,
            expected,
            f"Bound to {volume} ({claims.describe_pv(pv)})",
            None
            if made
            else Text(
                f"{volume} 볼륨은 관리자가 만든 것입니다: "
                f"클레임에 이렇게 쓰세요: storageClassName: {STANDARD}",
                f"{volume} is a volume an admin made: give the claim storageClassName {STANDARD}",
            ),
            final=True,
        )

    lab.eventually(bound)


def test_storage_user_writes_to_both_claims(lab: LabContext) -> None:
    mounts = require_mounts(lab, lab.require("Pod", POD))

    def wrote() -> None:
        pod = running_pod(lab)
        for claim, mount in mounts.items():
            now, files, fresh = files_since_start(lab, pod, mount)
            age = now - (started_at(pod, mount.container) or 0)
            assert_that(
                bool(fresh),
                lab.subject("Pod", POD),
                f"a file it wrote in {mount.path} (claim {claim})",
                f"no file written since its container started {age} s ago; "
                f"files there: {', '.join(f.rel for f in files[:5]) or 'none'}",
                Text(
                    f"컨테이너의 명령이 {mount.path} 아래에 파일을 쓰게 하세요 "
                    f"(예: echo hello >> {mount.path}/hello.txt)",
                    f"have the container's command write a file under {mount.path} "
                    f"(e.g. echo hello >> {mount.path}/hello.txt)",
                ),
                final=age > WRITE_WITHIN,
            )

    lab.eventually(wrote)


def test_data_survives_pod_recreation(lab: LabContext) -> None:
    subject = lab.subject("Pod", POD)
    mounts = require_mounts(lab, lab.require("Pod", POD))
    pod = lab.eventually(lambda: running_pod(lab))
    token = secrets.token_hex(4)
    marker = marker_name()
    lab.defer(f"remove {marker} from the claims of {subject}", lambda: remove_markers(lab, mounts, marker))
    for claim, mount in mounts.items():
        done = sh(lab, POD, mount.container, 'echo "$2" > "$1/$3"', mount.path, f"{claim} {token}", marker)
        assert_that(
            done.code == 0,
            subject,
            f"the checker can write {mount.path}/{marker} (claim {claim})",
            f"exit {done.code}: {done.stderr.strip()[:160]}",
            final=True,
        )
    lab.delete_pod(pod, grace_seconds=1)
    if owner_uid(pod) is None:
        lab.put_back(pod)  # the learner's pod again, from the learner's own spec
    lab.eventually(lambda: running_pod(lab, str(field(pod, "metadata.uid"))))
    read: dict[str, str] = {}
    for claim, mount in mounts.items():
        done = sh(lab, POD, mount.container, 'cat "$1/$2"', mount.path, marker)
        read[claim] = done.stdout.strip() if done.code == 0 else f"(missing: {done.stderr.strip()[:80]})"
    lost = [c for c in mounts if read[c] != f"{c} {token}"]
    assert_that(
        not lost,
        subject,
        f"the checker's file {marker} in each claim, after the pod was deleted and recreated",
        "; ".join(f"{c} at {mounts[c].path}: {read[c]}" for c in lost),
        Text(
            "클레임의 볼륨은 파드와 따로 삽니다: 같은 클레임을 마운트한 새 파드는 같은 파일을 봐야 합니다",
            "a claim's volume lives apart from the pod: "
            "a new pod that mounts the same claim sees the same files",
        ),
    )


def remove_markers(lab: LabContext, mounts: dict[str, Mount], marker: str) -> None:
    """Remove the checker's marker from every claim, through the learner's pod once it
    is Ready (again)."""
    wait_until(lambda: running_pod(lab), 60)
    for claim, mount in mounts.items():
        done = sh(lab, POD, mount.container, 'rm -f "$1/$2"', mount.path, marker)
        assert_that(
            done.code == 0, f"claim {claim}", f"{marker} removed", done.stderr.strip()[:160] or "no pod"
        )


def test_retain_keeps_released_volume_and_data(lab: LabContext) -> None:
    pv_static = lab.param("pv_static")
    host_dir = lab.param("host_dir")
    original = require_pv_static(lab)
    subject = lab.subject("PersistentVolume", pv_static)
    assert_that(
        bool(field(original, "spec.hostPath")),
        subject,
        "a hostPath volume (the checker copies it to prove Retain)",
        claims.describe_pv(original),
        final=True,
    )
    token = secrets.token_hex(3)
    copy_name = f"{lab.lab.namespace}-retain-{token}"
    directory = f"retain-{token}"
    # graded in a sandbox, the copy's folder is one the answer cannot redirect (below
    # host_dir, a link an answer's pod put there would send the checker's writes anywhere
    # on the node); on a learner's own cluster, inside the lab's folder as before
    own_folder = lab.node_folder(directory)
    folder = own_folder or f"{host_dir}/{directory}"
    mounted, inside = (own_folder, ".") if own_folder else (host_dir, directory)
    scratch = lab.scratch_namespace("retain")
    copy_subject = f"{lab.subject('PersistentVolume', copy_name)} (a copy of {pv_static})"
    body, claim = claims.prebound_copy(original, copy_name, folder, scratch, "claim", SIZE)
    lab.create_scratch(body, "scratch")
    lab.kube.apply(claim, scratch)
    written = False
    node = ""

    def leave_no_directory() -> None:  # the copy's directory is on the node until read back
        if written:
            read_and_remove(lab, scratch, mounted, inside, node or writer_node(lab, scratch))

    lab.defer(f"remove node directory {folder}", leave_no_directory)

    def claim_bound() -> None:
        found = field(lab.kube.get("PersistentVolumeClaim", "claim", scratch), "status.phase")
        assert_that(
            found == "Bound",
            f"PersistentVolumeClaim {scratch}/claim",
            f"Bound to {copy_name}",
            str(found),
        )

    wait_until(claim_bound, 60)
    lab.kube.apply(writer_pod(token), scratch)
    written = True
    writer = finished(lab.kube, scratch, "writer")
    node = str(field(writer, "spec.nodeName") or "")
    lab.kube.delete("Pod", "writer", scratch, grace_seconds=1)
    wait_gone(lab.kube, "Pod", "writer", scratch)
    lab.kube.delete("PersistentVolumeClaim", "claim", scratch)
    wait_gone(lab.kube, "PersistentVolumeClaim", "claim", scratch)

    def released() -> None:
        pv = lab.kube.get("PersistentVolume", copy_name)
        policy = (
            field(pv, "spec.persistentVolumeReclaimPolicy")
            if pv
            else field(original, "spec.persistentVolumeReclaimPolicy")
        )
        phase = field(pv, "status.phase") if pv else "deleted"
        why = claims.reclaimed(str(policy))
        assert_that(
            phase not in ("deleted", "Failed", "Available"),
            copy_subject,
            "Released after its claim was deleted",
            str(phase),
            why,
            final=True,
        )
        assert_that(phase == "Released", copy_subject, "Released after its claim was deleted", str(phase))
        assert_that(
            policy == "Retain",
            copy_subject,
            "reclaim policy Retain (kept, Released)",
            f"reclaim policy {policy}",
            why,
            final=True,
        )

    wait_until(released, 60)
    succeeded, text = read_and_remove(lab, scratch, mounted, inside, node)
    written = False
    assert_that(
        succeeded and text.strip() == token,
        f"node directory {folder}",
        f"still holds the file written through the deleted claim ({token})",
        text.strip()[:160] or "nothing",
        Text(
            "Retain은 볼륨 오브젝트뿐 아니라 데이터도 남깁니다",
            "Retain keeps the data, not only the volume object",
        ),
    )


def writer_node(lab: LabContext, namespace: str) -> str:
    return str(field(lab.kube.get("Pod", "writer", namespace), "spec.nodeName") or "")


def read_and_remove(
    lab: LabContext, namespace: str, mounted: str, inside: str, node: str
) -> tuple[bool, str]:
    """Run the reader pod: (whether it found the marker, what it printed); the scratch
    directory is gone from the node afterwards (or, when it is the mounted folder itself,
    emptied: the sandbox's node folder goes with the sandbox)."""
    lab.kube.apply(reader_pod(mounted, inside, node), namespace)
    reader = finished(lab.kube, namespace, "reader", need_success=False)
    return field(reader, "status.phase") == "Succeeded", lab.kube.logs("reader", namespace)


def writer_pod(token: str) -> Obj:
    """A pod that writes the token through the scratch claim and exits."""
    return one_shot_pod(
        "writer",
        'echo "$TOKEN" > /volume/marker',
        env={"TOKEN": token},
        volumes=[{"name": "volume", "persistentVolumeClaim": {"claimName": "claim"}}],
        mounts={"volume": "/volume"},
    )


def reader_pod(mounted: str, inside: str, node: str) -> Obj:
    """A pod on the same node that prints the marker from the node directory `inside` the
    folder `mounted` (`.`: that folder itself), then removes what it read (whatever it
    found)."""
    remove = 'if [ "$DIR" = . ]; then rm -rf /node/marker; else rm -rf "/node/$DIR"; fi'
    return one_shot_pod(
        "reader",
        f'cat "/node/$DIR/marker"; rc=$?; {remove}; exit $rc',
        env={"DIR": inside},
        volumes=[{"name": "node", "hostPath": {"path": mounted, "type": "DirectoryOrCreate"}}],
        mounts={"node": "/node"},
        node=node,
    )


def test_pv_static_in_zone(lab: LabContext) -> None:
    pv = require_pv_static(lab)
    zone = lab.param("zone")
    subject = lab.subject("PersistentVolume", name_of(pv))
    assert_that(
        bool(field(pv, "spec.nodeAffinity.required.nodeSelectorTerms")),
        subject,
        f"a node affinity to zone {zone} (the storage is in that zone; only its nodes can reach it)",
        "none: it says any node may use it",
        Text(
            "노트의 EBS 디스크처럼 저장소는 한 영역(ap-northeast-2a)의 노드에만 붙습니다: "
            "PV의 nodeAffinity가 그것을 스케줄러에 알려 줍니다",
            "like the notes' EBS disk, storage attaches only to the nodes of one zone "
            "(ap-northeast-2a): a PV's nodeAffinity tells the scheduler",
        ),
        final=True,
    )
    fits = claims.nodes_for(pv, lab.kube.list("Node"))
    zones = sorted({claims.zone_of(n) for n in fits})
    assert_that(
        bool(fits) and zones == [zone],
        subject,
        f"its node affinity fits the nodes of zone {zone} only",
        f"it fits {', '.join(name_of(n) for n in fits) or 'no node'} (zones {', '.join(zones) or 'none'})",
        final=True,
    )
    node = claims.node_of_user(lab, PVC_STATIC)
    assert_that(
        node in {name_of(n) for n in fits},
        f"the pod using {PVC_STATIC}",
        f"on a node of zone {zone}",
        f"on {node}",
    )


def test_dynamic_volume_made_on_the_pods_node(lab: LabContext) -> None:
    pvc = lab.require("PersistentVolumeClaim", PVC_DYNAMIC)
    node = claims.node_of_user(lab, PVC_DYNAMIC)

    def made() -> None:
        claim = lab.kube.get("PersistentVolumeClaim", PVC_DYNAMIC, lab.namespace) or pvc
        volume = str(field(claim, "spec.volumeName") or "")
        pv = claims.volume_of(lab, claim)
        assert_that(
            pv is not None,
            lab.subject("PersistentVolumeClaim", PVC_DYNAMIC),
            "bound to a volume made for it",
            str(field(claim, "status.phase") or "not bound"),
        )
        assert pv is not None
        fits = [name_of(n) for n in claims.nodes_for(pv, lab.kube.list("Node"))]
        assert_that(
            node in fits and bool(field(pv, "spec.nodeAffinity.required.nodeSelectorTerms")),
            lab.subject("PersistentVolume", volume),
            f"made where the pod that uses it landed ({node}): a node affinity that fits it",
            f"fits {', '.join(fits) or 'no node'}",
        )

    lab.eventually(made)
