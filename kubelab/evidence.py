"""What a grade rests on, kept per student so a disputed grade can be examined again:
`evidence/<student>/` in a grading run's output folder.

- `submission.json`: every file of the submission (path, SHA-256, bytes), their digest,
  the student's parameter values, the namespace, the course, the times;
- `objects.yaml`: the lab's objects in the student's namespace as the API server stored
  them (managedFields left out), with the student's cluster-scoped objects;
- `events.yaml`: the namespace's events;
- `logs/<pod>.<container>.txt`: the last lines each container printed;
- `versions.json`: kubelab's and the cluster's versions, the pinned tools;
- `grade.json`: the grade, with the whole scorecard (every check's message).
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from kubelab import __version__, repo
from kubelab.errors import ClusterUnavailable, KubelabError
from kubelab.kube import Kube, api_exception
from kubelab.labspec import Lab
from kubelab.text import printable

if TYPE_CHECKING:
    from kubelab.grade import Grade

T = TypeVar("T")
LOG_LINES = 50
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
OBJECTS_BYTES = 4 * 1024 * 1024
EVENTS_BYTES = 1024 * 1024
LOGS_BYTES = 2 * 1024 * 1024
"""What one student's evidence holds at most (objects, events, all logs together; each log
is LOG_BYTES at most): an answer's objects and output are the student's to make large."""


def folder(out: Path, student: str) -> Path:
    """The student's evidence folder (student ids are checked: no / or leading dot)."""
    path = out / "evidence" / student
    path.mkdir(parents=True, exist_ok=True)
    return path


def fresh_folder(out: Path, student: str) -> Path:
    """The student's evidence folder, emptied of an earlier grading's."""
    import shutil

    path = out / "evidence" / student
    shutil.rmtree(path, ignore_errors=True)
    return folder(out, student)


def _write_json(path: Path, data: Any) -> None:
    repo.write_state(path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def keep(where: Path, grade: Grade) -> Grade:
    """Write the grade (and its scorecard) to the student's evidence; the grade."""
    _write_json(where / "grade.json", grade.to_dict())
    return grade


def submission(where: Path, files: Sequence[tuple[str, str, int]], grade: Grade) -> None:
    _write_json(
        where / "submission.json",
        {
            "student": grade.student,
            "course": grade.course,
            "lab": grade.lab,
            "namespace": grade.namespace,
            "values": dict(grade.values),
            "digest": grade.digest,
            "files": [{"path": p, "sha256": h, "bytes": n} for p, h, n in files],
            "started": grade.started,
        },
    )


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… cut at {limit // 1024} KiB\n"


def _dump_within(items: Sequence[Any], limit: int, one: bool = False) -> str:
    """YAML of `items` (one document, or one per item), as many as fit in `limit`
    characters; what does not fit is said, not written."""
    parts: list[str] = []
    size = 0
    for number, item in enumerate(items):
        text = yaml.safe_dump([item] if one else item, sort_keys=False)
        if size + len(text) > limit:
            parts.append(f"# … {len(items) - number} more not kept (at most {limit // 1024} KiB here)\n")
            break
        parts.append(text)
        size += len(text)
    return "".join(parts) if one else "---\n".join(parts)


def _stored(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {**obj, "metadata": metadata}


class _Reads:
    """Evidence's reads of the cluster: what cannot be read is noted, never raised; once
    the cluster does not answer (ClusterUnavailable), the rest is not tried, since each
    try would take its full bound."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.down: str | None = None

    def __call__(self, what: str, read: Callable[[], T], otherwise: T) -> T:
        if self.down is not None:
            self.problems.append(f"{what}: not read ({self.down})")
            return otherwise
        try:
            return read()
        except ClusterUnavailable as e:
            self.down = e.en
            self.problems.append(f"{what}: {e.en}")
        except (KubelabError, api_exception()) as e:
            self.problems.append(f"{what}: {e}")
        return otherwise


def _event(event: dict[str, Any]) -> dict[str, Any]:
    involved = event.get("involvedObject") or {}
    return {
        "time": event.get("lastTimestamp") or event.get("eventTime") or "",
        "type": event.get("type"),
        "reason": event.get("reason"),
        "object": f"{involved.get('kind')}/{involved.get('name')}",
        "message": event.get("message"),
        "count": event.get("count"),
    }


def cluster(where: Path, kube: Kube, lab: Lab) -> None:
    """The student's objects, events and logs, and the versions, as they are now. Evidence
    is a record, not a verdict: what cannot be read is noted in objects.yaml, never
    raised, and a cluster that stops answering is not asked again."""
    namespace = lab.answer_namespace
    read = _Reads()

    def listed(kind: str) -> list[dict[str, Any]]:
        if kube.is_namespaced(kind):
            return [_stored(o) for o in kube.list(kind, namespace)]
        # a sandbox's cluster-scoped objects carry its namespace in their names
        return [_stored(o) for o in kube.list(kind) if o["metadata"]["name"].endswith(f"-{namespace}")]

    none: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    for kind in dict.fromkeys((*lab.kinds, "Pod", "Service", "ConfigMap", "PersistentVolumeClaim")):
        objects += read(kind, lambda kind=kind: listed(kind), none)  # type: ignore[misc]
    found = read("Event", lambda: kube.list("Event", namespace), none)
    events = sorted((_event(e) for e in found), key=lambda e: str(e["time"]))
    (where / "events.yaml").write_text(_dump_within(events, EVENTS_BYTES, one=True), "utf-8")
    logs = where / "logs"
    room = LOGS_BYTES
    for pod in (o for o in objects if o.get("kind") == "Pod"):
        for container in (pod.get("spec") or {}).get("containers") or []:
            name = f"{pod['metadata']['name']}.{container.get('name')}"
            if room <= 0:
                read.problems.append(
                    f"logs of {name}: not kept (the logs hold {LOGS_BYTES // 1024} KiB at most)"
                )
                continue
            text = read(
                f"logs of {name}",
                lambda pod=pod, container=container: kube.logs(  # type: ignore[misc]
                    pod["metadata"]["name"], namespace, container.get("name"), tail=LOG_LINES
                ),
                None,
            )
            if text is None:
                continue
            logs.mkdir(exist_ok=True)
            shown = _cut(printable(text, block=True), room)  # what the answer printed: read, never acted on
            room -= len(shown)
            (logs / f"{SAFE_NAME.sub('_', name)}.txt").write_text(shown, encoding="utf-8")
    versions = {"kubelab": __version__, "python": platform.python_version(), **repo.versions()}
    version = read("the cluster's version", kube.server_version, None)
    if version is not None:
        versions["cluster"] = version
    _write_json(where / "versions.json", versions)
    unreadable = [{"unreadable": read.problems}] if read.problems else []
    (where / "objects.yaml").write_text(
        _dump_within([*objects, *unreadable], OBJECTS_BYTES), encoding="utf-8"
    )
