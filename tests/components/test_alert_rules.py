"""The alert rules evaluated by a real Prometheus rule engine (promtool, from tools/install-promtool.sh).

tests/components/promtool/serving_alerts_test.yml holds synthetic series above and below each default
threshold; these tests render the rules from components/observability/rules.py next to it and
run `promtool test rules`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.observability.rules import RULES, AlertThresholds, azure_rules, render_rule_groups

UNIT_TESTS = Path(__file__).parent / "promtool" / "serving_alerts_test.yml"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: run `bash tools/install-promtool.sh` (tools/dev.sh test does)")
    return path


def _run_unit_tests(tmp_path: Path, thresholds: AlertThresholds) -> subprocess.CompletedProcess[str]:
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(render_rule_groups(thresholds), sort_keys=False))
    return subprocess.run(
        [_promtool(), "test", "rules", UNIT_TESTS.name],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_alert_fires_above_and_stays_silent_below_its_default_threshold(tmp_path: Path) -> None:
    result = _run_unit_tests(tmp_path, AlertThresholds())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_raised_thresholds_silence_every_alert(tmp_path: Path) -> None:
    # Above every synthetic value of the "fires" cases (10 %, ~39 s, ~3.9 s, 95 %).
    raised = AlertThresholds(
        error_rate_percent=20, p95_latency_ms=45000, p95_ttft_ms=5000, kv_cache_usage_percent=97
    )
    result = _run_unit_tests(tmp_path, raised)
    assert result.returncode != 0
    for rule in RULES:
        assert f"alertname: {rule.name}" in result.stdout + result.stderr, rule.name


def test_lowered_thresholds_also_fire_on_the_standby_series(tmp_path: Path) -> None:
    # Below every synthetic value of the "silent" cases (2 %, ~9.5 s, ~0.95 s, 85 %).
    lowered = AlertThresholds(
        error_rate_percent=1, p95_latency_ms=5000, p95_ttft_ms=500, kv_cache_usage_percent=50
    )
    result = _run_unit_tests(tmp_path, lowered)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    for rule in RULES:
        assert f"alertname: {rule.name}" in output, rule.name
    assert 'stack="standby"' in output


def test_rendered_rules_pass_promtool_check(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(render_rule_groups(AlertThresholds(p95_ttft_ms=1500.5))))
    result = subprocess.run(
        [_promtool(), "check", "rules", str(rules)], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULES)} rules found" in result.stdout and len(RULES) == 5
    assert "> 1500.5" in rules.read_text()


def test_azure_rules_carry_the_same_expressions_and_the_stack_labels() -> None:
    thresholds = AlertThresholds()
    labels = {"stack": "standby", "cloud": "azure", "region": "eastus", "model": "m"}
    azure = azure_rules(thresholds, labels)
    prometheus = render_rule_groups(thresholds)["groups"][0]["rules"]
    assert [r["expression"] for r in azure] == [r["expr"] for r in prometheus]
    assert [r["for"] for r in azure] == ["PT5M", "PT5M", "PT10M", "PT10M", "PT10M"]
    assert all(r["labels"]["stack"] == "standby" for r in azure)
    assert [r["severity"] for r in azure] == [1, 1, 3, 3, 3]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"error_rate_percent": 0}, "error_rate_percent must be greater than 0 (got 0)"),
        ({"p95_latency_ms": -5}, "p95_latency_ms must be greater than 0 (got -5)"),
        ({"p95_ttft_ms": 0.0}, "p95_ttft_ms must be greater than 0 (got 0.0)"),
        ({"kv_cache_usage_percent": 120}, "kv_cache_usage_percent must be at most 100 (got 120)"),
    ],
)
def test_thresholds_refuse_zero_negative_and_over_100_percent(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match="invalid AlertThresholds") as caught:
        AlertThresholds(**kwargs)
    assert message in str(caught.value)
