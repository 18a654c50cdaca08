"""Secrets vault on every cloud, checked on mocked runs of the real stack files.

Each cloud is seen both as a primary and as a standby (every pair in tests.support.PAIRS), so the
secure defaults, the secret versions and the read grants are asserted on what the shipped stacks
would really create, not on a hand-built component.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from components.secrets_vault.azure import KEY_VAULT_SECRETS_USER_ROLE_ID, key_vault_name
from infra import outputs
from infra.config import ConfigError, StackConfig
from offline.harness import ProgramRun, Registered, run_stack
from offline.mocks import AZURE_TENANT
from tests.support import CLOUDS, PAIR_IDS, PAIRS, PROFILES, TEST_SECRETS, pair

VAULT_TYPE_PREFIX = "inference-failover:secrets_vault:"
SECRET_TYPE = {
    "aws": "aws:secretsmanager/secret:Secret",
    "gcp": "gcp:secretmanager/secret:Secret",
    "azure": "azure-native:keyvault:Secret",
}
# Resource type holding the value, and the input that carries it.
VALUE_HOLDER = {
    "aws": ("aws:secretsmanager/secretVersion:SecretVersion", "secretString"),
    "gcp": ("gcp:secretmanager/secretVersion:SecretVersion", "secretData"),
    "azure": ("azure-native:keyvault:Secret", "properties"),
}
Where = tuple[str, str, int]
"""(primary cloud, standby cloud, 0 for the primary stack or 1 for the standby) of one mocked run."""
DAYS_90_SECONDS = f"{90 * 86_400}s"
DAYS_30_SECONDS = f"{30 * 86_400}s"


def stacks_on(cloud: str) -> list[Any]:
    """(primary, standby, index into the pair) of every mocked stack that runs on `cloud`."""
    return [
        pytest.param((p, s, i), id=f"{p}-to-{s}-{('primary', 'standby')[i]}")
        for p, s in PAIRS
        for i, stack_cloud in enumerate((p, s))
        if stack_cloud == cloud
    ]


def run_of(where: Where) -> ProgramRun:
    primary, standby, index = where
    return pair(primary, standby)[index]


def runs_on(cloud: str) -> list[ProgramRun]:
    return [run_of(param.values[0]) for param in stacks_on(cloud)]


def vault_of(run: ProgramRun) -> Registered:
    vaults = [r for r in run.resources if r.type.startswith(VAULT_TYPE_PREFIX)]
    assert len(vaults) == 1, [v.type for v in vaults]
    return vaults[0]


def children(run: ProgramRun, type_token: str | None = None) -> list[Registered]:
    found = run.children_of(vault_of(run).urn)
    return [r for r in found if type_token is None or r.type == type_token]


def only(resources: list[Registered]) -> Registered:
    assert len(resources) == 1, [r.name for r in resources]
    return resources[0]


def secrets_by_name(run: ProgramRun) -> dict[str, Registered]:
    """Config secret name -> the vault's secret resource, recovered from what each cloud stores."""
    cloud = run.config.cloud
    found: dict[str, Registered] = {}
    for secret in children(run, SECRET_TYPE[cloud]):
        stored = {
            # <secret>-<the stack instance's random suffix> (components/naming.py)
            "aws": lambda s: s.inputs["name"].rsplit("/", 1)[-1].rsplit("-", 1)[0],
            "gcp": lambda s: s.inputs["secretId"].rsplit("-", 1)[-1],
            "azure": lambda s: s.inputs["secretName"],
        }[cloud](secret)
        found[stored] = secret
    return found


def all_strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *all_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in all_strings(v)]
    return [value] if isinstance(value, str) else []


def workload_principal(run: ProgramRun) -> str:
    principal = run.outputs[outputs.WORKLOAD_IDENTITY]
    assert isinstance(principal, str) and principal, principal
    return principal


# --- secure defaults, per cloud -------------------------------------------------------------


@pytest.mark.parametrize("where", stacks_on("aws"))
def test_aws_secrets_are_encrypted_with_a_rotating_customer_managed_kms_key(
    where: Where,
) -> None:
    run = run_of(where)
    key = only(children(run, "aws:kms/key:Key"))
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["rotationPeriodInDays"] == 90
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.inputs["keyUsage"] == "ENCRYPT_DECRYPT"
    assert key.inputs["multiRegion"] is False
    secrets = secrets_by_name(run)
    assert set(secrets) == set(run.config.secret_names)
    for name, secret in secrets.items():
        assert secret.inputs["kmsKeyId"] == key.outputs["arn"]
        assert secret.inputs["recoveryWindowInDays"] == 30
        suffix = run.one("random:index/randomId:RandomId").outputs["hex"]
        assert secret.inputs["name"] == f"inference-failover/{run.stack}/{name}-{suffix}"


@pytest.mark.parametrize("where", stacks_on("gcp"))
def test_gcp_secrets_use_rotating_cmek_and_stay_in_the_stack_region(where: Where) -> None:
    run = run_of(where)
    ring = only(children(run, "gcp:kms/keyRing:KeyRing"))
    key = only(children(run, "gcp:kms/cryptoKey:CryptoKey"))
    assert ring.inputs["location"] == run.config.region
    assert key.inputs["keyRing"] == ring.outputs["id"]
    assert key.inputs["rotationPeriod"] == DAYS_90_SECONDS
    assert key.inputs["destroyScheduledDuration"] == DAYS_30_SECONDS
    assert key.inputs["deletionPolicy"] == "PREVENT"
    assert key.inputs["purpose"] == "ENCRYPT_DECRYPT"
    secrets = secrets_by_name(run)
    assert set(secrets) == set(run.config.secret_names)
    for secret in secrets.values():
        replicas = secret.inputs["replication"]["userManaged"]["replicas"]
        assert replicas == [
            {"location": run.config.region, "customerManagedEncryption": {"kmsKeyName": key.outputs["id"]}}
        ]
        assert "auto" not in secret.inputs["replication"]
        assert secret.inputs["deletionProtection"] is True
        assert secret.inputs["versionDestroyTtl"] == DAYS_30_SECONDS
        assert secret.inputs["project"] == run.config.gcp_project


@pytest.mark.parametrize("where", stacks_on("gcp"))
def test_gcp_secret_manager_agent_alone_may_use_the_key(where: Where) -> None:
    run = run_of(where)
    agent = only(children(run, "gcp:projects/serviceIdentity:ServiceIdentity"))
    assert agent.inputs["service"] == "secretmanager.googleapis.com"
    key = only(children(run, "gcp:kms/cryptoKey:CryptoKey"))
    grant = only(children(run, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"))
    assert grant.inputs == {
        "cryptoKeyId": key.outputs["id"],
        "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        "member": agent.outputs["member"],
    }
    assert grant.inputs["member"].endswith("@gcp-sa-secretmanager.iam.gserviceaccount.com")


@pytest.mark.parametrize("where", stacks_on("azure"))
def test_azure_key_vault_uses_rbac_soft_delete_and_purge_protection(where: Where) -> None:
    run = run_of(where)
    vault = only(children(run, "azure-native:keyvault:Vault"))
    props = vault.inputs["properties"]
    assert props["enableRbacAuthorization"] is True
    assert "accessPolicies" not in props
    assert props["enableSoftDelete"] is True
    assert props["softDeleteRetentionInDays"] == 30
    assert props["enablePurgeProtection"] is True
    assert props["tenantId"] == AZURE_TENANT
    assert props["sku"] == {"family": "A", "name": "standard"}
    assert (
        props["enabledForDeployment"],
        props["enabledForDiskEncryption"],
        props["enabledForTemplateDeployment"],
    ) == (False, False, False)
    # Selected networks: default deny, trusted-service bypass off, only the AKS node subnet (no
    # deployerCidrs in the shipped files).
    assert props["publicNetworkAccess"] == "Enabled"
    node_subnet = only(run.of_type("azure-native:network:VirtualNetwork")).outputs["subnets"][0]["id"]
    assert props["networkAcls"] == {
        "defaultAction": "Deny",
        "bypass": "None",
        "ipRules": [],
        "virtualNetworkRules": [{"id": node_subnet, "ignoreMissingVnetServiceEndpoint": False}],
    }
    assert vault.inputs["location"] == run.config.region


@pytest.mark.parametrize("where", stacks_on("azure"))
def test_azure_vault_name_is_short_global_and_derived_from_the_stack(where: Where) -> None:
    run = run_of(where)
    name = only(children(run, "azure-native:keyvault:Vault")).inputs["vaultName"]
    assert 3 <= len(name) <= 24
    assert name.startswith(f"kv-{run.stack}-")
    refs = run.outputs[outputs.SECRET_IDS]
    assert refs == {s: f"https://{name}.vault.azure.net/secrets/{s}" for s in run.config.secret_names}


# --- secret values --------------------------------------------------------------------------


@pytest.mark.parametrize("where", [param for cloud in CLOUDS for param in stacks_on(cloud)])
def test_each_configured_secret_gets_one_version_holding_the_secret_value(where: Where) -> None:
    run = run_of(where)
    holder_type, value_key = VALUE_HOLDER[run.config.cloud]
    holders = children(run, holder_type)
    assert len(holders) == len(run.config.secret_names) == 1
    for holder in holders:
        assert value_key in holder.secret_inputs, f"{holder.name}: {sorted(holder.secret_inputs)}"
        carried = holder.inputs[value_key]
        value = carried["value"] if run.config.cloud == "azure" else carried
        assert value == TEST_SECRETS["apiKey"]


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_secret_value_sits_only_in_the_secret_inputs_of_the_vault(primary: str, standby: str) -> None:
    value = TEST_SECRETS["apiKey"]
    for run in pair(primary, standby):
        holder_type, value_key = VALUE_HOLDER[run.config.cloud]
        carriers = {
            (r.type, key)
            for r in children(run)
            for key, given in r.inputs.items()
            if value in all_strings(given)
        }
        assert carriers == {(holder_type, value_key)}
        assert value not in json.dumps(run.outputs[outputs.SECRET_IDS])


TWO_SECRETS = {"apiKey": "test-api-key-value", "hfToken": "test-hf-token-value"}


@cache
def with_two_secrets(cloud: str) -> ProgramRun:
    """The shipped primary moved to `cloud`, provisioning two secrets instead of one."""
    overrides = {**PROFILES[cloud], "secretNames": sorted(TWO_SECRETS)}
    secrets = {**TWO_SECRETS, "dockerHubAccessToken": TEST_SECRETS["dockerHubAccessToken"]}
    return run_stack("primary", overrides=overrides, secrets=secrets)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_listed_secret_gets_its_own_secret_version_and_read_grant(cloud: str) -> None:
    run = with_two_secrets(cloud)
    refs = run.outputs[outputs.SECRET_IDS]
    secrets = secrets_by_name(run)
    assert set(refs) == set(secrets) == set(TWO_SECRETS)
    holder_type, value_key = VALUE_HOLDER[cloud]
    held = {}
    for holder in children(run, holder_type):
        assert value_key in holder.secret_inputs
        value = holder.inputs[value_key]
        held[holder.name] = value["value"] if cloud == "azure" else value
    assert sorted(held.values()) == sorted(TWO_SECRETS.values())
    grant_type, grant_target = {
        "aws": ("aws:iam/rolePolicy:RolePolicy", None),
        "gcp": ("gcp:secretmanager/secretIamMember:SecretIamMember", "secretId"),
        "azure": ("azure-native:authorization:RoleAssignment", "scope"),
    }[cloud]
    grants = children(run, grant_type)
    if grant_target is None:
        statements = only(grants).inputs["policy"]["Statement"]
        arns = sorted(s.outputs["arn"] for s in secrets.values())
        reads = [st["Resource"] for st in statements if st["Action"] == "secretsmanager:GetSecretValue"]
        [decrypt] = [st for st in statements if st["Action"] == "kms:Decrypt"]
        assert sorted(reads) == arns
        assert sorted(decrypt["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"]) == arns
    else:
        key = "secretId" if cloud == "gcp" else "id"
        targets = sorted(g.inputs[grant_target] for g in grants)
        assert targets == sorted(s.outputs[key] for s in secrets.values())


def test_key_vault_names_fit_24_characters_and_differ_per_subscription() -> None:
    long_stack = "inference-failover-production-eu-west-standby"
    name = key_vault_name(long_stack, "westeurope", "sub-a")
    assert len(name) == 24
    assert re.fullmatch(r"kv-[a-z0-9-]+-[0-9a-f]{8}", name) and "--" not in name
    assert name == key_vault_name(long_stack, "westeurope", "sub-a")
    assert name != key_vault_name(long_stack, "westeurope", "sub-b")
    assert name != key_vault_name(long_stack, "northeurope", "sub-a")
    assert key_vault_name("Prod_Stack", "eastus", "sub-a").startswith("kv-prod-stack-")


# --- read access ----------------------------------------------------------------------------


@pytest.mark.parametrize("where", stacks_on("aws"))
def test_aws_workload_role_may_read_exactly_the_named_secrets(where: Where) -> None:
    run = run_of(where)
    policy = only(children(run, "aws:iam/rolePolicy:RolePolicy"))
    principal = workload_principal(run)
    role = only([r for r in run.resources if r.type == "aws:iam/role:Role" and r.outputs["arn"] == principal])
    assert policy.inputs["role"] == role.outputs["name"]

    document = policy.inputs["policy"]
    statements = {s["Sid"]: s for s in document["Statement"]}
    arns = {name: secret.outputs["arn"] for name, secret in secrets_by_name(run).items()}
    key_arn = only(children(run, "aws:kms/key:Key")).outputs["arn"]
    assert statements == {
        "ReadApiKey": {
            "Sid": "ReadApiKey",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": arns["apiKey"],
        },
        "DecryptThroughSecretsManagerOnly": {
            "Sid": "DecryptThroughSecretsManagerOnly",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{run.config.region}.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": [arns["apiKey"]],
                }
            },
        },
    }
    assert document["Version"] == "2012-10-17"
    assert not [s for s in all_strings(document) if "*" in s]


@pytest.mark.parametrize("where", stacks_on("gcp"))
def test_gcp_workload_service_account_may_read_exactly_the_named_secrets(where: Where) -> None:
    run = run_of(where)
    member = f"serviceAccount:{workload_principal(run)}"
    grants = children(run, "gcp:secretmanager/secretIamMember:SecretIamMember")
    secrets = secrets_by_name(run)
    assert sorted((g.inputs["secretId"], g.inputs["role"], g.inputs["member"]) for g in grants) == sorted(
        (s.outputs["secretId"], "roles/secretmanager.secretAccessor", member) for s in secrets.values()
    )
    # No project-wide grant: the vault binds IAM on single secrets and on its one key only.
    iam_types = {r.type for r in children(run) if "iam" in r.type.lower()}
    assert iam_types == {
        "gcp:secretmanager/secretIamMember:SecretIamMember",
        "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
    }


@pytest.mark.parametrize("where", stacks_on("azure"))
def test_azure_workload_identity_is_secrets_user_on_each_secret_not_the_vault(
    where: Where,
) -> None:
    run = run_of(where)
    principal = workload_principal(run)
    grants = children(run, "azure-native:authorization:RoleAssignment")
    secrets = secrets_by_name(run)
    assert sorted(g.inputs["scope"] for g in grants) == sorted(s.outputs["id"] for s in secrets.values())
    vault_id = only(children(run, "azure-native:keyvault:Vault")).outputs["id"]
    for grant in grants:
        assert grant.inputs["scope"].startswith(f"{vault_id}/secrets/")
        assert grant.inputs["principalId"] == principal
        assert grant.inputs["principalType"] == "ServicePrincipal"
        assert grant.inputs["roleDefinitionId"] == (
            "/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
            f"Microsoft.Authorization/roleDefinitions/{KEY_VAULT_SECRETS_USER_ROLE_ID}"
        )


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_vault_grants_and_policies_contain_no_wildcards(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        wild = [
            f"{r.type} {r.name}.{key}: {text}"
            for r in children(run)
            for key, value in r.inputs.items()
            for text in all_strings(value)
            if "*" in text
        ]
        assert wild == []


# --- both stacks, providers, config ---------------------------------------------------------


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_both_stacks_provision_the_same_secret_names_in_their_own_cloud(primary: str, standby: str) -> None:
    primary_run, standby_run = pair(primary, standby)
    assert set(primary_run.outputs[outputs.SECRET_IDS]) == set(standby_run.outputs[outputs.SECRET_IDS])
    assert set(standby_run.outputs[outputs.SECRET_IDS]) == set(standby_run.config.secret_names)
    ref_prefix = {"aws": "arn:aws:secretsmanager:", "gcp": "projects/", "azure": "https://kv-standby-"}
    for ref in standby_run.outputs[outputs.SECRET_IDS].values():
        assert ref.startswith(ref_prefix[standby])
    providers = {r.provider.split("::")[2].split("$")[-1] for r in children(standby_run)}
    package = {"aws": "aws", "gcp": "gcp", "azure": "azure-native"}[standby]
    assert providers == {f"pulumi:providers:{package}"}
    assert all(f"::{standby}-own::" in r.provider for r in children(standby_run))


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_vault_children_are_named_after_the_component(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        vault = vault_of(run)
        assert vault.name == run.config.role
        assert all(r.name.startswith(f"{vault.name}-") for r in children(run))


@pytest.mark.parametrize("stack", ["primary", "standby"])
def test_stack_without_the_secret_fails_before_any_resource_is_created(stack: str) -> None:
    called: list[StackConfig] = []

    def program(cfg: StackConfig, secrets: dict[str, Any]) -> dict[str, Any]:
        called.append(cfg)
        from infra.program import build

        return build(cfg, secrets)

    with pytest.raises(ConfigError) as caught:
        # The image cache's Docker Hub token is set: only the vault's own secret is missing.
        run_stack(stack, secrets={"dockerHubAccessToken": "token"}, program=program)
    assert called == []
    assert [str(p) for p in caught.value.problems] == [
        "stack config 'apiKey' must be set as a secret (got nothing): "
        f"run `pulumi config set --secret apiKey <value> -s {stack}`"
    ]
