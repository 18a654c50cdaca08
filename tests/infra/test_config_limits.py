"""Boundary tests of every config rule in infra/config.py, generated from tables.

Each integer key at its lower and upper limit (accepted) and one past each (rejected, with the
exact message), each default checked by removing the key from the shipped stack file, each
cross-field rule on both sides of its edge, and the program's warnings asserted exactly, and
their absence. Starts from the shipped stack files, changing only what a row names.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from infra.config import KNOWN_KEYS, ConfigError, StackConfig, parse_config
from offline.harness import ROOT as ROOT_DIR
from tests.infra.test_config import parse, problems, shipped_raw

# key, lower limit, upper limit, other keys a value at the limit needs, stack
INTEGER_LIMITS: list[tuple[str, int, int, dict[str, Any], str]] = [
    ("gpuCountPerNode", 1, 8, {}, "primary"),
    ("nodeCount", 1, 100, {"maxNodeCount": 100, "replicas": 1}, "primary"),
    ("maxNodeCount", 1, 100, {"nodeCount": 1, "replicas": 1}, "primary"),
    ("replicas", 1, 100, {"maxNodeCount": 100}, "primary"),
    ("dnsTtlSeconds", 1, 60, {}, "primary"),
    ("trafficWeight", 0, 100, {}, "standby"),
    ("healthCheckIntervalSeconds", 10, 30, {}, "primary"),
    ("healthCheckFailureThreshold", 1, 9, {}, "primary"),
    ("replicationIntervalMinutes", 5, 1440, {}, "standby"),
]


def _limit_cases() -> list[Any]:
    cases = []
    for key, low, high, needs, stack in INTEGER_LIMITS:
        cases.append(pytest.param(key, low, low - 1, needs, stack, id=f"{key}-low"))
        cases.append(pytest.param(key, high, high + 1, needs, stack, id=f"{key}-high"))
    return cases


def _getter(cfg: StackConfig, key: str) -> int:
    return {
        "gpuCountPerNode": cfg.gpu.gpus_per_node,
        "nodeCount": cfg.gpu.node_count,
        "maxNodeCount": cfg.gpu.max_node_count,
        "replicas": cfg.replicas,
        "dnsTtlSeconds": cfg.dns.ttl_seconds,
        "trafficWeight": cfg.dns.weight,
        "healthCheckPort": cfg.dns.health_check_port,
        "healthCheckIntervalSeconds": cfg.dns.health_check_interval_seconds,
        "healthCheckFailureThreshold": cfg.dns.health_check_failure_threshold,
        "replicationIntervalMinutes": cfg.replication_interval_minutes,
    }[key]


@pytest.mark.parametrize(("key", "limit", "past", "needs", "stack"), _limit_cases())
def test_each_integer_is_accepted_at_its_limit_and_rejected_one_past_it(
    key: str, limit: int, past: int, needs: dict[str, Any], stack: str
) -> None:
    low, high = next((lo, hi) for k, lo, hi, _, _ in INTEGER_LIMITS if k == key)
    extra = {"gpuType": "l4"} if key == "gpuCountPerNode" else {}
    assert _getter(parse(stack, **needs, **extra, **{key: limit}), key) == limit

    found = problems(stack, **needs, **extra, **{key: past})

    assert (
        f"stack config '{key}' must be between {low} and {high} (got {past}): set it in Pulumi.{stack}.yaml"
        in (found)
    )


@pytest.mark.parametrize(("key", "low", "high"), [(k, lo, hi) for k, lo, hi, _, _ in INTEGER_LIMITS])
@pytest.mark.parametrize("value", ["ten", "1.5", "0x10"])
def test_each_integer_rejects_what_is_not_an_integer(key: str, low: int, high: int, value: str) -> None:
    stack = "standby" if key in ("trafficWeight", "replicationIntervalMinutes") else "primary"
    assert problems(stack, **{key: value}) == [
        f"stack config '{key}' must be an integer between {low} and {high} (got {value!r}): "
        f"set it in Pulumi.{stack}.yaml"
    ]


# --- defaults: remove the key, get the documented value ---------------------------------------

# key, stack, what the parsed config holds without the key
DEFAULTS: list[tuple[str, str, Any]] = [
    ("capacity", "primary", "full"),
    ("capacity", "standby", "warm"),
    ("dnsRouting", "primary", "failover"),
    ("trafficWeight", "primary", 100),
    ("trafficWeight", "standby", 0),
    ("dnsRecord", "primary", "api"),
    ("dnsTtlSeconds", "primary", 30),
    ("healthCheckPath", "primary", "/health"),
    ("healthCheckPort", "primary", 443),
    ("healthCheckIntervalSeconds", "primary", 10),
    ("healthCheckFailureThreshold", "primary", 3),
    ("dnsManagedZone", "primary", "example-com"),
    ("dnsResourceGroup", "primary", None),
    ("gpuCountPerNode", "primary", 1),
    ("nodeCount", "standby", 2),
    ("replicas", "primary", 2),
    ("replicationIntervalMinutes", "standby", 15),
    ("replicationPaused", "standby", False),
    ("waitForModel", "primary", False),
    ("secretNames", "primary", ("apiKey",)),
    ("gpuInstanceType", "primary", "g6.2xlarge"),
    ("gcpProject", "primary", None),
]


def _value(cfg: StackConfig, key: str) -> Any:
    return {
        "capacity": cfg.capacity,
        "dnsRouting": cfg.dns.routing,
        "trafficWeight": cfg.dns.weight,
        "dnsRecord": cfg.dns.record,
        "dnsTtlSeconds": cfg.dns.ttl_seconds,
        "healthCheckPath": cfg.dns.health_check_path,
        "healthCheckPort": cfg.dns.health_check_port,
        "healthCheckIntervalSeconds": cfg.dns.health_check_interval_seconds,
        "healthCheckFailureThreshold": cfg.dns.health_check_failure_threshold,
        "dnsManagedZone": cfg.dns.gcp_managed_zone,
        "dnsResourceGroup": cfg.dns.azure_resource_group,
        "gpuCountPerNode": cfg.gpu.gpus_per_node,
        "nodeCount": cfg.gpu.node_count,
        "replicas": cfg.replicas,
        "replicationIntervalMinutes": cfg.replication_interval_minutes,
        "replicationPaused": cfg.replication_paused,
        "waitForModel": cfg.wait_for_model,
        "secretNames": cfg.secret_names,
        "gpuInstanceType": cfg.gpu.shape.machine_type,
        "gcpProject": cfg.gcp_project,
    }[key]


@pytest.mark.parametrize(("key", "stack", "default"), DEFAULTS, ids=[f"{k}-{s}" for k, s, _ in DEFAULTS])
def test_each_default_applies_when_the_key_is_removed(key: str, stack: str, default: Any) -> None:
    extra = {"maxNodeCount": None} if key == "nodeCount" else {}
    assert _value(parse(stack, **{key: None}, **extra), key) == default


def test_max_node_count_defaults_to_node_count() -> None:
    cfg = parse("primary", nodeCount=3, maxNodeCount=None)
    assert (cfg.gpu.node_count, cfg.gpu.max_node_count) == (3, 3)
    assert parse("primary", nodeCount=None, maxNodeCount=None).gpu.max_node_count == 2


def test_the_schema_defaults_in_pulumi_yaml_are_the_programs_own() -> None:
    schema = yaml.safe_load((ROOT_DIR / "Pulumi.yaml").read_text())["config"]
    declared = {k: v["default"] for k, v in schema.items() if isinstance(v, dict) and "default" in v}
    by_key = {key: default for key, stack, default in DEFAULTS if stack == "primary" or key not in declared}
    for key, value in declared.items():
        assert key in KNOWN_KEYS
        if key in by_key:
            expected = tuple(value) if isinstance(value, list) else value
            assert by_key[key] == expected, key


# --- cross-field rules, both sides of the edge ------------------------------------------------


def test_max_node_count_must_be_at_least_node_count() -> None:
    assert parse("primary", nodeCount=3, maxNodeCount=3, replicas=2).gpu.max_node_count == 3
    assert problems("primary", nodeCount=3, maxNodeCount=2, replicas=2) == [
        "stack config 'maxNodeCount' must be at least nodeCount (3) (got 2): set it in Pulumi.primary.yaml"
    ]


def test_replicas_must_fit_the_node_ceiling() -> None:
    assert parse("primary", replicas=4, maxNodeCount=4).replicas == 4
    assert problems("primary", replicas=5, maxNodeCount=4) == [
        "stack config 'replicas' must be at most maxNodeCount (4): each replica takes a whole GPU node "
        "(got 5): lower replicas or raise maxNodeCount in Pulumi.primary.yaml"
    ]


def test_health_check_interval_must_be_ten_or_thirty() -> None:
    assert parse("primary", healthCheckIntervalSeconds=30).dns.health_check_interval_seconds == 30
    assert problems("primary", healthCheckIntervalSeconds=20) == [
        "stack config 'healthCheckIntervalSeconds' must be 10 or 30 (what Route 53 and Traffic Manager "
        "support) (got 20): set it in Pulumi.primary.yaml"
    ]


def test_health_check_path_must_start_with_a_slash() -> None:
    assert parse("primary", healthCheckPath="/health").dns.health_check_path == "/health"
    assert problems("primary", healthCheckPath="health") == [
        "stack config 'healthCheckPath' must be an absolute HTTP path such as /health (got 'health'): "
        "set it in Pulumi.primary.yaml"
    ]


def test_health_check_path_must_be_the_unauthenticated_health_route() -> None:
    assert problems("primary", healthCheckPath="/") == [
        "stack config 'healthCheckPath' must be /health (the only route the edge answers without an API "
        "key) (got '/'): remove healthCheckPath from Pulumi.primary.yaml"
    ]


def test_health_check_port_must_be_https_443() -> None:
    assert parse("primary", healthCheckPort=443).dns.health_check_port == 443
    for port in (1, 80, 444, 65535):
        assert problems("primary", healthCheckPort=port) == [
            "stack config 'healthCheckPort' must be 443 (the service listens on HTTPS 443 only; health "
            f"checks probe /health over TLS) (got '{port}'): remove healthCheckPort from Pulumi.primary.yaml"
        ]
    for value in ("ten", "1.5", "0x10"):
        assert problems("primary", healthCheckPort=value) == [
            f"stack config 'healthCheckPort' must be an integer between 1 and 65535 (got {value!r}): "
            "set it in Pulumi.primary.yaml"
        ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('"apiKey"', "'\"apiKey\"'"),
        ("[1]", "'[1]'"),
        ("apiKey", "'apiKey'"),
        ('{"a": "b"}', '\'{"a": "b"}\''),
    ],
    ids=["a-string", "not-strings", "not-json", "an-object"],
)
def test_secret_names_must_be_a_list_of_strings(value: str, shown: str) -> None:
    raw, secret_keys = shipped_raw("primary")
    raw["secretNames"] = value
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", secret_keys)
    assert [str(p) for p in caught.value.problems] == [
        f"stack config 'secretNames' must be a list of strings (got {shown}): "
        "write it as a YAML list in Pulumi.primary.yaml"
    ]


@pytest.mark.parametrize("name", ["api-key", "1key", "region", "a" * 64, ""])
def test_secret_names_must_be_plain_names_that_are_not_settings(name: str) -> None:
    raw, secret_keys = shipped_raw("primary")
    raw["secretNames"] = f'["{name}"]'
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", secret_keys)
    assert str(caught.value.problems[0]) == (
        f"stack config 'secretNames' must be config key names (letters and digits) that are not other "
        f"settings (got {name!r}): set it in Pulumi.primary.yaml"
    )


def test_a_secret_name_of_63_characters_is_accepted() -> None:
    name = "a" * 63
    raw, secret_keys = shipped_raw("primary")
    # secretNames must keep apiKey (the edge's API key); the long name is an extra secret.
    raw["secretNames"] = f'["apiKey", "{name}"]'
    raw[name] = "s3cr3t-too"
    assert parse_config(raw, "primary", secret_keys | {name}).secret_names == ("apiKey", name)


@pytest.mark.parametrize(
    ("project", "ok"),
    [
        ("abcdef", True),
        ("abcde", False),
        ("a" + "b" * 28 + "c", True),
        ("a" + "b" * 29 + "c", False),
        ("1bcdef", False),
        ("abcde-", False),
        ("Abcdef", False),
        ("ab-cd-ef", True),
    ],
)
def test_gcp_project_ids_are_6_to_30_lowercase_letters_digits_and_dashes(project: str, ok: bool) -> None:
    if ok:
        assert parse("standby", gcpProject=project).gcp_project == project
    else:
        assert problems("standby", gcpProject=project) == [
            "stack config 'gcpProject' must be a GCP project id (6-30 lowercase letters, digits, dashes) "
            f"(got {project!r}): set it in Pulumi.standby.yaml"
        ]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"gcpProject": None}, "stack config 'gcpProject' must be set (got nothing): "),
        (
            {
                "cloud": "aws",
                "region": "us-east-2",
                "gpuType": "l4",
                "primaryCloud": "azure",
                "dnsProvider": "gcp",
                "dockerHubUsername": "acme-ci",
                "gcpProject": None,
            },
            "stack config 'gcpProject' must be set (got nothing): ",
        ),
    ],
    ids=["gcp-cloud", "gcp-dns-authority"],
)
def test_gcp_project_is_required_by_a_gcp_cloud_or_dns_authority(
    overrides: dict[str, Any], problem: str
) -> None:
    assert problems("standby", **overrides) == [
        problem + "set it with `pulumi config set gcpProject my-project -s standby`"
    ]


def test_gcp_project_is_not_required_without_gcp() -> None:
    assert parse("primary", gcpProject=None).gcp_project is None


def test_primary_only_and_standby_only_keys() -> None:
    assert problems("primary", primaryStack="acme/inference-failover/primary", primaryCloud="gcp") == [
        "stack config 'primaryStack' must be unset on a primary stack "
        "(got 'acme/inference-failover/primary'): remove it from Pulumi.primary.yaml",
        "stack config 'primaryCloud' must be unset on a primary stack (got 'gcp'): "
        "remove it from Pulumi.primary.yaml",
    ]
    assert problems("primary", replicationPaused=True) == [
        "stack config 'replicationPaused' must be unset on a primary stack (replication runs in the standby) "
        "(got True): remove it from Pulumi.primary.yaml"
    ]
    assert parse("primary", replicationPaused=False).replication_paused is False
    assert parse("standby", replicationPaused=True).replication_paused is True
    assert problems("standby", primaryCloud=None) == [
        "stack config 'primaryCloud' must be set (got nothing): "
        "set it with `pulumi config set primaryCloud aws -s standby`"
    ]
    assert problems("standby", primaryCloud="gcp") == [
        "stack config 'primaryCloud' must be a cloud other than this stack's (gcp) (got 'gcp'): "
        "a standby on the primary's own cloud shares its failure domain; pick another cloud"
    ]


@pytest.mark.parametrize(
    ("record", "ok"),
    [("a", True), ("a" * 63, True), ("a" * 64, False), ("API", False), ("-api", False), ("api-", False)],
)
def test_dns_record_is_one_label(record: str, ok: bool) -> None:
    if ok:
        assert parse("primary", dnsRecord=record).dns.record == record
    else:
        assert problems("primary", dnsRecord=record) == [
            "stack config 'dnsRecord' must be one DNS label (lowercase letters, digits, dashes) "
            f"(got {record!r}): set it in Pulumi.primary.yaml"
        ]


def test_dns_zone_is_normalised_and_checked() -> None:
    cfg = parse("primary", dnsZone="Example.COM.")
    assert (cfg.dns.zone, cfg.dns.gcp_managed_zone) == ("example.com", "example-com")
    assert problems("primary", dnsZone="localhost") == [
        "stack config 'dnsZone' must be a DNS zone name such as example.com (got 'localhost'): "
        "set it in Pulumi.primary.yaml"
    ]


@pytest.mark.parametrize(
    ("path", "parsed"),
    [
        ("models/llama/", "models/llama/"),
        ("models/llama", "models/llama/"),
        ("s3://bucket/models/", None),
        ("/models/llama/", None),
        ("models/../secrets/", None),
    ],
)
def test_model_path_is_a_relative_prefix_ending_in_a_slash(path: str, parsed: str | None) -> None:
    if parsed is not None:
        assert parse("primary", modelPath=path).model_path == parsed
    else:
        assert problems("primary", modelPath=path) == [
            "stack config 'modelPath' must be a relative prefix inside this stack's model bucket, e.g. "
            f"models/<name>/ (got {path!r}): copy the artefacts into the stack's bucket; the model is never "
            "pulled from a public hub"
        ]


@pytest.mark.parametrize("key", ["waitForModel", "replicationPaused"])
def test_booleans_accept_only_true_and_false(key: str) -> None:
    assert problems("standby", **{key: "yes"}) == [
        f"stack config '{key}' must be one of false, true (got 'yes'): set it in Pulumi.standby.yaml"
    ]


@pytest.mark.parametrize(
    ("key", "allowed"), [("capacity", "warm, full"), ("dnsRouting", "failover, weighted")]
)
def test_choices_name_what_is_allowed(key: str, allowed: str) -> None:
    assert problems("primary", **{key: "hot"}) == [
        f"stack config '{key}' must be one of {allowed} (got 'hot'): set it in Pulumi.primary.yaml"
    ]


def test_a_blank_required_value_counts_as_missing() -> None:
    assert problems("primary", modelName="  ") == [
        "stack config 'modelName' must be set (got nothing): "
        "set it with `pulumi config set modelName llama-3.1-8b-instruct -s primary`"
    ]


# --- warnings ---------------------------------------------------------------------------------


# The shipped stacks leave the Kubernetes API open to 0.0.0.0/0 (and warn about it); a narrowed
# range isolates the warning under test.
NARROW_API = {"kubernetesApiAllowedCidrs": '["203.0.113.0/24"]'}


def test_a_primary_at_weight_zero_is_warned_about() -> None:
    assert parse("primary", dnsRouting="weighted", trafficWeight=0, **NARROW_API).warnings == (
        "trafficWeight is 0 on the primary: it serves only when the standby is unhealthy",
    )


@pytest.mark.parametrize(
    ("stack", "overrides"),
    [
        ("primary", {}),
        ("standby", {}),
        ("primary", {"trafficWeight": 1}),
        ("standby", {"trafficWeight": 0}),
        ("primary", {"trafficWeight": None}),
    ],
)
def test_no_warning_where_none_is_due(stack: str, overrides: dict[str, Any]) -> None:
    assert parse(stack, **overrides, **NARROW_API).warnings == ()


@pytest.mark.parametrize("stack", ["primary", "standby"])
def test_an_open_kubernetes_api_is_warned_about(stack: str) -> None:
    assert parse(stack).warnings == (
        "kubernetesApiAllowedCidrs admits 0.0.0.0/0: the Kubernetes API endpoint accepts connections from "
        "any address (every request still needs cloud IAM credentials); narrow it to your deployer and CI "
        f"egress ranges in Pulumi.{stack}.yaml",
    )


# --- messages that list choices, derived values, the reader's own rules -------------------------


def test_region_gpu_and_node_size_messages_list_the_choices_exactly() -> None:
    from infra.catalog import REGIONS

    assert problems("primary", region="us-central1") == [
        "stack config 'region' must be a aws region such as "
        + ", ".join(sorted(REGIONS["aws"])[:4])
        + ", ... (got 'us-central1'): set it in Pulumi.primary.yaml"
    ]
    assert problems("standby", gpuType="a10g") == [
        "stack config 'gpuType' must be a GPU gcp offers: t4, l4, a100, a100-80gb, h100 (got 'a10g'): "
        "pick one in Pulumi.standby.yaml (aws: t4, a10g, l4, l40s, a100, a100-80gb, h100; "
        "gcp: t4, l4, a100, a100-80gb, h100; azure: t4, a100-80gb, h100)"
    ]
    assert problems("primary", gpuCountPerNode=3) == [
        "stack config 'gpuCountPerNode' must be a l4 node size aws sells: g6.2xlarge (1 GPU), g6.xlarge "
        "(1 GPU), g6.4xlarge (1 GPU), g6.12xlarge (4 GPU), g6.48xlarge (8 GPU) (got 3): "
        "set it in Pulumi.primary.yaml"
    ]
    assert problems("primary", gpuInstanceType="p5.48xlarge") == [
        "stack config 'gpuInstanceType' must be a l4 node size aws sells: g6.2xlarge (1 GPU), g6.xlarge "
        "(1 GPU), g6.4xlarge (1 GPU), g6.12xlarge (4 GPU), g6.48xlarge (8 GPU) (got 'p5.48xlarge'): "
        "set it in Pulumi.primary.yaml"
    ]
    # An override that exists but with another GPU count: the count is what to change.
    assert problems("primary", gpuInstanceType="g6.2xlarge", gpuCountPerNode=4)[0].startswith(
        "stack config 'gpuCountPerNode' must be a l4 node size aws sells"
    )
    assert parse("primary", gpuCountPerNode=4).gpu.shape.machine_type == "g6.12xlarge"


def test_unknown_keys_are_named_and_secret_values_never_shown() -> None:
    raw, secret_keys = shipped_raw("primary")
    raw["regoin"] = "us-east-1"
    raw["tokn"] = "hunter2"
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", secret_keys | {"tokn"})
    assert [str(p) for p in caught.value.problems] == [
        "stack config 'regoin' must be a known key (got 'us-east-1'): remove it from Pulumi.primary.yaml "
        "(typo? known keys are in Pulumi.yaml)",
        "stack config 'tokn' must be a known key (got '<secret>'): remove it from Pulumi.primary.yaml "
        "(typo? known keys are in Pulumi.yaml)",
    ]
    assert str(caught.value).startswith(
        "2 problems in the config of stack 'primary':\n  - stack config 'regoin'"
    )


def test_secrets_must_be_set_and_secret() -> None:
    raw, _ = shipped_raw("primary")
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", frozenset({"dockerHubAccessToken"}))
    assert [str(p) for p in caught.value.problems] == [
        "stack config 'apiKey' must be a secret, not plain text (got '<plain text>'): run `pulumi config set "
        "--secret apiKey <value> -s primary` and remove the plain value"
    ]
    del raw["apiKey"]
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", frozenset({"dockerHubAccessToken"}))
    assert str(caught.value) == (
        "1 problem in the config of stack 'primary':\n  - stack config 'apiKey' must be set as a secret "
        "(got nothing): run `pulumi config set --secret apiKey <value> -s primary` [IF-CFG-901]"
    )


def test_capacity_decides_what_runs() -> None:
    full = parse("primary", nodeCount=3, maxNodeCount=5, replicas=3)
    warm = parse("primary", capacity="warm", nodeCount=3, maxNodeCount=5, replicas=3)

    assert (full.effective_node_count, full.effective_max_node_count, full.effective_replicas) == (3, 5, 3)
    assert (warm.effective_node_count, warm.effective_max_node_count, warm.effective_replicas) == (1, 1, 1)
    assert (full.is_standby, parse("standby").is_standby) == (False, True)


@pytest.mark.parametrize(
    ("stack", "overrides", "clouds"),
    [
        ("primary", {}, ("aws",)),
        ("primary", {"dnsProvider": "azure", "dnsResourceGroup": "dns-rg"}, ("aws", "azure")),
        ("standby", {}, ("gcp", "aws")),
        ("standby", {"dnsProvider": "gcp"}, ("gcp", "aws")),
        (
            "standby",
            {"dnsProvider": "azure", "dnsResourceGroup": "dns-rg", "primaryCloud": "aws"},
            ("gcp", "azure", "aws"),
        ),
    ],
)
def test_clouds_used_lists_own_cloud_first_then_dns_then_primary(
    stack: str, overrides: dict[str, Any], clouds: tuple[str, ...]
) -> None:
    assert parse(stack, **overrides).clouds_used == clouds


def test_the_reader_reports_a_missing_integer_without_a_default_and_open_ranges() -> None:
    from infra.config import _range, _Reader

    reader = _Reader({"count": " ", "big": "7"}, "s")
    assert reader.integer("count", low=2) is None
    assert reader.integer("big", low=10) is None
    assert reader.integer("absent", low=1, default=4) == 4
    assert [str(p) for p in reader.problems] == [
        "stack config 'count' must be at least 2 (got nothing): set it with `pulumi config set count 2 -s s`",
        "stack config 'big' must be at least 10 (got 7): set it in Pulumi.s.yaml",
    ]
    assert (_range(1, None), _range(1, 5)) == ("at least 1", "between 1 and 5")
    assert reader.string_list("absent", ["x"]) == ["x"]
    assert reader.text("absent", required=False) is None and len(reader.problems) == 2
    assert reader.choice("absent", ("a", "b"), required=False) is None
    assert _Reader({"k": "  v  "}, "s").text("k") == "v"


# --- examples in the "set it with" fixes, per cloud ----------------------------------------------


@pytest.mark.parametrize(
    ("stack", "key", "overrides", "example"),
    [
        ("primary", "region", {}, "us-east-1"),
        ("standby", "region", {}, "us-central1"),
        ("primary", "region", {"cloud": "azure", "gpuType": "a100-80gb"}, "eastus"),
        ("primary", "servingImage", {}, "vllm/vllm-openai:v0.11.0@sha256:<digest>"),
        ("primary", "modelName", {}, "llama-3.1-8b-instruct"),
        ("primary", "modelPath", {}, "models/llama-3.1-8b-instruct/"),
        ("primary", "dnsZone", {}, "example.com"),
        ("primary", "gpuType", {}, "l4"),
        ("standby", "primaryStack", {}, "acme/inference-failover/primary"),
    ],
)
def test_a_missing_key_names_the_command_with_an_example(
    stack: str, key: str, overrides: dict[str, Any], example: str
) -> None:
    found = problems(stack, **overrides, **{key: None})
    fix = f"set it with `pulumi config set {key} {example} -s {stack}`"
    assert f"stack config '{key}' must be set (got nothing): {fix}" in found


def test_an_azure_dns_authority_needs_its_resource_group_and_keeps_it() -> None:
    assert problems("primary", dnsProvider="azure") == [
        "stack config 'dnsResourceGroup' must be set (got nothing): "
        "set it with `pulumi config set dnsResourceGroup dns-rg -s primary`"
    ]
    cfg = parse("primary", dnsProvider="azure", dnsResourceGroup="dns-rg", dnsManagedZone="zone-x")
    assert (cfg.dns.provider, cfg.dns.azure_resource_group, cfg.dns.gcp_managed_zone) == (
        "azure",
        "dns-rg",
        "zone-x",
    )


def test_what_the_program_gets_from_the_standby_file() -> None:
    cfg = parse("standby", replicationPaused=True, waitForModel=True)
    assert (cfg.primary_stack, cfg.primary_cloud) == ("acme/inference-failover/primary", "aws")
    assert (cfg.replication_paused, cfg.wait_for_model, cfg.gcp_project) == (
        True,
        True,
        "acme-inference-standby",
    )
    assert cfg.stack == "standby" and cfg.dns.fqdn == "api.example.com"
    assert cfg.model_path == "models/llama-3.1-8b-instruct/" and cfg.model_name == "llama-3.1-8b-instruct"
    assert cfg.serving_image.startswith("vllm/vllm-openai:v0.11.0@sha256:")
    assert (cfg.gpu.gpu_type, cfg.gpu.max_node_count) == ("l4", 4)


# --- reading the config inside a Pulumi program ------------------------------------------------


def test_from_pulumi_reads_this_projects_config_with_its_secret_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json as json_module

    from offline.harness import run_stack
    from tests.support import TEST_SECRETS

    monkeypatch.setenv(
        "PULUMI_CONFIG",
        json_module.dumps(
            {
                "inference-failover:gpuInstanceType": "g6.4xlarge",  # only here: read from the environment
                "inference-failover:dnsTtlSeconds": "45",  # also set explicitly: the explicit value wins
                "aws:region": "eu-west-1",  # another namespace: not ours
            }
        ),
    )
    seen: dict[str, Any] = {}

    def program(cfg: StackConfig, secrets: dict[str, Any]) -> dict[str, Any]:
        seen["cfg"], seen["secrets"] = cfg, sorted(secrets)
        return {}

    run_stack("primary", secrets=TEST_SECRETS, program=program)

    cfg = seen["cfg"]
    assert (cfg.stack, cfg.cloud, cfg.dns.ttl_seconds) == ("primary", "aws", 30)
    assert cfg.gpu.shape.machine_type == "g6.4xlarge"
    assert seen["secrets"] == ["apiKey"]
    with pytest.raises(ConfigError) as caught:
        run_stack("primary", overrides={"apiKey": "in-plain-text"}, program=program)
    plain = [p for p in caught.value.problems if p.key == "apiKey"]
    assert len(plain) == 1 and plain[0].got == "<plain text>"


# --- image supply: the cache's registry, the Docker Hub account and its token, exactly -----------

QUAY_IMAGE = "quay.io/acme/vllm:v1@sha256:" + "a" * 64
TOKEN_FIX = "run `pulumi config set --secret dockerHubAccessToken <token> -s {stack}`"


def outcome(
    stack: str, drop: tuple[str, ...] = (), plain: dict[str, str] | None = None, **overrides: Any
) -> tuple[str, ...] | list[str]:
    """The config's warnings, or its problems: `drop` removes keys (and their secret flag),
    `plain` adds keys in plain text."""
    raw, secret_keys = shipped_raw(stack, **overrides)
    for key in drop:
        raw.pop(key, None)
    raw.update(plain or {})
    try:
        return parse_config(raw, stack, secret_keys - set(drop) - set(plain or {})).warnings
    except ConfigError as caught:
        return [str(p) for p in caught.problems]


def _token_problem(stack: str, got: str) -> str:
    return (
        "stack config 'dockerHubAccessToken' must be set as a secret (a Docker Hub access token for "
        f"dockerHubUsername) (got {got}): " + TOKEN_FIX.format(stack=stack)
    )


USER_PROBLEM = (
    "stack config 'dockerHubUsername' must be set on aws: ECR's pull-through cache only reaches Docker Hub "
    "with an account (got nothing): set it with "
    "`pulumi config set dockerHubUsername <docker-hub-user> -s {stack}`"
)
UNUSED_ACCOUNT = (
    "dockerHubUsername is not used here: the {cloud} registry cache pulls this image's digest once, "
    "anonymously"
)
AZURE_STANDBY = {"cloud": "azure", "region": "eastus", "gpuType": "a100-80gb"}


@pytest.mark.parametrize(
    ("stack", "drop", "plain", "overrides", "expected"),
    [
        # aws + Docker Hub: account and token both required.
        ("primary", (), None, {}, ()),
        ("primary", (), None, {"dockerHubUsername": None}, [USER_PROBLEM.format(stack="primary")]),
        ("primary", ("dockerHubAccessToken",), None, {}, [_token_problem("primary", "nothing")]),
        (
            "primary",
            ("dockerHubAccessToken",),
            {"dockerHubAccessToken": "dckr_pat_plain"},
            {},
            [_token_problem("primary", "'<plain text>'")],
        ),
        (
            "primary",
            ("dockerHubAccessToken",),
            None,
            {"dockerHubUsername": None},
            [USER_PROBLEM.format(stack="primary"), _token_problem("primary", "nothing")],
        ),
        # gcp + Docker Hub: anonymous by default; an account given needs its token.
        ("standby", ("dockerHubAccessToken",), None, {}, ()),
        ("standby", (), None, {"dockerHubUsername": "acme-ci"}, ()),
        (
            "standby",
            ("dockerHubAccessToken",),
            None,
            {"dockerHubUsername": "acme-ci"},
            [_token_problem("standby", "nothing")],
        ),
        # An account the cache does not use: said once, and no token needed.
        (
            "primary",
            ("dockerHubAccessToken",),
            None,
            {"servingImage": QUAY_IMAGE},
            (UNUSED_ACCOUNT.format(cloud="aws"),),
        ),
        (
            "primary",
            ("dockerHubAccessToken",),
            None,
            {"servingImage": QUAY_IMAGE, "dockerHubUsername": None},
            (),
        ),
        (
            "standby",
            ("dockerHubAccessToken",),
            None,
            {**AZURE_STANDBY, "dockerHubUsername": "acme-ci", "deployerCidrs": '["20.30.40.0/24"]'},
            (UNUSED_ACCOUNT.format(cloud="azure"),),
        ),
        (
            "standby",
            ("dockerHubAccessToken",),
            None,
            {"servingImage": QUAY_IMAGE, "dockerHubUsername": "a"},
            (UNUSED_ACCOUNT.format(cloud="gcp"),),
        ),
    ],
    ids=[
        "aws-shipped",
        "aws-no-account",
        "aws-no-token",
        "aws-plain-token",
        "aws-neither",
        "gcp-anonymous",
        "gcp-account-and-token",
        "gcp-account-without-token",
        "aws-quay-account-unused",
        "aws-quay-anonymous",
        "azure-account-unused",
        "gcp-quay-account-unused",
    ],
)
def test_image_supply_rules_exactly(
    stack: str,
    drop: tuple[str, ...],
    plain: dict[str, str] | None,
    overrides: dict[str, Any],
    expected: tuple[str, ...] | list[str],
) -> None:
    assert outcome(stack, drop, plain, **overrides, **NARROW_API) == expected


def test_image_problems_are_exact_and_stop_the_registry_checks() -> None:
    assert outcome("primary", servingImage="vllm/vllm-openai:v0.11.0", dockerHubUsername=None) == [
        "stack config 'servingImage' must be pinned by digest: <image>[:<tag>]@sha256:<64 hex digits> "
        "(a tag can be moved to another image; a digest cannot) (got 'vllm/vllm-openai:v0.11.0'): append "
        "the digest, e.g. vllm/vllm-openai:v0.11.0@sha256:<digest> (`docker buildx imagetools inspect "
        "<image>` prints it) in Pulumi.primary.yaml"
    ]
    ghcr = "ghcr.io/acme/vllm:v1@sha256:" + "a" * 64
    assert outcome("primary", ("dockerHubAccessToken",), servingImage=ghcr, dockerHubUsername=None) == [
        "stack config 'servingImage' must be an image on a registry the aws cache supports (docker.io, "
        f"quay.io, public.ecr.aws, registry.k8s.io); ghcr.io is not (got {ghcr!r}): mirror the image to one "
        "of those registries"
    ]
    # No image, or no cloud to cache it in: only that is reported.
    assert outcome("primary", ("dockerHubAccessToken",), servingImage=None, dockerHubUsername=None) == [
        "stack config 'servingImage' must be set (got nothing): set it with `pulumi config set servingImage "
        "vllm/vllm-openai:v0.11.0@sha256:<digest> -s primary`"
    ]
    assert outcome("primary", ("dockerHubAccessToken",), cloud="awz", dockerHubUsername=None) == [
        "stack config 'cloud' must be one of aws, gcp, azure, onprem (got 'awz'): "
        "set it in Pulumi.primary.yaml"
    ]


def test_the_docker_hub_account_is_kept_where_it_is_used() -> None:
    assert parse("primary").docker_hub_username == "acme-ci"
    assert parse("standby", dockerHubUsername="  acme-ci ").docker_hub_username == "acme-ci"
    assert parse("primary", servingImage=QUAY_IMAGE).docker_hub_username == "acme-ci"


def test_uses_account_treats_what_it_cannot_tell_as_used() -> None:
    from infra.config import _uses_account

    image = "vllm/vllm-openai@sha256:" + "a" * 64
    assert _uses_account(None, "aws") and _uses_account(image, None)
    assert _uses_account("not pinned", "aws")
    assert _uses_account(image, "gcp") and not _uses_account(image, "azure")
    assert not _uses_account(QUAY_IMAGE, "aws")


# --- warnings: each exactly, and none where none is due ------------------------------------------


OPEN_API = (
    "kubernetesApiAllowedCidrs admits 0.0.0.0/0: the Kubernetes API endpoint accepts connections from any "
    "address (every request still needs cloud IAM credentials); narrow it to your deployer and CI egress "
    "ranges in Pulumi.{stack}.yaml"
)
UNSET_API = (
    "kubernetesApiAllowedCidrs is unset: the Kubernetes API endpoint accepts connections from any address "
    "(every request still needs cloud IAM credentials); set it to your deployer and CI egress ranges in "
    "Pulumi.{stack}.yaml"
)
UNSET_DEPLOYER = (
    "deployerCidrs is unset: the Key Vault and the storage account admit only the cluster's subnet, so model "
    "uploads, `failover verify` and a standby on another cloud reading this bucket are refused from outside; "
    "list those egress ranges in deployerCidrs in Pulumi.{stack}.yaml (pulumi up itself writes secrets "
    "through Azure Resource Manager)"
)
AZURE_PRIMARY_STORE = (
    "the primary's storage account (azure) denies public addresses except its deployerCidrs: replication "
    "from it works once the primary's deployerCidrs list this stack's {cloud} egress addresses (EKS NAT "
    "gateway IPs; GKE Cloud NAT IPs; for Storage Transfer Service jobs the ranges Google publishes for "
    "Storage Transfer Service)"
)
IDLE_GPUS = (
    "tensorParallelSize 1 leaves {idle} of the node's {count} GPUs idle (a replica takes the whole node)"
)


@pytest.mark.parametrize(
    ("stack", "overrides", "warnings"),
    [
        ("primary", {"kubernetesApiAllowedCidrs": None}, [UNSET_API]),
        ("primary", {"kubernetesApiAllowedCidrs": "[]"}, [UNSET_API]),
        ("primary", {"kubernetesApiAllowedCidrs": " "}, [UNSET_API]),
        ("standby", {"kubernetesApiAllowedCidrs": '["0.0.0.0/0", "203.0.113.0/24"]'}, [OPEN_API]),
        ("standby", {**AZURE_STANDBY, **NARROW_API}, [UNSET_DEPLOYER]),
        ("standby", {**AZURE_STANDBY, **NARROW_API, "deployerCidrs": "[]"}, [UNSET_DEPLOYER]),
        ("standby", {**AZURE_STANDBY, **NARROW_API, "deployerCidrs": '["20.30.40.0/24"]'}, []),
        (
            "standby",
            {**NARROW_API, "primaryCloud": "azure"},
            [AZURE_PRIMARY_STORE.replace("{cloud}", "gcp")],
        ),
        ("standby", {**NARROW_API, "primaryCloud": "aws"}, []),
        ("primary", {**NARROW_API, "gpuCountPerNode": 4}, [IDLE_GPUS.format(idle=3, count=4)]),
        ("primary", {**NARROW_API, "gpuCountPerNode": 4, "tensorParallelSize": 4}, []),
        (
            "primary",
            {**NARROW_API, "gpuCountPerNode": 8, "tensorParallelSize": 2},
            ["tensorParallelSize 2 leaves 6 of the node's 8 GPUs idle (a replica takes the whole node)"],
        ),
        (
            "primary",
            {"dnsRouting": "weighted", "trafficWeight": 0, "kubernetesApiAllowedCidrs": None},
            [UNSET_API, "trafficWeight is 0 on the primary: it serves only when the standby is unhealthy"],
        ),
        ("standby", {"dnsRouting": "weighted", "trafficWeight": 0, **NARROW_API}, []),
    ],
    ids=[
        "api-unset",
        "api-empty-list",
        "api-blank",
        "api-open-among-others",
        "azure-deployer-unset",
        "azure-deployer-empty",
        "azure-deployer-set",
        "primary-store-on-azure",
        "primary-store-on-aws",
        "idle-gpus",
        "all-gpus-used",
        "idle-gpus-tp2",
        "primary-weight-zero-and-api-unset",
        "standby-weight-zero",
    ],
)
def test_each_config_warning_exactly(stack: str, overrides: dict[str, Any], warnings: list[str]) -> None:
    assert list(parse(stack, **overrides).warnings) == [w.replace("{stack}", stack) for w in warnings]


# --- edge: certificate source, ACME server, API keys, exactly ------------------------------------


def test_edge_defaults_when_every_edge_key_is_removed() -> None:
    from infra.config import LETS_ENCRYPT, EdgeSettings

    cfg = parse("primary", tlsCertificate=None, acmeServer=None)
    assert cfg.edge == EdgeSettings("acme", LETS_ENCRYPT, False)
    assert LETS_ENCRYPT == "https://acme-v02.api.letsencrypt.org/directory"
    assert cfg.edge.secret_names == ()
    assert EdgeSettings("provided", has_next_key=True).secret_names == (
        "apiKeyNext",
        "tlsCertificateChain",
        "tlsPrivateKey",
    )
    assert parse("primary", acmeServer="https://acme.example.com/dir").edge.acme_server == (
        "https://acme.example.com/dir"
    )


def test_edge_problems_exactly() -> None:
    assert outcome("primary", acmeServer="http://acme.example.com/directory") == [
        "stack config 'acmeServer' must be an https:// ACME directory URL (default Let's Encrypt) "
        "(got 'http://acme.example.com/directory'): set it in Pulumi.primary.yaml"
    ]
    assert outcome("primary", tlsCertificate="vault") == [
        "stack config 'tlsCertificate' must be one of acme, provided, internal-ca (got 'vault'): "
        "set it in Pulumi.primary.yaml"
    ]
    assert outcome("primary", secretNames='["dbPassword"]', plain={"dbPassword": "x"}, drop=("apiKey",)) == [
        "stack config 'dbPassword' must be a secret, not plain text (got '<plain text>'): run `pulumi config "
        "set --secret dbPassword <value> -s primary` and remove the plain value",
        "stack config 'secretNames' must be a list that contains apiKey (the edge's API key) (got "
        "['dbPassword']): add apiKey to secretNames in Pulumi.primary.yaml",
    ]
    for key in ("tlsCertificateChain", "tlsPrivateKey"):
        assert outcome("primary", plain={key: "pem"}) == [
            f"stack config '{key}' must be a secret, not plain text (got '<plain text>'): run `pulumi config "
            f"set --secret {key} <value> -s primary` and remove the plain value",
            f"stack config '{key}' must be unset with tlsCertificate: acme (got '<secret>'): "
            f"set tlsCertificate: provided, or run `pulumi config rm {key} -s primary`",
        ]


def _with_secrets(stack: str, secrets: dict[str, str], **overrides: Any) -> tuple[str, ...] | list[str]:
    raw, secret_keys = shipped_raw(stack, **overrides)
    raw.update(secrets)
    try:
        cfg = parse_config(raw, stack, secret_keys | set(secrets))
    except ConfigError as caught:
        return [str(p) for p in caught.problems]
    return cfg.secret_names


def test_the_next_api_key_of_a_rotation() -> None:
    assert _with_secrets("primary", {"apiKeyNext": "next"}) == ("apiKey", "apiKeyNext")
    # Blank counts as unset: no rotation, and not "equal to apiKey" either.
    assert _with_secrets("primary", {"apiKeyNext": "  "}) == ("apiKey",)
    assert _with_secrets("primary", {"apiKeyNext": " s3cr3t "}) == [
        "stack config 'apiKeyNext' must be a different key from apiKey (the next key of a rotation) (got "
        "'<secret, equal to apiKey>'): set a new random key with `pulumi config set --secret apiKeyNext "
        "<new key> -s primary`, or remove it with `pulumi config rm apiKeyNext -s primary`"
    ]
    assert outcome("primary", plain={"apiKeyNext": "next"}) == [
        "stack config 'apiKeyNext' must be a secret, not plain text (got '<plain text>'): run `pulumi config "
        "set --secret apiKeyNext <value> -s primary` and remove the plain value"
    ]


def _pems(names: list[str] | None = None, **kwargs: Any) -> dict[str, str]:
    from tests.edge_support import make_certificate

    chain, key = make_certificate(names or ["api.example.com"], **kwargs)
    return {"tlsCertificateChain": chain.decode(), "tlsPrivateKey": key.decode()}


def test_a_provided_certificate_exactly() -> None:
    from infra.config import OFFLINE_SECRET_PLACEHOLDER

    pems = _pems()
    assert _with_secrets("primary", pems, tlsCertificate="provided") == (
        "apiKey",
        "tlsCertificateChain",
        "tlsPrivateKey",
    )
    fix = "or use tlsCertificate: acme"
    assert _with_secrets("primary", {}, tlsCertificate="provided") == [
        "stack config 'tlsCertificateChain' must be set to the PEM certificate chain (leaf first) with "
        "tlsCertificate: provided (got nothing): run `cat <file> | pulumi config set --secret "
        f"tlsCertificateChain -s primary`, {fix}",
        "stack config 'tlsPrivateKey' must be set to the PEM private key with tlsCertificate: provided (got "
        f"nothing): run `cat <file> | pulumi config set --secret tlsPrivateKey -s primary`, {fix}",
    ]
    assert _with_secrets("primary", {**pems, "tlsPrivateKey": " "}, tlsCertificate="provided") == [
        "stack config 'tlsPrivateKey' must be set to the PEM private key with tlsCertificate: provided (got "
        f"nothing): run `cat <file> | pulumi config set --secret tlsPrivateKey -s primary`, {fix}"
    ]
    other = _pems(["www.example.com"])
    assert _with_secrets("primary", other, tlsCertificate="provided") == [
        "stack config 'tlsCertificateChain' must be a certificate whose subject alternative names cover "
        "api.example.com (it covers ['www.example.com']) (got '<secret certificate>'): provide a certificate "
        "for api.example.com with `cat chain.pem | pulumi config set --secret tlsCertificateChain -s "
        f"primary`, {fix}"
    ]
    # The offline plan cannot read secrets: either placeholder skips the check, nothing else.
    for key in pems:
        assert _with_secrets(
            "primary", {**other, key: OFFLINE_SECRET_PLACEHOLDER}, tlsCertificate="provided"
        ) == ("apiKey", "tlsCertificateChain", "tlsPrivateKey")
    # Without a zone there is no name to check the certificate against: only the zone is reported.
    assert _with_secrets("primary", other, tlsCertificate="provided", dnsZone=None) == [
        "stack config 'dnsZone' must be set (got nothing): set it with `pulumi config set dnsZone "
        "example.com -s primary`"
    ]
    assert _with_secrets("primary", pems, tlsCertificate="provided", acmeServer=LE_STAGING) == [
        f"stack config 'acmeServer' must be unset with tlsCertificate: provided (got '{LE_STAGING}'): "
        "remove it from Pulumi.primary.yaml"
    ]


LE_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


def test_certificate_problems_exactly() -> None:
    import datetime

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from infra.config import certificate_problems

    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    pems = _pems(["api.example.com"], not_before=start, days=30)
    chain, key = pems["tlsCertificateChain"], pems["tlsPrivateKey"]
    end = start + datetime.timedelta(days=30)
    validity = "valid now (it is valid from 2026-01-01 to 2026-01-31)"
    assert certificate_problems(chain, key, "api.example.com", now=start) == []
    assert certificate_problems(chain, key, "api.example.com", now=end - datetime.timedelta(seconds=1)) == []
    assert certificate_problems(chain, key, "api.example.com", now=end) == [validity]
    assert certificate_problems(chain, key, "api.example.com", now=start - datetime.timedelta(seconds=1)) == [
        validity
    ]
    # Without `now`: the current time (this certificate expired long ago).
    assert certificate_problems(chain, key, "api.example.com") == [validity]

    (garbage,) = certificate_problems("not a certificate", key, "api.example.com")
    assert garbage.startswith("a PEM certificate chain (it does not parse: ") and garbage.endswith(")")
    (bad_key,) = certificate_problems(chain, "not a key", "api.example.com", now=start)
    assert bad_key.startswith(
        "paired with an unencrypted PEM private key in tlsPrivateKey (it does not load: "
    ) and bad_key.endswith(")")
    encrypted = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    (locked,) = certificate_problems(chain, encrypted.decode(), "api.example.com", now=start)
    assert locked.startswith(
        "paired with an unencrypted PEM private key in tlsPrivateKey (it does not load: "
    )

    other_key = _pems(["api.example.com"])["tlsPrivateKey"]
    assert certificate_problems(chain, other_key, "www.example.com", now=end) == [
        validity,
        "a certificate whose subject alternative names cover www.example.com (it covers ['api.example.com'])",
        "the certificate of the key in tlsPrivateKey (the leaf's public key does not match it)",
    ]
    ca = _pems(["Test CA"], ca=True)  # a CA certificate: no subject alternative names at all
    assert certificate_problems(ca["tlsCertificateChain"], ca["tlsPrivateKey"], "api.example.com")[-1] == (
        "a certificate whose subject alternative names cover api.example.com (it covers none)"
    )


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("api.example.com", "api.example.com", True),
        ("api.example.com", "www.example.com", False),
        ("*.example.com", "api.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", ".example.com", False),
        ("*.example.com", "api.example.org", False),
        ("*example.com", "apiexample.com", False),
    ],
)
def test_certificate_names_match_exactly_or_by_one_wildcard_label(
    pattern: str, name: str, matches: bool
) -> None:
    from infra.config import _name_matches

    assert _name_matches(pattern, name) is matches


def test_a_certificate_name_in_capitals_still_covers_the_service() -> None:
    from infra.config import certificate_problems

    pems = _pems(["API.Example.COM"])
    assert certificate_problems(pems["tlsCertificateChain"], pems["tlsPrivateKey"], "api.example.com") == []


# --- operations: recovery targets and audit retention; canary thresholds -------------------------


@pytest.mark.parametrize(
    ("key", "low", "high", "stack"),
    [
        ("rtoTargetSeconds", 1, 86400, "primary"),
        ("rpoTargetMinutes", 1, 10080, "standby"),
        ("auditRetentionDays", 1, 36500, "primary"),
    ],
)
def test_operations_limits(key: str, low: int, high: int, stack: str) -> None:
    def value(cfg: StackConfig) -> int | None:
        return {
            "rtoTargetSeconds": cfg.rto_target_seconds,
            "rpoTargetMinutes": cfg.rpo_target_minutes,
            "auditRetentionDays": cfg.audit_retention_days,
        }[key]

    for ok in (low, high):
        assert value(parse(stack, **{key: ok})) == ok
    for past in (low - 1, high + 1):
        assert outcome(stack, **{key: past}) == [
            f"stack config '{key}' must be between {low} and {high} (got {past}): "
            f"set it in Pulumi.{stack}.yaml"
        ]
    assert outcome(stack, **{key: "soon"}) == [
        f"stack config '{key}' must be an integer between {low} and {high} (got 'soon'): "
        f"set it in Pulumi.{stack}.yaml"
    ]


def test_operations_defaults_when_the_keys_are_removed() -> None:
    cfg = parse("standby", rtoTargetSeconds=None, rpoTargetMinutes=None, auditRetentionDays=None)
    assert (cfg.rto_target_seconds, cfg.rpo_target_minutes, cfg.audit_retention_days) == (None, None, 365)


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("canaryMaxErrorRatePercent", "100", True),
        ("canaryMaxErrorRatePercent", "0.001", True),
        ("canaryMaxErrorRatePercent", "100.001", False),
        ("canaryMaxErrorRatePercent", "0", False),
        ("canaryMaxErrorRatePercent", "-1", False),
        ("canaryMaxErrorRatePercent", "nan", False),
        ("canaryMaxErrorRatePercent", "five", False),
        ("canaryMaxP95LatencyMs", "1e9", True),
        ("canaryMaxP95LatencyMs", "0.5", True),
        ("canaryMaxP95LatencyMs", "0", False),
        ("canaryMaxP95LatencyMs", "inf", False),
        ("canaryMaxP95LatencyMs", "-inf", False),
        ("canaryMaxP95LatencyMs", "slow", False),
    ],
)
def test_canary_thresholds_are_positive_numbers_and_the_error_rate_a_percentage(
    key: str, value: str, ok: bool
) -> None:
    if ok:
        assert outcome("primary", **{key: value}, **NARROW_API) == ()
    else:
        limit = " and at most 100" if key == "canaryMaxErrorRatePercent" else ""
        assert outcome("primary", **{key: value}) == [
            f"stack config '{key}' must be a number above 0{limit} (got {value!r}): "
            "set it in Pulumi.primary.yaml"
        ]


# --- gpuZones: the form per cloud (the offering is checked at plan time) -------------------------


@pytest.mark.parametrize(
    ("stack", "overrides", "zones", "problem"),
    [
        ("primary", {}, ["use1-az1", "use1-az6"], None),
        (
            "primary",
            {},
            ["use1-az1", "use2-az1"],
            "zone IDs of us-east-1 such as use1-az1 (got ['use2-az1'])",
        ),
        ("primary", {}, ["us-east-1a"], "zone IDs of us-east-1 such as use1-az1 (got ['us-east-1a'])"),
        ("standby", {}, ["us-central1-a", "us-central1-f"], None),
        (
            "standby",
            {},
            ["us-central1-a", "us-east1-b", "us-central1-ab"],
            "zone names of us-central1 such as us-central1-a (got ['us-east1-b', 'us-central1-ab'])",
        ),
        ("standby", AZURE_STANDBY, ["1", "3"], None),
        ("standby", AZURE_STANDBY, ["0", "4"], "zone numbers 1-3 of eastus such as 1 (got ['0', '4'])"),
    ],
)
def test_gpu_zones_must_be_zones_of_the_region(
    stack: str, overrides: dict[str, Any], zones: list[str], problem: str | None
) -> None:
    if problem is None:
        assert parse(stack, **overrides, gpuZones=zones).gpu.zones == tuple(zones)
    else:
        assert outcome(stack, **overrides, gpuZones=zones) == [
            f"stack config 'gpuZones' must be {problem}: fix or remove them in "
            f"Pulumi.{stack}.yaml (unset: chosen from where the GPU is offered)"
        ]


def test_gpu_zones_must_be_distinct_and_default_to_none() -> None:
    assert outcome("primary", gpuZones=["use1-az1", "use1-az1"]) == [
        "stack config 'gpuZones' must be distinct zones (got ['use1-az1', 'use1-az1']): "
        "remove the repeats in Pulumi.primary.yaml"
    ]
    assert parse("primary", gpuZones=None).gpu.zones == ()
    # In a region of another cloud the region is what is reported, not the zones.
    from infra.catalog import REGIONS

    assert outcome("primary", region="us-central1", gpuZones=["us-central1-a"]) == [
        "stack config 'region' must be a aws region such as "
        + ", ".join(sorted(REGIONS["aws"])[:4])
        + ", ... (got 'us-central1'): set it in Pulumi.primary.yaml"
    ]


def test_node_counts_an_invalid_value_leaves_the_others_checked_against_their_defaults() -> None:
    replicas_over = (
        "stack config 'replicas' must be at most maxNodeCount ({max}): each replica takes a whole GPU node "
        "(got {replicas}): lower replicas or raise maxNodeCount in Pulumi.primary.yaml"
    )
    # maxNodeCount defaults to nodeCount, or to 1 when nodeCount itself is refused.
    assert outcome("primary", nodeCount="x", maxNodeCount=None) == [
        "stack config 'nodeCount' must be an integer between 1 and 100 (got 'x'): "
        "set it in Pulumi.primary.yaml",
        replicas_over.format(max=1, replicas=2),
    ]
    assert outcome("primary", nodeCount=None, maxNodeCount=None, replicas=3) == [
        replicas_over.format(max=2, replicas=3)
    ]
    # A refused maxNodeCount or replicas is reported once, not compared.
    assert outcome("primary", maxNodeCount="x", replicas=100) == [
        "stack config 'maxNodeCount' must be an integer between 1 and 100 (got 'x'): "
        "set it in Pulumi.primary.yaml"
    ]
    assert outcome("primary", nodeCount=3, maxNodeCount=3, replicas="x") == [
        "stack config 'replicas' must be an integer between 1 and 100 (got 'x'): "
        "set it in Pulumi.primary.yaml"
    ]


def test_a_model_path_may_hold_two_dots_inside_a_name() -> None:
    assert parse("primary", modelPath="models/v1..2").model_path == "models/v1..2/"
    assert parse("primary", modelPath=" models/a/ ").model_path == "models/a/"


def test_a_config_error_names_the_stack_and_lists_each_problem_on_its_own_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse("standby", capacity="hot", dnsRouting="any")
    assert caught.value.stack == "standby"
    assert str(caught.value) == (
        "2 problems in the config of stack 'standby':\n"
        "  - stack config 'capacity' must be one of warm, full (got 'hot'): set it in Pulumi.standby.yaml "
        "[IF-CFG-004]\n"
        "  - stack config 'dnsRouting' must be one of failover, weighted (got 'any'): set it in "
        "Pulumi.standby.yaml [IF-CFG-021]"
    )


def test_a_powerdns_authority_reaches_the_dns_settings_and_needs_no_cloud_provider() -> None:
    """The hook of infra/config_powerdns.py (its own rules are tested in test_powerdns_dns.py)."""
    from infra.config_powerdns import PowerDnsSettings

    raw, secret_keys = shipped_raw(
        "primary",
        dnsProvider="powerdns",
        powerdnsApiUrl="https://pdns.example.internal:8081",
        tlsCertificate="provided",
        **NARROW_API,
    )
    secrets = {**_pems(), "powerdnsApiKey": "pdns-key"}
    raw.update(secrets)
    cfg = parse_config(raw, "primary", secret_keys | set(secrets))
    assert (cfg.dns.provider, cfg.clouds_used, cfg.warnings) == ("powerdns", ("aws",), ())
    assert cfg.dns.powerdns == PowerDnsSettings("https://pdns.example.internal:8081/api/v1", "localhost")
    assert parse("primary").dns.powerdns is None


def test_values_are_read_trimmed_and_problems_of_other_modules_pass_through_exactly() -> None:
    assert outcome("primary", healthCheckPath=" /health ", healthCheckPort=" 443 ", **NARROW_API) == ()
    # A refused GPU count is reported alone (no node-size problem is derived from it).
    assert outcome("primary", gpuCountPerNode="x") == [
        "stack config 'gpuCountPerNode' must be an integer between 1 and 8 (got 'x'): "
        "set it in Pulumi.primary.yaml"
    ]
    # infra/fit.py's problems keep their own fix, or get the stack file's when they have none.
    assert outcome("primary", maxModelLen="x") == [
        "stack config 'maxModelLen' must be a number between 16 and 10000000 (got 'x'): "
        "set it in Pulumi.primary.yaml"
    ]
    assert outcome("primary", maxModelLen="1000000") == [
        "stack config 'maxModelLen' must be at most 131072, the context llama-3.1-8b-instruct was trained "
        "for (max_position_embeddings); vLLM refuses longer ones (got 1000000): set maxModelLen to 131072 "
        "or less in Pulumi.primary.yaml"
    ]


def test_one_idle_gpu_is_warned_about_and_a_zone_is_only_trimmed_of_its_final_dot() -> None:
    assert parse("standby", gpuCountPerNode=2, tensorParallelSize=1, **NARROW_API).warnings == (
        "tensorParallelSize 1 leaves 1 of the node's 2 GPUs idle (a replica takes the whole node)",
    )
    assert parse("primary", dnsZone="Sand.BoX.").dns.zone == "sand.box"


def test_a_primary_stack_reference_must_be_fully_qualified_exactly() -> None:
    assert outcome("standby", primaryStack="primary") == [
        "stack config 'primaryStack' must be a fully qualified stack name org/project/stack (got 'primary'): "
        "set it in Pulumi.standby.yaml"
    ]
