"""A lab's metadata: one `lab.yaml` per lab folder names every part of the lab.

The file is validated against `lab.schema.json` and read into frozen dataclasses, so the
CLI, the pytest plugin, lint and verify all see the same lab.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kubelab import manifests, params, repo
from kubelab.capacity import OWN_REQUESTS_CAP, Resources, cpu_millis, memory_bytes
from kubelab.errors import InputError, LabContentError
from kubelab.manifests import Document
from kubelab.params import Param, Value
from kubelab.text import Text

DEFAULT_TIMEOUT = 30.0
"""Seconds a check may wait for the cluster when lab.yaml names no timeout."""


@dataclass(frozen=True)
class CheckSpec:
    """What a teacher says about one check; the code that checks is in checkers/."""

    id: str
    """Name of the check; the checker function is `test_<id>`."""
    points: int
    """Points it is worth on the scorecard."""
    timeout: float
    """Seconds it may wait for the cluster to get there."""
    title: Text
    """What it checks, one line."""
    hint: Text
    """What to look at when it fails."""
    kubectl: str
    """The kubectl command that shows what the check looks at (parameters filled in)."""
    disturbs: bool
    """True when the check changes the cluster (deletes a pod, …) to prove behaviour."""
    needs: tuple[str, ...] = ()
    """Checks (earlier in lab.yaml) that must pass first: when one failed, this check
    is not run and says so in one line instead of repeating that failure."""
    nudges: tuple[Text, ...] = ()
    """Smaller hints (where to look), shown one per try before `hint` (which may give
    the answer) on a learner's first tries; see kubelab.hints."""
    expect: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)
    """The check written as data (kubelab.declared); none: its code is `test_<id>` in
    the lab's checker file."""

    def nudged(self, step: int = 0) -> CheckSpec:
        """This check with its nudge number `step` in place of its hint (and how to get
        more); past the last nudge, the check as it is."""
        if not 0 <= step < len(self.nudges):
            return self
        nudge = self.nudges[step]
        more = Text(
            f"{nudge.ko} (더 자세한 힌트: 다시 검사, 또는 HINT=full)",
            f"{nudge.en} (more: check again, or HINT=full)",
        )
        return replace(self, hint=more)


Step = tuple[str, ...]
"""One kubectl command, without `kubectl` and without the namespace: ("rollout", "undo", …)."""


@dataclass(frozen=True)
class WrongAnswer:
    """A known-wrong answer: manifests that must fail a named check (and pass those in
    `passes`: the one mistake costs only the checks that use it)."""

    dir: Path
    fails: str
    why: Text
    steps: tuple[Step, ...] = ()
    """kubectl commands run after the manifests are applied."""
    passes: tuple[str, ...] = ()
    base: Path | None = None
    """The folder this answer is a change of (lab.yaml `base: solution`): its files are the
    base's, each replaced by the file of the same name in `dir`, without those in `drop`,
    and with `dir`'s other files added; None: `dir` holds the whole answer."""
    drop: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.dir.name

    def kept_from_base(self) -> tuple[Path, ...]:
        """The base's files this answer keeps as they are."""
        if self.base is None:
            return ()
        own = {p.name for p in self.dir.iterdir()} if self.dir.is_dir() else set()
        changed = own | set(self.drop)
        return tuple(p for p in manifests.manifest_files([self.base]) if p.name not in changed)


@dataclass(frozen=True)
class Lab:
    """One lab, as its lab.yaml describes it, with its parameters filled in: the defaults
    in the lab's own namespace (load_lab), or one answer's values (with_values)."""

    id: str
    folder: Path
    title: Text
    summary: Text
    objectives: tuple[Text, ...]
    namespace: str
    images: tuple[str, ...]
    """Repo images the lab runs, as name:tag (built from images/<name>/)."""
    kinds: tuple[str, ...]
    """Kinds a learner's manifest for this lab may hold."""
    instructions: Text
    """Paths (relative to the lab folder) of the instructions in each language."""
    starter: Path
    solution: Path
    wrong: tuple[WrongAnswer, ...]
    solution_steps: tuple[Step, ...]
    """kubectl commands that finish the solution (what a learner types after applying)."""
    starter_steps: tuple[Step, ...]
    checks: tuple[CheckSpec, ...]
    params: Mapping[str, Param] = field(default_factory=dict)
    """What lab.yaml declares; the values filled in are `values`."""
    step_verbs: tuple[str, ...] = ()
    """kubectl verbs a graded submission's steps.txt may use (kubelab.grade); none: the
    lab's task is manifests alone."""
    sandbox_verbs: tuple[str, ...] = ()
    """RBAC verbs an answer's sandbox holds beyond the lab's kinds (lab.yaml `sandbox:
    verbs`): `bind` and `escalate` on the roles it makes, for a lab that teaches RBAC
    (kubelab.sandbox; the admission policy keeps what they grant inside the sandbox)."""
    own_requests: Resources | None = None
    """lab.yaml `sandbox: resources`: the answers' pods keep the requests and limits they
    give (none added, so one that gives none is BestEffort); at most `pods` of them ask
    for CPU or memory, each for at most `cpu` and `memory` in all, unless it asks for more
    than any node has (admitted, and Pending for good). None: the sandbox's defaults and
    quota (kubelab.sandbox)."""
    values: Mapping[str, Value] = field(default_factory=dict)
    """Each parameter's value in this copy of the lab, and `namespace`."""
    source: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """lab.yaml as read (templates not yet rendered)."""

    @property
    def answer_namespace(self) -> str:
        """The namespace this copy of the lab is for (the lab's own by default)."""
        return str(self.values.get("namespace", self.namespace))

    @property
    def node_ports(self) -> tuple[int, ...]:
        """The node ports this copy of the lab uses."""
        return tuple(int(self.values[p.name]) for p in self.params.values() if p.unique == "port")

    def param(self, name: str) -> Any:
        """A parameter's value in this copy of the lab."""
        if name not in self.params:
            raise LabContentError(f"lab {self.id} has no parameter {name!r} in lab.yaml")
        return self.values[name]

    def with_values(
        self,
        namespace: str | None = None,
        chosen: Mapping[str, Value] | None = None,
        slot: int | None = None,
    ) -> Lab:
        """This lab for one answer: in `namespace`, with the chosen values (a sandbox's
        own unique values with `slot`)."""
        values = params.resolve(self.params, namespace or self.namespace, chosen, slot)
        return _build(self.folder, self.source, values)

    def render(self, text: str, where: str) -> str:
        """A text or manifest of this lab with its parameter values filled in."""
        return params.render(text, self.values, where)

    def manifests(self, folder: Path) -> list[Document]:
        """The documents of one of the lab's own manifest folders, rendered."""
        return manifests.load([folder], self.render)

    def check(self, check_id: str) -> CheckSpec:
        for spec in self.checks:
            if spec.id == check_id:
                return spec
        raise LabContentError(f"lab {self.id} has no check {check_id!r} in lab.yaml")

    @property
    def total_points(self) -> int:
        return sum(spec.points for spec in self.checks)

    @property
    def checker(self) -> Path:
        """The pytest file holding this lab's checks."""
        return repo.checkers_dir() / f"test_lab{self.id}.py"

    def instructions_text(self, lang: str) -> str:
        relative = self.instructions.ko if lang == "ko" else self.instructions.en
        path = self.folder / relative
        return self.render(path.read_text(encoding="utf-8"), str(path))


@cache
def _schema_bytes() -> bytes:
    return (Path(__file__).parent / "lab.schema.json").read_bytes()


@cache
def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_schema_bytes())
    return loaded


def _own_requests(lab_id: str, said: Mapping[str, Any] | None) -> Resources | None:
    """lab.yaml `sandbox: resources: {per_pod: {cpu, memory}, pods}` (the schema holds its
    shape), within kubelab's caps."""
    if said is None:
        return None
    per_pod = said["per_pod"]
    try:
        own = Resources(cpu_millis(per_pod["cpu"]), memory_bytes(per_pod["memory"]), int(said["pods"]))
    except (ValueError, TypeError) as e:
        raise LabContentError(f"lab {lab_id}: sandbox.resources: not a quantity ({e})") from e
    cap = OWN_REQUESTS_CAP
    if not (0 < own.cpu <= cap.cpu and 0 < own.memory <= cap.memory and 0 < own.pods <= cap.pods):
        raise LabContentError(
            f"lab {lab_id}: sandbox.resources may let at most {cap.pods} pods ask for at most "
            f"{cap.cpu}m CPU and {cap.memory // 2**20}Mi memory each"
        )
    return own


def _text(data: dict[str, str]) -> Text:
    return Text(ko=data["ko"], en=data["en"])


def _texts(data: dict[str, str] | list[dict[str, str]] | None) -> tuple[Text, ...]:
    """One text or a list of them (lab.yaml's `nudge`)."""
    if data is None:
        return ()
    return tuple(_text(each) for each in (data if isinstance(data, list) else [data]))


def _steps(data: list[list[str]] | None) -> tuple[Step, ...]:
    return tuple(tuple(step) for step in data or [])


def _check(data: dict[str, Any], default_timeout: float) -> CheckSpec:
    return CheckSpec(
        id=data["id"],
        points=data["points"],
        timeout=float(data.get("timeout", default_timeout)),
        title=_text(data["title"]),
        hint=_text(data["hint"]),
        kubectl=data["kubectl"],
        disturbs=bool(data.get("disturbs", False)),
        needs=tuple(data.get("needs") or ()),
        nudges=_texts(data.get("nudge")),
        expect=tuple(_listed(data.get("expect"))),
    )


def _listed(data: Any) -> list[Any]:
    """One item or a list of them."""
    if data is None:
        return []
    return list(data) if isinstance(data, list) else [data]


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (the same documents, several times faster)."""


def _validate(path: Path, raw: bytes, data: Any) -> None:
    """lab.yaml against the schema; a file whose exact bytes passed before (a stamp in
    kubelab's state folder, named by their hash) is not validated again."""
    stamp = repo.state_dir() / "valid-lab-yaml" / hashlib.sha256(raw + _schema_bytes()).hexdigest()
    if stamp.exists():
        return
    import jsonschema  # only for a lab.yaml not seen before

    try:
        jsonschema.validate(data, _schema())
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        raise LabContentError(f"{path}: {where}: {e.message}") from e
    with contextlib.suppress(OSError):  # a read-only checkout validates every time
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()


def load_lab(folder: Path) -> Lab:
    """Read and validate `folder/lab.yaml`; its parameters at their defaults."""
    path = folder / "lab.yaml"
    try:
        raw = path.read_bytes()
        data = yaml.load(raw.decode("utf-8"), Loader=LOADER)  # LOADER is a safe loader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise LabContentError(f"{path}: cannot read: {e}") from e
    _validate(path, raw, data)
    try:
        declared = params.parse_params(data.get("params"))
    except InputError as e:
        raise LabContentError(f"{path}: params: {e.en}") from e
    return _build(folder, data, params.resolve(declared, data["namespace"]))


def _build(folder: Path, source: Mapping[str, Any], values: Mapping[str, Value]) -> Lab:
    """The Lab from lab.yaml's data, every text rendered with `values`."""
    declared = params.parse_params(source.get("params"))
    data = params.render_data(
        {k: v for k, v in source.items() if k != "params"}, values, str(folder / "lab.yaml")
    )
    timeout = float(data.get("default_timeout", DEFAULT_TIMEOUT))
    return Lab(
        id=data["id"],
        folder=folder,
        title=_text(data["title"]),
        summary=_text(data["summary"]),
        objectives=tuple(_text(o) for o in data["objectives"]),
        namespace=data["namespace"],
        images=tuple(data["images"]),
        kinds=tuple(data["kinds"]),
        step_verbs=tuple(data.get("step_verbs") or ()),
        sandbox_verbs=tuple((data.get("sandbox") or {}).get("verbs") or ()),
        own_requests=_own_requests(data["id"], (data.get("sandbox") or {}).get("resources")),
        instructions=Text(ko=data["instructions"]["ko"], en=data["instructions"]["en"]),
        starter=folder / data["starter"],
        solution=folder / data["solution"],
        wrong=tuple(
            WrongAnswer(
                dir=folder / w["dir"],
                fails=w["fails"],
                why=_text(w["why"]),
                steps=_steps(w.get("steps")),
                passes=tuple(w.get("passes") or ()),
                base=folder / data["solution"] if w.get("base") == "solution" else None,
                drop=tuple(w.get("drop") or ()),
            )
            for w in data["wrong"]
        ),
        solution_steps=_steps(data.get("solution_steps")),
        starter_steps=_steps(data.get("starter_steps")),
        checks=tuple(_check(c, timeout) for c in data["checks"]),
        params=declared,
        values=dict(values),
        source=source,
    )


def lab_folders() -> list[Path]:
    """Every lab folder (labs/NN-name/), in number order."""
    return sorted(p.parent for p in repo.labs_dir().glob("[0-9][0-9]-*/lab.yaml"))


def all_labs() -> list[Lab]:
    return [load_lab(folder) for folder in lab_folders()]


def normalize_id(value: str) -> str:
    """'1', '01' and 'lab-01' all name lab 01."""
    digits = value.removeprefix("lab-").removeprefix("lab")
    if not digits.isdigit() or len(digits) > 2:
        raise InputError(
            f"{value!r} is not a lab number (try `kubelab list`)",
            f"실습 번호가 아닙니다: {value!r} (`kubelab list`로 확인하세요)",
        )
    return digits.zfill(2)


def find_lab(value: str) -> Lab:
    """The lab with this number, or an InputError that lists what exists."""
    lab_id = normalize_id(value)
    for folder in lab_folders():
        if folder.name.startswith(f"{lab_id}-"):
            return load_lab(folder)
    known = ", ".join(f.name[:2] for f in lab_folders()) or "none"
    raise InputError(
        f"there is no lab {lab_id} (labs: {known})",
        f"그런 실습이 없습니다: {lab_id} (있는 실습: {known})",
    )
