"""Lab 05 — Static and dynamic PV/PVC. Titles, points and hints: labs/05-persistent-volumes/lab.yaml.

A PersistentVolume is cluster-scoped: there is one `pv-static` (parameter pv_static) for
the whole cluster, whichever namespace's claim took it. The checks therefore never assume it is ours: they
follow this namespace's claim to its volume and read the volume's claimRef (namespace,
name, uid) back.

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
written since the pod started.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity

from kubelab.checks import (
    LabContext,
    assert_that,
    deleting,
    fail,
    field,
    name_of,
    owner_uid,
    pod_states,
    ready_pod,
    sh,
    unscheduled_reason,
)
from kubelab.manifests import Obj
from kubelab.selectors import node_fits
from kubelab.text import Text
from kubelab.volumes import Mount, claim_volumes, describe_volumes, epoch, list_files, mounts_of
from kubelab.waiting import wait_until

PVC_STATIC, PVC_DYNAMIC, POD = "pvc-static", "pvc-dynamic", "storage-user"
CLAIMS = (PVC_STATIC, PVC_DYNAMIC)
STANDARD = "standard"
SIZE = "1Gi"
WEB_IMAGE = "kubelab/web:v1"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
MARKER = ".kubelab-"
ZONE = "topology.kubernetes.io/zone"
"""Name prefix of the checker's marker files (left out when looking at the learner's)."""
SLACK = 2
"""Seconds of leeway between a pod's start time (whole seconds) and a file's mtime."""
WRITE_WITHIN = 20
"""Seconds after its start by which storage-user should have written its files."""


# --- small helpers (candidates for kubelab.checks) -------------------------------------


def pv_subject(name: str) -> str:
    return f"PersistentVolume {name}"


def get_pv(lab: LabContext, name: str | None) -> Obj | None:
    """A PersistentVolume (cluster-scoped: no namespace)."""
    return lab.kube.get("PersistentVolume", name) if name else None


def quantity(value: Any) -> Decimal | None:
    try:
        return Decimal(parse_quantity(value)) if value is not None else None  # type: ignore[no-untyped-call]
    except (ValueError, TypeError, ArithmeticError):
        return None


def claim_ref(pv: Obj | None) -> tuple[str, str, str]:
    """(namespace, name, uid) of the claim a PersistentVolume is bound to or held for."""
    ref = field(pv, "spec.claimRef") or {}
    return str(ref.get("namespace") or ""), str(ref.get("name") or ""), str(ref.get("uid") or "")


def pv_class(pv: Obj | None) -> str:
    return str(field(pv, "spec.storageClassName") or "")


def describe_pv(pv: Obj | None) -> str:
    """e.g. "pv-static: Bound, class manual, 1Gi, ReadWriteOnce, Retain, claim lab-05/pvc-static"."""
    if pv is None:
        return "no such PersistentVolume"
    ns, claim, _ = claim_ref(pv)
    parts = [
        f"{name_of(pv)}: {field(pv, 'status.phase') or '?'}",
        f"class {pv_class(pv) or '(none)'}",
        str(field(pv, "spec.capacity.storage") or "no capacity"),
        ",".join(field(pv, "spec.accessModes") or []) or "no access modes",
        str(field(pv, "spec.persistentVolumeReclaimPolicy") or "?"),
        f"claim {ns}/{claim}" if claim else "no claim",
    ]
    return ", ".join(parts)


def pods_using(lab: LabContext, claim: str) -> list[Obj]:
    """The namespace's pods (not being deleted) with a volume that uses this claim."""
    return [p for p in lab.list("Pod") if not deleting(p) and claim in claim_volumes(p).values()]


def wait_gone(lab: LabContext, kind: str, name: str, namespace: str | None, timeout: float = 90) -> None:
    def gone() -> None:
        assert_that(lab.kube.get(kind, name, namespace) is None, f"{kind} {name}", "deleted", "still there")

    wait_until(gone, timeout)


# --- why a claim is not bound ------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a claim is still Pending, and whether waiting could change it."""

    text: Text
    final: bool


def misfit(pv: Obj, pvc: Obj) -> Text | None:
    """Why this PersistentVolume cannot be bound to this claim, or None when it fits."""
    name, claim = name_of(pv), name_of(pvc)
    ns, ref_name, ref_uid = claim_ref(pv)
    want_class, has_class = str(field(pvc, "spec.storageClassName") or ""), pv_class(pv)
    if want_class != has_class:
        return Text(
            f"{name} PV의 클래스는 {has_class or '(없음)'}인데 "
            f"클레임이 요청한 클래스는 {want_class or '(없음)'}입니다",
            f"{name} has class {has_class or '(none)'}, the claim asks for {want_class or '(none)'}",
        )
    mine = ns == field(pvc, "metadata.namespace") and ref_name == claim
    if ref_name and not mine:
        return Text(
            f"{name} PV는 이미 클레임 {ns}/{ref_name}의 것입니다 "
            "(PV는 클러스터 범위라 어느 네임스페이스의 클레임이든 가져갈 수 있고, "
            "한 번에 한 클레임에만 묶입니다)",
            f"{name} already belongs to claim {ns}/{ref_name} "
            "(a PV is cluster-scoped: a claim in any namespace can take it, "
            "and it is bound to one claim at a time)",
        )
    if mine and ref_uid and ref_uid != field(pvc, "metadata.uid"):
        return Text(
            f"{name} PV는 Released 상태로, 지워진 예전 클레임({ns}/{ref_name}, uid {ref_uid[:8]}…)을 "
            "아직 기억합니다. Released 볼륨은 다시 바인딩되지 않습니다: 관리자가 claimRef를 지우거나 "
            "(kubectl patch pv "
            + name
            + ' -p \'{"spec":{"claimRef":null}}\') PV를 지우고 다시 만들어야 합니다',
            f"{name} is Released: it still remembers the deleted claim {ns}/{ref_name} (uid "
            f"{ref_uid[:8]}…). A Released volume is not bound again: the admin clears its claimRef "
            f'(kubectl patch pv {name} -p \'{{"spec":{{"claimRef":null}}}}\') '
            "or deletes and re-creates the PV",
        )
    offers, asks = field(pv, "spec.capacity.storage"), field(pvc, "spec.resources.requests.storage")
    if (quantity(offers) or 0) < (quantity(asks) or 0):
        return Text(
            f"{name} PV의 용량은 {offers}인데 클레임이 요청한 크기는 {asks}입니다: "
            "PV의 용량이 요청한 크기 이상이어야 바인딩됩니다",
            f"{name} offers {offers} and the claim asks for {asks}: a smaller volume is never bound",
        )
    modes, wanted = set(field(pv, "spec.accessModes") or []), set(field(pvc, "spec.accessModes") or [])
    if not wanted <= modes:
        has, asked = ",".join(sorted(modes)), ",".join(sorted(wanted))
        return Text(
            f"{name} PV의 접근 모드는 {has}인데 클레임이 요청한 접근 모드는 {asked}입니다",
            f"{name} offers access modes {has}, the claim asks for {asked}",
        )
    volume_name = field(pvc, "spec.volumeName")
    if volume_name and volume_name != name:
        return Text(
            f"클레임의 spec.volumeName이 가리키는 볼륨은 {volume_name}입니다",
            f"the claim's spec.volumeName names {volume_name}",
        )
    if field(pv, "status.phase") == "Failed":
        return Text(f"{name} PV는 Failed 상태입니다", f"{name} is Failed")
    return None


def pending_reason(lab: LabContext, pvc: Obj, *, look_at_others: bool = True) -> Reason:
    """Why a claim is not Bound yet: a provisioner waiting for a consumer, a pod that is not
    scheduled (look_at_others: because another of its claims can never be bound), or no
    PersistentVolume that fits (each candidate's misfit)."""
    pv_static = lab.param("pv_static")
    claim = name_of(pvc)
    cls = field(pvc, "spec.storageClassName")
    volume_name = field(pvc, "spec.volumeName")
    sc = lab.kube.get("StorageClass", cls) if cls else None
    if sc is not None and sc.get("provisioner") != NO_PROVISIONER and not volume_name:
        mode = sc.get("volumeBindingMode") or "Immediate"
        users = pods_using(lab, claim)
        if not users and mode == "WaitForFirstConsumer":
            return Reason(
                Text(
                    f"스토리지클래스 {cls}의 volumeBindingMode가 WaitForFirstConsumer입니다: "
                    "이 클레임을 쓰는 파드가 노드에 배치될 때 그 노드에 볼륨을 만듭니다. "
                    "지금은 이 클레임을 쓰는 파드가 없어 Pending이 정상입니다 — "
                    "파드의 volumes에 이 클레임을 넣으세요",
                    f"StorageClass {cls} has volumeBindingMode WaitForFirstConsumer: the volume is made when "
                    "a pod that uses the claim is scheduled, on that pod's node. No pod uses this claim, so "
                    "Pending is expected — put the claim in a pod's volumes",
                ),
                True,
            )
        for pod in users:
            why = unscheduled_reason(pod)
            if why:
                blocked = [
                    other
                    for other in sorted(set(claim_volumes(pod).values()) - {claim})
                    if look_at_others
                    and (o := lab.get("PersistentVolumeClaim", other)) is not None
                    and field(o, "status.phase") != "Bound"
                    and pending_reason(lab, o, look_at_others=False).final
                ]
                return Reason(
                    Text(
                        f"이 클레임을 쓰는 {name_of(pod)} 파드가 아직 노드에 배치되지 않았습니다 ({why})"
                        + (f": 다른 클레임({', '.join(blocked)})이 바인딩될 수 없습니다" if blocked else ""),
                        f"pod {name_of(pod)}, which uses this claim, is not scheduled yet ({why})"
                        + (f": its claim {', '.join(blocked)} can never be bound" if blocked else ""),
                    ),
                    bool(blocked),
                )
        return Reason(
            Text(
                f"{sc.get('provisioner')} 프로비저너가 볼륨을 만드는 중입니다",
                f"the provisioner {sc.get('provisioner')} is making the volume",
            ),
            False,
        )
    pvs = lab.kube.list("PersistentVolume")
    candidates = [
        pv
        for pv in pvs
        if (name_of(pv) == volume_name)
        or (not volume_name and pv_class(pv) == str(cls or ""))
        or (claim == PVC_STATIC and name_of(pv) == pv_static)
    ]
    misfits = [(pv, misfit(pv, pvc)) for pv in candidates]
    if any(why is None for _, why in misfits):
        fits = ", ".join(name_of(pv) for pv, why in misfits if why is None)
        return Reason(
            Text(
                f"맞는 볼륨({fits})이 있습니다: 곧 바인딩됩니다", f"a volume fits ({fits}): binding follows"
            ),
            False,
        )
    reasons = [why for _, why in misfits if why is not None][:3]
    if cls == "":
        reasons.insert(
            0,
            Text(
                'storageClassName: ""은 "클래스 없음"이지 기본 클래스가 아닙니다: '
                "클래스 없는 PV만 바인딩되고 프로비저너는 볼륨을 만들지 않습니다. "
                "기본 클래스를 쓰려면 이 필드를 빼거나 standard라고 쓰세요",
                'storageClassName: "" means "no class", not the default class: only a PV without a class '
                "can be bound, and no provisioner makes one. Leave the field out (or write standard) for "
                "the default class",
            ),
        )
    if not reasons:
        reasons = [
            Text(
                f"클래스가 {cls or '(없음)'}인 퍼시스턴트볼륨이 없습니다",
                f"no PersistentVolume has class {cls or '(none)'}",
            )
        ]
    return Reason(Text("; ".join(r.ko for r in reasons), "; ".join(r.en for r in reasons)), True)


# --- the pod and its mounts --------------------------------------------------------------


def claim_mounts(pod: Obj) -> dict[str, Mount]:
    """Claim name → its first mount in the pod's containers."""
    volumes = claim_volumes(pod)
    found: dict[str, Mount] = {}
    for mount in mounts_of(pod):
        claim = volumes.get(mount.volume)
        if claim and claim not in found:
            found[claim] = mount
    return found


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


def unscheduled(lab: LabContext, pod: Obj) -> tuple[Text | None, bool] | None:
    """Why storage-user is not scheduled: the scheduler's message, and its claims that do
    not exist or can never be bound (then waiting cannot help); None when it is scheduled."""
    why = unscheduled_reason(pod)
    if not why:
        return None
    claims = sorted(set(claim_volumes(pod).values()))
    blocked = [
        (claim, pending_reason(lab, pvc, look_at_others=False))
        for claim in claims
        if (pvc := lab.get("PersistentVolumeClaim", claim)) is not None
        and field(pvc, "status.phase") != "Bound"
    ]
    stuck = [(claim, r) for claim, r in blocked if r.final]
    missing = [c for c in claims if lab.get("PersistentVolumeClaim", c) is None]
    shown, gone = stuck or blocked, ", ".join(missing)
    detail = Text(
        f'스케줄러: "{why}"'
        + (f"; 없는 클레임: {gone}" if missing else "")
        + "".join(f"; {c}: {r.text.ko}" for c, r in shown),
        f'scheduler: "{why}"'
        + (f"; claims that do not exist: {gone}" if missing else "")
        + "".join(f"; {c}: {r.text.en}" for c, r in shown),
    )
    return detail, bool(stuck or missing)


def running_pod(lab: LabContext, old_uid: str | None = None) -> Obj:
    """storage-user once it is Ready (and not the pod with old_uid); while it is not, why."""
    return ready_pod(lab, POD, old_uid, unscheduled)


def fresh_files(lab: LabContext, pod: Obj, claim: str, mount: Mount) -> tuple[list[str], list[str], int]:
    """(files written since the pod started, all files) under the mount, the checker's
    own markers left out, and how many seconds ago the pod started."""
    now, files = list_files(
        lambda script: lab.exec(POD, ["sh", "-c", script], mount.container),
        mount.path,
        f"{lab.subject('Pod', POD)} ({claim})",
        MARKER,
    )
    started = epoch(field(pod, "status.startTime")) or 0
    return [f.rel for f in files if f.mtime >= started - SLACK], [f.rel for f in files], now - started


# --- the checks --------------------------------------------------------------------------


def require_pv_static(lab: LabContext) -> Obj:
    """pv-static, when it is free or this namespace's; else a failure saying whose it is."""
    pv_static = lab.param("pv_static")
    pv = get_pv(lab, pv_static)
    subject = pv_subject(pv_static)
    if pv is None:
        present = ", ".join(name_of(p) for p in lab.kube.list("PersistentVolume")) or "none"
        fail(
            subject,
            "exists",
            "not found",
            Text(
                f"퍼시스턴트볼륨은 네임스페이스가 없습니다 (kubectl get pv). 클러스터의 PV: {present}",
                f"a PersistentVolume has no namespace (kubectl get pv). PVs in the cluster: {present}",
            ),
            missing=True,
        )
    ns, claim, _ = claim_ref(pv)
    assert_that(
        not claim or ns == lab.namespace,
        subject,
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
        pv = get_pv(lab, pv_static)
        ns, claim, _ = claim_ref(pv)
        if pvc is None:
            released = field(pv, "status.phase") == "Released" and (ns, claim) == (lab.namespace, PVC_STATIC)
            fail(
                subject,
                f"exists and is {expected}",
                "not found",
                Text(
                    f"{pv_static} PV는 Released입니다: 클레임을 지웠고 Retain이 볼륨과 데이터를 남겼습니다. "
                    "Released 볼륨은 다시 바인딩되지 않습니다: claimRef를 지우거나(kubectl patch pv "
                    f'{pv_static} -p \'{{"spec":{{"claimRef":null}}}}\') PV를 지우고 다시 만든 뒤, '
                    f"{PVC_STATIC} 클레임을 다시 적용하세요",
                    f"{pv_static} is Released: the claim was deleted and Retain kept the volume and its "
                    "data. A Released volume is not bound again: clear its claimRef (kubectl patch pv "
                    f'{pv_static} -p \'{{"spec":{{"claimRef":null}}}}\') or delete and re-create the PV, '
                    f"then apply {PVC_STATIC} again",
                )
                if released
                else None,
                final=True,
                missing=True,
            )
        phase, volume = field(pvc, "status.phase") or "Pending", field(pvc, "spec.volumeName")
        if phase == "Bound":
            ours = (ns, claim, claim_ref(pv)[2]) == (lab.namespace, PVC_STATIC, field(pvc, "metadata.uid"))
            if volume == pv_static and ours:
                return
            other = get_pv(lab, volume)
            provisioner = field(other, "metadata.annotations", {}).get(PROVISIONED_BY)
            cls = field(pvc, "spec.storageClassName")
            fail(
                subject,
                expected,
                f"Bound to {volume} ({describe_pv(other)})",
                Text(
                    f"이 클레임이 요청한 클래스는 {cls}입니다. 그래서 {provisioner} 프로비저너가 "
                    f"새 볼륨({volume})을 만들었고, "
                    f"클래스가 {lab.param('storage_class')}인 {pv_static} PV는 쓰이지 않습니다",
                    f"this claim asks for class {cls}, so the provisioner {provisioner} made a new volume "
                    f"{volume} for it: {pv_static} (class {lab.param('storage_class')}) is never used",
                )
                if provisioner
                else None,
                final=True,
            )
        if pv is None:
            fail(subject, expected, f"{phase}; PersistentVolume {pv_static} does not exist", final=True)
        why = misfit(pv, pvc)
        found = f"{phase}, storageClassName {field(pvc, 'spec.storageClassName')!r}, asks for " + str(
            field(pvc, "spec.resources.requests.storage")
        )
        if why is not None:
            fail(subject, expected, found, why, final=True)
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
        cls = field(pvc, "spec.storageClassName")
        phase, volume = field(pvc, "status.phase") or "Pending", field(pvc, "spec.volumeName")
        if phase == "Bound":
            pv = get_pv(lab, volume)
            provisioner = field(pv, "metadata.annotations", {}).get(PROVISIONED_BY)
            ns, claim, _ = claim_ref(pv)
            made = volume != pv_static and (provisioner is not None or pv_class(pv) == STANDARD)
            assert_that(
                pv is not None and made and (ns, claim) == (lab.namespace, PVC_DYNAMIC),
                subject,
                expected,
                f"Bound to {volume} ({describe_pv(pv)})",
                None
                if made
                else Text(
                    f"{volume} 볼륨은 관리자가 만든 것입니다: "
                    f"클레임에 이렇게 쓰세요: storageClassName: {STANDARD}",
                    f"{volume} is a volume an admin made: give the claim storageClassName {STANDARD}",
                ),
                final=True,
            )
            return
        reason = pending_reason(lab, pvc)
        fail(subject, expected, f"{phase}, storageClassName {cls!r}", reason.text, final=reason.final)

    lab.eventually(bound)


def test_storage_user_writes_to_both_claims(lab: LabContext) -> None:
    mounts = require_mounts(lab, lab.require("Pod", POD))

    def wrote() -> None:
        pod = running_pod(lab)
        for claim, mount in mounts.items():
            fresh, files, age = fresh_files(lab, pod, claim, mount)
            assert_that(
                bool(fresh),
                lab.subject("Pod", POD),
                f"a file it wrote in {mount.path} (claim {claim})",
                f"no file written since the pod started {age} s ago; "
                f"files there: {', '.join(files[:5]) or 'none'}",
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
    marker = f"{MARKER}{token}"
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


def remove_markers(lab: LabContext, mounts: dict[str, Any], marker: str) -> None:
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
    subject = pv_subject(pv_static)
    assert_that(
        bool(field(original, "spec.hostPath")),
        subject,
        "a hostPath volume (the checker copies it to prove Retain)",
        describe_pv(original),
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
    copy_subject = f"{pv_subject(copy_name)} (a copy of {pv_static})"
    spec = {k: v for k, v in (original.get("spec") or {}).items() if k != "claimRef"}
    spec["hostPath"] = {"path": folder, "type": "DirectoryOrCreate"}
    spec["claimRef"] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "namespace": scratch,
        "name": "claim",
    }
    body = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": copy_name}, "spec": spec}
    capacity = field(original, "spec.capacity.storage") or SIZE
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "claim"},
        "spec": {
            "storageClassName": pv_class(original),
            "accessModes": (field(original, "spec.accessModes") or ["ReadWriteOnce"])[:1],
            "resources": {"requests": {"storage": capacity}},
            "volumeName": copy_name,
        },
    }
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
    writer = finished(lab, scratch, "writer")
    node = str(field(writer, "spec.nodeName") or "")
    lab.kube.delete("Pod", "writer", scratch, grace_seconds=1)
    wait_gone(lab, "Pod", "writer", scratch)
    lab.kube.delete("PersistentVolumeClaim", "claim", scratch)
    wait_gone(lab, "PersistentVolumeClaim", "claim", scratch)

    def released() -> None:
        pv = get_pv(lab, copy_name)
        policy = (
            field(pv, "spec.persistentVolumeReclaimPolicy")
            if pv
            else field(original, "spec.persistentVolumeReclaimPolicy")
        )
        phase = field(pv, "status.phase") if pv else "deleted"
        why = Text(
            f"반환 정책 {policy}: 클레임이 지워지자 쿠버네티스가 볼륨을 "
            + (
                "지우려 했습니다 (지울 수 없는 hostPath PV는 Failed가 되고 데이터는 남습니다; "
                "클라우드라면 디스크가 데이터째 지워집니다)"
                if policy == "Delete"
                else "회수하려 했습니다"
            )
            + ". Retain이면 Released로 남습니다",
            f"reclaim policy {policy}: when the claim was deleted Kubernetes tried to "
            + (
                "delete the volume (a hostPath PV cannot be deleted, so it is Failed and its data "
                "stays; on a cloud the disk would be gone, data and all)"
                if policy == "Delete"
                else "reclaim the volume"
            )
            + ". With Retain it stays Released",
        )
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
    reader = finished(lab, namespace, "reader", need_success=False)
    return field(reader, "status.phase") == "Succeeded", lab.kube.logs("reader", namespace)


def writer_pod(token: str) -> Obj:
    """A pod that writes the token through the scratch claim and exits."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "writer"},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "writer",
                    "image": WEB_IMAGE,
                    "command": ["sh", "-c", 'echo "$TOKEN" > /volume/marker'],
                    "env": [{"name": "TOKEN", "value": token}],
                    "volumeMounts": [{"name": "volume", "mountPath": "/volume"}],
                }
            ],
            "volumes": [{"name": "volume", "persistentVolumeClaim": {"claimName": "claim"}}],
        },
    }


def reader_pod(mounted: str, inside: str, node: str) -> Obj:
    """A pod on the same node that prints the marker from the node directory `inside` the
    folder `mounted` (`.`: that folder itself), then removes what it read (whatever it
    found)."""
    remove = 'if [ "$DIR" = . ]; then rm -rf /node/marker; else rm -rf "/node/$DIR"; fi'
    spec: Obj = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 1,
        "containers": [
            {
                "name": "reader",
                "image": WEB_IMAGE,
                "command": ["sh", "-c", f'cat "/node/$DIR/marker"; rc=$?; {remove}; exit $rc'],
                "env": [{"name": "DIR", "value": inside}],
                "volumeMounts": [{"name": "node", "mountPath": "/node"}],
            }
        ],
        "volumes": [{"name": "node", "hostPath": {"path": mounted, "type": "DirectoryOrCreate"}}],
    }
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"}, "spec": spec}


def finished(lab: LabContext, namespace: str, name: str, need_success: bool = True) -> Obj:
    """A run-to-completion scratch pod once it has ended."""

    def ended() -> Obj:
        pod = lab.kube.get("Pod", name, namespace)
        phase = field(pod, "status.phase")
        subject = f"Pod {namespace}/{name}"
        if need_success:
            assert_that(phase != "Failed", subject, "Succeeded", "Failed", final=True)
        assert_that(
            phase in ("Succeeded", "Failed"), subject, "finished", pod_states([pod]) if pod else "not found"
        )
        return pod or {}

    return wait_until(ended, 90)


def fitting_nodes(lab: LabContext, pv: Obj) -> list[Obj]:
    """The nodes a PV's required node affinity lets use it (every node when it has none)."""
    terms = field(pv, "spec.nodeAffinity.required.nodeSelectorTerms") or []
    required = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}
    rule = {"affinity": {"nodeAffinity": required}}
    return [n for n in lab.kube.list("Node") if node_fits(rule, n)]


def zone_of(node: Obj) -> str:
    return str((field(node, "metadata.labels") or {}).get(ZONE, "(no zone)"))


def node_of_user(lab: LabContext, claim: str) -> str:
    """The node of the running pod that uses the claim (the pod is waited for)."""

    def placed() -> str:
        pods = [p for p in pods_using(lab, claim) if field(p, "spec.nodeName")]
        assert_that(
            bool(pods),
            f"pods using claim {claim} in {lab.namespace}",
            "one placed on a node",
            ", ".join(unscheduled_reason(p) or "?" for p in pods_using(lab, claim)) or "none",
        )
        return str(field(pods[0], "spec.nodeName"))

    result: str = lab.eventually(placed)
    return result


def test_pv_static_in_zone(lab: LabContext) -> None:
    pv = require_pv_static(lab)
    zone = lab.param("zone")
    subject = pv_subject(name_of(pv))
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
    fits = fitting_nodes(lab, pv)
    zones = sorted({zone_of(n) for n in fits})
    assert_that(
        bool(fits) and zones == [zone],
        subject,
        f"its node affinity fits the nodes of zone {zone} only",
        f"it fits {', '.join(name_of(n) for n in fits) or 'no node'} (zones {', '.join(zones) or 'none'})",
        final=True,
    )
    node = node_of_user(lab, PVC_STATIC)
    assert_that(
        node in {name_of(n) for n in fits},
        f"the pod using {PVC_STATIC}",
        f"on a node of zone {zone}",
        f"on {node}",
    )


def test_dynamic_volume_made_on_the_pods_node(lab: LabContext) -> None:
    pvc = lab.require("PersistentVolumeClaim", PVC_DYNAMIC)
    node = node_of_user(lab, PVC_DYNAMIC)

    def made() -> None:
        claim = lab.kube.get("PersistentVolumeClaim", PVC_DYNAMIC, lab.namespace) or pvc
        volume = str(field(claim, "spec.volumeName") or "")
        pv = get_pv(lab, volume) if volume else None
        assert_that(
            pv is not None,
            lab.subject("PersistentVolumeClaim", PVC_DYNAMIC),
            "bound to a volume made for it",
            str(field(claim, "status.phase") or "not bound"),
        )
        assert pv is not None
        fits = [name_of(n) for n in fitting_nodes(lab, pv)]
        assert_that(
            node in fits and bool(field(pv, "spec.nodeAffinity.required.nodeSelectorTerms")),
            pv_subject(volume),
            f"made where the pod that uses it landed ({node}): a node affinity that fits it",
            f"fits {', '.join(fits) or 'no node'}",
        )

    lab.eventually(made)
