"""The cutover end to end: real HTTP model servers, real PowerDNS answers, journaled runs.

Stack changes go through `SimulatedStacks` (tests/cutover/cutover_support.py), whose `up` republishes the
service record on PowerDNS the way each stack's DNS component would, so every verification reads
real DNS answers. Config starts as the shipped Pulumi.<stack>.yaml files.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from cutover.errors import ExitCode
from cutover.journal import Journal, run_lock
from tests.cutover.cutover_support import InjectedCrash, Sides, answers, run, shipped_config
from tests.cutover.cutover_support import sides as sides  # noqa: PLC0414 (pytest fixture)
from tests.dns_server import powerdns as powerdns  # noqa: PLC0414 (pytest fixture)

# The behaviours below are checked on a three-step plan (crash points count its steps); the CLI's
# default, 5,25,50,100, is tested in test_cutover_cli.py.
STEPS = ("--steps", "10,50,100")
EXECUTE = ("execute", "--to", "standby", *STEPS, "--yes", "--soak-seconds", "0", "--skip-store-parity")


def test_execute_to_standby_moves_dns_to_standby_and_demotes_primary(sides: Sides, tmp_path: Path) -> None:
    assert answers(sides) == {sides.primary.host}

    code = run(sides, tmp_path / "j.json", *EXECUTE)

    assert code == ExitCode.OK
    stacks = sides.stacks
    assert stacks.config["standby"]["capacity"] == "full"
    assert stacks.config["primary"]["capacity"] == "warm"
    assert stacks.config["standby"]["trafficWeight"] == "100"
    assert stacks.config["primary"]["trafficWeight"] == "0"
    assert stacks.config["primary"]["dnsRouting"] == stacks.config["standby"]["dnsRouting"] == "weighted"
    assert answers(sides) == {sides.standby.host}
    journal = Journal.load(tmp_path / "j.json")
    assert journal is not None and journal.status == "completed"
    assert journal.completed_step_ids() == [
        "precheck",
        "scale-up",
        "routing",
        "shift-10",
        "shift-50",
        "shift-100",
        "demote",
    ]


def test_every_shift_raises_the_target_before_lowering_the_source(sides: Sides, tmp_path: Path) -> None:
    assert run(sides, tmp_path / "j.json", *EXECUTE) == ExitCode.OK

    weights = [c for c in sides.stacks.calls if c[0] == "set" and c[2] == "trafficWeight"]
    order = [c for c in sides.stacks.calls if c[0] in ("set", "up")]
    assert [(c[1], c[3]) for c in weights] == [
        ("standby", "10"),
        ("primary", "90"),
        ("standby", "50"),
        ("primary", "50"),
        ("standby", "100"),
        ("primary", "0"),
    ]
    # The rising side is applied before the falling side is even changed.
    first_standby_up_after_10 = order.index(
        ("up", "standby"), order.index(("set", "standby", "trafficWeight", "10"))
    )
    assert first_standby_up_after_10 < order.index(("set", "primary", "trafficWeight", "90"))


def test_dry_run_lists_config_changes_and_applies_and_touches_nothing(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = json.dumps(sides.stacks.config, sort_keys=True)

    code = run(sides, tmp_path / "j.json", "--json", *EXECUTE, "--dry-run")

    assert code == ExitCode.OK
    assert sides.stacks.calls == []
    assert json.dumps(sides.stacks.config, sort_keys=True) == before
    assert not (tmp_path / "j.json").exists()
    out = json.loads(capsys.readouterr().out)
    actions = [a for step in out["plan"] for a in step["actions"]]
    assert "pulumi config set standby: capacity warm -> full" in actions
    assert "pulumi config set standby: trafficWeight (unset) -> 10" in actions
    assert "pulumi config set primary: trafficWeight (unset) -> 90" in actions
    assert "pulumi config set primary: capacity full -> warm" in actions
    assert actions.count("pulumi up -s standby") == 5
    assert actions.count("pulumi up -s primary") == 5
    assert {c["name"]: c["ok"] for c in out["prechecks"]} == {
        "standby serving": True,
        "model parity": True,
        "store parity": True,
    }


def test_precheck_failure_changes_nothing_and_exits_precheck_failed(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sides.standby.healthy = False

    code = run(sides, tmp_path / "j.json", *EXECUTE)

    assert code == ExitCode.PRECHECK_FAILED
    assert sides.stacks.calls == []
    err = capsys.readouterr().err
    assert "/health answered 503, expected 200" in err
    assert "fix:" in err


def test_failed_verification_rolls_back_to_the_previous_weights(sides: Sides, tmp_path: Path) -> None:
    shipped = {stack: dict(cfg) for stack, cfg in sides.stacks.config.items()}

    def break_standby_at_50(stack: str) -> None:
        if sides.stacks.applied["standby"].get("trafficWeight") == "50":
            sides.standby.healthy = False

    sides.stacks.on_up = break_standby_at_50

    code = run(sides, tmp_path / "j.json", *EXECUTE, verify_timeout_seconds=0.5)

    assert code == ExitCode.VERIFY_FAILED_ROLLED_BACK
    assert sides.stacks.config == shipped
    assert sides.stacks.applied == shipped
    assert answers(sides) == {sides.primary.host}
    journal = Journal.load(tmp_path / "j.json")
    assert journal is not None and journal.status == "rolled-back"
    assert journal.data["failure"]["step"] == "shift-50"
    # 14 calls reach shift-50; then traffic goes straight back to 100/0 (primary raised first,
    # no stop at 10 %), then routing and the scale-up are undone, newest first.
    assert sides.stacks.calls[14:] == [
        ("rm", "primary", "trafficWeight"),
        ("up", "primary"),
        ("rm", "standby", "trafficWeight"),
        ("up", "standby"),
        ("rm", "primary", "dnsRouting"),
        ("up", "primary"),
        ("rm", "standby", "dnsRouting"),
        ("up", "standby"),
        ("set", "standby", "capacity", "warm"),
        ("up", "standby"),
    ]


@pytest.mark.parametrize(
    ("crash_at", "where"),
    [
        (2, "between scale-up and routing (a step boundary)"),
        (9, "between a config change and its apply"),
        (12, "between the target's apply and the source's change in one shift"),
        (18, "before the demotion"),
    ],
)
def test_crash_then_resume_applies_each_change_exactly_once(
    sides: Sides, tmp_path: Path, crash_at: int, where: str
) -> None:
    journal_path = tmp_path / "j.json"
    sides.stacks.crash_at = crash_at

    with pytest.raises(InjectedCrash):
        run(sides, journal_path, *EXECUTE)
    done_before = len(sides.stacks.calls)
    assert done_before == crash_at, where

    assert run(sides, journal_path, "resume") == ExitCode.OK

    calls = sides.stacks.calls
    assert Counter(c for c in calls if c[0] == "up") == {("up", "standby"): 5, ("up", "primary"): 5}
    sets = [c for c in calls if c[0] == "set"]
    assert len(sets) == len(set(sets)), f"a config change was repeated after resuming {where}"
    assert sides.stacks.config["standby"]["trafficWeight"] == "100"
    assert sides.stacks.config["primary"]["capacity"] == "warm"
    assert answers(sides) == {sides.standby.host}
    journal = Journal.load(journal_path)
    assert journal is not None and journal.status == "completed"


def test_rerunning_execute_after_a_crash_resumes_the_same_run(sides: Sides, tmp_path: Path) -> None:
    journal_path = tmp_path / "j.json"
    sides.stacks.crash_at = 6
    with pytest.raises(InjectedCrash):
        run(sides, journal_path, *EXECUTE)
    first = Journal.load(journal_path)
    assert first is not None

    assert run(sides, journal_path, *EXECUTE) == ExitCode.OK

    again = Journal.load(journal_path)
    assert again is not None and again.run_id == first.run_id and again.status == "completed"
    assert sides.stacks.ups == {"standby": 5, "primary": 5}


def test_a_different_unfinished_run_is_a_journal_conflict(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_path = tmp_path / "j.json"
    sides.stacks.crash_at = 4
    with pytest.raises(InjectedCrash):
        run(sides, journal_path, *EXECUTE)
    calls = len(sides.stacks.calls)

    code = run(
        sides, journal_path, "execute", "--to", "standby", "--steps", "25,100", "--yes", "--soak-seconds", "0"
    )

    assert code == ExitCode.JOURNAL_CONFLICT
    assert len(sides.stacks.calls) == calls
    assert "failover resume" in capsys.readouterr().err


def test_rollback_undoes_a_completed_cutover_back_to_the_shipped_config(sides: Sides, tmp_path: Path) -> None:
    journal_path = tmp_path / "j.json"
    assert run(sides, journal_path, *EXECUTE) == ExitCode.OK

    assert run(sides, journal_path, "rollback") == ExitCode.OK

    for stack in ("primary", "standby"):
        assert sides.stacks.config[stack] == shipped_config(stack)
        assert sides.stacks.applied[stack] == shipped_config(stack)
    assert answers(sides) == {sides.primary.host}
    # A second rollback has nothing left to do.
    calls = len(sides.stacks.calls)
    assert run(sides, journal_path, "rollback") == ExitCode.OK
    assert len(sides.stacks.calls) == calls


def test_failback_after_cutover_returns_to_the_shipped_config(sides: Sides, tmp_path: Path) -> None:
    assert run(sides, tmp_path / "out.json", *EXECUTE) == ExitCode.OK

    code = run(
        sides, tmp_path / "out.json", "failback", "--yes", "--soak-seconds", "0", "--skip-store-parity"
    )

    assert code == ExitCode.OK
    for stack in ("primary", "standby"):
        assert sides.stacks.applied[stack] == shipped_config(stack)
    assert answers(sides) == {sides.primary.host}


def test_drill_goes_to_standby_and_back_and_reports_rto(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen_on_standby: list[set[str]] = []
    sides.stacks.on_up = lambda stack: (
        seen_on_standby.append(answers(sides, 4)) if sides.stacks.weight_of("primary") == 0 else None
    )

    code = run(
        sides,
        tmp_path / "d.json",
        "--json",
        "drill",
        "--yes",
        "--soak-seconds",
        "0",
        "--hold-seconds",
        "0.2",
        "--skip-store-parity",
    )

    assert code == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "completed"
    assert set(report["timings"]["rto_seconds"]) == {"cutover", "failback"}
    assert report["timings"]["steps_seconds"]["cutover/hold"] >= 0.2
    assert {sides.standby.host} in seen_on_standby
    for stack in ("primary", "standby"):
        assert sides.stacks.applied[stack] == shipped_config(stack)
    assert answers(sides) == {sides.primary.host}


def test_status_reports_both_sides_and_the_dns_answer(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(sides, tmp_path / "j.json", "status", "--json", "--skip-store-parity")

    assert code == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["sides"]["primary"]["probe"]["models"] == ["llama-3.1-8b-instruct"]
    assert report["sides"]["standby"]["config"]["capacity"] == "warm"
    assert report["dns"]["addresses"] == [sides.primary.host]
    assert report["dns"]["sides_seen"] == ["primary"]
    assert report["model_parity"] is True


def test_status_exits_unhealthy_when_the_standby_serves_another_model(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sides.standby.model = "mistral-7b-instruct"

    code = run(sides, tmp_path / "j.json", "status", "--skip-store-parity")

    assert code == ExitCode.UNHEALTHY
    out = capsys.readouterr().out
    assert "lists mistral-7b-instruct, not llama-3.1-8b-instruct" in out


def test_a_second_run_while_one_holds_the_lock_is_refused(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_path = tmp_path / "j.json"
    with run_lock(journal_path):
        code = run(sides, journal_path, *EXECUTE)

    assert code == ExitCode.STACK_LOCKED
    assert sides.stacks.calls == []
    err = capsys.readouterr().err
    assert f"another failover run holds {journal_path}.lock (pid " in err
    assert "`failover resume` is not the fix" in err


def test_dry_run_reports_a_conflicting_unfinished_run(sides: Sides, tmp_path: Path) -> None:
    journal_path = tmp_path / "j.json"
    sides.stacks.crash_at = 3
    with pytest.raises(InjectedCrash):
        run(sides, journal_path, *EXECUTE)

    code = run(sides, journal_path, "execute", "--to", "primary", "--dry-run", "--skip-store-parity")

    assert code == ExitCode.JOURNAL_CONFLICT
    assert len(sides.stacks.calls) == 3


def test_a_rollback_interrupted_by_a_crash_is_finished_by_resume_without_repeats(
    sides: Sides, tmp_path: Path
) -> None:
    journal_path = tmp_path / "j.json"
    shipped = {stack: dict(cfg) for stack, cfg in sides.stacks.config.items()}
    sides.stacks.on_up = lambda stack: setattr(
        sides.standby, "healthy", sides.stacks.applied["standby"].get("trafficWeight") != "50"
    )
    sides.stacks.crash_at = 16  # inside the automatic rollback, after the primary got its weight back

    with pytest.raises(InjectedCrash):
        run(sides, journal_path, *EXECUTE, verify_timeout_seconds=0.3)
    interrupted = Journal.load(journal_path)
    assert interrupted is not None and interrupted.status == "rolling-back"

    assert run(sides, journal_path, "resume") == ExitCode.OK

    assert sides.stacks.calls[14:] == [
        ("rm", "primary", "trafficWeight"),
        ("up", "primary"),
        ("rm", "standby", "trafficWeight"),
        ("up", "standby"),
        ("rm", "primary", "dnsRouting"),
        ("up", "primary"),
        ("rm", "standby", "dnsRouting"),
        ("up", "standby"),
        ("set", "standby", "capacity", "warm"),
        ("up", "standby"),
    ]
    assert sides.stacks.applied == shipped
    finished = Journal.load(journal_path)
    assert finished is not None and finished.status == "rolled-back"


DRILL = ("drill", *STEPS, "--yes", "--soak-seconds", "0", "--hold-seconds", "0", "--skip-store-parity")


def test_drill_whose_failback_fails_verification_leaves_traffic_on_the_standby(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def primary_breaks_when_it_takes_traffic_back(stack: str) -> None:
        if stack == "primary" and sides.stacks.applied["primary"].get("trafficWeight") == "10":
            sides.primary.healthy = False

    sides.stacks.on_up = primary_breaks_when_it_takes_traffic_back

    code = run(sides, tmp_path / "d.json", *DRILL, verify_timeout_seconds=0.3)

    assert code == ExitCode.VERIFY_FAILED_ROLLED_BACK
    assert "traffic is on standby" in capsys.readouterr().err
    applied = sides.stacks.applied
    assert (applied["standby"]["trafficWeight"], applied["primary"]["trafficWeight"]) == ("100", "0")
    assert (applied["standby"]["capacity"], applied["primary"]["capacity"]) == ("full", "warm")
    assert answers(sides) == {sides.standby.host}


def test_drill_waits_on_standby_when_the_primary_fails_its_failback_precheck(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_path = tmp_path / "d.json"

    def primary_dies_after_demotion(stack: str) -> None:
        if stack == "primary" and sides.stacks.applied["primary"].get("capacity") == "warm":
            sides.primary.healthy = False

    sides.stacks.on_up = primary_dies_after_demotion
    assert run(sides, journal_path, *DRILL) == ExitCode.PRECHECK_FAILED
    assert "traffic stays on standby" in capsys.readouterr().err
    assert answers(sides) == {sides.standby.host}
    waiting = Journal.load(journal_path)
    assert waiting is not None and waiting.status == "running"

    sides.stacks.on_up = None
    sides.primary.healthy = True
    assert run(sides, journal_path, "resume") == ExitCode.OK

    for stack in ("primary", "standby"):
        assert sides.stacks.applied[stack] == shipped_config(stack)
    assert answers(sides) == {sides.primary.host}
