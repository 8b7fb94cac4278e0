"""Running a lab's checks: the one place the CLI, verify, the pytest plugin and a
grader go through.

A check is a function `test_<id>(lab)` in checkers/test_labNN.py; its points, timeout,
hint and what it needs are in lab.yaml. `judge` runs one check — under its deadline,
with what it changed undone afterwards however it ends, a fault of the cluster told
apart from the learner's failure — and `blocked` says when a check need not run because
a check it needs failed. Two ways to run a lab's checks use them:

- `run_in_process`: in this process, in lab.yaml's order (`kubelab check`: one run per
  process, so nothing carries over from an earlier run, and no second interpreter).
- `run_isolated`: a child pytest session over the checker file with kubelab's plugin
  (which calls `judge` and `blocked` too), for runs side by side (verify, a grader):
  each child has a time limit (the sum of its checks' timeouts, plus room to start and
  to clean up) and a process group of its own, so a Ctrl-C in the terminal reaches
  kubelab only: kubelab passes one interrupt on, lets the child undo what its checks
  changed (bounded), and then stops with Interrupted (exit 130).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from kubelab import deadline, interrupts, params, preloaded, repo
from kubelab.cleanup import Cleanup
from kubelab.errors import (
    CheckFailed,
    ChecksStopped,
    ChecksTimedOut,
    EnvironmentProblem,
    ExitCode,
    Interrupted,
    KubelabError,
    LabContentError,
    NotPermitted,
)
from kubelab.imports import without
from kubelab.labspec import CheckSpec, Lab
from kubelab.results import CheckResult, Scorecard, brief_message, failure_message, needs_text
from kubelab.text import Lang, Text, printable
from kubelab.waiting import timeout_scale

if TYPE_CHECKING:
    from kubelab.checks import LabContext
    from kubelab.kube import Kube, Target

Checker = Callable[["LabContext"], None]
"""A check's code: test_<id>(lab) in the lab's checker file."""

START_SECONDS = 60.0
"""Room for the child to start, collect and connect."""
CHECK_CLEANUP_SECONDS = Cleanup.TOTAL_SECONDS
"""Room per check for undoing what it changed."""
STOP_SECONDS = Cleanup.TOTAL_SECONDS + 60.0
"""How long an interrupted child may take to undo what its checks changed and end."""


def results_path(namespace: str) -> Path:
    """A file of its own for one check run against this namespace (runs at the same time
    never share one)."""
    return repo.state_dir() / "results" / f"{namespace}.{os.getpid()}.{secrets.token_hex(4)}.json"


def pytest_command(lab: Lab, target: Target, lang: Lang, out: Path, only: Iterable[str] = ()) -> list[str]:
    """The pytest command line that runs a lab's checks against the namespace and
    parameter values of `lab` (a grader can run it too), writing results to `out`."""
    namespace = lab.answer_namespace
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(lab.folder / "lab.yaml"),
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "-rN",
        "--lab",
        lab.id,
        "--namespace",
        namespace,
        "--lang",
        lang,
        "--kubelab-json",
        str(out),
    ]
    for setting in params.settings_of(lab.params, lab.values):
        command += ["--set", setting]
    if target.kubeconfig:
        command += ["--kubeconfig", str(target.kubeconfig)]
    if target.context:
        command += ["--context", target.context]
    selected = list(only)
    if selected:
        command += ["-k", " or ".join(selected)]
    return command


def selected(lab: Lab, only: Iterable[str] = (), look_only: bool = False) -> list[CheckSpec]:
    """The lab's checks in lab.yaml's order; with `only`, those whose id contains one of
    its words (as pytest -k picks them); look_only: not those that change the cluster to
    see what happens (`disturbs` in lab.yaml)."""
    words = list(only)
    chosen = [c for c in lab.checks if not words or any(w in c.id for w in words)]
    return [c for c in chosen if not (look_only and c.disturbs)]


def run_budget(lab: Lab, only: Iterable[str] = ()) -> float:
    """Seconds a run of these checks may take in all."""
    specs = selected(lab, only)
    return START_SECONDS + sum(c.timeout * timeout_scale() + CHECK_CLEANUP_SECONDS for c in specs)


Child = subprocess.Popen[str] | preloaded.Child
"""A running check run: forked warm where it can be (kubelab.preloaded), else `python -m pytest`."""

_children: set[Child] = set()
"""Check runs in progress (several at once under a concurrent verify)."""
_children_lock = threading.Lock()


def stop_all() -> None:
    """Interrupt every check run in progress once (Ctrl-C of a concurrent run): each
    undoes what its checks changed and ends; the threads waiting on them see Interrupted."""
    interrupts.stop_everything()
    with _children_lock:
        running = list(_children)
    for child in running:
        _signal(child, signal.SIGINT)


def _signal(child: Child, sig: int) -> None:
    """Signal the child's process group: it and what it started (a child is in a session
    of its own from the moment the engine has it)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, sig)


def _stop(child: Child) -> bool:
    """Interrupt the child's process group once, and let it undo what its checks changed;
    kill it if it has not ended in time. True when it ended by itself."""
    with interrupts.shielded(reraise=False):
        _signal(child, signal.SIGINT)
        try:
            child.communicate(timeout=STOP_SECONDS)
            return True
        except subprocess.TimeoutExpired:
            _signal(child, signal.SIGKILL)
            child.communicate()
            return False


def _read(out: Path) -> Scorecard | None:
    try:
        return Scorecard.read(out)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_isolated(
    lab: Lab, target: Target, lang: Lang, only: Iterable[str] = (), cancel: threading.Event | None = None
) -> Scorecard:
    """Run the lab's checks against its answer's namespace (lab.with_values) in a child
    pytest, and return the scorecard. Once `cancel` is set the checks are stopped (they
    undo what they changed) and ChecksStopped is raised."""
    only = list(only)
    out = results_path(lab.answer_namespace)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _run(lab, target, lang, out, only, cancel or threading.Event())
    finally:
        out.unlink(missing_ok=True)


CANCEL_EVERY = 1.0
"""Seconds between two looks at a run's cancel event."""


def _wait(child: Child, budget: float, cancel: threading.Event) -> tuple[str, str]:
    """The child's output once it ends; TimeoutExpired after `budget` seconds, ChecksStopped
    once `cancel` is set (the child still running either way)."""
    ends = time.monotonic() + budget
    while True:
        try:
            return child.communicate(timeout=max(0.0, min(CANCEL_EVERY, ends - time.monotonic())))
        except subprocess.TimeoutExpired:
            if time.monotonic() >= ends:
                raise
            if cancel.is_set():
                raise ChecksStopped("the checks were stopped", "검사를 멈췄습니다") from None


def _run(
    lab: Lab, target: Target, lang: Lang, out: Path, only: list[str], cancel: threading.Event
) -> Scorecard:
    command = pytest_command(lab, target, lang, out, only)
    budget = deadline.bound(run_budget(lab, only))  # within a grader's time per submission
    with _children_lock:  # stop_all sees every child that starts, or none starts
        if interrupts.stopping():
            raise Interrupted(undone=True)
        child: Child = (
            preloaded.Child(command, repo.root())
            if preloaded.available()
            else subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=repo.root(),
                start_new_session=True,
            )
        )
        _children.add(child)
    try:
        stdout, stderr = _wait(child, budget, cancel)
    except ChecksStopped:
        _stop(child)
        raise
    except subprocess.TimeoutExpired:
        ended = _stop(child)
        card = _read(out)
        left = f"; could not remove: {'; '.join(card.leftovers)}" if card and card.leftovers else ""
        unsure = "" if ended and card else "; kubelab reset removes what it created"
        raise ChecksTimedOut(
            f"the checks of lab {lab.id} did not finish within {budget:.0f} s and were stopped{left}{unsure}",
            f"실습 {lab.id}의 검사가 {budget:.0f}초 안에 끝나지 않아 멈췄습니다{left}{unsure}",
        ) from None
    except KeyboardInterrupt:
        stopping = Text(
            f"검사를 멈추고, 검사가 바꾼 것을 되돌리는 중입니다 (최대 {STOP_SECONDS:.0f}초)…",
            f"stopping the checks and undoing what they changed (at most {STOP_SECONDS:.0f} s)…",
        )
        print(f"kubelab: {stopping.both(lang)}", file=sys.stderr, flush=True)
        if not _stop(child):
            raise Interrupted(undone=False) from None
        card = _read(out)  # none: stopped before any check began, so nothing to undo
        raise Interrupted(card.leftovers if card else (), undone=True) from None
    finally:
        with _children_lock:
            _children.discard(child)
    card = _read(out)
    if interrupts.stopping():  # stopped by stop_all (a concurrent run's Ctrl-C or fault)
        raise Interrupted(card.leftovers if card else (), undone=True)
    if card is None:
        tail = (stderr.strip() or stdout.strip() or "no output").splitlines()[-1]
        raise KubelabError(f"the checks did not run (pytest exit {child.returncode}): {tail}")
    if card.error:
        left = f"; could not remove: {'; '.join(card.leftovers)}" if card.leftovers else ""
        if card.error_code == ExitCode.ENVIRONMENT or child.returncode == ExitCode.ENVIRONMENT:
            raise EnvironmentProblem(card.error + left, (card.error_ko or card.error) + left)
        raise KubelabError(card.error + left, (card.error_ko or card.error) + left)
    return card


@dataclass(frozen=True)
class Judged:
    """One check's result, and the fault of the cluster that kept it from being judged
    (then the run stops: nothing after it can be judged fairly)."""

    result: CheckResult
    fault: EnvironmentProblem | None = None


def blocked(spec: CheckSpec, done: Mapping[str, CheckResult], lang: Lang) -> CheckResult | None:
    """The result of a check that is not run because a check it needs failed, if one did;
    it names the checks to fix first (for a need that was not run either, what that one
    waits for)."""
    failed: list[str] = []
    for need in spec.needs:
        if need in done and not done[need].passed and not done[need].deferred:
            failed += [root for root in done[need].blocked_by or (need,) if root not in failed]
    if not failed:
        return None
    said = needs_text(failed)
    return CheckResult(
        id=spec.id,
        title=spec.title,
        passed=False,
        points=spec.points,
        seconds=0.0,
        message=said.both(lang),
        brief=needs_text(failed, short=True).pick(lang),
        blocked_by=tuple(failed),
    )


def judge(kube: Kube, lab: Lab, spec: CheckSpec, check: Checker, lang: Lang, leftovers: list[str]) -> Judged:
    """Run one check against the answer's namespace, under its deadline (its timeout,
    scaled); undo what it changed when it ends, adding what could not be undone to
    `leftovers`. A Ctrl-C goes through (after the undo)."""
    from kubelab.checks import LabContext  # the cluster side, only once a check runs

    cleanup = Cleanup(kube)
    context = LabContext(kube=kube, lab=lab, namespace=lab.answer_namespace, spec=spec, cleanup=cleanup)
    faults: list[str] = getattr(kube, "faults", [])
    before = len(faults)
    started = time.monotonic()
    error: Exception | None = None
    try:
        with deadline.within(spec.timeout * timeout_scale()):
            check(context)
    except Exception as e:  # the verdict: a failure, a fault, or a bug in the checker
        error = e
    finally:
        try:
            cleanup.run()
        finally:
            leftovers += cleanup.leftovers
    seconds = round(time.monotonic() - started, 2)
    fault = _fault(error, faults[before:])
    message, brief = "", ""
    deferred = False
    if fault is None and isinstance(error, NotPermitted):
        deferred = True
        said = Text(
            f"이 검사는 여러분의 자격 증명으로 할 수 없는 일이 필요합니다 ({error.ko}): "
            "선생님의 채점에 맡깁니다",
            f"this check needs more than your credential allows ({error.en}): left to your teacher's grading",
        )
        message, brief = said.both(lang), said.pick(lang)
    elif fault is not None:
        message = brief = fault.line(lang)
    elif isinstance(error, CheckFailed):
        message = failure_message(error.finding, spec, lab.answer_namespace, lang)
        brief = brief_message(error.finding, lang)
    elif isinstance(error, KubelabError):
        message = brief = error.line(lang)
    elif error is not None:
        message = brief = _unexpected(error).both(lang)
    result = CheckResult(
        id=spec.id,
        title=spec.title,
        passed=error is None,
        points=spec.points,
        seconds=seconds,
        message=message,
        fault=fault.en if fault else "",
        brief=brief,
        judged=error is None
        or (isinstance(error, CheckFailed) and fault is None and not error.finding.missing),
        deferred=deferred,
    )
    return Judged(result, fault)


def _unexpected(error: Exception) -> Text:
    """A check ended with an error that is neither a verdict nor a fault: the API server
    refused one of its requests (about the answer's objects: the answer's failure), or the
    checker has a bug. Said for people, without the exception's name."""
    from kubelab.kube import api_exception, api_reason

    if isinstance(error, api_exception()):
        said = printable(f"HTTP {getattr(error, 'status', '?')} {api_reason(error)}")
        return Text(
            f"API 서버가 이 검사의 요청을 거부했습니다: {said}",
            f"the API server refused this check's request: {said}",
        )
    said = printable(" ".join(str(error).split())[:300])
    return Text(
        f"검사 자체가 실패했습니다 (kubelab의 버그입니다; 알려 주세요): {said}",
        f"the check itself failed (a bug of kubelab's; please report it): {said}",
    )


def _fault(error: Exception | None, faults: list[str]) -> EnvironmentProblem | None:
    """Why a check's result is the machine's doing rather than the learner's, if it is."""
    if isinstance(error, EnvironmentProblem):
        return error
    if error is not None and faults:
        return EnvironmentProblem(
            f"the cluster failed to answer {len(faults)} time(s) during this check (last: {faults[-1]}); "
            "its failure is not counted: run the check again",
            f"이 검사 중에 클러스터가 {len(faults)}번 응답하지 못했습니다 (마지막: {faults[-1]}); "
            "이 실패는 세지 않습니다: 다시 검사하세요",
        )
    return None


_checkers_lock = threading.Lock()


def checkers(lab: Lab) -> dict[str, Checker]:
    """Each check's function: from its `expect:` in lab.yaml (kubelab.declared), else
    `test_<id>` from the lab's checker file (imported once per process; a lab whose
    checks are all data needs none)."""
    from kubelab import declared

    found: dict[str, Checker] = {s.id: declared.checker(s.expect) for s in lab.checks if s.expect}
    coded = [spec for spec in lab.checks if not spec.expect]
    if not coded:
        return found
    name = f"kubelab_checkers.test_lab{lab.id}"
    with _checkers_lock:
        module = sys.modules.get(name)
        if module is None or getattr(module, "__file__", None) != str(lab.checker):
            module = _import(name, lab.checker)
    for spec in coded:
        function = getattr(module, f"test_{spec.id}", None)
        if not callable(function):
            raise LabContentError(
                f"lab {lab.id}: check {spec.id} has neither expect: in lab.yaml nor test_{spec.id} "
                f"in {lab.checker.name}"
            )
        found[spec.id] = function
    for extra in sorted(n.removeprefix("test_") for n in vars(module) if n.startswith("test_")):
        if extra not in {spec.id for spec in coded}:
            said = "declares it with expect:, not as code" if extra in found else f"has no check {extra!r}"
            raise LabContentError(f"lab {lab.id} {said} in lab.yaml (test_{extra} in {lab.checker.name})")
    return found


def _import(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise LabContentError(f"checker {path} missing")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with without("kubernetes_validate"):  # a checker that imports the client itself
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def run_in_process(
    kube: Kube,
    lab: Lab,
    lang: Lang,
    only: Iterable[str] = (),
    look_only: bool = False,
    nudged: Mapping[str, int] | None = None,
) -> Scorecard:
    """Run the lab's checks here, in lab.yaml's order, and return the scorecard; a
    check whose needs failed is not run. A fault of the cluster ends the run (its card
    carries the error); a Ctrl-C ends it after the running check's undo (the card says
    interrupted). The checks in `nudged` give their nudge of that number instead of
    their hint (kubelab.hints)."""
    functions = checkers(lab)
    done: dict[str, CheckResult] = {}
    leftovers: list[str] = []
    fault: EnvironmentProblem | None = None
    interrupted = False
    try:
        for spec in selected(lab, only, look_only):
            if interrupts.stopping():
                interrupted = True
                break
            result = blocked(spec, done, lang)
            if result is None:
                told = spec.nudged(nudged[spec.id]) if nudged and spec.id in nudged else spec
                judged = judge(kube, lab, told, functions[spec.id], lang, leftovers)
                result, fault = judged.result, judged.fault
            done[spec.id] = result
            if fault is not None:
                break
    except KeyboardInterrupt:
        interrupted = True
    return Scorecard(
        lab=lab.id,
        namespace=lab.answer_namespace,
        results=tuple(done.values()),
        error=fault.en if fault else None,
        error_ko=fault.ko if fault else None,
        error_code=int(fault.exit_code) if fault else 0,
        leftovers=tuple(leftovers),
        interrupted=interrupted,
    )
