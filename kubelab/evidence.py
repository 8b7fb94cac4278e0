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

import contextlib
import json
import platform
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kubelab import __version__, repo
from kubelab.errors import KubelabError
from kubelab.kube import Kube, api_exception
from kubelab.labspec import Lab
from kubelab.text import printable

if TYPE_CHECKING:
    from kubelab.grade import Grade

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


def cluster(where: Path, kube: Kube, lab: Lab) -> None:
    """The student's objects, events and logs, and the versions, as they are now. Evidence
    is a record, not a verdict: what cannot be read is noted in the files, never raised."""
    namespace = lab.answer_namespace
    objects: list[dict[str, Any]] = []
    problems: list[str] = []
    for kind in dict.fromkeys((*lab.kinds, "Pod", "Service", "ConfigMap", "PersistentVolumeClaim")):
        try:
            if kube.is_namespaced(kind):
                objects += [_stored(o) for o in kube.list(kind, namespace)]
            else:  # a sandbox's cluster-scoped objects carry its namespace in their names
                objects += [
                    _stored(o) for o in kube.list(kind) if o["metadata"]["name"].endswith(f"-{namespace}")
                ]
        except (KubelabError, api_exception()) as e:
            problems.append(f"{kind}: {e}")
    objects_text = _dump_within([*objects, *([{"unreadable": problems}] if problems else [])], OBJECTS_BYTES)
    (where / "objects.yaml").write_text(objects_text, encoding="utf-8")
    events: list[dict[str, Any]] = []
    with contextlib.suppress(KubelabError, api_exception()):
        for event in kube.list("Event", namespace):
            involved = event.get("involvedObject") or {}
            events.append(
                {
                    "time": event.get("lastTimestamp") or event.get("eventTime") or "",
                    "type": event.get("type"),
                    "reason": event.get("reason"),
                    "object": f"{involved.get('kind')}/{involved.get('name')}",
                    "message": event.get("message"),
                    "count": event.get("count"),
                }
            )
    ordered = sorted(events, key=lambda e: str(e["time"]))
    (where / "events.yaml").write_text(_dump_within(ordered, EVENTS_BYTES, one=True), "utf-8")
    logs = where / "logs"
    room = LOGS_BYTES
    for pod in (o for o in objects if o.get("kind") == "Pod"):
        for container in (pod.get("spec") or {}).get("containers") or []:
            name = f"{pod['metadata']['name']}.{container.get('name')}"
            if room <= 0:
                problems.append(f"logs of {name}: not kept (the logs hold {LOGS_BYTES // 1024} KiB at most)")
                continue
            with contextlib.suppress(KubelabError, api_exception()):
                text = kube.logs(pod["metadata"]["name"], namespace, container.get("name"), tail=LOG_LINES)
                logs.mkdir(exist_ok=True)
                shown = _cut(
                    printable(text, block=True), room
                )  # what the answer printed: read, never acted on
                room -= len(shown)
                (logs / f"{SAFE_NAME.sub('_', name)}.txt").write_text(shown, encoding="utf-8")
    versions = {"kubelab": __version__, "python": platform.python_version(), **repo.versions()}
    with contextlib.suppress(KubelabError, api_exception()):
        versions["cluster"] = kube.server_version()
    _write_json(where / "versions.json", versions)
