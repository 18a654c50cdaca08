"""`failover compare` glue: flags -> targets (address, service name, hourly price) -> report."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from typing import Any

from rich.markup import escape
from rich.table import Table

from cutover.checks import SideInfo
from cutover.compare import (
    Target,
    compare,
    load_prompts,
    probe_target,
    require_targets,
    run_async,
    tls_context,
)
from cutover.errors import UsageError
from cutover.plan import Side
from cutover.probes import API_KEY_ENV

HOURS_PER_MONTH = 730
"""The month infra.cost prices (AWS, GCP and Azure all bill 730 hours)."""


def hourly_price(args: argparse.Namespace, info: SideInfo) -> tuple[float | None, str, float | None]:
    """The side's (hourly price, its source, monthly price): the flag, else the cost model at the
    stack's current capacity (list prices on a cloud, cost of ownership on-prem)."""
    given = getattr(args, f"{info.side}_hourly_usd")
    if given is not None:
        if given <= 0:
            raise UsageError(
                f"--{info.side}-hourly-usd must be above 0 (got {given})",
                "pass the stack's price in USD per hour",
            )
        return given, f"--{info.side}-hourly-usd", round(given * HOURS_PER_MONTH, 2)
    try:
        from infra.cost import CostError, price_stack
        from offline.harness import ProgramError
    except ImportError as exc:  # the CLI installed without the stack program
        return None, f"no hourly price: infra.cost unavailable ({exc}); pass --{info.side}-hourly-usd", None
    try:
        report = price_stack(info.stack, args.workdir)
    except (CostError, ProgramError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        return None, f"no hourly price: {first}; pass --{info.side}-hourly-usd", None
    note = f"python -m infra.cost {info.stack} ({report.capacity})"
    return report.hourly_usd, note, report.monthly_usd


def run_compare(
    args: argparse.Namespace, sides: Mapping[Side, SideInfo], say: Callable[[str], None]
) -> dict[str, Any]:
    prompts = load_prompts(args.prompts)
    for flag, value in (("requests", args.requests), ("concurrency", args.concurrency)):
        if value < 1:
            raise UsageError(f"--{flag} must be at least 1 (got {value})", f"pass e.g. --{flag} 8")
    if args.max_tokens < 1 or args.timeout_seconds <= 0:
        raise UsageError(
            "--max-tokens and --timeout-seconds must be above 0 "
            f"(got {args.max_tokens}, {args.timeout_seconds})",
            "pass e.g. --max-tokens 128 --timeout-seconds 60",
        )
    tls = tls_context(getattr(args, "ca_bundle", None))
    api_key = os.environ.get(API_KEY_ENV)

    def target(
        name: str, info: SideInfo, hourly: float | None = None, note: str = "", monthly: float | None = None
    ) -> Target:
        cloud = str(info.outputs.get("cloud") or "")
        return Target(
            name,
            str(info.endpoint_url),
            info.fqdn,
            info.model_name or "",
            hourly,
            note,
            monthly,
            info.stack,
            cloud,
        )

    def probe(name: str, info: SideInfo) -> tuple[bool, str]:
        return run_async(probe_target(target(name, info), tls=tls, api_key=api_key))

    require_targets(sides, probe, args.force)
    targets = [target(name, info, *hourly_price(args, info)) for name, info in sides.items()]
    say(f"compare: {args.requests} requests per side, {args.concurrency} in flight, {len(prompts)} prompts")
    report = compare(
        targets,
        prompts,
        args.requests,
        args.concurrency,
        api_key=api_key,
        tls=tls,
        max_tokens=args.max_tokens,
        timeout_seconds=args.timeout_seconds,
    )
    report["prompts_file"] = str(args.prompts)
    return report


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render(report: Mapping[str, Any]) -> Table:
    table = Table(
        title=f"failover compare: {report['requests_per_side']} requests/side, "
        f"{report['concurrency']} in flight, {report['prompts']} prompts"
    )
    columns = (
        "side",
        "errors %",
        "p50 ms",
        "p95 ms",
        "TTFT p50",
        "TTFT p95",
        "out tok/s",
        "$/hour",
        "$/month",
        "$/1M out tok",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "side" else "right")
    for side, s in report["sides"].items():
        cost = s["cost_per_1m_output_tokens_usd"]
        cloud = f" ({escape(s['cloud'])})" if s.get("cloud") else ""
        table.add_row(
            f"{side}{cloud}\n[dim]{escape(s['url'])} as {escape(str(s['server_name']))}[/dim]",
            f"{s['error_rate_percent']:.1f}",
            _ms(s["latency_p50_ms"]),
            _ms(s["latency_p95_ms"]),
            _ms(s["ttft_p50_ms"]),
            _ms(s["ttft_p95_ms"]),
            f"{s['output_tokens_per_second']:.1f}",
            "-" if s["hourly_usd"] is None else f"{s['hourly_usd']:.4f}",
            "-" if s.get("monthly_usd") is None else f"{s['monthly_usd']:,.2f}",
            "-" if cost is None else f"{cost:.2f}",
        )
    agreement = report.get("agreement") or {}
    if agreement.get("compared_prompts"):
        table.caption = (
            f"agreement over {agreement['compared_prompts']} prompts: exact match "
            f"{100 * agreement['exact_match_rate']:.0f} %, "
            f"token overlap {agreement['token_overlap_mean']:.2f}"
        )
    notes = [
        f"{side}: {escape(s['cost_note'])}" for side, s in report["sides"].items() if s["hourly_usd"] is None
    ]
    if notes:
        table.caption = (table.caption or "") + "\n" + "\n".join(notes)
    return table
