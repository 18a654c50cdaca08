"""Property tests of the cutover: every start state of the two stacks, every crash point.

Hypothesis generates the start: each stack's capacity, routing mode and weight (set or unset, as
the program accepts them; half the time a hand-edited weighted split whose weights sum below, to
or above 100), optionally an earlier run of either direction stopped after any action, and the
target. The real planner and the real `Runner` (journal, drift checks, resume,
rollback) drive `ModelStacks` (tests/cutover/cutover_model.py), whose every apply is decided by the
program's own config and DNS checks. The rules asserted after every apply:

- the DNS records' shares never sum below 100 (or below what they summed to at the start), the
  target's share never falls below where it started nor from one step to the next while traffic
  moves to it, and no stack that is not at full capacity ever gains traffic (the target is
  scaled, and verified serving, before its weight rises); a rollback's applies likewise;
- each apply changes one stack (no other stack has a change of this run waiting to be applied);
- each step's recorded weights (what verification expects DNS to answer) are what DNS serves;
- a rollback after any prefix of the run returns the exact start state;
- a crash at any action, then `resume`, ends exactly where a clean run ends.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st

from cutover.checks import read_states
from cutover.errors import CutoverError, PrecheckFailed
from cutover.journal import Journal, RunSpec
from cutover.plan import SIDES, Action, Side, Step, plan_cutover, serving_side
from cutover.runner import Check, Runner, Settings
from tests.cutover.cutover_model import (
    Applied,
    Config,
    InjectedCrash,
    ModelStacks,
    program_accepts,
    shipped_cutover_config,
    traffic_problems,
)

STACKS = {"primary": "primary", "standby": "standby"}
PROPERTY_SETTINGS = settings(
    # tools/mutation.sh lowers this: every mutant re-runs the property tests that reach it.
    max_examples=int(os.environ.get("CUTOVER_PROPERTY_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
    # ... and skips shrinking: a mutant only needs to fail, not to fail minimally (shrinking a
    # failure took minutes per mutant).
    phases=[p for p in Phase if p != Phase.shrink or not os.environ.get("CUTOVER_PROPERTY_NO_SHRINK")],
)


class ModelRunner(Runner):
    """The real Runner; verification reads the model (DNS shares) instead of probing servers."""

    def __init__(self, model: ModelStacks, journal_path: Path) -> None:
        super().__init__(model, STACKS, journal_path, settings=Settings(soak_seconds=0), sleep=lambda _: None)
        self.model = model
        self.weight_mismatches: list[str] = []

    def verify(self, step: Step) -> list[Check]:
        if step.weights and dict(step.weights) != self.model.served():
            self.weight_mismatches.append(
                f"{step.id}: plan expects {dict(step.weights)}, DNS serves {self.model.served()}"
            )
        return [Check("model", True, "served " + str(self.model.served()))]

    def _act(self, action: Action, check_drift: bool) -> dict[str, Any] | None:
        self.model.current = action.id
        return super()._act(action, check_drift)


@pytest.fixture(scope="module")
def journal_dir() -> Iterator[Path]:
    # tmpfs when there is one: hundreds of runs, each fsyncing its journal after every action.
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="cutover-props-", dir=base) as found:
        yield Path(found)


_runs = iter(range(10**9))


def fresh_journal(directory: Path) -> Path:
    return directory / f"run-{next(_runs)}.json"


# --- start states ------------------------------------------------------------------------------


def _side_config() -> st.SearchStrategy[Config]:
    values = {
        "capacity": st.sampled_from([None, "warm", "full"]),
        "dnsRouting": st.sampled_from([None, "failover", "weighted"]),
        "trafficWeight": st.one_of(st.none(), st.sampled_from(["0", "100"]), st.integers(0, 100).map(str)),
    }
    return st.fixed_dictionaries(values).map(lambda d: {k: v for k, v in d.items() if v is not None})


def _split_config() -> st.SearchStrategy[Config]:
    """A hand-edited weighted split: weights that sum below, to or above 100 (0-10 often)."""
    values = {
        "capacity": st.sampled_from([None, "warm", "full"]),
        "dnsRouting": st.just("weighted"),
        "trafficWeight": st.one_of(st.integers(0, 10), st.integers(0, 100)).map(str),
    }
    return st.fixed_dictionaries(values).map(lambda d: {k: v for k, v in d.items() if v is not None})


@st.composite
def deployed_states(draw: st.DrawFn) -> dict[str, Config]:
    """Both stacks' config, fully applied, in a state the program accepts."""
    side_config = _split_config() if draw(st.booleans(), label="weighted split") else _side_config()
    configs = {side: draw(side_config) for side in SIDES}
    assume(program_accepts(configs))
    return configs


def perform(model: ModelStacks, actions: list[Action]) -> None:
    """Carry out plan actions directly on the model (an earlier run, without its journal)."""
    for action in actions:
        model.current = f"earlier:{action.id}"
        if action.kind == "up":
            model.up(action.stack)
        elif action.change is not None and action.change.after is None:
            model.remove_config(action.stack, action.change.key)
        elif action.change is not None:
            model.set_config(action.stack, action.change.key, action.change.after or "")


@st.composite
def start_models(draw: st.DrawFn) -> ModelStacks:
    """A deployed pair, optionally after an earlier run of either direction stopped at any action."""
    model = ModelStacks.deployed(draw(deployed_states()))
    total = sum(model.served().values())
    event(f"start: shares sum {'below' if total < 100 else 'to' if total == 100 else 'above'} 100")
    if draw(st.booleans()):
        earlier_to: Side = draw(st.sampled_from(SIDES))
        steps, _ = plan_cutover(read_states(model, STACKS), earlier_to, draw(percents()))
        actions = [a for s in steps for a in s.actions()]
        perform(model, actions[: draw(st.integers(0, len(actions)))])
    model.history.clear()
    model.calls.clear()
    model.pending_by_run.clear()
    return model


def percents() -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(1, 99), max_size=3, unique=True).map(lambda xs: (*sorted(xs), 100))


# --- running -----------------------------------------------------------------------------------


def start_run(model: ModelStacks, spec: RunSpec, journal: Path) -> tuple[ModelRunner, Journal]:
    runner = ModelRunner(model, journal)
    opened, resumed = runner.open_run(spec, lambda: runner.plan(spec, hold_seconds=0))
    assert not resumed
    return runner, opened


def refused_when_unapplied(model: ModelStacks, spec: RunSpec, journal: Path) -> bool:
    """A start whose stack files differ from what is deployed is refused before any change."""
    if not model.unapplied():
        event("ran: stack files match what is deployed")
        return False
    event("refused: stack files differ from what is deployed")
    with pytest.raises(PrecheckFailed, match="the stack files say something the stacks do not run"):
        start_run(model, spec, journal)
    assert model.calls == []
    assert not journal.exists()
    return True


def resume(model: ModelStacks, spec: RunSpec, journal: Path) -> ModelRunner:
    runner = ModelRunner(model, journal)
    found = runner.resumable(spec)
    assert found is not None
    runner.run(found, resumed=True)
    return runner


def applied_states(model: ModelStacks) -> list[Mapping[str, Applied]]:
    return [state for _, state in model.history]


def phase_of(action_id: str) -> str:
    return action_id.split("/", 1)[0] if "/" in action_id else ""


def check_traffic(model: ModelStacks, start: Mapping[str, Applied], to: Side | None) -> list[str]:
    """traffic_problems per phase: a drill moves to the standby, then back to the primary."""
    problems: list[str] = []
    phase_start = dict(start)
    for phase, target in (("cutover", "standby"), ("failback", "primary"), ("", to)):
        history = [(action, state) for action, state in model.history if phase_of(action) == phase]
        if history:
            problems += traffic_problems(phase_start, history, target)  # type: ignore[arg-type]
            phase_start = dict(history[-1][1])
    # A rollback heads back to the start: no stack gains more share than it had there.
    undo = [(action, state) for action, state in model.history if phase_of(action) == "undo"]
    if undo:
        problems += traffic_problems(start, undo, None)
    return problems


# --- properties --------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(model=start_models(), to=st.sampled_from(SIDES), steps=percents(), drill=st.booleans())
def test_every_apply_keeps_traffic_on_scaled_stacks_and_shares_whole(
    journal_dir: Path, model: ModelStacks, to: Side, steps: tuple[int, ...], drill: bool
) -> None:
    start = dict(model.applied)
    spec = RunSpec("drill" if drill else "execute", "standby" if drill else to, steps, STACKS)
    if drill:
        assume(serving_side(read_states(model, STACKS)) == "primary")
    path = fresh_journal(journal_dir)
    if refused_when_unapplied(model, spec, path):
        return
    runner, journal = start_run(model, spec, path)

    runner.run(journal, resumed=False)

    assert check_traffic(model, start, None if drill else to) == []
    assert model.one_stack_violations == []
    assert model.noop_applies == []
    assert runner.weight_mismatches == []
    end = "primary" if drill else to
    assert serving_side(read_states(model, STACKS)) == end
    assert model.served()[end] > 0 and model.served()[next(s for s in SIDES if s != end)] == 0
    assert model.applied[end].capacity == "full"
    assert model.unapplied() == {}


@PROPERTY_SETTINGS
@given(model=start_models(), to=st.sampled_from(SIDES), steps=percents(), data=st.data())
def test_rollback_after_any_prefix_returns_the_exact_start_state(
    journal_dir: Path, model: ModelStacks, to: Side, steps: tuple[int, ...], data: st.DataObject
) -> None:
    start_config, start_applied = model.snapshot()
    start = dict(model.applied)
    spec = RunSpec("execute", to, steps, STACKS)
    path = fresh_journal(journal_dir)
    if refused_when_unapplied(model, spec, path):
        return
    runner, journal = start_run(model, spec, path)
    total = sum(len(s.actions()) for s in journal.plan)
    model.crash_at = data.draw(st.integers(0, total), label="crash before call")
    model.crash_after = data.draw(st.booleans(), label="crash after it took effect")
    with contextlib.suppress(InjectedCrash):
        runner.run(journal, resumed=False)
    model.crash_at = None
    assert model.one_stack_violations == []
    # A crash between a `config set` and its `up` leaves that change waiting; the rollback's
    # first apply may be of the other stack, so "one stack at a time" is checked up to here.

    rollback = ModelRunner(model, journal.path)
    stopped = Journal.load(journal.path)
    assert stopped is not None
    rollback.rollback(stopped, "test")

    assert model.snapshot() == (start_config, start_applied)
    assert check_traffic(model, start, to) == []


@PROPERTY_SETTINGS
@given(
    model=start_models(),
    to=st.sampled_from(SIDES),
    steps=percents(),
    drill=st.booleans(),
    data=st.data(),
)
def test_resume_after_a_crash_at_any_action_ends_where_a_clean_run_ends(
    journal_dir: Path,
    *,
    model: ModelStacks,
    to: Side,
    steps: tuple[int, ...],
    drill: bool,
    data: st.DataObject,
) -> None:
    spec = RunSpec("drill" if drill else "execute", "standby" if drill else to, steps, STACKS)
    if drill:
        assume(serving_side(read_states(model, STACKS)) == "primary")
    if refused_when_unapplied(model, spec, fresh_journal(journal_dir)):
        return
    clean = ModelStacks.deployed(*model.snapshot())
    clean_runner, clean_journal = start_run(clean, spec, fresh_journal(journal_dir))
    clean_runner.run(clean_journal, resumed=False)

    runner, journal = start_run(model, spec, fresh_journal(journal_dir))
    total = sum(len(s.actions()) for s in journal.plan)
    model.crash_at = data.draw(st.integers(0, max(0, total - 1)), label="crash at call")
    model.crash_after = data.draw(st.booleans(), label="crash after it took effect")
    crashed = False
    try:
        runner.run(journal, resumed=False)
    except InjectedCrash:
        crashed = True
    if crashed:
        resume(model, spec, journal.path)

    assert model.snapshot() == clean.snapshot()
    calls = [c for c in model.calls]
    repeated = len(calls) - len(clean.calls)
    assert repeated == (1 if crashed and model.crash_after else 0), "an action ran twice"
    final = Journal.load(journal.path)
    assert final is not None and final.status == "completed"
    assert set(final.done_actions) == set(clean_journal.done_actions)


def test_an_apply_the_program_rejects_stops_the_run_with_the_journal_intact(journal_dir: Path) -> None:
    shipped = {s: shipped_cutover_config(s) for s in SIDES}
    model = ModelStacks.deployed(shipped)
    spec = RunSpec("execute", "standby", (50, 100), STACKS)
    runner, journal = start_run(model, spec, fresh_journal(journal_dir))
    model.config["primary"]["trafficWeight"] = "250"  # outside the run: the next primary apply fails

    with pytest.raises(CutoverError):
        runner.run(journal, resumed=False)

    saved = Journal.load(journal.path)
    assert saved is not None and saved.status == "running"
    assert "scale-up#1" in saved.done_actions


def test_a_stack_file_that_differs_from_what_is_deployed_is_refused_before_any_change(
    journal_dir: Path,
) -> None:
    shipped = {s: shipped_cutover_config(s) for s in SIDES}
    edited = {**shipped, "standby": {**shipped["standby"], "capacity": "full"}}
    model = ModelStacks.deployed(edited, applied=shipped)  # set, never applied
    path = fresh_journal(journal_dir)

    with pytest.raises(PrecheckFailed) as caught:
        start_run(model, RunSpec("execute", "standby", (100,), STACKS), path)

    assert "standby: capacity full in the stack file, warm deployed" in caught.value.message
    assert "failover resume" in caught.value.fix
    assert model.calls == [] and not path.exists()


def test_a_crash_after_a_config_set_took_effect_is_still_rolled_back(journal_dir: Path) -> None:
    shipped = {s: shipped_cutover_config(s) for s in SIDES}
    model = ModelStacks.deployed(shipped)
    spec = RunSpec("execute", "standby", (100,), STACKS)
    runner, journal = start_run(model, spec, fresh_journal(journal_dir))
    model.crash_at, model.crash_after = 0, True  # standby capacity set, the journal never told

    with pytest.raises(InjectedCrash):
        runner.run(journal, resumed=False)

    stopped = Journal.load(journal.path)
    assert stopped is not None and stopped.done_actions == {}
    assert stopped.attempted_actions == ["scale-up#0"]
    ModelRunner(model, journal.path).rollback(stopped, "operator asked")
    assert model.snapshot() == (shipped, shipped)


# Hand-edited weighted splits the generator reaches only now and then, run every time: weights
# summing below 100 (both records rise in a shift) and above it (both fall).
SPLITS: list[tuple[str, dict[str, Config], Side, tuple[int, ...]]] = [
    (
        "both-rise-warm-source",
        {
            "primary": {"capacity": "warm", "dnsRouting": "weighted", "trafficWeight": "10"},
            "standby": {"dnsRouting": "weighted", "trafficWeight": "1"},
        },
        "standby",
        (10, 100),
    ),
    (
        "target-share-above-the-percent",
        {
            "primary": {"capacity": "warm", "dnsRouting": "weighted", "trafficWeight": "5"},
            "standby": {"dnsRouting": "weighted", "trafficWeight": "20"},
        },
        "standby",
        (50, 100),
    ),
    (
        "both-fall",
        {
            "primary": {"dnsRouting": "weighted", "trafficWeight": "80"},
            "standby": {"capacity": "full", "dnsRouting": "weighted", "trafficWeight": "80"},
        },
        "standby",
        (60, 100),
    ),
    (
        "failback-from-one-to-one",
        {
            "primary": {"dnsRouting": "weighted", "trafficWeight": "1"},
            "standby": {"capacity": "full", "dnsRouting": "weighted", "trafficWeight": "1"},
        },
        "primary",
        (2, 100),
    ),
]


@pytest.mark.parametrize(("configs", "to", "steps"), [s[1:] for s in SPLITS], ids=[s[0] for s in SPLITS])
def test_from_a_hand_edited_split_traffic_only_moves_towards_the_target_and_rolls_back_exactly(
    journal_dir: Path, configs: dict[str, Config], to: Side, steps: tuple[int, ...]
) -> None:
    spec = RunSpec("execute", to, steps, STACKS)
    model = ModelStacks.deployed(configs)
    start = dict(model.applied)
    runner, journal = start_run(model, spec, fresh_journal(journal_dir))
    runner.run(journal, resumed=False)

    assert check_traffic(model, start, to) == []
    assert (model.one_stack_violations, model.noop_applies, runner.weight_mismatches) == ([], [], [])
    assert model.served()[to] == 100 and model.applied[to].capacity == "full"

    total = sum(len(s.actions()) for s in journal.plan)
    for crash in range(total):
        model = ModelStacks.deployed(configs)
        runner, journal = start_run(model, spec, fresh_journal(journal_dir))
        model.crash_at = crash
        with pytest.raises(InjectedCrash):
            runner.run(journal, resumed=False)
        stopped = Journal.load(journal.path)
        assert stopped is not None
        ModelRunner(model, journal.path).rollback(stopped, "test")
        assert model.snapshot() == ({s: configs[s] for s in SIDES}, {s: configs[s] for s in SIDES}), crash
        assert check_traffic(model, start, to) == [], crash
