"""The write-once audit store of every stack, on mocked runs of the real stack files (all 6 pairs)."""

from __future__ import annotations

from typing import Any

import pytest

from infra import outputs
from infra.config import ConfigError
from offline.harness import ProgramError, ProgramRun, Registered, run_stack
from tests.support import PAIRS, TEST_SECRETS, pair, primary_overrides

AUDIT_TYPE = {
    "aws": "inference-failover:audit:AwsAuditStore",
    "gcp": "inference-failover:audit:GcpAuditStore",
    "azure": "inference-failover:audit:AzureAuditStore",
}
STACKS = [
    pytest.param((p, s, i), id=f"{p}-to-{s}-{('primary', 'standby')[i]}") for p, s in PAIRS for i in (0, 1)
]


def run_of(where: tuple[str, str, int]) -> ProgramRun:
    return pair(where[0], where[1])[where[2]]


def children(run: ProgramRun, parent: Registered, type_token: str) -> list[Registered]:
    return [r for r in run.resources if r.parent == parent.urn and r.type == type_token]


@pytest.mark.parametrize("where", STACKS)
def test_every_stack_has_an_audit_store_in_its_own_cloud_exported_for_the_cli(
    where: tuple[str, str, int],
) -> None:
    run = run_of(where)
    cloud = where[where[2]]
    component = run.one(AUDIT_TYPE[cloud])
    descriptor: dict[str, Any] = run.outputs[outputs.AUDIT_STORE]
    assert descriptor["cloud"] == cloud
    assert descriptor["retentionDays"] == 365
    assert descriptor["bucket"] and descriptor["uri"]
    assert component.name == run.config.role


def _aws(run: ProgramRun) -> None:
    audit = run.one(AUDIT_TYPE["aws"])
    [bucket] = children(run, audit, "aws:s3/bucket:Bucket")
    assert bucket.inputs["objectLockEnabled"] is True
    assert bucket.protect and not bucket.inputs.get("forceDestroy")
    [lock] = children(run, audit, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert lock.inputs["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 365}
    [sse] = children(
        run, audit, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    default = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    model_key = run.outputs[outputs.MODEL_STORE]["kmsKeyArn"]
    assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": model_key}
    [block] = children(run, audit, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
    )
    [versioning] = children(run, audit, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    assert versioning.urn in lock.dependencies


def _gcp(run: ProgramRun) -> None:
    audit = run.one(AUDIT_TYPE["gcp"])
    [bucket] = children(run, audit, "gcp:storage/bucket:Bucket")
    assert bucket.inputs["retentionPolicy"] == {"retentionPeriod": str(365 * 86400), "isLocked": True}
    assert not bucket.inputs.get("versioning", {}).get("enabled")  # GCS: exclusive with retention
    model = run.outputs[outputs.MODEL_STORE]
    assert bucket.inputs["encryption"]["defaultKmsKeyName"] == model["kmsKey"]
    assert bucket.inputs["location"] == model["location"]  # CMEK key location must match
    assert bucket.inputs["publicAccessPrevention"] == "enforced"
    assert bucket.inputs["uniformBucketLevelAccess"] is True and bucket.protect
    model_store = run.one("inference-failover:object_store:GcpModelStore")
    assert model_store.urn in bucket.dependencies or any(
        r.urn in bucket.dependencies for r in run.children_of(model_store.urn)
    )  # the CMEK grant exists before the bucket


def _azure(run: ProgramRun) -> None:
    audit = run.one(AUDIT_TYPE["azure"])
    [account] = children(run, audit, "azure-native:storage:StorageAccount")
    immutability = account.inputs["immutableStorageWithVersioning"]
    assert immutability == {
        "enabled": True,
        "immutabilityPolicy": {
            "immutabilityPeriodSinceCreationInDays": 365,
            "state": "Unlocked",  # Azure creates no Locked policy; each record is locked by the CLI
            "allowProtectedAppendWrites": False,
        },
    }
    assert account.inputs["allowSharedKeyAccess"] is False
    assert account.inputs["allowBlobPublicAccess"] is False
    assert account.inputs["minimumTlsVersion"] == "TLS1_2"
    [service] = children(run, audit, "azure-native:storage:BlobServiceProperties")
    assert service.inputs["isVersioningEnabled"] is True  # version-level immutability needs it
    assert account.protect


@pytest.mark.parametrize("where", STACKS)
def test_audit_bucket_is_write_once_encrypted_and_private(where: tuple[str, str, int]) -> None:
    cloud = where[where[2]]
    {"aws": _aws, "gcp": _gcp, "azure": _azure}[cloud](run_of(where))


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_retention_is_configurable(cloud: str) -> None:
    run = run_stack("primary", {**primary_overrides(cloud), "auditRetentionDays": 30}, TEST_SECRETS)
    assert run.outputs[outputs.AUDIT_STORE]["retentionDays"] == 30


def test_bad_retention_is_a_config_error_naming_the_key() -> None:
    with pytest.raises((ConfigError, ProgramError), match="auditRetentionDays"):
        run_stack("primary", {"auditRetentionDays": 0}, TEST_SECRETS)


def test_a_re_created_stack_gets_a_new_azure_audit_account_name() -> None:
    from components.audit.azure import account_name_for

    first = account_name_for("primary", "sub", "eastus", "a1b2")
    assert first == account_name_for("primary", "sub", "eastus", "a1b2")  # stable for the stack's life
    assert first != account_name_for("primary", "sub", "eastus", "c3d4")  # the old one may outlive destroy
    assert len(first) <= 24 and first.isalnum() and first.islower()
