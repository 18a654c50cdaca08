"""Stack config validation: the shipped files are valid; every bad input gets a precise message."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from infra.config import PROJECT, ConfigError, StackConfig, parse_config
from offline.harness import _to_config_string, load_stack_config

SECRET = {"apiKey": "s3cr3t", "dockerHubAccessToken": "dckr_pat_test"}


@cache
def _shipped(stack: str) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The stack file as load_stack_config reads it, read once: hundreds of tests start from it
    (and tools/mutation.sh re-runs them for every mutant)."""
    config, secret_keys = load_stack_config(stack)
    return tuple(config.items()), tuple(secret_keys)


def shipped_raw(stack: str, **overrides: Any) -> tuple[dict[str, str], frozenset[str]]:
    """load_stack_config(stack, overrides, SECRET), un-namespaced (overrides and secrets applied
    the same way: None removes a key, secrets come last)."""
    base, base_secret_keys = _shipped(stack)
    config, secret_keys = dict(base), list(base_secret_keys)
    for key, value in overrides.items():
        if value is None:
            config.pop(f"{PROJECT}:{key}", None)
        else:
            config[f"{PROJECT}:{key}"] = _to_config_string(value)
    for key, value in SECRET.items():
        config[f"{PROJECT}:{key}"] = value
        secret_keys.append(f"{PROJECT}:{key}")
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}
    return raw, frozenset(k[len(prefix) :] for k in secret_keys)


def parse(stack: str, **overrides: Any) -> StackConfig:
    raw, secret_keys = shipped_raw(stack, **overrides)
    return parse_config(raw, stack, secret_keys)


def problems(stack: str, **overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(stack, **overrides)
    return [str(p) for p in caught.value.problems]


def test_shipped_primary_is_full_capacity_aws_with_l4_nodes() -> None:
    cfg = parse("primary")
    assert (cfg.cloud, cfg.role, cfg.region, cfg.capacity) == ("aws", "primary", "us-east-1", "full")
    assert cfg.gpu.shape.machine_type == "g6.2xlarge"
    assert (cfg.effective_node_count, cfg.effective_replicas) == (2, 2)
    assert cfg.dns.weight == 100
    assert cfg.primary_stack is None


def test_shipped_standby_is_warm_gcp_and_references_the_primary() -> None:
    cfg = parse("standby")
    assert (cfg.cloud, cfg.role, cfg.capacity) == ("gcp", "standby", "warm")
    assert cfg.gpu.shape.machine_type == "g2-standard-8"
    assert cfg.gpu.shape.accelerator == "nvidia-l4"
    assert (cfg.effective_node_count, cfg.effective_max_node_count, cfg.effective_replicas) == (1, 1, 1)
    assert cfg.primary_stack == "acme/inference-failover/primary"
    assert cfg.primary_cloud == "aws"
    assert cfg.dns.weight == 0
    assert cfg.clouds_used == ("gcp", "aws")


def test_fails_on_unknown_cloud_naming_key_value_choices_and_file() -> None:
    found = problems("standby", cloud="awz")
    assert (
        "stack config 'cloud' must be one of aws, gcp, azure, onprem (got 'awz'): "
        "set it in Pulumi.standby.yaml" in found
    )


def test_fails_on_missing_region_with_the_command_that_fixes_it() -> None:
    found = problems("primary", region=None)
    assert found == [
        "stack config 'region' must be set (got nothing): "
        "set it with `pulumi config set region us-east-1 -s primary`"
    ]


def test_fails_on_region_of_another_cloud() -> None:
    (found,) = problems("primary", region="us-central1")
    assert found.startswith("stack config 'region' must be a aws region such as")
    assert "(got 'us-central1')" in found


def test_fails_on_gpu_type_the_cloud_does_not_offer_and_lists_what_each_cloud_offers() -> None:
    (found,) = problems("standby", gpuType="a10g")
    assert (
        "stack config 'gpuType' must be a GPU gcp offers: t4, l4, a100, a100-80gb, h100 (got 'a10g')" in found
    )
    assert "aws: t4, a10g, l4, l40s, a100, a100-80gb, h100" in found


def test_fails_on_gpu_count_without_a_node_size_and_lists_sizes() -> None:
    (found,) = problems("primary", gpuCountPerNode=3)
    assert found.startswith(
        "stack config 'gpuCountPerNode' must be a l4 node size aws sells: g6.2xlarge (1 GPU)"
    )
    assert "(got 3)" in found


def test_fails_on_instance_override_that_does_not_carry_the_gpu() -> None:
    (found,) = problems("primary", gpuInstanceType="p5.48xlarge")
    assert "stack config 'gpuInstanceType'" in found
    assert "(got 'p5.48xlarge')" in found


def test_instance_override_picks_a_bigger_host_with_the_same_gpu() -> None:
    assert parse("primary", gpuInstanceType="g6.4xlarge").gpu.shape.machine_type == "g6.4xlarge"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("nodeCount", 0, "stack config 'nodeCount' must be between 1 and 100 (got 0)"),
        ("nodeCount", -2, "stack config 'nodeCount' must be between 1 and 100 (got -2)"),
        ("replicas", 0, "stack config 'replicas' must be between 1 and 100 (got 0)"),
        ("gpuCountPerNode", 0, "stack config 'gpuCountPerNode' must be between 1 and 8 (got 0)"),
        ("replicas", "two", "stack config 'replicas' must be an integer between 1 and 100 (got 'two')"),
    ],
)
def test_fails_on_zero_negative_or_non_integer_counts(key: str, value: Any, expected: str) -> None:
    found = problems("primary", **{key: value})
    assert any(p.startswith(expected) for p in found), found


def test_fails_when_replicas_exceed_the_node_ceiling() -> None:
    (found,) = problems("primary", replicas=9)
    assert "stack config 'replicas' must be at most maxNodeCount (4)" in found


def test_fails_on_standby_without_a_primary_stack_reference() -> None:
    found = problems("standby", primaryStack=None)
    assert found == [
        "stack config 'primaryStack' must be set (got nothing): "
        "set it with `pulumi config set primaryStack acme/inference-failover/primary -s standby`"
    ]


def test_fails_on_primary_stack_that_is_not_fully_qualified() -> None:
    (found,) = problems("standby", primaryStack="primary")
    assert "must be a fully qualified stack name org/project/stack (got 'primary')" in found


def test_fails_on_standby_on_the_primarys_own_cloud() -> None:
    (found,) = problems("standby", primaryCloud="gcp")
    assert "stack config 'primaryCloud' must be a cloud other than this stack's (gcp)" in found


@pytest.mark.parametrize(
    "image",
    [
        "vllm/vllm-openai:latest",
        "vllm/vllm-openai",
        "vllm/vllm-openai:v0.11.0",  # a tag alone can be moved to another image
        "vllm/vllm-openai:v0.11.0@sha256:014a95f2",  # truncated digest
        "vllm/vllm-openai@sha512:" + "0" * 128,
    ],
)
def test_fails_on_serving_image_without_a_digest(image: str) -> None:
    (found,) = problems("primary", servingImage=image)
    assert found.startswith("stack config 'servingImage' must be pinned by digest: ")
    assert repr(image) in found
    assert "@sha256:<64 hex digits>" in found and "Pulumi.primary.yaml" in found


def test_shipped_images_are_pinned_by_a_full_sha256_digest() -> None:
    for stack in ("primary", "standby"):
        image = parse(stack).serving_image
        name, _, digest = image.partition("@sha256:")
        assert name == "vllm/vllm-openai:v0.11.0" and len(digest) == 64
        int(digest, 16)


def test_fails_on_serving_image_from_a_registry_the_cache_cannot_reach() -> None:
    image = "ghcr.io/acme/vllm:v1@sha256:" + "a" * 64
    (found,) = problems("primary", servingImage=image)  # aws: ECR needs a GitHub token for ghcr.io
    assert "stack config 'servingImage' must be an image on a registry the aws cache supports" in found
    assert "ghcr.io is not" in found
    assert parse("standby", servingImage=image).serving_image == image  # Artifact Registry can


def test_aws_needs_docker_hub_credentials_for_the_pull_through_cache() -> None:
    found = problems("primary", dockerHubUsername=None)
    assert any(p.startswith("stack config 'dockerHubUsername' must be set on aws: ECR") for p in found)
    raw, secret_keys = shipped_raw("primary")
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", secret_keys - {"dockerHubAccessToken"})
    (message,) = [str(p) for p in caught.value.problems]
    assert message.startswith("stack config 'dockerHubAccessToken' must be set as a secret")
    assert "pulumi config set --secret dockerHubAccessToken <token> -s primary" in message
    # gcp and azure caches pull anonymously; an account set there is said to be unused.
    assert parse("standby").docker_hub_username is None
    standby = parse(
        "standby", cloud="azure", region="eastus", gpuType="a100-80gb", dockerHubUsername="acme-ci"
    )
    assert any(w.startswith("dockerHubUsername is not used here: the azure") for w in standby.warnings)
    quay = parse("primary", servingImage="quay.io/acme/vllm:v1@sha256:" + "b" * 64)
    assert any(w.startswith("dockerHubUsername is not used here: the aws") for w in quay.warnings)


def test_fails_on_model_path_pointing_at_a_public_hub() -> None:
    (found,) = problems("primary", modelPath="hf://meta-llama/Llama-3.1-8B-Instruct")
    assert "never pulled from a public hub" in found


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("trafficWeight", 101, "stack config 'trafficWeight' must be between 0 and 100 (got 101)"),
        ("trafficWeight", -1, "stack config 'trafficWeight' must be between 0 and 100 (got -1)"),
        ("dnsTtlSeconds", 300, "stack config 'dnsTtlSeconds' must be between 1 and 60 (got 300)"),
        ("healthCheckIntervalSeconds", 20, "stack config 'healthCheckIntervalSeconds' must be 10 or 30"),
        (
            "healthCheckFailureThreshold",
            10,
            "stack config 'healthCheckFailureThreshold' must be between 1 and 9",
        ),
        ("dnsRouting", "geo", "stack config 'dnsRouting' must be one of failover, weighted (got 'geo')"),
        ("dnsZone", "not a zone", "stack config 'dnsZone' must be a DNS zone name such as example.com"),
    ],
)
def test_fails_on_invalid_dns_settings(key: str, value: Any, expected: str) -> None:
    found = problems("primary", **{key: value})
    assert any(p.startswith(expected) for p in found), found


def test_fails_on_secret_that_was_never_set() -> None:
    raw, _ = shipped_raw("primary")
    del raw["apiKey"]
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", frozenset({"dockerHubAccessToken"}))
    assert [str(p) for p in caught.value.problems] == [
        "stack config 'apiKey' must be set as a secret (got nothing): "
        "run `pulumi config set --secret apiKey <value> -s primary`"
    ]


def test_fails_on_secret_stored_in_plain_text_without_echoing_it() -> None:
    raw, _ = shipped_raw("primary")
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", frozenset())
    message = str(caught.value)
    assert "'apiKey' must be a secret, not plain text" in message
    assert "s3cr3t" not in message


def test_fails_on_unknown_key_as_a_likely_typo() -> None:
    (found,) = problems("primary", gpuTpye="l4")
    assert found.startswith("stack config 'gpuTpye' must be a known key (got 'l4')")


def test_reports_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse(
            "standby",
            cloud="awz",
            region=None,
            gpuType="x",
            nodeCount=0,
            primaryStack=None,
            trafficWeight=200,
        )
    keys = [p.key for p in caught.value.problems]
    assert keys == ["cloud", "region", "nodeCount", "trafficWeight", "primaryStack"]
    assert str(caught.value).startswith(
        "5 problems in the config of stack 'standby':\n  - stack config 'cloud'"
    )


def test_azure_dns_authority_needs_the_zone_resource_group() -> None:
    (found,) = problems("primary", dnsProvider="azure")
    assert found.startswith("stack config 'dnsResourceGroup' must be set")
    assert (
        parse("primary", dnsProvider="azure", dnsResourceGroup="dns-rg").dns.azure_resource_group == "dns-rg"
    )


def test_gcp_needs_a_project() -> None:
    (found,) = problems("standby", gcpProject=None)
    assert found.startswith("stack config 'gcpProject' must be set")


def test_wait_for_model_is_off_unless_set_and_must_be_a_boolean() -> None:
    assert parse("primary").wait_for_model is False
    assert parse("primary", waitForModel=True).wait_for_model is True
    (found,) = problems("primary", waitForModel="yes")
    assert found.startswith("stack config 'waitForModel' must be one of false, true (got 'yes')")


@pytest.mark.parametrize("stack", ["primary", "standby"])
def test_the_cached_stack_file_reads_like_load_stack_config(stack: str) -> None:
    overrides: dict[str, Any] = {"nodeCount": 3, "waitForModel": True, "gpuZones": ["a"], "region": None}
    config, secret_keys = load_stack_config(stack, overrides=overrides, secrets=SECRET)
    prefix = f"{PROJECT}:"
    expected = {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}
    assert shipped_raw(stack, **overrides) == (expected, frozenset(k[len(prefix) :] for k in secret_keys))


@pytest.mark.parametrize("name", ["Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.standby.yaml"])
def test_project_and_stack_files_have_no_duplicate_keys(name: str) -> None:
    """Pulumi's YAML loader refuses a mapping key defined twice; PyYAML silently keeps the last."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[object, object]:
        keys = [loader.construct_object(k) for k, _ in node.value]
        duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
        assert not duplicates, f"{name} defines {duplicates} more than once (line {node.start_mark.line + 1})"
        return loader.construct_mapping(node)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    from pathlib import Path

    yaml.load((Path(__file__).resolve().parents[2] / name).read_text(), Loader=StrictLoader)


# --- One table per setting (infra/settings.py) -------------------------------------------------


def _schema() -> dict[str, Any]:
    from pathlib import Path

    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "Pulumi.yaml").read_text())["config"]
    return {k: v for k, v in config.items() if not k.startswith("pulumi:")}


def test_pulumi_yaml_declares_each_setting_as_the_table_does() -> None:
    from infra import settings

    declared = {s.key: settings.schema_entry(s) for s in settings.SETTINGS.values() if s.declared}
    assert _schema() == declared
    assert [s.key for s in settings.SETTINGS.values() if not s.declared] == ["dockerHubAccessToken"]


def test_the_schema_entry_of_a_setting_holds_exactly_what_it_declares() -> None:
    from infra.settings import Setting, schema_entry

    assert schema_entry(Setting("k", "IF-CFG-999", type=None, description="d")) == {"description": "d"}
    full = Setting(
        "k", "IF-CFG-999", type="array", description="d", items="string", default=("a",), secret=True
    )
    assert schema_entry(full) == {
        "type": "array",
        "items": {"type": "string"},
        "default": ["a"],
        "secret": True,
        "description": "d",
    }
    assert schema_entry(Setting("k", "IF-CFG-999", type="boolean", description="d", default=False)) == {
        "type": "boolean",
        "default": False,
        "description": "d",
    }


def test_known_keys_and_each_modules_keys_come_from_the_table() -> None:
    from infra import (
        config,
        config_observability,
        config_onprem,
        config_powerdns,
        config_s3store,
        config_vault,
        network_access,
        ownership,
        settings,
    )

    assert frozenset(settings.SETTINGS) == config.KNOWN_KEYS == settings.KEYS
    by_area = {
        "onprem": config_onprem.KEYS,
        "observability": config_observability.KEYS,
        "powerdns": config_powerdns.KEYS,
        "vault": config_vault.KEYS,
        "s3store": config_s3store.KEYS,
        "network": network_access.KEYS,
        "ownership": ownership.KEYS,
    }
    for area, keys in by_area.items():
        assert keys == settings.area_keys(area) == {s.key for s in settings.AREAS[area]}, area
    assert {
        config_powerdns.API_URL,
        config_powerdns.API_KEY,
        config_powerdns.SERVER_ID,
    } == config_powerdns.KEYS
    assert settings.area_keys("edge") == {
        "tlsCertificate",
        "acmeServer",
        "apiKeyNext",
        "tlsCertificateChain",
        "tlsPrivateKey",
    }


def test_each_setting_has_its_own_stable_code() -> None:
    import re

    from infra import settings

    codes = [s.code for s in settings.SETTINGS.values()]
    assert all(re.fullmatch(r"IF-CFG-\d{3}", c) for c in [*codes, *settings.GENERAL_CODES]), codes
    assert len(set(codes)) == len(codes) == len(settings.SETTINGS)
    assert not set(codes) & set(settings.GENERAL_CODES)
    # Codes are references in runbooks: these never change.
    assert (settings.SETTINGS["cloud"].code, settings.SETTINGS["dnsTtlSeconds"].code) == (
        "IF-CFG-001",
        "IF-CFG-020",
    )
    assert settings.SETTINGS["dockerHubAccessToken"].code == "IF-CFG-095"
    assert (settings.UNKNOWN_KEY, settings.SECRET_VALUE) == ("IF-CFG-900", "IF-CFG-901")


def test_the_choices_in_the_table_are_the_programs_types() -> None:
    from typing import get_args

    from infra import config, config_powerdns, settings
    from infra.catalog import TARGETS

    table = settings.SETTINGS
    assert config.ROLES == get_args(config.Role) == table["role"].choices == ("primary", "standby")
    assert config.CAPACITIES == get_args(config.Capacity) == table["capacity"].choices == ("warm", "full")
    assert config.ROUTINGS == get_args(config.Routing) == table["dnsRouting"].choices
    assert config.DNS_PROVIDERS == get_args(config.DnsProvider) == table["dnsProvider"].choices
    assert config_powerdns.POWERDNS in config.DNS_PROVIDERS
    assert config.TLS_SOURCES == get_args(config.TlsSource) == table["tlsCertificate"].choices
    assert table["cloud"].choices == table["primaryCloud"].choices == TARGETS
    assert table["waitForModel"].choices == table["replicationPaused"].choices == ("false", "true")


def test_each_limited_integer_setting_is_an_integer_with_its_default_inside_the_limits() -> None:
    from infra import settings

    limited = [s for s in settings.SETTINGS.values() if s.low is not None]
    assert {s.key for s in limited} >= {"dnsTtlSeconds", "nodeCount", "replicationIntervalMinutes"}
    for s in limited:
        assert s.type == "integer" and s.choices == (), s.key
        assert s.high is not None and s.low < s.high, s.key
        if s.default is not None:
            assert isinstance(s.default, int) and s.low <= s.default <= s.high, s.key


LIMITED = [
    ("gpuCountPerNode", 1, 8),
    ("nodeCount", 1, 100),
    ("maxNodeCount", 1, 100),
    ("replicas", 1, 100),
    ("dnsTtlSeconds", 1, 60),
    ("trafficWeight", 0, 100),
    ("healthCheckPort", 1, 65535),
    ("healthCheckIntervalSeconds", 10, 30),
    ("healthCheckFailureThreshold", 1, 9),
    ("replicationIntervalMinutes", 5, 1440),
    ("rtoTargetSeconds", 1, 86400),
    ("rpoTargetMinutes", 1, 10080),
    ("auditRetentionDays", 1, 36500),
]


def test_the_limits_in_the_table_are_the_documented_ones() -> None:
    from infra import settings

    table = {s.key: (s.key, s.low, s.high) for s in settings.SETTINGS.values() if s.low is not None}
    assert sorted(table.values()) == sorted(LIMITED)


@pytest.mark.parametrize(("key", "low", "high"), LIMITED, ids=[k for k, _, _ in LIMITED])
def test_one_past_each_limit_in_the_table_is_refused_with_the_range(key: str, low: int, high: int) -> None:
    for value in (low - 1, high + 1):
        expected = f"stack config '{key}' must be between {low} and {high} (got {value}): "
        assert any(p.startswith(expected) for p in problems("standby", **{key: value})), (key, value)


def test_each_problem_carries_its_settings_code_and_the_error_lists_it() -> None:
    from infra import settings
    from infra.config import ConfigProblem

    with pytest.raises(ConfigError) as caught:
        parse("standby", dnsTtlSeconds=61, dnsRoutng="weighted")
    by_key = {p.key: p for p in caught.value.problems}
    assert by_key["dnsTtlSeconds"].code == "IF-CFG-020"
    assert by_key["dnsRoutng"].code == settings.UNKNOWN_KEY
    assert (by_key["dnsTtlSeconds"].value, by_key["dnsTtlSeconds"].allowed) == (61, "between 1 and 60")
    lines = str(caught.value).splitlines()[1:]
    assert lines == [f"  - {p} [{p.code}]" for p in caught.value.problems]
    assert ConfigProblem("apiKey", None, "set", "fix").code == settings.SECRET_VALUE
    assert ConfigProblem("region", None, "set", "fix", code="IF-CFG-999").code == "IF-CFG-999"
    assert ConfigProblem("region", None, "set", "fix").line == (
        "stack config 'region' must be set (got nothing): fix [IF-CFG-003]"
    )
