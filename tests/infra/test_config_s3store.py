"""Config of the S3-compatible model store (infra/config_s3store.py): every default, limit and error."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from infra.config import KNOWN_KEYS, PROJECT, ConfigError, _Reader, parse_config
from infra.config_s3store import KEYS, S3StoreSettings, read_s3_store, warnings_for
from offline.harness import ROOT, load_stack_config
from tests.support import TEST_SECRETS

ONPREM = {
    "s3Endpoint": "https://s3.site-a.example.internal",
    "s3CredentialsPath": "s3/site-a/deployer",
    "s3ReadCredentialsPath": "s3/site-a/replication-reader",
}


def read(
    role: str = "primary", cloud: str = "onprem", **raw: Any
) -> tuple[S3StoreSettings | None, list[str]]:
    values = {**ONPREM, **raw}
    reader = _Reader({k: str(v) for k, v in values.items() if v is not None}, "site-a")
    settings = read_s3_store(reader, cloud, role)
    return settings, [str(p) for p in reader.problems]


def test_an_onprem_store_reads_its_endpoint_paths_and_secure_defaults() -> None:
    settings, problems = read()
    assert problems == []
    assert settings == S3StoreSettings(
        endpoint="https://s3.site-a.example.internal",
        region="us-east-1",
        credentials_path="s3/site-a/deployer",
        read_credentials_path="s3/site-a/replication-reader",
        encryption="sse-s3",
    )
    assert warnings_for(settings) == []


def test_the_endpoint_keeps_its_port_and_loses_a_trailing_slash() -> None:
    settings, problems = read(s3Endpoint="https://10.0.40.10:9000/")
    assert problems == [] and settings is not None
    assert settings.endpoint == "https://10.0.40.10:9000"


@pytest.mark.parametrize(
    "endpoint",
    ["s3.site-a.example.internal", "not a url", "http://s3.site-a.example.internal", "ftp://s3.example",
     "https://", "https://s3.example:99999", "https://bad_host!"],
)  # fmt: skip
def test_an_endpoint_that_is_not_an_https_url_is_refused_naming_key_value_and_fix(endpoint: str) -> None:
    settings, problems = read(s3Endpoint=endpoint)
    assert settings is None
    (problem,) = problems
    assert problem.startswith("stack config 's3Endpoint' must be an https:// URL of the S3 API")
    assert repr(endpoint) in problem
    assert "pulumi config set s3Endpoint https://<host>[:port] -s site-a" in problem


def test_an_endpoint_with_a_bucket_path_is_refused_with_the_bare_endpoint_as_fix() -> None:
    settings, problems = read(s3Endpoint="https://s3.example.internal/models")
    assert settings is None
    (problem,) = problems
    assert "without a path, bucket, query or user" in problem
    assert "pulumi config set s3Endpoint https://s3.example.internal -s site-a" in problem


def test_endpoint_and_deployer_key_path_are_required_on_onprem() -> None:
    settings, problems = read(s3Endpoint=None, s3CredentialsPath=None)
    assert settings is None
    assert problems == [
        "stack config 's3Endpoint' must be set (got nothing): set it with "
        "`pulumi config set s3Endpoint https://s3.site-a.example.internal -s site-a`",
        "stack config 's3CredentialsPath' must be set (got nothing): set it with "
        "`pulumi config set s3CredentialsPath s3/site-a/deployer -s site-a`",
    ]


def test_a_primary_needs_a_read_only_key_path_for_its_standby() -> None:
    settings, problems = read(s3ReadCredentialsPath=None)
    assert settings is None or settings.read_credentials_path is None
    (problem,) = problems
    assert problem.startswith("stack config 's3ReadCredentialsPath' must be set on an on-prem primary")
    assert "pulumi config set s3ReadCredentialsPath s3/site-a/replication-reader -s site-a" in problem


def test_a_standby_needs_no_read_only_key_path_but_its_clusters_token_issuer() -> None:
    issuer = "https://oidc.site-b.example.org/cluster"
    settings, problems = read(role="standby", s3ReadCredentialsPath=None, serviceAccountIssuer=issuer)
    assert problems == [] and settings is not None
    assert settings.read_credentials_path is None
    assert settings.service_account_issuer == issuer
    _, problems = read(role="standby", s3ReadCredentialsPath=None)
    assert problems == [
        "stack config 'serviceAccountIssuer' must be set (got nothing): set it with "
        "`pulumi config set serviceAccountIssuer https://oidc.site-b.example.org -s site-a`"
    ]


@pytest.mark.parametrize(
    "issuer", ["oidc.site-b.example.org", "http://oidc.site-b", "https://", "https://a?b=c"]
)
def test_an_issuer_that_is_not_an_https_url_is_refused(issuer: str) -> None:
    _, problems = read(role="standby", serviceAccountIssuer=issuer)
    (problem,) = problems
    assert problem.startswith(
        "stack config 'serviceAccountIssuer' must be the https:// URL the site cluster's"
    )
    assert repr(issuer) in problem


def test_a_primary_may_name_its_issuer_without_needing_it() -> None:
    settings, problems = read(serviceAccountIssuer="https://oidc.site-a.example.org")
    assert problems == [] and settings is not None
    assert settings.service_account_issuer == "https://oidc.site-a.example.org"
    assert read()[0].service_account_issuer is None  # type: ignore[union-attr]


def test_the_read_only_key_must_not_be_the_deployers() -> None:
    _, problems = read(s3ReadCredentialsPath="s3/site-a/deployer")
    (problem,) = problems
    assert "a different path than s3CredentialsPath" in problem


@pytest.mark.parametrize(
    "path", ["/s3/site-a", "s3/site-a/", "s3//a", "data/s3/site-a", "s3/../other", "s3/site a", "metadata/x"]
)
def test_a_kv_path_that_the_kv_v2_api_would_not_address_is_refused(path: str) -> None:
    _, problems = read(s3CredentialsPath=path)
    (problem,) = problems
    assert problem.startswith("stack config 's3CredentialsPath' must be a KV v2 secret path")
    assert repr(path) in problem


def test_region_defaults_to_us_east_1_and_accepts_a_ceph_zonegroup() -> None:
    assert read()[0].region == "us-east-1"  # type: ignore[union-attr]
    settings, problems = read(s3Region="default")
    assert problems == [] and settings is not None and settings.region == "default"
    _, problems = read(s3Region="us east")
    assert problems == [
        "stack config 's3Region' must be a region name the store signs for (letters, digits, '-', '_') "
        "(got 'us east'): set it in Pulumi.site-a.yaml"
    ]


def test_encryption_can_be_declared_absent_with_a_warning_and_nothing_else() -> None:
    settings, problems = read(s3Encryption="none")
    assert problems == [] and settings is not None and settings.encryption == "none"
    (warning,) = warnings_for(settings)
    assert "no default server-side encryption" in warning and "https://s3.site-a.example.internal" in warning
    _, problems = read(s3Encryption="sse-kms")
    assert problems == ["stack config 's3Encryption' must be one of sse-s3, none (got 'sse-kms'): set it in "
                        "Pulumi.site-a.yaml"]  # fmt: skip


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_s3_keys_on_a_cloud_stack_are_refused(cloud: str) -> None:
    settings, problems = read(
        cloud=cloud, s3Region="us-east-1", s3Encryption="none", serviceAccountIssuer="https://a.b"
    )
    assert settings is None
    assert [p.split("'")[1] for p in problems] == sorted(KEYS)
    assert all(
        f"unset on a {cloud} stack" in p and "remove it from Pulumi.site-a.yaml" in p for p in problems
    )


def test_parse_config_refuses_s3_keys_on_the_shipped_aws_primary() -> None:
    config, secret_keys = load_stack_config("primary", secrets=TEST_SECRETS)
    raw = {k.removeprefix(f"{PROJECT}:"): v for k, v in config.items() if k.startswith(f"{PROJECT}:")}
    secrets = frozenset(k.removeprefix(f"{PROJECT}:") for k in secret_keys)
    with pytest.raises(ConfigError) as caught:
        parse_config({**raw, "s3Endpoint": "https://s3.example.internal"}, "primary", secrets)
    assert [p.key for p in caught.value.problems] == ["s3Endpoint"]
    assert parse_config(raw, "primary", secrets).s3_store is None


def test_every_key_is_known_and_declared_in_pulumi_yaml_without_a_schema_default() -> None:
    assert KEYS <= KNOWN_KEYS
    schema = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert set(schema) >= KEYS
    # A schema default would be set on every stack, and aws/gcp/azure stacks refuse these keys.
    assert not any("default" in schema[key] for key in KEYS)
    assert "default us-east-1" in schema["s3Region"]["description"]
    assert "default sse-s3" in schema["s3Encryption"]["description"]
