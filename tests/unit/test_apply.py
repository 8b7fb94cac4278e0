from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from kubelab import apply, labspec
from kubelab.errors import InputError
from kubelab.manifests import Document
from tests.unit.fakes import FakeKube


def obj(kind: str, name: str, labels: dict[str, str] | None = None, ns: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels or {}}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": "v1", "kind": kind, "metadata": meta}


def test_labelled_adds_ownership_without_touching_the_original() -> None:
    original = obj("Pod", "p", {"app": "web"})
    result = apply.labelled(original, apply.ownership("01"))
    assert result["metadata"]["labels"] == {
        "app": "web",
        "app.kubernetes.io/managed-by": "kubelab",
        "kubelab.dev/lab": "01",
        "kubelab.dev/purpose": "lab",
    }
    assert original["metadata"]["labels"] == {"app": "web"}


def test_reset_deletes_only_what_kubelab_made_for_that_lab(fake_kube: FakeKube) -> None:
    ours = apply.ownership("01")
    fake_kube.objects = {
        FakeKube.key(o): o
        for o in [
            obj("Namespace", "lab-01", ours),
            obj("Namespace", "lab-01-verify-abc", apply.ownership("01", "verify")),
            obj("Namespace", "lab-02", apply.ownership("02")),
            obj("Namespace", "my-own", {"team": "me"}),
            obj("PersistentVolume", "pv-lab", ours),
            obj("PersistentVolume", "pv-mine", {}),
        ]
    }
    deleted = apply.reset(fake_kube, labspec.find_lab("01"))  # type: ignore[arg-type]
    assert sorted(deleted) == [
        "Namespace lab-01",
        "Namespace lab-01-verify-abc",
        "PersistentVolume pv-lab",
    ]
    assert {name for _, _, name in fake_kube.objects} == {"lab-02", "my-own", "pv-mine"}


def test_documents_go_into_the_lab_namespace_with_labels(fake_kube: FakeKube) -> None:
    docs = [Document(Path("a.yaml"), 1, obj("ConfigMap", "c"))]
    assert apply.apply_documents(fake_kube, docs, "lab-01", "01") == []  # type: ignore[arg-type]
    stored = fake_kube.get("ConfigMap", "c", "lab-01")
    assert stored is not None and stored["metadata"]["labels"]["kubelab.dev/lab"] == "01"


def test_a_document_for_another_namespace_is_refused(fake_kube: FakeKube) -> None:
    docs = [Document(Path("a.yaml"), 1, obj("ConfigMap", "c", ns="default"))]
    with pytest.raises(InputError, match="is for namespace default"):
        apply.apply_documents(fake_kube, docs, "lab-01", "01")  # type: ignore[arg-type]


class RefusingKube(FakeKube):
    def apply(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        error = ApiException(status=422, reason="Unprocessable Entity")
        error.body = '{"message": "selector does not match template labels"}'
        raise error


def test_refusals_are_one_line_or_collected() -> None:
    docs = [Document(Path("rs.yaml"), 1, obj("ReplicaSet", "rs"))]
    with pytest.raises(InputError, match=r"refused rs\.yaml#1 \(ReplicaSet rs\): selector does not match"):
        apply.apply_documents(RefusingKube(), docs, "lab-01", "01")  # type: ignore[arg-type]
    rejected = apply.apply_documents(RefusingKube(), docs, "ns", "01", strict=False)  # type: ignore[arg-type]
    assert [r.reason for r in rejected] == ["selector does not match template labels"]
