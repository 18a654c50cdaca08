"""Config of what the site's S3 store implements and of the audit endpoint
(infra/config_s3_capabilities.py): every new key's default, limit and error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.object_store.args import S3CompatibleStore
from components.object_store.s3_capabilities import ALL, STORES
from infra.config import KNOWN_KEYS, PROJECT, ConfigError, parse_config
from infra.config_s3_capabilities import KEYS, AuditEndpointSettings
from infra.config_s3store import S3StoreSettings, warnings_for
from offline.harness import load_stack_config
from tests.infra.test_config_s3store import read
from tests.support import TEST_SECRETS, primary_overrides, standby_overrides

AUDIT_URL = "https://s3.audit.example.internal:9000"
AUDIT = {
    "auditS3Endpoint": AUDIT_URL,
    "auditS3CredentialsPath": "s3/audit/deployer",
}
GARAGE: dict[str, Any] = {"s3Capabilities": "[]", **AUDIT}


def test_the_default_is_every_capability_with_the_audit_bucket_on_the_site_store() -> None:
    settings, problems = read()
    assert problems == [] and settings is not None
    assert settings.capabilities == ALL == frozenset({"versioning", "sse-s3", "object-lock"})
    assert settings.audit is None and settings.encryption == "sse-s3"
    assert warnings_for(settings) == []
    assert KEYS <= KNOWN_KEYS


def test_a_garage_class_store_declares_nothing_and_sends_its_audit_bucket_elsewhere() -> None:
    settings, problems = read(**GARAGE)
    assert problems == [] and settings is not None
    assert settings.capabilities == frozenset()
    assert settings.encryption == "none"  # follows the store: no SSE-S3 to ask for
    assert settings.audit == AuditEndpointSettings(
        endpoint="https://s3.audit.example.internal:9000",
        credentials_path="s3/audit/deployer",
        region="us-east-1",
    )
    lines = warnings_for(settings)
    assert len(lines) == 4, lines
    assert "no object history: an overwritten or deleted model cannot be restored" in lines[0]
    assert "no at-rest encryption by the store" in lines[1]
    assert "no write-once buckets" in lines[2]
    assert lines[3] == f"audit records go to {AUDIT_URL} (auditS3Endpoint), not to the site's store"


def test_each_capability_can_be_left_out_alone_and_only_its_loss_is_reported() -> None:
    settings, problems = read(s3Capabilities='["sse-s3", "object-lock", "versioning"]')
    assert problems == [] and settings is not None and settings.capabilities == ALL
    settings, problems = read(s3Capabilities='["versioning", "object-lock"]')
    assert problems == [] and settings is not None and settings.encryption == "none"
    (line,) = warnings_for(settings)
    assert "has no sse-s3" in line
    settings, problems = read(s3Capabilities='["sse-s3"]', **AUDIT)
    assert problems == [] and settings is not None and settings.encryption == "sse-s3"
    assert "has no versioning" in warnings_for(settings)[0]


def test_an_unknown_capability_is_refused_naming_key_value_allowed_values_and_the_garage_row() -> None:
    _, problems = read(s3Capabilities='["versioning", "sse-kms"]')
    (problem,) = problems
    assert problem.startswith(
        "stack config 's3Capabilities' must be a list of what the store implements, from "
    )
    assert "versioning, sse-s3, object-lock" in problem and "(got 'sse-kms')" in problem
    assert "garage: []" in problem and "ceph-rgw: [versioning, sse-s3, object-lock]" in problem
    assert "inference-failover:s3Capabilities: []" in problem


@pytest.mark.parametrize("value", ["versioning", '{"versioning": true}', "[1, 2]"])
def test_s3_capabilities_that_is_not_a_list_of_names_is_refused(value: str) -> None:
    _, problems = read(s3Capabilities=value)
    (problem,) = problems
    assert problem.startswith("stack config 's3Capabilities' must be a list of strings")
    assert "write it as a YAML list in Pulumi.site-a.yaml" in problem


def test_object_lock_without_versioning_is_refused() -> None:
    _, problems = read(s3Capabilities='["object-lock"]')
    (problem,) = problems
    assert "s3Capabilities" in problem and "versioning as well when object-lock is listed" in problem


def test_sse_s3_asked_of_a_store_without_it_is_refused_before_anything_is_created() -> None:
    _, problems = read(s3Encryption="sse-s3", **GARAGE)
    (problem,) = problems
    assert problem.startswith("stack config 's3Encryption' must be none on a store without sse-s3")
    assert "(got 'sse-s3')" in problem and "remove s3Encryption" in problem


def test_a_store_without_object_lock_and_no_audit_endpoint_is_refused_naming_the_fix() -> None:
    settings, problems = read(s3Capabilities="[]")
    assert settings is None or settings.audit is None
    (problem,) = problems
    assert problem.startswith(
        "stack config 'auditS3Endpoint' must be set when s3Capabilities lacks object-lock"
    )
    assert "pulumi config set auditS3Endpoint" in problem and "auditS3CredentialsPath" in problem
    assert "Nothing was created" in problem


def test_the_audit_endpoint_is_checked_as_an_https_endpoint_and_needs_its_key_path() -> None:
    _, problems = read(s3Capabilities="[]", auditS3Endpoint="http://s3.audit.example.internal")
    assert [p.split("'")[1] for p in problems] == ["auditS3Endpoint", "auditS3CredentialsPath"]
    assert "must be an https:// URL of the S3 API" in problems[0]
    assert "pulumi config set auditS3Endpoint https://<host>[:port]" in problems[0]
    _, problems = read(s3Capabilities="[]", auditS3Endpoint="https://s3.audit.example.internal/audit")
    assert any("the endpoint only, without a path" in p for p in problems)
    _, problems = read(**{**GARAGE, "auditS3CredentialsPath": "data/s3/audit"})
    (problem,) = problems
    assert problem.startswith("stack config 'auditS3CredentialsPath' must be a KV v2 secret path")


def test_the_audit_region_defaults_and_is_checked() -> None:
    settings, problems = read(**GARAGE, auditS3Region="eu-central-1")
    assert problems == [] and settings is not None and settings.audit is not None
    assert settings.audit.region == "eu-central-1"
    _, problems = read(**GARAGE, auditS3Region="eu central")
    (problem,) = problems
    assert problem.startswith("stack config 'auditS3Region' must be a region name")


def test_the_audit_endpoint_cannot_be_the_site_store_itself() -> None:
    _, problems = read(**{**GARAGE, "auditS3Endpoint": "https://s3.site-a.example.internal"})
    (problem,) = problems
    assert problem.startswith("stack config 'auditS3Endpoint' must be another S3 endpoint than s3Endpoint")


def test_audit_keys_without_the_endpoint_are_refused_and_the_endpoint_is_allowed_with_object_lock() -> None:
    _, problems = read(auditS3CredentialsPath="s3/audit/deployer", auditS3Region="eu-central-1")
    assert [p.split("'")[1] for p in problems] == ["auditS3CredentialsPath", "auditS3Region"]
    assert all("must be unset unless auditS3Endpoint is set" in p for p in problems)
    # A full store may still keep its audit trail on a separate endpoint (separation of duties).
    settings, problems = read(**AUDIT)
    assert problems == [] and settings is not None and settings.audit is not None
    assert warnings_for(settings) == [
        f"audit records go to {AUDIT_URL} (auditS3Endpoint), not to the site's store"
    ]


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_the_new_keys_on_a_cloud_stack_are_refused(cloud: str) -> None:
    _, problems = read(cloud=cloud, **GARAGE, auditS3Region="eu-central-1")
    refused = [p.split("'")[1] for p in problems if f"unset on a {cloud} stack" in p]
    assert set(KEYS) <= set(refused), problems


def _config(stack: str, overrides: dict[str, Any]) -> tuple[dict[str, str], frozenset[str]]:
    config, secret_keys = load_stack_config(stack, overrides=overrides, secrets=TEST_SECRETS)
    raw = {k.removeprefix(f"{PROJECT}:"): v for k, v in config.items() if k.startswith(f"{PROJECT}:")}
    return raw, frozenset(k.removeprefix(f"{PROJECT}:") for k in secret_keys)


def test_the_whole_config_reports_a_missing_audit_endpoint_with_every_other_problem() -> None:
    overrides = {**primary_overrides("onprem"), "s3Capabilities": [], "s3Encryption": "sse-s3"}
    raw, secrets = _config("primary", overrides)
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", secrets)
    text = str(caught.value)
    assert "'auditS3Endpoint' must be set when s3Capabilities lacks object-lock" in text
    assert "'s3Encryption' must be none on a store without sse-s3" in text


def test_a_garage_standby_config_parses_with_its_warnings() -> None:
    overrides = {**standby_overrides("aws", "onprem"), "s3Capabilities": [], **AUDIT}
    raw, secrets = _config("standby", overrides)
    cfg = parse_config(raw, "standby", secrets)
    assert isinstance(cfg.s3_store, S3StoreSettings) and cfg.s3_store.capabilities == frozenset()
    assert sum("s3Capabilities" in w for w in cfg.warnings) == 3


def test_the_component_guards_its_own_capabilities_with_the_same_rules() -> None:
    base: dict[str, Any] = {
        "endpoint": "https://s3.site-a.example.internal",
        "credentials_path": "s3/site-a/deployer",
        "vault_address": "https://bao.site-a.example.internal:8200",
    }
    assert S3CompatibleStore(**base).problems() == []
    assert S3CompatibleStore(**base, capabilities=frozenset(), encryption="none").problems() == []
    assert (
        S3CompatibleStore(**base, capabilities=frozenset({"sse-kms"}))
        .problems()[0]
        .startswith(
            "s3_compatible.capabilities must be a subset of versioning, sse-s3, object-lock (got sse-kms)"
        )
    )
    assert any("lack sse-s3" in p for p in S3CompatibleStore(**base, capabilities=frozenset()).problems())
    audit = S3CompatibleStore(**{**base, "endpoint": "http://audit"})
    assert any(p.startswith("audit_endpoint: s3_compatible.endpoint must be an https:// URL") for p in
               S3CompatibleStore(**base, audit_endpoint=audit).problems())  # fmt: skip


def test_the_store_table_names_sources_and_garage_lacks_everything() -> None:
    assert STORES["garage"][0] == ()
    assert all(source for _, source in STORES.values())
    assert json.loads(json.dumps(list(STORES["ceph-rgw"][0]))) == ["versioning", "sse-s3", "object-lock"]


def test_air_gap_refuses_an_audit_endpoint_on_a_public_cloud() -> None:
    from tests.infra.test_config_onprem import air_gap, problems

    found = air_gap(
        problems(
            airGapped=True,
            s3Capabilities=[],
            auditS3Endpoint="https://s3.eu-central-1.amazonaws.com",
            auditS3CredentialsPath="s3/audit/deployer",
        )
    )
    (message,) = [p for p in found if p.startswith("stack config 'auditS3Endpoint'")]
    assert (
        "a model hub or public-cloud store" in message
        and "point auditS3Endpoint at a server inside" in message
    )
    assert not [p for p in air_gap(problems(airGapped=True, s3Capabilities=[], **AUDIT)) if "auditS3" in p]
