"""A fake cluster for unit tests of kubelab's own logic (never for e2e)."""

from __future__ import annotations

from typing import Any


class FakeKube:
    """Objects in memory, addressed like the API: (kind, namespace, name). For unit tests only."""

    def __init__(self, objects: list[dict[str, Any]] | None = None) -> None:
        self.objects = {self.key(o): o for o in objects or []}
        self.deleted: list[tuple[str, str | None, str]] = []

    @staticmethod
    def key(obj: dict[str, Any]) -> tuple[str, str | None, str]:
        meta = obj["metadata"]
        return obj["kind"], meta.get("namespace"), meta["name"]

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

    def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        self.deleted.append((kind, namespace, name))
        return self.objects.pop((kind, namespace, name), None) is not None

    def apply(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        stored = {**obj, "metadata": {**obj["metadata"]}}
        if namespace and obj["kind"] not in ("Namespace", "PersistentVolume"):
            stored["metadata"]["namespace"] = namespace
        self.objects[self.key(stored)] = stored
        return stored
