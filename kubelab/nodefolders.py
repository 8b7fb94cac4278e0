"""How much an answer writes into its node folders (hostPath), watched while it is graded.

A hostPath write lands on the node's disk (on kubelab's kind cluster, the teacher's) and
no Kubernetes limit counts it: ephemeral-storage covers a container's own layer, logs
and emptyDirs only. So while a sandbox is open its node folder
(/data/sandboxes/<namespace>/, kubelab.sandbox.node_folder) is measured every
INTERVAL seconds, a bounded walk that follows no link and counts the blocks really used
(a sparse file costs what it holds). Past CAP bytes — or a folder kubelab cannot read,
which could hide any amount — the answer is stopped: its quota allows no pod any more
and its pods are deleted at once. The grade then says why (kubelab.grade).

Measured here where a node's /data is a folder of this machine (on kubelab's kind cluster,
the node in zone ap-northeast-2a), and on every other node by a pod there (`du`, every
second; read from its log: the run's crew, kubelab.nodefiles.crew, or a gauge pod of the
answer's own), so an answer is watched on any cluster, on every node.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kubelab.apply import HOST_ROOT, SANDBOX_LABEL
from kubelab.errors import KubelabError
from kubelab.kube import Kube, api_exception

CAP = 256 * 1024 * 1024
"""Bytes one answer may write into its node folders."""
INTERVAL = 0.5
"""Seconds between two measurements."""
QUOTA_NAME = "kubelab-answer"
"""The sandbox's ResourceQuota (kubelab.sandbox.ANSWER)."""
MAX_ENTRIES = 20_000
"""Files and folders one measurement looks at before it calls the folder too full."""


@dataclass(frozen=True)
class Usage:
    """What a measurement found: bytes used, or why it could not say (then over)."""

    used: int
    problem: str = ""

    def over(self, cap: int) -> bool:
        return bool(self.problem) or self.used > cap


def usage(folder: Path, cap: int = CAP) -> Usage:
    """The disk space the files under `folder` use, measured until it passes `cap` or
    MAX_ENTRIES entries; nothing is followed (a link counts as itself)."""
    used = 0
    seen = 0
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except FileNotFoundError:
            continue
        except OSError as e:
            return Usage(used, f"{current.name}: cannot be read ({e.strerror})")
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                return Usage(used, f"more than {MAX_ENTRIES} files and folders")
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as e:  # a folder open to listing, closed to looking in
                return Usage(used, f"{entry.name}: cannot be read ({e.strerror})")
            used += info.st_blocks * 512
            if used > cap:
                return Usage(used)
            if stat.S_ISDIR(info.st_mode):
                stack.append(Path(entry.path))
    return Usage(used)


class Watch:
    """A watch of one sandbox's node folders (see the module): `folder` where a node's
    disk is this machine's (measured here), `nodes` the other nodes, measured by a gauge
    pod on each (kubelab.nodefiles.gauges). With neither, nothing is watched."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        folder: Path | None = None,
        cap: int = CAP,
        nodes: tuple[str, ...] = (),
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.folder = folder
        self.nodes = nodes
        self.cap = cap
        self.found: Usage | None = None
        """Set once the answer went past the cap (and was stopped)."""
        self.stopped = threading.Event()
        """Set once the answer was stopped: its checks have nothing left to judge."""
        self._done = threading.Event()

    @contextlib.contextmanager
    def running(self) -> Iterator[Watch]:
        """Measure every INTERVAL seconds while the block runs."""
        if self.folder is None and not self.nodes:
            yield self
            return
        with contextlib.ExitStack() as stack:
            remote: Callable[[], dict[str, int]] = dict
            if self.nodes:
                from kubelab import nodefiles
                from kubelab.params import SANDBOX_HOST_ROOT

                crew = nodefiles.crew_of(self.kube)
                if crew is not None and set(self.nodes) <= set(crew.nodes):
                    remote = functools.partial(crew.measured, self.namespace, self.nodes)
                else:
                    remote = stack.enter_context(
                        nodefiles.gauges(self.kube, list(self.nodes), SANDBOX_HOST_ROOT, self.namespace)
                    )
            thread = threading.Thread(
                target=self._run, args=(self.folder, remote), name=f"watch {self.namespace}", daemon=True
            )
            self._done.clear()
            thread.start()
            try:
                yield self
            finally:
                self._done.set()
                thread.join(timeout=INTERVAL * 4 + 30)

    def _run(self, folder: Path | None, remote: Callable[[], dict[str, int]]) -> None:
        while not self._done.wait(INTERVAL):
            try:
                here = usage(folder, self.cap) if folder is not None else Usage(0)
                measured = Usage(here.used + sum(remote().values()), here.problem)
            except Exception as e:  # never a watch that silently stops watching
                measured = Usage(0, f"could not be measured ({' '.join(str(e).split())[:120]})")
            if measured.over(self.cap):
                self.found = measured
                self._stop_answer()
                self.stopped.set()
                return

    def _stop_answer(self) -> None:
        """No new pod, and none left running: nothing of the answer writes any more — in
        its namespace, nor in a check's scratch namespace that runs a copy of it there
        (same node folder)."""
        with contextlib.suppress(KubelabError, api_exception()):
            self.kube.patch("ResourceQuota", QUOTA_NAME, self.namespace, {"spec": {"hard": {"pods": "0"}}})
        for namespace in [self.namespace, *self._copies()]:
            with contextlib.suppress(KubelabError, api_exception()):
                self.kube.delete_all("Pod", namespace, grace_seconds=0)

    def _copies(self) -> list[str]:
        """Scratch namespaces whose pods write to this sandbox's node folder."""
        try:
            own = self.kube.get("Namespace", self.namespace) or {}
            root = ((own.get("metadata") or {}).get("annotations") or {}).get(HOST_ROOT)
            scratch = self.kube.list("Namespace", selector=f"{SANDBOX_LABEL}=scratch")
        except (KubelabError, api_exception()):
            return []
        return [
            str(ns["metadata"]["name"])
            for ns in scratch
            if root and ((ns["metadata"].get("annotations") or {}).get(HOST_ROOT)) == root
        ]

    def reason(self) -> tuple[str, str] | None:
        """Why the answer was stopped (English, Korean), or None."""
        if self.found is None:
            return None
        mib = self.cap // 1024 // 1024
        why = self.found.problem or f"more than {mib} MiB"
        return (
            f"wrote into its node folders (hostPath) more than an answer may ({why}): its pods were stopped",
            f"노드 폴더(hostPath)에 답안이 쓸 수 있는 양을 넘게 썼습니다 ({why}): 파드를 멈췄습니다",
        )
