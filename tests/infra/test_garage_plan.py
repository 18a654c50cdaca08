"""Every pair with a Garage-class site (no versioning, no SSE-S3, no Object Lock), in both roles:
the real program on the shipped stack files (tests/support.py), the site declared with
`s3Capabilities: []` and its audit bucket on `auditS3Endpoint`.

What must hold on such a site: nothing asks its store for a call it does not implement (no
versioning, encryption or lock resource on the site's endpoint), the audit trail keeps its
Object Lock on the other endpoint, replication and the workload are the same as on a full store,
and the plan says what is lost.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components.object_store.s3_capabilities import ALL
from infra import outputs
from offline.harness import ProgramRun, Registered, run_pair
from tests.support import (
    ONPREM_PAIRS,
    PRIMARY_VAULT_TOKEN,
    TEST_SECRETS,
    pair,
    primary_overrides,
    standby_overrides,
)

AUDIT_ENDPOINT = "https://s3.audit.example.internal:9000"
GARAGE_SITE: dict[str, Any] = {
    "s3Capabilities": [],
    "s3Region": "garage",  # Garage refuses a CreateBucket LocationConstraint other than its s3_region
    "auditS3Endpoint": AUDIT_ENDPOINT,
    "auditS3CredentialsPath": "s3/audit/deployer",
}
CASES = [
    (p, s, role)
    for p, s in ONPREM_PAIRS
    for role in ("primary", "standby", "both")
    if (role == "both" and p == s == "onprem")
    or (role == "primary" and p == "onprem")
    or (role == "standby" and s == "onprem")
]
CASE_IDS = [f"{p}-to-{s}-garage-{role}" for p, s, role in CASES]
UNSUPPORTED_ON_GARAGE = (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
)


def _garage_roles(role: str) -> set[str]:
    return {"primary", "standby"} if role == "both" else {role}


@cache
def garage_pair(primary: str, standby: str, role: str) -> tuple[ProgramRun, ProgramRun]:
    roles = _garage_roles(role)
    p = {**primary_overrides(primary, standby), **(GARAGE_SITE if "primary" in roles else {})}
    s = {**standby_overrides(primary, standby), **(GARAGE_SITE if "standby" in roles else {})}
    if primary == standby == "onprem":
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PRIMARY_VAULT_TOKEN_FILE", PRIMARY_VAULT_TOKEN)
            return run_pair(p, s, TEST_SECRETS)
    return run_pair(p, s, TEST_SECRETS)


def _children(run: ProgramRun, parent: Registered) -> list[Registered]:
    return [r for r in run.resources if r.parent == parent.urn]


def _provider_name(resource: Registered) -> str:
    return str(resource.provider).split("::")[-2] if resource.provider else ""


def _site_runs(case: tuple[str, str, str]) -> list[ProgramRun]:
    p, s, role = case
    runs = garage_pair(p, s, role)
    return [run for run, r in zip(runs, ("primary", "standby"), strict=True) if r in _garage_roles(role)]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_nothing_asks_the_garage_store_for_a_call_it_does_not_implement(case: tuple[str, str, str]) -> None:
    for run in _site_runs(case):
        store = run.one("inference-failover:object_store:OnpremModelStore")
        site_provider = f"{run.stack}-store-s3"
        on_site = [r for r in run.resources if _provider_name(r) == site_provider]
        assert on_site == [], [r.name for r in on_site]
        assert not [r for r in _children(run, store) if r.type in UNSUPPORTED_ON_GARAGE]
        (bucket,) = [r for r in _children(run, store) if r.type == "minio:index/s3Bucket:S3Bucket"]
        assert bucket.inputs["acl"] == "private" and bucket.inputs["objectLocking"] is False
        descriptor = run.outputs[outputs.MODEL_STORE]
        assert descriptor["versioning"] is False and descriptor["encryption"] == "none"
        assert descriptor["s3Region"] == "garage"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_audit_trail_keeps_its_compliance_lock_on_the_audit_endpoint(case: tuple[str, str, str]) -> None:
    for run in _site_runs(case):
        audit = run.one("inference-failover:audit:OnpremAuditStore")
        children = _children(run, audit)
        (bucket,) = [r for r in children if r.type == "minio:index/s3Bucket:S3Bucket"]
        assert bucket.inputs["objectLocking"] is True
        assert _provider_name(bucket) == f"{run.stack}-audit-store"
        minio_provider = next(r for r in run.resources if r.name == f"{run.stack}-audit-store")
        assert minio_provider.inputs["minioServer"] == "s3.audit.example.internal:9000"
        lock = next(r for r in children if r.type.endswith("BucketObjectLockConfiguration"))
        assert lock.inputs["rule"]["defaultRetention"]["mode"] == "COMPLIANCE"
        for resource in [r for r in children if r.type.startswith("aws:s3/")]:
            assert _provider_name(resource) == f"{run.stack}-audit-store-s3", resource.name
        aws_provider = next(r for r in run.resources if r.name == f"{run.stack}-audit-store-s3")
        # Provider inputs travel as JSON strings on the wire.
        assert json.loads(aws_provider.inputs["endpoints"]) == [{"s3": AUDIT_ENDPOINT}]
        assert aws_provider.inputs["s3UsePathStyle"] in (True, "true")
        descriptor = run.outputs[outputs.AUDIT_STORE]
        assert descriptor["endpoint"] == AUDIT_ENDPOINT
        assert descriptor["readCredentialsPath"] == "s3/audit/deployer"
        assert descriptor["lock"] == "s3-object-lock-compliance"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_plan_says_what_the_garage_site_loses(case: tuple[str, str, str]) -> None:
    for run in _site_runs(case):
        text = "\n".join(run.warnings)
        assert (
            "has no versioning (s3Capabilities): no object history: an overwritten or deleted model" in text
        )
        assert "has no sse-s3 (s3Capabilities): no at-rest encryption by the store" in text
        assert f"audit records go to {AUDIT_ENDPOINT} (auditS3Endpoint)" in text


def _copy_container(run: ProgramRun) -> dict[str, Any]:
    spec = run.one("kubernetes:batch/v1:CronJob").inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (copy,) = spec["containers"]
    return dict(copy)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_replication_renders_the_same_copy_as_with_a_full_store(case: tuple[str, str, str]) -> None:
    """rclone copy needs no versioning (it lists, heads, gets and puts current objects): the job a
    Garage-class side gets is the one a full store gets, but for the store's region."""
    p, s, role = case
    garage = _copy_container(garage_pair(p, s, role)[1])
    full = _copy_container(pair(p, s)[1])
    assert garage["args"] == full["args"]
    garage_env = {e["name"]: e["value"] for e in garage["env"]}
    full_env = {e["name"]: e["value"] for e in full["env"]}
    regions = {k for k in full_env if k.endswith("_REGION") and garage_env.get(k) == "garage"}
    assert {k for k in full_env if garage_env.get(k) != full_env[k]} == regions
    assert garage_env.keys() == full_env.keys()


def test_every_pair_with_a_site_is_covered_in_both_roles() -> None:
    assert len(CASES) == 9  # 3 clouds x 2 directions + onprem-onprem with either or both on Garage
    assert {(p, s) for p, s, _ in CASES} == set(ONPREM_PAIRS)


def test_infra_plan_prints_the_losses_of_a_garage_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.plan import main as plan_main
    from tests.infra.test_check import edit, project

    root = project(tmp_path)
    edit(root, "primary", **primary_overrides("onprem", "aws"), **GARAGE_SITE)
    assert plan_main(["primary", "--workdir", str(root)]) == 0
    text = capsys.readouterr().out
    assert "no object history: an overwritten or deleted model cannot be restored" in text
    assert "no at-rest encryption by the store" in text
    assert "primary-models-versioning" not in text and "primary-models-encryption" not in text
    assert "primary-audit-versioning" in text and "primary-audit-lock" in text


def test_the_audit_component_refuses_a_store_without_object_lock_and_no_endpoint() -> None:
    from components.audit.onprem_endpoint import require_object_lock
    from components.object_store.args import S3CompatibleStore

    garage = S3CompatibleStore(
        endpoint="https://s3.fra-dc1.internal:3900",
        credentials_path="s3/fra-dc1/deployer",
        vault_address="https://openbao.fra-dc1.internal:8200",
        capabilities=frozenset(),
        encryption="none",
    )
    with pytest.raises(
        ValueError,
        match=re.escape("needs Object Lock, which the site's store at https://s3.fra-dc1.internal:3900"),
    ):
        require_object_lock(garage, "primary")
    require_object_lock(S3CompatibleStore(**{**garage.__dict__, "capabilities": frozenset(ALL)}), "primary")
    # The component's own path: a Garage-class model store without an audit endpoint is refused
    # before the audit bucket exists.
    from types import SimpleNamespace

    from components.audit.onprem_endpoint import audit_target

    with pytest.raises(ValueError, match=re.escape("S3CompatibleStore.audit_endpoint")):
        audit_target("primary", SimpleNamespace(settings=garage), None, "primary")  # type: ignore[arg-type]
