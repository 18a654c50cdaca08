"""Cost of ownership of an on-prem stack (issue 12): hardware amortised, power, operations.

A cloud stack's cost is list prices times what the plan creates (`infra.cost`, `infra.prices`).
Owned hardware has no list price: the stack file states what the site costs, and this module
turns it into the same report lines, so `python -m infra.cost` and `failover compare` put a
cloud and an on-prem side next to each other per month and per 1M output tokens.

    hardware   hardwareCostUsd / amortisationMonths               (the same at warm and full)
    power      kW x pue x 730 h x powerUsdPerKwh                  (kW: powerKw at full capacity,
                                                                   powerWarmKw at warm)
    operations operationsMonthlyUsd                               (the same at warm and full)

Warm versus full on owned hardware: the GPU nodes exist and are paid for either way (warm is a
replica count on existing nodes; nothing in the stack powers a node off), so only the power
changes. `powerKw` is the IT draw with every GPU node serving; `powerWarmKw` is the draw with
one replica serving and the other nodes idle. Unset, the warm draw is taken as the full draw:
an idle GPU server still draws a large share of its peak, and assuming less would understate
the standby. Measure it at the PDU (or set the figure after powering idle nodes down) to lower it.

Values are checked by `infra.config.parse_config` (through `read_ownership`), with every other
key's problems. Missing inputs are not a config error (a stack deploys without its economics)
but `infra.cost` refuses to price an on-prem stack without them, naming each item and key.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from infra.config import _Reader

ONPREM: Final = "onprem"
HOURS_PER_MONTH: Final = 730
"""The month the cloud prices use (infra.cost.HOURS_PER_MONTH), so both sides compare."""

KEYS: Final = frozenset(
    {
        "hardwareCostUsd",
        "amortisationMonths",
        "powerKw",
        "powerWarmKw",
        "powerUsdPerKwh",
        "pue",
        "operationsMonthlyUsd",
    }
)


@dataclass(frozen=True)
class Limit:
    low: float
    high: float
    low_inclusive: bool
    integer: bool
    example: str
    why: str
    """What the key means, in the words a user fixing it needs."""

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        low = f"at least {self.low:g}" if self.low_inclusive else f"above {self.low:g}"
        return f"{kind} {low} and at most {self.high:g} ({self.why})"

    def accepts(self, number: float) -> bool:
        above = number >= self.low if self.low_inclusive else number > self.low
        return above and number <= self.high and (not self.integer or number == int(number))


# key -> limits. The upper limits catch unit slips (cents for dollars, W for kW), not real sites:
# 100 GPU nodes (nodeCount's ceiling) at ~10 kW and ~$400k each stay well inside them.
LIMITS: Final[dict[str, Limit]] = {
    "hardwareCostUsd": Limit(
        0,
        1e9,
        False,
        False,
        "240000",
        "USD paid for the GPU nodes and their share of the site's network and storage",
    ),
    "amortisationMonths": Limit(1, 120, True, True, "48", "months the hardware cost is spread over"),
    "powerKw": Limit(
        0, 10_000, False, False, "6.4", "kW the stack's hardware draws with every GPU node serving"
    ),
    "powerWarmKw": Limit(0, 10_000, False, False, "4.2", "kW drawn at warm capacity; at most powerKw"),
    "powerUsdPerKwh": Limit(0, 5, False, False, "0.18", "USD per kWh, not cents"),
    "pue": Limit(1, 3, True, False, "1.4", "power usage effectiveness: facility power / IT power"),
    "operationsMonthlyUsd": Limit(
        0,
        10_000_000,
        True,
        False,
        "3500",
        "USD a month for staff time, support contracts, rack space and transit",
    ),
}

# What each report line needs; a missing key names its line.
ITEMS: Final = {
    "onprem:hardware-amortisation": ("hardwareCostUsd", "amortisationMonths"),
    "onprem:power": ("powerKw", "powerUsdPerKwh", "pue"),
    "onprem:operations": ("operationsMonthlyUsd",),
}


@dataclass(frozen=True)
class OwnershipInputs:
    """The validated cost-of-ownership keys of one stack; None where the key is not set."""

    hardware_cost_usd: float | None = None
    amortisation_months: int | None = None
    power_kw: float | None = None
    power_warm_kw: float | None = None
    power_usd_per_kwh: float | None = None
    pue: float | None = None
    operations_monthly_usd: float | None = None

    def value(self, key: str) -> float | None:
        return {
            "hardwareCostUsd": self.hardware_cost_usd,
            "amortisationMonths": self.amortisation_months,
            "powerKw": self.power_kw,
            "powerWarmKw": self.power_warm_kw,
            "powerUsdPerKwh": self.power_usd_per_kwh,
            "pue": self.pue,
            "operationsMonthlyUsd": self.operations_monthly_usd,
        }[key]

    def missing(self) -> dict[str, tuple[str, ...]]:
        """Report item -> the keys it lacks (powerWarmKw is optional)."""
        out = {item: tuple(k for k in keys if self.value(k) is None) for item, keys in ITEMS.items()}
        return {item: keys for item, keys in out.items() if keys}


def _number(r: _Reader, key: str) -> float | None:
    raw = r.raw.get(key)
    if raw is None or raw.strip() == "":
        return None
    limit = LIMITS[key]
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not limit.accepts(number):
        r.problem(
            key, raw, limit.describe(), f"set it with `pulumi config set {key} {limit.example} -s {r.stack}`"
        )
        return None
    return number


def read_ownership(r: _Reader, cloud: str | None) -> OwnershipInputs | None:
    """The keys of an on-prem stack (None for a cloud stack, where setting any is a problem)."""
    given = sorted(k for k in KEYS if (r.raw.get(k) or "").strip())
    if cloud is not None and cloud != ONPREM:
        for key in given:
            r.problem(
                key,
                r.raw[key],
                f"unset on a {cloud} stack (cost of ownership prices owned hardware, cloud: {ONPREM})",
                f"remove it from Pulumi.{r.stack}.yaml; a cloud's prices come from infra/prices.py "
                "and priceOverrides",
            )
        return None
    values = {key: _number(r, key) for key in LIMITS}
    months = values["amortisationMonths"]
    inputs = OwnershipInputs(
        hardware_cost_usd=values["hardwareCostUsd"],
        amortisation_months=int(months) if months is not None else None,
        power_kw=values["powerKw"],
        power_warm_kw=values["powerWarmKw"],
        power_usd_per_kwh=values["powerUsdPerKwh"],
        pue=values["pue"],
        operations_monthly_usd=values["operationsMonthlyUsd"],
    )
    full, warm = inputs.power_kw, inputs.power_warm_kw
    if full is not None and warm is not None and warm > full:
        r.problem(
            "powerWarmKw",
            r.raw["powerWarmKw"],
            f"at most powerKw ({full:g}): warm serves one replica on the same hardware",
            f"set the draw measured at warm capacity with `pulumi config set powerWarmKw {full:g} "
            f"-s {r.stack}`, or remove it to assume the full draw",
        )
    return inputs if cloud == ONPREM else None


class Item(NamedTuple):
    """One report line (infra.cost.Line has the same fields)."""

    item: str
    quantity: float
    unit_usd: float
    monthly_usd: float
    source: str


def missing_message(inputs: OwnershipInputs | None, stack: str) -> str | None:
    """Why an on-prem stack cannot be priced: every item without its inputs and the keys to set."""
    lacking = (inputs or OwnershipInputs()).missing()
    if not lacking:
        return None
    items = "; ".join(f"{item} needs {', '.join(keys)}" for item, keys in lacking.items())
    keys = [k for ks in lacking.values() for k in ks]
    commands = " && ".join(f"pulumi config set {k} {LIMITS[k].example} -s {stack}" for k in keys)
    return (
        f"no cost-of-ownership input for on-prem stack '{stack}': {items}; owned hardware has no list "
        f"price and is never priced as zero: set them from your own figures, e.g. `{commands}`"
    )


def items(inputs: OwnershipInputs, capacity: str) -> list[Item]:
    """The stack's owned-hardware lines at `capacity` (warm or full). All inputs must be set."""
    assert not inputs.missing(), "call missing_message first"
    hardware, months = inputs.hardware_cost_usd or 0.0, inputs.amortisation_months or 1
    full_kw, ops = inputs.power_kw or 0.0, inputs.operations_monthly_usd or 0.0
    pue, kwh_usd = inputs.pue or 1.0, inputs.power_usd_per_kwh or 0.0
    kw, kw_source = full_kw, f"config powerKw {full_kw:g}"
    if capacity == "warm":
        if inputs.power_warm_kw is not None:
            kw, kw_source = inputs.power_warm_kw, f"config powerWarmKw {inputs.power_warm_kw:g}"
        else:
            kw_source += " (powerWarmKw unset: warm assumed to draw the full power)"
    kwh = round(kw * pue * HOURS_PER_MONTH, 2)
    per_month = round(hardware / months, 2)
    return [
        Item(
            "onprem:hardware-amortisation",
            1,
            per_month,
            per_month,
            f"config hardwareCostUsd {hardware:g} / amortisationMonths {months}",
        ),
        Item(
            "onprem:power",
            kwh,
            kwh_usd,
            round(kwh * kwh_usd, 2),
            f"{kw_source} x pue {pue:g} x {HOURS_PER_MONTH} h (kWh); config powerUsdPerKwh",
        ),
        Item("onprem:operations", 1, ops, round(ops, 2), "config operationsMonthlyUsd"),
    ]


def monthly(lines: Iterable[Item]) -> float:
    return round(sum(line.monthly_usd for line in lines), 2)


__all__ = [
    "ITEMS",
    "KEYS",
    "LIMITS",
    "Item",
    "OwnershipInputs",
    "items",
    "missing_message",
    "monthly",
    "read_ownership",
]
