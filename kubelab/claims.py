"""PersistentVolumes and their claims as a checker reads them: whose a volume is, how to
say it in a line, why a claim is still Pending (and whether waiting can change that),
which pods use a claim, and which nodes a volume lets them run on.

A PersistentVolume is cluster-scoped: a claim in any namespace can take it. Nothing here
assumes a volume is the answer's; a claim's volume is followed by name and its claimRef
(namespace, name, uid) read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kubelab.capacity import quantity
from kubelab.checks import assert_that, deleting, field, name_of, unscheduled_reason
from kubelab.manifests import Obj
from kubelab.selectors import node_fits
from kubelab.text import Text
from kubelab.volumes import claim_volumes

if TYPE_CHECKING:
    from kubelab.checks import LabContext

PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
"""The annotation a provisioner puts on a volume it made."""
NO_PROVISIONER = "kubernetes.io/no-provisioner"
"""A StorageClass's provisioner when volumes of that class are made by hand."""
ZONE = "topology.kubernetes.io/zone"
"""The node label that names a node's zone."""


# --- a volume in a line ------------------------------------------------------------------


def claim_ref(pv: Obj | None) -> tuple[str, str, str]:
    """(namespace, name, uid) of the claim a PersistentVolume is bound to or held for."""
    ref = field(pv, "spec.claimRef") or {}
    return str(ref.get("namespace") or ""), str(ref.get("name") or ""), str(ref.get("uid") or "")


def storage_class(obj: Obj | None) -> str:
    """A volume's or a claim's storageClassName ("" when it names none)."""
    return str(field(obj, "spec.storageClassName") or "")


def provisioner(pv: Obj | None) -> str | None:
    """The provisioner that made this volume, None for a volume made by hand."""
    annotations = field(pv, "metadata.annotations") or {}
    made_by = annotations.get(PROVISIONED_BY)
    return str(made_by) if made_by is not None else None


def volume_of(lab: LabContext, pvc: Obj | None) -> Obj | None:
    """The PersistentVolume a claim names (spec.volumeName), if there is one."""
    name = field(pvc, "spec.volumeName")
    return lab.kube.get("PersistentVolume", str(name)) if name else None


def describe_pv(pv: Obj | None) -> str:
    """e.g. "pv-static: Bound, class manual, 1Gi, ReadWriteOnce, Retain, claim lab-05/pvc-static"."""
    if pv is None:
        return "no such PersistentVolume"
    ns, claim, _ = claim_ref(pv)
    parts = [
        f"{name_of(pv)}: {field(pv, 'status.phase') or '?'}",
        f"class {storage_class(pv) or '(none)'}",
        str(field(pv, "spec.capacity.storage") or "no capacity"),
        ",".join(field(pv, "spec.accessModes") or []) or "no access modes",
        str(field(pv, "spec.persistentVolumeReclaimPolicy") or "?"),
        f"claim {ns}/{claim}" if claim else "no claim",
    ]
    return ", ".join(parts)


def _size(value: Any) -> Decimal:
    """A storage quantity as a number; 0 when it is missing or not a quantity."""
    try:
        return quantity(value) if value is not None else Decimal(0)
    except ValueError:
        return Decimal(0)


def _clear_claim_ref(name: str) -> str:
    return f'kubectl patch pv {name} -p \'{{"spec":{{"claimRef":null}}}}\''


# --- why a claim is not bound --------------------------------------------------------------


def misfit(pv: Obj, pvc: Obj) -> Text | None:
    """Why this PersistentVolume cannot be bound to this claim, or None when it fits."""
    name, claim = name_of(pv), name_of(pvc)
    ns, ref_name, ref_uid = claim_ref(pv)
    want_class, has_class = storage_class(pvc), storage_class(pv)
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
            f"({_clear_claim_ref(name)}) PV를 지우고 다시 만들어야 합니다",
            f"{name} is Released: it still remembers the deleted claim {ns}/{ref_name} (uid "
            f"{ref_uid[:8]}…). A Released volume is not bound again: the admin clears its claimRef "
            f"({_clear_claim_ref(name)}) or deletes and re-creates the PV",
        )
    offers, asks = field(pv, "spec.capacity.storage"), field(pvc, "spec.resources.requests.storage")
    if _size(offers) < _size(asks):
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


def released_for(pv: Obj | None, namespace: str, claim: str) -> Text | None:
    """When a claim is gone: its volume is Released for it (Retain kept the volume and its
    data) and will not be bound again until its claimRef is cleared; else None."""
    ns, ref_name, _ = claim_ref(pv)
    if pv is None or field(pv, "status.phase") != "Released" or (ns, ref_name) != (namespace, claim):
        return None
    name = name_of(pv)
    return Text(
        f"{name} PV는 Released입니다: 클레임을 지웠고 Retain이 볼륨과 데이터를 남겼습니다. "
        f"Released 볼륨은 다시 바인딩되지 않습니다: claimRef를 지우거나({_clear_claim_ref(name)}) "
        f"PV를 지우고 다시 만든 뒤, {claim} 클레임을 다시 적용하세요",
        f"{name} is Released: the claim was deleted and Retain kept the volume and its "
        f"data. A Released volume is not bound again: clear its claimRef ({_clear_claim_ref(name)}) "
        f"or delete and re-create the PV, then apply {claim} again",
    )


def provisioned_instead(pvc: Obj, volume: Obj | None, meant: str, meant_class: str) -> Text | None:
    """When a claim is bound to a volume a provisioner made instead of the PersistentVolume
    `meant` for it (of class `meant_class`): its class asked for a provisioner. None for a
    volume made by hand."""
    made_by = provisioner(volume)
    if made_by is None:
        return None
    cls, volume_name = field(pvc, "spec.storageClassName"), field(pvc, "spec.volumeName")
    return Text(
        f"이 클레임이 요청한 클래스는 {cls}입니다. 그래서 {made_by} 프로비저너가 "
        f"새 볼륨({volume_name})을 만들었고, 클래스가 {meant_class}인 {meant} PV는 쓰이지 않습니다",
        f"this claim asks for class {cls}, so the provisioner {made_by} made a new volume "
        f"{volume_name} for it: {meant} (class {meant_class}) is never used",
    )


def reclaimed(policy: str) -> Text:
    """What a reclaim policy did to a volume when its claim was deleted (for a volume that
    was not kept, Released, as Retain keeps it)."""
    delete = policy == "Delete"
    return Text(
        f"반환 정책 {policy}: 클레임이 지워지자 쿠버네티스가 볼륨을 "
        + (
            "지우려 했습니다 (지울 수 없는 hostPath PV는 Failed가 되고 데이터는 남습니다; "
            "클라우드라면 디스크가 데이터째 지워집니다)"
            if delete
            else "회수하려 했습니다"
        )
        + ". Retain이면 Released로 남습니다",
        f"reclaim policy {policy}: when the claim was deleted Kubernetes tried to "
        + (
            "delete the volume (a hostPath PV cannot be deleted, so it is Failed and its data "
            "stays; on a cloud the disk would be gone, data and all)"
            if delete
            else "reclaim the volume"
        )
        + ". With Retain it stays Released",
    )


def prebound_copy(
    pv: Obj, name: str, host_path: str, namespace: str, claim: str, size: str
) -> tuple[Obj, Obj]:
    """A copy of a PersistentVolume's spec named `name`, on the node folder `host_path`,
    held for the claim `namespace`/`claim`; and that claim (the volume's class, first
    access mode and capacity, `size` when it has none). To try what the volume's spec
    does (its reclaim policy) without touching the volume itself."""
    spec = {k: v for k, v in (pv.get("spec") or {}).items() if k != "claimRef"}
    spec["hostPath"] = {"path": host_path, "type": "DirectoryOrCreate"}
    spec["claimRef"] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "namespace": namespace,
        "name": claim,
    }
    copy = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": spec}
    claimed = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim},
        "spec": {
            "storageClassName": storage_class(pv),
            "accessModes": (field(pv, "spec.accessModes") or ["ReadWriteOnce"])[:1],
            "resources": {"requests": {"storage": field(pv, "spec.capacity.storage") or size}},
            "volumeName": name,
        },
    }
    return copy, claimed


@dataclass(frozen=True)
class Reason:
    """Why a claim is still Pending, and whether waiting could change it."""

    text: Text
    final: bool


def pods_using(lab: LabContext, claim: str) -> list[Obj]:
    """The namespace's pods (not being deleted) with a volume that uses this claim."""
    return [p for p in lab.list("Pod") if not deleting(p) and claim in claim_volumes(p).values()]


def pending_reason(
    lab: LabContext, pvc: Obj, meant: Mapping[str, str] | None = None, *, look_at_others: bool = True
) -> Reason:
    """Why a claim is not Bound yet: a provisioner waiting for a consumer, a pod that is not
    scheduled (look_at_others: because another of its claims can never be bound), or no
    PersistentVolume that fits (each candidate's misfit). `meant`: claim name → the
    PersistentVolume a lab means for it, looked at whatever its class."""
    cls = field(pvc, "spec.storageClassName")
    sc = lab.kube.get("StorageClass", cls) if cls else None
    if sc is not None and sc.get("provisioner") != NO_PROVISIONER and not field(pvc, "spec.volumeName"):
        return _provisioning(lab, pvc, sc, meant, look_at_others)
    return _no_volume_fits(lab, pvc, meant)


def _provisioning(
    lab: LabContext, pvc: Obj, sc: Obj, meant: Mapping[str, str] | None, look_at_others: bool
) -> Reason:
    """Why a claim whose class has a provisioner has no volume yet."""
    claim, cls = name_of(pvc), name_of(sc)
    users = pods_using(lab, claim)
    if not users and (sc.get("volumeBindingMode") or "Immediate") == "WaitForFirstConsumer":
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
            blocked = _never_bound(lab, pod, meant, but=claim) if look_at_others else []
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


def _never_bound(lab: LabContext, pod: Obj, meant: Mapping[str, str] | None, but: str) -> list[str]:
    """The pod's other claims (not `but`) that exist, are not Bound, and never will be."""
    return [
        other
        for other in sorted(set(claim_volumes(pod).values()) - {but})
        if (o := lab.get("PersistentVolumeClaim", other)) is not None
        and field(o, "status.phase") != "Bound"
        and pending_reason(lab, o, meant, look_at_others=False).final
    ]


def _no_volume_fits(lab: LabContext, pvc: Obj, meant: Mapping[str, str] | None) -> Reason:
    """Why no PersistentVolume is bound to a claim no provisioner serves: the volumes it
    could take, each with why it does not fit (final), or one that fits (binding follows)."""
    claim, cls, volume_name = name_of(pvc), field(pvc, "spec.storageClassName"), field(pvc, "spec.volumeName")
    also = (meant or {}).get(claim)
    candidates = [
        pv
        for pv in lab.kube.list("PersistentVolume")
        if (name_of(pv) == volume_name)
        or (not volume_name and storage_class(pv) == str(cls or ""))
        or (also is not None and name_of(pv) == also)
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


def unscheduled(
    lab: LabContext, pod: Obj, meant: Mapping[str, str] | None = None
) -> tuple[Text, bool] | None:
    """Why a pod with claims is not scheduled: the scheduler's message, and its claims
    that do not exist or are not Bound (those that never will be, when there are any:
    then waiting cannot help); None when it is scheduled. A kubelab.checks.Diagnosis."""
    why = unscheduled_reason(pod)
    if not why:
        return None
    claims = sorted(set(claim_volumes(pod).values()))
    blocked = [
        (claim, pending_reason(lab, pvc, meant, look_at_others=False))
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


# --- where a volume can be used ------------------------------------------------------------


def nodes_for(pv: Obj, nodes: list[Obj]) -> list[Obj]:
    """The nodes a PersistentVolume's required node affinity lets use it (every node
    when it has none)."""
    terms = field(pv, "spec.nodeAffinity.required.nodeSelectorTerms") or []
    required = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}
    rule = {"affinity": {"nodeAffinity": required}}
    return [n for n in nodes if node_fits(rule, n)]


def zone_of(node: Obj) -> str:
    """The node's zone label, or "(no zone)"."""
    return str((field(node, "metadata.labels") or {}).get(ZONE, "(no zone)"))


def node_of_user(lab: LabContext, claim: str) -> str:
    """The node of a pod that uses the claim, once one is placed (waited for, within the
    check's timeout); while none is, why not."""

    def placed() -> str:
        users = pods_using(lab, claim)
        pods = [p for p in users if field(p, "spec.nodeName")]
        assert_that(
            bool(pods),
            f"pods using claim {claim} in {lab.namespace}",
            "one placed on a node",
            ", ".join(unscheduled_reason(p) or "?" for p in users) or "none",
        )
        return str(field(pods[0], "spec.nodeName"))

    node: str = lab.eventually(placed)
    return node
