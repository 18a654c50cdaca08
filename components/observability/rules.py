"""The alert rules as data: one table, rendered to every cloud's Prometheus rule format.

Each row is one alert on the serving path. `render_rule_groups` turns the table plus a stack's
thresholds into a Prometheus rule file (the `groups:` document), which is exactly what Amazon
Managed Service for Prometheus takes as a rule groups namespace, what Google Cloud Managed
Service for Prometheus takes as the `spec.groups` of a Rules CR, and what an Azure Monitor
`prometheusRuleGroups` resource is built from (`azure_rule_groups`). `tests/components/test_alert_rules.py`
evaluates the rendered file with promtool against synthetic series.

Metric names are vLLM v0.11's (vllm/v1/metrics/loggers.py; source: vLLM repository, 2025-10):
`vllm:e2e_request_latency_seconds` and `vllm:time_to_first_token_seconds` histograms,
`vllm:kv_cache_usage_perc` (a 0-1 gauge; the older `vllm:gpu_cache_usage_perc` is deprecated and
hidden since v0.10), and the OpenAI server's `http_requests_total{status="2xx|4xx|5xx"}` counter
(prometheus-fastapi-instrumentator, status codes grouped). The edge proxy's own counter is
`edge_requests_total{route,code}` (components/inference_cluster/edge_proxy.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

SERIES_LABELS: Final = ("stack", "cloud", "region", "model")
"""Every series carries these (collector external labels); alerts aggregate by them."""
_BY: Final = ", ".join(SERIES_LABELS)
GROUP_NAME: Final = "inference-serving"
EVALUATION_INTERVAL: Final = "1m"


@dataclass(frozen=True)
class AlertThresholds:
    """When each serving alert fires. Every value is positive; config refuses zero or negative."""

    error_rate_percent: float = 5.0
    """Share of requests answered 5xx over 5 minutes, in percent (0-100]."""
    p95_latency_ms: float = 30000.0
    """95th percentile end-to-end request latency over 5 minutes, in milliseconds."""
    p95_ttft_ms: float = 2000.0
    """95th percentile time to first token over 5 minutes, in milliseconds."""
    kv_cache_usage_percent: float = 90.0
    """KV-cache blocks in use, in percent (0-100]; above it requests queue or are preempted."""

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be greater than 0 (got {value}): pass a positive threshold"
            for name, value in vars(self).items()
            if not value > 0
        ]
        problems += [
            f"{name} must be at most 100 (got {getattr(self, name)}): it is a percentage"
            for name in ("error_rate_percent", "kv_cache_usage_percent")
            if getattr(self, name) > 100
        ]
        if problems:
            raise ValueError("invalid AlertThresholds:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class AlertRule:
    name: str
    threshold: str
    """Field of AlertThresholds the rule compares with."""
    expr: str
    """PromQL with `{threshold}` where the value goes."""
    for_duration: str
    severity: str
    summary: str


def _p95_ms(histogram: str) -> str:
    return f"1000 * histogram_quantile(0.95, sum by (le, {_BY}) (rate({histogram}_bucket[5m])))"


RULES: Final[tuple[AlertRule, ...]] = (
    AlertRule(
        name="InferenceErrorRateHigh",
        threshold="error_rate_percent",
        expr=(
            f'100 * sum by ({_BY}) (rate(http_requests_total{{status="5xx"}}[5m]))'
            f" / sum by ({_BY}) (rate(http_requests_total[5m])) > {{threshold}}"
        ),
        for_duration="5m",
        severity="critical",
        summary="More than {threshold}% of requests to {{ $labels.stack }} on {{ $labels.cloud }} fail",
    ),
    AlertRule(
        # The edge's own counts (edge_proxy.py, /metrics/edge): they include the 502/503s the
        # edge answers while the model server is down or restarting, which the server's own
        # counter above never sees. Health probes are left out: a down server fails every probe.
        name="InferenceEdgeErrorRateHigh",
        threshold="error_rate_percent",
        expr=(
            f'100 * sum by ({_BY}) (rate(edge_requests_total{{route!="/health",code=~"5.."}}[5m]))'
            f' / sum by ({_BY}) (rate(edge_requests_total{{route!="/health"}}[5m])) > {{threshold}}'
        ),
        for_duration="5m",
        severity="critical",
        summary=(
            "More than {threshold}% of requests to {{ $labels.stack }} on {{ $labels.cloud }} "
            "fail at the edge"
        ),
    ),
    AlertRule(
        name="InferenceP95LatencyHigh",
        threshold="p95_latency_ms",
        expr=_p95_ms("vllm:e2e_request_latency_seconds") + " > {threshold}",
        for_duration="10m",
        severity="warning",
        summary="p95 request latency of {{ $labels.stack }} above {threshold} ms",
    ),
    AlertRule(
        name="InferenceP95TimeToFirstTokenHigh",
        threshold="p95_ttft_ms",
        expr=_p95_ms("vllm:time_to_first_token_seconds") + " > {threshold}",
        for_duration="10m",
        severity="warning",
        summary="p95 time to first token of {{ $labels.stack }} above {threshold} ms",
    ),
    AlertRule(
        name="InferenceKvCacheSaturated",
        threshold="kv_cache_usage_percent",
        expr=f"100 * max by ({_BY}) (vllm:kv_cache_usage_perc) > {{threshold}}",
        for_duration="10m",
        severity="warning",
        summary="KV cache of {{ $labels.stack }} above {threshold}% full: requests queue",
    ),
)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render_rules(thresholds: AlertThresholds) -> list[dict[str, Any]]:
    """The alerting rules of RULES with `thresholds` filled in (Prometheus rule objects)."""
    rendered = []
    for rule in RULES:
        value = _number(getattr(thresholds, rule.threshold))
        rendered.append(
            {
                "alert": rule.name,
                "expr": rule.expr.replace("{threshold}", value),
                "for": rule.for_duration,
                "labels": {"severity": rule.severity},
                "annotations": {"summary": rule.summary.replace("{threshold}", value)},
            }
        )
    return rendered


def render_rule_groups(thresholds: AlertThresholds) -> dict[str, Any]:
    """A Prometheus rule file (`groups:`) for AMP's rule groups namespace and GMP's Rules CR."""
    return {
        "groups": [{"name": GROUP_NAME, "interval": EVALUATION_INTERVAL, "rules": render_rules(thresholds)}]
    }


def azure_rules(thresholds: AlertThresholds, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """The same rules in Azure's prometheusRuleGroups shape (camelCase, ISO-8601 durations).

    Azure rule groups carry no external labels of their own, so `labels` are added to each rule.
    """
    out = []
    for rule in render_rules(thresholds):
        minutes = int(rule["for"].removesuffix("m"))
        out.append(
            {
                "alert": rule["alert"],
                "expression": rule["expr"],
                "for": f"PT{minutes}M",
                "labels": {**rule["labels"], **labels},
                "annotations": rule["annotations"],
                "severity": 1 if rule["labels"]["severity"] == "critical" else 3,
                "enabled": True,
            }
        )
    return out
