"""A check written as data against the same check written in Python, side by side (`make
bench`; issue 23's budget: a declarative look-only check of lab 01 converges no slower).

Lab 01's solution is applied in a namespace of the benchmark's own; then each of three of
lab 01's look-only checks (now data in lab.yaml) and its Python twin (the code it replaced,
kept below as the baseline) are judged by the engine in turn, PAIRS times after one pair
that warms up, each first in half of them, in this process, so both see the same cluster
and machine. Prints each check's medians and the median of its pairs' ratios.
Needs kubelab's cluster (`make lab-01` first).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from kubelab import cluster, engine, labspec, ownership
from kubelab.checks import LabContext, assert_that, deleting, field, is_ready, owner_uid
from kubelab.kube import Kube
from kubelab.selectors import describe_labels, matches, to_query

NAMESPACE = "lab-01-bench-declared"
PAIRS = 41
RATIO = 1.10
"""The declarative check's median may be this many times its twin's (noise)."""
RS = "simple-replicaset"


def wants_three_replicas(lab: LabContext) -> None:
    rs = lab.require("ReplicaSet", RS)
    replicas = field(rs, "spec.replicas")
    subject = lab.subject("ReplicaSet", RS)
    assert_that(replicas == 3, subject, "spec.replicas: 3", f"spec.replicas: {replicas}")


def selector_picks_my_little_pod(lab: LabContext) -> None:
    rs = lab.require("ReplicaSet", RS)
    selector = field(rs, "spec.selector")
    labels = field(rs, "spec.template.metadata.labels") or {}
    subject = lab.subject("ReplicaSet", RS)
    assert_that(
        matches(selector, {"app": "my-little-pod"}) and labels.get("app") == "my-little-pod",
        subject,
        "selector and template labels: app=my-little-pod",
        f"selector {to_query(selector) or '(empty)'}; template labels {describe_labels(labels)}",
    )
    assert_that(not matches(selector, {"app": "something-else"}), subject, "only app=my-little-pod", "more")


def three_pods_ready(lab: LabContext) -> None:
    rs = lab.require("ReplicaSet", RS)
    images = [c.get("image") for c in field(rs, "spec.template.spec.containers") or []]
    assert_that("kubelab/web:v1" in images, lab.subject("ReplicaSet", RS), "kubelab/web:v1", str(images))

    def ready() -> None:
        uid = field(rs, "metadata.uid")
        pods = [p for p in lab.list("Pod") if owner_uid(p) == uid and not deleting(p)]
        ready = [p for p in pods if is_ready(p)]
        subject = lab.subject("ReplicaSet", RS)
        assert_that(len(ready) == 3 and len(pods) == 3, subject, "3 Ready", str(len(ready)))

    lab.eventually(ready)


TWINS: dict[str, Callable[[LabContext], None]] = {
    "replicaset_wants_three_replicas": wants_three_replicas,
    "selector_picks_my_little_pod": selector_picks_my_little_pod,
    "three_pods_ready": three_pods_ready,
}


def main() -> int:
    kube = Kube(cluster.resolve_target())
    solved = subprocess.run(
        [sys.executable, "-m", "kubelab", "--lang", "en", "solve", "01", "--namespace", NAMESPACE],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if solved.returncode != 0:
        print(f"lab 01 not solved in {NAMESPACE}: {solved.stderr.strip()[-300:]}")
        return 3
    lab = labspec.find_lab("01").with_values(NAMESPACE)
    data = engine.checkers(lab)
    over = False
    try:
        for check_id, twin in TWINS.items():
            spec = lab.check(check_id)
            assert spec.expect, f"{check_id} is no longer data in lab.yaml"
            ours: list[float] = []
            theirs: list[float] = []
            pair = [(ours, data[check_id]), (theirs, twin)]
            for n in range(PAIRS + 1):  # the first pair warms both up and is not counted
                for runs, code in pair if n % 2 else pair[::-1]:  # each goes first half the time
                    started = time.perf_counter()
                    judged = engine.judge(kube, lab, spec, code, "en", [])
                    if n:
                        runs.append(time.perf_counter() - started)
                    assert judged.result.passed, judged.result.message
            # each pair ran back to back: the median of their ratios, not of medians, so that
            # the API server's pace drifting over the run weighs on both sides alike
            ratio = statistics.median(o / t for o, t in zip(ours, theirs, strict=True))
            verdict = "ok  " if ratio <= RATIO else "OVER"
            print(
                f"{verdict} {check_id:<34} data {statistics.median(ours) * 1000:6.1f} ms  "
                f"python {statistics.median(theirs) * 1000:6.1f} ms  ratio {ratio:.2f} (budget {RATIO})"
            )
            over = over or ratio > RATIO
    finally:
        ownership.remove_all(kube, [o for o in ownership.recorded(kube, "01") if o.name == NAMESPACE])
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
