"""A small facade over the official `kubernetes` client, in kubectl's words.

Objects come back as plain dicts (`Obj`), so checks read like the YAML a learner wrote:
`rs["spec"]["replicas"]`. Connection problems become ClusterUnavailable with one line
that says which cluster could not be reached.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError, ResourceNotUniqueError

from kubelab.errors import ClusterUnavailable, InputError
from kubelab.manifests import Obj

FIELD_MANAGER = "kubelab"
T = TypeVar("T")


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


@contextmanager
def _talking_to(target: Target) -> Iterator[None]:
    """Turn connection failures into one ClusterUnavailable line."""
    try:
        yield
    except (urllib3.exceptions.HTTPError, OSError) as e:
        reason = str(getattr(e, "reason", e)).splitlines()[0][:200]
        raise ClusterUnavailable(
            f"cannot reach the cluster ({target.describe()}): {reason}",
            f"클러스터에 연결할 수 없습니다 ({target.describe()}): {reason}",
        ) from e


class Kube:
    """A connection to one cluster."""

    def __init__(self, target: Target) -> None:
        self.target = target
        try:
            self.api = config.new_client_from_config(
                config_file=str(target.kubeconfig) if target.kubeconfig else None,
                context=target.context,
            )
        except (ConfigException, OSError) as e:
            raise ClusterUnavailable(
                f"no usable kubeconfig ({target.describe()}): {e}",
                f"사용할 수 있는 kubeconfig가 없습니다 ({target.describe()}): {e}",
            ) from e
        self.api.configuration.retries = 1
        self._dynamic: DynamicClient | None = None

    def call(self, fn: Callable[[], T]) -> T:
        """Run one API call, with connection failures turned into ClusterUnavailable."""
        with _talking_to(self.target):
            return fn()

    @property
    def dynamic(self) -> DynamicClient:
        if self._dynamic is None:
            self._dynamic = self.call(lambda: DynamicClient(self.api))
        return self._dynamic

    def server_version(self) -> str:
        info = self.call(lambda: client.VersionApi(self.api).get_code(_request_timeout=5))
        return str(info.git_version)

    def resource(self, kind: str, api_version: str | None = None) -> Any:
        """The API resource for a kind; where two groups share the kind (Event), the core
        group's, as kubectl picks it."""
        try:
            return self.call(lambda: self.dynamic.resources.get(api_version=api_version, kind=kind))
        except ResourceNotUniqueError:
            return self.call(lambda: self.dynamic.resources.get(api_version="v1", kind=kind))
        except ResourceNotFoundError as e:
            raise InputError(
                f"the cluster has no kind {kind} ({api_version or 'any version'})",
                f"클러스터에 {kind} 종류가 없습니다 ({api_version or '모든 버전'})",
            ) from e

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or None when it does not exist (kubectl get KIND NAME)."""
        res = self.resource(kind)
        try:
            found = self.call(lambda: res.get(name=name, namespace=namespace))
        except NotFoundError:
            return None
        result: Obj = found.to_dict()
        return result

    def list(self, kind: str, namespace: str | None = None, selector: str = "") -> list[Obj]:
        """Objects of a kind, optionally filtered by a label selector (kubectl get -l)."""
        res = self.resource(kind)
        found = self.call(lambda: res.get(namespace=namespace, label_selector=selector))
        items: list[Obj] = found.to_dict().get("items", [])
        return items

    def delete(
        self, kind: str, name: str, namespace: str | None = None, grace_seconds: int | None = None
    ) -> bool:
        """Delete one object; False when it was already gone. grace_seconds shortens a pod's
        termination (a shell as PID 1 ignores SIGTERM, and the default is 30 s)."""
        res = self.resource(kind)
        body = {"gracePeriodSeconds": grace_seconds} if grace_seconds is not None else None
        try:
            self.call(lambda: res.delete(name=name, namespace=namespace, body=body))
        except NotFoundError:
            return False
        return True

    def logs(
        self,
        pod: str,
        namespace: str,
        container: str | None = None,
        tail: int | None = None,
        previous: bool = False,
    ) -> str:
        """What a container printed (kubectl logs POD -c CONTAINER --tail N [--previous]);
        "" if none."""
        api = client.CoreV1Api(self.api)
        try:
            text = self.call(
                lambda: api.read_namespaced_pod_log(
                    pod,
                    namespace,
                    container=container,
                    tail_lines=tail,
                    previous=previous,
                    _request_timeout=10,
                )
            )
        except ApiException:
            return ""
        return str(text or "")

    def warning_events(self, pod: Obj) -> tuple[str, ...]:
        """This pod's Warning events, oldest first, as "Reason: message" (the Events of
        kubectl describe pod); by UID, so an earlier pod of the same name does not count."""
        api = client.CoreV1Api(self.api)
        selector = f"involvedObject.uid={pod['metadata']['uid']},type=Warning"
        namespace = pod["metadata"]["namespace"]
        try:
            found = self.call(lambda: api.list_namespaced_event(namespace, field_selector=selector)).items
        except ApiException:
            return ()
        found.sort(key=lambda e: str(e.last_timestamp or e.event_time or e.metadata.creation_timestamp or ""))
        return tuple(f"{e.reason}: {str(e.message or '').strip()[:300]}" for e in found)

    def apply(self, obj: Obj, namespace: str | None = None) -> Obj:
        """Server-side apply of one object with field manager `kubelab`."""
        res = self.resource(obj["kind"], obj.get("apiVersion"))
        ns = namespace if res.namespaced else None
        applied = self.call(
            lambda: res.server_side_apply(
                body=obj,
                name=obj["metadata"]["name"],
                namespace=ns,
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            )
        )
        result: Obj = applied.to_dict()
        return result


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
    """Run a command in a pod's container and wait for it (kubectl exec POD -- COMMAND).

    A container that cannot run commands (not started, gone, crashed) gives code -1 and
    the reason in stderr, like any other failed command, so checks can wait it out.
    """
    from kubernetes.stream import stream

    def run() -> ExecResult:
        api = client.CoreV1Api(kube.api)
        kwargs = {"container": container} if container else {}
        resp = stream(
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
        resp.run_forever(timeout=timeout)
        out, err = resp.read_stdout(), resp.read_stderr()
        code = resp.returncode
        resp.close()
        return ExecResult(code if code is not None else -1, out or "", err or "")

    try:
        return kube.call(run)
    except ApiException as e:
        return ExecResult(-1, "", api_reason(e))
    except ValueError as e:  # the exec channel closed without a status (container gone)
        return ExecResult(-1, "", f"exec failed: {e}")


def api_reason(error: ApiException) -> str:
    """The API server's own message for a refused request, one line."""
    try:
        message = json.loads(error.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or error.reason or error).splitlines()[0]
