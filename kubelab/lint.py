"""Offline checks of lab content (no cluster): what CI and authors run on every change.

Per lab: lab.yaml is valid; both languages' instructions exist; the checker's tests and
lab.yaml's checks name each other; each known-wrong answer names a real check; every
manifest parses, validates against the pinned Kubernetes OpenAPI schema and uses only
the lab's kinds (wrong answers excepted); images are pinned; NodePorts are in range;
no text, manifest or checker code repeats the default of a per-answer parameter
(`unique:` in lab.yaml) instead of reading the parameter.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from kubelab import declared, images, labspec, manifests
from kubelab.errors import InputError, KubelabError, LabContentError
from kubelab.labspec import Lab
from kubelab.manifests import Document, Obj
from kubelab.params import NODE_PORT_RANGE


def checker_tests(path: Path) -> set[str]:
    """Names of the test functions in a checker file (read, not imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name.removeprefix("test_")
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def containers(obj: Obj) -> list[Obj]:
    """Every container and init container of a pod or a pod template inside obj."""
    found: list[Obj] = []
    stack: list[object] = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("containers", "initContainers") and isinstance(value, list):
                    found += [c for c in value if isinstance(c, dict)]
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned, or None."""
    last = image.rsplit("/", 1)[-1]
    if "@sha256:" in image:
        return None
    if ":" not in last:
        return f"image {image} has no tag (pin a version)"
    if last.endswith(":latest"):
        return f"image {image} uses :latest (pin a version)"
    return None


def document_problems(doc: Document, lab: Lab | None, wrong: bool) -> Iterator[str]:
    """Problems of one manifest document."""
    try:
        manifests.validate([doc], () if (wrong or lab is None) else lab.kinds)
    except InputError as e:
        yield e.en
    for container in containers(doc.obj):
        image = str(container.get("image", ""))
        problem = image_problem(image)
        if problem:
            yield f"{doc.where}: {problem}"
        elif lab and image.startswith(images.PREFIX) and image.removeprefix(images.PREFIX) not in lab.images:
            yield f"{doc.where}: image {image} is not in lab.yaml's images"
    if doc.kind == "Service":
        for port in (doc.obj.get("spec") or {}).get("ports") or []:
            node_port = port.get("nodePort")
            if node_port is not None and node_port not in NODE_PORT_RANGE:
                yield f"{doc.where}: nodePort {node_port} is outside 30000-32767"


def manifest_problems(
    folder: Path, lab: Lab | None = None, wrong: bool = False, content: bool = False
) -> Iterator[str]:
    """Problems of the manifests in `folder`: the lab's own (content: templates, rendered
    with the lab's values) or a learner's files."""
    try:
        docs = lab.manifests(folder) if lab and content else manifests.load([folder])
    except InputError as e:
        yield e.en
        return
    if not docs:
        yield f"{folder}: no manifests"
    for doc in docs:
        yield from document_problems(doc, lab, wrong)


def _literal(value: object) -> re.Pattern[str]:
    """The default of a parameter as a word of its own (pv-static, not pv-static.yaml)."""
    return re.compile(rf"(?<![\w/-]){re.escape(str(value))}(?![\w-]|\.ya?ml)")


def _code_constants(path: Path) -> Iterator[tuple[int, str]]:
    """The string and number constants of a checker (its docstrings left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    constants = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in docstrings]
    for node in constants:
        if isinstance(node.value, str | int) and not isinstance(node.value, bool):
            yield node.lineno, str(node.value)


def repeated_parameters(lab: Lab) -> Iterator[str]:
    """Places that write a per-answer parameter's default instead of `{{ name }}`."""
    unique = [p for p in lab.params.values() if p.unique]
    texts = [lab.folder / lab.instructions.ko, lab.folder / lab.instructions.en]
    for folder in (lab.starter, lab.solution, *(w.dir for w in lab.wrong if w.dir.is_dir())):
        texts += manifests.manifest_files([folder])
    lines = [(path, n, line) for path in texts for n, line in enumerate(_read_lines(path), start=1)]
    in_params = False
    for n, line in enumerate(_read_lines(lab.folder / "lab.yaml"), start=1):
        in_params = line.startswith("params:") or (in_params and (line.startswith(" ") or not line.strip()))
        if not in_params:
            lines.append((lab.folder / "lab.yaml", n, line))
    if lab.checker.is_file():
        lines += [(lab.checker, n, text) for n, text in _code_constants(lab.checker)]
    for param in unique:
        pattern = _literal(param.default)
        for path, n, line in lines:
            if pattern.search(line):
                instead = f'lab.param("{param.name}")' if path == lab.checker else f"{{{{ {param.name} }}}}"
                yield f"{path}:{n}: {param.default} is parameter {param.name}: write {instead}"
    namespace = re.compile(rf"(?<![\w/-])(?<!make ){re.escape(lab.namespace)}(?![\w-])")
    for path, n, line in lines:
        if path != lab.checker and not line.startswith("namespace:") and namespace.search(line):
            yield f"{path}:{n}: {lab.namespace} is the answer's namespace: write {{{{ namespace }}}}"


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def lab_problems(lab: Lab) -> Iterator[str]:
    """Everything wrong with one lab's content."""
    where = f"lab {lab.id}"
    for lang in ("ko", "en"):
        path = lab.folder / (lab.instructions.ko if lang == "ko" else lab.instructions.en)
        if not path.is_file():
            yield f"{where}: instructions ({lang}) missing: {path}"
            continue
        try:
            lab.instructions_text(lang)
        except LabContentError as e:
            yield e.en
    coded = {c.id for c in lab.checks if not c.expect}
    tests = checker_tests(lab.checker) if lab.checker.is_file() else set()
    if coded and not lab.checker.is_file():
        yield f"{where}: checker {lab.checker} missing (checks without expect: {', '.join(sorted(coded))})"
    for name in sorted(coded - tests if lab.checker.is_file() else ()):
        yield f"{where}: check {name} has neither expect: in lab.yaml nor test_{name} in {lab.checker.name}"
    for name in sorted(tests - coded):
        said = (
            "has expect: in lab.yaml" if name in {c.id for c in lab.checks} else "is not declared in lab.yaml"
        )
        yield f"{where}: test_{name} in {lab.checker.name}: check {name} {said}"
    for spec in lab.checks:
        yield from (f"{where}: check {spec.id}: {problem}" for problem in declared.problems(spec.expect))
    earlier: set[str] = set()
    for spec in lab.checks:
        for need in spec.needs:
            if need not in earlier:
                yield f"{where}: check {spec.id} needs {need}, which is not a check before it in lab.yaml"
        earlier.add(spec.id)
    for wrong in lab.wrong:
        if wrong.fails not in {c.id for c in lab.checks}:
            yield f"{where}: wrong answer {wrong.name} declares unknown check {wrong.fails}"
        for passing in wrong.passes:
            if passing not in {c.id for c in lab.checks} or passing == wrong.fails:
                yield f"{where}: wrong answer {wrong.name}: passes {passing}, not another check of the lab"
        if wrong.base is not None:
            base = {f.name for f in manifests.manifest_files([wrong.base])}
            for dropped in sorted(set(wrong.drop) - base):
                yield f"{where}: wrong answer {wrong.name} drops {dropped}, which the solution does not have"
        if wrong.dir.is_dir() or wrong.base is None or not wrong.drop:
            yield from manifest_problems(wrong.dir, lab, wrong=True, content=True)
    yield from manifest_problems(lab.starter, lab, content=True)
    yield from manifest_problems(lab.solution, lab, content=True)
    yield from repeated_parameters(lab)
    for short in lab.images:
        try:
            images.context_dir(short)
        except KubelabError as e:
            yield f"{where}: {e.en}"


def file_problems(paths: list[Path], lab: Lab | None) -> list[str]:
    """Manifest files checked offline (never changed): a learner's own; or one of a lab's
    own templates (its starter, solution or a wrong answer), rendered with the lab's values
    first, as verify applies it (`{{ node_port }}` is no YAML of its own)."""
    problems: list[str] = []
    for path in paths:
        own = _lab_holding(path)
        if own is None:
            problems += manifest_problems(path, lab)
        else:
            wrong = any(path.resolve().is_relative_to(w.dir.resolve()) for w in own.wrong)
            problems += manifest_problems(path, own, wrong=wrong, content=True)
    return problems


def _lab_holding(path: Path) -> Lab | None:
    """The lab whose folder holds this file, if one does."""
    resolved = path.resolve()
    return next((lab for lab in labspec.all_labs() if resolved.is_relative_to(lab.folder.resolve())), None)
