"""Issue 13: every cloud's cluster reads the same way. Its outputs are class annotations with a
docstring each (the Protocol's too), its constructor is a table of contents of named steps, and
a step doing the same job has the same name on every cloud (`grep "def _gpu_pool"`).

Read from the source (ast), so no cloud SDK is imported.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "components" / "inference_cluster"
CLUSTERS = {
    "aws": "EksInferenceCluster",
    "gcp": "GkeInferenceCluster",
    "azure": "AksInferenceCluster",
    "onprem": "OnpremInferenceCluster",
}
STEPS = {
    "_network": {"aws", "gcp"},
    "_node_identity": {"aws", "gcp"},
    "_secrets_key": {"aws", "gcp"},
    "_audit_logs": {"aws", "azure"},
    "_control_plane": {"aws", "gcp", "azure"},
    "_system_pool": {"aws", "gcp", "azure"},
    "_gpu_pool": {"aws", "gcp", "azure", "onprem"},
    "_workload_identity": {"aws", "gcp", "azure", "onprem"},
    "_kubeconfig": {"aws", "gcp", "azure", "onprem"},
    "_autoscaler": {"aws"},
    "_public_address": {"aws", "gcp", "azure"},
}
"""Which clouds have which step; a cloud without one does that job elsewhere (GKE and AKS scale
and install the device plugin themselves, AKS creates its system pool inline)."""
TABLE_OF_CONTENTS_LINES = 40


def _class(module: str, name: str) -> ast.ClassDef:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)


def _documented_annotations(cls: ast.ClassDef) -> dict[str, int]:
    """Annotated class attribute -> how many docstrings follow it."""
    found: dict[str, int] = {}
    current = None
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            current = node.target.id
            found[current] = 0
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and current:
            found[current] += 1
        else:
            current = None
    return found


def _methods(cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}


def test_every_protocol_output_has_exactly_one_docstring() -> None:
    protocol = _documented_annotations(_class("args", "InferenceCluster"))
    assert protocol, "the InferenceCluster Protocol declares no outputs"
    assert {name: count for name, count in protocol.items() if count != 1} == {}


@pytest.mark.parametrize("cloud", CLUSTERS)
def test_every_cluster_declares_each_output_with_its_docstring(cloud: str) -> None:
    protocol = set(_documented_annotations(_class("args", "InferenceCluster")))
    declared = _documented_annotations(_class(cloud, CLUSTERS[cloud]))
    assert protocol - set(declared) == set()
    assert {name: count for name, count in declared.items() if count != 1} == {}


@pytest.mark.parametrize("cloud", CLUSTERS)
def test_the_constructor_is_a_table_of_contents_ending_in_register_outputs(cloud: str) -> None:
    init = _methods(_class(cloud, CLUSTERS[cloud]))["__init__"]
    assert init.end_lineno is not None
    assert init.end_lineno - init.lineno + 1 <= TABLE_OF_CONTENTS_LINES
    last = init.body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
    assert ast.unparse(last.value.func) == "self.register_outputs"


@pytest.mark.parametrize("step", STEPS)
def test_a_step_has_the_same_name_on_every_cloud_that_has_it(step: str) -> None:
    has = {cloud for cloud, name in CLUSTERS.items() if step in _methods(_class(cloud, name))}
    assert has == STEPS[step]


@pytest.mark.parametrize("cloud", CLUSTERS)
def test_every_step_the_constructor_calls_is_one_of_the_shared_names(cloud: str) -> None:
    init = _methods(_class(cloud, CLUSTERS[cloud]))["__init__"]
    called = {
        node.func.attr
        for node in ast.walk(init)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and ast.unparse(node.func.value) == "self"
        and node.func.attr.startswith("_")
    }
    cloud_only = {
        "aws": {"_network_policy"},
        "gcp": {"_enable_apis"},
        "azure": {"_prerequisites", "_deployer_access"},
    }
    assert called - set(STEPS) - cloud_only.get(cloud, set()) == set()


def test_the_lb_controller_policy_is_on_star_only_where_it_names_an_unknown_vpc() -> None:
    pytest.importorskip("pulumi_aws")
    from components.inference_cluster import aws_lb

    known = aws_lb.controller_policy("aws", "us-east-1", "123456789012", "c", "vpc-1")
    unknown = aws_lb.controller_policy("aws", "us-east-1", "123456789012", "c", None)
    assert "${" not in json.dumps(known) + json.dumps(unknown)
    changed = [
        (a["Action"], b["Resource"])
        for a, b in zip(known["Statement"], unknown["Statement"], strict=True)
        if a != b
    ]
    assert changed == [("ec2:GetSecurityGroupsForVpc", "*"), ("ec2:CreateSecurityGroup", "*")]
    assert "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1" in json.dumps(known)
