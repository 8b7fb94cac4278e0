"""The CLI as a new user meets it: one line and a documented exit code, never a traceback."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubelab import repo
from kubelab.errors import ExitCode
from tests.unit.samples import REPLICASET

RS = REPLICASET


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user with no kubeconfig and kubelab's state in a temporary folder."""
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "KUBELAB_"))}
    return {**clean, "HOME": str(home), "KUBELAB_STATE": str(tmp_path / "state")}


def kubelab(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubelab", *args], capture_output=True, text=True, env=env, timeout=60
    )


def one_line(done: subprocess.CompletedProcess[str], code: ExitCode, *words: str) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def manifest(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_lab(env: dict[str, str]) -> None:
    line = one_line(kubelab(env, "check", "42"), ExitCode.BAD_INPUT, "there is no lab 42")
    assert line.startswith("input: 그런 실습이 없습니다: 42")  # Korean first


def test_english_first_when_asked(env: dict[str, str]) -> None:
    line = one_line(kubelab(env, "--lang", "en", "start", "42"), ExitCode.BAD_INPUT)
    assert line.startswith("input: there is no lab 42 (labs: 01, ")


def test_broken_yaml(env: dict[str, str], tmp_path: Path) -> None:
    path = manifest(tmp_path, RS.replace("replicas: 3", "replicas: [3"))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    one_line(kubelab(env, "check", "01", "-f", str(path)), ExitCode.BAD_INPUT, "not valid YAML", "line")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # never changed


def test_wrong_kind(env: dict[str, str], tmp_path: Path) -> None:
    path = manifest(tmp_path, RS.replace("kind: ReplicaSet", "kind: Deployment"))
    one_line(kubelab(env, "check", "01", "-f", str(path)), ExitCode.BAD_INPUT, "kind Deployment")


def test_missing_field(env: dict[str, str], tmp_path: Path) -> None:
    path = manifest(tmp_path, RS.replace("  selector: {matchLabels: {app: my-little-pod}}\n", ""))
    one_line(kubelab(env, "check", "01", "-f", str(path)), ExitCode.BAD_INPUT, "'selector' is a required")


def test_no_cluster(env: dict[str, str], tmp_path: Path) -> None:
    one_line(kubelab(env, "check", "01"), ExitCode.ENVIRONMENT, "kubeconfig")


def test_cluster_not_answering(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\n"
    )
    done = kubelab(env, "--provider", "existing", "--kubeconfig", str(config), "check", "01")
    one_line(done, ExitCode.ENVIRONMENT, "cannot reach the cluster")


def test_docker_not_running(env: dict[str, str], tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "docker"  # a docker CLI whose daemon is down, as on a stopped Docker
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
        "Is the docker daemon running?' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    line = one_line(kubelab({**env, "PATH": str(fake.parent)}, "start", "01"), ExitCode.ENVIRONMENT)
    assert "Docker is not running (Cannot connect to the Docker daemon" in line


def test_no_docker_installed(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "PATH": str(tmp_path)}
    one_line(kubelab(env, "start", "01"), ExitCode.ENVIRONMENT, "docker is not installed")


def test_doctor_reports_missing_kind(env: dict[str, str], tmp_path: Path) -> None:
    done = kubelab({**env, "PATH": str(tmp_path)}, "doctor")
    assert done.returncode == ExitCode.ENVIRONMENT
    pinned = repo.versions()["KIND_VERSION"]
    assert f"kind        not installed: kubelab gets kind {pinned} when first needed" in done.stdout
    assert "docker is not installed" in done.stdout
    assert "! shell       no kubectl on this shell's PATH: source" in done.stdout


def test_doctor_warns_of_a_kubectl_too_far_from_the_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubelab import doctor

    old = tmp_path / "kubectl"
    old.write_text('#!/bin/sh\necho \'{"clientVersion": {"gitVersion": "v1.30.2"}}\'\n')
    old.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    far = doctor.shell_kubectl("v1.37.2")
    assert far.ok and far.warning and "v1.30.2" in far.detail and "activate" in far.detail
    near = doctor.shell_kubectl("v1.31.0")  # one minor apart: kubectl's supported skew
    assert near.warning and "no kubelab on this shell's PATH" in near.detail
    (tmp_path / "kubelab").write_text("#!/bin/sh\n")
    (tmp_path / "kubelab").chmod(0o755)
    assert not doctor.shell_kubectl("v1.31.0").warning


def test_unknown_provider(env: dict[str, str]) -> None:
    one_line(kubelab(env, "--provider", "minikube", "check", "01"), ExitCode.BAD_INPUT, "provider")


def test_lint_of_the_labs_and_of_a_learners_file(env: dict[str, str], tmp_path: Path) -> None:
    assert kubelab(env, "lint").returncode == ExitCode.OK
    bad = manifest(tmp_path, RS.replace("kubelab/web:v1", "nginx:latest"))
    done = kubelab(env, "lint", str(bad), "--lab", "01")
    assert done.returncode == ExitCode.CHECKS_FAILED
    assert "uses :latest" in done.stdout


def test_list_shows_both_languages(env: dict[str, str]) -> None:
    done = kubelab(env, "list")
    assert done.returncode == 0
    assert "레플리카셋과 자가 치유 / ReplicaSet self-healing" in done.stdout


@pytest.mark.parametrize("folder", ["my labs/node-data", "labs #1/node-data", "it's: here/node-data"])
def test_the_kind_config_keeps_any_checkout_path_whole(folder: str) -> None:
    import yaml

    from kubelab.cluster import kind_config

    config = yaml.safe_load(kind_config(Path("/home/learner") / folder))
    [node] = config["nodes"]
    assert node["extraMounts"] == [{"hostPath": f"/home/learner/{folder}", "containerPath": "/data"}]
    assert node["labels"] == {"topology.kubernetes.io/zone": "ap-northeast-2a"}
    assert [m["hostPort"] for m in node["extraPortMappings"]] == list(range(30080, 30100))


def test_three_nodes_are_the_notes_cluster() -> None:
    """KUBELAB_NODES=3: a control plane (the host folder, the node ports) and two workers,
    one in each of the notes' zones."""
    import yaml

    from kubelab.cluster import kind_config

    config = yaml.safe_load(kind_config(Path("/home/learner/node-data"), nodes=3))
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]
    zones = [n.get("labels", {}).get("topology.kubernetes.io/zone") for n in config["nodes"]]
    assert zones == [None, "ap-northeast-2a", "ap-northeast-2b"]
    mounts = [n.get("extraMounts") for n in config["nodes"]]
    assert mounts == [None, [{"hostPath": "/home/learner/node-data", "containerPath": "/data"}], None]
    assert "podPidsLimit: 1024" in config["kubeadmConfigPatches"][0]


@pytest.mark.parametrize("nodes", ["2", "three", "0"])
def test_a_node_count_other_than_one_or_three_is_refused(nodes: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubelab.cluster import settings
    from kubelab.errors import InputError

    monkeypatch.setenv("KUBELAB_NODES", nodes)
    with pytest.raises(InputError, match="KUBELAB_NODES"):
        settings()


@pytest.mark.parametrize(
    ("present", "chosen"),
    [
        ({"kindest", "kubelab"}, "kindest"),
        ({"kubelab"}, "kubelab"),  # offline, after make offline-cluster: no setting needed
        (set(), "kindest"),  # neither: kind's pinned image, pulled
    ],
)
def test_the_node_image_is_what_docker_has(
    lab_root: Path, monkeypatch: pytest.MonkeyPatch, present: set[str], chosen: str
) -> None:
    from kubelab import cluster, repo, tools

    pins = repo.versions()
    names = {"kindest": pins["KIND_NODE_IMAGE"], "kubelab": pins["OFFLINE_NODE_IMAGE"]}
    here = {names[p] for p in present}
    monkeypatch.setattr(tools, "image_present", lambda image: image in here)
    monkeypatch.delenv("KUBELAB_NODE_IMAGE", raising=False)
    assert cluster.node_image(cluster.settings()) == names[chosen]
    monkeypatch.setenv("KUBELAB_NODE_IMAGE", "my/node:v1")
    assert cluster.node_image(cluster.settings()) == "my/node:v1"


def test_a_node_image_that_cannot_be_pulled_says_what_to_run(
    lab_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess as sp

    from kubelab import cluster, tools
    from kubelab.errors import EnvironmentProblem

    monkeypatch.setattr(tools, "image_present", lambda image: False)
    refused = sp.CompletedProcess(
        ["docker"], 1, "", "Error response from daemon: dial tcp: lookup registry-1.docker.io"
    )
    monkeypatch.setattr(tools, "docker", lambda *args, **kwargs: refused)
    with pytest.raises(EnvironmentProblem) as caught:
        cluster.ensure_node_image("kindest/node:v1.36.1@sha256:abc")
    assert "run `make offline-cluster` once" in caught.value.en
    assert "lookup registry-1.docker.io" in caught.value.en
    assert "\n" not in caught.value.line("ko")


def test_ctrl_c_while_kubelab_is_still_starting_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import builtins

    import kubelab

    real_import = builtins.__import__

    def interrupted_import(name: str, *args: object, **kwargs: object) -> object:
        if name == "kubelab.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    with pytest.raises(SystemExit) as stopped:
        kubelab.main()
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "interrupted: 중단했습니다 / stopped\n"


def test_a_folder_with_no_manifest_is_said_so(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / "notes.txt").write_text("my notes")
    one_line(kubelab(env, "check", "01", "-f", str(tmp_path / "answers")), ExitCode.BAD_INPUT, "no .yaml")


def test_reset_with_a_class_seat_removes_nothing_and_says_how(env: dict[str, str], tmp_path: Path) -> None:
    """The seat's namespace is the class's: kubelab made nothing there for the student to
    remove, and tries no cluster (the seat's server here is nowhere)."""
    from tests.unit.test_seat import kubeconfig

    config = kubeconfig(tmp_path / "alice.kubeconfig", [("alice", "01")])
    done = kubelab({**env, "KUBELAB_KUBECONFIG": str(config)}, "--lang", "en", "reset", "01")
    assert done.returncode == 0, done.stdout + done.stderr
    said = " ".join(done.stdout.split())
    assert "lab-01-ualice is your class's namespace: kubelab removes nothing there" in said, said


def test_global_options_may_follow_the_command() -> None:
    """As kubectl's flags: `kubelab start 01 --kubeconfig F` (the issue's own words)."""
    from kubelab.cli import global_options_first

    assert global_options_first(["start", "01", "--kubeconfig", "F"]) == ["--kubeconfig", "F", "start", "01"]
    assert global_options_first(["--lang", "en", "check", "01", "--context=c", "-f", "a.yaml"]) == [
        "--lang", "en", "--context=c", "check", "01", "-f", "a.yaml",
    ]  # fmt: skip
    assert global_options_first(["check", "01", "--", "--lang"]) == ["check", "01", "--", "--lang"]
    assert global_options_first(["start", "01", "--kubeconfig"]) == ["start", "01", "--kubeconfig"]


def test_a_seat_kubeconfig_after_the_command(env: dict[str, str], tmp_path: Path) -> None:
    from tests.unit.test_seat import kubeconfig

    config = kubeconfig(tmp_path / "alice.kubeconfig", [("alice", "01")])
    done = kubelab(env, "reset", "01", "--kubeconfig", str(config), "--lang", "en")
    assert done.returncode == 0 and "lab-01-ualice is your class's namespace" in " ".join(done.stdout.split())
