"""ownership.remove_all's wait, on a fake cluster whose namespaces take a while to go:
one list of each kind a look, patience past `wait` while things keep going, and an end
when nothing has gone for `wait` seconds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import pytest

from kubelab import ownership
from kubelab.kube import Kube
from tests.unit.fakes import FakeKube


class SlowKube(FakeKube):
    """A deleted namespace stays, Terminating, for `looks` more lists of its kind; one
    that `never` goes stays for good."""

    def __init__(self, looks: int, never: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.looks, self.never = looks, never
        self.going: dict[str, int] = {}
        self.lists = 0
        self.gets = 0

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        grace_seconds: int | None = None,
        uid: str | None = None,
    ) -> bool:
        self.going.setdefault(name, self.looks)
        return True

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        self.gets += 1
        return super().get(kind, name, namespace)

    def list(self, kind: str, namespace: str | None = None, selector: str = "") -> list[dict[str, Any]]:
        self.lists += 1
        for name, left in list(self.going.items()):
            if name in self.never:
                continue
            if left <= 0:
                del self.objects[(kind, None, name)]
                del self.going[name]
            else:
                self.going[name] = left - 1
        return super().list(kind, namespace, selector)


def real(kube: SlowKube) -> Kube:
    """The fake, typed as what ownership takes."""
    return cast(Kube, kube)


def namespaces(kube: SlowKube, count: int) -> list[ownership.Owned]:
    return [
        ownership.create(
            real(kube), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{n}"}}, "01", "t"
        )
        for n in range(count)
    ]


@pytest.fixture(autouse=True)
def quick_looks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(ownership, "REMOVE_POLL", 0.01)
    monkeypatch.setenv("KUBELAB_STATE", str(tmp_path / "state"))  # the ledger: this test's own
    monkeypatch.setenv("KUBELAB_TIMEOUT_SCALE", "1")


def test_many_namespaces_are_waited_for_with_one_list_a_look() -> None:
    kube = SlowKube(looks=3)
    owned = namespaces(kube, 50)
    assert ownership.remove_all(real(kube), owned, wait=5) == []
    assert kube.lists <= 6 and kube.gets == 0  # not 50 requests a look
    assert ownership.recorded(real(kube)) == []


def test_the_wait_ends_when_nothing_more_goes() -> None:
    kube = SlowKube(looks=1, never=frozenset({"ns-1"}))
    owned = namespaces(kube, 3)
    began = time.monotonic()
    left = ownership.remove_all(real(kube), owned, wait=0.3)
    assert time.monotonic() - began < 0.3 + 2.0  # not the 0.3 + REMOVE_EACH * 3 s bound
    assert len(left) == 1 and left[0].startswith("Namespace ns-1: still being deleted after")
    assert [o.name for o in ownership.recorded(real(kube))] == ["ns-1"]  # what went is forgotten


def test_the_wait_goes_on_past_wait_while_things_keep_going() -> None:
    """A class's namespaces go one after another, slower than `wait` in all."""
    kube = SlowKube(looks=0)
    owned = namespaces(kube, 10)
    kube.going = {f"ns-{n}": 5 * n for n in range(10)}  # one goes every fifth look
    began = time.monotonic()
    assert ownership.remove_all(real(kube), owned, wait=0.3) == []
    assert time.monotonic() - began > 0.3
