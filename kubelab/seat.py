"""A student's class seat, as the student's own kubelab sees it (`kubelab class up`).

The kubeconfig `class up` hands a student holds one context per lab (`lab-01`, …), each
with the seat's token and namespace, and an extension `kubelab.dev/seat` that says which
lab, namespace and variant values the seat is: so `kubelab start 01` and `kubelab check
01` with only that kubeconfig (`--kubeconfig F`, or KUBELAB_KUBECONFIG) know the student's
variant without the course file, and act only with the seat's credential:

- nothing a seat may not do is tried: no cluster made, no image loaded, no namespace made
  or read (the seat's namespace is there: `class up` made it);
- before anything, the API server is asked (SelfSubjectAccessReview) whether the token may
  still work in the seat's namespace: a revoked or expired one is one line, not a 401;
- a check that needs more than the seat (read nodes, a scratch namespace, a node's files)
  meets RBAC's refusal (kubelab.errors.NotPermitted, as the Kube is `limited`): it says
  so in one line and is left to the teacher's grading (CheckResult.deferred).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubelab import cluster, labspec, params
from kubelab.cluster import Settings
from kubelab.errors import EnvironmentProblem, InputError
from kubelab.kube import Kube, api_exception
from kubelab.labspec import Lab

EXTENSION = "kubelab.dev/seat"
"""The name of a seat context's extension in the kubeconfig."""
MOST_BYTES = 1 << 20
"""A kubeconfig larger than this is not read (a student's file is untrusted input)."""


@dataclass(frozen=True)
class Seat:
    """One context of a student's kubeconfig: their namespace and variant of one lab."""

    context: str
    lab_id: str
    namespace: str
    settings: tuple[str, ...]
    """The variant's values as `name=value` (kubelab.params.settings_of)."""
    course: str = ""
    student: str = ""

    def lab(self) -> Lab:
        """The lab as this seat's variant has it."""
        lab = labspec.find_lab(self.lab_id)
        return lab.with_values(self.namespace, params.parse_settings(lab.params, self.settings))


def extension(lab: Lab, course_id: str, student: str) -> dict[str, Any]:
    """The seat's extension for its kubeconfig context (`lab`: the student's variant)."""
    return {
        "name": EXTENSION,
        "extension": {
            "lab": lab.id,
            "namespace": lab.answer_namespace,
            "set": params.settings_of(lab.params, lab.values),
            "course": course_id,
            "student": student,
        },
    }


def seats_in(config: Mapping[str, Any]) -> list[Seat]:
    """Every seat context of a kubeconfig (parsed); contexts without the extension are not seats."""
    found: list[Seat] = []
    for entry in config.get("contexts") or []:
        if not isinstance(entry, Mapping):
            continue
        context = entry.get("context") if isinstance(entry.get("context"), Mapping) else {}
        for ext in (context or {}).get("extensions") or []:
            if not isinstance(ext, Mapping) or ext.get("name") != EXTENSION:
                continue
            said = ext.get("extension")
            if not isinstance(said, Mapping):
                continue
            found.append(
                Seat(
                    context=str(entry.get("name") or ""),
                    lab_id=str(said.get("lab") or ""),
                    namespace=str(said.get("namespace") or ""),
                    settings=tuple(str(s) for s in said.get("set") or [] if isinstance(s, (str, int))),
                    course=str(said.get("course") or ""),
                    student=str(said.get("student") or ""),
                )
            )
    return found


def read(kubeconfig: Path) -> list[Seat]:
    """The seats of a kubeconfig file; [] when it has none (an ordinary kubeconfig)."""
    try:
        with kubeconfig.open("rb") as f:
            text = f.read(MOST_BYTES + 1)
    except OSError as e:
        raise InputError(
            f"{kubeconfig}: cannot read the kubeconfig ({e.strerror})",
            f"{kubeconfig}: kubeconfig를 읽을 수 없습니다 ({e.strerror})",
        ) from None
    if len(text) > MOST_BYTES:
        return []
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # not kubelab's to judge: the client says what is wrong with it
    return seats_in(config) if isinstance(config, Mapping) else []


def find(kubeconfig: Path | None, lab_id: str, context: str | None) -> Seat | None:
    """The seat for this lab in the kubeconfig: the context given, else the one whose
    seat is this lab; None when the kubeconfig holds no seats at all."""
    if kubeconfig is None:
        return None
    seats = read(kubeconfig)
    if not seats:
        return None
    if context is not None:
        chosen = next((s for s in seats if s.context == context), None)
        if chosen is None:
            return None  # a context of its own, not a seat: as any kubeconfig
        if chosen.lab_id != lab_id:
            raise InputError(
                f"context {context} is your seat for lab {chosen.lab_id}, not lab {lab_id}",
                f"이 context는 다른 실습의 자리입니다 — context: {context}, 자리의 실습: {chosen.lab_id}, "
                f"요청한 실습: {lab_id}",
            )
        return chosen
    chosen = next((s for s in seats if s.lab_id == lab_id), None)
    if chosen is None:
        labs = ", ".join(sorted({s.lab_id for s in seats}))
        raise InputError(
            f"{kubeconfig} has no seat for lab {lab_id} (it has: {labs}); ask your teacher",
            f"이 kubeconfig에는 요청한 실습의 자리가 없습니다 — 파일: {kubeconfig}, 실습: {lab_id}, "
            f"있는 자리: {labs}; 선생님께 물어보세요",
        )
    return chosen


def connect(settings: Settings, seat: Seat) -> Kube:
    """A connection with the seat's credential, `limited` (kubelab.kube.Kube.limited), once
    the API server says the credential still works in the seat's namespace; else one line
    that says what to do (a revoked or expired token is refused as 401 even for /version)."""
    where = seat.namespace
    gone = EnvironmentProblem(
        f"your credential does not work in namespace {where} any more (revoked, expired, or the class "
        "was taken down): ask your teacher for a new kubeconfig",
        f"여러분의 자격 증명이 더는 통하지 않습니다 (취소, 만료, 또는 수업 정리) — 네임스페이스: {where}; "
        "선생님께 새 kubeconfig를 받으세요",
    )
    try:
        kube = cluster.connect(settings)
        kube.limited = True
        allowed = kube.may("create", "pods", where)
    except api_exception() as e:
        if getattr(e, "status", 0) in (401, 403):
            raise gone from None
        raise
    if not allowed:
        raise gone
    return kube
