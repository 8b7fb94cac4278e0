"""The learner's workspace: a lab's starter files, rendered with the learner's parameter
values, in a folder of their own outside `labs/` (so lab content is never edited in place).

`kubelab start NN` writes `workspace/NN-name/` (KUBELAB_WORKSPACE moves it). A file is
written only when it is missing or still exactly what kubelab wrote last time (its hash is
recorded): a file the learner changed is never overwritten, and a file kubelab did not
write is never touched. The values the learner started with are remembered, so
`kubelab check NN` checks the same variant without repeating them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from kubelab import manifests, params, repo
from kubelab.errors import EnvironmentProblem, InputError
from kubelab.labspec import Lab


@dataclass(frozen=True)
class Prepared:
    """What `prepare` did with each starter file."""

    folder: Path
    written: tuple[str, ...]
    kept: tuple[str, ...]
    """Files the learner changed (or kubelab did not write): left as they are."""


def root() -> Path:
    return Path(os.environ.get("KUBELAB_WORKSPACE") or repo.root() / "workspace").expanduser()


def folder(lab: Lab) -> Path:
    return root() / lab.folder.name


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record_path(lab: Lab) -> Path:
    return repo.state_dir() / "workspace" / f"{lab.id}.json"


def _read_json(path: Path) -> dict[str, object]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return data
    return {}


def _write_json(path: Path, data: dict[str, object]) -> None:
    repo.write_state(path, json.dumps(data, indent=1, ensure_ascii=False))


def prepare(lab: Lab) -> Prepared:
    """Render the lab's starter files into its workspace folder (see the module's doc)."""
    try:
        return _prepare(lab)
    except OSError as e:
        raise EnvironmentProblem(
            f"cannot write the workspace {folder(lab)}: {e.strerror or e} (KUBELAB_WORKSPACE moves it)",
            f"작업 폴더 {folder(lab)}에 쓸 수 없습니다: {e.strerror or e} "
            "(KUBELAB_WORKSPACE로 옮길 수 있습니다)",
        ) from e


def _prepare(lab: Lab) -> Prepared:
    target = folder(lab)
    record = _record_path(lab)
    recorded = _read_json(record).get("files")
    written_before = recorded if isinstance(recorded, dict) else {}
    hashes: dict[str, str] = {}
    written: list[str] = []
    kept: list[str] = []
    for source in manifests.manifest_files([lab.starter]):
        relative = source.relative_to(lab.starter).as_posix()
        text = lab.render(manifests.read_text(source), str(source))
        data = text.encode("utf-8")
        path = target / relative
        if path.is_symlink() or (path.exists() and not path.is_file()):
            kept.append(relative)
            continue
        if path.exists():
            current = _digest(path.read_bytes())
            if current != written_before.get(relative):
                kept.append(relative)  # the learner's own now
                continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            written.append(relative)
        hashes[relative] = _digest(data)
    _write_json(record, {"files": {**written_before, **hashes}})
    return Prepared(target, tuple(written), tuple(kept))


def _answer_path(lab: Lab) -> Path:
    return repo.state_dir() / "answers" / f"{lab.id}.json"


def remember(lab: Lab) -> None:
    """Keep the namespace and parameter values the learner started this lab with."""
    _write_json(
        _answer_path(lab),
        {"namespace": lab.answer_namespace, "set": params.settings_of(lab.params, lab.values)},
    )


def answer_lab(lab: Lab, namespace: str | None, settings: list[str] | None) -> Lab:
    """The lab as this learner's answer has it: the namespace and values given, else the
    ones `kubelab start` was given last, else the lab's defaults."""
    remembered = _read_json(_answer_path(lab))
    from_memory = namespace is None and not settings
    if from_memory:
        namespace = str(remembered.get("namespace") or "") or None
        saved = remembered.get("set")
        settings = [str(s) for s in saved] if isinstance(saved, list) else []
    try:
        chosen = params.parse_settings(lab.params, settings or [])
    except InputError:
        if not from_memory:
            raise
        chosen = {}  # lab.yaml changed since `start`: the defaults
    return lab.with_values(namespace or lab.namespace, chosen)
