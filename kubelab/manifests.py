"""Reading Kubernetes manifests: multi-document YAML from files or folders.

Reading never changes a file. Problems are the learner's input problems (InputError)
and say which file, which document and what is wrong, in one line.

A learner's files are untrusted input, read within limits: regular files only (a FIFO
or a device never blocks a read), at most MAX_FILE_BYTES each (refused from its size,
before reading), at most MAX_DOCUMENTS objects, and YAML aliases may not expand a file
beyond MAX_NODES values (a few lines of anchors can otherwise stand for gigabytes).
A file that holds no object at all is said so, not applied as nothing.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kubelab.errors import InputError
from kubelab.text import printable

if TYPE_CHECKING:
    import jsonschema.protocols

Obj = dict[str, Any]
"""A Kubernetes object as plain data (what YAML or the API gives back)."""

MAX_FILE_BYTES = 1024 * 1024
"""A manifest file's size limit (the API server stores at most ~1.5 MiB per object)."""
MAX_DOCUMENTS = 100
"""Objects one file may hold."""
MAX_NODES = 100_000
"""Values (mappings, lists, scalars) a file may hold once its aliases are expanded."""
MAX_OBJECT_BYTES = 256 * 1024
"""The most one object of an answer may weigh (about its size as JSON): MAX_NODES values
repeating one long string through aliases would otherwise put gigabytes into etcd."""
API_VERSION = re.compile(r"(?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?")
"""`v1` or `group/version` (a DNS subdomain, then v1, v2beta1, …)."""
KIND = re.compile(r"[A-Z][A-Za-z0-9]{0,62}")

SCHEMA_VERSION = "1.37.0"
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
        metadata = self.obj.get("metadata")
        return str(metadata.get("name", "")) if isinstance(metadata, dict) else ""


def manifest_files(paths: Iterable[Path]) -> list[Path]:
    """The .yaml/.yml files named, or found (sorted) in the folders named."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
            if not found:
                raise InputError(
                    f"{path}: no .yaml or .yml file in this folder (its subfolders are not read)",
                    f"{path}: 이 폴더에 .yaml 이나 .yml 파일이 없습니다 (하위 폴더는 읽지 않습니다)",
                )
            files += found
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or folder", f"{path}: 파일이나 폴더가 없습니다")
    return files


def read_text(path: Path) -> str:
    """A regular file's text, refused from its size alone when too big; a FIFO, socket
    or device is refused without waiting on it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise InputError(
            f"{path}: cannot read ({e.strerror})", f"{path}: 읽을 수 없습니다 ({e.strerror})"
        ) from e
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                f"{path} is not a regular file (a manifest is a .yaml file)",
                f"일반 파일이 아닙니다: {path} (매니페스트는 .yaml 파일입니다)",
            )
        if info.st_size > MAX_FILE_BYTES:
            raise InputError(
                f"{path} is {info.st_size / 1024 / 1024:.1f} MiB; a manifest may be at most "
                f"{MAX_FILE_BYTES // 1024} KiB",
                f"{path}의 크기가 {info.st_size / 1024 / 1024:.1f} MiB입니다; 매니페스트는 "
                f"{MAX_FILE_BYTES // 1024} KiB까지입니다",
            )
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        raise InputError(f"{path} is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason})", f"{path}: UTF-8 텍스트가 아닙니다") from e


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """How many values the node stands for once every alias is expanded (memoized, so
    shared nodes are counted as many times as they are used, in linear time)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise ValueError("an alias refers to itself")
    open_nodes.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, sizes, open_nodes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(
            _expanded_size(k, sizes, open_nodes) + _expanded_size(v, sizes, open_nodes) for k, v in node.value
        )
    open_nodes.discard(key)
    sizes[key] = min(total, MAX_NODES + 1)
    return sizes[key]


def _load_all(path: Path, text: str) -> list[Any]:
    """yaml.safe_load_all, within MAX_DOCUMENTS and MAX_NODES."""
    loader = yaml.SafeLoader(text)
    loaded: list[Any] = []
    expanded = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            expanded += _expanded_size(node, {}, set())
            if expanded > MAX_NODES:
                raise InputError(
                    f"{path}: its YAML aliases expand to more than {MAX_NODES} values",
                    f"{path}: YAML 별칭(alias)을 펼치면 값이 {MAX_NODES}개를 넘습니다",
                )
            if len(loaded) >= MAX_DOCUMENTS:
                raise InputError(
                    f"{path} holds more than {MAX_DOCUMENTS} documents",
                    f"{path}에 문서가 {MAX_DOCUMENTS}개보다 많습니다",
                )
            loaded.append(loader.construct_document(node))
    finally:
        loader.dispose()
    return loaded


Render = Callable[[str, str], str]
"""A lab's template renderer: (text, where) -> text with its parameters filled in."""


def read_documents(path: Path, render: Render | None = None) -> list[Document]:
    """Every non-empty document of one file, each checked to be a Kubernetes object; a
    lab's own file is a template, rendered first (a learner's file never is)."""
    text = read_text(path)
    if render is not None:
        text = render(text, str(path))
    try:
        loaded = _load_all(path, text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(
            f"{path}:{line} is not valid YAML ({problem})",
            f"{path}:{line} YAML 문법 오류 ({problem})",
        ) from e
    except (ValueError, RecursionError) as e:
        reason = "nested too deeply" if isinstance(e, RecursionError) else str(e)
        raise InputError(f"{path}: {reason}", f"{path}: 읽을 수 없는 YAML입니다 ({reason})") from e
    docs = [Document(path, i, obj) for i, obj in enumerate(loaded, start=1) if obj is not None]
    if not docs:
        raise InputError(
            f"{path} holds no Kubernetes object (it is empty or only comments)",
            f"{path}에 쿠버네티스 오브젝트가 없습니다 (비어 있거나 주석뿐입니다)",
        )
    for doc in docs:
        _require_object(doc)
    return docs


def _require_object(doc: Document) -> None:
    if not isinstance(doc.obj, dict):
        raise InputError(
            f"{doc.where} is not a Kubernetes object (a mapping with apiVersion and kind)",
            f"{doc.where}: 쿠버네티스 오브젝트가 아닙니다 (apiVersion과 kind가 있는 매핑)",
        )
    missing = [f for f in ("apiVersion", "kind") if not doc.obj.get(f)]
    if missing or not doc.name:
        fields = ", ".join([*missing, *([] if doc.name else ["metadata.name"])])
        raise InputError(
            f"{doc.where}: missing {fields}",
            f"{doc.where}: {fields} 항목이 없습니다",
        )
    metadata = doc.obj["metadata"]
    not_text = [f for f in ("apiVersion", "kind") if not isinstance(doc.obj[f], str)]
    not_text += ["metadata.name"] if not isinstance(metadata.get("name"), str) else []
    if not_text:
        fields = ", ".join(not_text)
        raise InputError(
            f"{doc.where}: {fields} must be text", f"{doc.where}: {fields} 필드는 문자열이어야 합니다"
        )
    if not API_VERSION.fullmatch(doc.obj["apiVersion"]):
        shown = printable(doc.obj["apiVersion"][:80])
        raise InputError(
            f"{doc.where}: apiVersion {shown!r} is not a Kubernetes API version (v1, apps/v1, …)",
            f"{doc.where}: apiVersion 값 {shown!r}: 쿠버네티스 API 버전이 아닙니다 (v1, apps/v1, …)",
        )


def load(paths: Iterable[Path], render: Render | None = None) -> list[Document]:
    """All documents of all the manifest files named (folders expanded)."""
    return [doc for path in manifest_files(paths) for doc in read_documents(path, render)]


@cache
def _validator(kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    """The strict OpenAPI validator of one kind, built once (kubernetes-validate's own
    `validate` re-reads the schema files on every call, which made lint slow). Imported
    here: a command that validates nothing does not pay for the schemas."""
    import jsonschema
    from kubernetes_validate.utils import VersionNotSupportedError, schema_contents
    from referencing import Registry, Resource

    if not KIND.fullmatch(kind) or not API_VERSION.fullmatch(api_version):
        return None  # a file name is made of them: nothing but a kind and a version
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{SCHEMA_VERSION}-local-strict"
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", SCHEMA_VERSION)
    except (FileNotFoundError, VersionNotSupportedError):  # the latter is what a missing file raises
        return None
    definitions = schema_contents(f"{folder}/_definitions.json", SCHEMA_VERSION)
    registry = Resource.from_contents(schema) @ (Resource.from_contents(definitions) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def schema_problem(doc: Document) -> str | None:
    """Why the document fails the pinned Kubernetes OpenAPI schema, or None if it passes."""
    validator = _validator(doc.kind, str(doc.obj.get("apiVersion")))
    if validator is None:
        shown = printable(f"{doc.kind} {doc.obj.get('apiVersion')}"[:120])
        return f"no schema for kind {shown} in Kubernetes {SCHEMA_VERSION}"
    import jsonschema.exceptions

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


def too_large(obj: Any, limit: int = MAX_OBJECT_BYTES) -> bool:
    """Whether `obj` written as JSON would be larger than about `limit` bytes, counted as
    it is walked and stopped at the limit (so an object that aliases make huge costs no
    more than `limit` to weigh)."""
    left = limit
    stack = [obj]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            left -= 2 + 4 * len(value)
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            left -= 2 + len(value)
            stack.extend(value)
        elif isinstance(value, int):  # str() of an int of thousands of digits raises
            left -= value.bit_length() // 3 + 2
        else:
            left -= len(str(value)) + 2
        if left < 0:
            return True
    return False
