from __future__ import annotations

import pytest

from kubelab.selectors import describe_labels, matches, to_query

SET_BASED = {
    "matchLabels": {"tier": "frontend"},
    "matchExpressions": [{"key": "environment", "operator": "In", "values": ["production", "qa"]}],
}


@pytest.mark.parametrize(
    ("labels", "chosen"),
    [
        ({"tier": "frontend", "environment": "production"}, True),
        ({"tier": "frontend", "environment": "qa"}, True),
        ({"tier": "frontend", "environment": "dev"}, False),
        ({"environment": "production"}, False),
        ({"tier": "frontend"}, False),
    ],
)
def test_set_based_selector_is_evaluated_like_the_api_server(labels: dict[str, str], chosen: bool) -> None:
    assert matches(SET_BASED, labels) is chosen


def test_notin_and_exists_operators() -> None:
    notin = {"matchExpressions": [{"key": "environment", "operator": "NotIn", "values": ["staging"]}]}
    assert matches(notin, {"environment": "dev"})
    assert matches(notin, {})  # NotIn also chooses pods without the key, as in the API
    assert not matches(notin, {"environment": "staging"})
    exists = {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}
    assert matches(exists, {"tier": "x"}) and not matches(exists, {"app": "x"})
    absent = {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}
    assert matches(absent, {"app": "x"}) and not matches(absent, {"tier": "x"})


def test_empty_selector_chooses_everything() -> None:
    assert matches({}, {"a": "b"}) and matches(None, None)


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="Near"):
        matches({"matchExpressions": [{"key": "a", "operator": "Near"}]}, {})


def test_query_string_is_what_kubectl_get_l_takes() -> None:
    assert to_query(SET_BASED) == "tier=frontend,environment in (production,qa)"
    assert to_query({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}) == "!a"
    assert describe_labels({"b": "2", "a": "1"}) == "a=1,b=2"
    assert describe_labels(None) == "(no labels)"
