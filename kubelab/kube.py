"""A small facade over the official `kubernetes` client, in kubectl's words.

It is the one place kubelab imports the client, and only when a call needs it (`official`):
reads of built-in kinds from a simple kubeconfig go through kubelab.reader instead, so a
command that only looks never pays for importing the client. Other modules catch the
client's errors through `api_exception()` and `conflict_error()`.

Objects come back as plain dicts (`Obj`), so checks read like the YAML a learner wrote:
`rs["spec"]["replicas"]`.

Every request is bounded: it takes its timeout from the deadline in force
(kubelab.deadline), else REQUEST_TIMEOUT. A transient fault — no connection, a timeout,
429 or 5xx, a broken exec stream — is the machine's, not the learner's: the call is
tried again while the deadline (or TRANSIENT_BUDGET) lasts, each fault is counted in
`Kube.faults`, and what is left at the end is ClusterUnavailable (exit 3), never a
failed check.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import urllib3
import websocket

from kubelab import deadline, interrupts, reader
from kubelab.errors import ClusterUnavailable, InputError, NotPermitted
from kubelab.imports import without
from kubelab.manifests import API_VERSION, Obj
from kubelab.text import printable
from kubelab.waiting import retry_transient

FIELD_MANAGER = "kubelab"
T = TypeVar("T")

REQUEST_TIMEOUT = 15.0
EXEC_OUTPUT_BYTES = 1024 * 1024
"""The most of an exec's output (stdout and stderr together) a check reads: a command in
an answer's pod may print without end."""
LOG_BYTES = 256 * 1024
"""The most of a container's log read at once (the kubelet cuts it)."""
"""Seconds one API request may take (less when a deadline is nearer)."""
TRANSIENT_BUDGET = 30.0
"""Seconds a call outside any deadline keeps retrying a transient fault."""
CONNECT_BUDGET = 5.0
"""Seconds the first contact with a cluster keeps trying (a stopped cluster is said at once)."""
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
"""API answers that say "not now" rather than "no"."""


HEALTH_SECONDS = 2.0
"""Seconds one answer of the API server's /readyz is taken as still true."""

_HANDSHAKE = re.compile(r"Handshake status (\d{3})")


class _Health:
    """The last answer of a health probe, kept HEALTH_SECONDS, shared by every thread
    (and every impersonating connection) that talks to one cluster."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: tuple[float, bool] | None = None

    def ask(self, probe: Callable[[], bool]) -> bool:
        with self._lock:
            if self._seen is not None and time.monotonic() - self._seen[0] < HEALTH_SECONDS:
                return self._seen[1]
            answer = probe()
            self._seen = (time.monotonic(), answer)
            return answer


@cache
def official() -> Any:
    """The official client's modules and errors, imported on first use (without
    kubernetes_validate: see kubelab.imports), its exec websockets bounded."""
    with without("kubernetes_validate"):
        from kubernetes import client, config
        from kubernetes.dynamic import DynamicClient
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.stream import ws_client

    setattr(ws_client, "WebSocket", _BoundedWebSocket)  # noqa: B010 (a library module's global)
    return SimpleNamespace(
        client=client,
        config=config,
        DynamicClient=DynamicClient,
        ApiException=ApiException,
        ConfigException=ConfigException,
    )


class _NotRaisedYet(Exception):
    """Stands for one of the client's errors while the client is not imported: nothing
    can have raised it then (and an `except` clause must not import the client while a
    Ctrl-C passes through it)."""


def _client_error(module: str, name: str) -> type[Exception]:
    loaded = sys.modules.get(module)
    found: type[Exception] = getattr(loaded, name) if loaded is not None else _NotRaisedYet
    return found


def api_exception() -> type[Exception]:
    """The client's ApiException (an API server's refusal), for an `except` clause."""
    return _client_error("kubernetes.client.exceptions", "ApiException")


def conflict_error() -> type[Exception]:
    """The client's ConflictError (409: the name is taken), for an `except` clause."""
    return _client_error("kubernetes.dynamic.exceptions", "ConflictError")


def not_found_error() -> type[Exception]:
    return _client_error("kubernetes.dynamic.exceptions", "NotFoundError")


def _is_api_exception(error: BaseException) -> bool:
    return isinstance(error, api_exception())


def is_transient(error: BaseException) -> bool:
    """Is this a fault of the machine or cluster that may pass (retry), rather than an
    answer about the learner's objects?"""
    if _is_api_exception(error):
        refused: Any = error
        if refused.status == 0:  # the exec websocket could not be opened
            # An HTTP answer to the upgrade is the API server's (or kubelet's) word about
            # the pod — "container not found" comes as a 500 — unless it says "not now";
            # no HTTP answer at all (refused, timed out) is the connection's fault.
            answered = _HANDSHAKE.match(str(refused.reason or ""))
            return answered is None or int(answered.group(1)) in TRANSIENT_STATUS - {500}
        return refused.status in TRANSIENT_STATUS
    return isinstance(error, (urllib3.exceptions.HTTPError, OSError, websocket.WebSocketException))


def fault_reason(error: BaseException) -> str:
    """One line for a transient fault."""
    if _is_api_exception(error):
        status = getattr(error, "status", 0)
        said = f"HTTP {status} {api_reason(error)}" if status else str(getattr(error, "reason", ""))
    else:
        said = str(getattr(error, "reason", None) or error)
    return " ".join(said.split())[:200] or type(error).__name__


class _BoundedWebSocket(websocket.WebSocket):
    """The kubernetes client opens exec websockets with no timeout, so a paused API
    server holds a connect (and every later read) forever. This one connects and reads
    within the deadline in force; ws_client uses it in place of websocket.WebSocket."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sock_opt.timeout = deadline.bound(REQUEST_TIMEOUT)


@dataclass(frozen=True)
class Target:
    """Which cluster to talk to: a kubeconfig file and a context in it."""

    kubeconfig: Path | None
    """None: the usual lookup ($KUBECONFIG, then ~/.kube/config)."""
    context: str | None
    """None: the kubeconfig's current context."""

    def describe(self) -> str:
        return f"context {self.context or '(current)'} in {self.kubeconfig or '~/.kube/config'}"

    def kubectl_flags(self) -> list[str]:
        flags = [f"--kubeconfig={self.kubeconfig}"] if self.kubeconfig else []
        return flags + ([f"--context={self.context}"] if self.context else [])


class Kube:
    """A connection to one cluster."""

    def __init__(self, target: Target, headers: dict[str, str] | None = None) -> None:
        self.target = target
        self.headers = dict(headers or {})
        """Sent with every request (Impersonate-User)."""
        found = reader.access(target.kubeconfig, target.context)
        context = reader.tls(found) if found is not None else None
        self._reader = reader.Reader(found, context, self.headers) if found and context else None
        self._api: Any = None
        if self._reader is None:
            _ = self.api  # the official client reads the kubeconfig now, and says what is wrong
        self._dynamic: Any = None
        self._resources: dict[tuple[str, str | None], Any] = {}
        """The API resource of each kind looked up so far (a kind found stays found). Not
        shared with an impersonating connection: a resource carries the client (and the
        Impersonate-User header) it was found through."""
        self._cluster_id: str | None = None
        self._health: _Health = _Health()
        self.limited = False
        """Acting with a credential that may do less than kubelab's checks ask (a student's
        class seat, kubelab.seat): RBAC's refusals are raised as NotPermitted, which no
        checker takes for the answer's failure."""
        self.faults: list[str] = []
        """Every transient fault met so far (the plugin reads it to tell a learner's
        failure from the machine's)."""

    @property
    def api(self) -> Any:
        """The official client's ApiClient for this cluster, made on first use."""
        if self._api is None:
            k = official()
            settings = k.client.Configuration()
            settings.retries = False  # kubelab retries transient faults itself, within the deadline
            try:
                api = k.config.new_client_from_config(
                    config_file=str(self.target.kubeconfig) if self.target.kubeconfig else None,
                    context=self.target.context,
                    client_configuration=settings,
                )
            except (k.ConfigException, OSError) as e:
                raise ClusterUnavailable(
                    f"no usable kubeconfig ({self.target.describe()}): {e}",
                    f"사용할 수 있는 kubeconfig가 없습니다 ({self.target.describe()}): {e}",
                ) from e
            _bound_requests(api)
            for header, value in self.headers.items():
                api.set_default_header(header, value)
            self._api = api
        return self._api

    def _read(self, path: str, query: dict[str, str] | None = None, missing_ok: bool = True) -> Any:
        """GET through the reader: the decoded body; None for 404 when missing_ok; any
        other answer raised as the official client raises it (ApiException)."""
        assert self._reader is not None
        status, body = self._reader.get(path, deadline.bound(REQUEST_TIMEOUT), query)
        if status == 404 and missing_ok:
            return None
        if status != 200:
            error = official().ApiException(status=status, reason=_status_reason(body))
            error.body = body.decode("utf-8", "replace")
            raise error
        return json.loads(body)

    def call(self, fn: Callable[[], T], budget: float = TRANSIENT_BUDGET, carries_object: bool = False) -> T:
        """Run one API call; transient faults are retried within the deadline (or
        `budget`), and what is left is ClusterUnavailable. A call that `carries_object`
        (a create, apply or patch of someone's object) may be answered with a 500 about
        that object: then it is refused, not retried (`_about_the_request`)."""

        def seen(error: BaseException) -> None:
            interrupts.raise_if_interrupted()  # the client turns a Ctrl-C into an ApiException
            self.faults.append(fault_reason(error))

        def transient(error: BaseException) -> bool:
            return is_transient(error) and not (carries_object and self._about_the_request(error))

        try:
            return retry_transient(fn, transient, deadline.bound(budget), seen)
        except Exception as e:
            interrupts.raise_if_interrupted()
            refused = not_permitted(e) if self.limited else None
            if refused is not None:
                raise NotPermitted(
                    f"your credential may not {refused}", f"이 자격 증명으로는 할 수 없습니다: {refused}"
                ) from e
            if not transient(e):
                raise
            self.faults.append(fault_reason(e))
            raise ClusterUnavailable(
                f"cannot reach the cluster ({self.target.describe()}): {fault_reason(e)}",
                f"클러스터에 연결할 수 없습니다 ({self.target.describe()}): {fault_reason(e)}",
            ) from e

    def _about_the_request(self, error: BaseException) -> bool:
        """Is this 500 the API server's word about the object a write carried (a server-side
        apply of a field of the wrong type: "failed to create typed patch object", "failed
        to convert new object") rather than the cluster failing? Evidence decides, not the
        status code: a Status of the API server's own that names no server-side reason
        (etcd, a webhook, a timeout say InternalError, Timeout, ServiceUnavailable), while
        the API server reports itself ready."""
        if not _is_api_exception(error) or getattr(error, "status", 0) != 500:
            return False
        try:
            said = json.loads(getattr(error, "body", None) or "{}")
        except ValueError:
            return False
        if not isinstance(said, dict) or said.get("kind") != "Status" or said.get("reason"):
            return False
        return self.healthy()

    def healthy(self) -> bool:
        """Does the API server say it is ready (GET /readyz, within CONNECT_BUDGET)? Asked
        before a failure is blamed on the cluster rather than on what a request carried;
        the answer is kept HEALTH_SECONDS (many requests may fail at once)."""
        return self._health.ask(self._ready)

    def _ready(self) -> bool:
        timeout = deadline.bound(CONNECT_BUDGET)
        try:
            if self._reader is not None:
                status, _ = self._reader.get("/readyz", timeout)
                return status == 200
            method, url, headers, _, _ = self.api.param_serialize(
                "GET", "/readyz", auth_settings=["BearerToken"]
            )
            answer = self.api.call_api(method, url, header_params=headers, _request_timeout=timeout)
            return bool(answer.status == 200)
        except Exception:  # no answer, or not ready: either way not healthy
            interrupts.raise_if_interrupted()
            return False

    def impersonating(self, user: str) -> Kube:
        """The same cluster, every request made as `user` (the API server checks that
        kubelab may impersonate, then authorizes and admits each request as that user)."""
        other = Kube(self.target, {**self.headers, "Impersonate-User": user})
        other._cluster_id = self.cluster_id()  # the user may not read kube-system
        other._health = self._health  # one cluster, one answer
        other.faults = self.faults
        return other

    @property
    def dynamic(self) -> Any:
        if self._dynamic is None:
            self._dynamic = self.call(lambda: official().DynamicClient(self.api))
        return self._dynamic

    def cluster_id(self) -> str:
        """What tells this cluster from any other: its kube-system namespace's UID (a
        cluster made again under the same name has a new one)."""
        if self._cluster_id is None:
            system = self.get("Namespace", "kube-system")
            self._cluster_id = str((system or {}).get("metadata", {}).get("uid") or "unknown")
        return self._cluster_id

    def server_version(self, budget: float = TRANSIENT_BUDGET) -> str:
        if self._reader is not None:
            return str(self.call(lambda: self._read("/version", missing_ok=False), budget)["gitVersion"])
        info = self.call(lambda: official().client.VersionApi(self.api).get_code(), budget)
        return str(info.git_version)

    def resource(self, kind: str, api_version: str | None = None) -> Any:
        """The API resource for a kind; where two groups share the kind (Event), the core
        group's, as kubectl picks it."""
        if not isinstance(kind, str) or (
            api_version is not None
            and not (isinstance(api_version, str) and API_VERSION.fullmatch(api_version))
        ):
            shown = printable(f"{api_version} {kind}"[:120])
            raise InputError(f"not a Kubernetes kind: {shown}", f"쿠버네티스 종류가 아닙니다: {shown}")
        known = self._resources.get((kind, api_version))
        if known is not None:
            return known
        try:
            found = self.call(lambda: self.dynamic.resources.get(api_version=api_version, kind=kind))
        except _client_error("kubernetes.dynamic.exceptions", "ResourceNotUniqueError"):
            found = self.call(lambda: self.dynamic.resources.get(api_version="v1", kind=kind))
        except _client_error("kubernetes.dynamic.exceptions", "ResourceNotFoundError") as e:
            raise InputError(
                f"the cluster has no kind {kind} ({api_version or 'any version'})",
                f"클러스터에 {kind} 종류가 없습니다 ({api_version or '모든 버전'})",
            ) from e
        self._resources[kind, api_version] = found
        return found

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or None when it does not exist (kubectl get KIND NAME)."""
        path = self._reader.path(kind, name, namespace) if self._reader else None
        if path is not None:
            read: Obj | None = self.call(lambda: self._read(path))
            return read
        res = self.resource(kind)
        try:
            found = self.call(lambda: res.get(name=name, namespace=namespace))
        except not_found_error():
            return None
        result: Obj = found.to_dict()
        return result

    def list(self, kind: str, namespace: str | None = None, selector: str = "") -> list[Obj]:
        """Objects of a kind, optionally filtered by a label selector (kubectl get -l)."""
        path = self._reader.path(kind, None, namespace) if self._reader else None
        if path is not None:
            query = {"labelSelector": selector} if selector else None
            found_list = self.call(lambda: self._read(path, query, missing_ok=False))
            listed: list[Obj] = found_list.get("items") or []
            for item in listed:  # as the official client gives them: each with its kind
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", found_list.get("apiVersion"))
            return listed
        res = self.resource(kind)
        found = self.call(lambda: res.get(namespace=namespace, label_selector=selector))
        items: list[Obj] = found.to_dict().get("items", [])
        return items

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        grace_seconds: int | None = None,
        uid: str | None = None,
    ) -> bool:
        """Delete one object; False when it was already gone (or, with uid, when the object
        of that name is another one: the API server checks the uid itself). grace_seconds
        shortens a pod's termination (a shell as PID 1 ignores SIGTERM; the default is 30 s)."""
        res = self.resource(kind)
        body: dict[str, Any] = {}
        if grace_seconds is not None:
            body["gracePeriodSeconds"] = grace_seconds
        if uid is not None:
            body["preconditions"] = {"uid": uid}
        try:
            self.call(lambda: res.delete(name=name, namespace=namespace, body=body or None))
        except not_found_error():
            return False
        except conflict_error():  # the uid precondition failed: not the object we meant
            return False
        return True

    def delete_all(self, kind: str, namespace: str, grace_seconds: int | None = None) -> None:
        """Delete every object of a kind in one namespace (kubectl delete KIND --all);
        grace_seconds=0 stops pods at once instead of letting each take its grace period."""
        res = self.resource(kind)
        body = {"gracePeriodSeconds": grace_seconds} if grace_seconds is not None else None
        everything = f"metadata.namespace={namespace}"  # the client wants some selector
        self.call(lambda: res.delete(namespace=namespace, body=body, field_selector=everything))

    def create(self, obj: Obj, namespace: str | None = None, dry_run: bool = False) -> Obj:
        """Create one object (kubectl create); ConflictError when the name is taken."""
        res = self.resource(obj["kind"], obj.get("apiVersion"))
        ns = namespace if res.namespaced else None
        run = {"dry_run": "All"} if dry_run else {}
        created = self.call(
            lambda: res.create(body=obj, namespace=ns, field_manager=FIELD_MANAGER, **run),
            carries_object=True,
        )
        result: Obj = created.to_dict()
        return result

    def may(self, verb: str, resource: str, namespace: str | None = None, group: str = "") -> bool:
        """May this connection's credential do it? (kubectl auth can-i: the API server's
        SelfSubjectAccessReview, which every authenticated user may ask.)"""
        attributes = {"verb": verb, "resource": resource, "group": group}
        if namespace is not None:
            attributes["namespace"] = namespace
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        api = official().client.AuthorizationV1Api(self.api)
        said = self.call(lambda: api.create_self_subject_access_review(review))
        return bool(said.status and said.status.allowed)

    def token(self, namespace: str, account: str, seconds: int) -> str:
        """A token of the ServiceAccount from the TokenRequest API, valid `seconds` (the API
        server may shorten it), bound to the account: it dies when the account is deleted."""
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        }
        core = official().client.CoreV1Api(self.api)
        made = self.call(lambda: core.create_namespaced_service_account_token(account, namespace, body))
        return str(made.status.token)

    def logs(
        self,
        pod: str,
        namespace: str,
        container: str | None = None,
        tail: int | None = None,
        previous: bool = False,
        limit_bytes: int = LOG_BYTES,
    ) -> str:
        """What a container printed (kubectl logs POD -c CONTAINER --tail N [--previous]),
        at most `limit_bytes` of it (the kubelet cuts it: an answer's pod may print without
        end); "" if none."""
        api = official().client.CoreV1Api(self.api)
        try:
            text = self.call(
                lambda: api.read_namespaced_pod_log(
                    pod,
                    namespace,
                    container=container,
                    tail_lines=tail,
                    previous=previous,
                    limit_bytes=limit_bytes,
                    _request_timeout=10,
                )
            )
        except api_exception():
            return ""
        return str(text or "")

    def warning_events(self, pod: Obj) -> tuple[str, ...]:
        """This pod's Warning events, oldest first, as "Reason: message" (the Events of
        kubectl describe pod); by UID, so an earlier pod of the same name does not count."""
        api = official().client.CoreV1Api(self.api)
        selector = f"involvedObject.uid={pod['metadata']['uid']},type=Warning"
        namespace = pod["metadata"]["namespace"]
        try:
            found = self.call(lambda: api.list_namespaced_event(namespace, field_selector=selector)).items
        except api_exception():
            return ()
        found.sort(key=lambda e: str(e.last_timestamp or e.event_time or e.metadata.creation_timestamp or ""))
        return tuple(f"{e.reason}: {str(e.message or '').strip()[:300]}" for e in found)

    def apply(self, obj: Obj, namespace: str | None = None, dry_run: bool = False) -> Obj:
        """Server-side apply of one object with field manager `kubelab` (dry_run: the API
        server checks it and changes nothing)."""
        res = self.resource(obj["kind"], obj.get("apiVersion"))
        ns = namespace if res.namespaced else None
        applied = self.call(
            lambda: res.server_side_apply(
                body=obj,
                name=obj["metadata"]["name"],
                namespace=ns,
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
                dry_run="All" if dry_run else None,
            ),
            carries_object=True,
        )
        result: Obj = applied.to_dict()
        return result

    def patch(
        self,
        kind: str,
        name: str,
        namespace: str | None,
        body: Obj,
        merge: bool = False,
        dry_run: bool = False,
    ) -> Obj:
        """Patch one object with field manager `kubelab`: a strategic merge patch (lists of
        containers merged by name, as `kubectl set image` does), or with `merge` a JSON merge
        patch (nothing but the keys given is touched); dry_run: checked, never stored."""
        res = self.resource(kind)
        kind_of_patch = "merge-patch" if merge else "strategic-merge-patch"
        patched = self.call(
            lambda: res.patch(
                body=body,
                name=name,
                namespace=namespace,
                content_type=f"application/{kind_of_patch}+json",
                field_manager=FIELD_MANAGER,
                dry_run="All" if dry_run else None,
            ),
            carries_object=True,
        )
        result: Obj = patched.to_dict()
        return result

    def is_namespaced(self, kind: str, api_version: str | None = None) -> bool:
        return bool(self.resource(kind, api_version).namespaced)


def _status_reason(body: bytes) -> str:
    """The API server's message in an error answer (a Status object), else its start."""
    try:
        return str(json.loads(body).get("message") or "")[:300]
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace")


def _bound_requests(api: Any) -> None:
    """Give every request of this client a timeout from the deadline in force, unless
    the caller chose one (a watch does)."""
    rest = api.rest_client
    send = rest.request

    def bounded(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("_request_timeout") is None:
            kwargs["_request_timeout"] = deadline.bound(REQUEST_TIMEOUT)
        return send(*args, **kwargs)

    setattr(rest, "request", bounded)  # noqa: B010 (replaces the method on this instance)


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a container (kubectl exec) gave back."""

    code: int
    stdout: str
    stderr: str


def exec_in_pod(
    kube: Kube,
    pod: str,
    namespace: str,
    command: Sequence[str],
    container: str | None = None,
    timeout: float = 30,
) -> ExecResult:
    """Run a command in a pod's container and wait for it (kubectl exec POD -- COMMAND),
    for at most `timeout` seconds (less when the deadline is nearer).

    Whatever the pod makes of it is a result, like any failed command, so checks can
    wait it out: no such pod or container, a container not running (code -1 and the API
    server's reason), a command that did not finish in time, a stream that closed or
    broke while it ran (code -1). Only an exec that never reached the API server (no
    connection, 429, 5xx from the API server itself) is tried again — the command has
    not run then — and, when that lasts, is ClusterUnavailable. A broken stream is noted
    in `kube.faults`, so a check that fails after it is not blamed on the learner.
    """
    k = official()  # first: the client comes in only one way
    from kubernetes.stream import stream

    def connect() -> Any:
        # a client of its own: the official stream() swaps its client's request method
        # while it connects, and any other thread's request on a shared client would go
        # out as a websocket handshake ("Handshake status 200 OK")
        shared = kube.api
        own = k.client.ApiClient(configuration=shared.configuration)
        for header, value in shared.default_headers.items():
            own.set_default_header(header, value)
        api = k.client.CoreV1Api(own)
        kwargs = {"container": container} if container else {}
        return stream(
            api.connect_get_namespaced_pod_exec,
            pod,
            namespace,
            command=list(command),
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
            _preload_content=False,
            **kwargs,
        )

    try:
        resp = kube.call(connect)
    except api_exception() as e:
        return ExecResult(-1, "", api_reason(e))
    limit = deadline.bound(timeout)
    try:
        output = _Output(resp, EXEC_OUTPUT_BYTES)
        ends = time.monotonic() + limit
        while resp.is_open() and not output.full() and time.monotonic() < ends:
            resp.update(timeout=max(0.0, ends - time.monotonic()))
            output.take()
        if output.full():
            cut = f"output longer than {EXEC_OUTPUT_BYTES // 1024} KiB: read no further"
            return ExecResult(-1, output.stdout(), cut)
        if resp.is_open():
            return ExecResult(-1, output.stdout(), f"no answer within {limit:g} s")
        out, err, code = output.stdout(), output.stderr(), _exit_code(resp)
        if code == -1 and not err:
            err = "exec ended without an exit status (the container stopped?)"
        return ExecResult(code, out, err)
    except (OSError, websocket.WebSocketException) as e:
        interrupts.raise_if_interrupted()
        kube.faults.append(f"exec stream broke: {fault_reason(e)}")
        return ExecResult(-1, "", f"the exec stream broke: {fault_reason(e)}")
    finally:
        resp.close()


class _Output:
    """An exec's stdout and stderr as they come, up to `limit` characters together. The
    client's own reading takes every frame already there before it returns and keeps a
    copy of all, so a command that prints without end would hold it past any deadline and
    fill the memory: here each update reads one frame, and nothing is kept twice."""

    def __init__(self, resp: Any, limit: int) -> None:
        self.resp = resp
        self.limit = limit
        self.parts: dict[int, list[str]] = {_STDOUT: [], _STDERR: []}
        self.size = 0
        resp._frames_immediately_available = lambda: False  # one frame per update()

    def take(self) -> None:
        for channel, parts in self.parts.items():
            data = self.resp._channels.pop(channel, "")
            if data:
                parts.append(data)
                self.size += len(data)
        with_all = getattr(self.resp, "_all", None)
        if with_all is not None:  # the client's copy of everything, never read here
            with_all.seek(0)
            with_all.truncate()

    def full(self) -> bool:
        return self.size > self.limit

    def stdout(self) -> str:
        return "".join(self.parts[_STDOUT])[: self.limit]

    def stderr(self) -> str:
        return "".join(self.parts[_STDERR])[: self.limit]


_STDOUT, _STDERR = 1, 2
"""The exec stream's channels of the command's output (kubernetes.stream.ws_client)."""


def _exit_code(resp: Any) -> int:
    """The command's exit code; -1 when the stream closed without one (the container
    stopped while the command ran)."""
    try:
        code = resp.returncode
    except (ValueError, TypeError, KeyError, IndexError):
        return -1
    return int(code) if code is not None else -1


_RBAC_REFUSAL = re.compile(r'cannot ([\w-]+) resource "([^"]+)"(?: in API group "([^"]*)")?')


def not_permitted(error: BaseException) -> str | None:
    """What RBAC refused ("list nodes", "create namespaces"), if this is RBAC's 403; None
    for any other answer (an admission policy's 403 is about the object sent, not about
    who sent it)."""
    if not _is_api_exception(error):
        return None
    status = getattr(error, "status", 0)
    if not status:  # an exec: the refusal is the websocket handshake's answer
        answered = _HANDSHAKE.match(str(getattr(error, "reason", "") or ""))
        status = int(answered.group(1)) if answered else 0
    if status != 403:
        return None
    found = _RBAC_REFUSAL.search(api_reason(error))
    if found is None:
        return None
    verb, resource, group = found.groups()
    return f"{verb} {resource}" + (f" ({group})" if group else "")


def api_reason(error: Any) -> str:
    """The API server's own message for a refused request, one line (for a refused exec,
    the message in the body of its handshake answer)."""
    body = error.body
    reason = str(error.reason or "")
    if not body and "-+-+-" in reason:  # websocket: "Handshake status … -+-+- headers -+-+- body"
        body = reason.rsplit("-+-+-", 1)[-1].strip()
    try:
        message = json.loads(body or "{}").get("message")
    except (ValueError, AttributeError):  # a plain-text answer (the kubelet's) is the message
        message = body if body and body != "None" else None
    return (str(message or reason or error).splitlines() or ["refused"])[0][:300]
