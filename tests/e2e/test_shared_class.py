"""End to end, on a real cluster (never mocked): a class on a shared cluster.

`kubelab class up` gives every student of a roster a fenced namespace per lab and a
kubeconfig that acts only there; each student then works with plain kubectl and that
kubeconfig, as in class: their answer is accepted in their own namespace, and what reaches
another student's namespace, the cluster, or a node port not theirs is refused by the API
server. `class up` again changes nothing, a new student on the roster is added, every
student of the class of CLASS_SIZE applies an answer (right, wrong or hostile) with their
own kubeconfig, `grade --live` grades them all as `verify` expects of each answer (its
page, opened in Chromium, shows them), `revoke` stops a student's token at once, and
`class down` leaves nothing of the class and everything else as it was. It runs beside
the verification of every lab on the course cluster (tests/e2e/conftest.py).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml

from kubelab import cluster, course, labspec, sample_class, verify
from kubelab.kube import Kube
from tests.e2e.conftest import solved_cluster
from tests.e2e.test_faults import kubelab

pytestmark = pytest.mark.e2e

FIRST = ["alice", "bob", "chul-soo", "Dana.K", "eun@ji", "farid"]
STUDENTS = [*FIRST, *(f"student{n:02d}" for n in range(1, 30 - len(FIRST)))]
LABS = ["01", "02", "05"]
CLASS_SIZE = len(STUDENTS) + 1
"""The roster, then gil-dong, who joins late."""
HOSTILE = ("another's namespace", "a cluster role binding", "a node port not theirs")
"""What the class's hostile students hand in, each refused by the API server as a whole."""


def kubectl(config: Path, context: str, *args: str) -> subprocess.CompletedProcess[str]:
    """kubectl as the student: only the student's kubeconfig (no admin's beside it, and a
    home of its own for kubectl's cache)."""
    command = [str(cluster.kubectl_path()), f"--kubeconfig={config}", f"--context={context}", *args]
    home = config.parent / f".home-{config.stem}"
    home.mkdir(exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def roster(path: Path, students: list[str]) -> Path:
    path.write_text("id,name\n" + "".join(f"{s},{s.title()}\n" for s in students), encoding="utf-8")
    return path


def seats_of(kube: Kube, course_id: str) -> list[str]:
    return sorted(
        n["metadata"]["name"] for n in kube.list("Namespace", selector=f"kubelab.dev/course={course_id}")
    )


@pytest.fixture(scope="module")
def kube(verify_runs: object) -> Kube:
    """kubelab's cluster, up, with the verification of every lab running beside (on a
    cluster of its own: tests/e2e/conftest.py)."""
    return solved_cluster()


def test_a_class_is_set_up_works_in_its_own_namespaces_only_and_goes_without_a_trace(
    kube: Kube, tmp_path: Path
) -> None:
    course_file = sample_class.course_file(tmp_path / "course.yaml")
    yaml_text = yaml.safe_load(course_file.read_text())
    crs = course.load_course(course_file)
    labs = [labspec.find_lab(i) for i in LABS]
    out = tmp_path / "kubeconfigs"
    lab_args = [a for i in LABS for a in ("--lab", i)]
    # a namespace someone else made under a seat's name is left alone, and said so
    taken = course.student_namespace(labs[0], "farid")
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": taken}})
    before = {  # not kubelab's passing ones (a crew's, a removal pod's namespace), nor ones
        n["metadata"]["name"]  # already going (a test before this one deletes without waiting)
        for n in kube.list("Namespace")
        if not n["metadata"]["name"].startswith("kubelab-")
        and (n.get("status") or {}).get("phase") != "Terminating"
    }
    roles_before = {r["metadata"]["name"] for r in kube.list("ClusterRole")}
    bindings_before = {b["metadata"]["name"] for b in kube.list("ClusterRoleBinding")}
    try:
        first = kubelab(
            "class",
            "up",
            str(course_file),
            str(roster(tmp_path / "r.csv", STUDENTS)),
            *lab_args,
            "--out",
            str(out),
        )
        # the taken namespace: said, exit 3; every other seat is made, the two that drew a
        # node port another has (bob alice's 30086, farid Dana.K's 30081) on free ones
        assert first.returncode == 3, first.stdout + first.stderr
        assert f"made {len(STUDENTS) * len(LABS) - 1} seats" in first.stdout, first.stdout
        assert f"{taken}: exists and is not kubelab's: left alone" in first.stdout
        ports = {s: seat_port(out, s) for s in STUDENTS}
        assert ports["alice"] == 30086 and ports["Dana.K"] == 30081, ports
        assert min(ports["bob"], ports["farid"]) >= 30100 and len(set(ports.values())) == len(STUDENTS), ports
        configs = sorted(out.glob("*.kubeconfig"))
        assert len(configs) == len(STUDENTS)
        assert all(stat.S_IMODE(c.stat().st_mode) == 0o600 for c in configs)
        kube.delete("Namespace", taken)
        wait_gone(kube, taken)

        again = kubelab(
            "class", "up", str(course_file), str(tmp_path / "r.csv"), *lab_args, "--out", str(out)
        )
        assert f"made 1 seats, kept {len(STUDENTS) * len(LABS) - 1}" in again.stdout, again.stdout
        assert "wrote 1 kubeconfig" in again.stdout  # farid's: lab 01 added
        unchanged = {c.name: c.read_bytes() for c in out.glob("*.kubeconfig")}
        same = kubelab("class", "up", str(course_file), str(tmp_path / "r.csv"), *lab_args, "--out", str(out))
        assert "made 0 seats" in same.stdout and "wrote 0 kubeconfig" in same.stdout, same.stdout
        assert {c.name: c.read_bytes() for c in out.glob("*.kubeconfig")} == unchanged
        grown = roster(tmp_path / "r2.csv", [*STUDENTS, "gil-dong"])
        added = kubelab("class", "up", str(course_file), str(grown), *lab_args, "--out", str(out))
        assert f"made {len(LABS)} seats" in added.stdout and "wrote 1 kubeconfig" in added.stdout, (
            added.stdout
        )

        students_work(kube, crs, labs, out, tmp_path)
        answers = class_works(crs, labs, [*STUDENTS[1:], "gil-dong"], out, tmp_path / "class")
        empty = next(s for s, a in answers.items() if a == HOSTILE[0])

        status = kubelab(
            "class", "status", str(course_file), str(grown), "--lab", "01", "--out", str(tmp_path / "now")
        )
        assert status.returncode == 0, status.stdout + status.stderr
        rows = {line.split()[1]: line for line in status.stdout.splitlines() if line.startswith("│")}
        assert set(rows) >= {*STUDENTS, "gil-dong"}, status.stdout
        assert "✓" in rows["alice"] and "·" in rows[empty], status.stdout  # empty: nothing of theirs made
        page = (tmp_path / "now" / "index.html").read_text(encoding="utf-8")
        assert "alice" in page and "gil-dong" in page

        graded = kubelab(
            "grade", "01", "--live", "--namespaces", "lab-01-u*", "--course", str(course_file),
            "--roster", str(grown), "--out", str(tmp_path / "grades"), timeout=1200,
        )  # fmt: skip
        sheet = tmp_path / "grades" / "grades.json"
        assert sheet.is_file(), graded.stdout + graded.stderr
        grades = json.loads(sheet.read_text())["students"]
        grades = {g["student"]: g for g in grades}
        assert len(grades) == CLASS_SIZE, graded.stdout + graded.stderr
        answers["alice"] = "solution"
        wrong = {s: why for s, why in graded_as_expected(labs[0], answers, grades).items() if why}
        assert not wrong, f"{wrong}\n{graded.stdout}{graded.stderr}"
        class_page(tmp_path / "grades", labs[0], grades)

        kept = tmp_path / "alices-old.kubeconfig"
        kept.write_bytes((out / "alice.kubeconfig").read_bytes())
        revoked = kubelab("class", "revoke", str(course_file), "alice", "--out", str(out))
        assert revoked.returncode == 0, revoked.stdout + revoked.stderr
        assert not (out / "alice.kubeconfig").exists()
        after = kubectl(kept, "lab-01", "get", "pods")
        said = after.stderr.lower()  # kubectl says 401 as "Unauthorized" or "provide credentials"
        assert after.returncode != 0 and ("unauthorized" in said or "provide credentials" in said), said
    finally:
        down = kubelab("class", "down", str(course_file))
    assert down.returncode == 0, down.stdout + down.stderr
    assert seats_of(kube, crs_label(yaml_text["course"])) == []
    assert {n["metadata"]["name"] for n in kube.list("Namespace")} >= before - {taken}
    assert {r["metadata"]["name"] for r in kube.list("ClusterRole")} == roles_before
    assert {b["metadata"]["name"] for b in kube.list("ClusterRoleBinding")} == bindings_before


def class_page(folder: Path, lab: labspec.Lab, grades: dict[str, Any]) -> None:
    """The page `grade --live` wrote for the class, in Chromium: a row per student, the check
    the class passed least first, each row's feedback there; its screenshot kept in
    .kubelab/artifacts/ (look at it)."""
    from kubelab import repo
    from tests.e2e.browser import browser

    passed = {c.id: sum(g["points"].get(c.id, 0) == c.points for g in grades.values()) for c in lab.checks}
    least = min(passed.values())
    artifacts = repo.state_dir() / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    with browser() as page:
        page.open((folder / "index.html").resolve().as_uri(), 1280, 900)
        rows = page.value("[...document.querySelectorAll('section:last-of-type tbody tr')].length")
        assert rows == len(grades), rows
        first = page.value("document.querySelector('section:nth-of-type(2) tbody tr code').textContent")
        assert passed[first] == least, (first, passed)
        links = page.value("[...document.querySelectorAll('tbody a')].map(a => a.getAttribute('href'))")
        assert len(links) == len(grades) and all((folder / unquote(link)).is_file() for link in links), links
        assert "gil-dong" in page.value("document.body.innerText")
        page.screenshot(artifacts / "class-page-1280.png")


def refused(said: subprocess.CompletedProcess[str]) -> bool:
    """kubectl failed, the API server said forbidden (RBAC) or denied (an admission policy),
    and nothing of it was made or changed (kubectl apply names each object it did)."""
    made = any(w in said.stdout for w in (" created", " configured", " unchanged"))
    return (
        said.returncode != 0 and not made and any(w in said.stderr.lower() for w in ("forbidden", "denied"))
    )


def seat_port(out: Path, student: str) -> int:
    """The node port of the student's lab 02 seat, as their kubeconfig says it."""
    from kubelab import seat

    found = seat.find(out / f"{course.slug(student)}.kubeconfig", "02", None)
    assert found is not None, student
    return int(found.lab().param("node_port"))


def crs_label(course_id: str) -> str:
    from kubelab import classroom

    return classroom.label_value(course_id)


def students_work(kube: Kube, crs: course.Course, labs: list[labspec.Lab], out: Path, tmp_path: Path) -> None:
    """Alice and Bob, each with only their own kubeconfig."""
    alice, bob = out / "alice.kubeconfig", out / "bob.kubeconfig"
    lab01, lab02 = labs[0], labs[1]
    solution = sample_class.write_submission(
        crs, lab01, verify.variants(lab01)[0], "alice", tmp_path / "hand"
    )
    done = kubectl(alice, "lab-01", "apply", "-f", str(solution))
    assert done.returncode == 0, done.stderr
    bobs = course.student_namespace(lab01, "bob")
    attempts: dict[str, subprocess.CompletedProcess[str]] = {
        "into another's namespace": kubectl(alice, "lab-01", "apply", "-n", bobs, "-f", str(solution)),
        "reading another's namespace": kubectl(alice, "lab-01", "get", "pods", "-n", bobs),
        "a namespace": kubectl(alice, "lab-01", "create", "namespace", "mine-now"),
        "reading nodes": kubectl(alice, "lab-01", "get", "nodes"),
        "a cluster role binding": kubectl(
            alice,
            "lab-01",
            "create",
            "clusterrolebinding",
            "take-over",
            "--clusterrole=cluster-admin",
            f"--serviceaccount={course.student_namespace(lab01, 'alice')}:kubelab-answer",
        ),
    }
    others = course.student_values(crs, lab02, "chul-soo")["node_port"]
    service: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "not-mine"},
        "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80, "nodePort": others}]},
    }
    stolen = tmp_path / "stolen-port.yaml"
    stolen.write_text(yaml.safe_dump(service))
    attempts["chul-soo's node port"] = kubectl(alice, "lab-02", "apply", "-f", str(stolen))
    for what, said in attempts.items():
        assert refused(said), f"{what}: {said.stdout}{said.stderr}"
    service["spec"]["ports"][0]["nodePort"] = course.student_values(crs, lab02, "alice")["node_port"]
    stolen.write_text(yaml.safe_dump(service))
    own = kubectl(alice, "lab-02", "apply", "-f", str(stolen))
    assert own.returncode == 0, own.stderr  # her own port: hers
    assert kubectl(bob, "lab-01", "get", "pods").returncode == 0
    assert kube.get("Namespace", "mine-now") is None and kube.get("ClusterRoleBinding", "take-over") is None
    students_kubelab(alice, tmp_path / "alices-machine")


def config_of(out: Path, student: str) -> Path:
    return out / f"{course.slug(student)}.kubeconfig"


def class_works(
    crs: course.Course, labs: list[labspec.Lab], students: list[str], out: Path, into: Path
) -> dict[str, str]:
    """Every student but alice applies an answer to lab 01 with their own kubeconfig, four
    at a time: the students take lab 01's variants (the solution, the starter, each
    known-wrong answer) and HOSTILE's attempts in turn. Returns what each handed in: a
    variant's name or a HOSTILE entry. A variant the API server refuses in part
    (selector-mismatch) is as a student sees it; each hostile attempt must be refused
    whole (`refused`)."""
    lab01, lab02 = labs[0], labs[1]
    kinds = [*(v.name for v in verify.variants(lab01)), *HOSTILE]
    answers = {s: kinds[n % len(kinds)] for n, s in enumerate(students)}
    by_name = {v.name: v for v in verify.variants(lab01)}

    def hand_in(student: str) -> None:
        answer, config = answers[student], config_of(out, student)
        if answer in by_name:
            files = sample_class.write_submission(crs, lab01, by_name[answer], student, into)
            done = kubectl(config, "lab-01", "apply", "-f", str(files))
            refusable = by_name[answer].must_fail == "replicaset_exists"  # the API server refuses it
            assert done.returncode == 0 or refusable, f"{student}, {answer}: {done.stderr}"
            return
        neighbour = students[(students.index(student) + 1) % len(students)]
        if answer == HOSTILE[0]:  # the solution, into the next student's seat
            files = sample_class.write_submission(crs, lab01, by_name["solution"], student, into)
            docs = [d for f in sorted(files.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
            for doc in docs:
                doc["metadata"]["namespace"] = course.student_namespace(lab01, neighbour)
            attempt = (lab01, docs)
        elif answer == HOSTILE[1]:  # cluster-admin for their own answer's identity
            rbac = "rbac.authorization.k8s.io"
            own = course.student_namespace(lab01, student)
            binding = {
                "apiVersion": f"{rbac}/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": f"kubelab-e2e-{course.slug(student)}"},
                "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "kubelab-answer", "namespace": own}],
            }
            attempt = (lab01, [binding])
        else:  # a NodePort service on the neighbour's node port
            port = course.student_values(crs, lab02, neighbour)["node_port"]
            ports = [{"port": 80, "nodePort": port}]
            service = {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "eva-svc"},
                "spec": {"type": "NodePort", "selector": {"app": "eva"}, "ports": ports},
            }
            attempt = (lab02, [service])
        lab, docs = attempt
        path = into / f"{course.slug(student)}-hostile.yaml"
        path.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
        said = kubectl(config, f"lab-{lab.id}", "apply", "-f", str(path))
        assert refused(said), f"{student}, {answer}: {said.stdout}{said.stderr}"

    into.mkdir()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(hand_in, students))
    return answers


def graded_as_expected(lab: labspec.Lab, answers: dict[str, str], grades: dict[str, Any]) -> dict[str, str]:
    """Per student, what is wrong with their live grade ("" when nothing): a variant's
    grade says what `verify` expects of it (the solution every point, a known-wrong
    answer no point for its check and every point for its `passes`, the starter not every
    point); a hostile student, none of whose attempt was made, no point for what lab 01
    asks to exist."""
    variants = {v.name: v for v in verify.variants(lab)}
    full = {c.id: c.points for c in lab.checks}
    said: dict[str, str] = {}
    for student, answer in answers.items():
        grade = grades[student]
        points, status = grade["points"], grade["status"]
        variant = variants.get(answer)
        if status != "graded":
            said[student] = f"{answer}: {status} ({grade['reason']})"
        elif variant is None:
            said[student] = "" if points["replicaset_exists"] == 0 else f"{answer}: {points}"
        elif variant.must_fail is None:
            said[student] = "" if grade["earned"] == grade["total"] else f"{answer}: {points}"
        elif variant.must_fail == "*":
            said[student] = "" if grade["earned"] < grade["total"] else f"{answer}: {points}"
        else:
            ok = points[variant.must_fail] == 0 and all(points[c] == full[c] for c in variant.must_pass)
            said[student] = "" if ok else f"{answer}: {points}"
    return said


def as_student(config: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The student's own kubelab, with only the kubeconfig of their seats (as they would
    `export KUBELAB_KUBECONFIG=…`), a workspace and state of their own, and no Docker."""
    env = {
        **os.environ,
        "KUBELAB_KUBECONFIG": str(config),
        "KUBELAB_WORKSPACE": str(home / "workspace"),
        "KUBELAB_STATE": str(home / "state"),
        "DOCKER_HOST": f"unix://{home}/no-docker.sock",
    }
    command = [sys.executable, "-m", "kubelab", "--lang", "en", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def students_kubelab(alice: Path, home: Path) -> None:
    """Alice's `start` and `check` of lab 01 with her seat's kubeconfig alone: her variant
    (no course file), nothing tried that a seat may not do, her answer judged; the check
    that drains a node (a seat may not read nodes) is left to the teacher, in one line."""
    started = as_student(alice, home, "start", "01")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "Ready: namespace lab-01-ualice, context lab-01" in " ".join(started.stdout.split())
    assert (home / "workspace").is_dir()
    checked = as_student(alice, home, "check", "01")
    said = checked.stdout + checked.stderr
    assert checked.returncode == 0, said
    assert "Traceback" not in said
    assert "survives_a_drain" in said and "left to your teacher's grading" in said, said
    assert "✗" not in checked.stdout, said
    pod = kubectl(alice, "lab-01", "get", "pods", "-o", "name").stdout.split()[0]
    inside = kubectl(alice, "lab-01", "exec", pod, "--", "true")  # as the labs' text asks
    assert inside.returncode == 0, inside.stderr
    other = as_student(alice, home, "check", "07")
    assert other.returncode == 2 and "has no seat for lab 07" in other.stdout + other.stderr, other.stdout


def wait_gone(kube: Kube, namespace: str) -> None:
    from kubelab.errors import CheckFailed, Finding
    from kubelab.waiting import wait_until

    def gone() -> None:
        if kube.get("Namespace", namespace) is not None:
            raise CheckFailed(Finding(f"namespace {namespace}", "gone", "still there"))

    wait_until(gone, 120)
