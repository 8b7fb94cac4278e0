"""A cluster kubelab did not create, verified through `--provider existing` (issue 21).

`python -m tests.e2e.course_cluster [--go FILE]`: plain `kind create cluster` from
manifests/course-cluster.yaml (three nodes, zones), the lab images loaded onto it with
`kind load` (as a course's admin would), then `kubelab --provider existing --kubeconfig F
verify` of every lab, kubelab given only that kubeconfig: DOCKER_HOST points nowhere, so
any Docker call of kubelab's would fail. With `--go FILE`, the cluster is made and loaded
at once and the verify waits until FILE exists (at most GO_WAIT seconds): the e2e makes the
cluster while its first tests run, and verifies once they no longer need the machine to
themselves. The cluster is deleted afterwards, however the run ended (SIGTERM too).
Prints verify's output; exits with verify's code (3 when the cluster could not be made).
Started by tests/e2e/conftest.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from kubelab import cluster, images, labspec, repo, tools

NAME = "kubelab-course-e2e"
"""The cluster's name (kind's; kubelab's own is `kubelab`)."""
VERIFY_LIMIT = 1800.0
GO_WAIT = 3600.0
"""Seconds to wait for --go's file before giving up (exit 3)."""


def _kind(*args: str, timeout: float = 600) -> str:
    return tools.run_kind(tools.kind_binary(cluster.settings().kind), *args, timeout=timeout)


def _wait_for(go: Path) -> bool:
    from kubelab.errors import CheckFailed, Finding
    from kubelab.waiting import wait_until

    def there() -> None:
        if not go.exists():
            raise CheckFailed(Finding(str(go), "there", "not yet"))

    try:
        wait_until(there, GO_WAIT)
    except CheckFailed:
        return False
    return True


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally below still runs
    go = Path(argv[argv.index("--go") + 1]) if "--go" in argv else None
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
        try:
            if go is not None and not _wait_for(go):
                print(f"{go} did not appear within {GO_WAIT:g} s", file=sys.stderr)
                return 3
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
            return done.returncode
        finally:
            _kind("delete", "cluster", "--name", NAME, timeout=300)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
