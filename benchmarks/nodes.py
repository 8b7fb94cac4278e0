"""One node against the notes' three (`python -m benchmarks.nodes`): for each, a kind cluster
of its own made from kubelab's config (kubelab's `kubelab` cluster is left alone), then:

- cold start: `kind create cluster` until every node is Ready (node image already here);
- idle memory: the node containers' memory after a minute of rest (`docker stats`);
- `kubelab verify` of every lab on it, through `--provider existing` (kubelab given only
  the kubeconfig, as on a course's cluster), the lab images loaded by this script first.

Budgets (issue 21): verify on three nodes ≤ 1.3× one node, measured in one run; a cold
three-node start ≤ 60 s; three nodes idle in ≤ 3 GiB. Prints one line each and writes
.kubelab/bench-nodes.json. Takes about 15 minutes on the 2-core build machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from kubelab import cluster, images, labspec, repo, tools

VERIFY_BUDGET = 1.3
START_BUDGET = 60.0
IDLE_BUDGET_GIB = 3.0
REST = 60.0


def _kind(*args: str, timeout: float = 900) -> str:
    return tools.run_kind(tools.kind_binary(cluster.settings().kind), *args, timeout=timeout)


def _memory_gib(name: str) -> float:
    done = tools.docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", timeout=60)
    total = 0.0
    units = {"KiB": 1 / 1024**2, "MiB": 1 / 1024, "GiB": 1.0}
    for line in done.stdout.splitlines():
        container, _, usage = line.partition(" ")
        if container.startswith(f"{name}-"):
            used = usage.split("/")[0].strip()
            for unit, factor in units.items():
                if used.endswith(unit):
                    total += float(used.removesuffix(unit)) * factor
    return total


def measure(nodes: int, work: Path) -> dict[str, float]:
    name = f"kubelab-bench-n{nodes}"
    kubeconfig = work / f"{name}.kubeconfig"
    config = work / f"{name}.yaml"
    folder = work / f"{name}-data"
    folder.mkdir()
    made = yaml.safe_load(cluster.kind_config(folder, nodes))
    for node in made["nodes"]:  # kubelab's own cluster holds the host's node ports
        node.pop("extraPortMappings", None)
    config.write_text(yaml.safe_dump(made), encoding="utf-8")
    image = cluster.node_image(cluster.settings())
    _kind("delete", "cluster", "--name", name, timeout=300)
    start = time.monotonic()
    _kind(
        "create",
        "cluster",
        f"--name={name}",
        f"--image={image}",
        f"--config={config}",
        f"--kubeconfig={kubeconfig}",
        "--wait=5m",
    )
    started = time.monotonic() - start
    try:
        time.sleep(REST)  # idle, as a laptop between two labs
        idle = _memory_gib(name)
        needed = sorted({i for lab in labspec.all_labs() for i in lab.images})
        for short in needed:
            images.build(short)
            _kind("load", "docker-image", "--name", name, images.full_name(short))
        start = time.monotonic()
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
                f"--context=kind-{name}",
                "verify",
            ],
            capture_output=True,
            text=True,
            timeout=3600,
        )
        verified = time.monotonic() - start
        log = repo.state_dir() / f"bench-nodes-{nodes}.log"
        log.write_text(done.stdout + done.stderr, encoding="utf-8")
        print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-400:], f"({log})")
        if done.returncode != 0:
            raise SystemExit(f"verify on {nodes} node(s) failed (exit {done.returncode})")
    finally:
        _kind("delete", "cluster", "--name", name, timeout=300)
    return {"start_s": round(started, 1), "idle_gib": round(idle, 2), "verify_s": round(verified, 1)}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kubelab-bench-nodes-") as tmp:
        found = {str(n): measure(n, Path(tmp)) for n in cluster.NODE_COUNTS}
    one, three = found["1"], found["3"]
    ratio = three["verify_s"] / one["verify_s"]
    lines = [
        f"verify every lab: 1 node {one['verify_s']:.0f} s, 3 nodes {three['verify_s']:.0f} s, "
        f"ratio {ratio:.2f} (budget ≤ {VERIFY_BUDGET})",
        f"cold start: 1 node {one['start_s']:.0f} s, 3 nodes {three['start_s']:.0f} s "
        f"(budget ≤ {START_BUDGET:g} s)",
        f"idle memory: 1 node {one['idle_gib']:.2f} GiB, 3 nodes {three['idle_gib']:.2f} GiB "
        f"(budget ≤ {IDLE_BUDGET_GIB:g} GiB)",
    ]
    print("\n".join(lines))
    out = repo.state_dir() / "bench-nodes.json"
    out.write_text(json.dumps({"runs": found, "verify_ratio": round(ratio, 2)}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
