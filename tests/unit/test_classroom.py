"""A class's seats and kubeconfigs, without a cluster: which namespaces a roster gets, when a
student's kubeconfig is still good, and that neither reset nor cleanup takes a seat."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelab import apply, classroom, course, labspec, ownership, sandbox, seat
from kubelab.errors import InputError
from tests.unit.fakes import FakeKube

CRS = course.Course(id="k8s-2026", seed="a-secret-seed")


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELAB_STATE", str(tmp_path / "state"))


def jwt(expires: float) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'exp': int(expires)})}.signature"


def test_every_student_gets_a_seat_in_every_lab_in_the_courses_namespaces() -> None:
    labs = [labspec.find_lab("01"), labspec.find_lab("05")]
    found = classroom.seats(CRS, labs, ["alice", "Bob"])
    assert [(s.student, s.lab.id) for s in found] == [
        ("alice", "01"),
        ("alice", "05"),
        ("Bob", "01"),
        ("Bob", "05"),
    ]
    assert found[0].namespace == course.student_namespace(labs[0], "alice") == "lab-01-ualice"
    drawn = course.student_values(CRS, labs[1], "alice")  # the variant grading uses
    assert {k: found[1].lab.values[k] for k in drawn} == drawn
    assert len({s.namespace for s in found}) == 4


def test_a_roster_id_that_is_not_an_id_is_refused_before_anything_is_made() -> None:
    with pytest.raises(InputError):
        classroom.seats(CRS, [labspec.find_lab("01")], ["../etc"])


def test_a_kubeconfig_is_kept_while_every_token_holds_for_a_day_more(tmp_path: Path) -> None:
    mine = classroom.seats(CRS, [labspec.find_lab("01"), labspec.find_lab("02")], ["alice"])
    path = tmp_path / "alice.kubeconfig"

    def write(tokens: dict[str, str], extensions: bool = True) -> None:
        users = [{"name": name, "user": {"token": token}} for name, token in tokens.items()]
        contexts = [
            {"name": classroom.context_name(s.lab), "context": {"namespace": s.namespace}} for s in mine
        ]
        for context, s in zip(contexts, mine, strict=True):
            if extensions:
                context["context"]["extensions"] = [seat.extension(s.lab, CRS.id, s.student)]
        path.write_text(yaml.safe_dump({"users": users, "contexts": contexts}))

    assert not classroom._still_good(path, CRS, mine)  # none yet
    week = time.time() + 7 * 24 * 3600
    write({"lab-01": jwt(week), "lab-02": jwt(week)})
    assert classroom._still_good(path, CRS, mine)
    write({"lab-01": jwt(week), "lab-02": jwt(time.time() + 3600)})  # expires within the day
    assert not classroom._still_good(path, CRS, mine)
    write({"lab-01": jwt(week)})  # a lab added to the course since
    assert not classroom._still_good(path, CRS, mine)
    write({"lab-01": "not-a-jwt", "lab-02": jwt(week)})
    assert not classroom._still_good(path, CRS, mine)
    write({"lab-01": jwt(week), "lab-02": jwt(week)}, extensions=False)  # written before seats said so
    assert not classroom._still_good(path, CRS, mine)
    path.write_text("users: [: broken")
    assert not classroom._still_good(path, CRS, mine)


def test_the_course_id_is_a_label_value() -> None:
    assert classroom.label_value("k8s-2026") == "k8s-2026"
    value = classroom.label_value("Kubernetes 기초 (2026 봄)")
    assert len(value) <= 63 and value.replace("-", "").isalnum() and value.isascii()


def test_neither_reset_nor_cleanup_removes_a_seat(fake_kube: FakeKube) -> None:
    kube: Any = fake_kube
    seat = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab-01-ualice"}}
    made = ownership.create(kube, seat, "01", classroom.PURPOSE)
    assert apply.reset(kube, labspec.find_lab("01")).removed == ()
    assert apply.cleanup(kube, everything=True).removed == ()
    assert kube.get("Namespace", "lab-01-ualice")["metadata"]["uid"] == made.uid


def test_a_node_port_two_students_drew_goes_to_the_one_who_has_it(fake_kube: FakeKube) -> None:
    """A node port is the whole cluster's: the second student who drew one is placed on a
    free port past the host's 20, a seat on the cluster keeps its own, and a port any
    Service holds is nobody's to take."""
    kube: Any = fake_kube
    sample = course.Course(id="sample", seed="sample-class-seed")  # alice and bob draw 30086
    lab = labspec.find_lab("02")
    seats = classroom.seats(sample, [lab], ["bob", "alice", "chul-soo"])
    placed, lost = classroom.place_ports(kube, sample, seats)
    assert lost == {}
    ports = {s.student: s.lab.node_ports for s in placed}
    assert ports["bob"] == (30086,) and ports["alice"] == (30100,), ports  # the roster's order
    assert ports["chul-soo"] == classroom.seats(sample, [lab], ["chul-soo"])[0].lab.node_ports
    moved = next(s for s in placed if s.student == "alice").lab
    assert moved.param("node_port") == 30100 and moved.answer_namespace == "lab-02-ualice"
    assert "30100" in moved.render("{{ node_port }}", "test")

    labels = {classroom.COURSE_LABEL: "sample", ownership.LAB: "02"}
    annotations = {"kubelab.dev/node-ports": "30086", classroom.STUDENT_ANNOTATION: "alice"}
    metadata = {"name": "lab-02-ualice", "labels": labels, "annotations": annotations}
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})
    someone = {"name": "web", "namespace": "team-a"}
    ports_spec = [{"port": 80, "nodePort": 30100}]
    fake_kube.put({"apiVersion": "v1", "kind": "Service", "metadata": someone, "spec": {"ports": ports_spec}})
    placed, _ = classroom.place_ports(kube, sample, seats)
    ports = {s.student: s.lab.node_ports for s in placed}
    assert ports["alice"] == (30086,), ports  # her seat is on the cluster: hers
    assert ports["bob"] == (30101,), ports  # 30100 is team-a's
    assert [s.student for s in placed] == ["bob", "alice", "chul-soo"]  # the roster's order kept


def test_a_seat_placed_on_another_port_is_graded_on_it() -> None:
    sample = course.Course(id="sample", seed="sample-class-seed")
    lab = course.student_lab(sample, labspec.find_lab("02"), "alice")
    assert course.with_ports(lab, ()) is lab and course.with_ports(lab, lab.node_ports) is lab
    moved = course.with_ports(lab, (30123,))
    assert moved.node_ports == (30123,) and moved.values["namespace"] == lab.values["namespace"]
    assert sandbox.recorded_ports({"metadata": {"annotations": {sandbox.NODE_PORTS: "30123"}}}) == (30123,)
    assert sandbox.recorded_ports({"metadata": {"annotations": {sandbox.NODE_PORTS: "x,1"}}}) == ()
    assert sandbox.recorded_ports({"metadata": {}}) == ()
