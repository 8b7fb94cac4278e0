"""End to end, on a real cluster (never mocked): `kubelab grade` of a generated class.

The solution and starter of the labs whose grading differs (GRADED_LABS; and a known-wrong
answer of lab 01) are handed in by "students" of a course, each with the values of their
own variant written into the files;
a corpus of bad input is handed in for lab 01 beside them. Every student must get the expected score or
status, and afterwards nothing of the grading may be left on the cluster or the node.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelab import capacity, cluster, labspec, nodefiles, ownership, sample_class, verify
from kubelab.errors import CheckFailed, Finding
from kubelab.kube import Kube
from kubelab.labspec import Lab
from kubelab.waiting import wait_until
from tests.e2e.conftest import solved_cluster

pytestmark = pytest.mark.e2e

RUN_LIMIT = 1200.0
SOLUTION = labspec.find_lab("01").solution


def grade_command(lab: str, folder: Path, out: Path, course: Path, roster: Path, jobs: int) -> list[str]:
    command = [sys.executable, "-m", "kubelab", "--lang", "en", "grade", lab, str(folder)]
    return [*command, "--course", str(course), "--roster", str(roster), "--out", str(out), "-j", str(jobs)]


def start_grade(
    lab: str, folder: Path, out: Path, course: Path, roster: Path, jobs: int
) -> subprocess.Popen[str]:
    command = grade_command(lab, folder, out, course, roster, jobs)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def graded(out: Path, student: str) -> dict[str, Any]:
    return dict(json.loads((out / "evidence" / student / "grade.json").read_text(encoding="utf-8")))


def failed_itself(grade: dict[str, Any]) -> list[str]:
    return [r["id"] for r in grade["card"]["results"] if not r["passed"] and not r.get("blocked_by")]


def with_solution(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for path in SOLUTION.glob("*.yaml"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


@dataclass(frozen=True)
class Expect:
    """What a bad-input student must get: a status, a score (full, less, zero, or not-full:
    less or zero), and how many objects the sandbox refused (None: not counted)."""

    status: str
    score: str
    refused: int | None = None


def bad_inputs(into: Path, outside: Path, hog_cpu: int) -> dict[str, Expect]:
    """Students of lab 01 who hand in the solution with something bad beside it (or
    instead); one asks for `hog_cpu` millicores."""
    expected: dict[str, Expect] = {}

    def student(name: str, status: str, score: str, refused: int | None = None) -> Path:
        expected[name] = Expect(status, score, refused)
        return with_solution(into / name)

    (student("broken-yaml", "invalid", "zero") / "broken.yaml").write_text("kind: Pod\nmetadata: {name: [\n")
    (student("binary-file", "invalid", "zero") / "blob.yaml").write_bytes(bytes(range(256)) * 4)
    with open(student("fifty-megabytes", "invalid", "zero") / "big.bin", "wb") as big:
        big.truncate(50 * 1024 * 1024)
    outside.write_text("secret: do not read\n")
    (student("symlink-out", "invalid", "zero") / "link.yaml").symlink_to(outside)
    expected["zip-slip"] = Expect("invalid", "zero")
    with zipfile.ZipFile(into / "zip-slip.zip", "w") as archive:
        for path in SOLUTION.glob("*.yaml"):
            archive.write(path, path.name)
        archive.writestr("../../escaped.yaml", "kind: Pod\n")
    # tar headers that froze Python's tarfile (CVE-2024-6232: 2,000,000 digits for hours) or
    # took the grader to 2.1 GiB (a 2 MB long name): refused from their size, unread
    from tests.unit.test_submissions import member, raw_tar

    right = [member(p.name.encode(), p.read_bytes()) for p in SOLUTION.glob("*.yaml")]
    expected["pax-digits"] = Expect("invalid", "zero")
    raw_tar(into / "pax-digits.tar.gz", member(b"././@PaxHeader", b"1" * 2_000_000, b"x"), *right)
    expected["long-name"] = Expect("invalid", "zero")
    raw_tar(into / "long-name.tar.gz", member(b"././@LongLink", b"a" * 2_000_000, b"L"), *right)
    many = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}} for i in range(10_000)]
    (student("ten-thousand-configmaps", "invalid", "zero") / "many.yaml").write_text(yaml.safe_dump_all(many))

    def extra(name: str, *docs: dict[str, Any], refused: int | None = 1) -> Path:
        folder = student(name, "graded", "full", refused)
        (folder / "extra.yaml").write_text(yaml.safe_dump_all(list(docs)))
        return folder

    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "extra"}}
    container = {"name": "c", "image": "kubelab/web:v1"}
    # what reaches outside the sandbox, each refused by the API server (one student hands
    # in all of them beside the solution: every one refused, every point still earned)
    privileged = {**container, "securityContext": {"privileged": True}}
    root = {"name": "root", "hostPath": {"path": "/"}}
    mounted = {**container, "volumeMounts": [{"name": "root", "mountPath": "/host"}]}
    git = {"name": "g", "gitRepo": {"repository": "https://git.invalid/x"}}
    untyped = {"name": "u", "hostPath": {"path": "/data/sandboxes/lab-01-urefused-extras/folder"}}
    extra(
        "refused-extras",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "take-over"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}],
        },
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mine-now"}},
        {
            **pod,
            "metadata": {"name": "extra", "namespace": "kube-system"},
            "spec": {"containers": [container]},
        },
        named(pod, "privileged", containers=[privileged]),
        named(pod, "host-root", containers=[mounted], volumes=[root]),
        # pods that would act as the cluster, outrank the neighbours, or reach the node another way
        named(pod, "token", automountServiceAccountToken=True, containers=[container]),
        named(pod, "urgent", priorityClassName="system-node-critical", containers=[container]),
        named(pod, "git", containers=[container], volumes=[git]),
        named(pod, "untyped", containers=[container], volumes=[untyped]),
        refused=9,
    )
    filler = {**container, "command": ["sh", "-c", "dd if=/dev/zero of=/fill bs=1M count=2048; sleep 3600"]}
    extra(
        "fills-its-disk",
        {**pod, "spec": {"containers": [filler], "terminationGracePeriodSeconds": 0}},
        refused=None,
    )
    never = student("image-never-pulls", "graded", "less")
    for path in never.glob("*.yaml"):
        path.write_text(path.read_text().replace("kubelab/web:v1", "kubelab/web:v404"))
    expected.update(hostile_inputs(into, student, extra, pod, container, hog_cpu))
    return expected


def named(pod: dict[str, Any], name: str, **spec: Any) -> dict[str, Any]:
    return {**pod, "metadata": {"name": name}, "spec": spec}


def hostile_inputs(
    into: Path, student: Any, extra: Any, pod: dict[str, Any], c: dict[str, Any], hog_cpu: int
) -> dict[str, Expect]:
    """What one student may do to a class: fields of the wrong type (the API server answers
    a server-side apply of one with a 500), values out of range, an immutable field
    changed, objects that clash within the submission, a zip with an entry twice, an odd
    apiVersion, file names with escape sequences, a pod that asks for all it may, a
    foreign finalizer. Every right answer graded beside these must still get every point."""
    made: dict[str, Expect] = {}
    replicas = student("wrong-type-replicas", "graded", "not-full", 1)
    rs = replicas / "replicaset.yaml"
    rs.write_text(rs.read_text().replace("replicas: 3", "replicas: three"))
    extra(  # numbers, booleans, quantities of the wrong type: refused before the API server
        "wrong-types",
        named(pod, "grace", terminationGracePeriodSeconds="soon", containers=[c]),
        named(pod, "stdin", containers=[{**c, "stdin": "yes"}]),
        named(pod, "ports", containers=[{**c, "ports": [{"containerPort": "eighty"}]}]),
        named(pod, "colour", colour="blue", containers=[c]),
        refused=4,
    )
    extra(  # values the schema lets through and the API server refuses
        "out-of-range",
        named(pod, "port", containers=[{**c, "ports": [{"containerPort": 99999}]}]),
        named(pod, "cpu", containers=[{**c, "resources": {"requests": {"cpu": "lots"}}}]),
        {**named(pod, "label", containers=[c]), "metadata": {"name": "label", "labels": {"a": "x" * 70}}},
        named(pod, "Upper-Case", containers=[c]),
        named(pod, "new\nline", containers=[c]),
        named(pod, "bell\x07\x1b[2J", containers=[c]),
        refused=6,
    )
    # the API server's 500 for a server-side apply that the schema cannot see
    extra("duplicate-keys", named(pod, "twins", containers=[c, c]))
    changed = student("immutable-change", "graded", "full", 1)
    (changed / "zz-again.yaml").write_text(
        (changed / "replicaset.yaml").read_text().replace("app: my-little-pod", "app: another-pod")
    )
    clash = extra(
        "pod-clash", named(pod, "clash", containers=[{**c, "command": ["sleep", "3600"]}]), refused=1
    )
    (clash / "zz-clash.yaml").write_text(
        yaml.safe_dump(named(pod, "clash", containers=[{**c, "command": ["sleep", "60"]}]))
    )
    twice = student("same-object-twice", "graded", "full", 0)
    (twice / "copy-of-replicaset.yaml").write_text((twice / "replicaset.yaml").read_text())
    made["zip-entry-twice"] = Expect("invalid", "zero")
    with zipfile.ZipFile(into / "zip-entry-twice.zip", "w") as archive:
        for path in SOLUTION.glob("*.yaml"):
            archive.write(path, path.name)
        with pytest.warns(UserWarning):
            archive.writestr("replicaset.yaml", "kind: Pod\n")
    odd = student("odd-api-version", "invalid", "zero")
    (odd / "odd.yaml").write_text("apiVersion: apps/v1/x\nkind: ReplicaSet\nmetadata: {name: odd}\n")
    evil = student("escape-in-a-file-name", "graded", "full", 2)
    forged = "evil\x1b[2J\x1b[H\x1b[32m✓ grade: 300 students, every one graded 25 of 25"
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-in-lab-01"}}
    (evil / f"{forged}.yaml").write_text(yaml.safe_dump(config))
    (evil / "new\nline.yaml").write_text(yaml.safe_dump(config))
    # asks for nearly all one answer may have (half what the cluster can give answers): its
    # share holds it, apart from its neighbours' (before shares, one such answer left three
    # right answers Pending)
    asked = {"cpu": f"{hog_cpu}m", "memory": "1Gi"}
    greedy = {**c, "resources": {"requests": asked, "limits": asked}}
    extra("asks-for-all-it-may", named(pod, "hog", containers=[greedy]), refused=0)
    kept = {**named(pod, "kept", containers=[c], terminationGracePeriodSeconds=0)}
    kept["metadata"]["finalizers"] = ["kubelab.test/never-served"]
    extra("foreign-finalizer", kept, refused=0)
    own = "/data/sandboxes/lab-01-u{}/folder"
    # a few lines of YAML that aliases make an object of 900 KB (within the API server's limit)
    bomb = student("huge-by-aliases", "graded", "full", 1)
    piece = "x" * 10_000
    (bomb / "extra.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: huge}\n"
        "spec:\n  containers:\n  - name: c\n    image: kubelab/web:v1\n"
        f"    env: [&e {{name: PAD, value: {piece}}}, {', '.join(['*e'] * 89)}]\n"
    )
    # writes 400 MiB into its own node folder: the watch stops it at 256 MiB, and it is refused
    filler = student("fills-the-node-folder", "invalid", "zero")
    folder = {
        "name": "f",
        "hostPath": {"path": own.format("fills-the-node-folder"), "type": "DirectoryOrCreate"},
    }
    writes = {
        **c,
        "command": ["sh", "-c", "dd if=/dev/zero of=/f/fill bs=1M count=400; sleep 3600"],
        "volumeMounts": [{"name": "f", "mountPath": "/f"}],
    }
    spec = {"containers": [writes], "volumes": [folder], "terminationGracePeriodSeconds": 0}
    (filler / "extra.yaml").write_text(yaml.safe_dump(named(pod, "filler", **spec)))
    return made


@pytest.fixture(scope="module")
def kube() -> Kube:
    """kubelab's kind cluster, up (created or reused)."""
    return solved_cluster()


def nothing_left(kube: Kube, labs: list[Lab], node_folder: Path) -> list[str]:
    """What the grading left (sandboxes, their volumes, kubelab's records of them, node
    folders), once the namespaces kubelab emptied and deleted are gone (within 90 s)."""

    def settled() -> list[str]:
        left = _left(kube, labs, node_folder)
        if left:
            raise CheckFailed(Finding("grading's objects", "gone", ", ".join(left)))
        return left

    try:
        return wait_until(settled, 90)
    except CheckFailed:
        return _left(kube, labs, node_folder)


def _left(kube: Kube, labs: list[Lab], node_folder: Path) -> list[str]:
    left = [
        ns["metadata"]["name"]
        for ns in kube.list("Namespace")
        if any(ns["metadata"]["name"].startswith(f"{lab.namespace}-u") for lab in labs)
    ]
    left += [pv["metadata"]["name"] for pv in kube.list("PersistentVolume") if "-u" in pv["metadata"]["name"]]
    left += [o.describe() for o in ownership.recorded(kube) if o.purpose == "grade"]
    if node_folder.exists():
        left += [p.name for p in node_folder.iterdir() if "-u" in p.name]
    return left


GRADED_LABS = ("01", "03", "04", "05")
"""Labs whose grading takes more than their checks: lab 01 (the bad inputs), 03 (kubectl
steps), 04 (node folders on every node), 05 (volumes). Every variant of every lab is
verified through the same engine and sandboxes in test_verify_every_lab.py, and lab 02's
node ports are graded in test_faults.py."""


def test_a_generated_class_gets_the_expected_grades(kube: Kube, tmp_path: Path) -> None:
    labs = [labspec.find_lab(i) for i in GRADED_LABS]
    course = sample_class.course_file(tmp_path / "course.yaml")
    from kubelab import course as courses

    # lab 01 (the bad inputs' lab) with its solution, starter and first known-wrong answer;
    # the others with their solution and starter
    crs = courses.load_course(course)
    made = {
        **sample_class.write_class(crs, labs[:1], tmp_path / "class", most=3),
        **sample_class.write_class(crs, labs[1:], tmp_path / "class", most=2),
    }
    # the hog asks for nearly half of what answers can have, less room for lab 01's own pods
    # and for the crews the runs below start (one pod per node each), which the shares are
    # cut from once they run (a hog within 105m of half left its replicas no room)
    crews = len(labs) * len(kube.list("Node")) * capacity.cpu_millis(nodefiles.READER_REQUESTS["cpu"])
    hog = capacity.room(kube).steady.cpu // capacity.SCRATCH_COPIES - 200 - crews
    expected_bad = bad_inputs(tmp_path / "class" / "01", tmp_path / "outside-secret.txt", hog)
    rolling = labspec.find_lab("03")  # a NUL in a steps file is the student's, not kubelab's crash
    nul = sample_class.write_submission(
        courses.load_course(course),
        rolling,
        verify.variants(rolling)[0],
        "steps-nul",
        tmp_path / "class" / "03",
    )
    (nul / "steps.txt").write_text("kubectl rollout undo deployment/web\x00 --to-revision=1\n")
    runs = {}
    for lab in labs:
        roster = sample_class.roster(made[lab.id], tmp_path / f"roster-{lab.id}.csv")
        jobs = 4 if lab.id == "01" else 2
        runs[lab.id] = start_grade(
            lab.id, tmp_path / "class" / lab.id, tmp_path / "out" / lab.id, course, roster, jobs
        )
    try:
        check_class(kube, tmp_path, labs, made, expected_bad, runs)
    finally:
        for run in runs.values():  # a failed test leaves no grading to load the tests after it
            if run.poll() is None:
                run.terminate()
                try:
                    run.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    run.kill()


def check_class(
    kube: Kube,
    tmp_path: Path,
    labs: list[Lab],
    made: dict[str, Any],
    expected_bad: dict[str, Expect],
    runs: dict[str, subprocess.Popen[str]],
) -> None:
    problems: list[str] = []
    printed: dict[str, str] = {}
    for lab in labs:
        out, err = runs[lab.id].communicate(timeout=RUN_LIMIT)
        printed[lab.id] = out + err
        print(f"--- lab {lab.id}\n{out!r}\n{err!r}")
        where = tmp_path / "out" / lab.id
        if runs[lab.id].returncode != 0:
            problems.append(f"lab {lab.id}: kubelab grade exited {runs[lab.id].returncode}: {err.strip()}")
            continue
        sheet = (where / "grades.csv").read_text(encoding="utf-8").splitlines()
        bad = {"01": len(expected_bad), "03": 1}.get(lab.id, 0)
        assert len(sheet) == 1 + len(made[lab.id]) + bad
        for student in made[lab.id]:
            grade = graded(where, student.id)
            must = student.variant.must_fail
            if grade["status"] != "graded":
                problems.append(f"{student.id}: {grade['status']}: {grade['reason']}")
            elif must is None and (grade["earned"] != grade["total"] or grade["refused"]):
                problems.append(
                    f"{student.id}: {grade['earned']}/{grade['total']}, refused {grade['refused']}"
                )
            elif must == "*" and grade["earned"] == grade["total"]:
                problems.append(f"{student.id}: the starter got every point")
            elif must not in (None, "*") and must not in failed_itself(grade):
                problems.append(f"{student.id}: {must} did not fail ({failed_itself(grade)})")
            feedback = (where / "feedback" / f"{student.id}.md").read_text(encoding="utf-8")
            assert f"{grade['earned']}/{grade['total']}" in feedback
            assert (where / "evidence" / student.id / "objects.yaml").is_file()
    assert runs["01"].returncode == 0, "\n".join(problems)
    where = tmp_path / "out" / "01"
    for student, expect in expected_bad.items():
        grade = graded(where, student)
        full = grade["earned"] == grade["total"]
        got = "full" if full else ("zero" if grade["earned"] == 0 else "less")
        if grade["status"] != expect.status or (
            got != expect.score and not (expect.score == "not-full" and not full)
        ):
            problems.append(
                f"{student}: {grade['status']} {grade['earned']}/{grade['total']} ({grade['reason']})"
            )
        if expect.refused is not None and len(grade["refused"]) != expect.refused:
            problems.append(f"{student}: refused {grade['refused']}, expected {expect.refused}")
        problems += people_can_read(student, grade, tmp_path)
    for name in ("grades.csv", "grades.json", *(f"feedback/{s}.md" for s in expected_bad)):
        if CONTROL.search((where / name).read_text(encoding="utf-8")):
            problems.append(f"{name}: a raw control character")
    if CONTROL.search(printed["01"]):
        problems.append("the teacher's terminal got a raw control character")
    nul_grade = graded(tmp_path / "out" / "03", "steps-nul")
    assert nul_grade["status"] == "invalid" and "control character" in nul_grade["reason"], nul_grade
    assert "node folders" in graded(where, "fills-the-node-folder")["reason"]
    for archive in ("pax-digits", "long-name"):
        assert "a header larger than 64 KiB" in graded(where, archive)["reason"]
    assert "larger than 256 KiB" in graded(where, "huge-by-aliases")["refused"][0]
    evil = graded(where, "escape-in-a-file-name")["refused"]
    assert all("\\x1b[2J" in line or "\\x0a" in line for line in evil), evil
    assert not (tmp_path / "escaped.yaml").exists() and not (tmp_path / "class" / "escaped.yaml").exists()
    assert kube.get("ClusterRoleBinding", "take-over") is None and kube.get("Namespace", "mine-now") is None
    assert kube.get("Pod", "extra", "kube-system") is None
    assert not problems, "\n".join(problems)
    assert nothing_left(kube, labs, cluster.hostpath_root() / "sandboxes") == []


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""What must never reach a person raw: a control character (not a newline or tab)."""


def people_can_read(student: str, grade: dict[str, Any], tmp_path: Path) -> list[str]:
    """A student's reason and refusals: one line each, paths inside the submission, no
    Python exception names, no control characters."""
    problems = []
    for line in [grade["reason"], grade["reason_ko"], *grade["refused"]]:
        if "\n" in line or CONTROL.search(line):
            problems.append(f"{student}: not one clean line: {line!r}")
        if str(tmp_path) in line or "kubelab-grade-" in line:
            problems.append(f"{student}: a path of the grader's: {line}")
        if re.search(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Traceback", line):
            problems.append(f"{student}: a Python exception: {line}")
    return problems


def test_grading_twice_gives_the_same_grades_and_resume_keeps_them(kube: Kube, tmp_path: Path) -> None:
    """The same submissions graded twice (--repeat 2) get the same verdicts, and --resume
    grades only what changed."""
    lab = labspec.find_lab("01")
    course = sample_class.course_file(tmp_path / "course.yaml")
    from kubelab import course as courses

    made = sample_class.write_class(courses.load_course(course), [lab], tmp_path / "class", most=2)
    roster = sample_class.roster(made["01"], tmp_path / "roster.csv")
    out = tmp_path / "out"
    command = grade_command("01", tmp_path / "class" / "01", out, course, roster, 4)
    twice = subprocess.run([*command, "--repeat", "2"], capture_output=True, text=True, timeout=RUN_LIMIT)
    assert twice.returncode == 0 and "changed" not in twice.stdout, twice.stdout + twice.stderr
    solution = made["01"][0].id
    (tmp_path / "class" / "01" / solution / "replicaset.yaml").write_text(
        (tmp_path / "class" / "01" / solution / "replicaset.yaml")
        .read_text()
        .replace("replicas: 3", "replicas: 2")
    )
    resumed = subprocess.run(
        [*command, "--resume"], capture_output=True, text=True, timeout=RUN_LIMIT, env=os.environ
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert graded(out, solution)["earned"] < graded(out, solution)["total"]
    seconds = {s.id: graded(out, s.id)["seconds"] for s in made["01"]}
    assert all(s > 0 for s in seconds.values())
    assert nothing_left(kube, [lab], cluster.hostpath_root() / "sandboxes") == []


def test_a_slow_submission_times_out_and_live_grading_applies_nothing(
    kube: Kube, tmp_path: Path, verify_runs: object
) -> None:
    """A submission whose pods can never be scheduled keeps a check waiting past
    --time-limit: `timed-out`, not a zero. And --live grades a namespace as it stands.
    The first test beside the course cluster's verify (verify_runs: most of it is waiting
    out the time limit, which a busy machine only makes surer)."""
    slow = with_solution(tmp_path / "class" / "slow-student")
    for path in slow.glob("*.yaml"):
        docs = list(yaml.safe_load_all(path.read_text()))
        for doc in docs:
            if doc.get("kind") == "ReplicaSet":
                doc["spec"]["template"]["spec"]["nodeSelector"] = {"kubelab.dev/no-such-node": "true"}
        path.write_text(yaml.safe_dump_all(docs))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "kubelab", "--lang", "en", "grade", "01", str(tmp_path / "class")]
    done = subprocess.run(
        [*command, "--out", str(out), "--time-limit", "30"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 1, done.stdout + done.stderr  # some student is not graded
    grade = graded(out, "slow-student")
    assert grade["status"] == "timed-out" and grade["earned"] == 0, grade
    assert "timed-out" in (out / "grades.csv").read_text()

    namespace = "lab-01-ulive-check"
    solved = subprocess.run(
        [sys.executable, "-m", "kubelab", "solve", "01", "--namespace", namespace],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert solved.returncode == 0, solved.stdout + solved.stderr
    try:
        live = subprocess.run(
            [
                sys.executable,
                "-m",
                "kubelab",
                "--lang",
                "en",
                "grade",
                "01",
                "--live",
                "--namespaces",
                "lab-01-ulive-*",
                "--out",
                str(tmp_path / "live"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert live.returncode == 0, live.stdout + live.stderr
        result = graded(tmp_path / "live", namespace)
        assert result["status"] == "graded" and result["earned"] == result["total"], result
        assert kube.get("Namespace", namespace) is not None  # live grading leaves the namespace as it was
    finally:
        ownership.remove_all(kube, [o for o in ownership.recorded(kube, "01") if o.name == namespace])
    assert nothing_left(kube, [labspec.find_lab("01")], cluster.hostpath_root() / "sandboxes") == []
