"""The write-once audit bucket on a site's S3-compatible store (cloud: onprem), under mocks."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_minio as minio
import pytest

from components.audit import AuditStoreArgs, create_audit_store
from components.audit.onprem import audit_bucket_name
from components.common import Placement
from infra.config import StackConfig
from offline.harness import ProgramError, ProgramRun, run_stack
from tests.support import pair_secrets, primary_overrides

ENDPOINT = "https://s3.site.internal:8333"


def _program(with_store: bool) -> Any:
    def program(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
        # What the onprem model store exposes (components/object_store/onprem.py).
        store: Any = SimpleNamespace()
        if with_store:
            store = SimpleNamespace(
                bucket_provider=minio.Provider(
                    "store", minio.ProviderArgs(minio_server="s3.site.internal:8333", minio_ssl=True)
                ),
                s3_provider=aws.Provider(
                    "store-s3",
                    aws.ProviderArgs(
                        region="us-east-1",
                        endpoints=[aws.ProviderEndpointArgs(s3=ENDPOINT)],
                        s3_use_path_style=True,
                        skip_credentials_validation=True,
                        skip_requesting_account_id=True,
                        skip_metadata_api_check=True,
                        skip_region_validation=True,
                    ),
                ),
                settings=SimpleNamespace(
                    endpoint=ENDPOINT,
                    region="us-east-1",
                    encryption="sse-s3",
                    vault_address="https://openbao.site.internal:8200",
                    vault_kv_mount="inference-failover",
                    credentials_path="s3/fra-dc1/deployer",
                ),
            )
        placement = Placement(cloud="onprem", region=cfg.region, provider=None, stack=cfg.stack)  # type: ignore[arg-type]
        audit = create_audit_store(
            "primary",
            AuditStoreArgs(placement=placement, model_store=store, retention_days=cfg.audit_retention_days),
        )
        return {"auditStore": audit.descriptor}

    return program


def _run(**overrides: Any) -> ProgramRun:
    return run_stack(
        "primary",
        {**primary_overrides("onprem", "aws"), **overrides},
        pair_secrets("onprem", "aws"),
        program=_program(True),
    )


def test_bucket_is_created_lock_enabled_and_protected() -> None:
    run = _run()
    bucket = run.one("minio:index/s3Bucket:S3Bucket")
    assert bucket.inputs["bucket"] == audit_bucket_name("primary", "fra-dc1") == "primary-audit-fra-dc1"
    assert bucket.inputs["objectLocking"] is True and bucket.inputs["acl"] == "private"
    assert bucket.protect and bucket.provider.split("::")[-2] == "store"


def test_default_retention_is_compliance_for_the_configured_days() -> None:
    run = _run(auditRetentionDays=30)
    lock = run.one("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert lock.inputs["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 30}
    assert lock.provider.split("::")[-2] == "store-s3"
    versioning = run.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.urn in lock.dependencies
    sse = run.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"


def test_descriptor_names_the_site_endpoint_and_lock() -> None:
    audit = _run().outputs["auditStore"]
    assert audit["cloud"] == "onprem" and audit["region"] == "fra-dc1"
    assert (audit["bucket"], audit["uri"]) == ("primary-audit-fra-dc1", "s3://primary-audit-fra-dc1")
    assert (audit["endpoint"], audit["account"]) == (ENDPOINT, "s3.site.internal")
    assert audit["lock"] == "s3-object-lock-compliance" and audit["retentionDays"] == 365


def test_the_cli_finds_the_site_store_and_its_key_from_the_descriptor() -> None:
    from cutover.verify import StoreLocation

    location = StoreLocation.from_descriptor(_run().outputs["auditStore"], prefix="audit/")
    assert (location.cloud, location.bucket, location.endpoint_url) == (
        "onprem",
        "primary-audit-fra-dc1",
        ENDPOINT,
    )
    assert (location.vault_address, location.vault_kv_mount, location.credentials_path) == (
        "https://openbao.site.internal:8200",
        "inference-failover",
        "s3/fra-dc1/deployer",
    )


def test_refuses_a_model_store_that_is_not_on_the_site() -> None:
    with pytest.raises(ProgramError, match="needs the onprem model store"):
        run_stack(
            "primary",
            primary_overrides("onprem", "aws"),
            pair_secrets("onprem", "aws"),
            program=_program(False),
        )
