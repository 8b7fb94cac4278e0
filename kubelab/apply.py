"""Applying manifests into a lab namespace, and resetting what kubelab created.

Everything kubelab creates carries `app.kubernetes.io/managed-by: kubelab` and the lab
id (`kubelab.dev/lab`), so reset deletes exactly that and nothing else.
"""

from __future__ import annotations

import copy
import secrets
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from kubernetes.client.exceptions import ApiException

from kubelab.checks import assert_that
from kubelab.cluster import kubectl_path
from kubelab.errors import InputError
from kubelab.kube import Kube, Target, api_reason
from kubelab.labspec import Lab, Step
from kubelab.manifests import Document, Obj
from kubelab.waiting import wait_until

MANAGED_BY = "app.kubernetes.io/managed-by"
LAB = "kubelab.dev/lab"
PURPOSE = "kubelab.dev/purpose"
CLUSTER_SCOPED_KINDS = ("PersistentVolume", "Namespace")
"""Cluster-scoped kinds kubelab may create; reset looks for its labels on these."""


def ownership(lab_id: str, purpose: str = "lab") -> dict[str, str]:
    return {MANAGED_BY: "kubelab", LAB: lab_id, PURPOSE: purpose}


def selector(lab_id: str) -> str:
    return f"{MANAGED_BY}=kubelab,{LAB}={lab_id}"


@dataclass(frozen=True)
class Rejection:
    """A document the API server refused, and its reason."""

    where: str
    kind: str
    name: str
    reason: str

    def line(self) -> str:
        return f"{self.where} ({self.kind} {self.name}): {self.reason}"


def labelled(obj: Obj, labels: dict[str, str]) -> Obj:
    """A copy of obj with labels added (the original is left as it was)."""
    result = copy.deepcopy(obj)
    metadata = result.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    return result


def ensure_namespace(kube: Kube, name: str, lab_id: str, purpose: str = "lab") -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    kube.apply(labelled(body, ownership(lab_id, purpose)))


def scratch_namespace(kube: Kube, lab: Lab, purpose: str) -> str:
    """A fresh namespace for verification or a disturbing check, labelled as kubelab's."""
    name = f"{lab.namespace}-{purpose}-{secrets.token_hex(3)}"[:63].rstrip("-")
    ensure_namespace(kube, name, lab.id, purpose)
    return name


def apply_documents(
    kube: Kube, docs: Iterable[Document], namespace: str, lab_id: str, *, strict: bool = True
) -> list[Rejection]:
    """Apply each document (server-side, field manager kubelab) into `namespace`.

    With strict, the first refusal is an InputError; otherwise refusals are returned.
    """
    rejected: list[Rejection] = []
    for doc in docs:
        declared = doc.obj.get("metadata", {}).get("namespace")
        if declared and declared != namespace:
            raise InputError(
                f"{doc.where}: {doc.kind} {doc.name} is for namespace {declared}, "
                f"but this lab uses {namespace} (remove metadata.namespace)",
                f"{doc.where}: {doc.kind} {doc.name}의 네임스페이스는 {declared}이지만 "
                f"이 실습은 {namespace}을(를) 씁니다 (metadata.namespace를 지우세요)",
            )
        try:
            kube.apply(labelled(doc.obj, ownership(lab_id)), namespace)
        except ApiException as e:
            rejection = Rejection(doc.where, doc.kind, doc.name, api_reason(e))
            if strict:
                raise InputError(
                    f"the API server refused {rejection.line()}",
                    f"API 서버가 거부했습니다: {rejection.line()}",
                ) from e
            rejected.append(rejection)
    return rejected


def run_steps(target: Target, namespace: str, steps: Iterable[Step]) -> list[Rejection]:
    """Run a variant's kubectl steps in order (what a learner types after applying);
    the first that fails stops the rest and is returned as a refusal."""
    for step in steps:
        command = [str(kubectl_path()), *target.kubectl_flags(), "-n", namespace, *step]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            reason = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()
            return [Rejection("kubectl " + " ".join(step), "step", "", reason[-1])]
    return []


def delete_cluster_scoped(kube: Kube, docs: Iterable[Document]) -> None:
    """Delete the cluster-scoped objects (e.g. PersistentVolumes) these documents made."""
    for doc in docs:
        if not kube.resource(doc.kind, doc.obj.get("apiVersion")).namespaced:
            kube.delete(doc.kind, doc.name)


def delete_namespace(kube: Kube, name: str, wait: float = 180) -> None:
    """Delete a namespace and wait until it is gone (so its name can be used again)."""
    kube.delete("Namespace", name)

    def gone() -> None:
        assert_that(kube.get("Namespace", name) is None, f"Namespace {name}", "deleted", "terminating")

    wait_until(gone, wait)


def reset(kube: Kube, lab: Lab) -> list[str]:
    """Delete every namespace and cluster-scoped object kubelab created for this lab."""
    deleted: list[str] = []
    namespaces: list[str] = []
    for kind in CLUSTER_SCOPED_KINDS:
        for obj in kube.list(kind, selector=selector(lab.id)):
            name = obj["metadata"]["name"]
            kube.delete(kind, name)
            deleted.append(f"{kind} {name}")
            if kind == "Namespace":
                namespaces.append(name)
    for name in namespaces:
        delete_namespace(kube, name)
    return deleted
