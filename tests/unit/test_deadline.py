"""One deadline per check, passed down: every wait under it ends when it ends."""

from __future__ import annotations

import time

import pytest

from kubelab import deadline
from kubelab.checks import assert_that
from kubelab.errors import CheckFailed
from kubelab.waiting import wait_until


def test_outside_any_deadline_the_callers_bound_holds() -> None:
    assert deadline.current() is None
    assert deadline.bound(15) == 15
    assert deadline.remaining(7) == 7


def test_an_inner_deadline_never_outlives_the_outer_one() -> None:
    with deadline.within(1.0) as outer:
        with deadline.within(60) as inner:
            assert inner.at == outer.at
        assert deadline.current() is outer
    assert deadline.current() is None


def test_bound_is_what_is_left_but_never_below_a_moment() -> None:
    with deadline.within(0.0):
        assert deadline.bound(15) == deadline.MIN_BOUND
    with deadline.within(5.0):
        assert 4.0 < deadline.bound(15) <= 5.0


def test_a_fresh_deadline_ignores_an_expired_one() -> None:
    with deadline.within(0.0), deadline.fresh(30) as cleanup:
        assert cleanup.remaining() > 29


def test_waits_under_a_check_share_its_deadline() -> None:
    """Three waits of 5 s each under a 0.6 s deadline take 0.6 s in all, not 15 s."""
    calls = []

    def never() -> None:
        calls.append(1)
        assert_that(False, "Pod p", "Ready", "Pending")

    started = time.monotonic()
    with deadline.within(0.6):
        for _ in range(3):
            with pytest.raises(CheckFailed):
                wait_until(never, timeout=5, interval=0.05)
    assert time.monotonic() - started < 1.5
    assert len(calls) >= 3  # each wait still looks once, even at the deadline
