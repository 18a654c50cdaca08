"""The mocks harness runs programs on the real stack files and records what they register."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from infra.config import ConfigError, StackConfig
from offline.harness import SECRET_PLACEHOLDER, ProgramError, load_stack_config, run_stack
from tests.support import TEST_SECRETS


def _bucket_program(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
    provider = aws.Provider("aws-own", aws.ProviderArgs(region=cfg.region))
    group = pulumi.ComponentResource("inference-failover:test:Group", "group")
    bucket = aws.s3.Bucket(
        "models",
        aws.s3.BucketArgs(bucket=f"models-{cfg.stack}", tags={"gpu": cfg.gpu.shape.machine_type}),
        opts=pulumi.ResourceOptions(parent=group, provider=provider),
    )
    secret = aws.secretsmanager.SecretVersion(
        "api-key",
        aws.secretsmanager.SecretVersionArgs(secret_id="arn:secret", secret_string=secrets["apiKey"]),
        opts=pulumi.ResourceOptions(parent=group, provider=provider),
    )
    return {"bucket": bucket.bucket, "arn": bucket.arn, "secretId": secret.id}


def test_program_sees_the_shipped_stack_file_and_schema_defaults() -> None:
    run = run_stack("primary", secrets=TEST_SECRETS, program=_bucket_program)
    assert run.config.region == "us-east-1"  # from Pulumi.primary.yaml
    assert run.config.dns.health_check_path == "/health"  # schema default in Pulumi.yaml
    bucket = run.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["tags"] == {"gpu": "g6.2xlarge"}
    assert run.outputs["bucket"] == "models-primary"
    assert run.outputs["arn"].startswith("arn:aws:s3:")


def test_records_parent_and_explicit_provider_of_each_resource() -> None:
    run = run_stack("primary", secrets=TEST_SECRETS, program=_bucket_program)
    group = run.one("inference-failover:test:Group")
    bucket = run.one("aws:s3/bucket:Bucket")
    assert bucket.parent == group.urn
    assert "pulumi:providers:aws::aws-own::" in bucket.provider
    assert group.provider == ""


def test_marks_secret_inputs_as_secret() -> None:
    run = run_stack("primary", secrets=TEST_SECRETS, program=_bucket_program)
    version = run.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert "secretString" in version.secret_inputs
    assert version.inputs["secretString"] == TEST_SECRETS["apiKey"]
    assert "secretId" not in version.secret_inputs


def test_secure_values_in_a_stack_file_become_placeholder_secrets(tmp_path: Any) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        "name: inference-failover\nconfig:\n  dnsRecord:\n    default: api\n"
    )
    (tmp_path / "Pulumi.s.yaml").write_text(
        "config:\n  inference-failover:apiKey:\n    secure: v1:abc\n  aws:region: eu-west-1\n"
    )
    config, secret_keys = load_stack_config("s", root=tmp_path)
    assert config == {
        "inference-failover:dnsRecord": "api",
        "inference-failover:apiKey": SECRET_PLACEHOLDER,
        "aws:region": "eu-west-1",
    }
    assert secret_keys == ["inference-failover:apiKey"]


def test_config_errors_stop_the_run_before_any_resource_exists() -> None:
    created: list[str] = []

    def program(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
        created.append("called")
        return {}

    with pytest.raises(ConfigError, match="'cloud' must be one of aws, gcp, azure"):
        run_stack("primary", overrides={"cloud": "awz"}, secrets=TEST_SECRETS, program=program)
    assert created == []


def test_unknown_stack_file_is_a_clear_error() -> None:
    with pytest.raises(ProgramError, match=r"no stack file Pulumi.prod.yaml; stacks here: primary, standby"):
        run_stack("prod")


def test_exceptions_inside_the_program_surface_as_program_errors() -> None:
    def program(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
        raise RuntimeError("boom in component")

    with pytest.raises(ProgramError, match="boom in component"):
        run_stack("primary", secrets=TEST_SECRETS, program=program)


def test_records_resource_options_that_protect_state() -> None:
    def program(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
        provider = aws.Provider("aws-own", aws.ProviderArgs(region=cfg.region))
        aws.s3.Bucket(
            "models",
            aws.s3.BucketArgs(bucket="m"),
            opts=pulumi.ResourceOptions(provider=provider, protect=True, ignore_changes=["tags"]),
        )
        return {}

    bucket = run_stack("primary", secrets=TEST_SECRETS, program=program).one("aws:s3/bucket:Bucket")
    assert bucket.protect is True
    assert bucket.ignore_changes == ("tags",)
