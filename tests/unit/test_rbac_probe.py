"""Which object proves the RBAC admission policy (rule 6) in force for a lab (no cluster)."""

from __future__ import annotations

from dataclasses import replace

from kubelab import labspec, sandbox


def test_the_rbac_policy_is_probed_with_an_object_of_the_labs_own_kinds() -> None:
    """Lab 09's answers make Roles: the probe is a Role the policy refuses by its name,
    granting nothing (so no escalation check refuses it first); lab 01's make none."""
    rbac = labspec.find_lab("09")
    probe = sandbox._rbac_probe(rbac)
    assert probe is not None and probe["kind"] == "Role" and probe["rules"] == []
    assert probe["metadata"]["name"].startswith(f"{sandbox.ANSWER}-")
    bindings_only = replace(rbac, kinds=("ServiceAccount", "ClusterRoleBinding"))
    binding = sandbox._rbac_probe(bindings_only)
    assert binding is not None and binding["subjects"][0]["kind"] == "User"
    assert binding["roleRef"]["name"] == f"{sandbox.ANSWER}-{rbac.answer_namespace}"
    assert sandbox._rbac_probe(labspec.find_lab("01")) is None
