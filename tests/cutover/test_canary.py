"""Canary verification between weight steps: fake model servers (own processes) degrade on cue.

The stacks are `SimulatedStacks` (real PowerDNS answers); each side's endpoint is a
`tests.fake_openai` process on its own loopback address, told through its control endpoint to
fail or slow down at a chosen moment of the shift.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from cutover import cli
from cutover.canary import ERROR_RATE_KEY, P95_KEY, Thresholds, thresholds_for
from cutover.errors import ExitCode, UsageError
from cutover.journal import Journal
from infra.config import ConfigError, parse_config
from tests.cutover.compare_support import FakeSide, fake_side
from tests.cutover.cutover_support import ROOT, SimulatedStacks, shipped_config
from tests.dns_server import PowerDns
from tests.dns_server import powerdns as powerdns  # noqa: PLC0414 (pytest fixture)

EXECUTE = ("execute", "--to", "standby", "--yes", "--soak-seconds", "0", "--skip-store-parity")
_hosts = itertools.count(200)


@pytest.fixture
def fakes(powerdns: PowerDns) -> Iterator[tuple[FakeSide, FakeSide, SimulatedStacks]]:
    with (
        fake_side("--host", f"127.0.1.{next(_hosts)}") as primary,
        fake_side("--host", f"127.0.1.{next(_hosts)}") as standby,
    ):
        zone = powerdns.new_zone()
        stacks = SimulatedStacks(powerdns, f"api.{zone}", {"primary": primary, "standby": standby})  # type: ignore[dict-item]
        yield primary, standby, stacks


def _run(stacks: SimulatedStacks, dns: PowerDns, journal: Path, *extra: str) -> int:
    argv = [
        "--workdir", str(ROOT), "--dns-server", dns.address, "--journal", str(journal),
        "--verify-timeout-seconds", "3", "--poll-interval-seconds", "0.05", "--dns-samples", "4",
        "--insecure-http",  # the fakes speak plain HTTP on loopback
        *EXECUTE, "--reason", "canary test", *extra,
    ]  # fmt: skip
    return cli.run(argv, ops=stacks)


def test_a_healthy_staged_shift_sends_canary_requests_after_every_weight_step(
    fakes: tuple[FakeSide, FakeSide, SimulatedStacks], powerdns: PowerDns, tmp_path: Path
) -> None:
    _, standby, stacks = fakes
    assert _run(stacks, powerdns, tmp_path / "j.json", "--steps", "5,50,100", "--canary-requests", "12") == 0
    journal = Journal.load(tmp_path / "j.json")
    assert journal is not None and journal.status == "completed"
    assert standby.stats()["requests"] == 3 * 12  # one burst per shift, all to the side gaining traffic
    checks = [
        c
        for s in ("shift-5", "shift-50", "shift-100")
        for c in journal.step_record(s)["verification"]["checks"]
    ]
    canary = [c for c in checks if "canary" in c["name"]]
    assert [c["name"] for c in canary] == ["standby canary"] * 3
    assert all(c["ok"] and "12 canary requests to standby: error rate 0 %" in c["detail"] for c in canary)


def test_an_error_rate_breach_at_the_second_step_rolls_the_shift_back(
    fakes: tuple[FakeSide, FakeSide, SimulatedStacks], powerdns: PowerDns, tmp_path: Path
) -> None:
    primary, standby, stacks = fakes

    def degrade(stack: str) -> None:  # the standby starts failing once it takes half the traffic
        if stack == "standby" and stacks.applied["standby"].get("trafficWeight") == "50":
            standby.control(error_rate=0.5)

    stacks.on_up = degrade
    code = _run(stacks, powerdns, tmp_path / "j.json", "--steps", "5,50,100")
    assert code == ExitCode.VERIFY_FAILED_ROLLED_BACK
    journal = Journal.load(tmp_path / "j.json")
    assert journal is not None and journal.status == "rolled-back"
    assert "shift-5" in journal.completed_step_ids() and "shift-50" not in journal.completed_step_ids()
    reason = journal.data["failure"]["reason"]
    assert reason.startswith("standby canary: 20 canary requests to standby: error rate")
    assert f"> {ERROR_RATE_KEY} 5 (HTTP 500 x" in reason
    # Traffic is back on the primary: both stacks' weights undone, as applied.
    assert stacks.weight_of("primary") == 100 and stacks.weight_of("standby") == 0
    assert primary.stats()["requests"] == 0  # canaries only go to the side gaining traffic


def test_a_p95_latency_breach_uses_the_target_stacks_threshold(
    fakes: tuple[FakeSide, FakeSide, SimulatedStacks], powerdns: PowerDns, tmp_path: Path
) -> None:
    _, standby, stacks = fakes
    stacks.config["standby"][P95_KEY] = "40"
    standby.control(latency_ms=80)
    assert (
        _run(stacks, powerdns, tmp_path / "j.json", "--canary-requests", "8")
        == ExitCode.VERIFY_FAILED_ROLLED_BACK
    )
    journal = Journal.load(tmp_path / "j.json")
    assert journal is not None
    reason = journal.data["failure"]["reason"]
    assert f"> {P95_KEY} 40" in reason and "error rate 0 %" in reason
    assert journal.status == "rolled-back" and stacks.weight_of("standby") == 0


@pytest.mark.parametrize(("key", "value"), [(ERROR_RATE_KEY, "0"), (ERROR_RATE_KEY, "150"), (P95_KEY, "-5")])
def test_a_bad_threshold_stops_the_run_before_anything_changes(  # noqa: PLR0917 (fixtures)
    fakes: tuple[FakeSide, FakeSide, SimulatedStacks],
    powerdns: PowerDns,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    value: str,
) -> None:
    _, standby, stacks = fakes
    stacks.config["standby"][key] = value
    assert _run(stacks, powerdns, tmp_path / "j.json") == ExitCode.USAGE
    err = capsys.readouterr().err
    assert f"stack config '{key}' must be a number above 0" in err and f"(got '{value}')" in err
    assert f"pulumi config set {key}" in err
    assert stacks.calls == [] and standby.stats()["requests"] == 0


def test_canary_off_sends_nothing(
    fakes: tuple[FakeSide, FakeSide, SimulatedStacks], powerdns: PowerDns, tmp_path: Path
) -> None:
    _, standby, stacks = fakes
    standby.control(error_rate=1.0)  # would breach, but the canary is off
    assert _run(stacks, powerdns, tmp_path / "j.json", "--canary-requests", "0") == 0
    assert standby.stats()["requests"] == 0


def test_thresholds_default_and_refuse_non_numbers() -> None:
    assert thresholds_for("s", lambda key: None) == Thresholds(5.0, 20000.0)
    assert thresholds_for("s", {ERROR_RATE_KEY: "1.5", P95_KEY: "900"}.get) == Thresholds(1.5, 900.0)
    with pytest.raises(UsageError) as caught:
        thresholds_for("standby", {P95_KEY: "fast"}.get)
    assert caught.value.message == f"stack config '{P95_KEY}' must be a number above 0 (got 'fast')"
    assert (
        caught.value.fix
        == f"set it with `pulumi config set {P95_KEY} 20000 -s standby` (or remove it for 20000)"
    )


@pytest.mark.parametrize(
    ("key", "value"), [(ERROR_RATE_KEY, "-1"), (ERROR_RATE_KEY, "101"), (P95_KEY, "0"), (P95_KEY, "x")]
)
def test_the_stack_program_refuses_bad_thresholds_too(key: str, value: str) -> None:
    raw = {**shipped_config("standby"), key: value}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "standby", frozenset({"apiKey"}))
    assert f"stack config '{key}' must be a number above 0" in str(caught.value)
