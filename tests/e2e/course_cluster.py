"""A cluster kubelab did not create, verified through `--provider existing` (issue 21).

`python -m tests.e2e.course_cluster [--go FILE]`: plain `kind create cluster` from
manifests/course-cluster.yaml (three nodes, zones), the lab images loaded onto it with
`kind load` (as a course's admin would), then `kubelab --provider existing --kubeconfig F
verify` of every lab, kubelab given only that kubeconfig: DOCKER_HOST points nowhere, so
any Docker call of kubelab's would fail. The cluster is deleted afterwards, however the
run ended (SIGTERM too).

With `--go FILE` the verify waits until FILE exists: the e2e makes the cluster while its
fault tests leave the machine idle, and verifies once the tests that need the machine to
themselves are done. Meanwhile the cluster's nodes are paused (`docker pause`: an idle
three-node cluster costs a fifth of this 2-core machine); once unpaused, the verify waits
until every kubelet has renewed its lease and every node is Ready with no taint of an
unreachable node (a cluster paused for minutes is marked so for a moment).
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kubelab import cluster, images, labspec, repo, tools

NAME = "kubelab-course-e2e"
"""The cluster's name (kind's; kubelab's own is `kubelab`)."""
VERIFY_LIMIT = 1800.0
JOBS = 4
"""Answers verified at once. Each kind node reports the host's cores as its own, so
kubelab would take three times the room there is (10 at a time beside the e2e's other
tests on kubelab's cluster: a rollout and a subPath mount took minutes, and failed; at 6
a rollout's sample went unanswered)."""
TIMES = "course cluster:"
"""The last line's start: how long each part took (the e2e shows it)."""
GO_WAIT = 3600.0
"""Seconds to wait for --go's file."""
AWAKE_WAIT = 300.0
"""Seconds the unpaused cluster may take to be healthy again."""
UNHEALTHY = {"node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"}


def _kind(*args: str, timeout: float = 600) -> str:
    return tools.run_kind(tools.kind_binary(cluster.settings().kind), *args, timeout=timeout)


def _nodes() -> list[str]:
    return _kind("get", "nodes", "--name", NAME).split()


def _until(what: str, holds: Callable[[], bool], seconds: float) -> None:
    from kubelab.errors import CheckFailed, Finding
    from kubelab.waiting import wait_until

    def check() -> None:
        if not holds():
            raise CheckFailed(Finding(what, "so", "not yet"))

    wait_until(check, seconds)


def _awake(kubeconfig: Path, since: datetime) -> bool:
    """Every kubelet has renewed its lease since `since`, and every node is Ready with no
    taint of an unreachable or not-ready node."""
    from kubelab.kube import Kube

    kube = Kube(cluster.resolve_target(str(kubeconfig), f"kind-{NAME}"))
    nodes = kube.list("Node")
    leases = {str(lease["metadata"]["name"]): lease for lease in kube.list("Lease", "kube-node-lease")}
    for node in nodes:
        name = str(node["metadata"]["name"])
        renewed = str((leases.get(name, {}).get("spec") or {}).get("renewTime") or "")
        if not renewed or datetime.fromisoformat(renewed.replace("Z", "+00:00")) < since:
            return False
        ready = [c for c in node["status"].get("conditions") or [] if c.get("type") == "Ready"]
        taints = {t.get("key") for t in (node.get("spec") or {}).get("taints") or []}
        if not ready or ready[0].get("status") != "True" or taints & UNHEALTHY:
            return False
    return bool(nodes)


PAUSE_TRIES = 5


def pause(*containers: str) -> bool:
    """`docker pause` each container, trying again a few times: on a busy machine the
    cgroup freezer can fail to freeze a node whose processes wait on the disk ("OCI runtime
    pause failed: unable to freeze", seen while the other cluster loaded its images). True
    when every one is paused."""
    for name in containers:
        for attempt in range(PAUSE_TRIES):
            if tools.docker("pause", name).returncode == 0:
                break
            time.sleep(1.0 + attempt)  # a test's own retry of docker, not a wait for the cluster
        else:
            return False
    return True


def _paused_until(go: Path, kubeconfig: Path) -> None:
    """The nodes paused until `go` exists, then unpaused and healthy (see the module)."""
    nodes = _nodes()
    if not go.exists():
        if not pause(*nodes):
            tools.docker("unpause", *nodes)
            raise RuntimeError(f"docker pause {' '.join(nodes)} failed {PAUSE_TRIES} times")
        try:
            _until(f"{go} there", go.exists, GO_WAIT)
        finally:
            tools.docker("unpause", *nodes)
    since = datetime.now(UTC) - timedelta(seconds=1)
    _until("the course cluster healthy", lambda: _awake(kubeconfig, since), AWAKE_WAIT)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally below still runs
    go = Path(argv[argv.index("--go") + 1]) if "--go" in argv else None
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
            _delete()
            return 3
        made = time.monotonic() - began
        try:
            if go is not None:
                try:
                    _paused_until(go, kubeconfig)
                except Exception as e:  # not kubelab's doing either
                    print(f"the course cluster could not wait paused: {e}", file=sys.stderr)
                    return 3
            waited = time.monotonic() - began - made
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
                    f"--jobs={JOBS}",
                ],
                capture_output=True,
                text=True,
                timeout=VERIFY_LIMIT,
                env={**os.environ, "DOCKER_HOST": f"unix://{tmp}/no-docker-for-kubelab.sock"},
            )
            print(done.stdout)
            print(done.stderr, file=sys.stderr)
            took = time.monotonic() - began - made - waited
            print(f"{TIMES} made and loaded in {made:.0f} s, paused and woken {waited:.0f} s, ", end="")
            print(f"verified in {took:.0f} s")
            return done.returncode
        finally:
            _delete()


def _delete() -> None:
    """The course cluster deleted; when kind cannot, one line says so (the exit code stays
    verify's: the next run deletes a leftover first)."""
    try:
        _kind("delete", "cluster", "--name", NAME, timeout=300)
    except Exception as e:
        print(f"the course cluster could not be deleted: {e}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
