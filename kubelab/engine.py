"""Running a lab's checks: the one entry point the CLI, verify and a grader call.

Checks are pytest tests, so a run is a pytest session over the lab's checker file with
kubelab's plugin; it runs in a child process so every run starts clean, and the plugin's
JSON file is how the result comes back.

The child has a time limit (the sum of its checks' timeouts, plus room to start and to
clean up) and a process group of its own, so a Ctrl-C in the terminal reaches kubelab
only: kubelab passes one interrupt on, lets the child undo what its checks changed
(bounded), and then stops with Interrupted (exit 130).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from kubelab import interrupts, params, repo
from kubelab.cleanup import Cleanup
from kubelab.errors import EnvironmentProblem, ExitCode, Interrupted, KubelabError
from kubelab.kube import Target
from kubelab.labspec import Lab
from kubelab.results import Scorecard
from kubelab.text import Lang, Text
from kubelab.waiting import timeout_scale

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
        str(lab.checker),
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


def run_budget(lab: Lab, only: Iterable[str] = ()) -> float:
    """Seconds a run of these checks may take in all."""
    selected = list(only)
    specs = [c for c in lab.checks if not selected or any(s in c.id for s in selected)]
    return START_SECONDS + sum(c.timeout * timeout_scale() + CHECK_CLEANUP_SECONDS for c in specs)


_children: set[subprocess.Popen[str]] = set()
"""Check runs in progress (several at once under a concurrent verify)."""
_children_lock = threading.Lock()


def stop_all() -> None:
    """Interrupt every check run in progress once (Ctrl-C of a concurrent run): each
    undoes what its checks changed and ends; the threads waiting on them see Interrupted."""
    interrupts.stop_everything()
    with _children_lock:
        running = list(_children)
    for child in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGINT)


def _stop(child: subprocess.Popen[str]) -> bool:
    """Interrupt the child's process group once, and let it undo what its checks changed;
    kill it if it has not ended in time. True when it ended by itself."""
    with interrupts.shielded(reraise=False):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGINT)
        try:
            child.communicate(timeout=STOP_SECONDS)
            return True
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            return False


def _read(out: Path) -> Scorecard | None:
    try:
        return Scorecard.read(out)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_checks(lab: Lab, target: Target, lang: Lang, only: Iterable[str] = ()) -> Scorecard:
    """Run the lab's checks against its answer's namespace (lab.with_values) and return
    the scorecard."""
    only = list(only)
    out = results_path(lab.answer_namespace)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _run(lab, target, lang, out, only)
    finally:
        out.unlink(missing_ok=True)


def _run(lab: Lab, target: Target, lang: Lang, out: Path, only: list[str]) -> Scorecard:
    command = pytest_command(lab, target, lang, out, only)
    budget = run_budget(lab, only)
    with _children_lock:  # stop_all sees every child that starts, or none starts
        if interrupts.stopping():
            raise Interrupted(undone=True)
        child = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=repo.root(),
            start_new_session=True,
        )
        _children.add(child)
    try:
        stdout, stderr = child.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        ended = _stop(child)
        card = _read(out)
        left = f"; could not remove: {'; '.join(card.leftovers)}" if card and card.leftovers else ""
        unsure = "" if ended and card else "; kubelab reset removes what it created"
        raise EnvironmentProblem(
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
