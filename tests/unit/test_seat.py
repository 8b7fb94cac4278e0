"""A student's class seat read from the kubeconfig `class up` writes (kubelab.seat), and
RBAC's refusal told apart from an admission policy's: no cluster."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from kubelab import course, labspec, seat
from kubelab.errors import InputError
from kubelab.kube import not_permitted

CRS = course.Course(id="k8s-2026", seed="a-secret-seed")


def kubeconfig(path: Path, students_labs: list[tuple[str, str]], extra: Sequence[object] = ()) -> Path:
    contexts: list[object] = []
    for student, lab_id in students_labs:
        lab = course.student_lab(CRS, labspec.find_lab(lab_id), student)
        contexts.append(
            {
                "name": f"lab-{lab_id}",
                "context": {
                    "cluster": "course",
                    "user": f"lab-{lab_id}",
                    "namespace": lab.answer_namespace,
                    "extensions": [seat.extension(lab, CRS.id, student)],
                },
            }
        )
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "contexts": [*contexts, *extra]}))
    return path


def test_a_seat_gives_back_the_students_own_variant(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "alice.kubeconfig", [("alice", "01"), ("alice", "02")])
    found = seat.find(config, "02", None)
    assert found is not None and found.context == "lab-02" and found.student == "alice"
    graded = course.student_lab(CRS, labspec.find_lab("02"), "alice")  # what the teacher grades
    assert found.lab().answer_namespace == graded.answer_namespace == "lab-02-ualice"
    assert found.lab().values == graded.values


def test_the_context_given_must_be_the_labs_seat(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "a.kubeconfig", [("alice", "01"), ("alice", "02")])
    chosen = seat.find(config, "01", "lab-01")
    assert chosen is not None and chosen.lab_id == "01"
    with pytest.raises(InputError, match="context lab-02 is your seat for lab 02, not lab 01"):
        seat.find(config, "01", "lab-02")


def test_a_lab_without_a_seat_says_which_labs_the_kubeconfig_has(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "a.kubeconfig", [("alice", "01")])
    with pytest.raises(InputError, match=r"has no seat for lab 05 \(it has: 01\)"):
        seat.find(config, "05", None)


def test_an_ordinary_kubeconfig_is_no_seat(tmp_path: Path) -> None:
    plain = {"name": "kind-kubelab", "context": {"cluster": "kind-kubelab", "user": "admin"}}
    config = kubeconfig(tmp_path / "plain", [], extra=[plain])
    assert seat.find(config, "01", None) is None
    assert seat.find(config, "01", "kind-kubelab") is None
    assert seat.find(None, "01", None) is None
    for broken in ("contexts: [: broken", "just text", json.dumps({"contexts": [{"context": 3}]})):
        (tmp_path / "broken").write_text(broken)
        assert seat.find(tmp_path / "broken", "01", None) is None  # the client says what is wrong
    with pytest.raises(InputError, match="cannot read the kubeconfig"):
        seat.find(tmp_path / "missing", "01", None)


def test_a_seat_whose_values_were_tampered_with_is_refused_as_input(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "a.kubeconfig", [("alice", "02")])
    text = yaml.safe_load(config.read_text())
    text["contexts"][0]["context"]["extensions"][0]["extension"]["set"] = ["no_such_param=1"]
    config.write_text(yaml.safe_dump(text))
    found = seat.find(config, "02", None)
    assert found is not None
    with pytest.raises(InputError):
        found.lab()


def refusal(status: int, message: str, reason: str = "Forbidden") -> ApiException:
    error = ApiException(status=status, reason=reason)
    error.body = json.dumps({"kind": "Status", "message": message})
    return error


def test_rbacs_refusal_is_told_from_an_admission_policys() -> None:
    rbac = refusal(
        403,
        'nodes is forbidden: User "system:serviceaccount:lab-01-ualice:kubelab-answer" '
        'cannot list resource "nodes" in API group "" at the cluster scope',
    )
    assert not_permitted(rbac) == "list nodes"
    grouped = refusal(403, 'cannot create resource "clusterroles" in API group "rbac.authorization.k8s.io"')
    assert not_permitted(grouped) == "create clusterroles (rbac.authorization.k8s.io)"
    policy = refusal(
        403,
        "pods \"x\" is forbidden: ValidatingAdmissionPolicy 'kubelab-sandbox' denied request: no hostPath",
    )
    assert not_permitted(policy) is None
    assert not_permitted(refusal(404, "not found", "Not Found")) is None
    shaken = ApiException(status=0, reason="Handshake status 403 Forbidden -+-+- {} -+-+- ")
    shaken.body = None
    assert not_permitted(shaken) is None  # no RBAC message in it: not ours to call RBAC's
    exec_refused = ApiException(
        status=0,
        reason="Handshake status 403 Forbidden -+-+- {} -+-+- "
        + json.dumps(
            {"kind": "Status", "message": 'User "x" cannot create resource "pods/exec" in API group ""'}
        ),
    )
    exec_refused.body = None
    assert not_permitted(exec_refused) == "create pods/exec"
