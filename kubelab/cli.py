"""The `kubelab` command: list, start, check, reset, solve, verify, lint, doctor.

Every failure ends as one line and a documented exit code (kubelab.errors.ExitCode);
a traceback is shown only with KUBELAB_DEBUG=1.

A command imports what it uses when it runs (the Kubernetes client, the schemas, the
cluster tooling), so `kubelab list` or `--help` starts in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kubelab import interrupts, labspec, report, workspace
from kubelab.errors import (
    EnvironmentProblem,
    ExitCode,
    InputError,
    Interrupted,
    KubelabError,
    LabContentError,
)
from kubelab.labspec import Lab
from kubelab.text import Lang, Text, parse_lang

if TYPE_CHECKING:
    from kubelab import apply, cluster, grade, seat
    from kubelab.kube import Kube

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Hands-on Kubernetes labs, checked against a real cluster. 실습과 검사.",
)
console = report.console


class Options:
    """Global options, set by the callback."""

    lang: Lang = "ko"
    provider: str | None = None
    kubeconfig: str | None = None
    context: str | None = None

    @classmethod
    def settings(cls) -> cluster.Settings:
        from kubelab import cluster

        return cluster.settings(cls.provider, cls.kubeconfig, cls.context)


LabArg = Annotated[str, typer.Argument(help="lab number, e.g. 01")]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="a lab parameter's value, NAME=VALUE (repeatable; see `kubelab params NN`)"),
]
NamespaceOption = Annotated[str | None, typer.Option(help="namespace of the answer (default: the lab's)")]
CourseOption = Annotated[
    Path | None,
    typer.Option("--course", help="a course file (course.yaml): with --student, that student's variant"),
]
StudentOption = Annotated[
    str | None, typer.Option("--student", help="a student id of the course (with --course)")
]


def _seat(lab_id: str) -> seat.Seat | None:
    """The student's class seat for this lab, when the kubeconfig given is a seat's
    (kubelab.seat): then the cluster is the class's (provider existing) and the context
    the seat's."""
    from kubelab import seat

    chosen = Options.settings()
    found = seat.find(chosen.kubeconfig, lab_id, chosen.context)
    if found is not None:
        Options.provider, Options.context = "existing", found.context
    return found


def _answer_lab(
    lab_id: str,
    namespace: str | None,
    setting: list[str] | None,
    course_file: Path | None,
    student: str | None,
    mine: seat.Seat | None = None,
) -> Lab:
    """The lab as this answer has it: a class seat's variant, a course student's, or the
    learner's own."""
    if mine is not None:
        if namespace or setting or course_file or student:
            raise InputError(
                "your kubeconfig is a class seat: it decides the namespace and values "
                "(no --namespace, --set, --course or --student)",
                "kubeconfig가 수업의 자리입니다: 네임스페이스와 값은 자리가 정합니다 "
                "(--namespace, --set, --course, --student 없이)",
            )
        return mine.lab()
    lab = labspec.find_lab(lab_id)
    if course_file is None and student is None:
        return workspace.answer_lab(lab, namespace, setting)
    if course_file is None or student is None or namespace or setting:
        raise InputError(
            "--course and --student go together, without --namespace or --set (the course decides them)",
            "--course와 --student는 함께 쓰고, --namespace나 --set은 쓰지 않습니다 (과목이 정합니다)",
        )
    from kubelab import course

    return course.student_lab(course.load_course(course_file), lab, student)


@app.callback()
def options(
    lang: Annotated[str, typer.Option(help="ko or en (messages show both; this one first)")] = "ko",
    provider: Annotated[str | None, typer.Option(help="kind (default) or existing")] = None,
    kubeconfig: Annotated[str | None, typer.Option(help="kubeconfig file")] = None,
    context: Annotated[str | None, typer.Option(help="kubeconfig context")] = None,
) -> None:
    try:
        Options.lang = parse_lang(lang)
    except ValueError as e:
        raise InputError(str(e), "언어는 ko 또는 en 입니다") from e
    Options.provider, Options.kubeconfig, Options.context = provider, kubeconfig, context


def say(text: Text) -> None:
    console.print(text.both(Options.lang))


@app.command("list")
def list_labs() -> None:
    """List the labs. 실습 목록."""
    from rich.table import Table

    table = Table("lab", "title", "checks", "points", box=None)
    for lab in labspec.all_labs():
        table.add_row(lab.id, lab.title.both(Options.lang), str(len(lab.checks)), str(lab.total_points))
    console.print(table)


def _prepare_cluster(labs: list[Lab]) -> Kube:
    """Bring the cluster up (kind: create or reuse) and load the labs' images, and the one
    kubelab's own pods run (kubelab.nodefiles.IMAGE: node readers, the network proof)."""
    from kubelab import cluster, images, nodefiles

    chosen = Options.settings()
    kube = cluster.connect(chosen, create=True)
    own = nodefiles.IMAGE.removeprefix(images.PREFIX)
    needed = sorted({image for lab in labs for image in lab.images} | {own})
    if chosen.provider == "kind":
        images.prepare(needed, chosen)
    return kube


@app.command()
def start(
    lab_id: LabArg,
    namespace: NamespaceOption = None,
    setting: SetOption = None,
    course_file: CourseOption = None,
    student: StudentOption = None,
) -> None:
    """Bring the cluster up, prepare the lab, show its instructions. 실습 시작."""
    from kubelab import apply
    from kubelab import seat as seats

    mine = _seat(lab_id)
    lab = _answer_lab(lab_id, namespace, setting, course_file, student, mine)
    ns = lab.answer_namespace
    if mine is not None:  # the class's cluster and namespace: nothing to make, only to use
        kube = seats.connect(Options.settings(), mine)
        pods = len(kube.list("Pod", ns))
        if pods:
            say(Text(f"네임스페이스 {ns}에 파드 {pods}개가 있습니다", f"namespace {ns} holds {pods} pods"))
    else:
        kube = _prepare_cluster([lab])
        if not apply.ensure_namespace(kube, ns, lab.id):
            _say_namespace_kept(kube, lab)
    prepared = workspace.prepare(lab)
    workspace.remember(lab)
    for lang in ("ko", "en") if Options.lang == "ko" else ("en", "ko"):
        console.rule(f"lab {lab.id} · {lang}")
        console.print("[bold]이 실습의 목표[/]" if lang == "ko" else "[bold]What you will learn[/]")
        for objective in lab.objectives:
            console.print(f"• {objective.ko if lang == 'ko' else objective.en}", markup=False)
        console.print()
        console.print(lab.instructions_text(lang), markup=False)
    console.rule()
    _say_workspace(prepared)
    say(
        Text(
            f"준비 완료: 네임스페이스 {ns}, context {kube.target.context}. 다 되면 make check-{lab.id}",
            f"Ready: namespace {ns}, context {kube.target.context}. When done: make check-{lab.id}",
        )
    )
    _say_how_to_activate()


def _say_how_to_activate() -> None:
    """Where the labs' `kubectl` and `kubelab` come from, unless this shell has them."""
    from kubelab import doctor

    if not doctor.activated():
        how = doctor.how_to_activate()
        say(
            Text(
                f"이 셸에서 실습의 kubectl과 kubelab 명령을 쓰려면 먼저: {how}",
                f"for the labs' kubectl and kubelab commands in this shell, first: {how}",
            )
        )


def _say_workspace(prepared: workspace.Prepared) -> None:
    where = prepared.folder
    with contextlib.suppress(ValueError):
        where = where.relative_to(Path.cwd())
    say(Text(f"시작 파일: {where}/ (여기서 고치세요)", f"starter files: {where}/ (edit them there)"))
    if prepared.kept:
        kept = ", ".join(prepared.kept)
        say(
            Text(
                f"여러분이 고친 파일은 그대로 두었습니다: {kept}",
                f"files you changed were left as they are: {kept}",
            )
        )


def _ours(kube: Kube, namespace: str) -> bool:
    from kubelab import ownership

    live = kube.get("Namespace", namespace)
    return live is not None and ownership.is_ours(kube, live) is not None


def _say_left_alone(objects: tuple[str, ...]) -> None:
    if objects:
        alone = ", ".join(objects)
        say(
            Text(
                f"그대로 두었습니다 (kubelab이 만든 것이 아님): {alone}",
                f"left alone (kubelab did not create them): {alone}",
            )
        )


def _show_leftovers(leftovers: tuple[str, ...] | list[str]) -> None:
    for line in leftovers:
        say(Text(f"지우지 못했습니다: {line}", f"could not remove: {line}"))


def _say_namespace_kept(kube: Kube, lab: Lab) -> None:
    """The lab's namespace was there already: say whose it is and what is in it."""
    namespace = lab.answer_namespace
    pods = len(kube.list("Pod", namespace))
    if not _ours(kube, namespace):
        say(
            Text(
                f"{namespace} 네임스페이스가 이미 있어 그대로 씁니다 "
                f"(파드 {pods}개; kubelab이 만든 것이 아니므로 reset이 지우지 않습니다)",
                f"namespace {namespace} already exists and is used as it is "
                f"({pods} pods; kubelab did not create it, so reset will not delete it)",
            )
        )
    elif pods:
        say(
            Text(
                f"네임스페이스 {namespace}에 지난번 것이 남아 있습니다 (파드 {pods}개): 처음부터 하려면 "
                f"make reset-{lab.id} 후 make lab-{lab.id}",
                f"namespace {namespace} still holds what was there before ({pods} pods): "
                f"for a fresh start, make reset-{lab.id} then make lab-{lab.id}",
            )
        )


def _require_namespace(kube: Kube, lab: Lab, namespace: str) -> None:
    if kube.get("Namespace", namespace) is None:
        raise EnvironmentProblem(
            f"namespace {namespace} does not exist: run `make lab-{lab.id}` first",
            f"{namespace} 네임스페이스가 없습니다: 먼저 이 명령을 실행하세요: make lab-{lab.id}",
        )


@app.command()
def check(
    lab_id: LabArg,
    file: Annotated[
        list[Path] | None, typer.Option("--file", "-f", help="apply these manifests first")
    ] = None,
    only: Annotated[list[str] | None, typer.Option(help="run only this check (repeatable)")] = None,
    namespace: NamespaceOption = None,
    setting: SetOption = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="every failure in full (default: the first in full)")
    ] = False,
    look_only: Annotated[
        bool,
        typer.Option("--look-only", help="leave out the checks that change the cluster (delete a pod, …)"),
    ] = False,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="also write the scorecard, every message whole, to this file"),
    ] = None,
    output: Annotated[
        str,
        typer.Option(
            "--format",
            help="card (default), or a grader's result on stdout: gradescope, prairielearn, classroom50, "
            "or classroom (GitHub Classroom, legacy)",
        ),
    ] = "card",
    course_file: CourseOption = None,
    student: StudentOption = None,
    hint: Annotated[
        str,
        typer.Option(
            "--hint",
            help="auto (default: a nudge on a check's first failed try, the whole hint after), nudge or full",
        ),
    ] = "auto",
) -> None:
    """Check the live cluster and print the scorecard. 검사."""
    from kubelab import apply, cluster, engine, graders, manifests

    if output != "card" and output not in graders.FORMATS:
        raise InputError(f"--format must be card or one of {', '.join(graders.FORMATS)}, not {output!r}")
    if hint not in ("auto", "nudge", "full"):  # kubelab.hints.MODES
        raise InputError(f"--hint must be auto, nudge or full, not {hint!r}")
    if output != "card":
        console.file = sys.stderr  # stdout holds the result alone
    mine = _seat(lab_id)
    lab = _answer_lab(lab_id, namespace, setting, course_file, student, mine)
    docs = manifests.load(file or [])
    manifests.validate(docs, lab.kinds)
    target_ns = lab.answer_namespace
    if mine is not None:
        from kubelab import seat as seats

        kube = seats.connect(Options.settings(), mine)
    else:
        kube = cluster.connect(Options.settings())
        _require_namespace(kube, lab, target_ns)
    _say_left_alone(apply.apply_documents(kube, docs, target_ns, lab.id, keep_existing=True).kept)
    from kubelab import hints

    nudged = hints.nudged(lab, hint) if output == "card" else {}
    card = engine.run_in_process(kube, lab, Options.lang, only or [], look_only, nudged)
    hints.count(lab, card)
    if output != "card":
        sys.stdout.write(graders.document(card, output))
    else:
        report.scorecard(card, Options.lang, verbose)
    if json_out is not None:
        card.write(json_out)
    _show_leftovers(card.leftovers)
    if card.interrupted:
        raise Interrupted(card.leftovers, undone=True)
    if card.error:
        raise EnvironmentProblem(card.error, card.error_ko or card.error)
    raise typer.Exit(ExitCode.OK if card.passed else ExitCode.CHECKS_FAILED)


def _say_removed(done: apply.ResetReport) -> None:
    """What reset or cleanup deleted, left alone and could not remove (then exit 3)."""
    say(
        Text(
            f"지웠습니다: {', '.join(done.removed) or '없음'}",
            f"deleted: {', '.join(done.removed) or 'nothing'}",
        )
    )
    _say_left_alone(done.left_alone)
    _show_leftovers(done.leftovers)
    if done.leftovers:
        raise typer.Exit(ExitCode.ENVIRONMENT)


@app.command()
def reset(lab_id: LabArg) -> None:
    """Delete what kubelab created for the lab, nothing else. 초기화."""
    from kubelab import apply, cluster, hints

    mine = _seat(lab_id)
    if mine is not None:  # the seat is the class's: kubelab made nothing there it may remove
        hints.forget([lab_id])
        ns = mine.namespace
        say(
            Text(
                f"네임스페이스 {ns}: 수업의 것이라 kubelab이 아무것도 지우지 않습니다. 여러분이 만든 것은 "
                f"kubectl delete -n {ns} -f <파일> 명령으로 지우세요",
                f"{ns} is your class's namespace: kubelab removes nothing there; remove what you "
                f"made with kubectl delete -n {ns} -f <your files>",
            )
        )
        return
    lab = workspace.answer_lab(labspec.find_lab(lab_id), None, None)
    kube = cluster.connect(Options.settings())
    done = apply.reset(kube, lab)
    hints.forget([lab.id])  # a fresh start: nudges first again
    _say_removed(done)


@app.command()
def solve(
    lab_id: LabArg,
    namespace: NamespaceOption = None,
    setting: SetOption = None,
) -> None:
    """Apply the reference solution (for teachers and CI). 정답 적용."""
    from kubelab import apply

    lab = workspace.answer_lab(labspec.find_lab(lab_id), namespace, setting)
    target_ns = lab.answer_namespace
    kube = _prepare_cluster([lab])
    apply.ensure_namespace(kube, target_ns, lab.id)
    docs = lab.manifests(lab.solution)
    apply.apply_documents(kube, docs, target_ns, lab.id)
    failed = apply.run_steps(kube.target, target_ns, lab.solution_steps)
    if failed:
        raise LabContentError(f"a solution step failed: {failed[0].line()}")
    say(Text(f"정답을 {target_ns}에 적용했습니다", f"applied the solution to {target_ns}"))


@app.command("verify")
def verify_cmd(
    lab_ids: Annotated[list[str] | None, typer.Argument(help="labs (default: all)")] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=32,
            help="variants at once (default: from cores, memory, the cluster's room)",
        ),
    ] = None,
    repeat: Annotated[int, typer.Option(min=1, max=20, help="run each variant N times; report flakes")] = 1,
) -> None:
    """Solution passes, starter and wrong answers fail — on a real cluster. 실습 검증."""
    from kubelab import verify

    labs = [labspec.find_lab(i) for i in lab_ids] if lab_ids else labspec.all_labs()
    kube = _prepare_cluster(labs)
    tasks = verify.plan(labs, repeat)
    chosen = jobs or verify.default_jobs(kube)
    console.print(f"verify: {len(tasks)} variants of {len(labs)} labs, {chosen} at a time")
    started = time.monotonic()
    with report.VerifyProgress(console, tasks, chosen, Options.lang) as progress:
        outcomes = verify.verify_all(kube, tasks, Options.lang, chosen, progress)
    bad = [o for o in outcomes if not o.ok]
    changed = verify.flakes(outcomes) if repeat > 1 else {}
    report.verify_summary(outcomes, changed, time.monotonic() - started)
    raise typer.Exit(ExitCode.OK if not bad and not changed else ExitCode.CHECKS_FAILED)


@app.command("grade")
def grade_cmd(
    lab_id: LabArg,
    submissions_dir: Annotated[
        Path | None, typer.Argument(help="a folder: one folder, .zip or .tar.gz per student")
    ] = None,
    roster: Annotated[Path | None, typer.Option(help="roster CSV: id,name")] = None,
    course_file: Annotated[
        Path | None, typer.Option("--course", help="course.yaml: each student's variant")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="where the grades go (default: ./grades-NN)")] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=32,
            help="submissions at once (default: from cores, memory, the cluster's room)",
        ),
    ] = None,
    resume: Annotated[bool, typer.Option(help="keep earlier grades of unchanged submissions")] = False,
    only: Annotated[list[str] | None, typer.Option(help="grade only this student (repeatable)")] = None,
    repeat: Annotated[int, typer.Option(min=1, max=10, help="grade each N times; name changed verdicts")] = 1,
    live: Annotated[
        bool, typer.Option(help="grade the students' namespaces on this cluster as they are")
    ] = False,
    namespaces: Annotated[
        str | None, typer.Option(help="with --live: a namespace pattern, e.g. 'lab-03-*'")
    ] = None,
    time_limit: Annotated[
        float, typer.Option(min=30, max=3600, help="seconds one submission may take")
    ] = 300.0,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            help="also a grader's result per student, in OUT/<format>/: gradescope, prairielearn "
            "or classroom (GitHub Classroom, legacy); repeatable",
        ),
    ] = None,
) -> None:
    """Grade a class: every submission in a sandbox of its own; grades, feedback, evidence. 채점."""
    import shutil
    import tempfile

    from kubelab import course, grade, gradebook, graders, verify

    for name in formats or []:
        if name == "classroom50":
            raise InputError(
                "classroom50: Classroom 50's runner grades each submission itself "
                "(kubelab check NN --format classroom50 in the student's workflow)",
                "classroom50: Classroom 50 러너가 제출물마다 채점합니다 "
                "(학생 워크플로에서 kubelab check NN --format classroom50)",
            )
        if name not in graders.FORMATS:
            raise InputError(f"--format must be one of gradescope, prairielearn, classroom, not {name!r}")
    lab = labspec.find_lab(lab_id)
    students = course.load_roster(roster) if roster else {}
    crs = course.load_course(course_file) if course_file else course.NO_COURSE
    if live != (namespaces is not None) or live == (submissions_dir is not None):
        raise InputError(
            "give a folder of submissions, or --live with --namespaces (not both)",
            "제출물 폴더를 주거나, --live와 --namespaces를 주세요 (둘 다는 안 됩니다)",
        )
    target = out or Path(f"grades-{lab.id}")
    kube = cluster_connect() if live else _prepare_cluster([lab])
    notes: list[Text] = []
    if live:
        assert namespaces is not None
        subs = grade.live_submissions(kube, lab, namespaces, crs if course_file else None, students)
    else:
        assert submissions_dir is not None
        subs, notes = grade.find_submissions(submissions_dir, students)
        course.distinct_namespaces(lab, [s.student for s in subs])
        if crs is course.NO_COURSE and lab.params:
            notes.append(
                Text(
                    f"과목 파일 없이 채점합니다: 실습 {lab.id}의 매개변수({', '.join(lab.params)})는 "
                    "학생 ID에서 정해집니다",
                    f"grading without a course file: lab {lab.id}'s parameters ({', '.join(lab.params)}) "
                    "follow from the student id alone",
                )
            )
    for note in notes:
        say(note)
    kept = grade.previous_grades(target, lab, crs.id) if (resume or only) else {}
    unknown = sorted(set(only or ()) - {s.student for s in subs})
    if unknown:
        raise InputError(
            f"--only: no such student: {', '.join(unknown)}", f"--only: 없는 학생: {', '.join(unknown)}"
        )
    chosen_subs = [s for s in subs if not only or s.student in only]
    run_check = grade.Run(kube, lab, crs, target, Path("."), live=live)
    for sub in chosen_subs:  # a course that names what the lab does not have stops here, before any sandbox
        grade.student_lab(run_check, sub)
    work = Path(tempfile.mkdtemp(prefix=f"kubelab-grade-{lab.id}-"))
    run = grade.Run(kube, lab, crs, target, work, Options.lang, live, time_limit, kept=kept if resume else {})
    chosen = jobs or verify.default_jobs(kube)
    console.print(f"grade: lab {lab.id}, {len(chosen_subs)} students, {chosen} at a time → {target}")
    started = time.monotonic()
    try:
        with report.GradeProgress(console, len(chosen_subs) * repeat, chosen) as progress:
            grades, problem = grade.grade_all(
                run, chosen_subs, chosen, progress.started, progress.finished, repeat
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.monotonic() - started
    latest: dict[str, grade.Grade] = {}
    for each in grades:  # with --repeat, the sheet holds each student's first attempt
        latest.setdefault(each.student, each)
    sheet = {**{k: v for k, v in kept.items() if k in {s.student for s in subs}}, **latest}
    info = {
        "course": crs.id,
        "kubelab": __import__("kubelab").__version__,
        "graded_at": grade._now(),
        "seconds": round(seconds, 1),
    }
    gradebook.write_all(target, lab, list(sheet.values()), info, tuple(formats or ()))
    changed = grade.changed(grades) if repeat > 1 else {}
    report.grade_summary(list(sheet.values()), changed, seconds, target)
    if problem is not None:
        raise problem
    bad = [g for g in sheet.values() if g.status in (grade.ENVIRONMENT_ERROR, grade.TIMED_OUT)]
    raise typer.Exit(ExitCode.CHECKS_FAILED if bad or changed else ExitCode.OK)


def cluster_connect() -> Kube:
    from kubelab import cluster

    return cluster.connect(Options.settings())


class_app = typer.Typer(
    no_args_is_help=True, help="A class on a shared cluster: seats, credentials. 수업 준비와 정리."
)
app.add_typer(class_app, name="class")
ClassCourse = Annotated[Path, typer.Argument(help="course.yaml")]


def _course_labs(crs_labs: list[str], chosen: list[str] | None) -> list[Lab]:
    """The labs a class gets: --lab ones, else the course file's, else every lab."""
    ids = chosen or crs_labs
    return [labspec.find_lab(i) for i in ids] if ids else labspec.all_labs()


@class_app.command("up")
def class_up(
    course_file: ClassCourse,
    roster: Annotated[Path, typer.Argument(help="roster CSV: id,name")],
    lab: Annotated[list[str] | None, typer.Option("--lab", help="only this lab (repeatable)")] = None,
    out: Annotated[Path, typer.Option(help="where each student's kubeconfig goes")] = Path(
        "class-kubeconfigs"
    ),
    days: Annotated[int, typer.Option(min=1, max=365, help="how long the students' tokens hold")] = 14,
    server: Annotated[str | None, typer.Option(help="the API server's address as students reach it")] = None,
) -> None:
    """Every student's namespace of every lab, fenced, and one kubeconfig per student. 수업 준비."""
    from kubelab import classroom, cluster, course

    crs = course.load_course(course_file)
    students = course.load_roster(roster)
    labs = _course_labs(list(crs.labs), lab)
    kube = cluster.connect(Options.settings())
    done = classroom.up(kube, crs, labs, students, out, days * 24 * 3600, server)
    say(
        Text(
            f"자리 {len(done.made)}개를 만들고 {len(done.kept)}개는 그대로 두었습니다; "
            f"kubeconfig {len(done.kubeconfigs)}개를 {out}에 썼습니다",
            f"made {len(done.made)} seats, kept {len(done.kept)}; "
            f"wrote {len(done.kubeconfigs)} kubeconfig(s) to {out}",
        )
    )
    _class_problems(done.problems)


def _class_problems(problems: tuple[str, ...]) -> None:
    for line in problems:
        say(Text(f"문제: {line}", f"problem: {line}"))
    if problems:
        raise typer.Exit(ExitCode.ENVIRONMENT)


@class_app.command("down")
def class_down(course_file: ClassCourse) -> None:
    """Remove what `class up` made for the course, nothing else. 수업 정리."""
    from kubelab import classroom, cluster, course

    kube = cluster.connect(Options.settings())
    done = classroom.down(kube, course.load_course(course_file))
    say(Text(f"지웠습니다: {len(done.removed)}개", f"removed: {len(done.removed)}"))
    _class_problems(done.problems)


@class_app.command("status")
def class_status(
    course_file: ClassCourse,
    roster: Annotated[Path, typer.Argument(help="roster CSV: id,name")],
    lab: Annotated[str, typer.Option("--lab", help="the lab to look at, e.g. 01")],
    out: Annotated[Path | None, typer.Option(help="also write the teacher's page (index.html) here")] = None,
    watch: Annotated[
        float | None, typer.Option(min=5, max=3600, help="look again every N seconds until Ctrl-C")
    ] = None,
) -> None:
    """Who has started the lab, each student's live score (look-only checks), the checks
    the class fails most; read-only. 수업 현황."""
    from kubelab import classroom, cluster, course, grade, gradebook

    crs = course.load_course(course_file)
    students = course.load_roster(roster)
    chosen = labspec.find_lab(lab)
    kube = cluster.connect(Options.settings())
    while True:
        began = time.monotonic()
        grades = classroom.standings(kube, crs, chosen, students, Options.lang)
        console.print(_status_table(chosen, grades))
        if out is not None:
            run = {"course": crs.id, "graded_at": grade._now(), "look_only": True}
            gradebook.write_all(out, chosen, grades, run)
            say(Text(f"교사용 페이지: {out / 'index.html'}", f"teacher's page: {out / 'index.html'}"))
        if watch is None:
            return
        _until(began + watch)


def _until(due: float) -> None:
    """Wait (with the one polling helper: Ctrl-C ends it) until time.monotonic() reaches `due`."""
    from kubelab.errors import CheckFailed, Finding
    from kubelab.waiting import wait_until

    def reached() -> None:
        if time.monotonic() < due:
            raise CheckFailed(Finding("the next look", "due", "not yet"))

    wait_until(reached, max(0.0, due - time.monotonic()) + 5, interval=1.0)


def _status_table(lab: Lab, grades: list[grade.Grade]) -> Any:
    from rich.table import Table

    from kubelab import teacherpage

    title = Text(f"실습 {lab.id} 현황 (보기만 하는 검사)", f"lab {lab.id} now (look-only checks)")
    table = Table(title=title.both(Options.lang))
    for column in ("student", "started / 시작", "score / 점수"):
        table.add_column(column)
    for g in grades:
        started = "✓" if g.status == "graded" else "·"
        table.add_row(g.student, started, f"{g.earned}/{g.total}" if g.status == "graded" else "")
    hardest = [r for r in teacherpage.pass_rates(lab, grades) if r[3]][:3]
    lines = [f"{r[0]}: {r[3] - r[2]}/{r[3]} failed" for r in hardest if r[2] < r[3]]
    table.caption = "; ".join(lines) or None
    return table


@class_app.command("revoke")
def class_revoke(
    course_file: ClassCourse,
    student: Annotated[str, typer.Argument(help="a student id of the roster")],
    out: Annotated[Path, typer.Option(help="where the students' kubeconfigs are")] = Path(
        "class-kubeconfigs"
    ),
) -> None:
    """Take a student's access away now (every token of theirs stops working). 권한 회수."""
    from kubelab import classroom, cluster, course

    kube = cluster.connect(Options.settings())
    done = classroom.revoke(kube, course.load_course(course_file), student, out)
    say(
        Text(
            f"{student}: 토큰이 모두 무효가 되었습니다 ({len(done.removed)}개 계정); 다시 주려면 class up",
            f"{student}: tokens revoked ({len(done.removed)} accounts); class up issues a new kubeconfig",
        )
    )


@app.command("cleanup")
def cleanup_cmd(
    everything: Annotated[
        bool, typer.Option("--all", help="also kubelab's admission policies and the learner labs' namespaces")
    ] = False,
) -> None:
    """Remove what kubelab created and left behind (sandboxes, scratch objects). 정리."""
    from kubelab import apply, cluster

    kube = cluster.connect(Options.settings())
    done = apply.cleanup(kube, everything)
    _say_removed(done)


@app.command("params")
def params_cmd(
    lab_id: LabArg,
    namespace: NamespaceOption = None,
    setting: SetOption = None,
    course_file: CourseOption = None,
    student: StudentOption = None,
) -> None:
    """A lab's parameters: defaults, and the values your answer uses. 매개변수."""
    from rich.table import Table

    from kubelab import params

    lab = _answer_lab(lab_id, namespace, setting, course_file, student)
    if student:  # the teacher hands this line to the student: the seed stays with the teacher
        sets = "".join(f" --set {s}" for s in params.settings_of(lab.params, lab.values))
        console.print(f"kubelab start {lab.id} --namespace {lab.answer_namespace}{sets}", markup=False)
    table = Table("name", "value", "default", "per answer", "what", box=None)
    for name, param in lab.params.items():
        about = param.about.both(Options.lang) if param.about else ""
        table.add_row(name, str(lab.values[name]), str(param.default), param.unique or "", about)
    console.print(table)
    if not lab.params:
        say(Text(f"실습 {lab.id}에는 매개변수가 없습니다", f"lab {lab.id} has no parameters"))


@app.command("new")
def new_cmd(
    lab_id: Annotated[str, typer.Argument(help="the new lab's number, two digits (e.g. 08)")],
    name: Annotated[str, typer.Argument(help="its folder's name after the number (e.g. probes)")],
) -> None:
    """Scaffold a new lab that lints and verifies as generated (docs/authoring.md). 새 실습."""
    from kubelab import scaffold

    folder = scaffold.new_lab(lab_id, name)
    say(
        Text(
            f"새 실습: {folder} — 다음: kubelab lint {lab_id}, kubelab verify {lab_id} (docs/authoring.md)",
            f"new lab: {folder} — next: kubelab lint {lab_id}, kubelab verify {lab_id} (docs/authoring.md)",
        )
    )


@app.command("lint")
def lint_cmd(
    targets: Annotated[list[str] | None, typer.Argument(help="lab numbers or manifest files")] = None,
    lab_id: Annotated[str | None, typer.Option("--lab", help="check files against this lab")] = None,
) -> None:
    """Offline checks of labs or of your manifest files (no cluster). 오프라인 점검."""
    from kubelab import lint

    problems: list[str] = []
    files = [Path(t) for t in targets or [] if Path(t).exists()]
    labs = [labspec.find_lab(t) for t in targets or [] if not Path(t).exists()]
    if not targets:
        labs = labspec.all_labs()
    for lab in labs:
        problems += lint.lab_problems(lab)
    if files:
        problems += lint.file_problems(files, labspec.find_lab(lab_id) if lab_id else None)
    for problem in problems:
        console.print(f"[red]✗[/] {problem}", markup=True, highlight=False)
    checked = f"{len(labs)} labs, {len(files)} files"
    console.print(f"lint: {len(problems)} problems ({checked})")
    raise typer.Exit(ExitCode.CHECKS_FAILED if problems else ExitCode.OK)


@app.command("doctor")
def doctor_cmd() -> None:
    """Is this machine ready? Docker, kind, kubectl, memory, ports. 환경 점검."""
    from kubelab import doctor

    findings = doctor.diagnose()
    for finding in findings:
        mark = "[yellow]![/]" if finding.warning else "[green]✓[/]" if finding.ok else "[red]✗[/]"
        console.print(f" {mark} {finding.name:<11} {finding.detail}", markup=True)
    raise typer.Exit(ExitCode.OK if all(f.ok for f in findings) else ExitCode.ENVIRONMENT)


GLOBAL_OPTIONS = ("--lang", "--provider", "--kubeconfig", "--context")
"""Options of every command (app's callback), taken anywhere on the line as kubectl's are."""


def global_options_first(argv: list[str]) -> list[str]:
    """`kubelab start 01 --kubeconfig F` as `kubelab --kubeconfig F start 01`: the global
    options (GLOBAL_OPTIONS, `--name value` or `--name=value`) found after the command move
    before it; nothing after a `--` moves."""
    front: list[str] = []
    moved: list[str] = []
    rest: list[str] = []
    words = iter(argv)
    command = False
    for word in words:
        if word == "--":
            rest += [word, *words]
            break
        if word.split("=", 1)[0] in GLOBAL_OPTIONS:
            value = [] if "=" in word else [v for v in (next(words, None),) if v is not None]
            if "=" not in word and not value:  # no value: left for the parser to name
                rest.append(word)
            else:
                (moved if command else front).extend([word, *value])
        elif command or not word.startswith("-"):
            command = True
            rest.append(word)
        else:
            front.append(word)  # --help and the like, before the command
    return [*front, *moved, *rest]


def main() -> None:
    """Entry point: one line and an exit code for every failure, never a traceback."""
    interrupts.install()
    try:
        app(args=global_options_first(sys.argv[1:]), prog_name="kubelab")
    except KubelabError as e:
        if os.environ.get("KUBELAB_DEBUG"):
            raise
        print(e.line(Options.lang), file=sys.stderr)
        sys.exit(int(e.exit_code))
    except KeyboardInterrupt:
        print(Interrupted().line(Options.lang), file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as e:  # a bug in kubelab: say so, in one line
        if os.environ.get("KUBELAB_DEBUG"):
            raise
        print(f"internal error: {type(e).__name__}: {e} (KUBELAB_DEBUG=1 shows more)", file=sys.stderr)
        sys.exit(int(ExitCode.INTERNAL))
