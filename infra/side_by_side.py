"""Several stacks' costs next to each other, per month and per 1M output tokens.

    python -m infra.cost primary standby --compare compare.json
    python -m infra.cost primary standby --output-tokens-per-second 2400

Per 1M output tokens is the stack's hourly price over what it generates in an hour, the same
formula as `failover compare`: hourly_usd / (output tokens/s x 3600) x 10^6. The throughput is
measured, never assumed: each stack's own `output_tokens_per_second` from the JSON of
`failover --json compare` (sides matched by stack name, else by side name), or one figure for
every stack given with `--output-tokens-per-second`. Without either, that column says how to get it.
The hourly price is the stack's at its configured capacity, so a warm standby's figure is what
its one serving replica would cost per token; owned hardware is paid whether or not it serves,
so its cost per token falls only with throughput, never with idling.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.cost import CostReport

COMPARE_FIX = (
    "write it with `failover --json compare > compare.json` (the sides' stacks must be the ones named here), "
    "or pass --output-tokens-per-second"
)


class ThroughputError(ValueError):
    """The throughput input is unusable; the message names the flag, the value and the fix."""


def per_million_output_tokens(hourly_usd: float, tokens_per_second: float | None) -> float | None:
    if tokens_per_second is None or tokens_per_second <= 0:
        return None
    return round(hourly_usd / (tokens_per_second * 3600) * 1_000_000, 4)


def throughputs(
    stacks: Sequence[str], compare_file: Path | None, tokens_per_second: float | None
) -> dict[str, float]:
    """Output tokens per second per stack name, from the flags (empty: none given)."""
    if tokens_per_second is not None:
        if not math.isfinite(tokens_per_second) or tokens_per_second <= 0:
            raise ThroughputError(
                f"--output-tokens-per-second must be above 0 (got {tokens_per_second:g}): pass the "
                "output tokens per second `failover compare` measured"
            )
        return dict.fromkeys(stacks, tokens_per_second)
    if compare_file is None:
        return {}
    try:
        report = json.loads(compare_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ThroughputError(
            f"--compare {compare_file} cannot be read as JSON ({exc}): {COMPARE_FIX}"
        ) from None
    sides = report.get("sides") if isinstance(report, dict) else None
    if not isinstance(sides, dict) or not all(isinstance(s, Mapping) for s in sides.values()):
        raise ThroughputError(f"--compare {compare_file} has no 'sides' map: {COMPARE_FIX}")
    found: dict[str, float] = {}
    for stack in stacks:
        side = next((s for s in sides.values() if s.get("stack") == stack), sides.get(stack))
        value = side.get("output_tokens_per_second") if isinstance(side, Mapping) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ThroughputError(
                f"--compare {compare_file} has no output_tokens_per_second for stack '{stack}' "
                f"(sides: {', '.join(sorted(sides)) or 'none'}): {COMPARE_FIX}"
            )
        if value > 0:
            found[stack] = float(value)
    return found


def check_clouds(reports: Sequence[CostReport], compare_file: Path) -> None:
    """Each measured side ran on the cloud its stack file here names (the file came from this project)."""
    sides = json.loads(compare_file.read_text(encoding="utf-8"))["sides"]
    for report in reports:
        side = next((s for s in sides.values() if s.get("stack") == report.stack), sides.get(report.stack))
        measured = side.get("cloud") if isinstance(side, Mapping) else None
        if measured and measured != report.cloud:
            raise ThroughputError(
                f"--compare {compare_file} measured stack '{report.stack}' on {measured}, but "
                f"Pulumi.{report.stack}.yaml here runs it on {report.cloud}: pass --workdir of the project "
                "`failover compare` ran in"
            )


def render(reports: Sequence[CostReport], tokens: Mapping[str, float]) -> str:
    head = (
        f"{'stack':<12} {'cloud':<7} {'region':<14} {'capacity':<8} {'USD/month':>12} {'USD/hour':>10} "
        f"{'full USD/month':>15} {'out tok/s':>10} {'USD/1M out tok':>15}"
    )
    rows = [head]
    for r in reports:
        tps = tokens.get(r.stack)
        per_m = per_million_output_tokens(r.hourly_usd, tps)
        rows.append(
            f"{r.stack:<12} {r.cloud:<7} {r.region:<14} {r.capacity:<8} {r.monthly_usd:>12,.2f} "
            f"{r.hourly_usd:>10.4f} {r.full_capacity_monthly_usd:>15,.2f} "
            f"{'-' if tps is None else f'{tps:g}':>10} {'-' if per_m is None else f'{per_m:.2f}':>15}"
        )
    if not tokens:
        rows.append(
            "USD/1M out tok needs a measured throughput: --compare FILE (from `failover --json compare`) "
            "or --output-tokens-per-second N"
        )
    return "\n".join(rows) + "\n"


def as_json(reports: Sequence[CostReport]) -> Any:
    """One stack: its report object (issue 11's shape); several: a list of them."""
    objects = [r.to_json() for r in reports]
    return objects[0] if len(objects) == 1 else objects


__all__ = ["ThroughputError", "as_json", "check_clouds", "per_million_output_tokens", "render", "throughputs"]
