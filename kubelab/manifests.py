"""Reading Kubernetes manifests: multi-document YAML from files or folders.

Reading never changes a file. Problems are the learner's input problems (InputError)
and say which file, which document and what is wrong, in one line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes_validate.utils import schema_contents
from referencing import Registry, Resource

from kubelab.errors import InputError

Obj = dict[str, Any]
"""A Kubernetes object as plain data (what YAML or the API gives back)."""

SCHEMA_VERSION = "1.36.0"
"""OpenAPI schemas of the pinned Kubernetes minor (K8S_VERSION in ci/versions.env)."""


@dataclass(frozen=True)
class Document:
    """One YAML document of a manifest file."""

    path: Path
    index: int
    """Position in the file, from 1."""
    obj: Obj

    @property
    def where(self) -> str:
        return f"{self.path}#{self.index}"

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.obj.get("metadata", {}).get("name", ""))


def manifest_files(paths: Iterable[Path]) -> list[Path]:
    """The .yaml/.yml files named, or found (sorted) in the folders named."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or folder", f"{path}: 파일이나 폴더가 없습니다")
    return files


def read_documents(path: Path) -> list[Document]:
    """Every non-empty document of one file, each checked to be a Kubernetes object."""
    try:
        loaded = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(
            f"{path}:{line} is not valid YAML ({problem})",
            f"{path}:{line} YAML 문법 오류 ({problem})",
        ) from e
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read ({e})", f"{path}: 읽을 수 없습니다 ({e})") from e
    docs = [Document(path, i, obj) for i, obj in enumerate(loaded, start=1) if obj is not None]
    for doc in docs:
        _require_object(doc)
    return docs


def _require_object(doc: Document) -> None:
    if not isinstance(doc.obj, dict):
        raise InputError(
            f"{doc.where} is not a Kubernetes object (a mapping with apiVersion and kind)",
            f"{doc.where}은(는) 쿠버네티스 오브젝트가 아닙니다 (apiVersion과 kind가 있는 매핑)",
        )
    missing = [f for f in ("apiVersion", "kind") if not doc.obj.get(f)]
    if missing or not doc.name:
        fields = ", ".join([*missing, *([] if doc.name else ["metadata.name"])])
        raise InputError(
            f"{doc.where}: missing {fields}",
            f"{doc.where}: {fields} 항목이 없습니다",
        )


def load(paths: Iterable[Path]) -> list[Document]:
    """All documents of all the manifest files named (folders expanded)."""
    return [doc for path in manifest_files(paths) for doc in read_documents(path)]


@cache
def _validator(kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    """The strict OpenAPI validator of one kind, built once (kubernetes-validate's own
    `validate` re-reads the schema files on every call, which made lint slow)."""
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{SCHEMA_VERSION}-local-strict"
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", SCHEMA_VERSION)
    except FileNotFoundError:
        return None
    definitions = schema_contents(f"{folder}/_definitions.json", SCHEMA_VERSION)
    registry = Resource.from_contents(schema) @ (Resource.from_contents(definitions) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def schema_problem(doc: Document) -> str | None:
    """Why the document fails the pinned Kubernetes OpenAPI schema, or None if it passes."""
    validator = _validator(doc.kind, str(doc.obj.get("apiVersion")))
    if validator is None:
        return f"no schema for kind {doc.kind} {doc.obj.get('apiVersion')} in Kubernetes {SCHEMA_VERSION}"
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc.obj))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(top)"
    return f"{where}: {error.message}"


def validate(docs: Iterable[Document], kinds: Iterable[str] = ()) -> None:
    """Raise InputError for the first document that fails the schema or has a wrong kind."""
    allowed = tuple(kinds)
    for doc in docs:
        if allowed and doc.kind not in allowed:
            raise InputError(
                f"{doc.where}: kind {doc.kind} does not belong in this lab "
                f"(expected one of {', '.join(allowed)})",
                f"{doc.where}: 이 실습에는 {doc.kind} 종류가 필요 없습니다 "
                f"(필요한 종류: {', '.join(allowed)})",
            )
        problem = schema_problem(doc)
        if problem:
            raise InputError(
                f"{doc.where} ({doc.kind} {doc.name}): {problem}",
                f"{doc.where} ({doc.kind} {doc.name}) 스키마 오류: {problem}",
            )
