"""A cluster kubelab did not create, verified through `--provider existing` (issue 21).

`python -m tests.e2e.course_cluster`: plain `kind create cluster` from
manifests/course-cluster.yaml (three nodes, zones), the lab images loaded onto it with
`kind load` (as a course's admin would), then `kubelab --provider existing --kubeconfig F
verify` of every lab, kubelab given only that kubeconfig: DOCKER_HOST points nowhere, so
any Docker call of kubelab's would fail. The cluster is deleted afterwards, however the
run ended (SIGTERM too).
Prints verify's output; exits with verify's code (3 when the cluster could not be made).
Started by tests/e2e/conftest.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kubelab import cluster, images, labspec, repo, tools

NAME = "kubelab-course-e2e"
"""The cluster's name (kind's; kubelab's own is `kubelab`)."""
VERIFY_LIMIT = 1800.0
TIMES = "course cluster:"
"""The last line's start: how long each part took (the e2e shows it)."""


def _kind(*args: str, timeout: float = 600) -> str:
    return tools.run_kind(tools.kind_binary(cluster.settings().kind), *args, timeout=timeout)


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally below still runs
    began = time.monotonic()
    config = repo.manifests_dir() / "course-cluster.yaml"
    with tempfile.TemporaryDirectory(prefix="kubelab-course-") as tmp:
        kubeconfig = Path(tmp) / "course.kubeconfig"
        try:
            _kind("delete", "cluster", "--name", NAME, timeout=300)  # a leftover of a killed run
            _kind(
                "create",
                "cluster",
                f"--name={NAME}",
                f"--image={cluster.node_image(cluster.settings())}",
                f"--config={config}",
                f"--kubeconfig={kubeconfig}",
                "--wait=5m",
            )
            for short in sorted({i for lab in labspec.all_labs() for i in lab.images}):
                images.build(short)
                _kind("load", "docker-image", "--name", NAME, images.full_name(short))
        except Exception as e:  # the cluster, not kubelab, failed: say so, and clean up
            print(f"the course cluster could not be made: {e}", file=sys.stderr)
            _kind("delete", "cluster", "--name", NAME, timeout=300)
            return 3
        made = time.monotonic() - began
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "kubelab",
                    "--lang",
                    "en",
                    "--provider",
                    "existing",
                    f"--kubeconfig={kubeconfig}",
                    f"--context=kind-{NAME}",
                    "verify",
                ],
                capture_output=True,
                text=True,
                timeout=VERIFY_LIMIT,
                env={**os.environ, "DOCKER_HOST": f"unix://{tmp}/no-docker-for-kubelab.sock"},
            )
            print(done.stdout)
            print(done.stderr, file=sys.stderr)
            took = time.monotonic() - began - made
            print(f"{TIMES} made and loaded in {made:.0f} s, verified in {took:.0f} s")
            return done.returncode
        finally:
            _kind("delete", "cluster", "--name", NAME, timeout=300)


if __name__ == "__main__":
    raise SystemExit(main())
