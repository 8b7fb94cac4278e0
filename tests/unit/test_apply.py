"""Applying a learner's or a variant's files, and resetting: only what kubelab created,
by UID, is ever deleted; nothing of anyone else's is changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from kubelab import apply, labspec, ownership
from kubelab.cleanup import Cleanup
from kubelab.errors import InputError
from kubelab.manifests import Document
from tests.unit.fakes import FakeKube


def obj(kind: str, name: str, labels: dict[str, str] | None = None, ns: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels or {}}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": "v1", "kind": kind, "metadata": meta}


def doc(o: dict[str, Any], index: int = 1) -> Document:
    return Document(Path("a.yaml"), index, o)


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELAB_STATE", str(tmp_path / "state"))


def test_labelled_adds_ownership_without_touching_the_original() -> None:
    original = obj("Pod", "p", {"app": "web"})
    result = ownership.labelled(original, ownership.ownership("01"))
    assert result["metadata"]["labels"] == {
        "app": "web",
        "app.kubernetes.io/managed-by": "kubelab",
        "kubelab.dev/lab": "01",
        "kubelab.dev/purpose": "lab",
    }
    assert original["metadata"]["labels"] == {"app": "web"}


def test_reset_deletes_what_kubelab_created_for_that_lab_and_nothing_else(fake_kube: FakeKube) -> None:
    kube: Any = fake_kube
    apply.ensure_namespace(kube, "lab-01", "01")
    ownership.scratch_namespace(kube, "lab-01", "01", "verify")
    apply.ensure_namespace(kube, "lab-02", "02")
    made = apply.apply_documents(kube, [doc(obj("PersistentVolume", "pv-lab"))], "lab-01", "01")
    assert made == apply.Applied()
    # labels copied from kubelab's objects (kubectl get -o yaml, applied under another name):
    ours = ownership.ownership("01")
    fake_kube.put(obj("PersistentVolume", "pv-saved-copy", ours))
    fake_kube.put(obj("Namespace", "my-copy", ours))
    fake_kube.put(obj("Namespace", "my-own", {"team": "me"}))

    done = apply.reset(kube, labspec.find_lab("01"))

    assert sorted(done.removed)[0] == "Namespace lab-01"
    assert len(done.removed) == 3 and "PersistentVolume pv-lab" in done.removed
    assert sorted(done.left_alone) == ["Namespace my-copy", "PersistentVolume pv-saved-copy"]
    left = {name for _, _, name in fake_kube.objects}
    assert left == {"lab-02", "pv-saved-copy", "my-copy", "my-own"}
    assert apply.reset(kube, labspec.find_lab("01")).removed == ()  # the records are gone too


def test_reset_names_the_learners_own_volume_the_labs_claims_used(fake_kube: FakeKube) -> None:
    kube: Any = fake_kube
    apply.ensure_namespace(kube, "lab-05", "05")
    pv = obj("PersistentVolume", "pv-static")
    pv["spec"] = {"claimRef": {"namespace": "lab-05", "name": "pvc-static"}}
    fake_kube.put(pv)
    done = apply.reset(kube, labspec.find_lab("05"))
    assert done.removed == ("Namespace lab-05",)
    assert done.left_alone == ("PersistentVolume pv-static",)
    assert fake_kube.get("PersistentVolume", "pv-static") is not None


def test_a_namespace_made_again_by_the_learner_is_not_deleted(fake_kube: FakeKube) -> None:
    kube: Any = fake_kube
    apply.ensure_namespace(kube, "lab-01", "01")
    fake_kube.objects.clear()  # kubectl delete namespace lab-01 …
    fake_kube.put(obj("Namespace", "lab-01", ownership.ownership("01")))  # … and made again
    done = apply.reset(kube, labspec.find_lab("01"))
    assert done.removed == () and done.left_alone == ("Namespace lab-01",)
    assert fake_kube.get("Namespace", "lab-01") is not None


def test_a_system_namespace_is_never_deleted_even_if_recorded(fake_kube: FakeKube) -> None:
    kube: Any = fake_kube
    system = fake_kube.put(obj("Namespace", "kube-system"))
    forged = ownership.Owned("Namespace", "v1", "kube-system", system["metadata"]["uid"], "01", "lab")
    ownership.record(kube, forged)
    done = apply.reset(kube, labspec.find_lab("01"))
    assert fake_kube.get("Namespace", "kube-system") is not None
    assert done.leftovers == ("Namespace kube-system: refusing to delete system namespace kube-system",)


def test_an_existing_namespace_is_used_not_taken_over(fake_kube: FakeKube) -> None:
    kube: Any = fake_kube
    fake_kube.put(obj("Namespace", "lab-01", {"team": "me"}))
    assert apply.ensure_namespace(kube, "lab-01", "01") is False
    assert fake_kube.get("Namespace", "lab-01")["metadata"]["labels"] == {"team": "me"}  # type: ignore[index]
    assert ownership.recorded(kube) == []


def test_documents_go_into_the_lab_namespace_with_labels(fake_kube: FakeKube) -> None:
    assert apply.apply_documents(fake_kube, [doc(obj("ConfigMap", "c"))], "lab-01", "01") == apply.Applied()  # type: ignore[arg-type]
    stored = fake_kube.get("ConfigMap", "c", "lab-01")
    assert stored is not None and stored["metadata"]["labels"]["kubelab.dev/lab"] == "01"


def test_a_document_for_another_namespace_is_refused(fake_kube: FakeKube) -> None:
    with pytest.raises(InputError, match="is for namespace default"):
        apply.apply_documents(fake_kube, [doc(obj("ConfigMap", "c", ns="default"))], "lab-01", "01")  # type: ignore[arg-type]


def test_someone_elses_volume_of_the_same_name_is_never_taken_over(fake_kube: FakeKube) -> None:
    kube: Any = fake_kube
    learners = fake_kube.put({**obj("PersistentVolume", "pv-static", {"mine": "yes"}), "spec": {"x": 1}})
    docs = [doc(obj("PersistentVolume", "pv-static")), doc(obj("ConfigMap", "c"), 2)]
    cleanup = Cleanup(kube)
    rejected = apply.apply_documents(kube, docs, "ns", "05", strict=False, cleanup=cleanup).rejected
    assert [r.kind for r in rejected] == ["PersistentVolume"]
    assert "kubelab did not create it" in rejected[0].reason
    assert cleanup.run() == []
    assert fake_kube.get("PersistentVolume", "pv-static") == learners  # same UID, labels, spec
    with pytest.raises(InputError, match="nothing was applied"):
        apply.apply_documents(kube, docs, "lab-05", "05")
    assert fake_kube.get("ConfigMap", "c", "lab-05") is None
    # a learner's `check -f`: their own volume, applied by them before, is left as it is
    kept = apply.apply_documents(kube, docs, "lab-05", "05", keep_existing=True)
    assert kept.kept == ("PersistentVolume pv-static",)
    assert fake_kube.get("PersistentVolume", "pv-static") == learners
    assert fake_kube.get("ConfigMap", "c", "lab-05") is not None


def test_a_volume_kubelab_created_is_removed_by_the_cleanup(fake_kube: FakeKube) -> None:
    kube: Any = fake_kube
    cleanup = Cleanup(kube)
    apply.apply_documents(
        kube, [doc(obj("PersistentVolume", "pv-static"))], "ns", "05", strict=False, cleanup=cleanup
    )
    assert fake_kube.get("PersistentVolume", "pv-static") is not None
    assert cleanup.run() == []
    assert fake_kube.get("PersistentVolume", "pv-static") is None
    assert ownership.recorded(kube) == []


class RefusingKube(FakeKube):
    """Refuses ReplicaSets, dry run or not."""

    def apply(
        self, obj: dict[str, Any], namespace: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        if obj["kind"] == "ReplicaSet":
            error = ApiException(status=422, reason="Unprocessable Entity")
            error.body = '{"message": "selector does not match template labels"}'
            raise error
        return super().apply(obj, namespace, dry_run)


def test_a_refused_document_leaves_nothing_applied() -> None:
    kube = RefusingKube()
    docs = [doc(obj("ConfigMap", "first")), doc(obj("ReplicaSet", "rs"), 2), doc(obj("ConfigMap", "last"), 3)]
    with pytest.raises(InputError, match=r"refused a\.yaml#2 \(ReplicaSet rs\): selector does not match"):
        apply.apply_documents(kube, docs, "lab-01", "01")  # type: ignore[arg-type]
    assert kube.objects == {}
    rejected = apply.apply_documents(kube, docs, "ns", "01", strict=False).rejected  # type: ignore[arg-type]
    assert [r.reason for r in rejected] == ["selector does not match template labels"]
    assert {name for _, _, name in kube.objects} == {"first", "last"}


class LostAnswerKube(FakeKube):
    """The create reached the API server, its answer was lost, and the retry (Kube.call)
    met "already exists"."""

    def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        super().create(obj, namespace)
        return super().create(obj, namespace)


def test_a_create_whose_answer_was_lost_is_still_recorded_as_ours() -> None:
    kube: Any = LostAnswerKube()
    owned = ownership.create_namespace(kube, "lab-01", "01", "lab")
    assert ownership.recorded(kube) == [owned]
    kube.put(obj("Namespace", "taken"))
    with pytest.raises(InputError, match="already exists and kubelab did not create it"):
        ownership.create_namespace(kube, "taken", "01", "lab")


def test_a_cleanup_given_up_says_what_it_leaves(fake_kube: FakeKube) -> None:
    cleanup = Cleanup(fake_kube)  # type: ignore[arg-type]
    done: list[str] = []
    cleanup.add("stop the pods", lambda: done.append("stopped"))
    cleanup.remove(ownership.Owned("Namespace", "v1", "lab-01-u1", "uid-1", "01", "grade"))
    left = cleanup.abandon("the cluster did not answer")
    assert left == [
        "stop the pods: the cluster did not answer",
        "Namespace lab-01-u1: the cluster did not answer",
    ]
    assert cleanup.run() == left and not done  # nothing is tried afterwards


def test_a_create_whose_answer_was_lost_is_still_kubelabs_to_remove(fake_kube: FakeKube) -> None:
    """The cluster stopped answering while a sandbox's namespace was being created: the API
    server made it, kubelab never heard. Its token proves it is kubelab's: cleanup finds
    and removes it; an object of that name without the token is never taken."""
    from kubelab.errors import ClusterUnavailable

    made = fake_kube.create

    def lost(obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        made(obj, namespace)
        raise ClusterUnavailable("cannot reach the cluster")

    fake_kube.create = lost  # type: ignore[method-assign]
    with pytest.raises(ClusterUnavailable):
        ownership.create_namespace(fake_kube, "lab-01-u1", "01", "grade")  # type: ignore[arg-type]
    with pytest.raises(ClusterUnavailable):
        ownership.create_namespace(fake_kube, "lab-01-u2", "01", "grade")  # type: ignore[arg-type]
    fake_kube.objects.pop(("Namespace", None, "lab-01-u2"))
    fake_kube.put(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab-01-u2"}}
    )  # someone else's
    assert ownership.recorded(fake_kube) == []  # type: ignore[arg-type]
    done = apply.cleanup(fake_kube)  # type: ignore[arg-type]
    assert done.removed == ("Namespace lab-01-u1",)
    assert fake_kube.get("Namespace", "lab-01-u2") is not None


def test_a_refused_create_leaves_no_note(fake_kube: FakeKube) -> None:
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "taken"}})
    with pytest.raises(InputError, match="already exists"):
        ownership.create_namespace(fake_kube, "taken", "01", "grade")  # type: ignore[arg-type]
    assert not list((ownership._ledger_dir(fake_kube) / "pending").glob("*.json"))  # type: ignore[arg-type]
