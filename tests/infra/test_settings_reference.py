"""One table per setting: the component Args agree with it, and the README's error codes are its.

The settings table (infra/settings.py) against Pulumi.yaml, KNOWN_KEYS and parse_config is
tested in tests/test_config.py (where the mutation run of infra/config.py sees it).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from components.audit.args import RETENTION_DAYS_RANGE, AuditStoreArgs
from components.dns import args as dns_args
from components.inference_cluster.args import InferenceClusterArgsError, InferenceWorkloadArgs
from components.object_store.args import CrossCloudReplicationArgs
from components.object_store.replication import ReplicationScheduleError, ReplicationSourceError
from components.observability.args import ObservabilityArgs
from components.observability.rules import AlertThresholds
from components.problems import ARGS_CODES, ARGS_MEANING, UNLISTED, ArgsError, ArgsValueError, Problem
from infra import error_codes
from infra.config import HEALTH_CHECK_INTERVALS
from infra.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def _default(cls: type, field_name: str) -> Any:
    (field,) = [f for f in dataclasses.fields(cls) if f.name == field_name]
    assert field.default is not dataclasses.MISSING, (cls.__name__, field_name)
    return field.default


# Args field -> the setting whose schema default it must equal (the program passes the setting's
# value; the Args default is what a caller of the component alone gets).
ARGS_DEFAULTS = [
    *[
        (dns_args.FailoverRecordArgs, field, key)
        for field, key in dns_args.CONFIG_KEYS.items()
        if key in SETTINGS
        and SETTINGS[key].default is not None
        and field
        in {
            f.name
            for f in dataclasses.fields(dns_args.FailoverRecordArgs)
            if f.default is not dataclasses.MISSING
        }
    ],
    (AuditStoreArgs, "retention_days", "auditRetentionDays"),
    (ObservabilityArgs, "dns_health_check_path", "healthCheckPath"),
    (ObservabilityArgs, "dns_health_check_port", "healthCheckPort"),
    (AlertThresholds, "error_rate_percent", "alertErrorRatePercent"),
    (AlertThresholds, "p95_latency_ms", "alertP95LatencyMs"),
    (AlertThresholds, "p95_ttft_ms", "alertP95TtftMs"),
    (AlertThresholds, "kv_cache_usage_percent", "alertKvCacheUsagePercent"),
    (InferenceWorkloadArgs, "tls_source", "tlsCertificate"),
    (CrossCloudReplicationArgs, "paused", "replicationPaused"),
]


@pytest.mark.parametrize(
    ("cls", "field_name", "key"), ARGS_DEFAULTS, ids=[f"{c.__name__}.{f}" for c, f, _ in ARGS_DEFAULTS]
)
def test_each_component_args_default_is_the_schema_default(cls: type, field_name: str, key: str) -> None:
    assert _default(cls, field_name) == SETTINGS[key].default


def test_the_dns_args_defaults_cover_ttl_routing_and_the_health_check() -> None:
    fields = {f for c, f, _ in ARGS_DEFAULTS if c is dns_args.FailoverRecordArgs}
    assert fields == {
        "ttl_seconds",
        "routing",
        "health_check_path",
        "health_check_port",
        "health_check_interval_seconds",
        "health_check_failure_threshold",
    }


def test_the_component_limits_are_the_settings_limits() -> None:
    ttl = SETTINGS["dnsTtlSeconds"]
    assert (ttl.low, ttl.high) == (1, dns_args.MAX_TTL_SECONDS)
    assert dns_args.HEALTH_CHECK_INTERVALS_SECONDS == HEALTH_CHECK_INTERVALS
    interval = SETTINGS["healthCheckIntervalSeconds"]
    assert (interval.low, interval.high) == (min(HEALTH_CHECK_INTERVALS), max(HEALTH_CHECK_INTERVALS))
    audit = SETTINGS["auditRetentionDays"]
    assert (audit.low, audit.high) == RETENTION_DAYS_RANGE
    assert SETTINGS["role"].choices == dns_args.ROLES
    assert SETTINGS["dnsRouting"].choices == dns_args.ROUTINGS
    assert _default(InferenceWorkloadArgs, "api_key_secret") in SETTINGS["secretNames"].default


def test_the_readme_lists_every_code_as_generated() -> None:
    text = (ROOT / "README.md").read_text()
    assert error_codes.updated(text) == text, "run python -m infra.error_codes --write"
    section = text.split(error_codes.START)[1].split(error_codes.END)[0]
    for setting in SETTINGS.values():
        assert f"| `{setting.code}` | `{setting.key}` |" in section
    for what, code in ARGS_CODES.items():
        assert f"| `{code}` | `{what}` |" in section
    assert error_codes.main(["--check"]) == 0
    assert error_codes.main(["--bogus"]) == 2


def test_every_code_the_readme_shows_next_to_a_key_is_that_keys() -> None:
    text = (ROOT / "README.md").read_text()
    shown = re.findall(r"stack config '(\w+)' must be .*\[(IF-CFG-\d{3})\]", text)
    assert len(shown) >= 3
    for key, code in shown:
        assert SETTINGS[key].code == code, key


def test_every_args_error_raised_in_components_names_a_listed_args() -> None:
    raised = set()
    for path in (ROOT / "components").rglob("*.py"):
        source = path.read_text()
        raised |= set(re.findall(r"InferenceClusterArgsError\(\s*\"(\w+)\"", source))
        raised |= set(re.findall(r"ArgsValueError\(\s*\"(\w+)\"", source))
        raised |= set(re.findall(r"super\(\).__init__\(\"(\w+)\"", source))
    assert raised >= {"InferenceClusterArgs", "InferenceWorkloadArgs", "InternalCaArgs", "CertManagerArgs"}
    assert raised <= set(ARGS_CODES)
    assert set(ARGS_MEANING) == set(ARGS_CODES)
    codes = list(ARGS_CODES.values())
    assert len(set(codes)) == len(codes) and UNLISTED not in codes
    assert all(re.fullmatch(r"IF-ARG-\d{3}", c) for c in codes)


def test_an_args_error_lists_each_problem_with_its_code() -> None:
    error = InferenceClusterArgsError("InferenceClusterArgs", ["a must be 1 (got 2)", "b must be set"])
    assert isinstance(error, ValueError) and isinstance(error, ArgsError)
    assert (error.code, error.what, error.problems) == (
        "IF-ARG-001",
        "InferenceClusterArgs",
        ["a must be 1 (got 2)", "b must be set"],
    )
    assert str(error) == (
        "invalid InferenceClusterArgs:\n  - a must be 1 (got 2) [IF-ARG-001]\n  - b must be set [IF-ARG-001]"
    )
    problem = Problem("retention_days", 0, "at least 1", "raise it", code="IF-ARG-011")
    single = ArgsValueError("AuditStoreArgs", [problem], header="")
    assert str(single) == "stack config 'retention_days' must be at least 1 (got 0): raise it [IF-ARG-011]"
    assert ArgsError("NoSuchArgs", ["x"]).code == UNLISTED


def test_the_replication_errors_are_args_errors_with_their_codes() -> None:
    schedule, source = ReplicationScheduleError("interval"), ReplicationSourceError("source")
    assert (str(schedule), schedule.code) == ("interval [IF-ARG-007]", "IF-ARG-007")
    assert (str(source), source.code) == ("source [IF-ARG-008]", "IF-ARG-008")
    assert isinstance(schedule, ValueError) and isinstance(source, ArgsError)
