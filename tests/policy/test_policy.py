"""The policy pack's rules over every cloud pair's plan, and one failing resource per rule.

The rules are the same functions `pulumi preview --policy-pack policy` runs; PolicyPack itself is
never constructed in-process (it blocks waiting for the engine): its wiring is checked by running
policy/__main__.py in a subprocess against a recording stand-in for pulumi_policy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from offline.harness import ROOT, ProgramRun
from policy import rules
from policy.rules import RULES, PlannedResource, violations
from tests.support import PAIR_IDS, PAIRS, pair

SHA = "sha256:" + "ab" * 32


def planned(run: ProgramRun) -> list[PlannedResource]:
    return [
        PlannedResource(r.type, r.name, r.inputs, r.urn, r.dependencies)
        for r in run.resources
        if r.custom and not r.type.startswith("pulumi:providers:")
    ]


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_every_planned_resource_of_the_pair_passes_the_policy_pack(primary: str, standby: str) -> None:
    found = [
        f"{run.stack}: {rule}: {resource.type} {resource.name}: {message}"
        for run in pair(primary, standby)
        for rule, resource, message in violations(planned(run))
    ]
    checked = sum(len(planned(run)) for run in pair(primary, standby))
    print(f"{primary}-to-{standby}: {checked} resources, {len(RULES)} rules, {len(found)} violations")
    assert found == []


def test_the_rules_see_every_kind_of_resource_they_guard() -> None:
    """Guards the test above: the pairs contain what each rule inspects, so a pass means something."""
    types = {r.type for p, s in PAIRS for run in pair(p, s) for r in planned(run)}
    guarded = {
        "kubernetes:core/v1:Service",
        "aws:eks/cluster:Cluster",
        "gcp:container/cluster:Cluster",
        "azure-native:containerservice:ManagedCluster",
        "aws:s3/bucket:Bucket",
        "gcp:storage/bucket:Bucket",
        "azure-native:storage:StorageAccount",
        "aws:kms/key:Key",
        "gcp:kms/cryptoKey:CryptoKey",
        "azure-native:keyvault:Key",
        "aws:iam/rolePolicy:RolePolicy",
        "azure-native:authorization:RoleAssignment",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:batch/v1:CronJob",
        "aws:cloudwatch/logGroup:LogGroup",
    }
    assert guarded <= types, sorted(guarded - types)


# --- one bad resource per rule --------------------------------------------------------------------


def _pod(containers: list[dict[str, Any]], **pod: Any) -> dict[str, Any]:
    return {
        "spec": {"template": {"metadata": pod.pop("metadata", {}), "spec": {"containers": containers, **pod}}}
    }


GOOD_CONTAINER = {
    "name": "app",
    "image": f"example.org/app:1.0@{SHA}",
    "securityContext": {"readOnlyRootFilesystem": True, "runAsNonRoot": True},
}
KEY_POLICY_ROOT = {
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": "kms:*",
    "Resource": "*",
}

# rule -> (bad resource type, bad props, fragment of the message, a good variant's props)
CASES: dict[str, tuple[str, dict[str, Any], str, dict[str, Any]]] = {
    "no-plain-http-public-listener": (
        "kubernetes:core/v1:Service",
        {"spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80.0}]}},
        "port 80 (http)",
        {"spec": {"type": "LoadBalancer", "ports": [{"name": "https", "port": 443}]}},
    ),
    "customer-managed-keys": (
        "azure-native:storage:StorageAccount",
        {"encryption": {"keySource": "Microsoft.Storage"}},
        "Microsoft-managed keys",
        {"encryption": {"keySource": "Microsoft.Keyvault"}},
    ),
    "keys-rotate": (
        "aws:kms/key:Key",
        {"enableKeyRotation": False},
        "rotation is off",
        {"enableKeyRotation": True},
    ),
    "no-wildcard-allow": (
        "aws:iam/rolePolicy:RolePolicy",
        {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})},
        "every resource",
        {
            "policy": json.dumps(
                {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}
            )
        },
    ),
    "kubernetes-api-restricted": (
        "aws:eks/cluster:Cluster",
        {"vpcConfig": {"endpointPublicAccess": True}},
        "accepts any address",
        {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]}},
    ),
    "images-pinned-by-digest": (
        "kubernetes:apps/v1:Deployment",
        _pod([{**GOOD_CONTAINER, "image": "vllm/vllm-openai:v0.11.0"}]),
        "not pinned by @sha256 digest",
        _pod([GOOD_CONTAINER]),
    ),
    "pods-non-root-read-only-root": (
        "kubernetes:batch/v1:Job",
        _pod([{**GOOD_CONTAINER, "securityContext": {}}]),
        "writable root filesystem",
        _pod([GOOD_CONTAINER]),
    ),
}


def _rule(name: str) -> rules.Rule:
    return next(r for r in RULES if r.name == name)


def test_every_rule_has_a_failing_case() -> None:
    assert {r.name for r in RULES} == set(CASES) | {"private-versioned-buckets"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_fails_on_a_bad_resource_and_passes_the_fixed_one(name: str) -> None:
    type_, bad, fragment, good = CASES[name]
    check = _rule(name).resource
    assert check is not None
    messages = check(type_, bad)
    assert messages and any(fragment in m for m in messages), messages
    assert check(type_, good) == []


def test_private_versioned_buckets_fails_on_an_unversioned_public_bucket() -> None:
    bucket = PlannedResource("aws:s3/bucket:Bucket", "models", {}, urn="urn:bucket")
    check = _rule("private-versioned-buckets").stack
    assert check is not None
    messages = [m for _, m in check([bucket])]
    assert any("BucketVersioning" in m for m in messages) and any(
        "public access block" in m for m in messages
    )
    fixed = [
        bucket,
        PlannedResource(
            "aws:s3/bucketVersioning:BucketVersioning",
            "v",
            {"versioningConfiguration": {"status": "Enabled"}},
            dependencies=("urn:bucket",),
        ),
        PlannedResource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "b",
            dict.fromkeys(
                ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
            ),
            dependencies=("urn:bucket",),
        ),
    ]
    assert check(fixed) == []
    gcs = PlannedResource("gcp:storage/bucket:Bucket", "m", {"versioning": {"enabled": False}})
    assert len(check([gcs])) == 2
    locked = {
        "retentionPolicy": {"isLocked": True, "retentionPeriod": 86400},
        "publicAccessPrevention": "enforced",
        "uniformBucketLevelAccess": True,
    }
    assert check([PlannedResource("gcp:storage/bucket:Bucket", "audit", locked)]) == []


@pytest.mark.parametrize(
    ("type_", "props", "fragment"),
    [
        ("gcp:projects/iAMMember:IAMMember", {"role": "roles/editor"}, "primitive role"),
        (
            "azure-native:authorization:RoleAssignment",
            {
                "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
                "8e3af657-a8ff-443c-a75c-2fe8c4f5a7e4"
            },
            "Owner",
        ),
        (
            "aws:kms/key:Key",
            {"policy": json.dumps({"Statement": [{**KEY_POLICY_ROOT, "Principal": "*"}]})},
            "any principal",
        ),
        (
            "aws:iam/role:Role",
            {"assumeRolePolicy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "*"}]})},
            "every action",
        ),
    ],
)
def test_no_wildcard_allow_covers_gcp_azure_and_resource_policies(
    type_: str, props: dict[str, Any], fragment: str
) -> None:
    assert any(fragment in m for m in rules.no_wildcard_allow(type_, props))


def test_star_resource_is_accepted_only_for_read_only_or_conditioned_statements() -> None:
    def problems(statement: dict[str, Any]) -> list[str]:
        policy = {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Resource": "*", **statement}]})}
        return rules.no_wildcard_allow("aws:iam/rolePolicy:RolePolicy", policy)

    assert problems({"Action": ["ec2:DescribeVpcs", "elasticloadbalancing:DescribeTags"]}) == []
    condition = {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}
    assert problems({"Action": "iam:CreateServiceLinkedRole", "Condition": condition}) == []
    assert problems({"Action": "ec2:CreateSecurityGroup"})
    assert problems({"Action": ["ec2:DescribeVpcs", "ec2:DeleteSecurityGroup"]})


def test_key_policy_may_delegate_kms_to_the_account_root_only() -> None:
    ok = {"policy": json.dumps({"Statement": [KEY_POLICY_ROOT]})}
    assert rules.no_wildcard_allow("aws:kms/key:Key", ok) == []
    to_role = {**KEY_POLICY_ROOT, "Principal": {"AWS": "arn:aws:iam::123456789012:role/x"}}
    assert rules.no_wildcard_allow("aws:kms/key:Key", {"policy": json.dumps({"Statement": [to_role]})})


def test_root_is_accepted_only_with_a_written_reason() -> None:
    root = _pod([{**GOOD_CONTAINER, "securityContext": {"readOnlyRootFilesystem": True}}])
    assert any(
        "may run as root" in m for m in rules.pods_non_root_read_only("kubernetes:apps/v1:DaemonSet", root)
    )
    reasoned = _pod(
        [{**GOOD_CONTAINER, "securityContext": {"readOnlyRootFilesystem": True}}],
        metadata={"annotations": {rules.RUNS_AS_ROOT_ANNOTATION: "needs the kubelet socket"}},
    )
    assert rules.pods_non_root_read_only("kubernetes:apps/v1:DaemonSet", reasoned) == []


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        ("gcp:container/cluster:Cluster", {"privateClusterConfig": {"enablePrivateEndpoint": False}}),
        ("azure-native:containerservice:ManagedCluster", {"apiServerAccessProfile": {}}),
    ],
)
def test_kubernetes_api_rule_covers_gke_and_aks(type_: str, props: dict[str, Any]) -> None:
    assert rules.kubernetes_api_restricted(type_, props)


def test_an_explicit_open_allowlist_is_a_recorded_choice_and_passes() -> None:
    explicit = {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}}
    assert rules.kubernetes_api_restricted("aws:eks/cluster:Cluster", explicit) == []


# --- the pack itself ----------------------------------------------------------------------------

_RECORDING_PULUMI_POLICY = """
import json, os
class EnforcementLevel:
    MANDATORY = "mandatory"
    ADVISORY = "advisory"
class _Policy:
    def __init__(self, **kwargs):
        self.kwargs = kwargs
class ResourceValidationPolicy(_Policy):
    kind = "resource"
class StackValidationPolicy(_Policy):
    kind = "stack"
class PolicyPack:
    def __init__(self, name, policies, **kwargs):
        with open(os.environ["POLICY_PACK_RECORD"], "w") as out:
            json.dump({"name": name, "policies": [
                {"kind": p.kind, "name": p.kwargs["name"], "level": p.kwargs["enforcement_level"],
                 "callable": callable(p.kwargs["validate"])} for p in policies]}, out)
ReportViolation = ResourceValidationArgs = StackValidationArgs = object
"""


def test_policy_pack_registers_every_rule_as_mandatory(tmp_path: Path) -> None:
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "pulumi_policy.py").write_text(textwrap.dedent(_RECORDING_PULUMI_POLICY))
    record = tmp_path / "pack.json"
    env = {**os.environ, "PYTHONPATH": str(stub), "POLICY_PACK_RECORD": str(record)}
    # Run from the policy directory, as `pulumi preview --policy-pack policy` does.
    subprocess.run([sys.executable, "__main__.py"], cwd=ROOT / "policy", env=env, check=True, timeout=60)
    pack = json.loads(record.read_text())
    assert pack["name"] == "inference-failover-secure-defaults"
    assert [(p["name"], p["level"], p["callable"]) for p in pack["policies"]] == [
        (r.name, "mandatory", True) for r in RULES
    ]
    kinds = {p["name"]: p["kind"] for p in pack["policies"]}
    assert kinds["private-versioned-buckets"] == "stack" and kinds["customer-managed-keys"] == "resource"


def test_policy_pack_declares_its_own_pinned_dependency() -> None:
    requirements = (ROOT / "policy" / "requirements.txt").read_text().splitlines()
    assert "pulumi-policy==1.21.0" in requirements
    assert "runtime:" in (ROOT / "policy" / "PulumiPolicy.yaml").read_text()


class _ReadOnlyMapping(Mapping[str, Any]):
    """What the policy engine hands to validators: Mapping/Sequence proxies, never dict/list."""

    def __init__(self, target: dict[str, Any]) -> None:
        self._target = target

    def __getitem__(self, key: str) -> Any:
        return _read_only(self._target[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._target)

    def __len__(self) -> int:
        return len(self._target)


class _ReadOnlySequence(Sequence[Any]):
    def __init__(self, target: list[Any]) -> None:
        self._target = target

    def __getitem__(self, index: Any) -> Any:
        return _read_only(self._target[index])

    def __len__(self) -> int:
        return len(self._target)


def _read_only(value: Any) -> Any:
    if isinstance(value, dict):
        return _ReadOnlyMapping(value)
    if isinstance(value, list):
        return _ReadOnlySequence(value)
    return value


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_rules_judge_the_engines_read_only_proxies_like_plain_values(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        plain = planned(run)
        proxied = [
            PlannedResource(r.type, r.name, _read_only(dict(r.props)), r.urn, r.dependencies) for r in plain
        ]
        assert [(n, r.urn, m) for n, r, m in violations(proxied)] == [
            (n, r.urn, m) for n, r, m in violations(plain)
        ]
    for name, (type_, bad, _, good) in CASES.items():
        check = _rule(name).resource
        assert check is not None
        assert check(type_, _read_only(bad)) == check(type_, bad)
        assert check(type_, _read_only(good)) == []
