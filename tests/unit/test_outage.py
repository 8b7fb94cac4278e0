"""A cluster that stops answering in the middle of a run: what is left to do after the
first request it did not answer is given up, not tried (each try would take its full
bound), and said; a cluster that is only slow to one request still gets the rest."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, cast

import yaml

from kubelab import evidence, ownership, runner
from kubelab.cleanup import DOWN, Cleanup
from kubelab.errors import ClusterUnavailable
from kubelab.kube import Kube
from kubelab.labspec import find_lab
from tests.unit.fakes import FakeKube

LOST = ClusterUnavailable("cannot reach the cluster (context c): read timed out")


class OutageKube(FakeKube):
    """Every request fails as a silent cluster's does, and counts; `ready` is what the
    API server's /readyz says (False: the cluster is down, True: only that request)."""

    def __init__(self, ready: bool) -> None:
        super().__init__()
        self.ready = ready
        self.requests: list[str] = []
        self.probes = 0

    def healthy(self) -> bool:
        self.probes += 1
        return self.ready

    def _fail(self, what: str) -> Any:
        self.requests.append(what)
        raise LOST

    def list(self, kind: str, namespace: str | None = None, selector: str = "") -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._fail(f"list {kind}"))

    def delete(self, kind: str, name: str, *args: Any, **kwargs: Any) -> bool:
        return cast(bool, self._fail(f"delete {kind} {name}"))

    def logs(self, *args: Any, **kwargs: Any) -> str:
        return cast(str, self._fail("logs"))

    def server_version(self) -> str:
        return cast(str, self._fail("version"))


def owned(kind: str, name: str) -> ownership.Owned:
    return ownership.Owned(kind, "v1", name, f"uid-{name}", "01", "test")


def cleanup_with_two_undos(kube: OutageKube, undone: list[str]) -> Cleanup:
    def put_back() -> None:
        kube.delete("Pod", "p")

    cleanup = Cleanup(cast(Kube, kube))
    cleanup.add("write a file", lambda: undone.append("file"))  # runs last (undos go last-first)
    cleanup.add("put back pod p", put_back)
    cleanup.remove(owned("Namespace", "lab-01-x"))
    return cleanup


def test_an_undo_that_finds_the_cluster_down_gives_up_the_rest() -> None:
    kube, undone = OutageKube(ready=False), list[str]()
    left = cleanup_with_two_undos(kube, undone).run()
    assert kube.requests == ["delete Pod p"] and undone == []
    assert left[0].startswith("put back pod p: cannot reach the cluster")
    assert sorted(left[1:]) == sorted([f"write a file: {DOWN}", f"Namespace lab-01-x: {DOWN}"])


def test_an_undo_the_cluster_did_not_answer_while_ready_is_one_leftover() -> None:
    kube, undone = OutageKube(ready=True), list[str]()
    left = cleanup_with_two_undos(kube, undone).run()
    assert kube.requests == ["delete Pod p", "delete Namespace lab-01-x"] and undone == ["file"]
    assert len(left) == 2 and not any(DOWN in line for line in left)


def test_asked_first_a_cluster_that_is_down_is_not_tried_at_all() -> None:
    kube, undone = OutageKube(ready=False), list[str]()
    left = cleanup_with_two_undos(kube, undone).run(ask_first=True)
    assert kube.requests == [] and undone == [] and kube.probes == 1
    assert all(line.endswith(DOWN) for line in left) and len(left) == 3


def test_removing_objects_stops_at_the_first_the_cluster_did_not_answer() -> None:
    kube = OutageKube(ready=False)
    left = ownership.remove_all(
        cast(Kube, kube), [owned("Namespace", "a"), owned("Namespace", "b"), owned("PersistentVolume", "c")]
    )
    assert kube.requests == ["delete Namespace a"]
    assert [line.split(":")[0] for line in left] == ["Namespace a", "Namespace b", "PersistentVolume c"]


def test_evidence_stops_asking_once_the_cluster_does_not_answer(tmp_path: Path) -> None:
    kube = OutageKube(ready=False)
    lab = find_lab("01").with_values("lab-01-x", {})
    evidence.cluster(tmp_path, cast(Kube, kube), lab)
    assert len(kube.requests) == 1  # one list, then nothing more
    kept = list(yaml.safe_load_all((tmp_path / "objects.yaml").read_text()))
    unreadable = kept[-1]["unreadable"]
    assert "cannot reach the cluster" in unreadable[0]
    assert len(unreadable) > 3 and all("not read (cannot reach the cluster" in u for u in unreadable[1:])
    assert (tmp_path / "events.yaml").is_file() and (tmp_path / "versions.json").is_file()


def test_a_run_whose_cluster_went_down_starts_no_other_task() -> None:
    """One at a time: the task after the one that found the cluster down never starts,
    however soon its thread is free."""
    began: list[int] = []
    lock = threading.Lock()

    def work(task: int) -> int:
        with lock:
            began.append(task)
        if task == 1:
            raise LOST
        return task

    ran = runner.run_all([0, 1, 2, 3], work, 1, lambda t: None, lambda t, r: None, lambda r: [])
    assert began == [0, 1] and ran.outcomes == [0] and ran.problem is LOST
