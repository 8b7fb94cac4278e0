"""Label selectors, evaluated the way the API server does (for checks and diagnoses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _expression_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op = expr["key"], expr["operator"]
    values = set(expr.get("values") or [])
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    raise ValueError(f"unknown selector operator {op!r}")


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Does a LabelSelector (matchLabels + matchExpressions) select these labels?

    An empty selector selects everything, as in the API.
    """
    selector = selector or {}
    labels = labels or {}
    match_labels = selector.get("matchLabels") or selector.get("match_labels") or {}
    expressions = selector.get("matchExpressions") or selector.get("match_expressions") or []
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    return all(_expression_matches(e, labels) for e in expressions)


def to_query(selector: Mapping[str, Any] | None) -> str:
    """The selector as a `kubectl get -l` / labelSelector query string."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], ",".join(expr.get("values") or [])
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }[op]
        )
    return ",".join(parts)


def describe_labels(labels: Mapping[str, str] | None) -> str:
    """labels as `a=1,b=2` (or `(no labels)`)."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "(no labels)"
