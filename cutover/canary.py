"""Canary verification between the weight steps of a staged shift.

After a shift verifies (DNS answers, target serving) and soaks, the runner sends the side that
now receives more traffic a burst of real chat completions, at its own address under the
service name (as `failover compare` does), and compares the error rate and p95 latency with
thresholds from that stack's config. A breach fails the step, which rolls the run back.
The managed Prometheus metrics are not read here: these probes need nothing but the endpoint,
so they work while a cloud's monitoring is itself degraded.

Thresholds (stack config of the side receiving traffic, validated; defaults below):
- `canaryMaxErrorRatePercent`: errors per 100 canary requests above which the step fails (5).
- `canaryMaxP95LatencyMs`: p95 latency of a full completion above which it fails (20000).
"""

from __future__ import annotations

import math
import os
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cutover.compare import DEFAULT_PROMPTS, Messages, Target, load_prompts, run_async, run_side
from cutover.errors import UsageError
from cutover.probes import API_KEY_ENV

ERROR_RATE_KEY = "canaryMaxErrorRatePercent"
P95_KEY = "canaryMaxP95LatencyMs"
DEFAULT_MAX_ERROR_RATE_PERCENT = 5.0
DEFAULT_MAX_P95_LATENCY_MS = 20000.0
"""A 128-token completion of an 8B model on one L4 takes a few seconds; 20 s is a breach."""


@dataclass(frozen=True)
class Thresholds:
    max_error_rate_percent: float = DEFAULT_MAX_ERROR_RATE_PERCENT
    max_p95_latency_ms: float = DEFAULT_MAX_P95_LATENCY_MS


def _threshold(stack: str, key: str, raw: str | None, default: float, high: float | None) -> float:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0 or (high is not None and value > high):
        expected = f"a number above 0{f' and at most {high:g}' if high is not None else ''}"
        raise UsageError(
            f"stack config '{key}' must be {expected} (got {raw!r})",
            f"set it with `pulumi config set {key} {default:g} -s {stack}` (or remove it for {default:g})",
        )
    return value


def thresholds_for(stack: str, get_config: Callable[[str], str | None]) -> Thresholds:
    """The stack's canary thresholds; a zero, negative or non-numeric one is a UsageError."""
    return Thresholds(
        _threshold(stack, ERROR_RATE_KEY, get_config(ERROR_RATE_KEY), DEFAULT_MAX_ERROR_RATE_PERCENT, 100.0),
        _threshold(stack, P95_KEY, get_config(P95_KEY), DEFAULT_MAX_P95_LATENCY_MS, None),
    )


@dataclass(frozen=True)
class CanaryResult:
    ok: bool
    detail: str


def run_canary(
    side: str,
    url: str | None,
    server_name: str | None,
    model: str | None,
    thresholds: Thresholds,
    *,
    requests: int = 20,
    concurrency: int = 4,
    prompts: Sequence[Messages] | None = None,
    tls: ssl.SSLContext | None = None,
    timeout_seconds: float = 60.0,
) -> CanaryResult:
    """Send `requests` completions to one side and judge them against `thresholds`."""
    if not url:
        return CanaryResult(False, f"{side} has no endpointUrl output to send canary requests to")
    target = Target(side, url, server_name, model or "")
    result = run_async(
        run_side(
            target,
            prompts or load_prompts(DEFAULT_PROMPTS),
            requests,
            concurrency,
            api_key=os.environ.get(API_KEY_ENV),
            tls=tls,
            max_tokens=32,
            timeout_seconds=timeout_seconds,
        )
    )
    summary = result.summary()
    error_rate, p95 = summary["error_rate_percent"], summary["latency_p95_ms"]
    problems = []
    if error_rate > thresholds.max_error_rate_percent:
        top = ", ".join(f"{e} x{n}" for e, n in summary["top_errors"].items())
        limit = thresholds.max_error_rate_percent
        problems.append(f"error rate {error_rate:g} % > {ERROR_RATE_KEY} {limit:g} ({top})")
    if p95 is not None and p95 > thresholds.max_p95_latency_ms:
        problems.append(f"p95 latency {p95:g} ms > {P95_KEY} {thresholds.max_p95_latency_ms:g}")
    shown = "-" if p95 is None else f"{p95:g}"
    measured = f"{requests} canary requests to {side}: error rate {error_rate:g} %, p95 {shown} ms"
    if problems:
        return CanaryResult(False, f"{measured}; breach: " + "; ".join(problems))
    return CanaryResult(
        True,
        f"{measured} (max {thresholds.max_error_rate_percent:g} %, {thresholds.max_p95_latency_ms:g} ms)",
    )


__all__ = ["ERROR_RATE_KEY", "P95_KEY", "CanaryResult", "Thresholds", "run_canary", "thresholds_for"]
