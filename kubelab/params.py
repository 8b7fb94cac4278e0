"""Lab parameters: the values that make one answer's copy of a lab its own.

A lab's `lab.yaml` declares `params:`, each with a default (what the course notes use and
a learner on a laptop sees) and, for a value that two answers on one cluster must not
share, how a sandbox gets its own:

- `unique: port` — a node port: the default plus the sandbox's slot (1, 2, …);
- `unique: name` — a cluster-wide name: the default, then `-` and the sandbox's namespace;
- `unique: path` — a node folder: `/data/sandboxes/<namespace>/<param>`.

Every other parameter is one a course may set per student (`--set name=value`).
Lab texts and manifests are Jinja templates (`{{ node_port }}`), rendered in a sandboxed
environment where an unknown name is an error, never an empty string. `namespace` is
always a value too: the namespace the answer lives in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

from kubelab.errors import InputError, LabContentError
from kubelab.text import Text

if TYPE_CHECKING:
    import jinja2.sandbox

Value = int | str
Values = Mapping[str, Value]

UNIQUE = ("port", "name", "path")
SANDBOX_HOST_ROOT = "/data/sandboxes"
"""Node folder under which every sandbox's `unique: path` folders live."""
NODE_PORT_RANGE = range(30000, 32768)
SAFE = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9._/-]{0,199}$")
"""What a string value may hold: safe inside YAML, a shell line and a path."""


@dataclass(frozen=True)
class Param:
    """One declared parameter of a lab."""

    name: str
    default: Value
    unique: str | None = None
    """port, name or path: two answers on one cluster each get their own; None: shared."""
    about: Text | None = None

    def parse(self, raw: str) -> Value:
        """A value given on the command line, as this parameter's type."""
        if isinstance(self.default, int):
            try:
                value: Value = int(raw)
            except ValueError:
                raise InputError(
                    f"--set {self.name}: {raw!r} is not a whole number",
                    f"--set {self.name}: 정수가 아닙니다: {raw!r}",
                ) from None
        else:
            value = raw
        return check_value(self, value)

    def for_sandbox(self, namespace: str, slot: int) -> Value:
        """This parameter's value in the sandbox `namespace` (slot 1, 2, …)."""
        if self.unique == "port":
            return int(self.default) + slot
        if self.unique == "name":
            return f"{self.default}-{namespace}"
        if self.unique == "path":
            return f"{SANDBOX_HOST_ROOT}/{namespace}/{self.name}"
        return self.default


def check_value(param: Param, value: Value) -> Value:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError(f"parameter {param.name}: {value!r} is neither a number nor a word")
    if isinstance(value, str) and (not SAFE.match(value) or ".." in value or not _plain_word(value)):
        raise InputError(
            f"parameter {param.name}: {value!r} may hold only letters, digits and . _ / - "
            "(at most 200, no .., and not a word YAML reads as a number, true/false or null)",
            f"매개변수 {param.name}: {value!r}에는 영문자, 숫자, . _ / - 만 쓸 수 있습니다 "
            "(최대 200자, .. 불가)",
        )
    if param.unique == "port" and (not isinstance(value, int) or value not in NODE_PORT_RANGE):
        raise InputError(
            f"parameter {param.name}: {value} is not a node port (30000–32767)",
            f"매개변수 {param.name}: 값 {value}: 노드 포트(30000–32767) 범위가 아닙니다",
        )
    return value


def _plain_word(value: str) -> bool:
    """Does every YAML reader read the value as the same string (not null, true, yes,
    123, 1e3, …)? A word with a letter that is none of YAML 1.1's special words."""
    if value.lower() in YAML_WORDS or re.fullmatch(r"[-+.0-9_]*(e[-+]?[0-9]+)?", value.lower()):
        return False
    try:
        return bool(yaml.safe_load(value) == value)
    except yaml.YAMLError:
        return False


YAML_WORDS = frozenset({"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~", ".inf", ".nan"})


NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_namespace(namespace: str) -> str:
    if not NAMESPACE.match(namespace):
        raise InputError(
            f"{namespace!r} is not a namespace name (lower-case letters, digits and -, at most 63)",
            f"네임스페이스 이름으로 쓸 수 없습니다: {namespace!r} (소문자, 숫자, -, 최대 63자)",
        )
    return namespace


def parse_params(data: Mapping[str, Any] | None) -> dict[str, Param]:
    """The `params:` block of a lab.yaml (already schema-checked)."""
    params: dict[str, Param] = {}
    for name, spec in (data or {}).items():
        about = spec.get("about")
        param = Param(
            name=name,
            default=spec["default"],
            unique=spec.get("unique"),
            about=Text(ko=about["ko"], en=about["en"]) if about else None,
        )
        check_value(param, param.default)
        params[name] = param
    return params


def parse_settings(params: Mapping[str, Param], settings: Iterable[str]) -> dict[str, Value]:
    """`--set name=value` options, checked against the lab's parameters."""
    chosen: dict[str, Value] = {}
    for setting in settings:
        name, sep, raw = setting.partition("=")
        param = params.get(name.strip())
        if not sep or param is None:
            known = ", ".join(params) or "none"
            raise InputError(
                f"--set {setting!r}: expected name=value with a parameter of this lab ({known})",
                f"--set {setting!r}: 이 실습의 매개변수(name=value)여야 합니다 ({known})",
            )
        chosen[param.name] = param.parse(raw.strip())
    return chosen


def resolve(
    params: Mapping[str, Param],
    namespace: str,
    chosen: Mapping[str, Value] | None = None,
    slot: int | None = None,
) -> dict[str, Value]:
    """Every parameter's value: the sandbox's own for unique ones (with a slot), else the
    chosen value, else the default; plus `namespace`."""
    values: dict[str, Value] = {}
    for name, param in params.items():
        if slot is not None and param.unique:
            values[name] = param.for_sandbox(namespace, slot)
        elif chosen and name in chosen:
            values[name] = check_value(param, chosen[name])
        else:
            values[name] = param.default
    values["namespace"] = check_namespace(namespace)
    return values


def settings_of(params: Mapping[str, Param], values: Values) -> list[str]:
    """The `name=value` settings that reproduce `values` (the ones that differ from the
    defaults), for a child process."""
    return [
        f"{name}={values[name]}"
        for name, param in params.items()
        if name in values and values[name] != param.default
    ]


@cache
def _environment() -> jinja2.sandbox.ImmutableSandboxedEnvironment:
    import jinja2.sandbox

    return jinja2.sandbox.ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )


SIMPLE_NAME = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
"""`{{ name }}`: the only template most lab texts hold (filled in without Jinja)."""


def render(template: str, values: Values, where: str) -> str:
    """A lab text or manifest with its parameters filled in."""
    if "{{" not in template and "{%" not in template and "{#" not in template:
        return template
    if "{%" not in template and "{#" not in template and "{{" not in SIMPLE_NAME.sub("", template):
        names = SIMPLE_NAME.findall(template)
        if all(name in values for name in names):  # else Jinja says which is unknown
            return SIMPLE_NAME.sub(lambda m: str(values[m.group(1)]), template)
    import jinja2  # only for a template that is more than names

    try:
        return _environment().from_string(template).render(values)
    except jinja2.TemplateError as e:
        line = f" line {e.lineno}" if isinstance(e, jinja2.TemplateSyntaxError) else ""
        raise LabContentError(f"{where}{line}: template: {e.message or e}") from e
    except Exception as e:  # a filter given the wrong type, …: still the lab's content
        raise LabContentError(f"{where}: template: {type(e).__name__}: {e}") from e


def render_data(data: Any, values: Values, where: str) -> Any:
    """Every string in a YAML structure rendered (the structure itself is not a template,
    so no value can change it)."""
    if isinstance(data, str):
        return render(data, values, where)
    if isinstance(data, list):
        return [render_data(item, values, where) for item in data]
    if isinstance(data, dict):
        return {key: render_data(item, values, f"{where}/{key}") for key, item in data.items()}
    return data
