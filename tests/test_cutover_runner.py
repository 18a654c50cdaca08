"""The Runner's failure paths on the model of both stacks: failed checks, drift, conflicts, timings.

Verification is the model's (tests/test_cutover_properties.py `ModelRunner`), failing on the
steps a test names; end-to-end verification against real DNS and HTTP is in
tests/test_cutover_execute.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cutover.errors import (
    JournalConflict,
    PrecheckFailed,
    RollbackFailed,
    StackOperationFailed,
    VerifyFailedRolledBack,
)
from cutover.journal import Journal, RunSpec
from cutover.plan import SIDES, Step
from cutover.runner import Check, RunResult, timings
from cutover.stack_ops import ApplySummary
from tests.cutover_model import ModelStacks, shipped_cutover_config
from tests.test_cutover_properties import STACKS, ModelRunner

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
    assert caught.value.fix.startswith("check why (`pulumi config get capacity -s standby`)")
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
    assert f"mv {journal.path} {journal.path}.old" in caught.value.fix
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
    assert fresh.options == {"soak_seconds": 0, "skip_store_parity": False}
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
