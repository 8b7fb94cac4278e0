"""Repository-wide pytest setup: end-to-end tests run only when asked (or under CI)."""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--e2e", action="store_true", help="run end-to-end tests against a real cluster (make e2e)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--e2e") or os.environ.get("CI"):
        return  # asked for, or CI: e2e tests run, and a missing cluster fails them
    skip = pytest.mark.skip(reason="needs a real cluster: run `make e2e` (or pytest --e2e)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)
