"""kubelab's pytest plugin (entry point `pytest11`): thin, over the engine.

It adds the options a check run needs, prints what a rerun needs in the report header,
runs each check through the engine (kubelab.engine.judge: its deadline, the undo of what
it changed, the learner's message; a check whose needs failed is not run), in lab.yaml's
order, and writes the results as JSON (beside --junitxml, or where --kubelab-json says).
A check that met a fault of the cluster (no answer, 5xx) is not the learner's failure:
the run stops there and says so, with exit code 3.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kubelab import cluster, engine, interrupts, labspec, params
from kubelab.errors import KubelabError
from kubelab.kube import CONNECT_BUDGET, Kube, Target
from kubelab.labspec import CheckSpec, Lab
from kubelab.results import CheckResult, Scorecard
from kubelab.text import parse_lang

CHECKER = re.compile(r"^test_lab(\d\d)\.py$")
LAB_FILE = re.compile(r"^(\d\d)-")
"""A lab folder's name (labs/NN-name/), whose lab.yaml holds the lab's checks."""
SPEC_KEY = pytest.StashKey[CheckSpec]()


class _Run:
    """What one pytest session collects for kubelab."""

    def __init__(self) -> None:
        self.lab: Lab | None = None
        self.namespace = ""
        self.done: dict[str, CheckResult] = {}
        """Each check's result by id, in the order they ran."""
        self.error: KubelabError | None = None
        self.leftovers: list[str] = []
        self.usage = ""
        """Why the lab's checks could not be collected (a usage error)."""


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
    """The lab a checker file (test_labNN.py) or a lab folder's lab.yaml is of."""
    found = CHECKER.match(path.name) or (
        LAB_FILE.match(path.parent.name) if path.name == "lab.yaml" else None
    )
    return found.group(1) if found else None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With --lab, checker files of other labs are not collected."""
    wanted = config.getoption("lab")
    lab_id = _lab_of(collection_path)
    if wanted and lab_id and lab_id != labspec.normalize_id(wanted):
        return True
    return None


class LabChecks(pytest.File):
    """A lab's checks, in lab.yaml's order (needs come first): collected from its lab.yaml
    or its checker file. Each is a pytest Function over the check's code, Python or data
    (kubelab.engine.checkers), run by pytest_pyfunc_call below."""

    lab_id: str

    def collect(self) -> list[pytest.Item]:
        run = self.config.stash[RUN_KEY]
        if run.lab is not None and run.lab.id != self.lab_id:  # one run writes one lab's scorecard
            run.usage = (
                run.usage or f"one lab a run: {run.lab.id} and {self.lab_id} were given (use --lab NN)"
            )
            return []
        try:
            lab = run.lab = run.lab or _lab_for_answer(self.config, self.lab_id)
            functions = engine.checkers(lab)
        except KubelabError as e:  # a usage error once collection ends (not a collection error)
            run.usage = run.usage or e.line("en")
            return []
        items: list[pytest.Item] = []
        for spec in lab.checks:
            item = pytest.Function.from_parent(self, name=f"test_{spec.id}", callobj=functions[spec.id])
            item.stash[SPEC_KEY] = spec
            items.append(item)
        return items


def _checks_of(parent: pytest.Collector, path: Path, lab_id: str) -> LabChecks:
    checks: LabChecks = LabChecks.from_parent(parent, path=path)
    checks.lab_id = lab_id
    return checks


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> LabChecks | None:
    """A checker file (checkers/test_labNN.py) is its lab's checks, not a plain module."""
    lab_id = _lab_of(module_path)
    return _checks_of(parent, module_path, lab_id) if lab_id else None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> LabChecks | None:
    """A lab's lab.yaml is its checks (a lab whose checks are all data has no checker file)."""
    lab_id = _lab_of(file_path)
    if file_path.name != "lab.yaml" or lab_id is None:
        return None
    return _checks_of(parent, file_path, lab_id)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = config.stash[RUN_KEY]
    if run.usage:
        raise pytest.UsageError(run.usage)
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
def lab(kubelab_kube: Kube) -> Kube:
    """A check's `lab` argument. The plugin does not hand this to the check: it runs the
    check through kubelab.engine.judge, which builds the check's LabContext (and undoes
    what it changed) exactly as `kubelab check` does; the fixture only makes sure the
    cluster is there before the check starts."""
    return kubelab_kube


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a check the way the engine runs it (deadline, undo, faults, needs)."""
    spec = pyfuncitem.stash.get(SPEC_KEY, None)
    run = pyfuncitem.config.stash[RUN_KEY]
    if spec is None or run.lab is None:
        return None
    lang = parse_lang(pyfuncitem.config.getoption("lang"))
    result = engine.blocked(spec, run.done, lang)
    if result is None:
        kube = pyfuncitem.funcargs["lab"]
        judged = engine.judge(kube, run.lab, spec, pyfuncitem.obj, lang, run.leftovers)  # type: ignore[arg-type]
        result = judged.result
        if judged.fault is not None:
            run.error = run.error or judged.fault
            pyfuncitem.session.shouldstop = judged.fault.en  # nothing after it can be judged fairly
    run.done[spec.id] = result
    if not result.passed:
        pytest.fail(result.message, pytrace=False)
    return True


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
        results=tuple(run.done.values()),
        error=run.error.en if run.error else None,
        error_ko=run.error.ko if run.error else None,
        error_code=int(run.error.exit_code) if run.error else 0,
        leftovers=tuple(run.leftovers),
        interrupted=exitstatus == pytest.ExitCode.INTERRUPTED,
    )
    card.write(path)
