"""Cutover plans from the shipped stack files: order, minimal changes, exact undo."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from cutover.checks import read_states
from cutover.errors import UsageError
from cutover.plan import (
    Side,
    StackState,
    Step,
    parse_percents,
    plan_cutover,
    plan_drill,
    plan_undo,
    serving_side,
)
from cutover.stack_ops import FileStackOps

ROOT = Path(__file__).resolve().parents[2]
STACKS = {"primary": "primary", "standby": "standby"}


def shipped_states() -> dict[Side, StackState]:
    return read_states(FileStackOps(ROOT, {}), STACKS)


def apply_steps(states: Mapping[Side, StackState], steps: Sequence[Step]) -> dict[Side, StackState]:
    """The states once every change of `steps` is made (checking each change's `before`)."""
    now = dict(states)
    for step in steps:
        for change in step.changes:
            assert now[change.side].raw(change.key) == change.before, f"{step.id}: stale before in {change}"
            now[change.side] = now[change.side].with_value(change.key, change.after)
    return now


def test_shipped_stacks_have_the_primary_serving() -> None:
    states = shipped_states()

    assert serving_side(states) == "primary"
    assert states["standby"].effective_capacity == "warm"
    assert states["primary"].effective_routing == "failover"


def test_cutover_to_standby_orders_scale_up_routing_shifts_then_demotion() -> None:
    steps, after = plan_cutover(shipped_states(), "standby", (10, 50, 100))

    assert [s.id for s in steps] == [
        "precheck",
        "scale-up",
        "routing",
        "shift-10",
        "shift-50",
        "shift-100",
        "demote",
    ]
    assert [c.describe() for c in steps[1].changes] == ["standby: capacity warm -> full"]
    assert [c.describe() for c in steps[2].changes] == [
        "standby: dnsRouting (unset) -> weighted",
        "primary: dnsRouting (unset) -> weighted",
    ]
    assert [dict(s.weights) for s in steps[3:6]] == [
        {"primary": 90, "standby": 10},
        {"primary": 50, "standby": 50},
        {"primary": 0, "standby": 100},
    ]
    assert [c.describe() for c in steps[-1].changes] == ["primary: capacity full -> warm"]
    assert serving_side(after) == "standby"
    assert after["primary"].effective_capacity == "warm"


def test_each_shift_applies_the_stack_gaining_traffic_first() -> None:
    steps, _ = plan_cutover(shipped_states(), "standby", (10, 50, 100))
    shifts = [s for s in steps if s.kind == "shift"]

    assert {s.applies for s in shifts} == {("standby", "primary")}
    assert [a.describe() for a in shifts[0].actions()] == [
        "pulumi config set standby: trafficWeight (unset) -> 10",
        "pulumi up -s standby",
        "pulumi config set primary: trafficWeight (unset) -> 90",
        "pulumi up -s primary",
    ]
    back, _ = plan_cutover(apply_steps(shipped_states(), steps), "primary", (25, 100))
    assert {s.applies for s in back if s.kind == "shift"} == {("primary", "standby")}


def test_failback_after_cutover_restores_the_shipped_config_exactly() -> None:
    shipped = shipped_states()
    out, after = plan_cutover(shipped, "standby", (10, 50, 100))
    back, home = plan_cutover(after, "primary", (10, 50, 100))

    assert apply_steps(apply_steps(shipped, out), back) == shipped == home
    assert [s.id for s in back] == [
        "precheck",
        "scale-up",
        "shift-10",
        "shift-50",
        "shift-100",
        "restore-routing",
        "demote",
    ]


def test_plan_continues_from_a_partial_shift() -> None:
    states = dict(shipped_states())
    sides: tuple[Side, ...] = ("primary", "standby")
    for side in sides:
        states[side] = states[side].with_value("dnsRouting", "weighted").with_value("trafficWeight", "50")
    states["standby"] = states["standby"].with_value("capacity", "full")

    steps, _ = plan_cutover(states, "standby", (10, 50, 100))

    assert [s.id for s in steps] == ["precheck", "shift-100", "demote"]


def test_plan_to_the_side_already_serving_only_checks() -> None:
    steps, after = plan_cutover(shipped_states(), "primary")

    assert [s.id for s in steps] == ["precheck"]
    assert after == shipped_states()


def test_drill_plan_goes_out_holds_and_comes_back() -> None:
    steps = plan_drill(shipped_states(), (50, 100), hold_seconds=30)

    ids = [s.id for s in steps]
    assert ids[: ids.index("cutover/hold")] == [
        "cutover/precheck",
        "cutover/scale-up",
        "cutover/routing",
        "cutover/shift-50",
        "cutover/shift-100",
        "cutover/demote",
    ]
    assert ids[ids.index("cutover/hold") + 1 :][-2:] == ["failback/restore-routing", "failback/demote"]
    assert steps[ids.index("cutover/hold")].hold_seconds == 30
    assert apply_steps(shipped_states(), steps) == shipped_states()


def test_undo_of_completed_steps_restores_previous_values_newest_first() -> None:
    steps, _ = plan_cutover(shipped_states(), "standby", (10, 50, 100))
    done = [a.id for s in steps[:5] for a in s.actions()]  # through shift-50

    undo = plan_undo(steps, done)

    assert [s.id for s in undo] == ["undo/shift-10+shift-50", "undo/routing", "undo/scale-up"]
    assert [a.describe() for a in undo[0].actions()] == [
        "pulumi config rm primary: trafficWeight 50 -> (unset)",
        "pulumi up -s primary",
        "pulumi config rm standby: trafficWeight 50 -> (unset)",
        "pulumi up -s standby",
    ]
    after = apply_steps(apply_steps(shipped_states(), steps[:5]), undo)
    assert after == shipped_states()


def test_undo_of_a_half_done_step_reverts_only_what_was_done() -> None:
    steps, _ = plan_cutover(shipped_states(), "standby", (10, 100))
    shift = next(s for s in steps if s.id == "shift-10")
    done = [a.id for s in steps[: steps.index(shift)] for a in s.actions()]
    done += [a.id for a in shift.actions()[:3]]  # standby set+up, primary set, no primary up

    undo = plan_undo(steps, done)

    # The primary's unapplied 90 is set back first, so the standby's apply runs with no change
    # of this run waiting on the primary.
    assert [a.describe() for a in undo[0].actions()] == [
        "pulumi config rm primary: trafficWeight 90 -> (unset)",
        "pulumi config rm standby: trafficWeight 10 -> (unset)",
        "pulumi up -s standby",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("10,50", "must end at 100"),
        ("50,10,100", "must rise strictly"),
        ("0,100", "must rise strictly, each between 1 and 100"),
        ("ten,100", "comma-separated integers"),
    ],
)
def test_steps_option_rejects_what_would_not_move_all_traffic(text: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem) as caught:
        parse_percents(text)
    assert "--steps 10,50,100" in caught.value.fix


def test_steps_option_accepts_a_single_jump() -> None:
    assert parse_percents("100") == (100,)
    assert parse_percents("5, 25, 100") == (5, 25, 100)


def _states(primary: dict[str, str], standby: dict[str, str]) -> dict[Side, StackState]:
    def one(side: Side, values: dict[str, str]) -> StackState:
        return StackState(
            side, side, side, values.get("capacity"), values.get("dnsRouting"), values.get("trafficWeight")
        )

    return {"primary": one("primary", primary), "standby": one("standby", standby)}


def test_a_weight_left_in_a_file_with_failover_routing_carries_no_traffic() -> None:
    # DNS ignores trafficWeight with failover routing: the primary serves, whatever the files say.
    states = _states(
        {"capacity": "full", "dnsRouting": "failover", "trafficWeight": "0"},
        {"capacity": "warm", "trafficWeight": "100"},
    )

    assert serving_side(states) == "primary"
    steps, _ = plan_cutover(states, "primary")
    assert [(s.id, dict(s.weights)) for s in steps] == [("precheck", {"primary": 100, "standby": 0})]


def test_an_unset_capacity_already_means_full_on_the_primary_and_warm_on_the_standby() -> None:
    steps, _ = plan_cutover(_states({}, {}), "primary")

    assert [s.id for s in steps] == ["precheck"]


def test_failback_from_uneven_weights_switches_the_primary_to_failover_first() -> None:
    # A standby switched first would meet a weighted primary at 50, which its DNS check rejects.
    states = _states(
        {"dnsRouting": "weighted", "trafficWeight": "50"},
        {"capacity": "warm", "dnsRouting": "weighted", "trafficWeight": "0"},
    )

    steps, after = plan_cutover(states, "primary")

    assert [s.id for s in steps] == ["precheck", "restore-routing"]
    assert steps[1].applies == ("primary", "standby")
    assert after == _states({}, {"capacity": "warm"})


def test_failback_leaves_a_failover_side_alone_and_applies_only_the_weighted_one() -> None:
    states = _states({"dnsRouting": "weighted"}, {"dnsRouting": "failover", "trafficWeight": "0"})

    steps, _ = plan_cutover(states, "primary")

    assert [(s.id, s.applies) for s in steps] == [("precheck", ()), ("restore-routing", ("primary",))]


def test_a_shift_does_not_set_a_weight_that_already_has_its_value_by_default() -> None:
    states = _states(
        {"dnsRouting": "weighted"},
        {"capacity": "full", "dnsRouting": "weighted", "trafficWeight": "100"},
    )

    steps, _ = plan_cutover(states, "primary", (100,))

    shift = next(s for s in steps if s.kind == "shift")
    assert [c.describe() for c in shift.changes] == ["standby: trafficWeight 100 -> 0"]
    assert shift.applies == ("standby",)


# --- the pieces a plan is made of ----------------------------------------------------------------


def test_steps_option_messages_and_what_it_accepts() -> None:
    fix = "pass e.g. --steps 10,50,100 (rising percentages of traffic on the target, ending at 100)"
    cases = {
        "ten,100": "--steps must be comma-separated integers (got 'ten,100')",
        "": "--steps must end at 100 so all traffic moves (got '')",
        "50": "--steps must end at 100 so all traffic moves (got '50')",
        "100,100": "--steps must rise strictly, each between 1 and 100 (got '100,100')",
        "0,100": "--steps must rise strictly, each between 1 and 100 (got '0,100')",
        "50,101,100": "--steps must rise strictly, each between 1 and 100 (got '50,101,100')",
    }
    for text, message in cases.items():
        with pytest.raises(UsageError) as caught:
            parse_percents(text)
        assert (caught.value.message, caught.value.fix) == (message, fix), text
    assert parse_percents("1,99,100") == (1, 99, 100)
    assert parse_percents("10,,100") == (10, 100)


def test_stack_state_reads_defaults_by_role_and_ignores_a_weight_that_is_not_a_number() -> None:
    from cutover.plan import weight_value

    primary = StackState("primary", "prod", "primary", weight="lots")
    standby = StackState("standby", "dr", "standby", routing="weighted", weight="30")

    assert (primary.effective_capacity, primary.effective_routing, primary.effective_weight) == (
        "full",
        "failover",
        100,
    )
    assert (standby.effective_capacity, standby.served_weight) == ("warm", 30)
    assert StackState("standby", "dr", "standby", weight="x").effective_weight == 0
    assert primary.to_dict() == {
        "side": "primary",
        "stack": "prod",
        "role": "primary",
        "capacity": "full",
        "dnsRouting": "failover",
        "trafficWeight": 100,
    }
    assert (weight_value("primary", None), weight_value("standby", None)) == (100, 0)
    assert (weight_value("primary", "x"), weight_value("standby", "x"), weight_value("standby", "7")) == (
        100,
        0,
        7,
    )
    assert standby.raw("trafficWeight") == "30" and standby.raw("dnsRouting") == "weighted"
    assert standby.with_value("capacity", "full").raw("capacity") == "full"


def test_serving_side_is_none_while_traffic_is_split_or_nowhere() -> None:
    split = _states(
        {"dnsRouting": "weighted", "trafficWeight": "50"}, {"dnsRouting": "weighted", "trafficWeight": "50"}
    )
    nowhere = _states(
        {"dnsRouting": "weighted", "trafficWeight": "0"}, {"dnsRouting": "weighted", "trafficWeight": "0"}
    )
    standby = _states(
        {"dnsRouting": "weighted", "trafficWeight": "0"}, {"dnsRouting": "weighted", "trafficWeight": "1"}
    )

    assert (serving_side(split), serving_side(nowhere), serving_side(standby)) == (None, None, "standby")


def test_changes_actions_and_steps_describe_themselves_and_round_trip() -> None:
    from cutover.plan import Action, Change, phase

    change = Change("standby", "dr", "trafficWeight", None, "10")
    removal = Change("primary", "prod", "dnsRouting", "weighted", None)
    assert change.describe() == "dr: trafficWeight (unset) -> 10"
    assert Change.from_dict(change.to_dict()) == change
    assert change.to_dict() == {
        "side": "standby",
        "stack": "dr",
        "key": "trafficWeight",
        "before": None,
        "after": "10",
    }
    assert (
        Action("a", "set", "standby", "dr", change).describe()
        == "pulumi config set dr: trafficWeight (unset) -> 10"
    )
    assert Action("b", "set", "primary", "prod", removal).describe() == (
        "pulumi config rm prod: dnsRouting weighted -> (unset)"
    )
    assert Action("c", "up", "standby", "dr").describe() == "pulumi up -s dr"

    step = Step(
        "s", "shift", "t", "standby", (change, removal), ("standby",), {"primary": 90, "standby": 10}, 5.0
    )
    data = step.to_dict()
    assert data["actions"] == [
        "pulumi config rm prod: dnsRouting weighted -> (unset)",
        "pulumi config set dr: trafficWeight (unset) -> 10",
        "pulumi up -s dr",
    ]
    assert [a.id for a in step.actions()] == ["s#0", "s#1", "s#2"]
    assert Step.from_dict(data) == step
    data.pop("hold_seconds")
    assert Step.from_dict(data).hold_seconds == 0.0
    assert (phase("cutover/shift-10"), phase("failback/a/b"), phase("shift-10")) == (
        "cutover",
        "failback",
        "",
    )


def test_an_apply_without_a_change_on_its_side_uses_the_side_name() -> None:
    step = Step("s", "scale-up", "t", "standby", (), ("standby",))
    assert [a.describe() for a in step.actions()] == ["pulumi up -s standby"]


def test_unapplied_compares_the_file_with_the_outputs_it_has() -> None:
    from cutover.plan import unapplied

    state = StackState("standby", "dr", "standby", "full", "weighted", "30")
    outputs = {"capacity": "warm", "dns": {"routing": "failover", "weight": 0.0}}

    assert unapplied(state, outputs) == [
        "capacity full in the stack file, warm deployed",
        "dnsRouting weighted in the stack file, failover deployed",
        "trafficWeight 30 in the stack file, 0 deployed",
    ]
    assert unapplied(state, {"capacity": "full", "dns": {"routing": "weighted", "weight": 30}}) == []
    assert unapplied(state, {}) == []
    assert unapplied(state, {"dns": "not a mapping", "capacity": "full"}) == []


def test_drill_holds_on_the_standby_for_the_given_time() -> None:
    steps = plan_drill(shipped_states(), (100,), hold_seconds=45.5)

    hold = next(s for s in steps if s.kind == "hold")
    assert (hold.id, hold.title, hold.target, hold.hold_seconds) == (
        "cutover/hold",
        "hold on standby for 45.5s, verifying",
        "standby",
        45.5,
    )
    assert dict(hold.weights) == {"primary": 0, "standby": 100}
    assert (
        plan_drill(shipped_states())[len(plan_cutover(shipped_states(), "standby")[0])].hold_seconds == 120.0
    )


def test_step_titles_name_the_stacks_and_targets() -> None:
    steps, _ = plan_cutover(shipped_states(), "standby", (30, 100))
    assert [s.title for s in steps] == [
        "pre-checks: standby healthy and serving the model, stores in parity",
        "scale standby (standby) to full capacity",
        "switch DNS to weighted routing (no traffic moves yet)",
        "shift 30% of traffic to standby",
        "shift 100% of traffic to standby",
        "demote primary (primary) to warm capacity",
    ]
    back, _ = plan_cutover(apply_steps(shipped_states(), steps), "primary", (100,))
    assert back[-2].title == "return DNS to failover routing (primary serves, standby takes over on failure)"
    assert all(s.target == "standby" for s in steps) and all(s.target == "primary" for s in back)


def test_undo_titles_list_the_inverse_changes_and_keep_separate_steps_apart() -> None:
    steps, _ = plan_cutover(shipped_states(), "standby", (10, 100))
    done = [a.id for s in steps for a in s.actions()]

    undo = plan_undo(steps, done)

    assert [s.id for s in undo] == ["undo/demote", "undo/shift-10+shift-100", "undo/routing", "undo/scale-up"]
    assert undo[0].title == "undo demote: primary: capacity warm -> full"
    assert undo[-1].title == "undo scale-up: standby: capacity full -> warm"
    assert all(s.kind == "undo" and s.weights == {} for s in undo)
    assert undo[1].target == "standby"
    assert plan_undo(steps, []) == []


def test_every_step_has_its_kind_and_the_weights_once_it_is_done() -> None:
    steps, after = plan_cutover(shipped_states(), "standby", (50, 100))
    back, _ = plan_cutover(after, "primary", (100,))

    assert [(s.id, s.kind, dict(s.weights)) for s in [*steps, *back]] == [
        ("precheck", "precheck", {"primary": 100, "standby": 0}),
        ("scale-up", "scale-up", {"primary": 100, "standby": 0}),
        ("routing", "routing", {"primary": 100, "standby": 0}),
        ("shift-50", "shift", {"primary": 50, "standby": 50}),
        ("shift-100", "shift", {"primary": 0, "standby": 100}),
        ("demote", "demote", {"primary": 0, "standby": 100}),
        ("precheck", "precheck", {"primary": 0, "standby": 100}),
        ("scale-up", "scale-up", {"primary": 0, "standby": 100}),
        ("shift-100", "shift", {"primary": 100, "standby": 0}),
        ("restore-routing", "routing", {"primary": 100, "standby": 0}),
        ("demote", "demote", {"primary": 100, "standby": 0}),
    ]


def test_the_rising_side_is_applied_first_whatever_the_fallback_order() -> None:
    from cutover.plan import Change, _rising_first

    rise = Change("primary", "p", "trafficWeight", "50", None)
    fall = Change("standby", "s", "trafficWeight", "50", "0")
    routing = Change("standby", "s", "dnsRouting", "weighted", None)

    assert _rising_first([fall, rise], ("standby", "primary")) == ("primary", "standby")
    assert _rising_first([routing, rise], ("standby", "primary")) == ("primary", "standby")
    # No weight moves: the fallback order decides, for the sides that change.
    assert _rising_first([routing], ("primary", "standby")) == ("standby",)
    assert _rising_first(
        [routing, Change("primary", "p", "dnsRouting", None, "weighted")], ("standby", "primary")
    ) == (
        "standby",
        "primary",
    )
    # Equal deltas: a side missing from the fallback sorts with its first place, in change order.
    same = [
        Change("primary", "p", "dnsRouting", None, "x"),
        Change("standby", "s", "trafficWeight", "0", "0"),
    ]
    assert _rising_first(same, ("standby",)) == ("primary", "standby")


def test_a_primary_at_weight_one_still_serves_alone() -> None:
    states = _states(
        {"dnsRouting": "weighted", "trafficWeight": "1"}, {"dnsRouting": "weighted", "trafficWeight": "0"}
    )
    assert serving_side(states) == "primary"


def test_an_undo_step_sets_back_unapplied_sides_once_each_then_applies() -> None:
    from cutover.plan import Change

    step = Step(
        "undo/x",
        "undo",
        "t",
        "primary",
        (
            Change("primary", "p", "dnsRouting", "weighted", None),
            Change("standby", "s", "trafficWeight", "100", None),
            Change("primary", "p", "trafficWeight", "0", None),
        ),
        ("standby",),
    )

    assert [(a.id, a.kind, a.side, a.describe()) for a in step.actions()] == [
        ("undo/x#0", "set", "primary", "pulumi config rm p: dnsRouting weighted -> (unset)"),
        ("undo/x#1", "set", "primary", "pulumi config rm p: trafficWeight 0 -> (unset)"),
        ("undo/x#2", "set", "standby", "pulumi config rm s: trafficWeight 100 -> (unset)"),
        ("undo/x#3", "up", "standby", "pulumi up -s s"),
    ]


def test_failback_returns_a_weighted_standby_to_failover_and_leaves_the_primary() -> None:
    states = _states({}, {"dnsRouting": "weighted", "trafficWeight": "0"})

    steps, after = plan_cutover(states, "primary")

    assert [(s.id, s.applies) for s in steps] == [("precheck", ()), ("restore-routing", ("standby",))]
    assert after == _states({}, {})


def test_a_drill_uses_the_same_steps_both_ways() -> None:
    ids = [s.id for s in plan_drill(shipped_states(), (100,))]
    assert [i for i in ids if "shift" in i] == ["cutover/shift-100", "failback/shift-100"]


def test_an_undo_title_lists_every_inverse_change() -> None:
    steps, _ = plan_cutover(shipped_states(), "standby", (100,))
    routing = next(s for s in steps if s.id == "routing")
    done = [a.id for s in steps[: steps.index(routing) + 1] for a in s.actions()]

    undo = plan_undo(steps, done)

    assert undo[0].title == (
        "undo routing: standby: dnsRouting weighted -> (unset), primary: dnsRouting weighted -> (unset)"
    )


# --- hand-edited weights that do not sum to 100: shares, not raw weights -----------------------


def _split(primary: str, standby: str, primary_capacity: str = "full") -> dict[Side, StackState]:
    return _states(
        {"capacity": primary_capacity, "dnsRouting": "weighted", "trafficWeight": primary},
        {"dnsRouting": "weighted", "trafficWeight": standby},
    )


def _shifts(steps: Sequence[Step]) -> list[tuple[str, list[str], tuple[Side, ...]]]:
    return [(s.id, [c.describe() for c in s.changes], s.applies) for s in steps if s.kind == "shift"]


def test_a_percent_the_target_already_has_as_its_share_is_skipped() -> None:
    # standby 20 against primary 5 is 80 % on the standby: a shift to 50 would move traffic back.
    steps, after = plan_cutover(_split("5", "20", "warm"), "standby", (50, 100))

    assert _shifts(steps) == [
        (
            "shift-100",
            ["standby: trafficWeight 20 -> 100", "primary: trafficWeight 5 -> 0"],
            ("standby", "primary"),
        )
    ]
    assert (after["primary"].weight, after["standby"].weight) == ("0", "100")


@pytest.mark.parametrize(
    ("primary", "standby", "percent", "planned"),
    [
        ("1", "1", 50, False),  # 50 % exactly: nothing to do
        ("1", "1", 51, True),
        ("30", "90", 75, False),  # 90 / 120 = 75 %
        ("30", "90", 76, True),
        ("0", "7", 99, False),  # all of it already
    ],
)
def test_a_shift_is_planned_only_above_the_targets_share(
    primary: str, standby: str, percent: int, planned: bool
) -> None:
    steps, _ = plan_cutover(_split(primary, standby), "standby", (percent, 100))

    assert any(s.id == f"shift-{percent}" for s in steps) is planned


def test_when_both_weights_rise_the_target_is_applied_first() -> None:
    # standby 1 against a warm primary at 10 is 9 %: the 10 % step raises both records. Raising the
    # primary first would give the warm primary 90 of 91.
    steps, _ = plan_cutover(_split("10", "1", "warm"), "standby", (10, 100))

    assert _shifts(steps)[0] == (
        "shift-10",
        ["standby: trafficWeight 1 -> 10", "primary: trafficWeight 10 -> 90"],
        ("standby", "primary"),
    )


def test_when_both_weights_fall_the_source_is_lowered_first() -> None:
    # 80/80 is 50 % each: the 60 % step lowers both records. Lowering the standby first would
    # drop its share to 60/140; lowering the primary first raises it to 80/120, then 60 %.
    steps, _ = plan_cutover(_split("80", "80"), "standby", (60, 100))

    assert _shifts(steps)[0] == (
        "shift-60",
        ["standby: trafficWeight 80 -> 60", "primary: trafficWeight 80 -> 40"],
        ("primary", "standby"),
    )


def test_the_undo_of_a_shift_from_a_split_lowers_the_source_first() -> None:
    # Back from 10/90 to 1/10 (standby/primary): lowering the warm primary first keeps its share
    # below where it started (10 of 20, not 90 of 91).
    steps, _ = plan_cutover(_split("10", "1", "warm"), "standby", (10, 100))
    done = [a.id for s in steps if s.id in ("precheck", "scale-up", "shift-10") for a in s.actions()]

    undo = plan_undo(steps, done)

    assert [(u.id, u.applies) for u in undo] == [
        ("undo/shift-10", ("primary", "standby")),
        ("undo/scale-up", ("standby",)),
    ]


def test_the_share_of_no_traffic_at_all_is_no_share() -> None:
    from cutover.plan import _share_at_least

    both_zero = _split("0", "0")
    assert not _share_at_least(both_zero, "standby", 1)
    assert _share_at_least(_split("0", "3"), "standby", 100)
    assert not _share_at_least(_split("1", "3"), "standby", 76)
    assert _share_at_least(_split("1", "3"), "standby", 75)
    # A sum of 1 is whole: that one record carries everything.
    assert _share_at_least(_split("0", "1"), "standby", 99)
    # 1 of 101 is just under 1 %.
    assert not _share_at_least(_split("100", "1"), "standby", 1)
    assert _share_at_least(_split("99", "1"), "standby", 1)


def test_apply_order_rising_then_unchanged_then_falling_weights() -> None:
    from cutover.plan import Change, _rising_first

    # An unset primary weight is 100: set to 50 it falls, so the standby (routing only) goes first.
    falls = Change("primary", "p", "trafficWeight", None, "50")
    neutral = Change("standby", "s", "dnsRouting", None, "weighted")
    assert _rising_first([falls, neutral], ("primary", "standby")) == ("standby", "primary")
    # A rise of 1 is a rise.
    rises = Change("primary", "p", "trafficWeight", "50", "51")
    assert _rising_first([neutral, rises], ("standby", "primary")) == ("primary", "standby")
    # An unset standby weight is 0: set to 1 it rises.
    assert _rising_first(
        [
            neutral,
            Change("primary", "p", "dnsRouting", None, "weighted"),
            Change("standby", "s", "trafficWeight", None, "1"),
        ],
        ("primary", "standby"),
    ) == ("standby", "primary")


@pytest.mark.parametrize("authority", ["powerdns", "gcp"])
def test_a_record_owned_by_the_standby_is_applied_last_in_every_step(authority: str) -> None:
    """Cloud DNS and PowerDNS: the standby writes both weights, reading the primary's from its last
    applied output, so the primary goes first and the standby's apply publishes the step exactly."""
    from cutover.plan import StackState, plan_cutover, plan_drill, plan_undo, record_owner

    owner = record_owner(authority)
    assert owner == "standby" and record_owner("aws") is None and record_owner("azure") is None
    states = {
        "primary": StackState("primary", "primary", "primary"),
        "standby": StackState("standby", "standby", "standby"),
    }
    drill = plan_drill(states, (10, 50, 100), 1.0, record_owner=owner)
    moving = [s for s in drill if s.kind in ("routing", "shift") and len(s.applies) == 2]
    assert moving and all(s.applies == ("primary", "standby") for s in moving)
    steps, _ = plan_cutover(states, "standby", (10, 50, 100), record_owner=owner)
    done = [a.id for s in steps for a in s.actions()]
    undo = plan_undo(steps, done, record_owner=owner)
    assert all(s.applies[-1] == "standby" for s in undo if len(s.applies) == 2)
    # Without an owner the rising side still goes first (Route 53, Traffic Manager).
    plain, _ = plan_cutover(states, "standby", (10, 50, 100))
    assert next(s.applies for s in plain if s.kind == "shift") == ("standby", "primary")


def test_the_routing_step_runs_while_either_side_is_not_weighted_and_pins_leftover_weights() -> None:
    # Half switched (the primary weighted at 100, the standby on failover): still a routing step.
    half, _ = plan_cutover(_states({"dnsRouting": "weighted", "trafficWeight": "100"}, {}), "standby", (100,))
    routing = next(s for s in half if s.id == "routing")
    assert [c.describe() for c in routing.changes] == ["standby: dnsRouting (unset) -> weighted"]
    # Failover with leftover weights (primary 0, standby 100, ignored by DNS): pinned to 100/0 first.
    leftover = _states({"trafficWeight": "0"}, {"capacity": "full", "trafficWeight": "100"})
    steps, _ = plan_cutover(leftover, "standby", (100,))
    routing = next(s for s in steps if s.id == "routing")
    assert [c.describe() for c in routing.changes] == [
        "standby: dnsRouting (unset) -> weighted",
        "primary: dnsRouting (unset) -> weighted",
        "primary: trafficWeight 0 -> 100",
        "standby: trafficWeight 100 -> 0",
    ]
    assert dict(routing.weights) == {"primary": 100, "standby": 0}


def test_a_rollback_is_ordered_by_what_the_stacks_run_not_by_a_change_no_apply_followed() -> None:
    # A hand-edited split with a warm primary: shift-51 applied both stacks (primary 49, standby
    # 51); shift-100's first change (standby 51 -> 100) was set but never applied. Both stacks run
    # below their start weights, so both rise on the way back, and the undo keeps the run's
    # reverse order: had the unapplied 100 counted, the standby would seem to fall and the warm
    # primary would go first and gain share.
    states = {
        "primary": StackState("primary", "primary", "primary", "warm", "weighted", "50"),
        "standby": StackState("standby", "standby", "standby", "full", "weighted", "52"),
    }
    plan, _ = plan_cutover(states, "standby", (51, 100))
    done = [a.id for s in plan if s.id == "shift-51" for a in s.actions()] + ["shift-100#0"]

    undo = plan_undo(plan, done)

    assert [(s.id, s.applies) for s in undo] == [("undo/shift-51+shift-100", ("standby", "primary"))]
    assert [c.describe() for c in undo[0].changes] == [
        "primary: trafficWeight 49 -> 50",
        "standby: trafficWeight 100 -> 52",
    ]
