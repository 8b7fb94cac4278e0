"""kubelab's pytest plugin (entry point `pytest11`): thin, over the engine.

It adds the options a check run needs, prints what a rerun needs in the report header,
gives checks the `lab` fixture, turns CheckFailed into the learner's message, and
writes the results as JSON (beside --junitxml, or where --kubelab-json says).

Each check runs under its own deadline (its timeout from lab.yaml, scaled), and what it
changed is undone when it ends (LabContext.defer), however it ends. A check that met a
fault of the cluster (no answer, 5xx) is not the learner's failure: the run stops there
and says so, with exit code 3.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from kubelab import cluster, deadline, interrupts, labspec, params
from kubelab.checks import LabContext
from kubelab.cleanup import Cleanup
from kubelab.errors import CheckFailed, EnvironmentProblem, KubelabError
from kubelab.kube import CONNECT_BUDGET, Kube, Target
from kubelab.labspec import CheckSpec, Lab
from kubelab.results import CheckResult, Scorecard, failure_message
from kubelab.text import parse_lang
from kubelab.waiting import timeout_scale

CHECKER = re.compile(r"^test_lab(\d\d)\.py$")
SPEC_KEY = pytest.StashKey[CheckSpec]()
FAULTS_KEY = pytest.StashKey[list[str]]()


class _Run:
    """What one pytest session collects for kubelab."""

    def __init__(self) -> None:
        self.lab: Lab | None = None
        self.namespace = ""
        self.results: list[CheckResult] = []
        self.error: KubelabError | None = None
        self.leftovers: list[str] = []


RUN_KEY = pytest.StashKey[_Run]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kubelab", "kubelab lab checks")
    group.addoption("--lab", help="run the checks of this lab (e.g. 01)")
    group.addoption("--lang", default="ko", help="language of messages: ko (default) or en")
    group.addoption("--context", help="kubeconfig context (default: kubelab's cluster)")
    group.addoption("--namespace", help="namespace to check (default: the lab's, e.g. lab-01)")
    group.addoption("--kubelab-json", help="write check results as JSON to this file")
    group.addoption(
        "--set",
        action="append",
        default=[],
        dest="kubelab_set",
        metavar="NAME=VALUE",
        help="a lab parameter's value for this answer (lab.yaml params; repeatable)",
    )
    # --kubeconfig is pytest-kind's option (a dependency); kubelab reads the same one.


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RUN_KEY] = _Run()


def _lab_of(path: Path) -> str | None:
    found = CHECKER.match(path.name)
    return found.group(1) if found else None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With --lab, checker files of other labs are not collected."""
    wanted = config.getoption("lab")
    lab_id = _lab_of(collection_path)
    if wanted and lab_id and lab_id != labspec.normalize_id(wanted):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = config.stash[RUN_KEY]
    for item in items:
        lab_id = _lab_of(item.path)
        if lab_id is None:
            continue
        try:
            run.lab = run.lab or _lab_for_answer(config, lab_id)
            item.stash[SPEC_KEY] = run.lab.check(item.name.removeprefix("test_"))
        except KubelabError as e:
            raise pytest.UsageError(e.line("en")) from e
    if run.lab is not None:
        run.namespace = run.lab.answer_namespace
        interrupts.install()


def _lab_for_answer(config: pytest.Config, lab_id: str) -> Lab:
    """The lab with the answer's namespace and parameter values (--namespace, --set)."""
    lab = labspec.find_lab(lab_id)
    chosen = params.parse_settings(lab.params, config.getoption("kubelab_set"))
    return lab.with_values(config.getoption("namespace") or lab.namespace, chosen)


def _target(config: pytest.Config) -> Target:
    return cluster.resolve_target(config.getoption("kubeconfig"), config.getoption("context"))


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    wanted = config.getoption("lab")
    if not wanted and not any(_lab_of(Path(a.split("::")[0])) for a in config.args):
        return None
    target = _target(config)
    try:
        version = Kube(target).server_version(budget=CONNECT_BUDGET)
    except KubelabError as e:
        version = f"unreachable ({e.en})"
    return [f"kubelab: lab {wanted or '(from file)'}; cluster {target.describe()}; {version}"]


@pytest.fixture(scope="session")
def kubelab_kube(request: pytest.FixtureRequest) -> Kube:
    """A connection to the cluster under check; an unreachable cluster ends the run."""
    run = request.config.stash[RUN_KEY]
    try:
        kube = Kube(_target(request.config))
        kube.server_version(budget=CONNECT_BUDGET)
    except KubelabError as e:
        run.error = e
        pytest.exit(e.line(parse_lang(request.config.getoption("lang"))), returncode=int(e.exit_code))
    return kube


@pytest.fixture
def lab(request: pytest.FixtureRequest, kubelab_kube: Kube) -> Iterator[LabContext]:
    """The lab namespace as one check sees it (see kubelab.checks.LabContext); what the
    check changed is undone afterwards, and what could not be is kept as a leftover."""
    spec = request.node.stash.get(SPEC_KEY, None)
    run = request.config.stash[RUN_KEY]
    if spec is None or run.lab is None:
        raise pytest.UsageError("the `lab` fixture is for checks in checkers/test_labNN.py")
    cleanup = Cleanup(kubelab_kube)
    try:
        yield LabContext(kube=kubelab_kube, lab=run.lab, namespace=run.namespace, spec=spec, cleanup=cleanup)
    finally:
        try:
            cleanup.run()
        finally:
            run.leftovers += cleanup.leftovers


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """One deadline per check: its timeout (scaled), for everything it waits on."""
    spec = item.stash.get(SPEC_KEY, None)
    context = getattr(item, "funcargs", {}).get("lab")
    if spec is None or not isinstance(context, LabContext):
        return (yield)
    faults = getattr(context.kube, "faults", [])
    before = len(faults)
    try:
        with deadline.within(spec.timeout * timeout_scale()):
            return (yield)
    finally:
        item.stash[FAULTS_KEY] = list(faults[before:])


def _environment_fault(
    item: pytest.Item, call: pytest.CallInfo[None], failed: bool
) -> EnvironmentProblem | None:
    """Why this check's result is the machine's doing rather than the learner's, if it is."""
    error = call.excinfo.value if call.excinfo else None
    if isinstance(error, EnvironmentProblem):
        return error
    faults = item.stash.get(FAULTS_KEY, [])
    if failed and faults:
        return EnvironmentProblem(
            f"the cluster failed to answer {len(faults)} time(s) during this check (last: {faults[-1]}); "
            "its failure is not counted: run the check again",
            f"이 검사 중에 클러스터가 {len(faults)}번 응답하지 못했습니다 (마지막: {faults[-1]}); "
            "이 실패는 세지 않습니다: 다시 검사하세요",
        )
    return None


def _message(call: pytest.CallInfo[None], spec: CheckSpec, config: pytest.Config) -> str:
    run = config.stash[RUN_KEY]
    lang = parse_lang(config.getoption("lang"))
    error = call.excinfo.value if call.excinfo else None
    if isinstance(error, CheckFailed):
        return failure_message(error.finding, spec, run.namespace, lang)
    if isinstance(error, KubelabError):
        return error.line(lang)
    return f"error: {type(error).__name__}: {error}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    spec = item.stash.get(SPEC_KEY, None)
    if spec is None or (report.when != "call" and not report.failed):
        return
    run = item.config.stash[RUN_KEY]
    fault = _environment_fault(item, call, report.failed) if report.when == "call" else None
    if fault is not None:
        run.error = run.error or fault
        item.session.shouldstop = fault.en  # nothing after this can be judged fairly
        message = fault.line(parse_lang(item.config.getoption("lang")))
        report.longrepr = message
    elif report.failed:
        message = _message(call, spec, item.config)
        if call.excinfo and isinstance(call.excinfo.value, KubelabError):
            report.longrepr = message
    else:
        message = ""
    run.results.append(
        CheckResult(
            id=spec.id,
            title=spec.title,
            passed=report.passed and fault is None,
            points=spec.points,
            seconds=round(report.duration, 2),
            message=message,
            fault=fault.en if fault else "",
        )
    )


def _json_path(config: pytest.Config) -> Path | None:
    explicit = config.getoption("kubelab_json")
    if explicit:
        return Path(explicit)
    junit = config.getoption("xmlpath", None)
    return Path(junit).with_suffix(".kubelab.json") if junit else None


@pytest.hookimpl(trylast=True)  # after pytest has torn the fixtures down (their leftovers)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash[RUN_KEY]
    path = _json_path(session.config)
    if path is None or (run.lab is None and run.error is None):
        return
    card = Scorecard(
        lab=run.lab.id if run.lab else "",
        namespace=run.namespace,
        results=tuple(run.results),
        error=run.error.en if run.error else None,
        error_ko=run.error.ko if run.error else None,
        error_code=int(run.error.exit_code) if run.error else 0,
        leftovers=tuple(run.leftovers),
        interrupted=exitstatus == pytest.ExitCode.INTERRUPTED,
    )
    card.write(path)
