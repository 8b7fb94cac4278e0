"""End to end, on a real cluster: the author's guide (docs/authoring.md, section 1) followed
on a fresh clone — each kubelab command of its first block, in order: `kubelab new`, `lint`,
`verify` of the new lab.

The clone's `make install` is not run again: the kubelab under test is this checkout's
(its venv is what `make install` makes); the clone is where the new lab is written
(KUBELAB_ROOT), so nothing of this checkout changes.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kubelab import repo

pytestmark = pytest.mark.e2e
MARKER = "<!-- the e2e runs each kubelab command of this block, in order -->"


def guide_commands() -> list[list[str]]:
    """The kubelab commands of the guide's first block, as argument lists."""
    text = (repo.root() / "docs" / "authoring.md").read_text(encoding="utf-8")
    block = text.split(MARKER, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    assert "make install" in lines, "the guide starts from make install"
    return [shlex.split(line)[1:] for line in lines if line.startswith(".venv/bin/kubelab ")]


def test_the_authors_guide_takes_a_fresh_clone_to_a_verified_lab(
    tmp_path: Path, verify_runs: object, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = guide_commands()
    assert [c[0] for c in commands] == ["new", "lint", "verify"]
    clone = tmp_path / "kubelab"
    subprocess.run(["git", "clone", "--quiet", str(repo.root()), str(clone)], check=True, timeout=300)
    env = {**os.environ, "KUBELAB_ROOT": str(clone), "KUBELAB_STATE": str(clone / ".kubelab")}
    took: dict[str, float] = {}
    outputs: dict[str, str] = {}
    for command in commands:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "kubelab", "--lang", "en", *command],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        took[command[0]] = time.monotonic() - started
        outputs[command[0]] = done.stdout
        assert done.returncode == 0, f"kubelab {shlex.join(command)}: {done.stdout}\n{done.stderr}"
    lab = next((clone / "labs").glob(f"{commands[0][1]}-*"))
    assert (lab / "lab.yaml").is_file() and not (clone / "checkers" / f"test_lab{commands[0][1]}.py").exists()
    assert "lint: 0 problems" in outputs["lint"]
    verified = outputs["verify"]
    assert "all as expected" in verified and "✗" not in verified
    for variant in ("solution", "starter", "wrong/selector-typo", "wrong/three-replicas"):
        assert f" {variant} " in verified
    assert "why: with replicas 3 the desired state is three pods" in verified
    with capsys.disabled():  # in the run's log: the budget is a new lab verified in under a minute
        print(f"\nnew lab from the guide: verified in {took['verify']:.0f} s (kubelab verify, whole process)")
