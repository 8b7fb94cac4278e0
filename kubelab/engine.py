"""Running a lab's checks: the one entry point the CLI, verify and a grader call.

Checks are pytest tests, so a run is a pytest session over the lab's checker file with
kubelab's plugin; it runs in a child process so every run starts clean, and the plugin's
JSON file is how the result comes back.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from kubelab import repo
from kubelab.errors import EnvironmentProblem, ExitCode, KubelabError
from kubelab.kube import Target
from kubelab.labspec import Lab
from kubelab.results import Scorecard
from kubelab.text import Lang


def results_path(namespace: str) -> Path:
    """Where a check run against this namespace writes its JSON results."""
    return repo.state_dir() / "results" / f"{namespace}.json"


def pytest_command(
    lab: Lab, target: Target, namespace: str, lang: Lang, only: Iterable[str] = ()
) -> list[str]:
    """The pytest command line that runs a lab's checks (a grader can run it too)."""
    out = results_path(namespace)
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
    if target.kubeconfig:
        command += ["--kubeconfig", str(target.kubeconfig)]
    if target.context:
        command += ["--context", target.context]
    selected = list(only)
    if selected:
        command += ["-k", " or ".join(selected)]
    return command


def run_checks(lab: Lab, target: Target, namespace: str, lang: Lang, only: Iterable[str] = ()) -> Scorecard:
    """Run the lab's checks against `namespace` and return the scorecard."""
    command = pytest_command(lab, target, namespace, lang, only)
    out = results_path(namespace)
    out.unlink(missing_ok=True)
    done = subprocess.run(command, capture_output=True, text=True, cwd=repo.root())
    if not out.exists():
        tail = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise KubelabError(f"the checks did not run (pytest exit {done.returncode}): {tail}")
    card = Scorecard.read(out)
    if card.error:
        if done.returncode == ExitCode.ENVIRONMENT:
            raise EnvironmentProblem(card.error, card.error_ko)
        raise KubelabError(card.error, card.error_ko)
    return card
