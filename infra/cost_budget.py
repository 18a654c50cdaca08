"""A budget below what the stack itself costs: a warning naming both numbers (issue 11).

`budgetMonthlyUsd` sets the monthly budget of the stack's account / project / resource group.
Set below the stack's own cost at its configured capacity (for a standby: warm), its 80 %
actual-spend alert would fire every month and stop meaning anything. This is a warning, not an
error: the budget may deliberately cover only part of a shared account, and the catalogue's list
prices may be above a negotiated rate.
"""

from __future__ import annotations

import math
from pathlib import Path

from infra.config import PROJECT
from infra.cost import CostReport
from offline.harness import ROOT, load_stack_config

BUDGET_KEY = "budgetMonthlyUsd"


def budget_warning(report: CostReport, budget_monthly_usd: float | None) -> str | None:
    """None when there is no budget or it covers the stack's own monthly cost."""
    if budget_monthly_usd is None or budget_monthly_usd >= report.monthly_usd:
        return None
    whose = (
        "the warm standby's own cost"
        if report.capacity == "warm"
        else f"the stack's own cost at {report.capacity} capacity"
    )
    return (
        f"stack config '{BUDGET_KEY}' of stack '{report.stack}' is ${budget_monthly_usd:,.2f} a month, "
        f"below {whose} of ${report.monthly_usd:,.2f} a month (python -m infra.cost {report.stack}): "
        f"its budget alert would fire every month; set {BUDGET_KEY} to at least "
        f"{math.ceil(report.monthly_usd)} in Pulumi.{report.stack}.yaml, or lower the cost"
    )


def configured_budget(stack: str, root: Path = ROOT) -> float | None:
    """The stack's budgetMonthlyUsd (already validated by the plan that priced it), or None."""
    config, _ = load_stack_config(stack, root)
    raw = str(config.get(f"{PROJECT}:{BUDGET_KEY}") or "").strip()
    return float(raw) if raw else None
