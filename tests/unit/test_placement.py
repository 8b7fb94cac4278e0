"""Where a pod template may run, as a drain sees it (kubelab.placement): how a node is
closed to a copy, what names a node, what narrows its nodes; without a cluster."""

from __future__ import annotations

from kubelab.placement import closed_to, pinned_by_name, pinned_where_one_node_is, tie

NOT_W1 = {"key": "metadata.name", "operator": "NotIn", "values": ["w1"]}


def test_closing_a_node_adds_to_every_term_and_leaves_the_original() -> None:
    zone = {"key": "zone", "operator": "In", "values": ["a"]}
    spec = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [zone]}, {"matchFields": []}]
                }
            }
        }
    }
    closed = closed_to(spec, "w1")
    terms = closed["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert all(NOT_W1 in t["matchFields"] for t in terms) and terms[0]["matchExpressions"] == [zone]
    assert (
        "matchFields"
        not in spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ][0]
    )


def test_closing_a_node_on_a_spec_without_affinity_makes_one_term() -> None:
    closed = closed_to({"nodeName": "w1", "containers": []}, "w1")
    assert "nodeName" not in closed
    required = closed["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert required["nodeSelectorTerms"] == [{"matchFields": [NOT_W1]}]


def test_what_names_a_node() -> None:
    assert pinned_by_name({"nodeName": "w1"})
    assert pinned_by_name({"nodeSelector": {"kubernetes.io/hostname": "w1"}})
    by_field = {"key": "metadata.name", "operator": "In", "values": ["w1"]}
    assert pinned_by_name(
        {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchFields": [by_field]}]
                    }
                }
            }
        }
    )
    zoned = {"nodeSelector": {"topology.kubernetes.io/zone": "ap-northeast-2a"}}
    assert not pinned_by_name(zoned)  # a zone may have many nodes: the scheduler's fit decides
    assert pinned_where_one_node_is(zoned) == "nodeSelector topology.kubernetes.io/zone=ap-northeast-2a"
    assert not pinned_where_one_node_is({"nodeSelector": {"disktype": "ssd"}})


def test_what_ties_a_template_said_for_the_learner() -> None:
    assert tie({"nodeName": "w1"}) == "spec.nodeName: w1"
    assert tie({"nodeSelector": {"disktype": "ssd", "gpu": "no"}}) == "nodeSelector disktype=ssd,gpu=no"
    required = {"nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Exists"}]}]}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}
    assert tie({"nodeSelector": {"disktype": "ssd"}, "affinity": affinity}) == (
        "nodeSelector disktype=ssd, a required node affinity"
    )
    assert tie({}) == "taints it does not tolerate"
