"""A Service as its clients reach it: the pods behind it (its EndpointSlices) and the pods
that should be, its node port from outside and on every node's address, its DNS names and
whether a URL uses one that works from any namespace, and a request sent from inside a pod
that a pod behind it must answer.

A request that fails while the Service's endpoints are still being programmed is waited
out; the same failure with the right endpoints, all of them unchanged for a while
(STEADY_SECONDS), is the Service's own doing and settles the answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

from kubelab.checks import LabContext, assert_that, fail, field, is_ready, name_of
from kubelab.manifests import Obj
from kubelab.probes import web_said
from kubelab.settled import Unchanged
from kubelab.text import Text
from kubelab.waiting import timeout_scale

STEADY_SECONDS = 8.0
"""Endpoints the same for this long (times KUBELAB_TIMEOUT_SCALE), every pod Ready: the
endpoints controller and kube-proxy (each within a second or two, more on a busy
machine) have done all they will do."""


def endpoints(lab: LabContext, service: str) -> dict[str, bool]:
    """Pod name → whether the Service's EndpointSlices call it ready (a pod not in them
    is not an endpoint at all)."""
    found: dict[str, bool] = {}
    for endpoint_slice in lab.list("EndpointSlice", f"kubernetes.io/service-name={service}"):
        for endpoint in endpoint_slice.get("endpoints") or []:
            ref = endpoint.get("targetRef") or {}
            if ref.get("kind") == "Pod":
                found[str(ref.get("name"))] = bool((endpoint.get("conditions") or {}).get("ready"))
    return found


def ready_endpoints(lab: LabContext, service: str) -> set[str]:
    """Pods behind the Service that are ready to take traffic (its EndpointSlices)."""
    return {name for name, ready in endpoints(lab, service).items() if ready}


def ready_pod_names(lab: LabContext, selector: str) -> set[str]:
    """The Ready pods a label selector picks (not being deleted), by name."""
    return {name_of(p) for p in lab.live_pods(selector) if is_ready(p)}


def by_label(pods: Iterable[Obj], names: Iterable[str], label: str) -> str:
    """How many of the pods named have each value of `label`, e.g. "2 have release=west,
    2 have release=east" ("?" for a name not among `pods`, or a pod without it)."""
    found = {name_of(p): p for p in pods}
    count = Counter(field(found.get(n), f"metadata.labels.{label}", "?") for n in names)
    return ", ".join(f"{n} have {label}={value}" for value, n in sorted(count.items())) or "none"


def nodeport_url(lab: LabContext, service: str, node_port: int) -> tuple[str, str]:
    """The URL the learner's machine reaches the Service at, and how a failure names it;
    fails at once unless the Service is a NodePort on `node_port` (no request could reach
    it otherwise)."""
    svc = lab.require("Service", service)
    ports = [p.get("nodePort") for p in field(svc, "spec.ports") or []]
    assert_that(
        field(svc, "spec.type") == "NodePort" and node_port in ports,
        lab.subject("Service", service),
        f"a NodePort Service on {node_port} (to be reached from outside)",
        f"spec.type {field(svc, 'spec.type')}, node ports {ports or 'none'}",
        final=True,
    )
    url = lab.node_url(node_port)
    return url, f"Service {lab.namespace}/{service} at {url}"


def node_addresses(lab: LabContext) -> dict[str, str]:
    """Every node's name and IPv4 address (InternalIP), as the cluster reports them."""
    found = {}
    for node in lab.kube.list("Node"):
        for address in field(node, "status.addresses") or []:
            if address.get("type") == "InternalIP" and "." in str(address.get("address")):
                found[name_of(node)] = str(address["address"])
                break
    return found


# --- by name, from inside the cluster --------------------------------------------------


def dns_names(service: str, namespace: str) -> tuple[str, ...]:
    """The names of a Service that work from any namespace (longest first)."""
    return (
        f"{service}.{namespace}.svc.cluster.local",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}",
    )


def service_url(lab: LabContext, url: str, service: str, subject: str) -> str:
    """`url` as asked in the answer's namespace; fails at once unless it names the Service
    by a DNS name that works from any namespace (an IP changes, a bare name works only
    from its own namespace). A name with the lab's own namespace (where the learner
    practised) counts as this namespace's, as a manifest's metadata.namespace does when an
    answer is graded in a namespace of its own."""
    here = dns_names(service, lab.namespace)
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = (parts.hostname or "").rstrip(".")
    why = None
    if re.fullmatch(r"[0-9.]+|[0-9a-f]*:[0-9a-f:]*", host):
        why = Text(
            "IP 주소는 서비스를 다시 만들면 바뀝니다: 이름(DNS)을 쓰세요",
            "an IP address changes when the Service is made again: use its name (DNS)",
        )
    elif host == service:
        why = Text(
            f"짧은 이름 {service}는 같은 네임스페이스에서만 찾아집니다: 네임스페이스까지 적으세요",
            f"the short name {service} is found only from the same namespace: give the namespace too",
        )
    forms = {name: name for name in here} | dict(
        zip(dns_names(service, lab.lab.namespace), here, strict=True)
    )
    assert_that(host in forms, subject, f"http://{here[0]}", url, why, final=True)
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=forms[host] + port).geturl()


class Backends:
    """A Service and the pods that should be behind it: `count` Ready pods that `selector`
    picks. Made once per check: it remembers what it saw, to tell a failure that stays."""

    def __init__(self, lab: LabContext, service: str, selector: str, count: int) -> None:
        self.lab, self.service, self.selector, self.count = lab, service, selector, count
        self.steady = Unchanged(STEADY_SECONDS * timeout_scale())
        """The check's look at the endpoints, over time (kubelab.settled.Unchanged)."""

    def wanted(self) -> set[str]:
        """The Ready pods that should be behind the Service, by name."""
        return ready_pod_names(self.lab, self.selector)

    def failure_settled(self, failure: str) -> Text | None:
        """Why a request's failure will stay, if it will: the right pods behind the
        Service, Ready, and they and the failure unchanged for STEADY_SECONDS — kube-proxy
        has programmed the Service, so what refuses is the Service's own ports."""
        wanted, endpoints = self.wanted(), ready_endpoints(self.lab, self.service)
        if (
            self.steady.see((frozenset(endpoints), failure))
            and len(wanted) == self.count
            and endpoints == wanted
        ):
            return self.steady.reason(
                Text("올바른 엔드포인트에서 같은 실패", "the same failure, with the right endpoints,")
            )
        return None

    def ask_from(self, pod: str, url: str, subject: str) -> None:
        """curl `url` in `pod`; fail unless a pod behind the Service (its endpoints) answered."""
        done = self.lab.exec(pod, ["curl", "-s", "-m", "3", url])
        if done.code != 0:
            failure = f"curl exit {done.code} {done.stderr.strip()}"
            fail(subject, "an answer", failure, settled=self.failure_settled(failure))
        said = web_said(done.stdout, "pod")
        behind = ready_endpoints(self.lab, self.service)
        assert_that(
            said in behind,
            subject,
            f"an answer from a pod behind the Service ({', '.join(sorted(behind)) or 'none'})",
            f"answered by {said}",
        )
