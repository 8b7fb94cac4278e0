"""A fake cluster for unit tests of kubelab's own logic (never for e2e)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ConflictError

CLUSTER_SCOPED = frozenset({"Namespace", "PersistentVolume"})
_uids = itertools.count(1)


def conflict(message: str) -> ConflictError:
    error = ApiException(status=409, reason="Conflict")
    error.body = f'{{"message": "{message}"}}'
    return ConflictError(error)


class FakeKube:
    """Objects in memory, addressed like the API: (kind, namespace, name), each with a UID
    given at creation as the API server does. For unit tests only."""

    def __init__(self, objects: list[dict[str, Any]] | None = None) -> None:
        self.objects: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        for obj in objects or []:
            self.put(obj)
        self.deleted: list[tuple[str, str | None, str]] = []
        self.faults: list[str] = []

    @staticmethod
    def key(obj: dict[str, Any]) -> tuple[str, str | None, str]:
        meta = obj["metadata"]
        return obj["kind"], meta.get("namespace"), meta["name"]

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as someone else (a learner) made it: a new UID."""
        stored = copy.deepcopy(obj)
        stored["metadata"].setdefault("uid", f"uid-{next(_uids)}")
        self.objects[self.key(stored)] = stored
        return stored

    def cluster_id(self) -> str:
        return "fake-cluster"

    def is_namespaced(self, kind: str, api_version: str | None = None) -> bool:
        return kind not in CLUSTER_SCOPED

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.objects.get((kind, namespace, name))

    def list(self, kind: str, namespace: str | None = None, selector: str = "") -> list[dict[str, Any]]:
        wanted = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
        return [
            o
            for (k, ns, _), o in self.objects.items()
            if k == kind
            and (namespace is None or ns == namespace)
            and all((o["metadata"].get("labels") or {}).get(a) == b for a, b in wanted.items())
        ]

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        grace_seconds: int | None = None,
        uid: str | None = None,
    ) -> bool:
        found = self.objects.get((kind, namespace, name))
        if found is None or (uid is not None and found["metadata"]["uid"] != uid):
            return False
        self.deleted.append((kind, namespace, name))
        del self.objects[(kind, namespace, name)]
        return True

    def _placed(self, obj: dict[str, Any], namespace: str | None) -> dict[str, Any]:
        placed = copy.deepcopy(obj)
        if namespace and self.is_namespaced(obj["kind"]):
            placed["metadata"]["namespace"] = namespace
        return placed

    def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        placed = self._placed(obj, namespace)
        if self.key(placed) in self.objects:
            raise conflict(f"{obj['kind']} {obj['metadata']['name']} already exists")
        placed["metadata"].pop("uid", None)
        return self.put(placed)

    def apply(
        self, obj: dict[str, Any], namespace: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        placed = self._placed(obj, namespace)
        old = self.objects.get(self.key(placed))
        placed["metadata"]["uid"] = old["metadata"]["uid"] if old else f"uid-{next(_uids)}"
        if not dry_run:
            self.objects[self.key(placed)] = placed
        return placed
