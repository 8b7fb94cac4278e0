"""Checks written as data: a check's `expect:` in lab.yaml, run by the engine like a
Python check (the same deadline, settled rules, scorecard, hints, points and needs).

Three forms, each a mapping; `expect:` is one of them or a list (each must hold, in order):

- `object:` one object (`kind` and `name`) or those a label `selector` picks (then
  `count:` says how many), and `has:` the fields each must have — a partial tree, as
  chainsaw's and kuttl's asserts are. A key in parentheses is a JMESPath expression
  evaluated on the object (or the part of it the key sits in): `(length(spec.ports))`;
  a list must match item for item; a string compares as a Kubernetes quantity when both
  sides are one (`64Mi` = `67108864`). `absent: true`: no such object. kubelab adds
  JMESPath functions: `quantity(s)`, `selects(selector, labels)`, `param(name)`, `normpath(path)` (a
  lab parameter's value for the answer under check). For the learner, a
  mismatch says the path and both values, or the author's `expected:` text and the
  value of the `found:` expression (or of each in a mapping {label: expression}), with a
  `detail:` text.
- `pods:` the pods a label `selector` (or an `owner: {kind, name}`, or a `name`) picks, not being
  deleted: `count:`, and the state each must be in: `ready`, `phase`, `qos`,
  `restarts` (a number or {min, max}), `terminated` (a container's last termination
  reason, such as OOMKilled), `waiting` (a container's waiting reason).
- `can:` what an identity may do, asked of the API server (SubjectAccessReview):
  `as:` a ServiceAccount of the answer's namespace (`serviceaccount: NAME`) or a user;
  `may:` and `may_not:` lists of `VERB RESOURCE[.GROUP]` with `in NAMESPACE` or
  `cluster-wide` (default: the answer's namespace).

Python stays for what disturbs the cluster or needs logic (kubelab.checks). A mismatch
of `object` or `pods` is waited out until the check's timeout, unless `final: true` (the
answer's own fields, which waiting cannot mend) or a pod is stuck (kubelab.settled).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import jmespath
from jmespath import functions as jp_functions

from kubelab.capacity import quantity as parse_quantity
from kubelab.errors import CheckFailed, LabContentError
from kubelab.selectors import matches
from kubelab.settled import deleting, first_stuck, is_ready, restarts
from kubelab.text import Text

if TYPE_CHECKING:
    from kubelab.checks import LabContext

Obj = dict[str, Any]
UNSET = object()
"""A field the object does not have."""
PARAMS: ContextVar[Mapping[str, Any] | None] = ContextVar("declared_params", default=None)
"""The parameter values of the answer under check, for the JMESPath function param()."""


class _Functions(jp_functions.Functions):  # type: ignore[misc]
    """kubelab's JMESPath functions beside the standard ones."""

    @jp_functions.signature({"types": ["string", "number", "null"]})  # type: ignore[untyped-decorator]
    def _func_quantity(self, value: Any) -> float | None:
        try:
            return float(parse_quantity(value)) if value is not None else None
        except ValueError:
            return None

    @jp_functions.signature({"types": ["object", "null"]}, {"types": ["object", "null"]})  # type: ignore[untyped-decorator]
    def _func_selects(self, selector: Any, labels: Any) -> bool:
        """Does a selector choose these labels: a LabelSelector (matchLabels,
        matchExpressions) or a plain map of labels (a Service's spec.selector)."""
        if selector and not {"matchLabels", "matchExpressions"} & set(selector):
            selector = {"matchLabels": selector}
        return bool(selector) and matches(selector, labels or {})

    @jp_functions.signature({"types": ["string"]})  # type: ignore[untyped-decorator]
    def _func_param(self, name: str) -> Any:
        """A parameter's value for the answer under check (lab.yaml's params): a key is
        not rendered as a template, so an expression names a parameter this way."""
        return (PARAMS.get() or {}).get(name)

    @jp_functions.signature({"types": ["string", "null"]})  # type: ignore[untyped-decorator]
    def _func_normpath(self, path: Any) -> str | None:
        """A path as posixpath.normpath writes it (`/data/x/` and `/data//x` are `/data/x`)."""
        return posixpath.normpath(str(path)) if path else None


OPTIONS = jmespath.Options(custom_functions=_Functions())


@dataclass(frozen=True)
class Unevaluated:
    """An expression that could not be evaluated on this object (length(null), …): a
    mismatch the learner is told about, never an error of the check."""

    error: str

    def __str__(self) -> str:
        return f"(could not evaluate: {self.error})"


def search(expression: str, data: Any) -> Any:
    """A JMESPath expression's value on `data` (kubelab's functions included); Unevaluated
    when the live object's types do not fit the expression."""
    try:
        return jmespath.search(expression, data, options=OPTIONS)
    except jmespath.exceptions.JMESPathError as e:
        return Unevaluated(" ".join(str(e).split())[:200])


@dataclass(frozen=True)
class Mismatch:
    path: str
    """Where, e.g. spec.replicas or spec.(length(ports))."""
    expected: Any
    found: Any


def _is_expression(key: str) -> bool:
    return key.startswith("(") and key.endswith(")")


def _same_scalar(expected: Any, found: Any) -> bool:
    if isinstance(expected, bool) or isinstance(found, bool):
        return expected is found
    if expected == found:
        return True
    if isinstance(expected, (str, int, float)) and isinstance(found, (str, int, float)):
        try:
            return parse_quantity(expected) == parse_quantity(found)
        except ValueError:
            return False
    return False


def compare(expected: Any, found: Any, path: str = "") -> Mismatch | None:
    """The first place where `found` does not have what the partial tree `expected` asks."""
    if isinstance(expected, Mapping):
        if not isinstance(found, Mapping):
            return Mismatch(path or ".", expected, found)
        for key, want in expected.items():
            key = str(key)
            here = f"{path}.{key}" if path else key
            value = search(key[1:-1], found) if _is_expression(key) else found.get(key, UNSET)
            if want is None and value in (None, UNSET):
                continue
            wrong = compare(want, value, here)
            if wrong is not None:
                return wrong
        return None
    if isinstance(expected, list):
        if not isinstance(found, list) or len(found) != len(expected):
            return Mismatch(path, expected, found)
        for n, (want, value) in enumerate(zip(expected, found, strict=True)):
            wrong = compare(want, value, f"{path}[{n}]")
            if wrong is not None:
                return wrong
        return None
    return None if _same_scalar(expected, found) else Mismatch(path, expected, found)


def shown(value: Any) -> str:
    """A value as the learner reads it (YAML-ish, one line)."""
    if value is UNSET:
        return "(not set)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)


class Look:
    """One look at the cluster for a check's items: each object and list is read once,
    however many items ask for it (as a Python check reads it once)."""

    def __init__(self, lab: LabContext) -> None:
        self.lab = lab
        self.kube = lab.kube
        self.namespace = lab.namespace
        self._got: dict[tuple[str, str], Obj | None] = {}
        self._listed: dict[tuple[str, str], list[Obj]] = {}

    def subject(self, kind: str, name: str) -> str:
        """The object as the learner names it: no namespace for a cluster-scoped kind."""
        return self.lab.subject(kind, name) if self.kube.is_namespaced(kind) else f"{kind} {name}"

    def get(self, kind: str, name: str) -> Obj | None:
        if (kind, name) not in self._got:
            self._got[kind, name] = self.lab.get(kind, name)
        return self._got[kind, name]

    def list(self, kind: str, selector: str = "") -> list[Obj]:
        if (kind, selector) not in self._listed:
            self._listed[kind, selector] = self.lab.list(kind, selector)
        return self._listed[kind, selector]

    def require(self, kind: str, name: str) -> Obj:
        found = self.get(kind, name)
        return found if found is not None else self.lab.require(kind, name)


# --- the three forms ------------------------------------------------------------------


def _object(lab: Look, want: Mapping[str, Any]) -> None:
    from kubelab.checks import assert_that, fail, name_of

    spec = want["object"]
    kind = spec["kind"]
    final = bool(want.get("final", False))
    if "name" in spec:
        subject = lab.subject(kind, spec["name"])
        if want.get("absent"):
            there = lab.get(kind, spec["name"])
            assert_that(there is None, subject, "does not exist", "exists", final=final)
            return
        objects = [lab.require(kind, spec["name"])]  # else a failure naming what of that kind exists
    else:
        selector = str(spec.get("selector", ""))
        objects = [o for o in lab.list(kind, selector) if not deleting(o)]
        subject = f"{kind} in {lab.namespace} with labels {selector or '(any)'}"
        count = want.get("count", 0 if want.get("absent") else {"min": 1})  # none at all passes nothing
        if count is not None:
            names = ", ".join(name_of(o) for o in objects) or "none"
            assert_that(
                _count_ok(count, len(objects)),
                subject,
                f"{_count_text(count)} of them",
                f"{len(objects)} ({names})",
                final=final,
            )
    for obj in objects:
        wrong = compare(want.get("has") or {}, obj)
        if wrong is not None:
            where = subject if "name" in spec else lab.subject(kind, name_of(obj))
            expected = str(want.get("expected") or f"{wrong.path}: {shown(wrong.expected)}")
            found = _found(want.get("found"), obj) or f"{wrong.path}: {shown(wrong.found)}"
            detail = Text(**want["detail"]) if want.get("detail") else None
            fail(where, expected, found, detail, final=final)


def _found(shows: Any, obj: Obj) -> str:
    """What the author's `found:` shows of the object: an expression and its value, or
    for a mapping {label: expression} each label and its expression's value."""
    if isinstance(shows, Mapping):
        return ", ".join(f"{label}: {shown(search(str(e), obj))}" for label, e in shows.items())
    return f"{shows}: {shown(search(shows, obj))}" if shows else ""


def _count_ok(want: Any, n: int) -> bool:
    if isinstance(want, Mapping):
        return int(want.get("min", 0)) <= n <= int(want.get("max", n))
    return n == int(want)


def _count_text(want: Any) -> str:
    if isinstance(want, Mapping):
        low, high = want.get("min"), want.get("max")
        if high is None:
            return f"at least {low}"
        return f"at most {high}" if low is None else f"{low} to {high}"
    return str(want)


def _last_terminated(pod: Obj) -> list[str]:
    """Each container's termination reasons, now and last time. A SIGKILL (exit 137) of a
    container that has a memory limit and no probe to kill it is the kernel's OOM kill,
    whatever the runtime said: under load it can miss the cgroup's OOM event and say Error."""
    reasons = []
    specs = {c.get("name"): c for c in (pod.get("spec") or {}).get("containers") or []}
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        spec = specs.get(status.get("name")) or {}
        by_memory = bool(((spec.get("resources") or {}).get("limits") or {}).get("memory")) and not (
            spec.get("livenessProbe") or spec.get("startupProbe")
        )
        for state in ("state", "lastState"):
            done = (status.get(state) or {}).get("terminated") or {}
            if done.get("reason") == "Error" and done.get("exitCode") == 137 and by_memory:
                reasons.append("OOMKilled")
            elif done.get("reason"):
                reasons.append(str(done["reason"]))
    return reasons


def _waiting(pod: Obj) -> list[str]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return [str((s.get("state") or {}).get("waiting", {}).get("reason") or "") for s in statuses]


POD_STATES: dict[str, Callable[[Obj], Any]] = {
    "ready": is_ready,
    "phase": lambda p: (p.get("status") or {}).get("phase"),
    "qos": lambda p: (p.get("status") or {}).get("qosClass"),
    "restarts": restarts,
    "terminated": _last_terminated,
    "waiting": _waiting,
}


def _state_ok(key: str, want: Any, have: Any) -> bool:
    if key in ("terminated", "waiting"):
        return str(want) in have
    if key == "restarts":
        return _count_ok(want, int(have))
    return bool(have == want)


def _pods(lab: Look, want: Mapping[str, Any]) -> None:
    from kubelab.checks import assert_that, field, owner_uid

    spec = want["pods"]
    if "name" in spec:  # one pod by name (it must exist)
        pods = [p for p in [lab.require("Pod", spec["name"])] if not deleting(p)]
        subject = lab.subject("Pod", spec["name"])
    else:
        pods = [p for p in lab.list("Pod", str(spec.get("selector", ""))) if not deleting(p)]
        subject = f"pods in {lab.namespace} with labels {spec.get('selector') or '(any)'}"
    if "owner" in spec:
        owner = lab.require(spec["owner"]["kind"], spec["owner"]["name"])
        pods = [p for p in pods if owner_uid(p) == field(owner, "metadata.uid")]
        subject = f"pods of {lab.subject(spec['owner']['kind'], spec['owner']['name'])}"
    states = {k: v for k, v in want.items() if k in POD_STATES}
    fitting = [p for p in pods if all(_state_ok(k, v, POD_STATES[k](p)) for k, v in states.items())]
    asked = ", ".join(f"{k}: {shown(v)}" for k, v in states.items())
    count = want.get("count", {"min": 1})
    wants_running = states.get("ready") is True or states.get("phase") == "Running"
    one = "name" in spec and "count" not in want  # a pod by its name: say its state, not a count
    assert_that(
        _count_ok(count, len(fitting)) and len(fitting) == len(pods),
        subject,
        asked if one and asked else f"{_count_text(count)} pods" + (f", each {asked}" if asked else ""),
        _pod_facts(pods, states)
        if one and pods
        else f"{len(fitting)} of {len(pods)} so ({_pod_facts(pods, states)})",
        final=bool(want.get("final", False)),
        settled=first_stuck(pods) if wants_running else None,
    )


def _pod_facts(pods: Sequence[Obj], states: Mapping[str, Any]) -> str:
    """Each pod's state as kubectl get pods says it (Ready, or why not), and the other
    states asked about."""
    from kubelab.checks import pod_states

    told = [k for k in states if k not in ("ready", "phase")]
    return (
        ", ".join(pod_states([p]) + "".join(f", {k} {shown(POD_STATES[k](p))}" for k in told) for p in pods)
        or "no pods"
    )


def _identity(lab: Look, who: Mapping[str, Any]) -> tuple[str, list[str], str]:
    """The user and groups the API server sees, and how the learner names it."""
    if "serviceaccount" in who:
        name = str(who["serviceaccount"])
        ns = str(who.get("namespace", lab.namespace))
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]
        return f"system:serviceaccount:{ns}:{name}", groups, f"ServiceAccount {ns}/{name}"
    user = str(who["user"])
    return user, [*who.get("groups", []), "system:authenticated"], f"user {user}"


def parse_action(text: str, namespace: str) -> tuple[dict[str, str], str]:
    """`get pods`, `create deployments.apps in other`, `list nodes cluster-wide`,
    `get pods/log` → SubjectAccessReview resourceAttributes, and the words again."""
    words = text.split()
    if len(words) not in (2, 3, 4) or (len(words) == 4 and words[2] != "in"):
        raise LabContentError(f"can: {text!r} is not 'VERB RESOURCE [in NAMESPACE | cluster-wide]'")
    verb, resource = words[0], words[1]
    resource, _, subresource = resource.partition("/")
    plural, _, group = resource.partition(".")
    where = namespace
    if len(words) == 3:
        if words[2] != "cluster-wide":
            raise LabContentError(f"can: {text!r}: write `in NAMESPACE` or `cluster-wide`")
        where = ""
    elif len(words) == 4:
        where = words[3]
    attributes = {"verb": verb, "resource": plural, "group": group, "namespace": where}
    if subresource:
        attributes["subresource"] = subresource
    return attributes, text


def _can(lab: Look, want: Mapping[str, Any]) -> None:
    from kubelab.checks import assert_that, field

    user, groups, who = _identity(lab, want["can"]["as"])
    asks = [(a, True) for a in want["can"].get("may") or []] + [
        (a, False) for a in want["can"].get("may_not") or []
    ]
    for text, allowed in asks:  # polled: the authorizer follows new bindings a moment later
        attributes, said = parse_action(str(text), lab.namespace)
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": groups, "resourceAttributes": attributes},
        }
        answer = lab.kube.create(review)
        got = bool(field(answer, "status.allowed"))
        reason = str(field(answer, "status.reason") or "")
        assert_that(
            got is allowed,
            who,
            f"{'may' if allowed else 'may not'} {said}",
            f"{'may' if got else 'may not'} {said}" + (f" ({reason})" if reason else ""),
        )


FORMS: dict[str, Callable[[Look, Mapping[str, Any]], None]] = {
    "object": _object,
    "pods": _pods,
    "can": _can,
}


def form_of(want: Mapping[str, Any]) -> str:
    """Which form a declaration is: its one key among FORMS."""
    named = [key for key in FORMS if key in want]
    if len(named) != 1:
        raise LabContentError(f"expect: each item names one of {', '.join(FORMS)}; this one: {sorted(want)}")
    return named[0]


def checker(expect: Sequence[Mapping[str, Any]]) -> Callable[[LabContext], None]:
    """The check's code for its declaration: every item must hold, polled together
    until they do (or a failure is final) within the check's timeout. A converged answer
    passes on the first look, without setting up the wait."""
    items = [(FORMS[form_of(want)], want) for want in expect]

    def check(lab: LabContext) -> None:
        def holds() -> None:
            look = Look(lab)
            for run, want in items:
                run(look, want)

        token = PARAMS.set(dict(getattr(lab.lab, "values", None) or {}))
        try:
            holds()
        except CheckFailed as e:
            if e.final:
                raise
            lab.eventually(holds)
        finally:
            PARAMS.reset(token)

    return check


OWNS_NO_PODS = ("Deployment", "CronJob")
"""Kinds whose pods belong to an object they made (a ReplicaSet, a Job), so `pods: owner:`
would pick none of them."""
FORM_KEYS = {
    "object": {"object", "has", "absent", "count", "final", "expected", "found", "detail"},
    "pods": {"pods", "count", "final", *POD_STATES},
    "can": {"can"},
}
"""The keys each form reads (the schema allows any of them on any item)."""


def problems(expect: Sequence[Mapping[str, Any]]) -> list[str]:
    """What is wrong with a check's declaration, found without a cluster: its forms, its
    JMESPath expressions, its `can` actions."""
    found: list[str] = []
    for n, want in enumerate(expect):
        try:
            form = form_of(want)
        except LabContentError as e:
            found.append(f"expect[{n}]: {e.en}")
            continue
        stray = sorted(set(want) - FORM_KEYS[form])
        if stray:
            found.append(
                f"expect[{n}]: {', '.join(stray)}: not a key of the {form} form (it would be ignored)"
            )
        owner = (want.get("pods") or {}).get("owner") if form == "pods" else None
        if isinstance(owner, Mapping) and owner.get("kind") in OWNS_NO_PODS:
            found.append(
                f"expect[{n}]: owner {owner['kind']}: it owns no pod directly (its ReplicaSet does); "
                "select its pods by label"
            )
        if form == "can":
            for action in [*(want["can"].get("may") or []), *(want["can"].get("may_not") or [])]:
                try:
                    parse_action(str(action), "ns")
                except LabContentError as e:
                    found.append(f"expect[{n}]: {e.en}")
        shows = want.get("found")
        expressions = (
            [str(e) for e in shows.values()] if isinstance(shows, Mapping) else [str(shows)] if shows else []
        )
        expressions += _expression_keys(want.get("has") or {})
        for expression in expressions:
            try:
                jmespath.compile(expression)
                jmespath.search(expression, {}, options=OPTIONS)  # an unknown function, a wrong arity
            except (jmespath.exceptions.UnknownFunctionError, jmespath.exceptions.ArityError) as e:
                found.append(f"expect[{n}]: {expression!r}: {e}")
            except jmespath.exceptions.JMESPathTypeError:
                pass  # an empty object's types, not the live one's
            except jmespath.exceptions.JMESPathError as e:
                found.append(f"expect[{n}]: not a JMESPath expression: {expression!r} ({e})")
    return found


def _expression_keys(tree: Any) -> list[str]:
    if isinstance(tree, Mapping):
        keys = [str(k)[1:-1] for k in tree if _is_expression(str(k))]
        return keys + [e for v in tree.values() for e in _expression_keys(v)]
    if isinstance(tree, list):
        return [e for v in tree for e in _expression_keys(v)]
    return []
