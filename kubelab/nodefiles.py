"""A node's files, read through the API server, on any cluster.

A hostPath volume writes to the disk of the node its pod runs on. To see what is there,
kubelab never looks at this machine's folders (a node of a course's cluster is not one)
and never runs `docker exec`: it starts a short-lived reader pod pinned to that node
(`spec.nodeName`), in a namespace of its own made with its own credentials, mounting a
folder above it read-only, and asks it, with bounds on everything:

- at most MAX_ENTRIES entries, DEPTH levels down; `find` follows no link and opens
  nothing (a link, FIFO or device is listed as what it is, never read);
- a file's content only when it is a regular file, at most MAX_READ bytes;
- every exec within its timeout and kubelab's output cap (kubelab.kube.exec_in_pod);
- the pod starts within START_WAIT seconds, and is removed with its namespace.

`remove` deletes one named file the same way, through a read-write mount; it never
removes a folder. The folder's parent is what is mounted, so a folder an answer turned
into a link leads into the reader's own container, never elsewhere on the node.

A run that opens many sandboxes (a verify, a grading) keeps a crew (`crew`): one pod
per node for the whole run, in a namespace of kubelab's, that measures every sandbox's
folder there each second (one `du` for all, read from its log) and removes a sandbox's
folder by an exec. Without a crew, each removal and each answer's gauges start pods of
their own (`remove_everywhere`, `gauges`).
"""

from __future__ import annotations

import contextlib
import posixpath
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kubelab import ownership
from kubelab.checks import assert_that
from kubelab.cleanup import Cleanup
from kubelab.errors import CheckFailed, EnvironmentProblem, KubelabError
from kubelab.kube import Kube, Target, api_exception, exec_in_pod
from kubelab.manifests import Obj
from kubelab.waiting import wait_until

IMAGE = "kubelab/web:v1"
"""The image kubelab's own pods on the nodes run (a shell, GNU find, du, curl, nginx),
built from the repo's Dockerfile: every lab but 06 and 07 uses it, and kubelab loads it
where it loads lab images. Asked for as the labs ask (IfNotPresent); a node's image list
in its status is not relied on (the kubelet reports it late, and only the 50 largest)."""
MAX_ENTRIES = 2000
DEPTH = 4
MAX_READ = 64 * 1024
START_WAIT = 60.0
EXEC_TIMEOUT = 20.0
MOUNT = "/node"
READER_REQUESTS = {"cpu": "10m", "memory": "16Mi"}
"""What a reader or crew pod asks of its node (one per node for each run that has a crew)."""


@dataclass(frozen=True)
class NodeEntry:
    """One entry under the folder: its path relative to it, what it is (`f` file, `d`
    folder, `l` link, `p` FIFO, ...: find's %y), size in bytes, modification time (s)."""

    path: str
    kind: str
    size: int
    mtime: int


@dataclass(frozen=True)
class Listing:
    node: str
    folder: str
    now: int
    """The node's clock when it looked (to tell how old a file is)."""
    entries: tuple[NodeEntry, ...]
    missing: bool = False
    """The folder is not on that node."""
    truncated: bool = False
    """There were more than MAX_ENTRIES entries; only the first are here."""

    def files(self) -> dict[str, NodeEntry]:
        return {e.path: e for e in self.entries if e.kind == "f"}

    @property
    def where(self) -> str:
        return f"{self.folder} on node {self.node}"


def own_namespace(kube: Kube, cleanup: Cleanup, purpose: str, labels: dict[str, str] | None = None) -> str:
    """A throwaway namespace of kubelab's own (`kubelab-<purpose>-<random>`), removed by
    `cleanup`, whose pods get no ServiceAccount token."""
    like: Obj | None = {"metadata": {"labels": labels}} if labels else None
    owned = ownership.scratch_namespace(kube, "kubelab", "nodes", purpose, like)
    cleanup.remove(owned, emptied_enough=True)
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
    kube.apply({**account, "automountServiceAccountToken": False}, owned.name)
    return owned.name


class Reader:
    """A reader pod on one node, for one folder (see the module's docstring)."""

    def __init__(self, kube: Kube, namespace: str, node: str, root: str, folder: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.node = node
        self.folder = folder
        self._inside = posixpath.join(MOUNT, posixpath.relpath(folder, root))

    def _sh(self, script: str) -> tuple[int, str, str]:
        done = exec_in_pod(self.kube, "reader", self.namespace, ["sh", "-c", script], "reader", EXEC_TIMEOUT)
        return done.code, done.stdout, done.stderr

    def listing(self) -> Listing:
        script = (
            f"date +%s; cd {shlex.quote(self._inside)} 2>/dev/null || exit 3; "
            f"find . -mindepth 1 -maxdepth {DEPTH} -printf '%y %s %T@ %P\\0' | head -z -n {MAX_ENTRIES + 1}"
        )
        code, out, err = self._sh(script)
        now_text, _, rest = out.partition("\n")
        now = int(now_text) if now_text.strip().isdigit() else 0
        if code == 3:
            return Listing(self.node, self.folder, now, (), missing=True)
        if code != 0:
            raise EnvironmentProblem(
                f"cannot list {self.folder} on node {self.node}: exit {code} {err.strip()[:160]}",
                f"노드 {self.node}의 {self.folder} 목록을 읽을 수 없습니다: exit {code} {err.strip()[:160]}",
            )
        entries = []
        for record in rest.split("\0"):
            kind, size, mtime, path = [*record.split(" ", 3), "", "", ""][:4]
            if path and size.isdigit():
                entries.append(NodeEntry(path, kind, int(size), int(float(mtime or 0))))
        return Listing(
            self.node,
            self.folder,
            now,
            tuple(entries[:MAX_ENTRIES]),
            truncated=len(entries) > MAX_ENTRIES,
        )

    def read(self, path: str, limit: int = MAX_READ) -> str | None:
        """The first `limit` bytes of a regular file (never a link, FIFO or device);
        None when there is no such file."""
        target = shlex.quote(posixpath.join(self._inside, _relative(path)))
        script = f"[ -f {target} ] && [ ! -L {target} ] || exit 3; head -c {int(limit)} -- {target}"
        code, out, _ = self._sh(script)
        return out if code == 0 else None

    def remove(self, path: str) -> bool:
        """Remove one regular file (or link) named `path`; True when it is not there after."""
        target = shlex.quote(posixpath.join(self._inside, _relative(path)))
        code, _, _ = self._sh(f"if [ -d {target} ] && [ ! -L {target} ]; then exit 4; fi; rm -f -- {target}")
        return code == 0


def _relative(path: str) -> str:
    normal = posixpath.normpath(path).lstrip("/")
    if normal.startswith("..") or normal in ("", "."):
        raise ValueError(f"not a path inside the folder: {path!r}")
    return normal


@contextlib.contextmanager
def reader(
    kube: Kube, node: str, folder: str, *, root: str | None = None, writable: bool = False
) -> Iterator[Reader]:
    """A reader pod on `node` for `folder` (an absolute node path), removed afterwards.
    `root`: the folder mounted (default: `folder`'s parent), one no answer can turn into
    a link (a sandbox's own node folder); below it, links lead into the reader's own
    container, never elsewhere on the node."""
    folder = posixpath.normpath(folder)
    root = posixpath.normpath(root) if root else posixpath.dirname(folder)
    if not folder.startswith("/") or folder == "/":
        raise ValueError(f"not an absolute folder below /: {folder!r}")
    if root == folder or not folder.startswith(root.rstrip("/") + "/"):
        raise ValueError(f"{folder!r} is not inside {root!r}")
    cleanup = Cleanup(kube)
    try:
        namespace = own_namespace(kube, cleanup, "read")
        kube.create(_pod(node, root, IMAGE, writable), namespace)
        _wait_running(kube, namespace, node, folder)
        yield Reader(kube, namespace, node, root, folder)
    finally:
        cleanup.run()


def _pod(node: str, root: str, image: str, writable: bool, command: list[str] | None = None) -> Obj:
    # a folder above the one read is mounted: a missing folder is then an answer (not a pod
    # that cannot start), and a folder an answer made into a link is followed inside the
    # reader's own container, never by the kubelet on the node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "reader", "labels": {"app.kubernetes.io/name": "kubelab-node-reader"}},
        "spec": {
            "nodeName": node,
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "restartPolicy": "Never",
            "tolerations": [{"operator": "Exists"}],
            "volumes": [{"name": "node", "hostPath": {"path": root, "type": "Directory"}}],
            "containers": [
                {
                    "name": "reader",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": command or ["sleep", "600"],
                    "resources": {"requests": READER_REQUESTS, "limits": {"memory": "64Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": False},
                    "volumeMounts": [{"name": "node", "mountPath": MOUNT, "readOnly": not writable}],
                }
            ],
        },
    }


def _wait_running(kube: Kube, namespace: str, node: str, folder: str, pod: str = "reader") -> None:
    def running() -> None:
        live = kube.get("Pod", pod, namespace) or {}
        phase = (live.get("status") or {}).get("phase", "missing")
        assert_that(phase == "Running", f"Pod {namespace}/{pod}", "Running", phase)

    try:
        wait_until(running, START_WAIT)
    except CheckFailed as e:
        raise EnvironmentProblem(
            f"the pod that reads {folder} on node {node} did not start "
            f"in {START_WAIT:g} s ({e.finding.found})",
            f"노드 {node}의 {folder}를 읽는 파드가 {START_WAIT:g}초 안에 "
            f"시작되지 않았습니다 ({e.finding.found})",
        ) from e


def _one_folder(name: str) -> str:
    """`name` (one folder name) where it is in a pod of _one_per_node, quoted for sh."""
    target = _relative(name)
    if "/" in target:
        raise ValueError(f"not one folder name: {name!r}")
    return shlex.quote(posixpath.join(MOUNT, target))


def _one_per_node(
    kube: Kube,
    namespace: str,
    nodes: list[str],
    root: str,
    prefix: str,
    script: str,
    writable: bool,
    lifetime: int | None = None,
) -> dict[str, str]:
    """A pod per node (`<prefix>-<n>`) running `script` with `root` (made if missing, a
    folder of kubelab's) mounted, for at most `lifetime` seconds; returns pod name → node."""
    pods = {}
    for index, node in enumerate(nodes):
        pod = _pod(node, root, IMAGE, writable=writable, command=["sh", "-c", script])
        pod["metadata"]["name"] = f"{prefix}-{index}"
        pod["spec"]["volumes"][0]["hostPath"]["type"] = "DirectoryOrCreate"
        if lifetime is not None:
            pod["spec"]["activeDeadlineSeconds"] = lifetime
        kube.create(pod, namespace)
        pods[f"{prefix}-{index}"] = node
    return pods


REMOVE_WAIT = 60.0
"""Seconds the removal pods of one folder may take, on every node together."""


def remove_everywhere(kube: Kube, nodes: list[str], root: str, name: str) -> list[str]:
    """Remove folder `name` under `root` (a kubelab folder, e.g. /data/sandboxes) on each
    of these nodes, through one short-lived pod per node; `rm -rf` removes a link, never
    what it points to. Returns the nodes where it was not done (each with why)."""
    if not nodes:
        return []
    folder = _one_folder(name)
    cleanup = Cleanup(kube)
    try:
        namespace = own_namespace(kube, cleanup, "remove")
        pods = _one_per_node(kube, namespace, nodes, root, "remove", f"rm -rf -- {folder}", writable=True)
        left: dict[str, str] = {}

        def done() -> None:
            left.clear()
            for pod_name, node in pods.items():
                phase = ((kube.get("Pod", pod_name, namespace) or {}).get("status") or {}).get("phase")
                if phase != "Succeeded":
                    left[node] = str(phase or "missing")
            assert_that(not left, f"removal of {root}/{name}", "done on every node", ", ".join(left))

        with contextlib.suppress(CheckFailed):
            wait_until(done, REMOVE_WAIT)
        return [f"{node}: {phase}" for node, phase in left.items()]
    finally:
        cleanup.run()


GAUGE_EVERY = 1
"""Seconds between two measures of a gauge pod."""


@contextlib.contextmanager
def gauges(kube: Kube, nodes: list[str], root: str, name: str) -> Iterator[Callable[[], dict[str, int]]]:
    """One gauge pod per node that measures, every GAUGE_EVERY seconds, the disk space the
    folder `name` under `root` uses there (`du -s -x`: blocks really used, no link
    followed, one file system); yields a function giving the latest bytes per node (a node
    whose gauge has not spoken yet is left out). The pods go with their namespace."""
    folder = _one_folder(name)
    cleanup = Cleanup(kube)
    try:
        pods: dict[str, str] = {}
        if nodes:
            namespace = own_namespace(kube, cleanup, "gauge")
            loop = (
                f"while :; do s=$(du -s -x -B1 -- {folder} 2>/dev/null | cut -f1); "
                f'echo "${{s:-0}}"; sleep {GAUGE_EVERY}; done'
            )
            pods = _one_per_node(kube, namespace, nodes, root, "gauge", loop, writable=False)

        def latest() -> dict[str, int]:
            found = {}
            for pod_name, node in pods.items():
                with contextlib.suppress(KubelabError):
                    said = kube.logs(pod_name, namespace, tail=1, limit_bytes=64).strip()
                    if said.isdigit():
                        found[node] = int(said)
            return found

        yield latest
    finally:
        cleanup.run()


CREW_LIFETIME = 6 * 3600
"""Seconds a crew's pods live at most (activeDeadlineSeconds): a run that ended without
removing them (killed) leaves nothing running for long; `kubelab cleanup` removes them."""
CREW_MEASURE = "echo \"du $(du -s -x -B1 -- */ 2>/dev/null | tr '\\t\\n' '  ')\""
"""One measure of every folder here, on one line: "du 4096 name/ 8192 other/" (blocks
really used, no link followed, one file system; "du" alone when there is none)."""
CREW_LINE = 256 * 1024
"""Bytes of one measure line read from a crew pod's log."""


class Crew:
    """One pod per node for a run (see the module): `measured(name)` gives the latest
    bytes per node of folder `name` under the crew's root (a node whose pod has not
    spoken yet is left out; one where it is missing counts 0); `remove(name)` removes it
    on every node. The logs are read at most once per GAUGE_EVERY / 2 seconds, however
    many answers ask."""

    def __init__(self, kube: Kube, namespace: str, pods: dict[str, str]) -> None:
        self.kube = kube
        self.namespace = namespace
        self.pods = pods
        """Pod name → node."""
        self._lock = threading.Lock()
        self._read_at = 0.0
        self._latest: dict[str, dict[str, int]] = {}
        """Node → folder name → bytes, from the last line each pod printed."""

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(self.pods.values())

    def measured(self, name: str, nodes: tuple[str, ...] | None = None) -> dict[str, int]:
        with self._lock:
            if time.monotonic() - self._read_at >= GAUGE_EVERY / 2:
                self._latest = self._read()
                self._read_at = time.monotonic()
            latest = self._latest
        return {node: sizes.get(name, 0) for node, sizes in latest.items() if nodes is None or node in nodes}

    def _read(self) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for pod_name, node in self.pods.items():
            with contextlib.suppress(KubelabError):
                said = self.kube.logs(pod_name, self.namespace, tail=1, limit_bytes=CREW_LINE).strip()
                if said.startswith("du"):
                    found[node] = _sizes(said.removeprefix("du"))
        return found

    def remove(self, name: str, nodes: tuple[str, ...] | None = None) -> list[str]:
        """Remove folder `name` under the root on these nodes (all: None); `rm -rf`
        removes a link, never what it points to. The nodes where it was not done, with why."""
        folder = _one_folder(name)
        left = []
        for pod_name, node in self.pods.items():
            if nodes is not None and node not in nodes:
                continue
            try:
                done = exec_in_pod(
                    self.kube,
                    pod_name,
                    self.namespace,
                    ["sh", "-c", f"rm -rf -- {folder}; [ ! -e {folder} ]"],
                    "reader",
                    EXEC_TIMEOUT,
                )
                if done.code != 0:
                    left.append(f"{node}: exit {done.code} {done.stderr.strip()[:120]}")
            except KubelabError as e:
                left.append(f"{node}: {e}")
        return left


def _sizes(line: str) -> dict[str, int]:
    """`du -s` pairs on one line ("123 name/ 456 other/") → folder name → bytes."""
    words = line.split()
    return {
        folder.rstrip("/"): int(size)
        for size, folder in zip(words[::2], words[1::2], strict=False)
        if size.isdigit()
    }


_crews: dict[Target, Crew] = {}
_crews_lock = threading.Lock()


def crew_of(kube: Kube) -> Crew | None:
    """The crew of a run now going on this cluster, if any."""
    with _crews_lock:
        return _crews.get(kube.target)


@contextlib.contextmanager
def crew(kube: Kube, root: str) -> Iterator[Crew | None]:
    """A crew on every node for the block (see the module), known to crew_of; None (and
    each removal and gauge makes its own pods, as without a crew) when its pods do not
    all run within START_WAIT seconds, or when another block of this process has one."""
    with _crews_lock:
        if kube.target in _crews:
            yield None
            return
    cleanup = Cleanup(kube)
    try:
        made = _start_crew(kube, cleanup, root)
        with _crews_lock:
            if made is not None:
                _crews[kube.target] = made
        try:
            yield made
        finally:
            with _crews_lock:
                if made is not None:
                    _crews.pop(kube.target, None)
    finally:
        cleanup.run(ask_first=True)  # a run may end for the cluster's outage


def _start_crew(kube: Kube, cleanup: Cleanup, root: str) -> Crew | None:
    try:
        namespace = own_namespace(kube, cleanup, "crew")
        nodes = [str(n["metadata"]["name"]) for n in kube.list("Node")]
        loop = f"cd {MOUNT} || exit 1; while :; do {CREW_MEASURE}; sleep {GAUGE_EVERY}; done"
        pods = _one_per_node(
            kube, namespace, nodes, root, "crew", loop, writable=True, lifetime=CREW_LIFETIME
        )
        for pod_name, node in pods.items():
            _wait_running(kube, namespace, node, root, pod_name)
    except (KubelabError, api_exception()):
        return None
    return Crew(kube, namespace, pods)
