"""Cost of ownership of an on-prem stack: the keys, their limits and errors, and the priced lines."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from infra import ownership
from infra.config import _Reader
from infra.cost import HOURS_PER_MONTH, CostError, main, price
from infra.ownership import LIMITS, OwnershipInputs, items, missing_message, read_ownership
from infra.side_by_side import per_million_output_tokens
from offline.harness import ProgramRun
from tests.infra.test_config import problems
from tests.support import ONPREM_PAIR_IDS, ONPREM_PAIRS, pair, shipped

# A site's figures: 4 GPU servers at $60k, 4 years; 6.4 kW serving, 4.2 kW warm; $0.18/kWh; PUE 1.4.
SITE = {
    "hardwareCostUsd": "240000",
    "amortisationMonths": "48",
    "powerKw": "6.4",
    "powerWarmKw": "4.2",
    "powerUsdPerKwh": "0.18",
    "pue": "1.4",
    "operationsMonthlyUsd": "3500",
}


def _read(raw: dict[str, str], cloud: str | None = "onprem") -> tuple[OwnershipInputs | None, list[str]]:
    r = _Reader(raw, "standby")
    return read_ownership(r, cloud), [str(p) for p in r.problems]


def _inputs(**changes: str | None) -> OwnershipInputs:
    raw = {k: v for k, v in {**SITE, **changes}.items() if v is not None}
    inputs, found = _read(raw)
    assert found == [] and inputs is not None
    return inputs


# --- config -------------------------------------------------------------------------------------


def test_a_site_reads_into_typed_inputs() -> None:
    assert _inputs() == OwnershipInputs(240000.0, 48, 6.4, 4.2, 0.18, 1.4, 3500.0)


def test_unset_keys_are_none_never_zero() -> None:
    inputs, found = _read({})
    assert found == [] and inputs == OwnershipInputs()
    assert inputs.missing() == {
        "onprem:hardware-amortisation": ("hardwareCostUsd", "amortisationMonths"),
        "onprem:power": ("powerKw", "powerUsdPerKwh", "pue"),
        "onprem:operations": ("operationsMonthlyUsd",),
    }


@pytest.mark.parametrize("key", sorted(ownership.KEYS))
def test_every_key_on_a_cloud_stack_is_refused_naming_it_and_the_fix(key: str) -> None:
    assert problems("primary", **{key: SITE[key]}) == [
        f"stack config '{key}' must be unset on a aws stack (cost of ownership prices owned hardware, "
        f"cloud: onprem) (got '{SITE[key]}'): remove it from Pulumi.primary.yaml; a cloud's prices come "
        "from infra/prices.py and priceOverrides"
    ]


def _limit_cases() -> list[Any]:
    cases = []
    for key, limit in LIMITS.items():
        step = 1 if limit.integer else 0.001
        low_ok = limit.low if limit.low_inclusive else limit.low + step
        low_bad = limit.low - step if limit.low_inclusive else limit.low
        shown = (lambda v: str(round(v))) if limit.integer else repr
        cases.append(pytest.param(key, shown(low_ok), shown(low_bad), id=f"{key}-low"))
        cases.append(pytest.param(key, shown(limit.high), shown(limit.high + step), id=f"{key}-high"))
    return cases


@pytest.mark.parametrize(("key", "accepted", "refused"), _limit_cases())
def test_each_key_is_accepted_at_its_limit_and_refused_past_it(key: str, accepted: str, refused: str) -> None:
    # The warm draw is bounded by the full draw: keep the other one out of the way.
    base = {**SITE, "powerKw": "10000"} if key == "powerWarmKw" else {**SITE, "powerWarmKw": "0.001"}
    inputs, found = _read({**base, key: accepted})
    assert found == [] and inputs is not None
    assert inputs.value(key) == float(accepted)
    _, found = _read({**base, key: refused})
    limit = LIMITS[key]
    assert found == [
        f"stack config '{key}' must be {limit.describe()} (got '{refused}'): "
        f"set it with `pulumi config set {key} {limit.example} -s standby`"
    ]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hardwareCostUsd", "240k"),
        ("hardwareCostUsd", "nan"),
        ("powerKw", "inf"),
        ("pue", "-1.2"),
        ("amortisationMonths", "48.5"),
        ("powerUsdPerKwh", "18"),  # cents typed as dollars
        ("operationsMonthlyUsd", "-1"),
    ],
)
def test_bad_values_are_refused_naming_key_value_and_fix(key: str, value: str) -> None:
    inputs, found = _read({**SITE, key: value})
    assert len(found) == 1
    assert found[0].startswith(f"stack config '{key}' must be ")
    assert f"(got '{value}')" in found[0] and f"pulumi config set {key} " in found[0]
    assert inputs is not None and inputs.value(key) is None


def test_limit_descriptions_say_what_is_allowed() -> None:
    assert LIMITS["pue"].describe() == (
        "a number at least 1 and at most 3 (power usage effectiveness: facility power / IT power)"
    )
    assert LIMITS["amortisationMonths"].describe() == (
        "an integer at least 1 and at most 120 (months the hardware cost is spread over)"
    )
    assert LIMITS["powerUsdPerKwh"].describe() == "a number above 0 and at most 5 (USD per kWh, not cents)"


def test_operations_may_be_an_explicit_zero_but_never_a_missing_one() -> None:
    assert _inputs(operationsMonthlyUsd="0").operations_monthly_usd == 0.0
    assert _inputs(operationsMonthlyUsd=None).missing() == {"onprem:operations": ("operationsMonthlyUsd",)}


def test_warm_draw_above_the_full_draw_is_refused() -> None:
    _, found = _read({**SITE, "powerWarmKw": "7"})
    assert found == [
        "stack config 'powerWarmKw' must be at most powerKw (6.4): warm serves one replica on the same "
        "hardware (got '7'): set the draw measured at warm capacity with "
        "`pulumi config set powerWarmKw 6.4 -s standby`, or remove it to assume the full draw"
    ]
    assert _read({**SITE, "powerWarmKw": "6.4"})[1] == []


def test_a_stack_with_an_invalid_cloud_still_gets_its_values_checked() -> None:
    inputs, found = _read({"pue": "0.9"}, cloud=None)
    assert inputs is None
    assert [f.split(" (got")[0] for f in found] == [f"stack config 'pue' must be {LIMITS['pue'].describe()}"]


def test_pulumi_yaml_declares_every_key_in_one_block() -> None:
    import yaml

    from offline.harness import ROOT

    schema = list(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"])
    positions = sorted(schema.index(k) for k in ownership.KEYS)
    assert positions == list(range(positions[0], positions[0] + len(ownership.KEYS)))


# --- pricing ------------------------------------------------------------------------------------


def test_full_capacity_lines_are_amortisation_power_and_operations() -> None:
    lines = {i.item: i for i in items(_inputs(), "full")}
    assert lines["onprem:hardware-amortisation"].monthly_usd == 5000.0  # 240000 / 48
    kwh = round(6.4 * 1.4 * HOURS_PER_MONTH, 2)
    assert lines["onprem:power"].quantity == kwh == 6540.8
    assert lines["onprem:power"].unit_usd == 0.18
    assert lines["onprem:power"].monthly_usd == round(kwh * 0.18, 2) == 1177.34
    assert lines["onprem:operations"].monthly_usd == 3500.0
    assert ownership.monthly(lines.values()) == 9677.34
    assert (
        lines["onprem:hardware-amortisation"].source
        == "config hardwareCostUsd 240000 / amortisationMonths 48"
    )


def test_warm_pays_the_same_hardware_and_operations_and_the_warm_draw() -> None:
    full = {i.item: i for i in items(_inputs(), "full")}
    warm = {i.item: i for i in items(_inputs(), "warm")}
    for item in ("onprem:hardware-amortisation", "onprem:operations"):
        assert warm[item] == full[item]
    assert warm["onprem:power"].quantity == round(4.2 * 1.4 * HOURS_PER_MONTH, 2)
    assert warm["onprem:power"].source.startswith("config powerWarmKw 4.2 x pue 1.4 x 730 h")


def test_warm_without_a_measured_draw_assumes_the_full_draw_and_says_so() -> None:
    inputs = _inputs(powerWarmKw=None)
    warm = {i.item: i for i in items(inputs, "warm")}
    assert warm["onprem:power"] == {i.item: i for i in items(inputs, "full")}["onprem:power"]._replace(
        source=warm["onprem:power"].source
    )
    assert "powerWarmKw unset: warm assumed to draw the full power" in warm["onprem:power"].source


def test_missing_inputs_name_every_item_and_key_with_the_commands() -> None:
    message = missing_message(_inputs(pue=None, operationsMonthlyUsd=None), "standby")
    assert message == (
        "no cost-of-ownership input for on-prem stack 'standby': onprem:power needs pue; "
        "onprem:operations needs operationsMonthlyUsd; owned hardware has no list price and is never "
        "priced as zero: set them from your own figures, e.g. `pulumi config set pue 1.4 -s standby && "
        "pulumi config set operationsMonthlyUsd 3500 -s standby`"
    )
    assert missing_message(_inputs(), "standby") is None
    assert "hardwareCostUsd, amortisationMonths" in str(missing_message(None, "x"))


def _onprem(run: ProgramRun, inputs: OwnershipInputs | None, capacity: str = "warm") -> ProgramRun:
    """The shipped standby's run as if it were on-prem (resources of the cloud dropped)."""
    cfg = dataclasses.replace(run.config, cloud="onprem", ownership=inputs, capacity=capacity)  # type: ignore[arg-type]
    return dataclasses.replace(run, config=cfg, resources=[])


def test_cost_model_prices_an_onprem_stack_at_its_capacity_and_at_full() -> None:
    run = _onprem(shipped("standby"), _inputs())
    report = price(run)
    assert [line.item for line in report.lines] == [
        "onprem:hardware-amortisation",
        "onprem:power",
        "onprem:operations",
        "aws:internet-egress",  # the standby still pulls the model out of the primary's S3
    ]
    warm_power = round(round(4.2 * 1.4 * 730, 2) * 0.18, 2)
    assert report.monthly_usd == round(5000 + warm_power + 3500 + 16 * 0.09, 2)
    assert report.full_capacity_monthly_usd == round(5000 + 1177.34 + 3500 + 16 * 0.09, 2)
    assert report.hourly_usd == round(report.monthly_usd / HOURS_PER_MONTH, 4)


def test_cost_model_refuses_an_onprem_stack_without_its_inputs() -> None:
    with pytest.raises(CostError) as caught:
        price(_onprem(shipped("standby"), None))
    assert str(caught.value).startswith("no cost-of-ownership input for on-prem stack 'standby'")
    with pytest.raises(CostError, match="onprem:power needs powerKw"):
        price(_onprem(shipped("standby"), _inputs(powerKw=None, powerWarmKw=None)))


def test_a_standby_replicating_from_an_onprem_primary_pays_no_cloud_egress() -> None:
    from infra.cost import usage_of

    run = shipped("standby")
    cfg = dataclasses.replace(run.config, primary_cloud="onprem")  # type: ignore[arg-type]
    assert not [u for u in usage_of(dataclasses.replace(run, config=cfg)) if "egress" in u.item]
    assert [u.item for u in usage_of(run) if "egress" in u.item] == ["aws:internet-egress"]


# --- side by side -------------------------------------------------------------------------------


def _workdir(tmp_path: Path) -> Path:
    from tests.infra.test_cost import _fill_gaps, _workdir

    workdir = _workdir(tmp_path, _fill_gaps(shipped("primary"), usd=0.7))
    import yaml

    doc = yaml.safe_load((workdir / "Pulumi.standby.yaml").read_text())
    doc["config"]["inference-failover:priceOverrides"] = json.dumps(_fill_gaps(shipped("standby"), usd=0.9))
    (workdir / "Pulumi.standby.yaml").write_text(yaml.safe_dump(doc))
    return workdir


def test_cli_puts_stacks_side_by_side_with_cost_per_1m_output_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = _workdir(tmp_path)
    compare = tmp_path / "compare.json"
    compare.write_text(
        json.dumps(
            {
                "sides": {
                    "primary": {"stack": "primary", "output_tokens_per_second": 2400.0},
                    "standby": {"stack": "standby", "output_tokens_per_second": 1200.0},
                }
            }
        )
    )
    assert main(["primary", "standby", "--workdir", str(workdir), "--compare", str(compare)]) == 0
    out = capsys.readouterr().out
    table = out[out.index("stack        cloud") :].splitlines()
    assert table[0].split() == [
        "stack", "cloud", "region", "capacity", "USD/month", "USD/hour", "full", "USD/month", "out", "tok/s",
        "USD/1M", "out", "tok",
    ]  # fmt: skip
    assert main(["primary", "standby", "--workdir", str(workdir), "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["stack"] for r in reports] == ["primary", "standby"]
    for row, report, tps in zip(table[1:], reports, (2400.0, 1200.0), strict=True):
        cells = row.split()
        assert cells[:4] == [report["stack"], report["cloud"], report["region"], report["capacity"]]
        assert cells[4] == f"{report['monthly_usd']:,.2f}" and cells[5] == f"{report['hourly_usd']:.4f}"
        assert cells[7] == f"{tps:g}"
        assert float(cells[8]) == pytest.approx(report["hourly_usd"] / (tps * 3600) * 1e6, abs=0.01)


def test_cli_side_by_side_without_throughput_says_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["primary", "standby", "--workdir", str(_workdir(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "USD/1M out tok needs a measured throughput: --compare FILE" in out
    assert main(["standby", "--workdir", str(_workdir(tmp_path)), "--output-tokens-per-second", "1000"]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1].split()
    assert row[0] == "standby" and row[7] == "1000"


@pytest.mark.parametrize(
    ("content", "flags", "fragment"),
    [
        ("not json", (), "cannot be read as JSON"),
        ('{"sides": []}', (), "has no 'sides' map"),
        (
            '{"sides": {"primary": {"output_tokens_per_second": 5}}}',
            (),
            "no output_tokens_per_second for stack 'standby'",
        ),
        (None, ("--output-tokens-per-second", "0"), "--output-tokens-per-second must be above 0 (got 0)"),
    ],
)
def test_bad_throughput_inputs_are_errors_naming_the_flag_and_the_fix(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    flags: tuple[str, ...],
    fragment: str,
) -> None:
    argv = ["primary", "standby", "--workdir", str(tmp_path), *flags]
    if content is not None:
        (tmp_path / "c.json").write_text(content)
        argv += ["--compare", str(tmp_path / "c.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and "Traceback" not in err


def test_per_million_is_the_same_formula_as_failover_compare() -> None:
    assert per_million_output_tokens(3.6, 1000) == 1.0
    assert per_million_output_tokens(3.6, 0) is None and per_million_output_tokens(3.6, None) is None


# --- end to end: a real on-prem stack file, the offline plan, compare against local fakes ---------

SITE_STANDBY = {
    "cloud": "onprem",
    "region": "fra-dc1",
    "kubeContext": "fra-dc1",
    "gpuType": "l40s",
    "gpuNodeSelector": ["nvidia.com/gpu.product=NVIDIA-L40S"],
    "gpuTaint": "nvidia.com/gpu=present:NoSchedule",
    "exposure": "loadBalancerAddress",
    "exposureAddress": "203.0.113.10",
    "imageRegistry": "registry.fra-dc1.example.net:5000",
    "servingImage": "registry.fra-dc1.example.net:5000/vllm/vllm-openai:v0.11.0"
    "@sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c",
    "s3Endpoint": "https://s3.fra-dc1.example.net:8333",
    "s3CredentialsPath": "s3/fra-dc1/deployer",
    "s3ReadCredentialsPath": "s3/fra-dc1/reader",
    "vaultAddress": "https://openbao.fra-dc1.example.net:8200",
    "serviceAccountIssuer": "https://k8s.fra-dc1.example.net",
    "tlsCertificate": "provided",
    # What `pulumi config set --secret` leaves in the file: ciphertext the offline plan cannot read.
    "tlsCertificateChain": {"secure": "v1:ciphertext"},
    "tlsPrivateKey": {"secure": "v1:ciphertext"},
    # The README's worked example.
    "hardwareCostUsd": 60000,
    "amortisationMonths": 48,
    "powerKw": 1.6,
    "powerWarmKw": 1.1,
    "powerUsdPerKwh": 0.18,
    "pue": 1.4,
    "operationsMonthlyUsd": 1500,
}
CLOUD_ONLY = (
    "kubernetesApiAllowedCidrs",
    "alertNotify",
    "budgetMonthlyUsd",
    "gcpBillingAccount",
    "gcpProject",
)


def site_standby_workdir(directory: Path, **changes: Any) -> Path:
    """The shipped pair with the standby moved to the site fra-dc1, as the README's example."""
    import shutil

    import yaml

    from offline.harness import ROOT

    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.standby.yaml"):
        shutil.copy(ROOT / name, directory / name)
    doc = yaml.safe_load((directory / "Pulumi.standby.yaml").read_text())
    config = doc["config"]
    for key in CLOUD_ONLY:
        config.pop(f"inference-failover:{key}", None)
    kubeconfig = str(ROOT / "tests" / "data" / "onprem-kubeconfig.yaml")
    for key, value in {**SITE_STANDBY, "kubeconfigPath": kubeconfig, **changes}.items():
        if value is None:
            config.pop(f"inference-failover:{key}", None)
        else:
            config[f"inference-failover:{key}"] = value
    (directory / "Pulumi.standby.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return directory


def test_an_onprem_standby_file_prices_warm_and_full_through_the_offline_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.cost import price_stack

    report = price_stack("standby", site_standby_workdir(tmp_path))
    lines = {line.item: line for line in report.lines}
    assert (report.cloud, report.region, report.capacity) == ("onprem", "fra-dc1", "warm")
    assert lines["onprem:hardware-amortisation"].monthly_usd == 1250.0
    assert lines["onprem:power"].quantity == round(1.1 * 1.4 * 730, 2)
    assert lines["onprem:operations"].monthly_usd == 1500.0
    # Full capacity differs by the power only: (1.6 - 1.1) kW x 1.4 x 730 h x $0.18.
    extra = round(round(1.6 * 1.4 * 730, 2) * 0.18, 2) - lines["onprem:power"].monthly_usd
    assert report.full_capacity_monthly_usd == pytest.approx(report.monthly_usd + extra, abs=0.01)
    assert not any(item.startswith(("gcp:", "azure:")) for item in lines)  # nothing of the old cloud


def test_an_onprem_stack_without_its_figures_is_an_error_naming_each_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = site_standby_workdir(tmp_path, pue=None, operationsMonthlyUsd=None)
    assert main(["standby", "--workdir", str(workdir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no cost-of-ownership input for on-prem stack 'standby'")
    assert "onprem:power needs pue" in err and "onprem:operations needs operationsMonthlyUsd" in err
    assert "Traceback" not in err


def test_compare_prices_an_onprem_side_from_its_cost_of_ownership(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cutover import cli
    from infra.cost import price_stack
    from tests.cutover.compare_support import fake_side, outputs_file

    workdir = site_standby_workdir(tmp_path)
    with fake_side() as primary, fake_side() as standby:
        argv = [
            "--workdir", str(workdir),
            "--primary-outputs", str(outputs_file(tmp_path, "primary", primary.url, cloud="aws")),
            "--standby-outputs", str(outputs_file(tmp_path, "standby", standby.url, cloud="onprem")),
            "compare", "--json", "--requests", "20",
        ]  # fmt: skip
        assert cli.run(argv) == 0, capsys.readouterr().err
    sides = json.loads(capsys.readouterr().out)["sides"]
    site = price_stack("standby", workdir)
    s = sides["standby"]
    assert (s["cloud"], s["hourly_usd"], s["monthly_usd"]) == ("onprem", site.hourly_usd, site.monthly_usd)
    assert s["cost_note"] == "python -m infra.cost standby (warm)"
    # compare reports the cost to 4 decimals (and the throughput to 2): half a unit of the last digit.
    assert s["cost_per_1m_output_tokens_usd"] == pytest.approx(
        site.hourly_usd / (s["output_tokens_per_second"] * 3600) * 1e6, rel=1e-3, abs=5e-5
    )
    assert sides["primary"]["hourly_usd"] == price_stack("primary", workdir).hourly_usd
    # The same measured throughput gives infra.cost's side-by-side USD per 1M output tokens.
    compare_file = tmp_path / "compare.json"
    compare_file.write_text(json.dumps({"sides": sides}))
    assert main(["primary", "standby", "--workdir", str(workdir), "--compare", str(compare_file)]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1].split()
    assert row[:4] == ["standby", "onprem", "fra-dc1", "warm"]
    assert float(row[8]) == pytest.approx(s["cost_per_1m_output_tokens_usd"], abs=0.01)


def test_a_compare_file_from_another_project_is_refused_naming_both_clouds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compare = tmp_path / "compare.json"
    compare.write_text(
        json.dumps(
            {
                "sides": {
                    "primary": {"stack": "primary", "cloud": "aws", "output_tokens_per_second": 900.0},
                    "standby": {"stack": "standby", "cloud": "onprem", "output_tokens_per_second": 400.0},
                }
            }
        )
    )
    # The shipped standby is on gcp: these figures were measured against another project's standby.
    assert main(["primary", "standby", "--workdir", str(_workdir(tmp_path)), "--compare", str(compare)]) == 2
    err = capsys.readouterr().err
    assert "measured stack 'standby' on onprem, but Pulumi.standby.yaml here runs it on gcp" in err
    assert "pass --workdir" in err


@pytest.mark.parametrize(("primary", "standby"), ONPREM_PAIRS, ids=ONPREM_PAIR_IDS)
def test_every_pair_with_a_site_prices_both_sides_from_the_catalogue_and_the_sites_figures(
    primary: str, standby: str
) -> None:
    for planned in pair(primary, standby):
        run = planned
        if planned.config.cloud == "onprem":
            with pytest.raises(CostError, match="no cost-of-ownership input"):
                price(planned)
            run = dataclasses.replace(
                planned, config=dataclasses.replace(planned.config, ownership=_inputs())
            )
        report = price(run)  # no priceOverrides: every cloud item is in the catalogue
        items = [line.item for line in report.lines]
        owned = [i for i in items if i.startswith("onprem:")]
        assert owned == (list(ownership.ITEMS) if run.config.cloud == "onprem" else [])
        # A site primary's transit is in its operations: no egress line for a standby reading it.
        assert not any(i.endswith("internet-egress") for i in items) or run.config.primary_cloud != "onprem"
        assert all(line.monthly_usd > 0 for line in report.lines)
        assert report.full_capacity_monthly_usd >= report.monthly_usd
