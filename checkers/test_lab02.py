"""Lab 02 — NodePort access. Titles, points and hints: labs/02-nodeport/lab.yaml."""

from __future__ import annotations

from collections import Counter

from kubelab.checks import LabContext, assert_that, fail, field, is_ready, name_of, owner_uid, pod_states
from kubelab.configs import env_entry
from kubelab.manifests import Obj
from kubelab.probes import HttpAnswer, http_get, web_said
from kubelab.selectors import matches, to_query
from kubelab.services import (
    Backends,
    by_label,
    dns_names,
    node_addresses,
    nodeport_url,
    ready_endpoints,
    service_url,
)
from kubelab.settled import first_stuck
from kubelab.text import Text

SERVICE = "eva"
CLIENT, CLIENT_ENV = "eva-client", "EVA_URL"
EVA, WEST, EAST = "app=eva", "app=eva,release=west", "app=eva,release=east"
SAMPLES = 20
"""Requests sent to see which pods answer (both west pods answer with near certainty)."""


def west_pods(lab: LabContext) -> Backends:
    """The Service eva and what should be behind it: the 2 Ready west pods."""
    return Backends(lab, SERVICE, WEST, 2)


def node_port_url(lab: LabContext) -> tuple[str, str]:
    """eva's URL from the learner's machine, or a final failure (kubelab.services.nodeport_url)."""
    return nodeport_url(lab, SERVICE, lab.param("node_port"))


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
    west_behind = west_pods(lab)
    steady = west_behind.steady

    def exact() -> None:
        west, endpoints = west_behind.wanted(), ready_endpoints(lab, SERVICE)
        if len(west) == 2 and endpoints == west:
            return
        pods = lab.live_pods(EVA)
        settled = steady.see((frozenset(endpoints), frozenset(west))) and all(is_ready(p) for p in pods)
        releases = by_label(lab.list("Pod", EVA), endpoints, "release")
        fail(
            lab.subject("Service", SERVICE),
            f"endpoints = the 2 Ready west pods ({', '.join(sorted(west)) or 'none Ready'})",
            f"endpoints {', '.join(sorted(endpoints)) or 'none'} (selector {selector})",
            Text(
                f"서비스가 파드 {len(endpoints)}개를 고릅니다: {releases}",
                f"the Service selects {len(endpoints)} pods: {releases}",
            ),
            settled=steady.reason(
                Text("엔드포인트(파드는 모두 Ready)", "the set of endpoints (every pod Ready)")
            )
            if settled
            else None,
        )

    lab.eventually(exact)


def test_host_reaches_west_pods_only(lab: LabContext) -> None:
    url, subject = node_port_url(lab)
    west_behind = west_pods(lab)

    def sampled() -> None:
        answers = [http_get(url) for _ in range(SAMPLES)]
        failed = [a for a in answers if a.status != 200]
        if failed:
            fail(
                subject,
                f"HTTP 200 for each of {SAMPLES} requests",
                failed[0].describe(),
                settled=west_behind.failure_settled(failed[0].describe()),
            )
        pods = Counter(web_said(a.body, "pod") for a in answers)
        seen = ", ".join(f"{name} ×{n}" for name, n in sorted(pods.items()))
        west, east = west_behind.wanted(), {name_of(p) for p in lab.list("Pod", EAST)}
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


def test_cluster_ip_and_dns_answer_inside(lab: LabContext) -> None:
    lab.require("Service", SERVICE)
    pods = [p for p in lab.live_pods(EVA) if is_ready(p)]
    assert_that(bool(pods), f"pods {EVA} in {lab.namespace}", "a Ready pod to ask from", "none", final=True)
    client = name_of(sorted(pods, key=name_of)[-1])
    subject = f"http://{SERVICE} from pod {client}"
    west_behind = west_pods(lab)

    def inside() -> None:
        west_behind.ask_from(client, f"http://{SERVICE}/", subject)

    lab.eventually(inside)


def client_url(lab: LabContext) -> str:
    """The URL eva-client's EVA_URL asks, in the answer's namespace; fails at once unless
    EVA_URL is a plain value that names the Service by a DNS name that works from any
    namespace (kubelab.services.service_url)."""
    pod = lab.require("Pod", CLIENT)
    entries = [e for c in field(pod, "spec.containers") or [] if (e := env_entry(c, CLIENT_ENV))]
    values = [e.get("value") for e in entries]
    subject = f"{lab.subject('Pod', CLIENT)} env {CLIENT_ENV}"
    assert_that(
        bool(values) and isinstance(values[0], str),
        subject,
        f"http://{dns_names(SERVICE, lab.namespace)[0]}",
        "not set" if not values else "not a plain value",
        final=True,
    )
    return service_url(lab, str(values[0]), SERVICE, subject)


def test_client_finds_eva_by_dns_name(lab: LabContext) -> None:
    url = client_url(lab)
    subject = f"{CLIENT_ENV}={url} from pod {CLIENT}"
    west_behind = west_pods(lab)

    def asked() -> None:
        pod = lab.require("Pod", CLIENT)
        assert_that(
            is_ready(pod), lab.subject("Pod", CLIENT), "Ready", pod_states([pod]), settled=first_stuck([pod])
        )
        west_behind.ask_from(CLIENT, url, subject)

    lab.eventually(asked)


def test_access_survives_pod_death(lab: LabContext) -> None:
    url, subject = node_port_url(lab)

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
    west_behind = west_pods(lab)

    def replaced() -> None:
        answers.append(http_get(url))
        endpoints, west = ready_endpoints(lab, SERVICE), west_behind.wanted()
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


def test_every_node_answers(lab: LabContext) -> None:
    node_port = lab.param("node_port")
    node_port_url(lab)  # a NodePort on the lab's port, or a final failure
    pods = [p for p in lab.live_pods(WEST) if is_ready(p)]
    assert_that(bool(pods), f"pods {WEST} in {lab.namespace}", "a Ready pod to ask from", "none", final=True)
    client = name_of(sorted(pods, key=name_of)[0])
    nodes = node_addresses(lab)
    assert_that(bool(nodes), "the cluster's nodes", "an address (InternalIP) each", "none", final=True)
    west_behind = west_pods(lab)

    def each_node() -> None:
        for name, address in sorted(nodes.items()):
            url = f"http://{address}:{node_port}/"
            west_behind.ask_from(client, url, f"node {name} at {url} (asked from pod {client})")

    lab.eventually(each_node)
