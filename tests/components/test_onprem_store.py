"""The on-prem model store on an S3-compatible endpoint, and replication to and from it (mocked runs).

Every provider is explicit (the harness refuses default providers as the engine does); the S3 key
comes from the vault and is a secret wherever it goes; replication fetches it at run time through
vault auth bound to one service account, so nothing long-lived sits in either cluster.
"""

from __future__ import annotations

import json
import re
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from components.inference_cluster import KUBERNETES_VERSION
from components.object_store import ModelStoreArgs
from components.object_store.args import VAULT_LOGIN_IMAGE, S3CompatibleStore
from components.object_store.onprem import S3CredentialsError, bucket_name_for, key_fields
from components.object_store.replication import (
    KUBERNETES_CRONJOB,
    SERVICE_ACCOUNT,
    ReplicationSourceError,
    checked_source,
    plan_replication,
)
from components.object_store.replication_onprem import LOGIN_SCRIPT, RCLONE_CONFIG_FILE, VAULT_AUDIENCE
from infra import outputs
from offline.harness import ProgramError, ProgramRun, Registered
from tests.onprem_store_support import (
    ENDPOINT,
    ISSUER,
    STANDBY_ENDPOINT,
    VAULT,
    onprem_primary,
    onprem_reader,
    replication_run,
    s3_settings,
)

CRONJOB = "kubernetes:batch/v1:CronJob"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PAIRS = [("aws", "onprem"), ("gcp", "onprem"), ("azure", "onprem"), ("onprem", "aws"), ("onprem", "onprem")]
SECRET_ENV = re.compile(r"ACCESS_KEY|SECRET|TOKEN$|PASSWORD")


def only(run: ProgramRun, type_token: str) -> Registered:
    return run.one(type_token)


def provider_of(run: ProgramRun, resource: Registered) -> Registered:
    urn = resource.provider.rsplit("::", 1)[0]
    (provider,) = [r for r in run.resources if r.urn == urn]
    return provider


def pod_spec(run: ProgramRun) -> dict[str, Any]:
    return only(run, CRONJOB).inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


# --- the store ------------------------------------------------------------------------------------


def test_bucket_is_created_private_and_protected_through_a_store_provider_built_from_the_vault_key() -> None:
    run = onprem_primary()
    bucket = only(run, "minio:index/s3Bucket:S3Bucket")
    assert bucket.inputs["bucket"] == bucket_name_for("primary", "site-a") == "primary-models-site-a"
    assert bucket.inputs["acl"] == "private"
    assert bucket.inputs["forceDestroy"] is False and bucket.inputs["objectLocking"] is False
    assert bucket.protect
    store_provider = provider_of(run, bucket)
    assert store_provider.inputs["minioServer"] == "s3.site-a.example.internal"
    assert store_provider.inputs["minioSsl"] == "true" or store_provider.inputs["minioSsl"] is True
    assert store_provider.inputs["minioRegion"] == "default"
    # The key from the vault (mocked KV v2 answer) is in the provider only as a secret.
    assert {"minioUser", "minioPassword"} <= store_provider.secret_inputs
    assert str(store_provider.inputs["minioUser"]).startswith("MOCKKEY")


def test_versioning_and_sse_s3_go_through_the_aws_provider_pointed_at_the_endpoint_path_style() -> None:
    run = onprem_primary()
    versioning = only(run, "aws:s3/bucketVersioning:BucketVersioning")
    encryption = only(
        run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    (rule,) = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    assert versioning.inputs["bucket"] == encryption.inputs["bucket"] == "primary-models-site-a"
    provider = provider_of(run, versioning)
    assert provider_of(run, encryption).urn == provider.urn
    inputs = provider.inputs
    endpoints = (
        json.loads(inputs["endpoints"]) if isinstance(inputs["endpoints"], str) else inputs["endpoints"]
    )
    assert endpoints == [{"s3": ENDPOINT}]
    for flag in ("s3UsePathStyle", "skipCredentialsValidation", "skipRequestingAccountId",
                 "skipMetadataApiCheck", "skipRegionValidation"):  # fmt: skip
        assert inputs[flag] in (True, "true"), flag
    assert {"accessKey", "secretKey"} <= provider.secret_inputs
    assert "defaultTags" not in inputs  # tags would need S3 Control on the store


def test_nothing_an_s3_compatible_store_rejects_is_created() -> None:
    types = {r.type for r in onprem_primary().resources}
    assert not {t for t in types if t.startswith("aws:") and "/bucket:" in t}  # aws.s3.Bucket: S3 Control
    for rejected in ("bucketPublicAccessBlock", "bucketOwnershipControls", "bucketObjectLockConfiguration",
                     "bucketPolicy", "bucketAcl", "kms/key"):  # fmt: skip
        assert not [t for t in types if rejected in t], rejected


def test_encryption_none_creates_no_encryption_rule_and_says_so_in_the_descriptor() -> None:
    run = onprem_primary(encryption="none")
    assert (
        run.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        == []
    )
    assert run.outputs[outputs.MODEL_STORE]["encryption"] == "none"


def test_descriptor_carries_what_a_standby_and_the_verifier_need_and_no_key() -> None:
    descriptor = onprem_primary().outputs[outputs.MODEL_STORE]
    assert descriptor == {
        "cloud": "onprem",
        "region": "site-a",
        "bucket": "primary-models-site-a",
        "uri": "s3://primary-models-site-a",
        "account": "s3.site-a.example.internal",
        "endpoint": ENDPOINT,
        "s3Region": "default",
        "vaultAddress": VAULT,
        "vaultKvMount": "inference-failover",
        "readCredentialsPath": "s3/site-a/replication-reader",
        "versioning": True,
        "encryption": "sse-s3",
    }
    assert checked_source(descriptor, "onprem", "standby") == descriptor


def test_the_vault_key_is_read_with_the_stores_own_vault_provider() -> None:
    run = onprem_primary()
    (vault_provider,) = run.of_type("pulumi:providers:vault")
    assert vault_provider.inputs["address"] == VAULT
    assert "token" not in vault_provider.inputs  # VAULT_TOKEN from the deployer's environment
    assert vault_provider.inputs["skipChildToken"] in (True, "true")


def test_a_vault_secret_without_both_key_fields_is_a_clear_error() -> None:
    assert key_fields({"access_key_id": "AK", "secret_access_key": "SK"}, "kv", "s3/a") == ("AK", "SK")
    with pytest.raises(S3CredentialsError) as caught:
        key_fields({"access_key": "AK"}, "inference-failover", "s3/site-a/deployer")
    assert str(caught.value) == (
        "vault secret inference-failover/s3/site-a/deployer lacks access_key_id, secret_access_key "
        "(has: access_key): store the key with `bao kv put -mount=inference-failover s3/site-a/deployer "
        "access_key_id=... secret_access_key=...`"
    )


def test_an_onprem_store_without_its_endpoint_or_with_a_plain_http_one_is_refused_before_anything() -> None:
    from unittest.mock import MagicMock

    from components.common import Placement

    placement = Placement(cloud="onprem", region="site-a", provider=MagicMock(), stack="primary")
    with pytest.raises(ValueError, match="s3_compatible must be set for an onprem store"):
        ModelStoreArgs(placement=placement, reader=onprem_reader())
    with pytest.raises(ValueError) as caught:
        ModelStoreArgs(
            placement=placement,
            reader=onprem_reader(),
            s3_compatible=s3_settings(
                True, endpoint="http://s3.site-a:9000", read_credentials_path="s3/site-a/deployer"
            ),
        )
    message = str(caught.value)
    assert (
        "s3_compatible.endpoint must be an https:// URL without a path (got 'http://s3.site-a:9000')"
        in message
    )
    assert "read_credentials_path must differ from credentials_path" in message


# --- replication ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}-to-{t}" for s, t in PAIRS])
def test_replication_with_an_onprem_side_is_a_valid_cronjob_with_no_secret_in_the_cluster(
    source: str, target: str
) -> None:
    run = replication_run(source, target)
    cronjob = only(run, CRONJOB)
    kubernetes_validate.validate(integral(cronjob.inputs), KUBERNETES_VERSION, strict=True)
    assert run.of_type("kubernetes:core/v1:Secret") == []
    spec = pod_spec(run)
    (init,) = spec["initContainers"]
    (copy,) = spec["containers"]
    assert init["image"] == VAULT_LOGIN_IMAGE and "@sha256:" in init["image"]
    assert init["command"] == ["/bin/sh", "-c", LOGIN_SCRIPT]
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    for container in (init, copy):
        assert not [name for name in env(container) if SECRET_ENV.search(name)], container["name"]
    # The keys live in memory for one pod: a Memory emptyDir shared by both containers.
    (credentials,) = [v for v in spec["volumes"] if v["name"] == "credentials"]
    assert credentials["emptyDir"]["medium"] == "Memory"
    assert env(copy)["RCLONE_CONFIG"] == RCLONE_CONFIG_FILE
    assert env(init)["RCLONE_CREDENTIALS"] == RCLONE_CONFIG_FILE
    # Projected tokens for the vault carry the audience the vault roles require.
    (projected,) = [v for v in spec["volumes"] if v["name"] == "federated-tokens"]
    audiences = {s["serviceAccountToken"]["path"]: s["serviceAccountToken"]["audience"]
                 for s in projected["projected"]["sources"]}  # fmt: skip
    onprem_paths = {p for p in audiences if p.startswith("onprem/")}
    assert onprem_paths == {f"onprem/vault-{side}" for side, cloud in (("source", source), ("target", target))
                            if cloud == "onprem"}  # fmt: skip
    assert all(audiences[p] == VAULT_AUDIENCE for p in onprem_paths)
    assert run.outputs["replication"]["keyless"] is False
    assert plan_replication(source, target, 15, "standby").mechanism == KUBERNETES_CRONJOB  # type: ignore[arg-type]


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}-to-{t}" for s, t in PAIRS])
def test_the_onprem_rclone_remote_is_path_style_on_the_stores_endpoint_with_no_key_in_its_env(
    source: str, target: str
) -> None:
    copy_env = env(pod_spec(replication_run(source, target))["containers"][0])
    for remote, cloud, endpoint, region in (("SOURCE", source, ENDPOINT, "default"),
                                            ("TARGET", target, STANDBY_ENDPOINT, "us-east-1")):  # fmt: skip
        prefix = f"RCLONE_CONFIG_{remote}_"
        if cloud != "onprem":
            continue
        assert copy_env[prefix + "TYPE"] == "s3" and copy_env[prefix + "PROVIDER"] == "Other"
        assert copy_env[prefix + "ENDPOINT"] == endpoint
        assert copy_env[prefix + "REGION"] == region
        assert copy_env[prefix + "FORCE_PATH_STYLE"] == "true"
        assert copy_env[prefix + "ENV_AUTH"] == "false"
        assert prefix + "ACCESS_KEY_ID" not in copy_env and prefix + "SECRET_ACCESS_KEY" not in copy_env


def test_reading_an_onprem_primary_trusts_only_the_replication_account_of_the_standby_cluster() -> None:
    run = replication_run("onprem", "aws")
    backend = only(run, "vault:jwt/authBackend:AuthBackend")
    role = only(run, "vault:jwt/authBackendRole:AuthBackendRole")
    policy = only(run, "vault:index/policy:Policy")
    # Everything on the primary's vault goes through the standby's explicit provider for it.
    for resource in (backend, role, policy):
        assert provider_of(run, resource).inputs["address"] == VAULT
    issuer = "https://oidc.eks.us-west-2.amazonaws.com/id/ABC123"
    assert backend.inputs["oidcDiscoveryUrl"] == backend.inputs["boundIssuer"] == issuer
    assert role.inputs["boundSubject"] == f"system:serviceaccount:model-replication:{SERVICE_ACCOUNT}"
    assert role.inputs["boundAudiences"] == [VAULT_AUDIENCE]
    assert role.inputs["userClaim"] == "sub" and role.inputs["roleType"] == "jwt"
    assert role.inputs["tokenPolicies"] == [policy.inputs["name"]]
    assert role.inputs["tokenNoDefaultPolicy"] is True and role.inputs["tokenTtl"] <= 300
    assert policy.inputs["policy"] == (
        'path "inference-failover/data/s3/site-a/replication-reader" {\n  capabilities = ["read"]\n}\n'
        'path "auth/token/revoke-self" {\n  capabilities = ["update"]\n}\n'
    )


def test_writing_an_onprem_standby_logs_in_with_kubernetes_auth_for_the_write_key_only() -> None:
    run = replication_run("aws", "onprem")
    role = only(run, "vault:kubernetes/authBackendRole:AuthBackendRole")
    policy = only(run, "vault:index/policy:Policy")
    assert provider_of(run, role).inputs["address"] == "https://bao.site-b.example.internal:8200"
    assert role.inputs["backend"] == "kubernetes"
    assert role.inputs["boundServiceAccountNames"] == [SERVICE_ACCOUNT]
    assert role.inputs["boundServiceAccountNamespaces"] == ["model-replication"]
    assert role.inputs["audience"] == VAULT_AUDIENCE
    assert policy.inputs["policy"] == (
        'path "inference-failover/data/s3/site-b/deployer" {\n  capabilities = ["read"]\n}\n'
        'path "auth/token/revoke-self" {\n  capabilities = ["update"]\n}\n'
    )
    # An aws primary is read through the same keyless federation as for a cloud standby: the
    # standby cluster's issuer (published over https) is trusted by an IAM OIDC provider.
    oidc = only(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.inputs["url"] == ISSUER


def test_network_policy_lets_the_job_reach_the_sites_store_and_vault_ports_only_besides_public_https() -> (
    None
):
    run = replication_run("onprem", "onprem")
    egress = only(run, NETWORK_POLICY).inputs["spec"]["egress"]
    site = [rule for rule in egress if rule["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]]
    (rule,) = site
    assert sorted(p["port"] for p in rule["ports"]) == [443, 8200, 9000]
    assert only(run, NETWORK_POLICY).inputs["spec"]["ingress"] == []


def test_hourly_copies_from_onprem_into_gcp_stay_a_cronjob() -> None:
    assert plan_replication("onprem", "gcp", 60, "standby").mechanism == KUBERNETES_CRONJOB
    assert plan_replication("aws", "gcp", 60, "standby").mechanism == "storage-transfer-service"


def test_an_onprem_primary_descriptor_without_its_read_key_path_is_rejected() -> None:
    descriptor = dict(onprem_primary().outputs[outputs.MODEL_STORE])
    del descriptor["readCredentialsPath"]
    with pytest.raises(ReplicationSourceError, match="lacks readCredentialsPath"):
        checked_source(descriptor, "onprem", "standby")


def test_s3_compatible_store_defaults_are_the_secure_ones() -> None:
    store = S3CompatibleStore(endpoint=ENDPOINT, credentials_path="s3/a", vault_address=VAULT)
    assert (store.encryption, store.region, store.vault_kv_mount, store.vault_kubernetes_auth_path) == (
        "sse-s3",
        "us-east-1",
        "inference-failover",
        "kubernetes",
    )
    assert store.problems() == []


def test_an_onprem_standby_without_a_token_issuer_fails_naming_service_account_issuer() -> None:
    """An existing cluster has no managed issuer (the on-prem cluster reports an empty one)."""
    with pytest.raises(ProgramError) as caught:
        replication_run("aws", "onprem", issuer="")
    assert "needs its cluster's service-account token issuer as an https URL (got '')" in str(caught.value)
    assert "set `serviceAccountIssuer`" in str(caught.value)


def test_the_verifier_locates_an_onprem_store_from_its_descriptor_alone() -> None:
    from cutover.verify import InvalidStoreLocationError, StoreLocation

    descriptor = onprem_primary().outputs[outputs.MODEL_STORE]
    at = StoreLocation.from_descriptor(descriptor, prefix="models/llama")
    assert (at.cloud, at.endpoint_url, at.region) == ("onprem", ENDPOINT, "default")
    assert (at.vault_address, at.vault_kv_mount, at.credentials_path) == (
        VAULT,
        "inference-failover",
        "s3/site-a/replication-reader",
    )
    assert str(at) == f"s3://primary-models-site-a/models/llama/ (endpoint {ENDPOINT})"
    # --standby-store-endpoint still wins (a gateway or a test server).
    overridden = StoreLocation.from_descriptor(descriptor, endpoint_url="http://127.0.0.1:9000")
    assert overridden.endpoint_url == "http://127.0.0.1:9000"
    without = {k: v for k, v in descriptor.items() if k != "endpoint"}
    with pytest.raises(InvalidStoreLocationError, match="onprem needs the S3 endpoint of the store"):
        StoreLocation.from_descriptor(without)
