"""Sandboxes that cannot reach each other: a NetworkPolicy per sandbox, and a proof that
the cluster enforces it.

Every sandbox namespace (and a check's scratch namespace beside it) gets the policy
`kubelab-isolate`: its pods take traffic from pods of their own namespace, from any
namespace that is not a sandbox (kubelab's checks, the cluster's own add-ons) and from
addresses outside the pod network (a NodePort asked from the host); a pod of another
sandbox is refused, by its address or through a Service or a NodePort.

A policy is only words until the pod network enforces it, and a network policy controller
that fails to start lets everything through (kindnet's fails open). So before a sandbox
relies on it, `require` proves it on this cluster: a server in one throwaway sandbox, a
client in another that must be refused and a client beside the server that must be
answered. A proof holds for PROOF_TTL seconds (recorded in kubelab's state folder, per
cluster). `kubelab doctor` runs the same proof.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kubelab import nodefiles, repo
from kubelab.apply import SANDBOX_LABEL
from kubelab.checks import assert_that
from kubelab.cleanup import Cleanup
from kubelab.errors import CheckFailed, EnvironmentProblem, KubelabError
from kubelab.kube import Kube, exec_in_pod
from kubelab.manifests import Obj
from kubelab.settled import is_ready
from kubelab.waiting import wait_until

POLICY = "kubelab-isolate"
PROOF_TTL = 600.0
"""Seconds a proof on a cluster is trusted before it is made again."""
OPEN_NETWORK = "KUBELAB_ALLOW_OPEN_NETWORK"
"""Set to 1 to open sandboxes on a cluster that does not enforce NetworkPolicy."""
READY_WAIT = 90.0
ANSWERED_WAIT = 30.0
"""Seconds for the allowed client to be answered (a new pod's rules take a moment)."""
REFUSED_WAIT = 30.0
"""Seconds for the other sandbox's client to be refused."""

_lock = threading.Lock()
_proven: dict[str, float] = {}


@dataclass(frozen=True)
class Proof:
    """What the proof found: enforced or not, and what was seen."""

    enforced: bool
    detail: str


def pod_ranges(kube: Kube) -> list[str]:
    """The pod network's address ranges, as the nodes were given them (spec.podCIDRs);
    empty when the cluster's network does not use them."""
    ranges: set[str] = set()
    for node in kube.list("Node"):
        spec = node.get("spec") or {}
        for cidr in spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []):
            if "." in str(cidr):
                ranges.add(str(cidr))
    return sorted(ranges)


def policy(ranges: list[str]) -> Obj:
    """The NetworkPolicy of a sandbox namespace (see the module's docstring)."""
    sources: list[Obj] = [
        {"podSelector": {}},
        {"namespaceSelector": {"matchExpressions": [{"key": SANDBOX_LABEL, "operator": "DoesNotExist"}]}},
        {"ipBlock": {"cidr": "0.0.0.0/0", **({"except": ranges} if ranges else {})}},
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": POLICY},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": sources}]},
    }


def require(kube: Kube) -> None:
    """Go on only where sandboxes are proven apart (or KUBELAB_ALLOW_OPEN_NETWORK=1)."""
    if os.environ.get(OPEN_NETWORK) == "1":
        return
    found = proven(kube)
    if not found.enforced:
        raise EnvironmentProblem(
            f"this cluster does not keep sandboxes apart: a NetworkPolicy is not enforced ({found.detail}); "
            f"run `kubelab doctor`, or set {OPEN_NETWORK}=1 to grade anyway without that fence",
            "이 클러스터는 샌드박스를 서로 떼어 놓지 못합니다: "
            f"NetworkPolicy가 적용되지 않습니다 ({found.detail}); "
            f"`kubelab doctor`를 실행하거나, 그 울타리 없이 채점하려면 {OPEN_NETWORK}=1 로 설정하세요",
        )


def proven(kube: Kube) -> Proof:
    """The proof for this cluster: a recent one, else made now."""
    with _lock:
        cluster = kube.cluster_id()
        if time.time() - max(_proven.get(cluster, 0.0), _recorded(cluster)) < PROOF_TTL:
            return Proof(True, "proven recently")
        found = prove(kube)
        if found.enforced:
            _proven[cluster] = time.time()
            _record(cluster)
        return found


def _record_path(cluster: str) -> Path:
    return repo.state_dir() / "network-proofs" / f"{cluster}.json"


def _recorded(cluster: str) -> float:
    try:
        return float(json.loads(_record_path(cluster).read_text(encoding="utf-8"))["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def _record(cluster: str) -> None:
    path = _record_path(cluster)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"at": time.time()}), encoding="utf-8")
    temporary.replace(path)


def prove(kube: Kube) -> Proof:
    """Make the proof now (about 10 s); everything it makes is removed before it returns."""
    image = nodefiles.IMAGE  # nginx serves, curl asks
    cleanup = Cleanup(kube)
    try:
        guarded = nodefiles.own_namespace(kube, cleanup, "netproof", {SANDBOX_LABEL: "probe"})
        other = nodefiles.own_namespace(kube, cleanup, "netproof", {SANDBOX_LABEL: "probe"})
        kube.create(policy(pod_ranges(kube)), guarded)
        kube.create(_pod("server", image, ["nginx", "-g", "daemon off;"]), guarded)
        kube.create(_pod("client", image, ["sleep", "3600"]), guarded)
        kube.create(_pod("client", image, ["sleep", "3600"]), other)
        _wait_ready(kube, [(guarded, "server"), (guarded, "client"), (other, "client")])
        server = str((kube.get("Pod", "server", guarded) or {}).get("status", {}).get("podIP") or "")
        url = f"http://{server}/"
        try:
            wait_until(
                lambda: assert_that(_reaches(kube, guarded, url), url, "answered", "refused"), ANSWERED_WAIT
            )
        except CheckFailed:
            return Proof(
                False, f"a pod beside the server cannot reach {url} either: the pod network is broken"
            )
        try:
            wait_until(
                lambda: assert_that(not _reaches(kube, other, url), url, "refused", "answered"), REFUSED_WAIT
            )
        except CheckFailed:
            return Proof(False, f"a pod of another sandbox still reached {url} after {REFUSED_WAIT:g} s")
        return Proof(True, "a pod of another sandbox was refused, a pod beside the server answered")
    except KubelabError as e:
        return Proof(False, e.en)
    finally:
        cleanup.run()


def _pod(name: str, image: str, command: list[str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": name,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": command,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                }
            ],
        },
    }


def _wait_ready(kube: Kube, pods: list[tuple[str, str]]) -> None:
    def ready() -> None:
        for namespace, name in pods:
            live = kube.get("Pod", name, namespace) or {}
            phase = (live.get("status") or {}).get("phase", "missing")
            assert_that(is_ready(live), f"Pod {namespace}/{name}", "Ready", phase)

    try:
        wait_until(ready, READY_WAIT)
    except CheckFailed as e:
        raise EnvironmentProblem(
            f"the network proof's pods did not start: {e.finding.subject} {e.finding.found}",
            f"네트워크 확인용 파드가 시작되지 않았습니다: {e.finding.subject} {e.finding.found}",
        ) from e


def _reaches(kube: Kube, namespace: str, url: str) -> bool:
    done = exec_in_pod(
        kube,
        "client",
        namespace,
        ["curl", "-s", "-o", "/dev/null", "-m", "2", "-w", "%{http_code}", url],
        timeout=10,
    )
    return done.code == 0 and done.stdout.strip() == "200"
