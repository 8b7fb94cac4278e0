"""Grading's own logic: finding submissions, reading them, steps files, the outputs (no
cluster; tests/e2e/test_grade.py grades a class on a real one)."""

from __future__ import annotations

import base64
import json
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from kubelab import grade, gradebook, labspec, submissions
from kubelab.course import Course
from kubelab.errors import InputError
from kubelab.grade import Grade
from kubelab.results import CheckResult, Scorecard
from kubelab.text import Text

COURSE = Course(id="k8s", seed="a-secret-seed")
RS = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: simple-replicaset}\n"


def test_one_submission_per_student(tmp_path: Path) -> None:
    (tmp_path / "2026123").mkdir()
    with zipfile.ZipFile(tmp_path / "2026124.zip", "w") as z:
        z.writestr("rs.yaml", RS)
    (tmp_path / "2026124").mkdir()  # a second one of the same student
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".DS_Store").write_text("x")
    (tmp_path / "bad id!").mkdir()
    subs, notes = grade.find_submissions(tmp_path, {"2026123": "Kim", "2026125": "Park"})
    by_id = {s.student: s for s in subs}
    assert sorted(by_id) == ["2026123", "2026124", "2026125"]
    assert by_id["2026124"].path == tmp_path / "2026124"  # sorted: the folder before the .zip
    assert by_id["2026125"].path is None and by_id["2026123"].name == "Kim"
    said = " ".join(n.en for n in notes)
    assert "notes.txt" in said and "bad id!" in said and "has a submission already" in said
    assert "not on the roster" in said


def test_taking_in_reads_manifests_and_hashes_every_file(tmp_path: Path) -> None:
    lab = labspec.find_lab("01")
    folder = tmp_path / "s"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "rs.yaml").write_text(RS)
    (folder / "README.md").write_text("hi")
    taken = grade.take_in(folder, tmp_path / "work", lab, submissions.Limits())
    assert [f[0] for f in taken.files] == ["README.md", "sub/rs.yaml"]
    assert [d.kind for d in taken.docs] == ["ReplicaSet"] and str(taken.docs[0].path) == "sub/rs.yaml"
    again = grade.take_in(folder, tmp_path / "work2", lab, submissions.Limits())
    assert again.digest == taken.digest
    (folder / "README.md").write_text("changed")
    assert grade.take_in(folder, tmp_path / "work3", lab, submissions.Limits()).digest != taken.digest
    assert (folder / "sub" / "rs.yaml").read_text() == RS  # the student's files are untouched


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"notes.txt": "x"}, "no .yaml"),
        ({"a.yaml": "a: [\n"}, "YAML"),
        ({"a.yaml": "\x00\xff"}, "UTF-8"),
        ({"a.yaml": "---\n".join([RS] * 60), "b.yaml": "---\n".join([RS] * 60)}, "documents"),
        ({"a.yaml": RS, "steps.txt": "kubectl get pods\n"}, "takes no steps.txt"),
    ],
)
def test_a_submission_that_cannot_be_read_is_refused(
    tmp_path: Path, files: dict[str, str], reason: str
) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_bytes(text.encode("latin-1") if "\x00" in text else text.encode())
    with pytest.raises(InputError, match=reason):
        grade.take_in(folder, tmp_path / "work", labspec.find_lab("01"), submissions.Limits())


def test_steps_are_the_labs_kubectl_verbs_and_nothing_else() -> None:
    lab = labspec.find_lab("03")
    steps = grade.parse_steps(
        "# roll it\nkubectl set image deployment/web web=kubelab/web:v2\n\n"
        "kubectl rollout undo deployment/web --to-revision=1\n",
        lab,
    )
    assert steps == (
        ("set", "image", "deployment/web", "web=kubelab/web:v2"),
        ("rollout", "undo", "deployment/web", "--to-revision=1"),
    )
    for bad in (
        "kubectl exec web -- sh",
        "rm -rf /",
        "kubectl scale deploy/web --replicas=4 -n kube-system",
        "kubectl scale deploy/web --replicas=4 --namespace=kube-system",
        "kubectl rollout undo deployment/web --as=system:admin",
        "kubectl annotate deploy/web a=b --kubeconfig=/etc/kubernetes/admin.conf",
        'kubectl set image "unterminated',
        "kubectl scale deploy/web --replicas=1\n" * 21,
        "kubectl scale deploy/web --replicas=4 -nkube-system",
        "kubectl rollout undo deployment/web -shttps://elsewhere:6443",
        "kubectl annotate deploy/web a=b -f/etc/passwd",
        "kubectl rollout status deployment/web -v=9",
        "kubectl scale deploy/web --replicas=3\x00",
        "kubectl annotate deploy/web a=\x1b[2J",
    ):
        with pytest.raises(InputError):
            grade.parse_steps(bad, lab)


def test_documents_go_to_the_students_namespace_or_are_refused(tmp_path: Path) -> None:
    from kubelab.manifests import Document

    lab = labspec.find_lab("01")
    docs = [
        Document(Path("a.yaml"), i, {"kind": "Pod", "metadata": {"name": f"p{i}", "namespace": ns}})
        for i, ns in enumerate(["lab-01", "lab-01-u2026123", "kube-system", None])
    ]
    kept, refused = grade.placed(docs, lab, "lab-01-u2026123")
    assert [d.name for d in kept] == ["p0", "p1", "p3"]
    assert all(not d.obj["metadata"].get("namespace") for d in kept)
    assert len(refused) == 1 and "kube-system" in refused[0]


def a_grade(status: str = "graded", passed: bool = False, student: str = "2026123") -> Grade:
    lab = labspec.find_lab("01")
    results = tuple(
        CheckResult(
            c.id, c.title, passed or i > 0, c.points, 0.5, "" if passed or i > 0 else "expected 3\nfound 1"
        )
        for i, c in enumerate(lab.checks)
    )
    card = Scorecard(lab="01", namespace="lab-01-u2026123", results=results)
    return Grade(
        student=student,
        name="김민지",
        lab="01",
        status=status,
        earned=card.earned,
        total=card.total,
        points={r.id: r.earned for r in results},
        refused=("a.yaml#1 ClusterRoleBinding x: forbidden",),
        digest="abc",
        card=card if status == "graded" else None,
        reason="" if status == "graded" else "a.yaml: not valid YAML",
    )


def test_a_grade_survives_its_file() -> None:
    grade_ = a_grade()
    assert Grade.from_dict(json.loads(json.dumps(grade_.to_dict()))) == grade_


def test_outputs(tmp_path: Path) -> None:
    lab = labspec.find_lab("01")
    grades = [a_grade(), a_grade("invalid", student="2026124")]
    gradebook.write_all(tmp_path, lab, grades, {"course": "k8s"})
    rows = (tmp_path / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("student,name,earned,total,replicaset_exists,")
    total = lab.total_points
    assert rows[1].startswith(f"2026123,김민지,{total - 1},{total},0,1,") and ",graded,1," in rows[1]
    assert ",invalid,1,a.yaml: not valid YAML" in rows[2]
    data = json.loads((tmp_path / "grades.json").read_text())
    assert data["course"] == "k8s" and [s["status"] for s in data["students"]] == ["graded", "invalid"]
    suite = ET.fromstring((tmp_path / "junit" / "2026123.xml").read_text())
    assert suite.get("tests") == str(len(lab.checks)) and suite.get("failures") == "1"
    assert ET.fromstring((tmp_path / "junit" / "2026124.xml").read_text()).get("errors") == str(
        len(lab.checks)
    )
    page = (tmp_path / "feedback" / "2026123.md").read_text()
    assert f"{total - 1}/{total}" in page and "found 1" in page
    assert "ClusterRoleBinding" in page and "잃은 점수" in page


def test_changed_verdicts_are_named() -> None:
    same = [a_grade(), a_grade()]
    assert grade.changed(same) == {}
    assert grade.changed([a_grade(), a_grade(passed=True)]) == {"2026123": ["replicaset_exists"]}
    assert "status" in grade.changed([a_grade(), a_grade("environment-error")])["2026123"]


def test_the_classroom_result() -> None:
    card = a_grade().card
    assert card is not None
    line = gradebook.classroom_line(card)
    result = json.loads(base64.b64decode(line))
    total = labspec.find_lab("01").total_points
    assert result["version"] == 1 and result["status"] == "fail" and result["max_score"] == total
    assert result["tests"][0]["status"] == "fail" and result["tests"][0]["score"] == 0
    assert sum(t["score"] for t in result["tests"]) == total - 1
    assert Text("x", "y").en == "y"


def test_a_sheet_cell_is_never_a_formula() -> None:
    assert gradebook._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and gradebook._cell("a\x00b") == "a\\x00b"


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_broken_archive_is_the_students_refusal(tmp_path: Path) -> None:
    broken = tmp_path / "2026123.zip"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("a.yaml", RS)
        z.writestr("a.yaml", RS)  # the same name twice
    with pytest.raises(submissions.SubmissionRefused):
        submissions.take_in(broken, tmp_path / "work")
    cut = tmp_path / "cut.tar.gz"
    import tarfile

    with tarfile.open(cut, "w:gz") as t:
        (tmp_path / "rs.yaml").write_text(RS * 500)
        t.add(tmp_path / "rs.yaml", "rs.yaml")
    cut.write_bytes(cut.read_bytes()[:200])
    with pytest.raises(submissions.SubmissionRefused):
        submissions.take_in(cut, tmp_path / "work2")


def test_live_grading_takes_the_matching_namespaces_but_never_the_systems_or_sandboxes() -> None:
    class Namespaces:
        def list(self, kind: str) -> list[dict[str, object]]:
            names = ["lab-01", "lab-01-u2026123", "kube-system", "default", "lab-01-s01", "lab-02"]
            labels = {"lab-01-s01": {"kubelab.dev/sandbox": "true"}}
            return [{"metadata": {"name": n, "labels": labels.get(n, {})}} for n in names]

    lab = labspec.find_lab("01")
    subs = grade.live_submissions(Namespaces(), lab, "*", COURSE, {"2026123": "Kim"})  # type: ignore[arg-type]
    assert [(s.student, s.namespace) for s in subs] == [
        ("2026123", "lab-01-u2026123"),
        ("lab-01", "lab-01"),
        ("lab-02", "lab-02"),
    ]
    with pytest.raises(InputError):
        grade.live_submissions(Namespaces(), lab, "nothing-*", None, {})  # type: ignore[arg-type]


def test_a_refusal_names_the_path_inside_the_submission(tmp_path: Path) -> None:
    """Not kubelab's temporary folder, nor the teacher's: the path the student knows."""
    folder = tmp_path / "class" / "bad-x"
    (folder / "deep").mkdir(parents=True)
    (folder / "deep" / "zz-broken.yaml").write_text("kind: Pod\nmetadata: {name: [\n")
    work = tmp_path / "kubelab-grade-01-xyz" / "bad-x.0"
    with pytest.raises(submissions.SubmissionRefused) as refused:
        grade.take_in(folder, work, labspec.find_lab("01"), submissions.Limits())
    assert refused.value.en.startswith("deep/zz-broken.yaml: line 3 is not valid YAML"), refused.value.en
    assert str(tmp_path) not in refused.value.en + refused.value.ko


def test_odd_api_versions_and_kinds_are_the_students_refusal(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    for bad, said in (
        ("apiVersion: apps/v1/x\nkind: ReplicaSet\nmetadata: {name: r}\n", "not a Kubernetes API version"),
        ("apiVersion: v1\nkind: [Pod]\nmetadata: {name: r}\n", "must be text"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: 12}\n", "must be text"),
    ):
        (folder / "a.yaml").write_text(bad)
        with pytest.raises(submissions.SubmissionRefused, match=said):
            grade.take_in(folder, tmp_path / f"w{len(bad)}", labspec.find_lab("01"), submissions.Limits())


def test_what_a_student_named_is_shown_escaped(tmp_path: Path) -> None:
    """A folder name with escape sequences would clear the teacher's screen and forge a
    summary: it is shown with its control characters written out."""
    (tmp_path / "evil\x1b[2J\x1b[H\x1b[32m✓ grade: every one graded").mkdir()
    _, notes = grade.find_submissions(tmp_path, {})
    said = " ".join(n.en + n.ko for n in notes)
    assert "\x1b" not in said and "\\x1b[2J" in said


def test_schema_problems_are_refusals_before_the_api_server() -> None:
    from kubelab import sandbox
    from kubelab.manifests import Document

    good = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok"}, "data": {"a": "b"}}
    typed = {**good, "metadata": {"name": "typed"}, "data": {"a": 1}}
    unknown = {**good, "metadata": {"name": "unknown"}, "colour": "blue"}
    odd = {**good, "kind": "Gizmo", "metadata": {"name": "odd"}}
    valid, refused = sandbox.validated(
        [Document(Path("a.yaml"), i, d) for i, d in enumerate([good, typed, unknown, odd])]
    )
    assert [d.name for d in valid] == ["ok"]
    assert [(r.name, r.reason.split(":")[0]) for r in refused] == [
        ("typed", "not a valid ConfigMap"),
        ("unknown", "not a valid ConfigMap"),
        ("odd", "not a valid Gizmo"),
    ]
    assert "is not of type 'string'" in refused[0].reason and "colour" in refused[1].reason


def test_the_feedback_page_cannot_be_broken_out_of(tmp_path: Path) -> None:
    """A file name with backticks or a fence cannot end the code it is shown in (and so
    cannot add a link or an image to the student's page)."""
    lab = labspec.find_lab("01")
    grade = Grade(
        student="s",
        name="",
        lab="01",
        status="graded",
        total=lab.total_points,
        refused=("x`` ![t](http://x/p.png) ``.yaml#1: refused",),
        reason="a ```\n# title",
    )
    page = gradebook.feedback(lab, grade)
    assert "- ``` x`` ![t](http://x/p.png) ``.yaml#1: refused ```" in page
    assert "> ```` a ```\\x0a# title ````" in page


def test_no_forged_score_and_valid_junit_whatever_the_characters() -> None:
    """Student text with a fence, raw HTML and a forged heading stays inside its code; a
    character no XML may hold (U+FFFF, a lone surrogate) is written out, so the JUnit file
    still parses."""
    from dataclasses import replace

    from kubelab.results import CheckResult, Scorecard
    from kubelab.text import Text

    lab = labspec.find_lab("01")
    forged = "img```\n## score: **25/25**\n<script>alert(1)</script>\uffff\ud800"
    spec = lab.checks[0]
    result = CheckResult(spec.id, Text("t", "t"), False, spec.points, 0.1, forged)
    grade = Grade(
        student="s",
        name="",
        lab="01",
        status="graded",
        total=lab.total_points,
        refused=(forged,),
        card=Scorecard(lab.id, "lab-01-us", (result,)),
    )
    page = gradebook.feedback(lab, grade)
    assert "\uffff" not in page
    shown = _outside_code(page)
    assert [line for line in shown if "score" in line] == [
        f"- 점수 / score: **0/{labspec.find_lab('01').total_points}**"
    ]
    assert not any("<script>" in line for line in shown)
    suite = ET.fromstring(gradebook.junit(lab, grade))
    failure = suite.find("testcase/failure")
    assert failure is not None and "\\uffff" in (failure.text or "")
    grade = replace(grade, status="invalid", reason=forged)
    ET.fromstring(gradebook.junit(lab, grade))


def _outside_code(page: str) -> list[str]:
    """The lines of a Markdown page that are not code, as CommonMark reads them: a fence
    closes only with at least as many backticks as opened it; inline code spans removed."""
    import re

    shown: list[str] = []
    fence = 0
    for line in page.splitlines():
        run = re.fullmatch(r"(`{3,})", line.strip())
        if fence:
            if run and len(run.group(1)) >= fence:
                fence = 0
            continue
        if run:
            fence = len(run.group(1))
            continue
        shown.append(re.sub(r"(`+) .*? \1", "", line))
    return shown


def test_an_object_that_aliases_make_huge_is_refused_before_the_api_server(tmp_path: Path) -> None:
    """Within the loader's node limit, aliases still let a few lines stand for a huge
    object (115 MB reached etcd and the evidence): weighed before apply, it is refused."""
    from kubelab import manifests, sandbox
    from kubelab.manifests import Document

    path = tmp_path / "bomb.yaml"
    line = "x" * 10_000
    path.write_text(
        f"a: &a [{', '.join([repr(line)] * 10)}]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\n"
    )
    (loaded,) = manifests.load([path])
    assert manifests.too_large(loaded.obj)
    small = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok"}, "data": {"a": "b"}}
    assert not manifests.too_large(small)
    valid, refused = sandbox.validated([loaded, Document(path, 1, small)])
    assert [d.name for d in valid] == ["ok"]
    assert "larger than 256 KiB" in refused[0].reason


def test_evidence_is_bounded_in_bytes() -> None:
    """An answer's objects and output are the student's to make large: what the evidence
    keeps of them is not."""
    from kubelab import evidence

    items = [{"data": "x" * 1000} for _ in range(100)]
    text = evidence._dump_within(items, 10_000)
    assert len(text) < 12_000 and "more not kept" in text
    assert len(evidence._dump_within(items, 10**6)) > 100_000
    assert evidence._cut("y" * 5000, 1024).endswith("cut at 1 KiB\n")


def test_an_integer_of_thousands_of_digits_is_weighed_not_printed() -> None:
    from kubelab import manifests

    huge = int("f" * 4000, 16)  # str() of it raises in Python 3.11
    assert manifests.too_large({"spec": {"priority": huge}}, limit=1000)
    assert not manifests.too_large({"spec": {"priority": 7}})


def test_an_older_kubelab_leaves_a_newer_ones_policies_alone() -> None:
    from kubelab import sandbox

    doc = sandbox._versioned({"kind": "ValidatingAdmissionPolicy", "metadata": {"name": "p"}})
    assert sandbox._version(doc) == sandbox.POLICY_VERSION
    newer = {"metadata": {"annotations": {sandbox.POLICY_VERSION_KEY: str(sandbox.POLICY_VERSION + 1)}}}
    assert sandbox._version(newer) > sandbox.POLICY_VERSION
    assert sandbox._version({"metadata": {}}) == 0


def test_the_feedback_names_known_mistakes_that_fail_the_same_way() -> None:
    """A student's card that fails as a known-wrong answer does (its check itself, and
    passing what it passes) brings that answer's why to the feedback page."""
    from kubelab.results import CheckResult, Scorecard

    lab = labspec.find_lab("01")
    failing = {"replicaset_wants_three_replicas", "three_pods_ready"}
    results = tuple(
        CheckResult(
            id=c.id, title=c.title, passed=c.id not in failing, points=c.points, seconds=0.0, message=""
        )
        for c in lab.checks
    )
    card = Scorecard(lab="01", namespace="lab-01", results=results)
    grade = Grade(student="s", name="", lab="01", status="graded", total=lab.total_points, card=card)
    page = gradebook.feedback(lab, grade)
    replicas_one = next(w for w in lab.wrong if w.name == "replicas-one")
    assert f"- {replicas_one.why.ko} / {replicas_one.why.en} (`replicas-one`)" in page
    assert "selector-selects-dev" not in page  # it fails another check
