"""What a check author uses: the `lab` fixture's context and the assertion helpers.

A check is a small pytest test in `checkers/test_labNN.py` named `test_<check id>`; its
points, titles, hint and kubectl command live in the lab's lab.yaml. It reads the live
cluster through `LabContext`, and states expectations with `expect`/`fail`, which raise
CheckFailed carrying what was expected and what was found. Anything that needs the
cluster to get somewhere goes through `lab.eventually(...)`: never sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from kubelab.errors import CheckFailed, Finding
from kubelab.kube import ExecResult, Kube, exec_in_pod
from kubelab.labspec import CheckSpec, Lab
from kubelab.manifests import Obj
from kubelab.text import Text
from kubelab.waiting import wait_until

T = TypeVar("T")


def fail(
    subject: str, expected: str, found: str, detail: Text | None = None, *, final: bool = False
) -> NoReturn:
    """Stop the check here: `subject` should be `expected` but is `found`.

    final: waiting cannot mend it, so `eventually` gives up at once.
    """
    raise CheckFailed(Finding(subject=subject, expected=expected, found=found, detail=detail), final)


def expect(
    condition: bool,
    subject: str,
    expected: str,
    found: str,
    detail: Text | None = None,
    *,
    final: bool = False,
) -> None:
    """Fail with expected/found unless `condition` holds."""
    if not condition:
        fail(subject, expected, found, detail, final=final)


def field(obj: Mapping[str, Any] | None, path: str, default: Any = None) -> Any:
    """A dotted path into an object: field(rs, "spec.replicas")."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return default
        current = current[part]
    return current


def name_of(obj: Mapping[str, Any]) -> str:
    return str(field(obj, "metadata.name", ""))


def is_ready(pod: Mapping[str, Any]) -> bool:
    """A pod that is Running and whose Ready condition is True."""
    conditions = field(pod, "status.conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return bool(ready and field(pod, "status.phase") == "Running" and not deleting(pod))


def deleting(obj: Mapping[str, Any]) -> bool:
    return field(obj, "metadata.deletionTimestamp") is not None


def owner_uid(obj: Mapping[str, Any]) -> str | None:
    """The uid of the controller that owns the object, if any."""
    for ref in field(obj, "metadata.ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


@dataclass(frozen=True)
class LabContext:
    """The `lab` fixture: one check's view of the lab namespace."""

    kube: Kube
    lab: Lab
    namespace: str
    spec: CheckSpec
    """The running check's metadata (its timeout is what `eventually` waits)."""

    def subject(self, kind: str, name: str) -> str:
        return f"{kind} {self.namespace}/{name}"

    def get(self, kind: str, name: str) -> Obj | None:
        return self.kube.get(kind, name, self.namespace)

    def list(self, kind: str, selector: str = "") -> list[Obj]:
        return self.kube.list(kind, self.namespace, selector)

    def require(self, kind: str, name: str) -> Obj:
        """The object, or a failure that lists what of that kind does exist."""
        obj = self.get(kind, name)
        if obj is None:
            present = ", ".join(name_of(o) for o in self.list(kind)) or "none"
            fail(
                self.subject(kind, name),
                "exists",
                "not found",
                Text(
                    f"네임스페이스 {self.namespace}에 있는 {kind}: {present}",
                    f"{kind} objects in namespace {self.namespace}: {present}",
                ),
            )
        return obj

    def eventually(self, assertion: Callable[[], T], timeout: float | None = None) -> T:
        """Poll `assertion` until it passes, for this check's timeout (or `timeout`)."""
        return wait_until(assertion, self.spec.timeout if timeout is None else timeout)

    def exec(self, pod: str, command: Sequence[str], container: str | None = None) -> ExecResult:
        """Run a command in one of the lab's pods (kubectl exec POD -c CONTAINER -- ...)."""
        return exec_in_pod(self.kube, pod, self.namespace, command, container)
