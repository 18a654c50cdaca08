"""The Runner's failure paths on the model of both stacks: failed checks, drift, conflicts, timings.

Verification is the model's (tests/cutover/test_cutover_properties.py `ModelRunner`), failing on the
steps a test names; end-to-end verification against real DNS and HTTP is in
tests/cutover/test_cutover_execute.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cutover.errors import (
    JournalConflict,
    PrecheckFailed,
    RollbackFailed,
    StackOperationFailed,
    VerifyFailedRolledBack,
)
from cutover.journal import Journal, RunSpec
from cutover.plan import SIDES, Side, StackState, Step, plan_undo
from cutover.runner import Check, Runner, RunResult, Settings, timings
from cutover.stack_ops import ApplySummary
from tests.cutover.cutover_model import InjectedCrash, ModelStacks, shipped_cutover_config
from tests.cutover.test_cutover_properties import STACKS, ModelRunner

EXECUTE = RunSpec("execute", "standby", (50, 100), STACKS)
DRILL = RunSpec("drill", "standby", (100,), STACKS)


class FailingRunner(ModelRunner):
    def __init__(self, model: ModelStacks, path: Path, fail: set[str]) -> None:
        super().__init__(model, path)
        self.fail = fail

    def verify(self, step: Step) -> list[Check]:
        checks = super().verify(step)
        if step.id in self.fail:
            return [*checks, Check("probe", False, f"{step.target} answered 503")]
        return checks


def shipped() -> ModelStacks:
    return ModelStacks.deployed({s: shipped_cutover_config(s) for s in SIDES})


def start(model: ModelStacks, path: Path, spec: RunSpec, fail: set[str]) -> tuple[FailingRunner, Journal]:
    runner = FailingRunner(model, path, fail)
    journal, resumed = runner.open_run(spec, lambda: runner.plan(spec))
    assert not resumed
    return runner, journal


def test_a_failed_first_precheck_changes_nothing_and_aborts(tmp_path: Path) -> None:
    model = shipped()
    runner, journal = start(model, tmp_path / "j.json", EXECUTE, {"precheck"})

    with pytest.raises(PrecheckFailed) as caught:
        runner.run(journal, resumed=False)

    assert caught.value.message == "pre-checks failed, nothing was changed: probe: standby answered 503"
    assert "--skip-store-parity" in caught.value.fix
    assert model.calls == []
    saved = Journal.load(journal.path)
    assert saved is not None and saved.status == "aborted"
    assert saved.data["failure"] == {"step": "precheck", "reason": "probe: standby answered 503"}


def test_a_failed_verification_rolls_the_run_back_to_the_start(tmp_path: Path) -> None:
    model = shipped()
    before = model.snapshot()
    runner, journal = start(model, tmp_path / "j.json", EXECUTE, {"shift-100"})

    with pytest.raises(VerifyFailedRolledBack) as caught:
        runner.run(journal, resumed=False)

    assert model.snapshot() == before
    assert caught.value.message.startswith(
        "verification of step shift-100 failed (probe: standby answered 503); "
        "rolled back automatically: undo "
    )
    assert caught.value.message.endswith("; traffic is on primary")
    assert caught.value.fix.startswith("see `failover status`, fix standby")
    saved = Journal.load(journal.path)
    assert saved is not None and saved.status == "rolled-back"
    assert saved.data["rollback"]["reason"] == "verification of shift-100 failed"


def test_a_failed_failback_precheck_in_a_drill_leaves_traffic_on_the_standby(tmp_path: Path) -> None:
    model = shipped()
    runner, journal = start(model, tmp_path / "j.json", DRILL, {"failback/precheck"})

    with pytest.raises(PrecheckFailed) as caught:
        runner.run(journal, resumed=False)

    assert caught.value.message == (
        "pre-checks of failback/precheck failed: probe: primary answered 503; traffic stays on standby"
    )
    assert caught.value.fix == "fix primary, then `failover resume`; or `failover rollback` to undo the run"
    assert model.served() == {"primary": 0, "standby": 100}
    saved = Journal.load(journal.path)
    assert saved is not None and saved.status == "running"
    assert saved.data["failure"] == {"step": "failback/precheck", "reason": "probe: primary answered 503"}


def test_a_failed_failback_shift_undoes_only_the_failback(tmp_path: Path) -> None:
    model = shipped()
    runner, journal = start(model, tmp_path / "j.json", DRILL, {"failback/shift-100"})

    with pytest.raises(VerifyFailedRolledBack) as caught:
        runner.run(journal, resumed=False)

    assert model.served() == {"primary": 0, "standby": 100}
    assert caught.value.message.endswith("; traffic is on standby")
    assert model.applied["standby"].capacity == "full"


def test_a_change_made_outside_the_run_stops_it_naming_both_values(tmp_path: Path) -> None:
    model = shipped()
    runner = ModelRunner(model, tmp_path / "j.json")
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))
    model.config["standby"]["capacity"] = "huge"

    with pytest.raises(PrecheckFailed) as caught:
        runner.run(journal, resumed=False)

    assert caught.value.message == (
        "stack 'standby' has capacity='huge', but this run expected 'warm' (before) or 'full' (after): "
        "it was changed outside the run"
    )
    assert caught.value.fix == (
        "check why (`pulumi config get capacity -s standby`), set it back, then `failover resume`; "
        "or undo the run with `failover rollback`"
    )
    assert model.calls == []


def test_a_change_already_made_by_the_run_passes_the_drift_check(tmp_path: Path) -> None:
    model = shipped()
    runner = ModelRunner(model, tmp_path / "j.json")
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))
    model.config["standby"]["capacity"] = "full"  # set, the journal never heard of it

    result = runner.run(journal, resumed=False)

    assert result.journal.status == "completed"
    assert model.served() == {"primary": 0, "standby": 100}


def test_a_rollback_that_fails_says_how_to_continue_it(tmp_path: Path) -> None:
    model = shipped()
    runner, journal = start(model, tmp_path / "j.json", EXECUTE, set())
    runner.run(journal, resumed=False)

    def broken_up(stack: str) -> ApplySummary:
        raise StackOperationFailed(f"`pulumi up -s {stack}` failed: quota", "raise it")

    model.up = broken_up  # type: ignore[method-assign]
    with pytest.raises(RollbackFailed) as caught:
        runner.rollback(journal, "operator asked")

    assert caught.value.message.startswith(f"rollback of run {journal.run_id} stopped: `pulumi up -s ")
    assert caught.value.fix == "fix the cause, then `failover rollback` continues where it stopped"
    assert (Journal.load(journal.path) or journal).status == "rolling-back"


def test_a_drill_needs_the_primary_serving(tmp_path: Path) -> None:
    config = {s: shipped_cutover_config(s) for s in SIDES}
    config["primary"].update({"dnsRouting": "weighted", "trafficWeight": "0"})
    config["standby"].update({"capacity": "full", "dnsRouting": "weighted", "trafficWeight": "100"})
    runner = ModelRunner(ModelStacks.deployed(config), tmp_path / "j.json")

    with pytest.raises(PrecheckFailed) as caught:
        runner.plan(DRILL)

    assert caught.value.message == (
        "a drill starts with the primary serving all traffic, but the stacks' config says "
        "primary trafficWeight=0, standby trafficWeight=100"
    )
    assert caught.value.fix == "finish moving traffic first (`failover failback`), then run the drill"


def test_an_unfinished_run_of_another_spec_conflicts_and_the_same_spec_resumes(tmp_path: Path) -> None:
    model = shipped()
    runner, journal = start(model, tmp_path / "j.json", EXECUTE, set())

    other = RunSpec("execute", "standby", (100,), STACKS)
    with pytest.raises(JournalConflict) as caught:
        runner.open_run(other, lambda: [])
    assert caught.value.message == (
        f"journal {journal.path} holds unfinished run {journal.run_id} ({EXECUTE.describe()}), "
        f"not {other.describe()}"
    )
    assert caught.value.fix == (
        "continue it with `failover resume`, undo it with `failover rollback`, or, if you are sure "
        f"nothing is in progress, move the file away (mv {journal.path} {journal.path}.old)"
    )
    same, resumed = runner.open_run(EXECUTE, lambda: [])
    assert resumed and same.run_id == journal.run_id


def test_an_unfinished_rollback_must_be_finished_first(tmp_path: Path) -> None:
    runner, journal = start(shipped(), tmp_path / "j.json", EXECUTE, set())
    journal.start_rollback([], "test")

    with pytest.raises(JournalConflict) as caught:
        runner.open_run(EXECUTE, lambda: [])

    assert caught.value.message.endswith("whose rollback did not finish")
    assert caught.value.fix == "finish it with `failover rollback`, then start again"


def test_a_finished_run_is_archived_and_a_new_one_starts(tmp_path: Path) -> None:
    model = shipped()
    runner, journal = start(model, tmp_path / "j.json", EXECUTE, set())
    result = runner.run(journal, resumed=False)

    back = RunSpec("execute", "primary", (100,), STACKS)
    again = ModelRunner(model, journal.path)  # a new invocation reads the stacks afresh
    fresh, resumed = again.open_run(back, lambda: again.plan(back))

    assert not resumed and fresh.run_id != journal.run_id
    assert (tmp_path / f"j.{journal.run_id}.json").exists()
    assert fresh.options == {"soak_seconds": 0, "skip_store_parity": False, "canary_requests": 0}
    assert fresh.data["states_before"]["standby"]["trafficWeight"] == 100
    summary = result.to_dict()
    assert summary["run_id"] == journal.run_id and summary["status"] == "completed"
    assert summary["resumed"] is False and summary["skipped_steps"] == []
    assert set(summary["timings"]["steps_seconds"]) == {s.id for s in journal.plan}


def test_resume_skips_completed_steps_and_says_so(tmp_path: Path) -> None:
    model = shipped()
    said: list[str] = []
    runner, journal = start(model, tmp_path / "j.json", EXECUTE, set())
    journal.step_completed("precheck")
    runner.say = said.append

    result = runner.run(journal, resumed=True)

    assert result.skipped_steps == ["precheck"]
    assert said[0] == f"resuming run {journal.run_id} ({EXECUTE.describe()})"
    assert said[-1] == f"run {journal.run_id} completed"


def test_timings_measure_each_step_and_the_time_to_move_all_traffic(tmp_path: Path) -> None:
    _, journal = start(shipped(), tmp_path / "j.json", DRILL, set())
    stamps = {
        "cutover/precheck": ("2026-01-01T00:00:00.000+00:00", "2026-01-01T00:00:01.000+00:00"),
        "cutover/shift-100": ("2026-01-01T00:00:05.000+00:00", "2026-01-01T00:00:42.500+00:00"),
        "failback/precheck": ("2026-01-01T00:01:00.000+00:00", "2026-01-01T00:01:02.000+00:00"),
        "failback/shift-100": ("2026-01-01T00:01:10.000+00:00", "2026-01-01T00:01:30.250+00:00"),
        "failback/demote": ("2026-01-01T00:02:00.000+00:00", None),
    }
    for step, (begun, done) in stamps.items():
        journal.data["steps"][step] = {"started_at": begun, **({"completed_at": done} if done else {})}

    found = timings(journal)

    assert found["steps_seconds"] == {
        "cutover/precheck": 1.0,
        "cutover/shift-100": 37.5,
        "failback/precheck": 2.0,
        "failback/shift-100": 20.25,
    }
    assert found["rto_seconds"] == {"cutover": 42.5, "failback": 30.25}
    _, plain = start(shipped(), tmp_path / "k.json", EXECUTE, set())
    plain.data["steps"]["precheck"] = {"started_at": stamps["cutover/precheck"][0]}
    plain.data["steps"]["shift-100"] = {"completed_at": "2026-01-01T00:00:09.000+00:00"}
    assert timings(plain)["rto_seconds"] == {"to_standby": 9.0}
    assert RunResult(plain, resumed=True).to_dict()["resumed"] is True


# --- verification: what each step checks, how long it retries -----------------------------------


class FakeProbe:
    def __init__(self, ok: bool, summary: str) -> None:
        self.ok = ok
        self._summary = summary

    def summary(self) -> str:
        return self._summary


class FakeSeen:
    def __init__(self, issue: str | None) -> None:
        self.issue = issue
        self.asked: list[tuple[frozenset[str], str | None]] = []

    def check(self, allowed: frozenset[str], only: str | None = None) -> str | None:
        self.asked.append((allowed, only))
        return self.issue

    def describe(self) -> str:
        return "203.0.113.20 x4"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def verifying_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any
) -> tuple[Runner, Clock, dict[str, Any]]:
    from cutover import runner as runner_module
    from cutover.checks import SideInfo

    clock = Clock()
    state: dict[str, Any] = {
        "healthy": {"primary": True, "standby": True},
        "probed": [],
        "seen": FakeSeen(None),
    }

    def probe(
        url: str | None, model: str | None, timeout: float, *, service_name: str | None, tls: Any
    ) -> FakeProbe:
        side = "primary" if "primary" in str(url) else "standby"
        state["probed"].append((side, model, timeout))
        state["probed_as"] = (service_name, tls)
        state["urls"] = [*state.get("urls", []), url]
        healthy = state["healthy"][side]
        return FakeProbe(healthy, "healthy, serving m" if healthy else "/health answered 503")

    def observe(fqdn: str, hosts: Any, server: Any, samples: int, *, addresses: Any = None) -> FakeSeen:
        state["observed"] = (fqdn, dict(hosts), server, samples)
        state["observed_addresses"] = addresses
        seen: FakeSeen = state["seen"]
        return seen

    monkeypatch.setattr(runner_module, "probe_side", probe)
    monkeypatch.setattr(runner_module, "observe", observe)
    monkeypatch.setattr(runner_module.time, "monotonic", clock.monotonic)
    runner = Runner(
        shipped(),
        STACKS,
        tmp_path / "j.json",
        settings=Settings(**{"poll_interval_seconds": 2.0, "verify_timeout_seconds": 10.0, **settings}),
        sleep=clock.sleep,
    )
    runner._sides = {
        side: SideInfo(
            side,
            side,
            StackState(side, side, side),
            {
                "endpointUrl": f"http://{side}.test",
                "endpointHost": f"{side}.test",
                "serviceFqdn": "api.example.com",
                "endpointAddresses": [f"{side}.test", f"{side}-b.test"],
            },
            "m",
            "models/m/",
        )
        for side in SIDES
    }
    return runner, clock, state


def shift(weights: dict[str, int], kind: str = "shift", hold: float = 0.0) -> Step:
    return Step("s", kind, "t", "standby", weights=weights, hold_seconds=hold)  # type: ignore[arg-type]


def test_a_shift_checks_the_target_and_dns_and_retries_until_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, clock, state = verifying_runner(tmp_path, monkeypatch, soak_seconds=0.0, dns_samples=7)
    state["healthy"]["standby"] = False

    checks = runner.verify(shift({"primary": 50, "standby": 50}))

    assert [c.to_dict() for c in checks] == [
        {"name": "standby serving", "ok": False, "detail": "/health answered 503"},
        {"name": "dns", "ok": True, "detail": "api.example.com -> 203.0.113.20 x4"},
    ]
    assert clock.slept == [2.0] * 5 and clock.now == 10.0
    assert state["probed"][0] == ("standby", "m", 5.0)
    assert state["observed"] == (
        "api.example.com",
        {"primary": "primary.test", "standby": "standby.test"},
        None,
        7,
    )
    assert state["seen"].asked[0] == (frozenset({"primary", "standby"}), None)
    # The probe reaches the side's own address with the service name (SNI, Host) and the run's TLS.
    assert state["probed_as"] == ("api.example.com", runner.settings.probe_tls)
    # A record may answer any address of a side (one per AZ): DNS is judged against all of them.
    assert state["observed_addresses"] == {
        "primary": ["primary.test", "primary-b.test"],
        "standby": ["standby.test", "standby-b.test"],
    }


def test_a_full_shift_expects_only_the_target_in_dns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner, _, state = verifying_runner(tmp_path, monkeypatch, soak_seconds=0.0)
    state["seen"] = FakeSeen("answered primary.test")

    checks = runner.verify(shift({"primary": 0, "standby": 100}))

    assert checks[-1].to_dict() == {"name": "dns", "ok": False, "detail": "answered primary.test"}
    assert state["seen"].asked[0] == (frozenset({"standby"}), "standby")


def test_a_shift_soaks_and_stops_at_the_first_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, clock, state = verifying_runner(tmp_path, monkeypatch, soak_seconds=9.0)
    said: list[str] = []
    runner.say = said.append

    def fail_later(seconds: float) -> None:
        Clock.sleep(clock, seconds)
        if clock.now >= 4.0:
            state["healthy"]["standby"] = False

    runner.sleep = fail_later
    checks = runner.verify(shift({"primary": 50, "standby": 50}))

    assert not checks[0].ok
    assert clock.slept == [2.0, 2.0]
    assert said == ["  soaking 9s"]


def test_a_soak_that_stays_healthy_lasts_its_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner, clock, _ = verifying_runner(tmp_path, monkeypatch, soak_seconds=5.0)

    checks = runner.verify(shift({"primary": 50, "standby": 50}))

    assert all(c.ok for c in checks)
    assert clock.slept == [2.0, 2.0, 1.0]


def test_a_soak_sleeps_only_what_is_left_of_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner, clock, _ = verifying_runner(tmp_path, monkeypatch, soak_seconds=4.5)

    runner.verify(shift({"primary": 50, "standby": 50}))

    assert clock.slept == [2.0, 2.0, 0.5]


@pytest.mark.parametrize(
    ("kind", "soak", "said"),
    [("shift", 1.0, ["  soaking 1s"]), ("shift", 0.0, []), ("routing", 5.0, []), ("scale-up", 5.0, [])],
)
def test_only_a_passing_shift_soaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, soak: float, said: list[str]
) -> None:
    runner, _, _ = verifying_runner(tmp_path, monkeypatch, soak_seconds=soak)
    heard: list[str] = []
    runner.say = heard.append

    runner.verify(shift({"primary": 50, "standby": 50}, kind))

    assert heard == said


def test_a_failing_shift_does_not_soak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner, clock, state = verifying_runner(
        tmp_path, monkeypatch, soak_seconds=30.0, verify_timeout_seconds=2.0
    )
    state["healthy"]["standby"] = False
    heard: list[str] = []
    runner.say = heard.append

    runner.verify(shift({"primary": 50, "standby": 50}))

    assert heard == [] and clock.now == 2.0


def test_verify_of_a_precheck_runs_the_prechecks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cutover import runner as runner_module
    from cutover.checks import ParityResult

    runner, _, state = verifying_runner(tmp_path, monkeypatch)
    monkeypatch.setattr(
        runner_module, "store_parity", lambda source, target: ParityResult(True, True, "in parity")
    )

    checks = runner.verify(shift({}, "precheck"))

    assert [c.name for c in checks] == ["standby serving", "model parity", "store parity"]
    assert state["urls"] == ["http://standby.test"]


@pytest.mark.parametrize(
    ("weights", "allowed", "only"),
    [
        ({"primary": 50, "standby": 50}, {"primary", "standby"}, None),
        ({"primary": 100, "standby": 0}, {"primary"}, "primary"),
        ({"primary": 99, "standby": 1}, {"primary", "standby"}, None),
        ({}, {"primary"}, "primary"),
    ],
)
def test_dns_expectations_follow_the_step_weights(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    weights: dict[str, int],
    allowed: set[str],
    only: str | None,
) -> None:
    runner, _, state = verifying_runner(tmp_path, monkeypatch, dns_server="127.0.0.1:5353")
    step = Step("s", "shift", "t", "primary", weights=weights)  # type: ignore[arg-type]

    runner.dns_checks(step)

    assert state["seen"].asked == [(frozenset(allowed), only)]
    assert state["observed"][2] == "127.0.0.1:5353"


def test_prechecks_compare_the_stores_from_source_to_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cutover import runner as runner_module
    from cutover.checks import ParityResult

    runner, _, state = verifying_runner(tmp_path, monkeypatch)
    pairs: list[tuple[str, str]] = []

    def parity(source: Any, target: Any) -> ParityResult:
        pairs.append((source.stack, target.stack))
        return ParityResult(True, True, "ok")

    monkeypatch.setattr(runner_module, "store_parity", parity)

    checks = runner.prechecks(Step("p", "precheck", "t", "primary"))

    assert pairs == [("standby", "primary")]
    assert checks[0].name == "primary serving" and state["urls"] == ["http://primary.test"]
    assert checks[1].detail == "both stacks configure standby=m / primary=m"


def test_a_hold_verifies_then_watches_for_its_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner, clock, _ = verifying_runner(tmp_path, monkeypatch)
    said: list[str] = []
    runner.say = said.append

    checks = runner.verify(shift({"primary": 0, "standby": 100}, "hold", hold=3.0))

    assert all(c.ok for c in checks)
    assert clock.slept == [2.0, 1.0]
    assert said == ["  holding 3s on standby"]


def test_a_hold_that_never_verifies_does_not_watch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner, clock, state = verifying_runner(tmp_path, monkeypatch, verify_timeout_seconds=4.0)
    state["healthy"]["standby"] = False

    checks = runner.verify(shift({"primary": 0, "standby": 100}, "hold", hold=30.0))

    assert not checks[0].ok and clock.slept == [2.0, 2.0]


def test_a_scale_up_probes_only_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner, clock, state = verifying_runner(tmp_path, monkeypatch)

    checks = runner.verify(shift({}, "scale-up"))

    assert [c.name for c in checks] == ["standby serving"]
    assert "observed" not in state and clock.slept == []


def test_dns_checks_need_a_service_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace as replace_field

    runner, _, _ = verifying_runner(tmp_path, monkeypatch)
    assert runner._sides is not None
    runner._sides = {s: replace_field(i, outputs={}) for s, i in runner._sides.items()}

    assert [c.to_dict() for c in runner.dns_checks(shift({"primary": 0, "standby": 100}))] == [
        {"name": "dns", "ok": False, "detail": "no serviceFqdn output on either stack"}
    ]


def test_prechecks_probe_the_target_compare_models_and_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace as replace_field

    from cutover import runner as runner_module
    from cutover.checks import ParityResult

    runner, _, _ = verifying_runner(tmp_path, monkeypatch)
    monkeypatch.setattr(
        runner_module,
        "store_parity",
        lambda source, target: ParityResult(True, False, f"{target.stack} lacks 2"),
    )

    checks = runner.prechecks(shift({}, "precheck"))

    assert [c.to_dict() for c in checks] == [
        {"name": "standby serving", "ok": True, "detail": "healthy, serving m"},
        {"name": "model parity", "ok": True, "detail": "both stacks configure primary=m / standby=m"},
        {"name": "store parity", "ok": False, "detail": "standby lacks 2"},
    ]
    assert runner._sides is not None
    runner._sides["primary"] = replace_field(runner._sides["primary"], model_name="other")
    skipping = Runner(runner.ops, STACKS, runner.journal_path, settings=Settings(skip_store_parity=True))
    skipping._sides = runner._sides
    assert [c.to_dict() for c in skipping.prechecks(shift({}, "precheck"))][1:] == [
        {"name": "model parity", "ok": False, "detail": "both stacks configure primary=other / standby=m"},
        {"name": "store parity", "ok": True, "detail": "skipped (--skip-store-parity)"},
    ]
    runner._sides["primary"] = replace_field(runner._sides["primary"], model_name=None)
    runner._sides["standby"] = replace_field(runner._sides["standby"], model_name=None)
    assert not skipping.prechecks(shift({}, "precheck"))[1].ok


# --- failure reports and rollback records ------------------------------------------------------


class TwoFailures(FailingRunner):
    def verify(self, step: Step) -> list[Check]:
        if step.id in self.fail:
            return [Check("probe", False, "503"), Check("dns", False, "primary answered")]
        return ModelRunner.verify(self, step)


def test_every_failed_check_is_reported_and_recorded(tmp_path: Path) -> None:
    model = shipped()
    said: list[str] = []
    runner = TwoFailures(model, tmp_path / "j.json", {"shift-50"})
    runner.say = said.append
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))

    with pytest.raises(VerifyFailedRolledBack) as caught:
        runner.run(journal, resumed=False)

    assert caught.value.message.startswith(
        "verification of step shift-50 failed (probe: 503; dns: primary answered)"
    )
    assert "  FAIL probe: 503" in said and "  FAIL dns: primary answered" in said
    assert f"rolling back run {journal.run_id}: verification of shift-50 failed" in said
    undone = [line for line in said if line.startswith("< undo ")]
    assert len(undone) == 3 and caught.value.message.count("; undo ") == 2
    saved = Journal.load(journal.path)
    assert saved is not None
    assert saved.data["failure"] == {"step": "shift-50", "reason": "probe: 503; dns: primary answered"}
    assert set(saved.rollback_done) == {a.id for s in saved.rollback_plan or [] for a in s.actions()}


def test_a_failed_first_precheck_says_how_to_fix_it(tmp_path: Path) -> None:
    runner, journal = start(shipped(), tmp_path / "j.json", EXECUTE, {"precheck"})
    with pytest.raises(PrecheckFailed) as caught:
        runner.run(journal, resumed=False)
    assert caught.value.fix == (
        "see `failover status`; fix the target side (or pass --skip-store-parity if the stores cannot be "
        "listed), then run the same command again"
    )


def test_a_rollback_to_a_split_start_does_not_claim_one_side(tmp_path: Path) -> None:
    config = {
        "primary": {"capacity": "full", "dnsRouting": "weighted", "trafficWeight": "50"},
        "standby": {"capacity": "full", "dnsRouting": "weighted", "trafficWeight": "50"},
    }
    model = ModelStacks.deployed(config)
    runner, journal = start(model, tmp_path / "j.json", EXECUTE, {"shift-100"})

    with pytest.raises(VerifyFailedRolledBack) as caught:
        runner.run(journal, resumed=False)

    assert model.served() == {"primary": 50, "standby": 50}
    assert "traffic is on" not in caught.value.message
    assert caught.value.message.endswith(
        "undo shift-100: standby: trafficWeight 100 -> 50, primary: trafficWeight 0 -> 50"
    )


def test_a_rollback_restores_values_changed_by_hand_during_the_run(tmp_path: Path) -> None:
    model = shipped()
    runner, journal = start(model, tmp_path / "j.json", EXECUTE, set())
    model.crash_at = 8
    with pytest.raises(InjectedCrash):
        runner.run(journal, resumed=False)
    model.config["standby"]["trafficWeight"] = "7"  # an operator's hand edit after the crash

    ModelRunner(model, journal.path).rollback(Journal.load(journal.path) or journal, "undo it")

    assert model.snapshot() == ({s: shipped_cutover_config(s) for s in SIDES},) * 2


def test_an_interrupted_rollback_finishes_without_repeating_an_action(tmp_path: Path) -> None:
    model = shipped()
    runner, journal = start(model, tmp_path / "j.json", EXECUTE, set())
    runner.run(journal, resumed=False)
    calls_before = len(model.calls)
    model.crash_at = calls_before + 1  # after the first rollback action, inside the first undo step
    with pytest.raises(InjectedCrash):
        ModelRunner(model, journal.path).rollback(Journal.load(journal.path) or journal, "undo")

    ModelRunner(model, journal.path).rollback(Journal.load(journal.path) or journal, "undo")

    start_state = {s: shipped_cutover_config(s) for s in SIDES}
    assert model.snapshot() == (start_state, start_state)
    rollback_calls = model.calls[calls_before:]
    final = Journal.load(journal.path)
    assert final is not None and final.status == "rolled-back"
    assert len(rollback_calls) == sum(len(s.actions()) for s in final.rollback_plan or [])


def test_timings_need_both_ends_of_a_move(tmp_path: Path) -> None:
    _, journal = start(shipped(), tmp_path / "j.json", EXECUTE, set())
    journal.data["steps"]["shift-100"] = {"completed_at": "2026-01-01T00:00:09.000+00:00"}

    assert timings(journal)["rto_seconds"] == {}
    assert RunResult(journal, resumed=False).to_dict()["journal"] == str(journal.path)


def test_the_canary_refuses_plain_http_and_sends_to_the_side_gaining_traffic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cutover import canary
    from cutover.canary import CanaryResult, Thresholds
    from cutover.probes import ProbeTls, plain_http_refusal, tls_context

    runner, _, _ = verifying_runner(tmp_path, monkeypatch, canary_requests=7)
    assert runner.canary_check("standby") == Check(
        "standby canary", False, plain_http_refusal("http://standby.test")
    )

    sent: list[tuple[Any, ...]] = []

    def fake_canary(*args: Any, requests: int, tls: Any) -> CanaryResult:
        sent.append((*args, requests, tls))
        return CanaryResult(False, "7 canary requests to standby: error rate 100 %")

    monkeypatch.setattr(canary, "run_canary", fake_canary)
    runner.ops.config["standby"]["canaryMaxErrorRatePercent"] = "2.5"  # type: ignore[attr-defined]
    runner.settings = Settings(canary_requests=7, probe_tls=ProbeTls(insecure_http=True))
    assert runner.canary_check("standby") == Check(
        "standby canary", False, "7 canary requests to standby: error rate 100 %"
    )
    assert sent == [
        (
            "standby",
            "http://standby.test",
            "api.example.com",
            "m",
            Thresholds(2.5, canary.DEFAULT_MAX_P95_LATENCY_MS),
            7,
            tls_context(None),
        )
    ]


# --- what a run says, records and sends to the audit trail --------------------------------------


class Recorded(FailingRunner):
    """A FailingRunner whose messages and audit events are kept for the test to read."""

    def __init__(self, model: ModelStacks, path: Path, fail: set[str]) -> None:
        super().__init__(model, path, fail)
        self.said: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.say = self.said.append
        self.audit = self.events.append


class Reporting(ModelStacks):
    """The model, with the resource changes and duration a real `pulumi up` reports."""

    summary = ApplySummary("", "succeeded", {"create": 2, "same": 40, "update": 1}, 12.3456)

    def up(self, stack: str) -> ApplySummary:
        super().up(stack)
        return self.summary


def test_each_step_is_audited_when_it_completes_with_its_times_changes_and_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cutover import runner as runner_module

    monkeypatch.setattr(runner_module, "now_iso", lambda: "when the event was sent")
    runner = Recorded(shipped(), tmp_path / "j.json", set())
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))

    runner.run(journal, resumed=False)

    saved = Journal.load(journal.path)
    assert saved is not None
    assert [e["step"] for e in runner.events] == [s.id for s in saved.plan]
    record = saved.step_record("shift-100")
    assert runner.events[4] == {
        "event": "step",
        "run_id": journal.run_id,
        "step": "shift-100",
        "title": "shift 100% of traffic to standby",
        "outcome": "completed",
        "started_at": record["started_at"],
        "finished_at": record["completed_at"],
        "changes": ["standby: trafficWeight 50 -> 100", "primary: trafficWeight 50 -> 0"],
        "checks": [{"name": "model", "ok": True, "detail": "served {'primary': 0, 'standby': 100}"}],
    }
    for event, step in zip(runner.events, saved.plan, strict=True):
        step_record = saved.step_record(step.id)
        assert event["started_at"] == step_record["started_at"]
        assert (event["outcome"], event["finished_at"]) == ("completed", step_record["completed_at"])
        assert event["checks"] == step_record["verification"]["checks"]


def test_a_failed_step_and_the_rollback_it_causes_are_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cutover import runner as runner_module

    monkeypatch.setattr(runner_module, "now_iso", lambda: "when the event was sent")
    runner = Recorded(shipped(), tmp_path / "j.json", {"shift-100"})
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))

    with pytest.raises(VerifyFailedRolledBack):
        runner.run(journal, resumed=False)

    saved = Journal.load(journal.path)
    assert saved is not None and saved.rollback_plan is not None
    failed, rollback = runner.events[-2:]
    assert failed == {
        "event": "step",
        "run_id": journal.run_id,
        "step": "shift-100",
        "title": "shift 100% of traffic to standby",
        "outcome": "failed",
        "started_at": saved.step_record("shift-100")["started_at"],
        "finished_at": "when the event was sent",
        "changes": ["standby: trafficWeight 50 -> 100", "primary: trafficWeight 50 -> 0"],
        "checks": [{"name": "probe", "ok": False, "detail": "standby answered 503"}],
    }
    assert rollback == {
        "event": "rollback",
        "run_id": journal.run_id,
        "outcome": "rolled-back",
        "why": "verification of shift-100 failed",
        "undone": [s.title for s in saved.rollback_plan],
    }
    assert [s.id for s in saved.rollback_plan] == ["undo/shift-50+shift-100", "undo/routing", "undo/scale-up"]
    assert [e["outcome"] for e in runner.events[:-2]] == ["completed"] * 4


def test_a_run_says_each_step_action_and_check_and_records_what_each_apply_did(tmp_path: Path) -> None:
    deployed = shipped()
    model = Reporting(deployed.config, deployed.applied)
    runner = Recorded(model, tmp_path / "j.json", set())
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))

    runner.run(journal, resumed=False)

    assert runner.said[:6] == [
        "> precheck: pre-checks: standby healthy and serving the model, stores in parity",
        "  ok  model: served {'primary': 100, 'standby': 0}",
        "> scale-up: scale standby (standby) to full capacity",
        "  pulumi config set standby: capacity warm -> full",
        "  pulumi up -s standby",
        "    succeeded in 12.3s (create 2, update 1)",
    ]
    saved = Journal.load(journal.path)
    assert saved is not None
    assert saved.data["action_details"]["scale-up#1"] == {
        "result": "succeeded",
        "resource_changes": {"create": 2, "same": 40, "update": 1},
        "duration_seconds": 12.346,
    }
    assert "scale-up#0" not in saved.data["action_details"]  # a config change reports nothing
    assert saved.step_record("scale-up")["verification"] == {
        "checks": [{"name": "model", "ok": True, "detail": "served {'primary': 100, 'standby': 0}"}]
    }


def test_an_apply_that_changed_nothing_says_so(tmp_path: Path) -> None:
    deployed = shipped()
    model = Reporting(deployed.config, deployed.applied)
    model.summary = ApplySummary("", "succeeded", {"same": 40}, 0.04)
    runner = Recorded(model, tmp_path / "j.json", set())
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))

    runner.run(journal, resumed=False)

    assert "    succeeded in 0.0s (no changes)" in runner.said


def test_a_failed_run_says_what_failed_each_undo_step_and_that_it_rolled_back(tmp_path: Path) -> None:
    runner = Recorded(shipped(), tmp_path / "j.json", {"shift-50"})
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))

    with pytest.raises(VerifyFailedRolledBack) as caught:
        runner.run(journal, resumed=False)

    saved = Journal.load(journal.path)
    assert saved is not None and saved.rollback_plan is not None
    fail_at = runner.said.index("  FAIL probe: standby answered 503")
    assert runner.said[fail_at + 1] == f"rolling back run {journal.run_id}: verification of shift-50 failed"
    assert [line for line in runner.said if line.startswith("< ")] == [
        f"< {s.title}" for s in saved.rollback_plan
    ]
    assert runner.said[-1] == f"run {journal.run_id} rolled back"
    assert caught.value.message.endswith(
        "rolled back automatically: "
        + "; ".join(s.title for s in saved.rollback_plan)
        + "; traffic is on primary"
    )


def test_a_failed_first_precheck_records_why_and_audits_the_failure(tmp_path: Path) -> None:
    runner = Recorded(shipped(), tmp_path / "j.json", {"precheck"})
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))

    with pytest.raises(PrecheckFailed):
        runner.run(journal, resumed=False)

    assert [(e["step"], e["outcome"]) for e in runner.events] == [("precheck", "failed")]
    assert "  FAIL probe: standby answered 503" in runner.said
    saved = Journal.load(journal.path)
    assert saved is not None and saved.rollback_plan is None and saved.done_actions == {}


def test_a_rollback_in_progress_continues_its_own_plan_whatever_undo_is_passed(tmp_path: Path) -> None:
    model = shipped()
    runner, journal = start(model, tmp_path / "j.json", EXECUTE, set())
    runner.run(journal, resumed=False)
    model.crash_at = len(model.calls) + 1
    with pytest.raises(InjectedCrash):
        ModelRunner(model, journal.path).rollback(Journal.load(journal.path) or journal, "undo")

    stored = Journal.load(journal.path)
    assert stored is not None and stored.rollback_plan is not None
    undone = ModelRunner(model, journal.path).rollback(stored, "again", undo=[])

    assert [s.id for s in undone] == [s.id for s in stored.rollback_plan]
    start_state = {s: shipped_cutover_config(s) for s in SIDES}
    assert model.snapshot() == (start_state, start_state)


def test_a_rollback_with_no_undo_given_plans_from_every_action_the_run_attempted(tmp_path: Path) -> None:
    model = shipped()
    runner, journal = start(model, tmp_path / "j.json", EXECUTE, set())
    # The fourth call (the routing step's second change) takes effect, then the crash: the journal
    # has it in flight, not done, and the rollback must undo it too.
    model.crash_at, model.crash_after = 3, True
    with pytest.raises(InjectedCrash):
        runner.run(journal, resumed=False)
    stored = Journal.load(journal.path)
    assert stored is not None and stored.data["in_flight"] == "routing#1"

    undone = ModelRunner(model, journal.path).rollback(stored, "undo")

    assert [s.id for s in undone] == ["undo/routing", "undo/scale-up"]
    assert runner.undo_plan(stored) == undone  # stored with the rollback, read back as is
    start_state = {s: shipped_cutover_config(s) for s in SIDES}
    assert model.snapshot() == (start_state, start_state)


@pytest.mark.parametrize(("provider", "owner"), [("powerdns", "standby"), ("gcp", "standby"), ("aws", None)])
def test_the_record_owner_comes_from_the_standbys_dns_provider_and_orders_every_plan(
    tmp_path: Path, provider: str, owner: str | None
) -> None:
    from cutover.checks import read_states
    from cutover.plan import plan_cutover, plan_drill

    model = shipped()
    model.config["standby"]["dnsProvider"] = provider  # not applied: plans are read from the files
    runner = ModelRunner(model, tmp_path / "j.json")
    states = read_states(model, STACKS)

    assert runner.record_owner() == owner
    assert runner.plan(EXECUTE) == plan_cutover(states, "standby", (50, 100), record_owner=owner)[0]  # type: ignore[arg-type]
    assert runner.plan(DRILL) == plan_drill(states, (100,), 0.0, record_owner=owner)  # type: ignore[arg-type]
    back = RunSpec("execute", "primary", (100,), STACKS)
    assert runner.plan(back) == plan_cutover(states, "primary", (100,), record_owner=owner)[0]  # type: ignore[arg-type]
    if owner is not None:  # the owner applies last, where the default order would apply it first
        routing = next(s for s in runner.plan(EXECUTE) if s.id == "routing")
        assert routing.applies == ("primary", "standby")
        assert plan_cutover(states, "standby", (50, 100))[0][2].applies == ("standby", "primary")


def test_the_primarys_dns_provider_does_not_decide_the_record_owner(tmp_path: Path) -> None:
    model = shipped()
    model.config["primary"]["dnsProvider"] = "powerdns"
    model.config["standby"]["dnsProvider"] = "aws"

    assert ModelRunner(model, tmp_path / "j.json").record_owner() is None


@pytest.mark.parametrize(
    "case",
    [
        # (step kind, target healthy, canary requests) -> canaried
        (("shift", True, 1), True),
        (("shift", False, 3), False),
        (("shift", True, 0), False),
        (("routing", True, 3), False),
        (("hold", True, 3), False),
    ],
)
def test_the_canary_runs_only_after_a_shift_that_verified_and_only_when_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: tuple[tuple[str, bool, int], bool]
) -> None:
    (kind, healthy, requests), canaried = case
    runner, _, state = verifying_runner(
        tmp_path, monkeypatch, soak_seconds=0.0, canary_requests=requests, verify_timeout_seconds=0.0
    )
    state["healthy"]["standby"] = healthy
    asked: list[str] = []

    def canary_check(side: str) -> Check:
        asked.append(side)
        return Check(f"{side} canary", False, "error rate 100 %")

    monkeypatch.setattr(runner, "canary_check", canary_check)

    checks = runner.verify(shift({"primary": 50, "standby": 50}, kind))

    assert asked == (["standby"] if canaried else [])
    assert [c.name for c in checks] == ["standby serving", "dns"] + (["standby canary"] if canaried else [])


def test_the_canary_reads_the_target_stacks_thresholds_and_trusts_the_runs_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    from cutover import canary
    from cutover.canary import CanaryResult
    from cutover.errors import UsageError
    from cutover.probes import ProbeTls, tls_context

    runner, _, _ = verifying_runner(tmp_path, monkeypatch, canary_requests=3)
    runner.settings = Settings(canary_requests=3, probe_tls=ProbeTls(certifi.where(), insecure_http=True))
    contexts: list[Any] = []

    def fake_canary(*args: Any, requests: int, tls: Any) -> CanaryResult:
        contexts.append(tls)
        return CanaryResult(True, "3 canary requests to standby: all answered")

    monkeypatch.setattr(canary, "run_canary", fake_canary)

    assert runner.canary_check("standby").ok
    assert contexts == [tls_context(certifi.where())] and contexts[0] is not tls_context(None)
    runner.ops.config["standby"]["canaryMaxErrorRatePercent"] = "0"  # type: ignore[attr-defined]
    with pytest.raises(UsageError) as caught:
        runner.canary_check("standby")
    assert caught.value.fix == (
        "set it with `pulumi config set canaryMaxErrorRatePercent 5 -s standby` (or remove it for 5)"
    )


def test_a_rollback_past_an_in_flight_weight_change_gives_a_warm_side_no_extra_share(tmp_path: Path) -> None:
    # Found by test_rollback_after_any_prefix_returns_the_exact_start_state: the rollback ordered
    # its applies by the journal's values, and the standby's in-flight 51 -> 100 (never applied)
    # made its undo look like a fall, so the warm primary went first and gained share.
    from tests.cutover.test_cutover_properties import check_traffic

    config = {
        "primary": {"capacity": "warm", "dnsRouting": "weighted", "trafficWeight": "50"},
        "standby": {"capacity": "full", "dnsRouting": "weighted", "trafficWeight": "52"},
    }
    model = ModelStacks.deployed(config)
    start = dict(model.applied)
    spec = RunSpec("execute", "standby", (51, 100), STACKS)
    runner = ModelRunner(model, tmp_path / "j.json")
    journal, _ = runner.open_run(spec, lambda: runner.plan(spec))
    model.crash_at = 4  # before the standby's `config set trafficWeight 100`: in flight, never done
    with pytest.raises(InjectedCrash):
        runner.run(journal, resumed=False)

    ModelRunner(model, journal.path).rollback(Journal.load(journal.path) or journal, "undo")

    assert model.snapshot() == (config, config)
    assert check_traffic(model, start, "standby") == []


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known, found by test_rollback_after_any_prefix_returns_the_exact_start_state (present before "
        "issue 13): an apply in flight when the run stopped may or may not have deployed, and plan_undo "
        "assumes it did; ordering by the stacks' deployed `dns` weights (read at rollback time) fixes it"
    ),
)
def test_a_rollback_past_an_in_flight_apply_gives_a_warm_side_no_extra_share(tmp_path: Path) -> None:
    from tests.cutover.test_cutover_properties import check_traffic

    config = {
        "primary": {"capacity": "warm", "dnsRouting": "weighted", "trafficWeight": "54"},
        "standby": {"capacity": "full", "dnsRouting": "weighted", "trafficWeight": "49"},
    }
    model = ModelStacks.deployed(config)
    start = dict(model.applied)
    spec = RunSpec("execute", "standby", (48, 100), STACKS)
    runner = ModelRunner(model, tmp_path / "j.json")
    journal, _ = runner.open_run(spec, lambda: runner.plan(spec))
    model.crash_at = 5  # before the standby's apply of trafficWeight 100: in flight, never deployed
    with pytest.raises(InjectedCrash):
        runner.run(journal, resumed=False)

    ModelRunner(model, journal.path).rollback(Journal.load(journal.path) or journal, "undo")

    assert model.snapshot() == (config, config)
    assert check_traffic(model, start, "standby") == []


class OwnedRecord(FailingRunner):
    """DNS whose one record the standby writes (Cloud DNS, PowerDNS): it applies last, undo too."""

    def record_owner(self) -> Side | None:
        return "standby"


def test_an_automatic_rollback_applies_the_record_owner_last(tmp_path: Path) -> None:
    model = shipped()
    runner = OwnedRecord(model, tmp_path / "j.json", {"routing"})
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))

    with pytest.raises(VerifyFailedRolledBack):
        runner.run(journal, resumed=False)

    saved = Journal.load(journal.path)
    assert saved is not None and saved.rollback_plan is not None
    assert [(s.id, s.applies) for s in saved.rollback_plan] == [
        ("undo/routing", ("primary", "standby")),
        ("undo/scale-up", ("standby",)),
    ]
    # Without an owner the undo would apply in reverse order of the run: the standby first.
    assert plan_undo(saved.plan, saved.attempted_actions)[0].applies == ("standby", "primary")


def test_a_requested_rollback_applies_the_record_owner_last(tmp_path: Path) -> None:
    model = shipped()
    runner = OwnedRecord(model, tmp_path / "j.json", set())
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))
    model.crash_at = 6  # the routing step applied, the first shift's first change in flight
    with pytest.raises(InjectedCrash):
        runner.run(journal, resumed=False)
    stopped = Journal.load(journal.path)
    assert stopped is not None

    undo = runner.undo_plan(stopped)

    assert undo == plan_undo(stopped.plan, stopped.attempted_actions, record_owner="standby")
    assert [s.id for s in undo] == ["undo/shift-50", "undo/routing", "undo/scale-up"]
    assert undo[1].applies == ("primary", "standby")
    assert plan_undo(stopped.plan, stopped.attempted_actions)[1].applies == ("standby", "primary")


def test_stack_files_that_differ_from_what_is_deployed_are_refused_naming_each_difference(
    tmp_path: Path,
) -> None:
    files = {s: shipped_cutover_config(s) for s in SIDES}
    files["standby"] = {
        **files["standby"],
        "capacity": "full",
        "dnsRouting": "weighted",
        "trafficWeight": "0",
    }
    files["primary"] = {**files["primary"], "dnsRouting": "weighted", "trafficWeight": "100"}
    deployed = {s: shipped_cutover_config(s) for s in SIDES}
    runner = ModelRunner(ModelStacks.deployed(files, deployed), tmp_path / "j.json")

    with pytest.raises(PrecheckFailed) as caught:
        runner.plan(EXECUTE)

    assert caught.value.message == (
        "the stack files say something the stacks do not run (primary: dnsRouting weighted in the stack "
        "file, failover deployed; standby: capacity full in the stack file, warm deployed; standby: "
        "dnsRouting weighted in the stack file, failover deployed): a run stopped between `pulumi config "
        "set` and `pulumi up`, or a file was edited; nothing was changed"
    )
    assert caught.value.fix == (
        "if that run's journal exists, finish it with `failover resume` or undo it with `failover "
        "rollback` (--journal FILE); otherwise apply the stack (`pulumi up -s <stack>`) or set the "
        "value back, then run again"
    )


def test_messages_and_audit_events_go_where_the_runner_was_told(tmp_path: Path) -> None:
    said: list[str] = []
    events: list[dict[str, Any]] = []
    runner = Runner(shipped(), STACKS, tmp_path / "j.json", say=said.append, audit=events.append)
    journal, _ = runner.open_run(EXECUTE, lambda: runner.plan(EXECUTE))

    assert runner.rollback(journal, "changed my mind") == []

    assert said == [
        f"rolling back run {journal.run_id}: changed my mind",
        f"run {journal.run_id} rolled back",
    ]
    assert events == [
        {
            "event": "rollback",
            "run_id": journal.run_id,
            "outcome": "rolled-back",
            "why": "changed my mind",
            "undone": [],
        }
    ]
