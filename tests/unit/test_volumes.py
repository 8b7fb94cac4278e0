"""A pod's volumes as checkers read them (kubelab.volumes), without a cluster."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from kubelab import volumes
from kubelab.errors import CheckFailed
from kubelab.kube import ExecResult


def pod() -> dict[str, Any]:
    return {
        "spec": {
            "containers": [
                {
                    "name": "writer",
                    "volumeMounts": [
                        {"name": "cache", "mountPath": "/cache"},
                        {"name": "kube-api-access-x1y2z", "mountPath": "/var/run/secrets"},
                    ],
                },
                {"name": "reader", "volumeMounts": [{"name": "cache", "mountPath": "/c", "subPath": "s"}]},
            ],
            "volumes": [
                {"name": "cache", "emptyDir": {}},
                {"name": "store", "hostPath": {"path": "/data/x"}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "pvc-a"}},
                {"name": "kube-api-access-x1y2z", "projected": {}},
            ],
        },
        "status": {
            "containerStatuses": [
                {"name": "writer", "state": {"running": {"startedAt": "2026-01-01T00:00:10Z"}}}
            ]
        },
    }


def test_the_learners_mounts_and_volumes_without_the_token_kubernetes_adds() -> None:
    assert volumes.mounts_of(pod()) == [
        volumes.Mount("writer", "cache", "/cache"),
        volumes.Mount("reader", "cache", "/c", "s"),
    ]
    assert list(volumes.volumes_of(pod())) == ["cache", "store", "data"]
    assert volumes.volume_type(volumes.volumes_of(pod())["store"]) == "hostPath"
    assert volumes.claim_volumes(pod()) == {"data": "pvc-a"}
    assert volumes.describe_volumes(pod()) == (
        "cache (emptyDir) in writer:/cache, reader:/c; store (hostPath /data/x, type (none)) not mounted; "
        "data (claim pvc-a) not mounted"
    )
    assert volumes.describe_volumes({}) == "no volumes"


def test_when_a_container_started() -> None:
    assert volumes.started_at(pod(), "writer") == 1767225610
    assert volumes.started_at(pod(), "reader") is None
    assert volumes.epoch("") is None


def test_files_listed_in_a_container() -> None:
    listing = ExecResult(0, "1767225700\n1767225690 12 ./log\n1767225600 0 ./a b\n", "")
    now, files = volumes.list_files(lambda script: listing, "/cache", "Pod ns/p", ".kubelab-")
    assert now == 1767225700
    assert files == [volumes.FileSeen("log", 1767225690, 12), volumes.FileSeen("a b", 1767225600, 0)]
    assert volumes.describe_files(files, now).startswith("log (12 bytes, written 10 s ago)")
    with pytest.raises(CheckFailed):
        volumes.list_files(lambda script: ExecResult(1, "", "no such dir"), "/x", "Pod ns/p", ".kubelab-")


def test_claim_mounts_gives_each_claims_first_mount() -> None:
    two = pod()
    two["spec"]["containers"][1]["volumeMounts"].append({"name": "data", "mountPath": "/data"})
    two["spec"]["containers"].append({"name": "late", "volumeMounts": [{"name": "data", "mountPath": "/d2"}]})
    assert volumes.claim_mounts(two) == {"pvc-a": volumes.Mount("reader", "data", "/data")}
    assert volumes.claim_mounts(pod()) == {}  # a claim's volume that is not mounted


def test_the_volume_most_containers_share_one_mount_each() -> None:
    assert volumes.shared_mounts(pod()) == [
        volumes.Mount("writer", "cache", "/cache"),
        volumes.Mount("reader", "cache", "/c", "s"),
    ]
    own = pod()
    own["spec"]["containers"][1]["volumeMounts"] = [{"name": "store", "mountPath": "/cache"}]
    assert volumes.shared_mounts(own) == []  # each container its own volume: nothing shared
    twice = pod()
    twice["spec"]["containers"][0]["volumeMounts"].append({"name": "cache", "mountPath": "/again"})
    assert [m.path for m in volumes.shared_mounts(twice)] == ["/cache", "/c"]  # the first in each


def test_paths_between_a_volume_and_a_subpath_mount() -> None:
    whole, part = volumes.Mount("writer", "cache", "/cache"), volumes.Mount("reader", "cache", "/c", "s/")
    assert volumes.in_container(whole, "s/log") == "/cache/s/log"
    assert volumes.in_container(part, "s/log") == "/c/log"
    assert volumes.in_container(part, "log") is None  # the subPath leaves it out
    assert volumes.in_volume(part, "log") == "s/log"
    assert volumes.in_volume(whole, "log") == "log"


def test_hostpath_mounts_of_a_directory_however_written() -> None:
    store = pod()
    store["spec"]["volumes"][1]["hostPath"]["path"] = "/data//x/"
    store["spec"]["containers"][0]["volumeMounts"].append({"name": "store", "mountPath": "/store"})
    assert volumes.hostpath_mounts(store, "/data/x") == [volumes.Mount("writer", "store", "/store")]
    assert volumes.hostpath_mounts(store, "/data/y") == []
    assert volumes.hostpath_mounts(pod(), "/data/x") == []  # there, but not mounted


def test_a_hostpath_whose_type_check_failed_is_final() -> None:
    refused = (
        "FailedScheduling: 0/3 nodes are available",
        'FailedMount: MountVolume.SetUp failed for volume "store" : hostPath type check failed: '
        "/data/x is not a directory",
    )
    why = volumes.hostpath_type_refused(refused)
    assert why is not None and "hostPath type check failed" in why.en and "DirectoryOrCreate" in why.en
    assert volumes.hostpath_type_refused(("FailedMount: timed out waiting for the condition",)) is None

    lab = SimpleNamespace(kube=SimpleNamespace(warning_events=lambda pod: refused))
    said = volumes.hostpath_refused(lab, pod())  # type: ignore[arg-type]
    assert said is not None and said[1] is True


def test_a_mount_is_found_at_its_path_with_or_without_a_slash_and_says_if_read_only() -> None:
    pod = {
        "spec": {
            "containers": [
                {"name": "web", "volumeMounts": [{"name": "html", "mountPath": "/srv/", "readOnly": True}]},
                {"name": "gen", "volumeMounts": [{"name": "html", "mountPath": "/out"}]},
            ]
        }
    }
    assert volumes.mount_at(pod, "web", "/srv") == volumes.Mount("web", "html", "/srv/", "", True)
    assert volumes.mount_at(pod, "gen", "/out") == volumes.Mount("gen", "html", "/out")
    assert volumes.mount_at(pod, "web", "/out") is None
