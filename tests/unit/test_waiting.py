from __future__ import annotations

import time

import pytest

from kubelab.checks import assert_that
from kubelab.errors import CheckFailed
from kubelab.waiting import wait_until


def test_returns_as_soon_as_the_assertion_holds() -> None:
    calls = []

    def third_time_lucky() -> str:
        calls.append(1)
        assert_that(len(calls) >= 3, "Pod p", "Ready", f"try {len(calls)}")
        return "done"

    assert wait_until(third_time_lucky, timeout=5, interval=0.01) == "done"
    assert len(calls) == 3


def test_timeout_raises_the_last_mismatch_not_a_retry_error() -> None:
    seen = []

    def never() -> None:
        seen.append(len(seen))
        assert_that(False, "ReplicaSet lab-01/rs", "3 Ready pods", f"{len(seen)} Ready")

    started = time.monotonic()
    with pytest.raises(CheckFailed) as caught:
        wait_until(never, timeout=0.3, interval=0.05)
    finding = caught.value.finding
    assert finding.subject == "ReplicaSet lab-01/rs"
    assert finding.expected == "3 Ready pods"
    assert finding.found == f"{len(seen)} Ready"  # the last one seen, not the first
    assert len(seen) > 1
    assert 0.25 <= finding.waited <= time.monotonic() - started + 0.1


def test_other_errors_are_not_retried() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise KeyError("spec")

    with pytest.raises(KeyError):
        wait_until(broken, timeout=5, interval=0.01)
    assert calls == [1]


def test_timeout_scale_stretches_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELAB_TIMEOUT_SCALE", "3")

    def never() -> None:
        assert_that(False, "x", "y", "z")

    with pytest.raises(CheckFailed) as caught:
        wait_until(never, timeout=0.1, interval=0.02)
    assert caught.value.finding.waited >= 0.28


def test_a_final_mismatch_is_not_waited_for() -> None:
    calls = []

    def asked_for_one() -> None:
        calls.append(1)
        assert_that(False, "ReplicaSet rs", "spec.replicas: 3", "spec.replicas: 1", final=True)

    with pytest.raises(CheckFailed) as caught:
        wait_until(asked_for_one, timeout=5, interval=0.01)
    assert calls == [1]
    assert caught.value.final and caught.value.finding.found == "spec.replicas: 1"
