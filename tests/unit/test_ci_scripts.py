"""The offline-cluster scripts (ci/*.sh), read as a fresh machine would run them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

CI = Path(__file__).resolve().parents[2] / "ci"
SCRIPTS = sorted(CI.glob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_parses(script: Path) -> None:
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr


def _runs_apt(script: Path) -> bool:
    """Whether the script itself runs apt-get (not inside a Dockerfile it writes)."""
    code = [line.split("#", 1)[0] for line in script.read_text(encoding="utf-8").splitlines()]
    return any(re.search(r"(^|[;&|{(]\s*|\s)apt-get\s", line) and "RUN apt-get" not in line for line in code)


def test_only_the_prerequisites_step_runs_apt() -> None:
    """Two apt-gets at once lose the dpkg lock (base-images builds in parallel): every
    package the offline cluster needs is installed once, by ci/prerequisites.sh. The
    browser (ci/browser.sh) is no step of it: .ci/run runs it alone, after."""
    assert [s.name for s in SCRIPTS if _runs_apt(s)] == ["browser.sh", "prerequisites.sh"]
    steps = (CI / "offline-cluster.sh").read_text(encoding="utf-8")
    assert "browser" not in steps


def test_prerequisites_run_first() -> None:
    text = (CI / "offline-cluster.sh").read_text(encoding="utf-8")
    steps = re.search(r"^steps=\(([^)]*)\)", text, re.MULTILINE)
    assert steps is not None
    assert steps.group(1).split()[0] == "prerequisites"
