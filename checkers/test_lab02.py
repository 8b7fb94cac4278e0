"""Lab 02 — NodePort access. Titles, points and hints: labs/02-nodeport/lab.yaml."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

from kubelab.checks import (
    LabContext,
    assert_that,
    fail,
    field,
    is_ready,
    name_of,
    owner_uid,
    pod_states,
)
from kubelab.manifests import Obj
from kubelab.probes import HttpAnswer, http_get, web_said
from kubelab.selectors import matches, to_query
from kubelab.settled import Unchanged, first_stuck
from kubelab.text import Text
from kubelab.waiting import timeout_scale

SERVICE = "eva"
CLIENT, CLIENT_ENV = "eva-client", "EVA_URL"
EVA, WEST, EAST = "app=eva", "app=eva,release=west", "app=eva,release=east"
SAMPLES = 20
"""Requests sent to see which pods answer (both west pods answer with near certainty)."""
STEADY_SECONDS = 8.0
"""Endpoints the same for this long (times KUBELAB_TIMEOUT_SCALE), every pod Ready: the
endpoints controller and kube-proxy (each within a second or two, more on a busy
machine) have done all they will do."""


def ready_names(lab: LabContext, selector: str) -> set[str]:
    return {name_of(p) for p in lab.live_pods(selector) if is_ready(p)}


def endpoint_pods(lab: LabContext) -> set[str]:
    """Pods behind the Service that are ready to take traffic (its EndpointSlices)."""
    names: set[str] = set()
    for endpoint_slice in lab.list("EndpointSlice", f"kubernetes.io/service-name={SERVICE}"):
        for endpoint in endpoint_slice.get("endpoints") or []:
            ref = endpoint.get("targetRef") or {}
            if (endpoint.get("conditions") or {}).get("ready") and ref.get("kind") == "Pod":
                names.add(ref["name"])
    return names


def releases_of(lab: LabContext, names: set[str]) -> str:
    """e.g. "2 have release=west, 2 have release=east"."""
    pods = {name_of(p): p for p in lab.list("Pod", EVA)}
    count = Counter(field(pods.get(n), "metadata.labels.release", "?") for n in names)
    return ", ".join(f"{n} have release={r}" for r, n in sorted(count.items())) or "none"


def nodeport_url(lab: LabContext) -> tuple[str, str]:
    """The URL the host reaches the Service at, and how a failure names it; fails at once
    unless the Service is a NodePort on the lab's node port (no request could reach it
    otherwise)."""
    node_port = lab.param("node_port")
    svc = lab.require("Service", SERVICE)
    ports = [p.get("nodePort") for p in field(svc, "spec.ports") or []]
    assert_that(
        field(svc, "spec.type") == "NodePort" and node_port in ports,
        lab.subject("Service", SERVICE),
        f"a NodePort Service on {node_port} (to be reached from outside)",
        f"spec.type {field(svc, 'spec.type')}, node ports {ports or 'none'}",
        final=True,
    )
    url = lab.node_url(node_port)
    return url, f"Service {lab.namespace}/{SERVICE} at {url}"


def west_only_selector(lab: LabContext) -> str:
    """The Service's selector, as a query; fails at once when it picks the east pods too
    (its endpoints can then never be the west pods alone: no waiting mends that)."""
    svc = lab.require("Service", SERVICE)
    chosen = {"matchLabels": field(svc, "spec.selector") or {}}
    selector = to_query(chosen) or "(none)"
    assert_that(
        not matches(chosen, {"app": "eva", "release": "east"}),
        lab.subject("Service", SERVICE),
        "a selector that leaves out release=east",
        f"selector {selector} also picks app=eva,release=east pods",
        final=True,
    )
    return selector


def test_endpoints_are_exactly_the_west_pods(lab: LabContext) -> None:
    selector = west_only_selector(lab)

    steady = Unchanged(STEADY_SECONDS * timeout_scale())

    def exact() -> None:
        west, endpoints = ready_names(lab, WEST), endpoint_pods(lab)
        if len(west) == 2 and endpoints == west:
            return
        pods = lab.live_pods(EVA)
        settled = steady.see((frozenset(endpoints), frozenset(west))) and all(is_ready(p) for p in pods)
        fail(
            lab.subject("Service", SERVICE),
            f"endpoints = the 2 Ready west pods ({', '.join(sorted(west)) or 'none Ready'})",
            f"endpoints {', '.join(sorted(endpoints)) or 'none'} (selector {selector})",
            Text(
                f"서비스가 파드 {len(endpoints)}개를 고릅니다: {releases_of(lab, endpoints)}",
                f"the Service selects {len(endpoints)} pods: {releases_of(lab, endpoints)}",
            ),
            settled=steady.reason(
                Text("엔드포인트(파드는 모두 Ready)", "the set of endpoints (every pod Ready)")
            )
            if settled
            else None,
        )

    lab.eventually(exact)


def failure_settled(lab: LabContext, steady: Unchanged, failure: str) -> Text | None:
    """Why a request's failure will stay, if it will: the right pods behind the Service,
    Ready, and they and the failure unchanged for STEADY_SECONDS — kube-proxy has
    programmed the Service, so what refuses is the Service's own ports."""
    west, endpoints = ready_names(lab, WEST), endpoint_pods(lab)
    if steady.see((frozenset(endpoints), failure)) and len(west) == 2 and endpoints == west:
        return steady.reason(
            Text("올바른 엔드포인트에서 같은 실패", "the same failure, with the right endpoints,")
        )
    return None


def test_host_reaches_west_pods_only(lab: LabContext) -> None:
    url, subject = nodeport_url(lab)
    steady = Unchanged(STEADY_SECONDS * timeout_scale())

    def sampled() -> None:
        answers = [http_get(url) for _ in range(SAMPLES)]
        failed = [a for a in answers if a.status != 200]
        if failed:
            fail(
                subject,
                f"HTTP 200 for each of {SAMPLES} requests",
                failed[0].describe(),
                settled=failure_settled(lab, steady, failed[0].describe()),
            )
        pods = Counter(web_said(a.body, "pod") for a in answers)
        seen = ", ".join(f"{name} ×{n}" for name, n in sorted(pods.items()))
        west, east = ready_names(lab, WEST), {name_of(p) for p in lab.list("Pod", EAST)}
        assert_that(
            not set(pods) & east, subject, "no answer from an east pod", f"answered by {seen}", final=True
        )
        assert_that(
            west <= set(pods) and len(west) == 2,
            subject,
            f"answers from both west pods ({', '.join(sorted(west))})",
            f"answered by {seen}",
        )

    lab.eventually(sampled)


def asked_from_inside(lab: LabContext, pod: str, curl: list[str], subject: str, steady: Unchanged) -> None:
    """Run `curl` in `pod`; fail unless a pod behind the Service (its endpoints) answered."""
    done = lab.exec(pod, curl)
    if done.code != 0:
        failure = f"curl exit {done.code} {done.stderr.strip()}"
        fail(subject, "an answer", failure, settled=failure_settled(lab, steady, failure))
    said = web_said(done.stdout, "pod")
    behind = endpoint_pods(lab)
    assert_that(
        said in behind,
        subject,
        f"an answer from a pod behind the Service ({', '.join(sorted(behind)) or 'none'})",
        f"answered by {said}",
    )


def test_cluster_ip_and_dns_answer_inside(lab: LabContext) -> None:
    lab.require("Service", SERVICE)
    pods = [p for p in lab.live_pods(EVA) if is_ready(p)]
    assert_that(bool(pods), f"pods {EVA} in {lab.namespace}", "a Ready pod to ask from", "none", final=True)
    client = name_of(sorted(pods, key=name_of)[-1])
    subject = f"http://{SERVICE} from pod {client}"
    steady = Unchanged(STEADY_SECONDS * timeout_scale())

    def inside() -> None:
        asked_from_inside(lab, client, ["curl", "-s", "-m", "3", f"http://{SERVICE}/"], subject, steady)

    lab.eventually(inside)


def dns_names(namespace: str) -> tuple[str, ...]:
    """The names of the Service eva that work from any namespace (longest first)."""
    return (
        f"{SERVICE}.{namespace}.svc.cluster.local",
        f"{SERVICE}.{namespace}.svc",
        f"{SERVICE}.{namespace}",
    )


def client_url(lab: LabContext) -> str:
    """The URL eva-client's EVA_URL asks, in the answer's namespace; fails at once unless
    EVA_URL names the Service by a DNS name that works from any namespace (an IP changes,
    a bare name works only here). A name with the lab's own namespace (where the learner
    practised) counts as this namespace's, as a manifest's metadata.namespace does when an
    answer is graded in a namespace of its own."""
    pod = lab.require("Pod", CLIENT)
    values = [
        e.get("value")
        for c in field(pod, "spec.containers") or []
        for e in c.get("env") or []
        if e.get("name") == CLIENT_ENV
    ]
    subject = f"{lab.subject('Pod', CLIENT)} env {CLIENT_ENV}"
    here = dns_names(lab.namespace)
    wanted = f"http://{here[0]}"
    assert_that(
        bool(values) and isinstance(values[0], str),
        subject,
        wanted,
        "not set" if not values else "not a plain value",
        final=True,
    )
    url = str(values[0])
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = (parts.hostname or "").rstrip(".")
    why = None
    if re.fullmatch(r"[0-9.]+|[0-9a-f]*:[0-9a-f:]*", host):
        why = Text(
            "IP 주소는 서비스를 다시 만들면 바뀝니다: 이름(DNS)을 쓰세요",
            "an IP address changes when the Service is made again: use its name (DNS)",
        )
    elif host == SERVICE:
        why = Text(
            "짧은 이름 eva는 같은 네임스페이스에서만 찾아집니다: 네임스페이스까지 적으세요",
            "the short name eva is found only from the same namespace: give the namespace too",
        )
    forms = {name: name for name in here} | dict(zip(dns_names(lab.lab.namespace), here, strict=True))
    assert_that(host in forms, subject, wanted, url, why, final=True)
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=forms[host] + port).geturl()


def test_client_finds_eva_by_dns_name(lab: LabContext) -> None:
    url = client_url(lab)
    subject = f"{CLIENT_ENV}={url} from pod {CLIENT}"
    steady = Unchanged(STEADY_SECONDS * timeout_scale())

    def asked() -> None:
        pod = lab.require("Pod", CLIENT)
        assert_that(
            is_ready(pod), lab.subject("Pod", CLIENT), "Ready", pod_states([pod]), settled=first_stuck([pod])
        )
        asked_from_inside(lab, CLIENT, ["curl", "-s", "-m", "3", url], subject, steady)

    lab.eventually(asked)


def test_access_survives_pod_death(lab: LabContext) -> None:
    url, subject = nodeport_url(lab)

    def two_west() -> list[Obj]:
        west = [p for p in lab.live_pods(WEST) if is_ready(p)]
        assert_that(len(west) == 2, f"pods {WEST}", "2 Ready", pod_states(west))
        return west

    west_only_selector(lab)
    victim = sorted(lab.eventually(two_west), key=name_of)[0]
    assert_that(
        owner_uid(victim) is not None,
        lab.subject("Pod", name_of(victim)),
        "a pod a controller (ReplicaSet, Deployment) makes again when it dies",
        "a bare pod: nothing creates another in its place",
        final=True,
    )
    lab.delete_pod(victim)  # a bare pod is put back as it was when the check ends
    answers: list[HttpAnswer] = []

    def replaced() -> None:
        answers.append(http_get(url))
        endpoints, west = endpoint_pods(lab), ready_names(lab, WEST)
        assert_that(
            len(west) == 2 and endpoints == west and name_of(victim) not in west,
            subject,
            f"2 west pods behind it again, a new one in place of {name_of(victim)}",
            f"endpoints {', '.join(sorted(endpoints)) or 'none'}",
        )

    lab.eventually(replaced)
    answers += [http_get(url) for _ in range(10)]
    failed = [a for a in answers if a.status != 200]
    assert_that(
        len(failed) <= len(answers) // 5 and all(a.status == 200 for a in answers[-10:]),
        subject,
        "requests answered while the pod was replaced (at most 1 in 5 lost, then all answered)",
        f"{len(failed)} of {len(answers)} lost; e.g. {failed[0].describe() if failed else ''}",
    )


def node_addresses(lab: LabContext) -> dict[str, str]:
    """Every node's name and address (InternalIP), as the cluster reports them."""
    found = {}
    for node in lab.kube.list("Node"):
        for address in field(node, "status.addresses") or []:
            if address.get("type") == "InternalIP" and "." in str(address.get("address")):
                found[name_of(node)] = str(address["address"])
                break
    return found


def test_every_node_answers(lab: LabContext) -> None:
    node_port = lab.param("node_port")
    nodeport_url(lab)  # a NodePort on the lab's port, or a final failure
    pods = [p for p in lab.live_pods(WEST) if is_ready(p)]
    assert_that(bool(pods), f"pods {WEST} in {lab.namespace}", "a Ready pod to ask from", "none", final=True)
    client = name_of(sorted(pods, key=name_of)[0])
    nodes = node_addresses(lab)
    assert_that(bool(nodes), "the cluster's nodes", "an address (InternalIP) each", "none", final=True)
    steady = Unchanged(STEADY_SECONDS * timeout_scale())

    def each_node() -> None:
        for name, address in sorted(nodes.items()):
            url = f"http://{address}:{node_port}/"
            curl = ["curl", "-s", "-m", "3", url]
            asked_from_inside(lab, client, curl, f"node {name} at {url} (asked from pod {client})", steady)

    lab.eventually(each_node)
