"""Observability config (issue 11): alert thresholds, notification targets, monthly budget.

Read by `infra.config.parse_config` with its problem collector, so these keys report their
problems together with every other key's, in the same style.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from components.observability.rules import AlertThresholds
from infra import settings

if TYPE_CHECKING:
    from infra.config import _Reader

KEYS: Final = settings.area_keys("observability")
"""The observability settings (infra/settings.py)."""
# Config key -> (AlertThresholds field, highest allowed value or None).
_THRESHOLD_KEYS: Final = {
    "alertErrorRatePercent": ("error_rate_percent", 100.0),
    "alertP95LatencyMs": ("p95_latency_ms", None),
    "alertP95TtftMs": ("p95_ttft_ms", None),
    "alertKvCacheUsagePercent": ("kv_cache_usage_percent", 100.0),
}
_EMAIL: Final = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$")
_HTTPS_URL: Final = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?$")
_BILLING_ACCOUNT: Final = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")


@dataclass(frozen=True)
class AlertingSettings:
    thresholds: AlertThresholds
    emails: tuple[str, ...]
    """Addresses that get every alert, budget and cost-anomaly notification."""
    webhooks: tuple[str, ...]
    """https:// URLs that get the same (SNS https subscription / Cloud Monitoring webhook
    channel / Azure action group webhook)."""
    budget_monthly_usd: float | None
    """Monthly budget of this stack's cloud account/project/resource group; None: no budget."""
    gcp_billing_account: str | None
    """GCP only: the billing account the budget is created on (a billing-account-level grant)."""


def _positive_number(r: _Reader, key: str, default: float, high: float | None) -> float:
    value = r.raw.get(key)
    if value is None or value.strip() == "":
        return default
    expected = "a number greater than 0" + (f" and at most {high:g}" if high is not None else "")
    try:
        number = float(value)
    except ValueError:
        r.problem(key, value, expected)
        return default
    if not math.isfinite(number) or number <= 0 or (high is not None and number > high):
        r.problem(key, value, expected)
        return default
    return number


def read_alerting(r: _Reader, cloud: str | None) -> AlertingSettings:
    values = {
        field: _positive_number(r, key, getattr(AlertThresholds, field), high)
        for key, (field, high) in _THRESHOLD_KEYS.items()
    }
    thresholds = AlertThresholds(**values)

    emails: list[str] = []
    webhooks: list[str] = []
    for target in r.string_list("alertNotify", []):
        if _EMAIL.match(target):
            emails.append(target)
        elif _HTTPS_URL.match(target):
            webhooks.append(target)
        else:
            r.problem(
                "alertNotify",
                target,
                "a list of email addresses or https:// webhook URLs",
                f"fix the entry in Pulumi.{r.stack}.yaml (plain http, chat handles and phone numbers "
                "are not accepted)",
            )

    budget: float | None = None
    if r.raw.get("budgetMonthlyUsd", "").strip():
        budget = _positive_number(r, "budgetMonthlyUsd", 0.0, None) or None
    account = r.text("gcpBillingAccount", required=False)
    if account is not None and not _BILLING_ACCOUNT.match(account):
        r.problem("gcpBillingAccount", account, "a billing account id such as 012345-6789AB-CDEF01")
        account = None
    if cloud == "gcp" and budget is not None and account is None and "gcpBillingAccount" not in r.raw:
        r.problem(
            "gcpBillingAccount",
            None,
            "set when budgetMonthlyUsd is set on a gcp stack (GCP budgets live on the billing account)",
            f"set it with `pulumi config set gcpBillingAccount 012345-6789AB-CDEF01 -s {r.stack}` "
            "(the deployer needs roles/billing.costsManager on that account) or remove budgetMonthlyUsd",
        )
    return AlertingSettings(thresholds, tuple(emails), tuple(webhooks), budget, account)
