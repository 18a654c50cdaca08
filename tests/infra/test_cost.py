"""Cost model: quantities from the real program under mocks, prices from the catalogue or config."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cost import HOURS_PER_MONTH, CostError, main, parse_overrides, price, usage_of
from infra.plan import main as plan_main
from infra.prices import PRICES, lookup
from offline.harness import ROOT, ProgramRun
from tests.support import PAIR_IDS, PAIRS, pair, shipped


def _quantities(run: ProgramRun) -> dict[str, float]:
    totals: dict[str, float] = {}
    for u in usage_of(run):
        totals[u.item] = totals.get(u.item, 0) + u.quantity
    return totals


def _fill_gaps(run: ProgramRun, usd: float = 1.5) -> dict[str, float]:
    """Overrides for exactly the items the catalogue lacks (what a user would have to set)."""
    return {u.item: usd for u in usage_of(run) if lookup(u.item, run.config.region) is None}


def test_every_catalogue_price_names_its_source_and_date_and_is_positive() -> None:
    for (item, _region), p in PRICES.items():
        assert item.split(":", 1)[0] in ("aws", "gcp", "azure"), item
        assert p.usd > 0, item
        assert p.source.startswith(("http://", "https://")), item
        assert p.date, item


def test_usage_of_aws_primary_matches_what_the_cluster_creates() -> None:
    quantities = _quantities(shipped("primary"))
    assert quantities["aws:instance/g6.2xlarge"] == 2  # nodeCount at full capacity
    assert quantities["aws:instance/m6i.large"] == 2  # system node group
    assert quantities["aws:nat-gateway"] == 3  # one per AZ
    # Three NAT EIPs plus the NLB's static Elastic IP in each of the three subnets.
    assert quantities["aws:public-ipv4"] == 6
    assert quantities["aws:nlb"] == 1
    assert quantities["aws:eks-control-plane"] == 1
    assert quantities["aws:ebs-gp3"] == 2 * 300 + 2 * 50
    # One probe per static address, each with two optional features (the fast (10 s) interval and
    # HTTPS), and the check over them.
    assert quantities["aws:route53-health-check-aws-endpoint"] == 3
    assert quantities["aws:route53-health-check-feature-aws-endpoint"] == 3 * 2
    assert quantities["aws:route53-health-check-calculated"] == 1


def test_usage_of_gcp_standby_counts_regional_system_nodes_nat_and_the_cross_cloud_pull() -> None:
    quantities = _quantities(shipped("standby"))
    assert quantities["gcp:instance/g2-standard-8"] == 1  # warm
    assert quantities["gcp:instance/e2-standard-4"] == 3  # one per zone of a regional pool
    assert quantities["gcp:cloud-nat-vm"] == 4
    assert quantities["gcp:gke-cluster-fee"] == 1
    assert quantities["gcp:static-external-ipv4"] == 1
    # Route 53 checks the GCP address: a non-AWS endpoint with the fast-interval and HTTPS features.
    assert quantities["aws:route53-health-check-non-aws-endpoint"] == 1
    assert quantities["aws:route53-health-check-feature-non-aws-endpoint"] == 2
    assert quantities["aws:internet-egress"] == 16  # the model pulled out of the primary's S3


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_every_pair_prices_with_no_zero_once_the_catalogue_gaps_are_overridden(
    primary: str, standby: str
) -> None:
    for run in pair(primary, standby):
        report = price(run, _fill_gaps(run))
        assert {line.item for line in report.lines} == {u.item for u in usage_of(run)}
        assert all(line.unit_usd > 0 and line.monthly_usd > 0 for line in report.lines)
        assert report.monthly_usd == pytest.approx(sum(line.monthly_usd for line in report.lines), abs=0.01)
        assert report.full_capacity_monthly_usd >= report.monthly_usd


@pytest.fixture
def no_g6_price(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogue without the shipped primary's GPU node: what a user on another size meets."""
    monkeypatch.delitem(PRICES, ("aws:instance/g6.2xlarge", "us-east-1"))


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("authority", ["aws", "gcp", "azure", "powerdns"])
def test_every_pair_and_authority_prices_from_the_catalogue_alone(
    primary: str, standby: str, authority: str
) -> None:
    from tests.support import combination

    for run in combination(primary, standby, authority):
        report = price(run)  # no priceOverrides: raises CostError on any missing price
        assert {line.item for line in report.lines} == {u.item for u in usage_of(run)}
        assert all(line.unit_usd > 0 and line.source for line in report.lines)


def test_the_shipped_pair_costs_what_the_catalogue_says() -> None:
    """The README's figures: the primary at full, the standby warm, the standby's premium."""
    primary, standby = price(shipped("primary")), price(shipped("standby"))
    g6, m6i = 0.9776 * HOURS_PER_MONTH, 0.096 * HOURS_PER_MONTH
    nodes = {line.item: line.monthly_usd for line in primary.lines}
    assert nodes["aws:instance/g6.2xlarge"] == pytest.approx(2 * g6, abs=0.01)
    assert nodes["aws:instance/m6i.large"] == pytest.approx(2 * m6i, abs=0.01)
    assert primary.capacity == "full" and primary.full_capacity_monthly_usd == primary.monthly_usd
    assert standby.capacity == "warm"
    assert standby.monthly_usd < standby.full_capacity_monthly_usd
    assert 0.4 < standby.monthly_usd / primary.monthly_usd < 0.8


def test_missing_price_is_an_error_naming_the_item_and_the_config_fix(no_g6_price: None) -> None:
    run = shipped("primary")
    with pytest.raises(CostError) as caught:
        price(run)
    message = str(caught.value)
    assert "aws:instance/g6.2xlarge" in message
    assert "priceOverrides" in message and "Pulumi.primary.yaml" in message


def test_override_replaces_the_catalogue_price_and_is_named_as_the_source() -> None:
    run = shipped("primary")
    overrides = {**_fill_gaps(run), "aws:nat-gateway": 0.03}
    lines = {line.item: line for line in price(run, overrides).lines}
    assert lines["aws:nat-gateway"].unit_usd == 0.03
    assert lines["aws:nat-gateway"].monthly_usd == round(3 * 0.03 * HOURS_PER_MONTH, 2)
    assert lines["aws:nat-gateway"].source == "config priceOverrides"
    assert "route53/pricing" in lines["aws:route53-health-check-aws-endpoint"].source


def test_warm_standby_full_capacity_runs_node_count_gpu_nodes() -> None:
    run = shipped("standby")
    report = price(run, {"gcp:instance/g2-standard-8": 2.0})
    assert run.config.capacity == "warm" and run.config.gpu.node_count == 2
    gpu_node = [line for line in report.lines if line.item == "gcp:instance/g2-standard-8"]
    assert [line.quantity for line in gpu_node] == [1]
    # One more GPU node at full: its hours (override 2.0), its 300 GB pd-balanced disk ($0.10)
    # and its Cloud NAT seat ($0.0014/h); the three system nodes do not change.
    extra = 2.0 * HOURS_PER_MONTH + 300 * 0.10 + 0.0014 * HOURS_PER_MONTH
    assert report.full_capacity_monthly_usd == pytest.approx(report.monthly_usd + extra, abs=0.05)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (
            '{"aws:nat-gateway": -1}',
            "'priceOverrides.aws:nat-gateway' must be a price in USD above 0 (got -1)",
        ),
        ('{"aws:nat-gateway": 0}', "above 0 (got 0)"),
        ('{"aws:nat-gateway": "cheap"}', "(got 'cheap')"),
        ('{"aws:nat-gateway": true}', "(got True)"),
        ('{"nat-gateway": 0.04}', "must name an item as '<cloud>:<item>' (got 'nat-gateway')"),
        ("[0.04]", "'priceOverrides' must be a map"),
        ("not json", "'priceOverrides' must be a map"),
    ],
)
def test_bad_price_overrides_are_errors_naming_the_key_and_the_fix(raw: str, fragment: str) -> None:
    with pytest.raises(CostError) as caught:
        parse_overrides(raw, "primary")
    assert fragment in str(caught.value)
    assert "Pulumi.primary.yaml" in str(caught.value) or "infra.cost" in str(caught.value)


def _workdir(tmp_path: Path, overrides: dict[str, Any] | None) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.standby.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    if overrides is not None:
        doc = yaml.safe_load((tmp_path / "Pulumi.primary.yaml").read_text())
        doc["config"]["inference-failover:priceOverrides"] = json.dumps(overrides)
        (tmp_path / "Pulumi.primary.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


def test_cli_json_has_exactly_the_documented_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = _workdir(tmp_path, _fill_gaps(shipped("primary"), usd=0.7))
    assert main(["primary", "--json", "--workdir", str(workdir)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report) == [
        "stack", "cloud", "region", "capacity", "hourly_usd", "monthly_usd", "items",
        "full_capacity_monthly_usd",
    ]  # fmt: skip
    assert all(
        list(item) == ["item", "quantity", "unit_usd", "monthly_usd", "source"] for item in report["items"]
    )
    assert (report["stack"], report["cloud"], report["region"], report["capacity"]) == (
        "primary", "aws", "us-east-1", "full",
    )  # fmt: skip
    assert report["full_capacity_monthly_usd"] == report["monthly_usd"]
    assert report["hourly_usd"] == pytest.approx(report["monthly_usd"] / HOURS_PER_MONTH, abs=1e-4)


def test_cli_without_a_price_exits_2_naming_the_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_g6_price: None
) -> None:
    assert main(["primary", "--workdir", str(_workdir(tmp_path, None))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no price for") and "aws:instance/g6.2xlarge" in err
    assert "Traceback" not in err


def test_offline_plan_ends_with_the_monthly_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = _workdir(tmp_path, _fill_gaps(shipped("primary"), usd=0.7))
    assert plan_main(["primary", "--workdir", str(workdir)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = price(shipped("primary"), _fill_gaps(shipped("primary"), usd=0.7))
    full = report.full_capacity_monthly_usd
    assert last == (
        f"monthly cost: ${report.monthly_usd:,.2f} at full capacity (${full:,.2f} at full); "
        "details: python -m infra.cost primary"
    )


def test_an_azure_stack_pays_for_its_image_cache_registry_and_aks_tier() -> None:
    quantities = _quantities(pair("aws", "azure")[1])
    assert quantities["azure:container-registry-standard"] == 1
    assert quantities["azure:aks-standard-tier"] == 1
    assert quantities["azure:instance/Standard_NC24ads_A100_v4"] == 1  # warm standby
    assert quantities["azure:instance/Standard_D4ds_v5"] >= 1
    # The Service's static public IP plus the one AKS creates for outbound traffic.
    assert quantities["azure:public-ipv4"] == 2


def test_every_dns_authority_prices_its_own_health_checks() -> None:
    from tests.support import combination

    azure = _quantities(combination("aws", "gcp", "azure")[1])
    # The standby's Traffic Manager endpoint: an external endpoint probed every 10 s.
    assert azure["azure:traffic-manager-health-check-external"] == 1
    assert azure["azure:traffic-manager-fast-interval-external"] == 1
    assert not any(item.startswith("aws:route53") for item in azure)
    gcp = _quantities(combination("aws", "gcp", "gcp")[1])
    assert gcp["gcp:cloud-dns-health-check"] == 1
    assert not any(item.startswith(("aws:route53", "azure:traffic")) for item in gcp)


def _standby_workdir(tmp_path: Path, budget: float) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.standby.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    doc = yaml.safe_load((tmp_path / "Pulumi.standby.yaml").read_text())
    doc["config"]["inference-failover:budgetMonthlyUsd"] = budget
    (tmp_path / "Pulumi.standby.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


def test_a_budget_below_the_warm_standbys_own_cost_is_a_warning_naming_both_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.cost_budget import budget_warning

    report = price(shipped("standby"))
    assert report.capacity == "warm" and report.monthly_usd > 500
    warning = budget_warning(report, 500)
    assert warning == (
        "stack config 'budgetMonthlyUsd' of stack 'standby' is $500.00 a month, below the warm "
        f"standby's own cost of ${report.monthly_usd:,.2f} a month (python -m infra.cost standby): "
        "its budget alert would fire every month; set budgetMonthlyUsd to at least "
        f"{math.ceil(report.monthly_usd)} in Pulumi.standby.yaml, or lower the cost"
    )
    # The shipped budget covers it, and no budget means no warning.
    assert budget_warning(report, 3000) is None and budget_warning(report, None) is None
    assert budget_warning(report, report.monthly_usd) is None

    workdir = _standby_workdir(tmp_path, 500)
    assert main(["standby", "--workdir", str(workdir)]) == 0
    out, err = capsys.readouterr()
    assert err == f"warning: {warning}\n" and out.strip().splitlines()[-1].startswith("stack 'standby'")
    assert plan_main(["standby", "--workdir", str(workdir)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2] == f"warning: {warning}" and lines[-1].startswith("monthly cost: $")


def test_a_budget_below_the_primarys_full_cost_names_full_capacity() -> None:
    from infra.cost_budget import budget_warning

    report = price(shipped("primary"))
    warning = budget_warning(report, 100)
    assert warning is not None
    assert "is $100.00 a month, below the stack's own cost at full capacity of $" in warning
