"""Observability config keys: defaults, and every bad input refused with the key, value and fix."""

from __future__ import annotations

from components.observability import AlertThresholds
from tests.infra.test_config import parse, problems


def test_shipped_stacks_alert_with_default_thresholds_and_have_budgets() -> None:
    primary, standby = parse("primary"), parse("standby")
    assert primary.alerting is not None and standby.alerting is not None
    assert primary.alerting.thresholds == AlertThresholds(5, 30000, 2000, 90)
    assert primary.alerting.emails == ("oncall@example.com",)
    assert primary.alerting.budget_monthly_usd == 12000
    assert (standby.alerting.budget_monthly_usd, standby.alerting.gcp_billing_account) == (
        3000,
        "012345-6789AB-CDEF01",
    )


def test_thresholds_and_targets_from_config() -> None:
    cfg = parse(
        "primary",
        alertErrorRatePercent=1.5,
        alertP95LatencyMs=9000,
        alertP95TtftMs=800,
        alertKvCacheUsagePercent=95,
        alertNotify=["a@example.com", "https://hooks.example.com/x?token=1"],
    )
    assert cfg.alerting is not None
    assert cfg.alerting.thresholds == AlertThresholds(1.5, 9000, 800, 95)
    assert cfg.alerting.emails == ("a@example.com",)
    assert cfg.alerting.webhooks == ("https://hooks.example.com/x?token=1",)


def test_refuses_zero_negative_non_numeric_and_over_100_percent_thresholds() -> None:
    found = problems(
        "primary",
        alertErrorRatePercent=0,
        alertP95LatencyMs=-100,
        alertP95TtftMs="fast",
        alertKvCacheUsagePercent=150,
    )
    assert found == [
        "stack config 'alertErrorRatePercent' must be a number greater than 0 and at most 100 (got '0'): "
        "set it in Pulumi.primary.yaml",
        "stack config 'alertP95LatencyMs' must be a number greater than 0 (got '-100'): "
        "set it in Pulumi.primary.yaml",
        "stack config 'alertP95TtftMs' must be a number greater than 0 (got 'fast'): "
        "set it in Pulumi.primary.yaml",
        "stack config 'alertKvCacheUsagePercent' must be a number greater than 0 and at most 100 "
        "(got '150'): set it in Pulumi.primary.yaml",
    ]


def test_refuses_an_unknown_notification_target_format_naming_the_key() -> None:
    found = problems("primary", alertNotify=["http://hooks.example.com", "slack:#oncall", "ops@example.com"])
    fix = "fix the entry in Pulumi.primary.yaml (plain http, chat handles and phone numbers are not accepted)"
    assert found == [
        f"stack config 'alertNotify' must be a list of email addresses or https:// webhook URLs "
        f"(got 'http://hooks.example.com'): {fix}",
        f"stack config 'alertNotify' must be a list of email addresses or https:// webhook URLs "
        f"(got 'slack:#oncall'): {fix}",
    ]


def test_refuses_a_zero_budget_and_a_gcp_budget_without_billing_account() -> None:
    assert problems("primary", budgetMonthlyUsd=0) == [
        "stack config 'budgetMonthlyUsd' must be a number greater than 0 (got '0'): "
        "set it in Pulumi.primary.yaml"
    ]
    found = problems("standby", gcpBillingAccount=None)
    assert found == [
        "stack config 'gcpBillingAccount' must be set when budgetMonthlyUsd is set on a gcp stack "
        "(GCP budgets live on the billing account) (got nothing): set it with "
        "`pulumi config set gcpBillingAccount 012345-6789AB-CDEF01 -s standby` "
        "(the deployer needs roles/billing.costsManager on that account) or remove budgetMonthlyUsd"
    ]
    assert problems("standby", gcpBillingAccount="my-billing") == [
        "stack config 'gcpBillingAccount' must be a billing account id such as 012345-6789AB-CDEF01 "
        "(got 'my-billing'): set it in Pulumi.standby.yaml"
    ]


def test_a_gcp_stack_without_budget_needs_no_billing_account() -> None:
    cfg = parse("standby", gcpBillingAccount=None, budgetMonthlyUsd=None)
    assert cfg.alerting is not None and cfg.alerting.budget_monthly_usd is None


def test_refuses_zero_negative_and_over_100_percent_canary_thresholds() -> None:
    found = problems("primary", canaryMaxErrorRatePercent=0, canaryMaxP95LatencyMs=-5)
    assert found == [
        "stack config 'canaryMaxErrorRatePercent' must be a number above 0 and at most 100 (got '0'): "
        "set it in Pulumi.primary.yaml",
        "stack config 'canaryMaxP95LatencyMs' must be a number above 0 (got '-5'): "
        "set it in Pulumi.primary.yaml",
    ]
    assert problems("primary", canaryMaxErrorRatePercent=101) == [
        "stack config 'canaryMaxErrorRatePercent' must be a number above 0 and at most 100 (got '101'): "
        "set it in Pulumi.primary.yaml",
    ]
