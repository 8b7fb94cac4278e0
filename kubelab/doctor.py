"""`kubelab doctor`: is this machine ready to run labs? One line per finding."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kubelab import cluster, repo, tools

MIN_FREE_MIB = 2048


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    warning: bool = False
    """Not a blocker (doctor still exits 0), but worth fixing: shown with "!"."""


def _version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"does not run ({e})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else f"exit {done.returncode}"


def docker() -> Finding:
    problem = cluster.docker_problem()
    return Finding("docker", problem is None, problem.en if problem else "running")


def kind(chosen: cluster.Settings) -> Finding:
    pinned = repo.versions()["KIND_VERSION"]
    path = _kind_here(chosen)
    if path is None:
        pinned_sha = f"KIND_SHA256_{tools.platform_name().replace('-', '_').upper()}" in repo.versions()
        if shutil.which("go") or pinned_sha:
            how = "built with Go" if shutil.which("go") else f"downloaded for {tools.platform_name()}"
            return Finding(
                "kind", True, f"not installed: kubelab gets kind {pinned} when first needed ({how})"
            )
        return Finding("kind", False, f"not installed: install kind {pinned} (or Go), or set KUBELAB_KIND")
    found = _version([path, "version"])
    return Finding("kind", pinned in found, f"{found} (pinned {pinned})")


def _kind_here(chosen: cluster.Settings) -> str | None:
    """The kind binary kubelab would run, if it is already here (doctor installs nothing)."""
    kept = repo.state_dir() / "bin" / f"kind-{repo.versions()['KIND_VERSION']}"
    return chosen.kind or (str(kept) if kept.is_file() else None)


def node_image(chosen: cluster.Settings, cluster_up: bool) -> Finding:
    """Which node image a new cluster would start from, and whether Docker has it."""
    if cluster_up:
        return Finding("node image", True, "not needed: the cluster exists")
    image = cluster.node_image(chosen)
    if tools.image_present(image):
        return Finding("node image", True, f"{image} (here)")
    offline = repo.versions()["OFFLINE_NODE_IMAGE"]
    return Finding(
        "node image",
        True,
        f"{image} must be pulled (needs internet; without it: make offline-cluster builds {offline})",
    )


def kubectl() -> Finding:
    path = cluster.kubectl_path()
    if not path.exists() and shutil.which(str(path)) is None:
        return Finding("kubectl", False, "not found (make install puts one in .venv)")
    return Finding("kubectl", True, f"{path}: {_version([str(path), 'version', '--client'])}")


def venv_bin() -> Path:
    """The folder of kubelab's own commands (.venv/bin): kubelab and its kubectl."""
    return Path(sys.executable).parent


def activated() -> bool:
    """This shell finds kubelab's own kubectl and kubelab first on its PATH."""
    here = venv_bin().resolve()
    found = [shutil.which(name) for name in ("kubectl", "kubelab")]
    return all(f is not None and Path(f).resolve().parent == here for f in found)


def how_to_activate() -> str:
    """The command that puts kubelab's kubectl and kubelab on this shell's PATH."""
    where = venv_bin()
    with contextlib.suppress(ValueError):
        where = where.relative_to(Path.cwd())
    return f"source {where}/activate (or: make shell)"


def _minor(version: str) -> int | None:
    found = re.match(r"v?1\.(\d+)", version)
    return int(found.group(1)) if found else None


def _kubectl_version(command: list[str], which: str) -> str | None:
    """`which` (clientVersion or serverVersion) of `command` (a `kubectl version -o json`),
    or None when it cannot be read."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
        return str(json.loads(done.stdout)[which]["gitVersion"])
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
        return None


def shell_kubectl(cluster_version: str) -> Finding:
    """The kubectl this shell runs when a lab says `kubectl …`: missing, or more than one
    minor away from the cluster (kubectl's supported skew), is a warning."""
    found = shutil.which("kubectl")
    if found is None:
        return Finding("shell", True, f"no kubectl on this shell's PATH: {how_to_activate()}", warning=True)
    version = _kubectl_version([found, "version", "--client", "-o", "json"], "clientVersion") or "unknown"
    mine, theirs = _minor(version), _minor(cluster_version)
    if mine is None:
        return Finding(
            "shell",
            True,
            f"{found}: could not read its version ({version}): {how_to_activate()}",
            warning=True,
        )
    if theirs is not None and abs(mine - theirs) > 1:
        return Finding(
            "shell",
            True,
            f"{found} is kubectl {version}, the cluster is {cluster_version} (more than one minor apart):"
            f" {how_to_activate()}",
            warning=True,
        )
    if shutil.which("kubelab") is None:
        return Finding("shell", True, f"no kubelab on this shell's PATH: {how_to_activate()}", warning=True)
    return Finding("shell", True, f"kubectl {version} ({found}), kubelab on PATH")


def memory() -> Finding:
    free_mib = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    free_mib = int(line.split()[1]) // 1024
    except OSError:
        return Finding("memory", True, "unknown (no /proc/meminfo)")
    return Finding("memory", free_mib >= MIN_FREE_MIB, f"{free_mib} MiB available (want {MIN_FREE_MIB})")


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ports(cluster_up: bool) -> Finding:
    busy = [p for p in cluster.NODE_PORTS if not port_free(p)]
    if cluster_up:
        return Finding("node ports", True, "held by the kubelab cluster (as they should be)")
    detail = f"{', '.join(map(str, busy))} in use by another program" if busy else "free"
    return Finding(
        "node ports", not busy, f"{cluster.NODE_PORTS.start}-{cluster.NODE_PORTS.stop - 1} {detail}"
    )


def _cluster_version(chosen: cluster.Settings, up: bool) -> str:
    """The cluster's Kubernetes version: asked of the API server when it is up (through
    kubelab's own kubectl), else the version kubelab's cluster is made with."""
    pinned = repo.versions()["K8S_VERSION"]
    if not up and chosen.provider == "kind":
        return pinned
    target = chosen.target()
    command = [str(cluster.kubectl_path()), "version", "-o", "json", "--request-timeout=5s"]
    command += [f"--kubeconfig={target.kubeconfig}"] if target.kubeconfig else []
    command += [f"--context={target.context}"] if target.context else []
    return _kubectl_version(command, "serverVersion") or pinned


def network(chosen: cluster.Settings) -> Finding:
    """Does the running cluster enforce NetworkPolicy? Proven as sandboxes need it
    (kubelab.isolation): a pod of another sandbox refused, a neighbour answered."""
    from kubelab import isolation
    from kubelab.errors import KubelabError
    from kubelab.kube import Kube

    try:
        kube = Kube(chosen.target())
        kube.server_version()
        found = isolation.prove(kube)
    except KubelabError as e:
        return Finding("network", False, f"cannot tell: {e.en}", warning=True)
    if found.enforced:
        return Finding("network", True, f"enforced ({found.detail})")
    return Finding(
        "network policy",
        False,
        f"NOT enforced: {found.detail}; sandboxes would reach each other, so kubelab refuses to open "
        f"them (set {isolation.OPEN_NETWORK}=1 to grade anyway)",
        warning=True,
    )


def diagnose() -> list[Finding]:
    chosen = cluster.settings()
    findings = [docker(), kind(chosen), kubectl(), memory()]
    up = False
    if findings[0].ok and findings[1].ok and _kind_here(chosen):
        try:
            up = cluster.kind_cluster_exists(chosen)
        except Exception:  # reported through the kind finding already
            up = False
        findings.append(Finding("cluster", True, "kubelab exists" if up else "not created yet (make lab-01)"))
    findings.append(ports(up))
    if findings[0].ok:
        findings.append(node_image(chosen, up))
    findings.append(shell_kubectl(_cluster_version(chosen, up)))
    if os.environ.get("KUBELAB_PROVIDER") == "existing":
        findings.append(Finding("provider", True, "existing (Docker and kind are not needed)"))
    if up or chosen.provider == "existing":
        findings.append(network(chosen))
    return findings
