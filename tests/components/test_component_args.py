"""Boundary tests of every component Args rule, generated from tables (DNS: test_dns_args.py).

For each Args dataclass: every default (the field left out), every numeric limit at its value
(accepted) and one past it (refused with the exact message), every cross-field rule on both sides
of its edge, and that the error lists every problem at once. The Args are checked in
`__post_init__`, before any resource exists, so no Pulumi engine is needed here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from unittest.mock import MagicMock

import pytest

from components.audit.args import AuditStoreArgs
from components.common import Placement, WorkloadIdentity
from components.data_plane_access import DataPlaneAccess
from components.image_registry.args import (
    ImageRegistryArgs,
    ImageRegistryArgsError,
    RegistryCredentials,
    parse_image,
)
from components.inference_cluster.args import (
    CLOUD_GPU_SCHEDULING,
    KUBERNETES_VERSION,
    InferenceClusterArgs,
    InferenceClusterArgsError,
    InferenceWorkloadArgs,
    _is_pinned,
)
from components.object_store.args import (
    RCLONE_IMAGE,
    VAULT_LOGIN_IMAGE,
    CrossCloudReplicationArgs,
    ModelStoreArgs,
)
from components.observability.args import ObservabilityArgs, ObservabilityArgsError
from components.observability.rules import AlertThresholds
from components.problems import ARGS_CODES, ArgProblem, ArgsError, Problem
from components.secrets_vault.args import SecretsVaultArgs

DIGEST = "sha256:" + "0" * 64
IMAGE = "vllm/vllm-openai:v0.11.0@" + DIGEST


def placement(cloud: str = "aws", **changes: Any) -> Placement:
    extra: dict[str, Any] = {
        "gcp": {"gcp_project": "acme-inference"},
        "azure": {"azure_resource_group": "rg"},
    }.get(cloud, {})
    region = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}[cloud]
    return Placement(
        **{"cloud": cloud, "region": region, "provider": MagicMock(), "stack": "primary", **extra, **changes}
    )  # type: ignore[arg-type]


def identity(cloud: str = "aws") -> WorkloadIdentity:
    return WorkloadIdentity(cloud, "arn:role", "role", None, "inference", "inference-server")  # type: ignore[arg-type]


def refused(build: Callable[[], object], error: type[Exception] = ValueError) -> str:
    """The error's message without the Args' code, which it checks every problem line ends with."""
    with pytest.raises(error) as caught:
        build()
    assert isinstance(caught.value, ArgsError)
    code = caught.value.code
    assert code in ARGS_CODES.values(), code
    lines = str(caught.value).splitlines()
    listed = [i for i, line in enumerate(lines) if line.startswith("  - ")] or [0]
    assert all(lines[i].endswith(f" [{code}]") for i in listed), lines
    return "\n".join(line.removesuffix(f" [{code}]") for line in lines)


def problems_of(build: Callable[[], object], error: type[Exception] = ValueError) -> list[str]:
    """The '  - ' lines of the error each Args raises."""
    return [line[4:] for line in refused(build, error).splitlines()[1:]]


def defaults(cls: type) -> dict[str, Any]:
    return {
        f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }


# --- audit store ------------------------------------------------------------------------------


def audit(**changes: Any) -> AuditStoreArgs:
    return AuditStoreArgs(**{"placement": placement(), "model_store": MagicMock(), **changes})


def test_audit_store_defaults() -> None:
    assert defaults(AuditStoreArgs) == {"retention_days": 365, "deletion_protection": True}


@pytest.mark.parametrize(("ok", "past"), [(1, 0), (36500, 36501)])
def test_audit_retention_limits(ok: int, past: int) -> None:
    assert audit(retention_days=ok).retention_days == ok
    assert refused(lambda: audit(retention_days=past)) == (
        f"stack config 'auditRetentionDays' must be between 1 and 36500 (got {past}): "
        "set it in Pulumi.primary.yaml"
    )


# --- secrets vault ----------------------------------------------------------------------------


def vault(cloud: str = "aws", **changes: Any) -> SecretsVaultArgs:
    base: dict[str, Any] = {
        "placement": placement(cloud),
        "secrets": {"apiKey": "v"},
        "reader": identity(cloud),
    }
    return SecretsVaultArgs(**{**base, **changes})


def test_secrets_vault_defaults() -> None:
    assert defaults(SecretsVaultArgs) == {
        "key_rotation_period_days": 90,
        "recovery_window_days": 30,
        "deletion_protection": True,
        "network_access": DataPlaneAccess(),
        "openbao": None,
    }
    assert vault("gcp").placement.gcp_project and vault("azure").placement.azure_resource_group


VAULT_LIMITS = [
    (
        "key_rotation_period_days",
        90,
        89,
        "key_rotation_period_days must be between 90 and 2560 (got 89): AWS KMS rejects anything else",
    ),
    (
        "key_rotation_period_days",
        2560,
        2561,
        "key_rotation_period_days must be between 90 and 2560 (got 2561): AWS KMS rejects anything else",
    ),
    (
        "recovery_window_days",
        7,
        6,
        "recovery_window_days must be between 7 and 30 (got 6): AWS allows no "
        "longer window, and a shorter one (or 0, force delete) is not offered",
    ),
    (
        "recovery_window_days",
        30,
        31,
        "recovery_window_days must be between 7 and 30 (got 31): AWS allows no "
        "longer window, and a shorter one (or 0, force delete) is not offered",
    ),
]


@pytest.mark.parametrize(("field", "ok", "past", "message"), VAULT_LIMITS)
def test_secrets_vault_limits(field: str, ok: int, past: int, message: str) -> None:
    assert getattr(vault(**{field: ok}), field) == ok
    assert refused(lambda: vault(**{field: past})) == (
        f"invalid SecretsVaultArgs for stack 'primary':\n  - {message}"
    )


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("a", True),
        ("a" * 63, True),
        ("apiKey2", True),
        ("a" * 64, False),
        ("1key", False),
        ("api-key", False),
        ("", False),
    ],
)
def test_secret_names_valid_on_every_cloud(name: str, ok: bool) -> None:
    if ok:
        assert list(vault(secrets={name: "v"}).secrets) == [name]
    else:
        assert problems_of(lambda: vault(secrets={name: "v"})) == [
            f"secret name {name!r} is not valid on every cloud: expected a letter then up to 62 letters or "
            "digits; rename it in `secretNames` in Pulumi.primary.yaml"
        ]


def test_an_openbao_vault_is_for_onprem_only() -> None:
    assert problems_of(lambda: vault(openbao=MagicMock())) == [
        "openbao is set but the vault is on aws: leave it None (the clouds use their own vault)"
    ]
    assert problems_of(
        lambda: SecretsVaultArgs(
            placement=placement_onprem(), secrets={"apiKey": "v"}, reader=identity("onprem")
        )
    ) == [
        "openbao is required on onprem (got None): set `vaultAddress` in Pulumi.primary.yaml (the stack's "
        "OpenBao / Vault)"
    ]


def placement_onprem() -> Placement:
    return Placement(cloud="onprem", region="site-a", provider=MagicMock(), stack="primary")


def test_secrets_vault_cross_field_rules_all_at_once() -> None:
    assert problems_of(
        lambda: SecretsVaultArgs(
            placement=placement("gcp", gcp_project=None),
            secrets={},
            reader=identity("aws"),
            network_access=DataPlaneAccess(cidrs=("10.0.0.0/8", "nope")),
        )
    ) == [
        "secrets is empty: the vault needs at least one secret for the workload (got none); list them in "
        "`secretNames` in Pulumi.primary.yaml (default ['apiKey']) and set each with `pulumi config set "
        "--secret <name> <value> -s primary`",
        "reader identity is on aws but the vault is on gcp: pass the workload identity of the cluster in the "
        "same stack and cloud",
        "placement.gcp_project is required on gcp (got None): set `gcpProject` in Pulumi.primary.yaml",
        "network_access.cidrs entry must be a public range (got '10.0.0.0/8'): Azure firewalls admit private "
        "addresses only through a subnet (subnet_ids)",
        "network_access.cidrs entry must be a CIDR such as 203.0.113.0/24 (got 'nope')",
    ]
    assert problems_of(lambda: vault("azure", placement=placement("azure", azure_resource_group=None))) == [
        "placement.azure_resource_group is required on azure (got None): build the placement with "
        "infra.providers.Providers.placement('azure')"
    ]
    assert problems_of(lambda: vault(secrets={"apiKey": "a", "APIKEY": "b"})) == [
        "secret names 'apiKey' and 'APIKEY' differ only in case, but Azure Key Vault secret names are "
        "case-insensitive; rename one in `secretNames` in Pulumi.primary.yaml"
    ]
    # An azure resource group that is an Output (not yet known) is set; only None is missing.
    assert vault("azure", placement=placement("azure", azure_resource_group="")).placement.cloud == "azure"
    assert vault(network_access=DataPlaneAccess(cidrs=("20.30.40.0/24",))).network_access.cidrs


# --- inference cluster ------------------------------------------------------------------------


def cluster(cloud: str = "aws", **changes: Any) -> InferenceClusterArgs:
    base: dict[str, Any] = {
        "placement": placement(cloud),
        "gpu_type": "l4",
        "gpu_machine_type": "g6.2xlarge",
        "gpu_accelerator": "nvidia-l4" if cloud == "gcp" else None,
        "gpus_per_node": 1,
        "gpu_node_count": 1,
        "gpu_max_node_count": 1,
    }
    return InferenceClusterArgs(**{**base, **changes})


def test_inference_cluster_defaults() -> None:
    assert defaults(InferenceClusterArgs) == {
        "kubernetes_version": KUBERNETES_VERSION,
        "system_node_count": 2,
        "system_machine_type": None,
        "gpu_node_disk_size_gib": 300,
        "api_allowed_cidrs": (),
        "deletion_protection": True,
        "gpu_zones": (),
        "onprem": None,
    }
    assert KUBERNETES_VERSION == "1.35"


CLUSTER_LIMITS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    (
        {"gpus_per_node": 1},
        {"gpus_per_node": 0},
        "gpus_per_node must be at least 1 (got 0): pass a positive count",
    ),
    (
        {"gpus_per_node": 8},
        {"gpus_per_node": 9},
        "gpus_per_node must be at most 8 (got 9): no node sells more",
    ),
    (
        {"gpu_node_count": 1},
        {"gpu_node_count": 0, "gpu_max_node_count": 0},
        "gpu_node_count must be at least 1 (got 0): pass a positive count\n  - gpu_max_node_count must be at "
        "least 1 (got 0): pass a positive count",
    ),
    (
        {"system_node_count": 1},
        {"system_node_count": 0},
        "system_node_count must be at least 1 (got 0): pass a positive count",
    ),
    (
        {"gpu_node_count": 3, "gpu_max_node_count": 3},
        {"gpu_node_count": 3, "gpu_max_node_count": 2},
        "gpu_max_node_count must be at least gpu_node_count (3) (got 2): "
        "raise maxNodeCount in the stack config",
    ),
    (
        {"gpu_node_disk_size_gib": 100},
        {"gpu_node_disk_size_gib": 99},
        "gpu_node_disk_size_gib must be at least 100 (got 99): "
        "the serving image and the model copy live on it",
    ),
    (
        {"gpu_zones": ("use1-az1", "use1-az2")},
        {"gpu_zones": ("use1-az1", "use1-az1")},
        "gpu_zones must not repeat a zone (got ['use1-az1', 'use1-az1'])",
    ),
    (
        {"kubernetes_version": "1.36"},
        {"kubernetes_version": "1.35.2"},
        "kubernetes_version must be a minor version such as 1.35 (got '1.35.2'): patch versions are managed "
        "by the cloud",
    ),
    (
        {"api_allowed_cidrs": ("203.0.113.0/24", "2001:db8::/32")},
        {"api_allowed_cidrs": ("203.0.113.0/33",)},
        "api_allowed_cidrs entry must be a CIDR such as 203.0.113.0/24 (got '203.0.113.0/33')",
    ),
    (
        {"gpu_machine_type": "g6.xlarge"},
        {"gpu_machine_type": ""},
        "gpu_machine_type must be set (got ''): pick a shape from infra.catalog",
    ),
]


@pytest.mark.parametrize(
    ("ok", "bad", "message"), CLUSTER_LIMITS, ids=[str(next(iter(b))) for _, b, _ in CLUSTER_LIMITS]
)
def test_inference_cluster_limits(ok: dict[str, Any], bad: dict[str, Any], message: str) -> None:
    accepted = cluster(**ok)
    assert all(getattr(accepted, k) == v for k, v in ok.items())
    assert refused(lambda: cluster(**bad), InferenceClusterArgsError) == (
        f"invalid InferenceClusterArgs:\n  - {message}"
    )


def test_inference_cluster_cloud_rules() -> None:
    assert cluster("gcp").gpu_accelerator == "nvidia-l4"
    assert problems_of(
        lambda: cluster("gcp", gpu_accelerator=None, placement=placement("gcp", gcp_project=None)),
        InferenceClusterArgsError,
    ) == [
        "gpu_accelerator is required on gcp (got None): pass the catalogue shape's accelerator, e.g. "
        "nvidia-l4 for g2-standard-8",
        "placement.gcp_project is required on gcp (got nothing): set gcpProject",
    ]
    assert problems_of(
        lambda: cluster("azure", placement=placement("azure", azure_resource_group=None)),
        InferenceClusterArgsError,
    ) == [
        "placement.azure_resource_group is required on azure (got nothing): "
        "use Providers.placement('azure'), which creates the stack's resource group"
    ]
    # Only gcp needs an accelerator; aws and azure sell GPUs with the instance type.
    assert cluster("aws", gpu_accelerator=None).gpu_accelerator is None
    assert cluster("azure", gpu_accelerator=None).placement.cloud == "azure"


def test_inference_cluster_and_workload_problems_name_their_field_and_value() -> None:
    with pytest.raises(InferenceClusterArgsError) as caught:
        cluster(gpus_per_node=9, gpu_node_disk_size_gib=99)
    found = [(p.key, p.value, p.allowed) for p in caught.value.problems if isinstance(p, Problem)]
    assert found == [("gpus_per_node", 9, "at most 8"), ("gpu_node_disk_size_gib", 99, "at least 100")]
    assert {p.code for p in caught.value.problems if isinstance(p, Problem)} == {""}  # the error's code
    assert caught.value.code == "IF-ARG-001"
    with pytest.raises(InferenceClusterArgsError) as caught:
        workload(replicas=0)
    (problem,) = caught.value.problems
    assert isinstance(problem, ArgProblem)
    assert (problem.key, problem.value, problem.fix, caught.value.code) == (
        "replicas",
        0,
        "warm capacity runs one",
        "IF-ARG-002",
    )


# --- inference workload -----------------------------------------------------------------------


def workload(cloud: str = "aws", **changes: Any) -> InferenceWorkloadArgs:
    base: dict[str, Any] = {
        "cloud": cloud,
        "k8s_provider": MagicMock(),
        "identity": identity(cloud),
        "image": IMAGE,
        "model_name": "llama",
        "model_uri": "s3://bucket/models/llama/",
        "replicas": 1,
        "gpus_per_replica": 1,
        "secret_refs": {"apiKey": "arn:secret"},
        "service_name": "api.example.com",
        "api_key_digests": "digest\n",
        "certificate_issuer": "letsencrypt",
    }
    return InferenceWorkloadArgs(**{**base, **changes})


def test_inference_workload_defaults() -> None:
    assert defaults(InferenceWorkloadArgs) == {
        "api_key_secret": "apiKey",
        "server_port": 8000,
        "service_port": 443,
        "model_volume_size_gib": 150,
        "model_load_budget_seconds": 2400,
        "model_download_budget_seconds": 1800,
        "cpu_request_millicores": 2000,
        "memory_request_gib": 8,
        "fetch_image": None,
        "extra_server_args": (),
        "tensor_parallel_size": None,
        "max_model_len": None,
        "gpu_memory_utilization": None,
        "wait_for_ready": True,
        "load_balancer_source_cidrs": (),
        "health_checker_cidrs": (),
        "health_checker_annotations": None,
        "public_address": None,
        "service_name": "",
        "api_key_digests": None,
        "tls_source": "acme",
        "certificate_issuer": None,
        "provided_certificate_sha256": None,
        "tls_certificate_secret": "tlsCertificateChain",
        "tls_key_secret": "tlsPrivateKey",
        "gpu_scheduling": CLOUD_GPU_SCHEDULING,
        "model_endpoint": None,
        "egress_ports": (443,),
        "mirror_registry": None,
        "vault_login": None,
    }


WORKLOAD_LIMITS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"replicas": 1}, {"replicas": 0}, "replicas must be at least 1 (got 0): warm capacity runs one"),
    ({"gpus_per_replica": 1}, {"gpus_per_replica": 0}, "gpus_per_replica must be between 1 and 8 (got 0)"),
    ({"gpus_per_replica": 8}, {"gpus_per_replica": 9}, "gpus_per_replica must be between 1 and 8 (got 9)"),
    (
        {"gpus_per_replica": 4, "tensor_parallel_size": 4},
        {"gpus_per_replica": 4, "tensor_parallel_size": 5},
        "tensor_parallel_size must be between 1 and gpus_per_replica (4) (got 5)",
    ),
    (
        {"tensor_parallel_size": 1},
        {"tensor_parallel_size": 0},
        "tensor_parallel_size must be between 1 and gpus_per_replica (1) (got 0)",
    ),
    ({"max_model_len": 1}, {"max_model_len": 0}, "max_model_len must be a positive token count (got 0)"),
    (
        {"gpu_memory_utilization": 1.0},
        {"gpu_memory_utilization": 1.01},
        "gpu_memory_utilization must be greater than 0 and at most 1 (got 1.01)",
    ),
    (
        {"gpu_memory_utilization": 0.01},
        {"gpu_memory_utilization": 0.0},
        "gpu_memory_utilization must be greater than 0 and at most 1 (got 0.0)",
    ),
    ({"server_port": 1}, {"server_port": 0}, "server_port must be a TCP port 1-65535 (got 0)"),
    ({"server_port": 65535}, {"server_port": 65536}, "server_port must be a TCP port 1-65535 (got 65536)"),
    (
        {"model_load_budget_seconds": 60},
        {"model_load_budget_seconds": 59},
        "model_load_budget_seconds and model_download_budget_seconds must be at least 60 (got 59, 1800)",
    ),
    (
        {"model_download_budget_seconds": 60},
        {"model_download_budget_seconds": 59},
        "model_load_budget_seconds and model_download_budget_seconds must be at least 60 (got 2400, 59)",
    ),
    (
        {"model_volume_size_gib": 1},
        {"model_volume_size_gib": 0},
        "model_volume_size_gib must be at least 1 (got 0)",
    ),
    (
        {"model_name": "m"},
        {"model_name": "  "},
        "model_name must be set (got ''): it is what clients pass as `model`",
    ),
    (
        {"load_balancer_source_cidrs": ("198.51.100.0/24",)},
        {"load_balancer_source_cidrs": ("198.51.100.0/24", "any")},
        "load_balancer_source_cidrs entry must be a CIDR (got 'any')",
    ),
    (
        {"image": MagicMock()},  # an Output: checked by whoever produced it
        {"image": "vllm/vllm-openai:v0.11.0"},
        "image must be pinned by digest, <image>@sha256:<64 hex> (got 'vllm/vllm-openai:v0.11.0')",
    ),
    (
        {"fetch_image": "amazon/aws-cli:2.17.0"},
        {"fetch_image": "amazon/aws-cli:latest"},
        "fetch_image must be pinned to a version tag or digest (got 'amazon/aws-cli:latest')",
    ),
    (
        {"service_port": 443},
        {"service_port": 8443},
        "service_port must be 443 (got 8443): the edge serves HTTPS only",
    ),
    (
        {"service_name": "a.example.com"},
        {"service_name": ""},
        "service_name must be the service's DNS name, e.g. api.example.com (got ''): the edge serves a "
        "certificate for it",
    ),
    (
        {"api_key_digests": ""},
        {"api_key_digests": None},
        "api_key_digests must be set (got None): pass edge_proxy.render_key_digests([apiKey, apiKeyNext])",
    ),
    (
        {"tls_source": "provided", "certificate_issuer": None},
        {"tls_source": "self-signed"},
        "tls_source must be acme, provided or internal-ca (got 'self-signed')",
    ),
    (
        {"certificate_issuer": "x"},
        {"certificate_issuer": ""},
        "certificate_issuer is required with tls_source acme (got nothing): pass the issuer name of "
        "CertManager or InternalCa, or use tls_source provided",
    ),
]


@pytest.mark.parametrize(
    ("ok", "bad", "message"),
    WORKLOAD_LIMITS,
    ids=[f"{next(iter(b))}={list(b.values())[-1]!r}" for _, b, _ in WORKLOAD_LIMITS],
)
def test_inference_workload_limits(ok: dict[str, Any], bad: dict[str, Any], message: str) -> None:
    accepted = workload(**ok)
    assert all(getattr(accepted, k) == v for k, v in ok.items())
    assert refused(lambda: workload(**bad), InferenceClusterArgsError) == (
        f"invalid InferenceWorkloadArgs:\n  - {message}"
    )


def test_a_vault_login_is_for_onprem_only() -> None:
    assert refused(lambda: workload(vault_login=MagicMock()), InferenceClusterArgsError) == (
        "invalid InferenceWorkloadArgs:\n  - vault_login is required on onprem and unused on the clouds "
        "(cloud aws, got a login): pass SecretsVault.workload_login"
    )
    assert (
        "vault_login is required on onprem and unused on the clouds (cloud onprem, got None): "
        "pass SecretsVault.workload_login"
    ) in problems_of(lambda: workload("onprem"), InferenceClusterArgsError)


def test_inference_workload_reports_every_problem_at_once() -> None:
    assert problems_of(
        lambda: workload("gcp", identity=identity("aws"), service_port=0, replicas=0, api_key_digests=None),
        InferenceClusterArgsError,
    ) == [
        "api_key_digests must be set (got None): pass edge_proxy.render_key_digests([apiKey, apiKeyNext])",
        "service_port must be 443 (got 0): the edge serves HTTPS only",
        "replicas must be at least 1 (got 0): warm capacity runs one",
        "service_port must be a TCP port 1-65535 (got 0)",
        "identity is a aws identity but the workload runs on gcp: pass the cluster's own identity "
        "(InferenceCluster.identity)",
    ]


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("amazon/aws-cli:2.17.0", True),
        ("amazon/aws-cli@" + DIGEST, True),
        ("registry:5000/aws-cli:2", True),
        ("amazon/aws-cli", False),
        ("amazon/aws-cli:latest", False),
        ("amazon/aws-cli:", False),
        ("registry:5000/aws-cli", False),
    ],
)
def test_what_counts_as_a_pinned_helper_image(image: str, pinned: bool) -> None:
    assert _is_pinned(image) is pinned


# --- model store and cross-cloud replication --------------------------------------------------


def store(cloud: str = "aws", **changes: Any) -> ModelStoreArgs:
    return ModelStoreArgs(**{"placement": placement(cloud), "reader": identity(cloud), **changes})


def test_model_store_defaults() -> None:
    assert defaults(ModelStoreArgs) == {
        "secondary_region": None,
        "fast_replication": True,
        "secondary_read_access": True,
        "soft_delete_retention_days": 7,
        "kms_deletion_window_days": 30,
        "deletion_protection": True,
        "network_access": DataPlaneAccess(),
        "s3_compatible": None,
    }


STORE_LIMITS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    (
        {"soft_delete_retention_days": 1},
        {"soft_delete_retention_days": 0},
        "soft_delete_retention_days must be between 1 and 90 (got 0): pick a value in that range",
    ),
    (
        {"soft_delete_retention_days": 90},
        {"soft_delete_retention_days": 91},
        "soft_delete_retention_days must be between 1 and 90 (got 91): pick a value in that range",
    ),
    (
        {"kms_deletion_window_days": 7},
        {"kms_deletion_window_days": 6},
        "kms_deletion_window_days must be between 7 and 30 (what AWS KMS accepts) (got 6)",
    ),
    (
        {"kms_deletion_window_days": 30},
        {"kms_deletion_window_days": 31},
        "kms_deletion_window_days must be between 7 and 30 (what AWS KMS accepts) (got 31)",
    ),
    (
        {"secondary_region": "us-west-2"},
        {"secondary_region": "us-east-1"},
        "secondary_region must differ from the store's region 'us-east-1' (got 'us-east-1'): a copy in the "
        "same region does not survive its outage",
    ),
    (
        {"reader": identity("aws")},
        {"reader": identity("gcp")},
        "reader identity is on gcp but the store is on aws: pass the workload identity of the cluster in the "
        "same stack",
    ),
    (
        {"network_access": DataPlaneAccess(cidrs=("20.30.40.0/24",))},
        {"network_access": DataPlaneAccess(cidrs=("192.168.0.0/16",))},
        "network_access.cidrs entry must be a public range (got '192.168.0.0/16'): Azure firewalls admit "
        "private addresses only through a subnet (subnet_ids)",
    ),
]


@pytest.mark.parametrize(
    ("ok", "bad", "message"),
    STORE_LIMITS,
    ids=[str(next(iter(b))) + str(i) for i, (_, b, _) in enumerate(STORE_LIMITS)],
)
def test_model_store_limits(ok: dict[str, Any], bad: dict[str, Any], message: str) -> None:
    accepted = store(**ok)
    assert all(getattr(accepted, k) == v for k, v in ok.items())
    assert refused(lambda: store(**bad)) == f"invalid ModelStoreArgs for stack 'primary':\n  - {message}"


def test_an_onprem_store_needs_its_s3_endpoint() -> None:
    assert refused(lambda: ModelStoreArgs(placement=placement_onprem(), reader=identity("onprem"))) == (
        "invalid ModelStoreArgs for stack 'primary':\n  - s3_compatible must be set for an onprem store "
        "(got None): pass S3CompatibleStore(endpoint=..., credentials_path=..., vault_address=...) from the "
        "stack config s3Endpoint, s3CredentialsPath and vaultAddress"
    )


def replication(**changes: Any) -> CrossCloudReplicationArgs:
    base: dict[str, Any] = {
        "target": placement("gcp", stack="standby"),
        "target_store": SimpleNamespace(cloud="gcp"),
        "source_cloud": "aws",
        "source_store": {},
        "source_provider": MagicMock(),
        "interval_minutes": 15,
        "target_cluster": MagicMock(),
    }
    return CrossCloudReplicationArgs(**{**base, **changes})


def test_replication_defaults() -> None:
    assert defaults(CrossCloudReplicationArgs) == {
        "paused": False,
        "rclone_image": RCLONE_IMAGE,
        "job_timeout_minutes": 360,
        "namespace": "model-replication",
        "vault_login_image": VAULT_LOGIN_IMAGE,
    }


REPLICATION_LIMITS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    (
        {"job_timeout_minutes": 5},
        {"job_timeout_minutes": 4},
        "job_timeout_minutes must be at least 5 (got 4)",
    ),
    (
        {"source_cloud": "azure"},
        {"source_cloud": "gcp"},
        "source_cloud must differ from the standby's cloud 'gcp' (got 'gcp'): set `primaryCloud` to the "
        "primary stack's cloud",
    ),
    (
        {"target_store": SimpleNamespace(cloud="gcp")},
        {"target_store": SimpleNamespace(cloud="aws")},
        "target_store is on aws but target is on gcp: pass the standby's own model store",
    ),
    (
        {"rclone_image": "rclone/rclone:1.75.2"},
        {"rclone_image": "rclone/rclone"},
        "rclone_image must be pinned to a version tag or @sha256 digest (got 'rclone/rclone')",
    ),
    (
        {"rclone_image": "registry:5000/rclone@" + DIGEST},
        {"rclone_image": "rclone/rclone:latest"},
        "rclone_image must be pinned to a version tag or @sha256 digest (got 'rclone/rclone:latest')",
    ),
    (
        {"vault_login_image": "quay.io/openbao/openbao:2.5.5"},
        {"vault_login_image": "quay.io/openbao/openbao"},
        "vault_login_image must be pinned to a version tag or @sha256 digest (got 'quay.io/openbao/openbao')",
    ),
    (
        # Two on-prem sites are two failure domains.
        {
            "source_cloud": "onprem",
            "target": placement_onprem(),
            "target_store": SimpleNamespace(cloud="onprem"),
        },
        {
            "source_cloud": "aws",
            "target": placement("aws", stack="standby"),
            "target_store": SimpleNamespace(cloud="aws"),
        },
        "source_cloud must differ from the standby's cloud 'aws' (got 'aws'): set `primaryCloud` to the "
        "primary stack's cloud",
    ),
    (
        {"rclone_image": "registry:5000/rclone:1.75"},
        {"rclone_image": "registry:5000/rclone"},
        "rclone_image must be pinned to a version tag or @sha256 digest (got 'registry:5000/rclone')",
    ),
]


@pytest.mark.parametrize(
    ("ok", "bad", "message"), REPLICATION_LIMITS, ids=[f"{i}" for i in range(len(REPLICATION_LIMITS))]
)
def test_replication_limits(ok: dict[str, Any], bad: dict[str, Any], message: str) -> None:
    accepted = replication(**ok)
    assert all(getattr(accepted, k) == v for k, v in ok.items())
    assert refused(lambda: replication(**bad)) == (
        f"invalid CrossCloudReplicationArgs for stack 'standby':\n  - {message}"
    )


# --- observability ----------------------------------------------------------------------------


def observability(cloud: str = "aws", **changes: Any) -> ObservabilityArgs:
    base: dict[str, Any] = {
        "placement": placement(cloud),
        "k8s_provider": MagicMock(),
        "cluster_name": "c",
        "oidc_issuer_url": "https://oidc.example.com",
        "oidc_provider_arn": "arn:aws:iam::123456789012:oidc-provider/x" if cloud == "aws" else None,
        "role": "primary",
        "model_name": "m",
    }
    return ObservabilityArgs(**{**base, **changes})


def test_observability_defaults() -> None:
    assert defaults(ObservabilityArgs) == {
        "thresholds": AlertThresholds(),
        "emails": (),
        "webhooks": (),
        "budget_monthly_usd": None,
        "gcp_billing_account": None,
        "route53_health_check_id": None,
        "traffic_manager_endpoint_id": None,
        "depends_on": (),
        "dns_health_check_path": "/health",
        "dns_health_check_port": 443,
        "dns_uptime_check_host": None,
    }


OBSERVABILITY_LIMITS: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        "aws",
        {"budget_monthly_usd": 0.01},
        {"budget_monthly_usd": 0.0},
        "budget_monthly_usd must be greater than 0 (got 0.0): pass None for no budget",
    ),
    (
        "aws",
        {"budget_monthly_usd": None},
        {"budget_monthly_usd": -1.0},
        "budget_monthly_usd must be greater than 0 (got -1.0): pass None for no budget",
    ),
    (
        "aws",
        {"emails": ("ops@example.com", "a.b+c@mail.example.co")},
        {"emails": ("ops@example",)},
        "emails entry must be an email address (got 'ops@example')",
    ),
    (
        "aws",
        {"emails": ("x@example.museum",)},
        {"emails": ("ops example@example.com",)},
        "emails entry must be an email address (got 'ops example@example.com')",
    ),
    (
        "aws",
        {"webhooks": ("https://hooks.example.com/x",)},
        {"webhooks": ("http://hooks.example.com/x",)},
        "webhooks entry must be an https:// URL (got 'http://hooks.example.com/x'): plain http is refused",
    ),
    (
        "aws",
        {"oidc_provider_arn": "arn"},
        {"oidc_provider_arn": None},
        "oidc_provider_arn is required on aws (got None): pass the cluster's OIDC provider",
    ),
    (
        "gcp",
        {"budget_monthly_usd": 100.0, "gcp_billing_account": "012345-6789AB-CDEF01"},
        {"budget_monthly_usd": 100.0},
        "gcp_billing_account is required on gcp with a budget (got None): set gcpBillingAccount",
    ),
]


@pytest.mark.parametrize(
    ("cloud", "ok", "bad", "message"),
    OBSERVABILITY_LIMITS,
    ids=[str(i) for i in range(len(OBSERVABILITY_LIMITS))],
)
def test_observability_limits(cloud: str, ok: dict[str, Any], bad: dict[str, Any], message: str) -> None:
    accepted = observability(cloud, **ok)
    assert all(getattr(accepted, k) == v for k, v in ok.items())
    assert refused(lambda: observability(cloud, **bad), ObservabilityArgsError) == (
        f"invalid ObservabilityArgs:\n  - {message}"
    )


def test_observability_needs_no_oidc_provider_or_billing_account_off_their_clouds() -> None:
    assert observability("gcp").oidc_provider_arn is None  # no budget: no billing account needed
    assert observability("azure", budget_monthly_usd=10.0).budget_monthly_usd == 10.0


# --- image registry ---------------------------------------------------------------------------


def registry(cloud: str = "aws", **changes: Any) -> ImageRegistryArgs:
    base: dict[str, Any] = {
        "placement": placement(cloud),
        "image": "quay.io/acme/vllm:v1@" + DIGEST,
        "puller": "nodes",
    }
    return ImageRegistryArgs(**{**base, **changes})


def test_image_registry_defaults() -> None:
    assert defaults(ImageRegistryArgs) == {"credentials": None, "secrets_key": None, "secrets_key_ready": ()}


CREDS = RegistryCredentials("acme-ci", "token")
REGISTRY_RULES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        "aws",
        {"image": IMAGE, "credentials": CREDS},
        {"image": IMAGE},
        "credentials are required on aws for docker.io (ECR pull-through cache only authenticates with "
        "a Secrets Manager secret): set dockerHubUsername and the secret dockerHubAccessToken",
    ),
    (
        "aws",
        {"image": "public.ecr.aws/acme/vllm@" + DIGEST},
        {"image": "ghcr.io/acme/vllm@" + DIGEST},
        "image must be an image on a registry the aws cache supports (docker.io, quay.io, public.ecr.aws, "
        f"registry.k8s.io); ghcr.io is not (got 'ghcr.io/acme/vllm@{DIGEST}')",
    ),
    (
        "gcp",
        {"image": "ghcr.io/acme/vllm@" + DIGEST},
        {"image": "registry.example.com/vllm@" + DIGEST},
        "image must be an image on a registry the gcp cache supports (docker.io, quay.io, public.ecr.aws, "
        f"registry.k8s.io, ghcr.io); registry.example.com is not (got 'registry.example.com/vllm@{DIGEST}')",
    ),
    (
        "gcp",
        {"image": IMAGE, "credentials": CREDS, "secrets_key": "key"},
        {"image": IMAGE, "credentials": CREDS},
        "secrets_key is required on gcp with credentials (the upstream token's secret is encrypted with the "
        "stack's Cloud KMS key): pass the secrets vault's key_id",
    ),
    (
        "azure",
        {"image": IMAGE},
        {"image": "vllm/vllm-openai:v0.11.0"},
        "image must be pinned by digest: <image>[:<tag>]@sha256:<64 hex digits> (a tag can be moved to "
        "another image; a digest cannot) (got 'vllm/vllm-openai:v0.11.0')",
    ),
    (
        "azure",
        {"image": "Vllm/vllm@" + DIGEST.upper().replace("SHA", "sha")},
        {"image": "Vllm/vllm@" + DIGEST},
        "image must be a lowercase repository path (got 'Vllm/vllm') (got 'Vllm/vllm@" + DIGEST + "')",
    ),
]


@pytest.mark.parametrize(
    ("cloud", "ok", "bad", "message"), REGISTRY_RULES, ids=[str(i) for i in range(len(REGISTRY_RULES))]
)
def test_image_registry_rules(cloud: str, ok: dict[str, Any], bad: dict[str, Any], message: str) -> None:
    if "Vllm" not in ok.get("image", ""):
        accepted = registry(cloud, **ok)
        assert all(getattr(accepted, k) == v for k, v in ok.items())
    assert refused(lambda: registry(cloud, **bad), ImageRegistryArgsError) == (
        f"invalid ImageRegistryArgs:\n  - {message}"
    )


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("nginx@" + DIGEST, ("docker.io", "library/nginx", None)),
        ("registry-1.docker.io/vllm/vllm-openai@" + DIGEST, ("docker.io", "vllm/vllm-openai", None)),
        ("localhost/vllm:v1@" + DIGEST, ("localhost", "vllm", "v1")),
        ("registry:5000/team/vllm:v1@" + DIGEST, ("registry:5000", "team/vllm", "v1")),
        ("quay.io/a/b:" + "t" * 128 + "@" + DIGEST, ("quay.io", "a/b", "t" * 128)),
    ],
)
def test_image_references_split_at_their_limits(image: str, parts: tuple[str, str, str | None]) -> None:
    ref = parse_image(image)
    assert (ref.host, ref.path, ref.tag) == parts and ref.digest == DIGEST


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("quay.io/a/b:" + "t" * 129 + "@" + DIGEST, "a valid tag (got '" + "t" * 129 + "')"),
        ("quay.io/a/b:-t@" + DIGEST, "a valid tag (got '-t')"),
        ("vllm@sha256:" + "0" * 63, "pinned by digest"),
        ("vllm@sha256:" + "G" * 64, "pinned by digest"),
    ],
)
def test_image_references_refused_one_past_their_limits(image: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_image(image)
    assert str(caught.value).startswith(problem)
