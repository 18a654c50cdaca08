"""Pulumi hygiene on the real stack files: no default provider, each GCP API enabled once and
before its users, and no name a cloud still holds after a destroy is asked for again.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

import pytest
import yaml

from components.gcp_apis import GCP_APIS, GcpApis, UnknownGcpApiError, apis_of
from components.naming import SOFT_DELETED, suffixed
from infra.config import PROJECT
from offline.harness import (
    DISABLE_DEFAULT_PROVIDERS,
    ROOT,
    ProgramError,
    ProgramRun,
    Registered,
    load_stack_config,
    run_pair,
    run_stack,
)
from tests.support import (
    AUTHORITY_OVERRIDES,
    PAIR_IDS,
    PAIRS,
    TEST_SECRETS,
    pair,
    primary_overrides,
    standby_overrides,
)

SERVICE = "gcp:projects/service:Service"
APIS_COMPONENT = "inference-failover:gcp:ProjectApis"
RANDOM_ID = "random:index/randomId:RandomId"

# What each kind of GCP resource needs enabled, from each API's own documentation (independent
# of components/gcp_apis.py, so a component that forgets to ask for an API fails here).
API_OF_KIND: dict[str, str] = {
    "gcp:compute/": "compute",
    "gcp:container/": "container",
    "gcp:iam/workloadIdentityPool": "iam",
    "gcp:serviceaccount/": "iam",
    "gcp:projects/iAMMember": "cloudresourcemanager",
    "gcp:projects/iAMBinding": "cloudresourcemanager",
    "gcp:kms/": "cloudkms",
    "gcp:secretmanager/": "secretmanager",
    "gcp:storage/transferJob": "storagetransfer",
    "gcp:storage/": "storage",
    "gcp:dns/": "dns",
    "gcp:artifactregistry/": "artifactregistry",
    "gcp:monitoring/": "monitoring",
    "gcp:billing/": "billingbudgets",
}
# Kinds served by the Service Usage API, which is on in every project and enables the others.
SERVICE_USAGE_KINDS = {SERVICE, "gcp:projects/serviceIdentity:ServiceIdentity"}


def api_of(kind: str) -> str:
    for prefix, api in API_OF_KIND.items():
        if kind.startswith(prefix):
            return api
    raise AssertionError(f"no API known for {kind}: add the API it needs to API_OF_KIND")


def transitive_dependencies(resource: Registered, run: ProgramRun) -> set[str]:
    by_urn = {r.urn: r for r in run.resources}
    seen: set[str] = set()
    frontier = list(resource.dependencies)
    while frontier:
        urn = frontier.pop()
        if urn in seen:
            continue
        seen.add(urn)
        if urn in by_urn:
            frontier.extend(by_urn[urn].dependencies)
    return seen


def provider_name(resource: Registered) -> str:
    return resource.provider.split("::")[3] if resource.provider else ""


def enabled_services(run: ProgramRun) -> dict[str, Registered]:
    return {str(s.inputs["service"]): s for s in run.of_type(SERVICE)}


CLOUD_DNS = {"dnsProvider": "gcp", "gcpProject": "acme-inference-standby", "healthCheckIntervalSeconds": 30}
"""Cloud DNS as the authority: a stack on another cloud then uses GCP for DNS only."""


@cache
def cloud_dns_pair(primary: str, standby: str) -> tuple[ProgramRun, ProgramRun]:
    return run_pair(
        {**primary_overrides(primary), **CLOUD_DNS},
        {**standby_overrides(primary, standby), **CLOUD_DNS},
        TEST_SECRETS,
    )


# (primary, standby, role, dns on gcp): every stack that touches GCP, plus Cloud DNS stacks.
GCP_CASES = [
    *((p, s, role, False) for p, s in PAIRS if "gcp" in (p, s) for role in ("primary", "standby")),
    ("azure", "gcp", "primary", True),
    ("gcp", "azure", "standby", True),
]
GCP_CASE_IDS = [f"{p}-to-{s}-{role}{'-cloud-dns' if dns else ''}" for p, s, role, dns in GCP_CASES]


def gcp_case(primary: str, standby: str, role: str, dns: bool) -> ProgramRun:
    runs = cloud_dns_pair(primary, standby) if dns else pair(primary, standby)
    return runs[0 if role == "primary" else 1]


# --- default providers ----------------------------------------------------------------------------


def test_pulumi_yaml_disables_every_default_provider() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["config"][DISABLE_DEFAULT_PROVIDERS] == ["*"]
    config, _ = load_stack_config("primary")
    assert config[DISABLE_DEFAULT_PROVIDERS] == '["*"]'


def _program_with_a_default_provider(cfg: Any, secrets: Any) -> dict[str, Any]:
    import pulumi_aws as aws

    aws.s3.Bucket("forgot-the-provider")
    return {}


def _program_with_a_default_provider_invoke(cfg: Any, secrets: Any) -> dict[str, Any]:
    import pulumi_aws as aws

    return {"account": aws.get_caller_identity_output().account_id}


@pytest.mark.parametrize(
    "program", [_program_with_a_default_provider, _program_with_a_default_provider_invoke]
)
def test_a_resource_or_invoke_on_a_default_provider_fails_like_the_engine(program: Any) -> None:
    with pytest.raises(ProgramError, match=r"Default provider for 'aws' disabled"):
        run_stack("primary", primary_overrides("aws"), TEST_SECRETS, program=program)


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_every_resource_names_an_explicit_provider(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        custom = [r for r in run.resources if r.custom and not r.type.startswith("pulumi:")]
        assert custom
        assert [f"{r.type} {r.name}" for r in custom if not r.provider or "::default" in r.provider] == []
        randoms = run.of_type(RANDOM_ID)
        assert len(randoms) == 1 and provider_name(randoms[0]) == "random"


# --- GCP APIs -------------------------------------------------------------------------------------


def test_the_api_table_covers_what_the_stacks_use() -> None:
    required = {
        "compute", "container", "iam", "iamcredentials", "sts", "cloudresourcemanager",
        "dns", "storage", "secretmanager", "cloudkms", "storagetransfer", "artifactregistry",
    }  # fmt: skip
    assert required <= set(GCP_APIS)


@pytest.mark.parametrize(("primary", "standby", "role", "dns"), GCP_CASES, ids=GCP_CASE_IDS)
def test_each_gcp_api_is_enabled_exactly_once_in_one_place(
    primary: str, standby: str, role: str, dns: bool
) -> None:
    run = gcp_case(primary, standby, role, dns)
    services = run.of_type(SERVICE)
    if run.config.cloud != "gcp" and run.config.dns.provider != "gcp":
        assert services == [] and run.of_type(APIS_COMPONENT) == []
        return
    (component,) = run.of_type(APIS_COMPONENT)
    counts = Counter((s.inputs["project"], s.inputs["service"]) for s in services)
    assert [key for key, n in counts.items() if n != 1] == []
    assert {s.parent for s in services} == {component.urn}
    assert all(s.inputs["disableOnDestroy"] is False for s in services)
    assert {str(s.inputs["service"]).removesuffix(".googleapis.com") for s in services} <= set(GCP_APIS)


@pytest.mark.parametrize(("primary", "standby", "role", "dns"), GCP_CASES, ids=GCP_CASE_IDS)
def test_every_gcp_resource_waits_for_its_api(primary: str, standby: str, role: str, dns: bool) -> None:
    run = gcp_case(primary, standby, role, dns)
    services = enabled_services(run)
    missing = []
    for resource in run.resources:
        if (
            not resource.type.startswith("gcp:")
            or not resource.custom
            or resource.type in SERVICE_USAGE_KINDS
        ):
            continue
        api = f"{api_of(resource.type)}.googleapis.com"
        if (
            provider_name(resource) == "gcp-peer"
            and run.config.role == "standby"
            and run.config.cloud != "gcp"
        ):
            # The replication read side lives in the primary's project: the primary enables it
            # (checked below), the standby must not manage the primary project's APIs.
            continue
        service = services.get(api)
        if service is None or service.urn not in transitive_dependencies(resource, run):
            missing.append(f"{resource.type} {resource.name} needs {api}")
    assert missing == []


@pytest.mark.parametrize("standby", ["aws", "azure"])
def test_a_gcp_primary_enables_what_a_standby_on_another_cloud_uses_in_its_project(standby: str) -> None:
    primary_run, standby_run = pair("gcp", standby)
    enabled = set(enabled_services(primary_run))
    read_side = [
        r for r in standby_run.resources if r.type.startswith("gcp:") and provider_name(r) == "gcp-peer"
    ]
    assert read_side
    needed = {f"{api_of(r.type)}.googleapis.com" for r in read_side} | {"sts.googleapis.com"}
    assert needed <= enabled


def test_asking_for_an_api_twice_returns_the_same_resource_and_an_unknown_one_fails() -> None:
    created: list[GcpApis] = []

    def program(cfg: Any, secrets: Any) -> dict[str, Any]:
        import pulumi_gcp as gcp

        provider = gcp.Provider("gcp-own", gcp.ProviderArgs(project="acme"))
        apis = GcpApis("gcp-apis", project="acme", provider=provider)
        created.append(apis)
        first = apis.enable("storage", "cloudkms")
        assert apis.enable("cloudkms") == first[1:]
        with pytest.raises(UnknownGcpApiError, match="add a line for it to GCP_APIS"):
            apis.enable("bigquery")
        return {}

    run = run_stack("standby", standby_overrides("aws", "gcp"), TEST_SECRETS, program=program)
    assert sorted(s.inputs["service"] for s in run.of_type(SERVICE)) == [
        "cloudkms.googleapis.com",
        "storage.googleapis.com",
    ]


# Where the previous version enabled each API: (component type, name pattern). Existing stacks
# must adopt these through aliases instead of re-creating them.
PREVIOUS_SERVICES = {
    "compute": ("inference-failover:inference_cluster:GkeInferenceCluster", "{role}-compute-api"),
    "container": ("inference-failover:inference_cluster:GkeInferenceCluster", "{role}-container-api"),
    "secretmanager": ("inference-failover:secrets_vault:GcpSecretsVault", "{role}-secretmanager-api"),
    "cloudkms": ("inference-failover:object_store:GcpModelStore", "{role}-models-cloudkms-api"),
}


@pytest.mark.parametrize(
    ("primary", "standby"), [("gcp", "aws"), ("aws", "gcp")], ids=["gcp-primary", "gcp-standby"]
)
def test_services_enabled_by_the_previous_version_are_adopted_through_aliases(
    primary: str, standby: str
) -> None:
    run = pair(primary, standby)[0 if primary == "gcp" else 1]
    role, stack, project = run.config.role, run.stack, "inference-failover"
    services = enabled_services(run)
    for api, (component, old_name) in PREVIOUS_SERVICES.items():
        old = f"urn:pulumi:{stack}::{project}::{component}${SERVICE}::{old_name.format(role=role)}"
        assert old in services[f"{api}.googleapis.com"].aliases, (
            api,
            services[f"{api}.googleapis.com"].aliases,
        )


# --- destroy and re-create ------------------------------------------------------------------------


def reserved_names(run: ProgramRun) -> dict[str, set[tuple[Any, ...]]]:
    """Per soft-deleted kind, the names this stack instance asked for (auto-named kinds: none)."""
    names: dict[str, set[tuple[Any, ...]]] = {}
    for resource in run.resources:
        kind = SOFT_DELETED.get(resource.type)
        if kind is None:
            continue
        if not kind.name_inputs:
            # Pulumi auto-names it (random characters kept in state): an explicit name would
            # defeat that, so none may be set.
            assert "name" not in resource.inputs, f"{resource.type} {resource.name} sets a fixed name"
            continue
        names.setdefault(resource.type, set()).add(tuple(resource.inputs[key] for key in kind.name_inputs))
    return names


# Every pair with its default DNS authority, plus a pair without gcp whose authority is Cloud DNS:
# there cert-manager's DNS-01 trust creates the only workload identity pool and provider.
RE_CREATE_CASES = [(p, s, None) for p, s in PAIRS] + [("aws", "azure", "gcp")]
RE_CREATE_IDS = [*PAIR_IDS, "aws-to-azure-dns-gcp"]


@pytest.mark.parametrize(("primary", "standby", "authority"), RE_CREATE_CASES, ids=RE_CREATE_IDS)
def test_a_destroyed_and_re_created_stack_asks_for_no_name_the_cloud_still_holds(
    primary: str, standby: str, authority: str | None
) -> None:
    """Two instantiations of the same config are a destroy and a re-create: every name of a
    soft-deleted kind that the first used is still held by the cloud (the "soft-deleted" set)
    and must not be asked for by the second. Each mocked run starts from empty state, and the
    mocked random provider answers fresh bytes on create, as the real one does."""
    extra = AUTHORITY_OVERRIDES[authority] if authority else {}
    overrides = ({**primary_overrides(primary), **extra}, {**standby_overrides(primary, standby), **extra})
    first = run_pair(*overrides, TEST_SECRETS)
    second = run_pair(*overrides, TEST_SECRETS)
    kinds_seen: set[str] = set()
    for old, new in zip(first, second, strict=True):
        soft_deleted = reserved_names(old)
        reused = {
            kind: names & soft_deleted.get(kind, set())
            for kind, names in reserved_names(new).items()
            if names & soft_deleted.get(kind, set())
        }
        assert reused == {}
        kinds_seen |= set(soft_deleted)
    assert kinds_seen, "the pair created no soft-deleted kind: the check above checked nothing"
    if authority == "gcp" and "gcp" not in (primary, standby):
        # The DNS-01 trust's pool and provider were among the names checked.
        assert {
            "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
            "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
        } <= kinds_seen


def test_names_are_stable_for_the_life_of_a_stack() -> None:
    """The suffix is one RandomId with nothing that could replace it: an update keeps every name."""
    run = pair("aws", "azure")[0]
    (suffix,) = run.of_type(RANDOM_ID)
    assert set(suffix.inputs) == {"byteLength"}  # no keepers: nothing in config renames anything
    assert suffix.protect is False and suffix.ignore_changes == ()
    secrets = {s.inputs["name"] for s in run.of_type("aws:secretsmanager/secret:Secret")}
    # The vault's apiKey and the image cache's Docker Hub credentials (ECR's required prefix).
    assert secrets == {
        f"inference-failover/{run.stack}/apiKey-{suffix.outputs['hex']}",
        f"ecr-pullthroughcache/inference-{run.stack}-docker.io-{suffix.outputs['hex']}",
    }


def test_every_soft_deleted_kind_the_stacks_create_is_in_the_table() -> None:
    """Kinds a cloud soft-deletes, by provider docs; one created but missing from SOFT_DELETED
    would be re-created under its old name."""
    soft_deleting = {
        "aws:secretsmanager/secret:Secret",
        "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
        "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
        "gcp:iam/workloadIdentityPool",
        "gcp:kms/keyRing:KeyRing",
        "gcp:projects/iAMCustomRole:IAMCustomRole",
        "gcp:organizations/iAMCustomRole:IAMCustomRole",
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:ManagedHsm",
        "azure-native:cognitiveservices:Account",
        "azure-native:operationalinsights:Workspace",
        "azure-native:apimanagement:ApiManagementService",
        "azure-native:appconfiguration:ConfigurationStore",
    }
    created = {r.type for primary, standby in PAIRS for run in pair(primary, standby) for r in run.resources}
    assert (created & soft_deleting) - set(SOFT_DELETED) == set()


def test_a_suffixed_name_keeps_the_suffix_whole_within_the_limit() -> None:
    assert suffixed("a-very-long-stack-name-replication", "abc123", 32) == "a-very-long-stack-name-re-abc123"
    assert suffixed("standby-replication", "abc123", 32) == "standby-replication-abc123"
    with pytest.raises(ValueError, match="leaves no room"):
        suffixed("kv", "abcdef", 6)


def test_storage_transfer_api_of_the_previous_version_is_adopted_through_an_alias() -> None:
    primary_run = pair("aws", "gcp")[0]
    ref = load_stack_config("standby")[0][f"{PROJECT}:primaryStack"]
    run = run_stack(
        "standby",
        {**standby_overrides("aws", "gcp"), "replicationIntervalMinutes": 60},
        TEST_SECRETS,
        stack_outputs={ref: primary_run.outputs},
    )
    service = enabled_services(run)["storagetransfer.googleapis.com"]
    old = (
        f"urn:pulumi:{run.stack}::{PROJECT}::inference-failover:object_store:CrossCloudReplication"
        f"${SERVICE}::standby-replication-storagetransfer-api"
    )
    assert old in service.aliases


def test_a_component_placed_on_gcp_without_gcp_apis_says_what_to_pass() -> None:
    with pytest.raises(
        ValueError, match=r"the GKE cluster of stack 'primary' needs Placement\(gcp_apis=\.\.\.\)"
    ):
        apis_of(None, "primary", "the GKE cluster")
