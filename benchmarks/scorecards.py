"""How long a wrong answer waits for its scorecard (part of `make bench`).

For each lab's starter and known-wrong answers (all labs, or those named:
`python -m benchmarks.scorecards 01 04`): open a sandbox, apply the answer and its kubectl
steps as `kubelab verify` does, wait until its pods have settled (each Ready, stuck, or
finished — kubelab.settled.pods_settled — and the same for 2 s), then time
`kubelab check NN --namespace <sandbox> --set …` as the learner's command, a process of
its own. Each line: seconds, score, and each failed check (with its own seconds). The
budget is 20 s per scorecard (issue 10); the verdicts must be what lab.yaml declares.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from kubelab import cluster, labspec, params, repo, sandbox, settled, verify
from kubelab.cleanup import Cleanup
from kubelab.errors import CheckFailed, Finding
from kubelab.kube import Kube
from kubelab.labspec import Lab
from kubelab.manifests import Obj
from kubelab.results import Scorecard
from kubelab.waiting import wait_until

BUDGET = 20.0
"""Seconds a wrong answer's scorecard may take once its pods have settled."""
SETTLE_SECONDS = 180.0
"""How long the benchmark waits for an answer's pods to settle before timing anyway."""


@dataclass(frozen=True)
class Timed:
    lab: str
    variant: str
    seconds: float
    settle_seconds: float
    exit_code: int
    failed: dict[str, float]
    """Each check that failed (itself, not for a need) and its seconds."""
    expected: str
    """The check lab.yaml says fails ("*": any)."""

    @property
    def as_declared(self) -> bool:
        return self.exit_code == 1 and (self.expected == "*" or self.expected in self.failed)

    @property
    def within(self) -> bool:
        return self.seconds <= BUDGET


def wait_settled(kube: Kube, namespace: str) -> float:
    """Seconds until the namespace's pods have settled: each Ready, stuck or finished, and
    so for 2 s; or, for a pod stuck in a way only events tell (a volume that will not
    mount), no pod's state has changed for 15 s."""
    started = time.monotonic()
    brief, long = settled.Unchanged(seconds=2.0, rounds=3), settled.Unchanged(seconds=15.0, rounds=3)

    def done() -> None:
        pods = kube.list("Pod", namespace)
        states = tuple(sorted((p["metadata"]["name"], pod_state(p)) for p in pods))
        short_enough = brief.see(states) and settled.pods_settled(pods)
        if not (long.see(states) or short_enough):
            raise CheckFailed(Finding(f"pods of {namespace}", "settled", str(states)))

    try:
        wait_until(done, SETTLE_SECONDS)
    except CheckFailed as e:
        print(f"  (not settled after {SETTLE_SECONDS:.0f} s: {e.finding.found}; timing anyway)")
    return round(time.monotonic() - started, 1)


def pod_state(pod: Obj) -> str:
    """What `kubectl get pods` shows of a pod: phase, readiness, each container's state."""
    status = pod.get("status") or {}
    containers = [
        f"{c.get('name')}:{next(iter(c.get('state') or {}), '?')}:{c.get('restartCount', 0)}"
        for c in status.get("containerStatuses") or []
    ]
    return f"{status.get('phase')} {settled.pods_settled([pod])} {' '.join(containers)}"


def time_scorecard(kube: Kube, lab: Lab, variant: verify.Variant) -> Timed:
    cleanup = Cleanup(kube)
    try:
        box = sandbox.open_sandbox(kube, lab, cleanup, purpose="bench")
        rejected = verify.apply_variant(kube, box, variant, cleanup)
        settle = wait_settled(kube, box.namespace)
        sets = [a for s in params.settings_of(box.lab.params, box.lab.values) for a in ("--set", s)]
        out = repo.state_dir() / "results" / f"bench-{box.namespace}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "kubelab", "--lang", "en", "check", lab.id, "--json", str(out)]
        started = time.monotonic()
        done = subprocess.run(
            [*command, "--namespace", box.namespace, *sets],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        seconds = round(time.monotonic() - started, 2)
    finally:
        cleanup.run()
    if not out.is_file():  # the command ended before its scorecard (an error): no verdicts
        print(f"  no scorecard: {(done.stderr or done.stdout).strip()[-300:]}")
        return Timed(lab.id, variant.name, seconds, settle, done.returncode, {}, variant.must_fail or "")
    card = Scorecard.read(out)
    out.unlink()
    failed = {r.id: r.seconds for r in card.results if not r.passed and not r.blocked_by}
    if rejected:
        print(f"  refused: {'; '.join(r.line() for r in rejected)}")
    return Timed(lab.id, variant.name, seconds, settle, done.returncode, failed, variant.must_fail or "")


def main(lab_ids: list[str]) -> list[Timed]:
    labs = [labspec.find_lab(i) for i in lab_ids] if lab_ids else labspec.all_labs()
    kube = cluster.connect(cluster.settings(None, None, None))
    results = []
    for lab in labs:
        for variant in verify.variants(lab):
            if variant.must_fail is None:
                continue  # the solution: its time is the converged check's (budgets.py)
            timed = time_scorecard(kube, lab, variant)
            results.append(timed)
            mark = "ok  " if timed.within and timed.as_declared else "OVER" if timed.as_declared else "BAD "
            slow = ", ".join(f"{c} {s:g} s" for c, s in sorted(timed.failed.items(), key=lambda x: -x[1]))
            print(
                f"{mark} {lab.id} {variant.name:<32} {timed.seconds:6.2f} s"
                f"  (settled in {timed.settle_seconds:g} s)  failed: {slow or 'none'}",
                flush=True,
            )
    over = [t for t in results if not t.within]
    bad = [t for t in results if not t.as_declared]
    worst = max((t.seconds for t in results), default=0.0)
    print(
        f"scorecards of wrong answers: {len(results)}, slowest {worst:.1f} s, "
        f"{len(over)} over {BUDGET:.0f} s, {len(bad)} not failing as declared"
    )
    out = repo.state_dir() / "bench-scorecards.json"
    out.write_text(json.dumps([asdict(t) for t in results], indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
