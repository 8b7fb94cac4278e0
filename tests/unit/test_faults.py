"""Faults of the machine are not the learner's: bounded, retried, and said as such."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from kubelab import deadline
from kubelab.errors import ClusterUnavailable, InputError
from kubelab.kube import Kube, Target, api_reason, exec_in_pod, fault_reason, is_transient, official
from kubelab.waiting import retry_transient


def api_error(status: int, reason: str = "") -> ApiException:
    return ApiException(status=status, reason=reason)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_busy_or_broken_servers_are_transient(status: int) -> None:
    assert is_transient(api_error(status))


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_answers_about_the_objects_are_not(status: int) -> None:
    assert not is_transient(api_error(status))


NOT_RUNNING = (
    "Handshake status 500 Internal Server Error -+-+- {'content-type': 'application/json'} -+-+- "
    '{"kind":"Status","apiVersion":"v1","status":"Failure",'
    '"message":"unable to upgrade connection: container not found (\\"web\\")","code":500}'
)


def test_an_exec_the_api_server_answered_is_the_pods_business() -> None:
    """A container that is not running is answered with a 500: that is the learner's pod
    (crash-looping, say), not the cluster failing."""
    assert not is_transient(api_error(0, "Handshake status 404 Not Found -+-+- {} -+-+- None"))
    assert not is_transient(api_error(0, NOT_RUNNING))
    assert (
        api_reason(api_error(0, NOT_RUNNING)) == 'unable to upgrade connection: container not found ("web")'
    )
    plain = 'Handshake status 500 Internal Server Error -+-+- {} -+-+- container not found ("crash")'
    assert not is_transient(api_error(0, plain))  # as the kubelet answers for a crashed container
    assert api_reason(api_error(0, plain)) == 'container not found ("crash")'
    assert is_transient(api_error(0, "Handshake status 503 Service Unavailable -+-+- {} -+-+- None"))
    assert is_transient(api_error(0, "[Errno 111] Connection refused"))
    assert is_transient(urllib3.exceptions.ReadTimeoutError(None, "/", "read timed out"))


def test_a_transient_fault_is_retried_until_it_passes() -> None:
    answers = iter([api_error(503), api_error(429), "ok"])
    seen: list[BaseException] = []

    def call() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retry_transient(call, is_transient, budget=5, seen=seen.append) == "ok"
    assert [e.status for e in seen] == [503, 429]  # type: ignore[attr-defined]


def test_a_refusal_is_not_retried() -> None:
    calls = []

    def call() -> None:
        calls.append(1)
        raise api_error(422)

    with pytest.raises(ApiException):
        retry_transient(call, is_transient, budget=5)
    assert calls == [1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that takes connections and never answers: an API server whose node is
    paused (docker pause) looks like this."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def kube_at(tmp_path: Path, port: int, scheme: str = "https") -> Kube:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: '{scheme}://127.0.0.1:{port}', "
        "insecure-skip-tls-verify: true}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\n"
    )
    return Kube(Target(config, "c"))


def test_a_silent_api_server_is_an_environment_fault_within_the_deadline(
    tmp_path: Path, silent_server: int
) -> None:
    kube = kube_at(tmp_path, silent_server)
    started = time.monotonic()
    with deadline.within(2.0), pytest.raises(ClusterUnavailable, match="cannot reach the cluster"):
        kube.get("ConfigMap", "c", "ns")
    assert time.monotonic() - started < 6
    assert kube.faults  # counted, so the check's failure is not blamed on the learner


def test_an_exec_to_a_silent_api_server_ends_within_the_deadline(tmp_path: Path, silent_server: int) -> None:
    kube = kube_at(tmp_path, silent_server)
    kube._dynamic = object()  # type: ignore[assignment]  # exec needs no discovery
    official()  # the client's import (seconds on a busy machine) is not what the deadline bounds
    started = time.monotonic()
    with deadline.within(2.0), pytest.raises(ClusterUnavailable):
        exec_in_pod(kube, "p", "ns", ["true"])
    # one operation gets at least MIN_BOUND (5 s) even at the deadline; a silent server
    # without the bound would hold it for ever. The margin is for a busy machine (7 s seen).
    assert time.monotonic() - started < deadline.MIN_BOUND + 5


def test_a_reason_over_several_lines_is_still_one_line() -> None:
    """A broken TLS stream during a node restart came back as a reason of two lines; the
    learner's one line was the second half of it, without its label."""
    error = ApiException(status=0, reason="Handshake failed\n[SSL: UNEXPECTED_EOF_WHILE_READING] EOF")
    assert fault_reason(error) == "Handshake failed [SSL: UNEXPECTED_EOF_WHILE_READING] EOF"
    line = ClusterUnavailable("cannot reach\nthe cluster", "연결\n불가").line("ko")
    assert line == "environment: 연결 불가 / cannot reach the cluster"


TYPED_PATCH = (
    '{"kind":"Status","apiVersion":"v1","status":"Failure","message":"failed to create typed patch object '
    "(/simple-replicaset; apps/v1, Kind=ReplicaSet): .spec.replicas: expected numeric (int or float), "
    'got string","code":500}'
)
WEBHOOK = (
    '{"kind":"Status","apiVersion":"v1","status":"Failure",'
    '"message":"Internal error occurred: failed calling webhook","reason":"InternalError","code":500}'
)


@pytest.fixture
def api_server() -> Iterator[dict[str, Any]]:
    """An HTTP API server that answers every request with a 500 of its own (a Status:
    `said["body"]`), and /readyz with `said["readyz"]`; counts the requests."""
    import http.server
    import threading

    said: dict[str, Any] = {"readyz": 200, "requests": 0, "body": TYPED_PATCH}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ready = self.path.startswith("/readyz")
            said["requests"] += 0 if ready else 1
            status, body = (said["readyz"], b"ok") if ready else (500, said["body"].encode())
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    said["port"] = server.server_address[1]
    try:
        yield said
    finally:
        server.shutdown()


def write(kube: Kube) -> Any:
    """A call that carries an object (an apply, as the API server answers it)."""
    return kube.call(lambda: kube._read("/apis/apps/v1/namespaces/ns/replicasets/r"), carries_object=True)


def test_a_500_about_the_object_a_write_carried_is_its_refusal(
    tmp_path: Path, api_server: dict[str, Any]
) -> None:
    """A server-side apply of a field of the wrong type is answered with a 500; the API
    server says it is ready, so the answer is the request's refusal (the student's), not a
    lost cluster: not retried, not counted as a fault."""
    kube = kube_at(tmp_path, api_server["port"], "http")
    started = time.monotonic()
    with deadline.within(10.0), pytest.raises(ApiException) as refused:
        write(kube)
    assert time.monotonic() - started < 3 and api_server["requests"] == 1
    assert "expected numeric" in api_reason(refused.value) and not kube.faults


@pytest.mark.parametrize("case", ["not ready", "a webhook failed", "a read"])
def test_other_500s_are_the_clusters(tmp_path: Path, api_server: dict[str, Any], case: str) -> None:
    """Not when the API server is not ready, not an internal error of its own (etcd, a
    webhook), not a read: those are retried and, when they last, the cluster's."""
    api_server["readyz"] = 500 if case == "not ready" else 200
    api_server["body"] = WEBHOOK if case == "a webhook failed" else TYPED_PATCH
    kube = kube_at(tmp_path, api_server["port"], "http")
    with deadline.within(2.0), pytest.raises(ClusterUnavailable, match="cannot reach the cluster"):
        kube.get("ConfigMap", "c", "ns") if case == "a read" else write(kube)
    assert api_server["requests"] > 1 and kube.faults


def test_health_is_asked_through_the_official_client_too(tmp_path: Path, api_server: dict[str, Any]) -> None:
    """A kubeconfig kubelab does not read itself (here a user with a password) goes
    through the official client, and so does the health probe."""
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{api_server['port']}'}}}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
        "users: [{name: u, user: {username: u, password: p}}]\n"
    )
    kube = Kube(Target(config, "c"))
    assert kube._reader is None and kube.healthy()
    api_server["readyz"] = 500
    assert not Kube(Target(config, "c")).healthy()


class _Discovery:
    """The dynamic client's discovery, counting lookups: ReplicaSet is known, Widget not."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.resources = self

    def get(self, api_version: str | None, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        self.asked.append(kind)
        if kind != "ReplicaSet":
            raise ResourceNotFoundError(f"no {kind}")
        return type("Resource", (), {"namespaced": True})()


def test_a_kind_is_looked_up_once_per_cluster_and_an_unknown_one_each_time(tmp_path: Path) -> None:
    """Discovery searches every group for a kind (a tenth of a millisecond, on every check
    that names its object): a kind found is kept by its connection; one not found is asked
    again (a CRD applied since may have made it)."""
    kube = kube_at(tmp_path, 1)
    found = _Discovery()
    kube._dynamic = found
    kube._cluster_id = "c"  # impersonating asks for it, and nothing answers at this address
    assert kube.is_namespaced("ReplicaSet") and kube.resource("ReplicaSet") is kube.resource("ReplicaSet")
    # a resource carries its client: another user's connection finds its own (shared, the
    # answer's writes went out as another sandbox's user and were refused)
    assert kube.impersonating("someone")._resources == {}
    for _ in range(2):
        with pytest.raises(InputError, match="no kind Widget"):
            kube.resource("Widget")
    assert found.asked == ["ReplicaSet", "Widget", "Widget"]
