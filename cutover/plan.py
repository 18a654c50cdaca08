"""Cutover plans: the ordered steps that move traffic from one stack to the other.

A plan is computed from the stacks' current config (`StackState`) and is pure data: every step
lists the config changes it makes (with the value before, so it can be undone exactly) and the
stacks it applies, in order. Steps that would change nothing are left out, so planning again
after a partial run only plans what is left.

Order of a cutover to side T from side S (`--to T`):
  precheck          T healthy and serving the model, object stores in parity (no change)
  scale-up          T capacity -> full, apply T
  routing           dnsRouting -> weighted on both, weights pinned to S=100/T=0 (no shift yet)
  shift-N ...       trafficWeight T=N, S=100-N; the stack whose weight rises is applied first,
                    so there is never a moment where both records carry less than 100 in total
  restore-routing   failback only: back to failover routing, weights unset (the shipped state)
  demote            S capacity -> warm, apply S
A drill is a cutover to standby, a hold, and a cutover back to primary, as one plan.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from cutover.errors import UsageError

Side = Literal["primary", "standby"]
SIDES: tuple[Side, ...] = ("primary", "standby")
StepKind = Literal[
    "precheck", "scale-up", "routing", "shift", "hold", "demote", "undo", "stage-key", "promote-key"
]

CAPACITY = "capacity"
ROUTING = "dnsRouting"
WEIGHT = "trafficWeight"
DEFAULT_PERCENTS: tuple[int, ...] = (10, 50, 100)


SINGLE_OWNER_AUTHORITIES: frozenset[str] = frozenset({"gcp", "powerdns"})
"""dnsProvider values whose one record holds both sides' weights, written by the standby
(components/dns: Cloud DNS's record set, PowerDNS's LUA record; serviceRecordOwner 'standby')."""


def record_owner(dns_provider: str | None) -> Side | None:
    """The stack whose apply writes both sides' weights into the record, or None (each its own)."""
    return "standby" if dns_provider in SINGLE_OWNER_AUTHORITIES else None


def other(side: Side) -> Side:
    return "standby" if side == "primary" else "primary"


def parse_percents(text: str) -> tuple[int, ...]:
    """`10,50,100` -> (10, 50, 100); strictly rising, each 1-100, ending at 100."""
    fix = "pass e.g. --steps 10,50,100 (rising percentages of traffic on the target, ending at 100)"
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--steps must be comma-separated integers (got '{text}')", fix) from None
    if not values or values[-1] != 100:
        raise UsageError(f"--steps must end at 100 so all traffic moves (got '{text}')", fix)
    if any(v < 1 or v > 100 for v in values) or any(b <= a for a, b in itertools.pairwise(values)):
        raise UsageError(f"--steps must rise strictly, each between 1 and 100 (got '{text}')", fix)
    return values


@dataclass(frozen=True)
class StackState:
    """The cutover-relevant config of one stack, raw as the stack file holds it (None = unset)."""

    side: Side
    stack: str
    role: str
    capacity: str | None = None
    routing: str | None = None
    weight: str | None = None

    @property
    def effective_capacity(self) -> str:
        return self.capacity or ("warm" if self.role == "standby" else "full")

    @property
    def effective_routing(self) -> str:
        return self.routing or "failover"

    @property
    def effective_weight(self) -> int:
        if self.weight is not None:
            try:
                return int(self.weight)
            except ValueError:
                pass
        return 100 if self.role == "primary" else 0

    @property
    def served_weight(self) -> int:
        """The share DNS gives this stack once applied: the weight in weighted routing, else by role.

        This is the DNS component's rule (`FailoverRecordArgs.effective_weight`): with failover
        routing a trafficWeight in the stack file is ignored, so it says nothing about traffic.
        """
        if self.effective_routing == "weighted":
            return self.effective_weight
        return 100 if self.role == "primary" else 0

    def raw(self, key: str) -> str | None:
        return {CAPACITY: self.capacity, ROUTING: self.routing, WEIGHT: self.weight}[key]

    def with_value(self, key: str, value: str | None) -> StackState:
        if key == CAPACITY:
            return replace(self, capacity=value)
        if key == ROUTING:
            return replace(self, routing=value)
        return replace(self, weight=value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "stack": self.stack,
            "role": self.role,
            "capacity": self.effective_capacity,
            "dnsRouting": self.effective_routing,
            "trafficWeight": self.effective_weight,
        }


States = Mapping[Side, StackState]


def serving_side(states: States) -> Side | None:
    """The side that carries all traffic by config (weighted 100/0 or failover primary), else None."""
    primary, standby = states["primary"].served_weight, states["standby"].served_weight
    if primary > 0 and standby == 0:
        return "primary"
    if standby > 0 and primary == 0:
        return "standby"
    return None


def unapplied(state: StackState, outputs: Mapping[str, Any]) -> list[str]:
    """What `state` (the stack file) says that the stack's last `pulumi up` did not deploy.

    Read from the stack's `capacity` output and its `dns` output (effective routing and weight);
    an output the stack does not have is not compared. A plan is computed from the stack files,
    so it is only right when they are what is deployed.
    """
    found: list[str] = []
    dns = outputs.get("dns")
    dns = dns if isinstance(dns, Mapping) else {}
    deployed = {
        CAPACITY: outputs.get("capacity"),
        ROUTING: dns.get("routing"),
        WEIGHT: None if dns.get("weight") is None else int(dns["weight"]),
    }
    wanted = {
        CAPACITY: state.effective_capacity,
        ROUTING: state.effective_routing,
        WEIGHT: state.served_weight,
    }
    for key, value in wanted.items():
        if deployed[key] is not None and deployed[key] != value:
            found.append(f"{key} {value} in the stack file, {deployed[key]} deployed")
    return found


@dataclass(frozen=True)
class Change:
    side: Side
    stack: str
    key: str
    before: str | None
    after: str | None
    """None removes the key from the stack (back to the schema default)."""

    def describe(self) -> str:
        def show(value: str | None) -> str:
            return "(unset)" if value is None else value

        return f"{self.stack}: {self.key} {show(self.before)} -> {show(self.after)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "stack": self.stack,
            "key": self.key,
            "before": self.before,
            "after": self.after,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Change:
        return Change(cast(Side, data["side"]), data["stack"], data["key"], data["before"], data["after"])


@dataclass(frozen=True)
class Action:
    """One config change or one apply; the journal records each as it completes."""

    id: str
    kind: Literal["set", "up"]
    side: Side
    stack: str
    change: Change | None = None

    def describe(self) -> str:
        if self.change is not None:
            verb = "pulumi config rm" if self.change.after is None else "pulumi config set"
            return f"{verb} {self.change.describe()}"
        return f"pulumi up -s {self.stack}"


@dataclass(frozen=True)
class Step:
    id: str
    kind: StepKind
    title: str
    target: Side
    """The side traffic is moving to in this part of the run (what verification probes)."""
    changes: tuple[Change, ...] = ()
    applies: tuple[Side, ...] = ()
    """Stacks to apply, in order; each stack's changes are set just before its apply."""
    weights: Mapping[Side, int] = field(default_factory=dict)
    """Effective trafficWeight of each side once the step is done."""
    hold_seconds: float = 0.0

    def actions(self) -> list[Action]:
        result: list[Action] = []
        # Sides changed but not applied (only in undo steps: a change whose apply never ran) go
        # first, so no apply ever runs while the other stack holds a change of this run unapplied.
        order = [c.side for c in self.changes if c.side not in self.applies] + list(self.applies)
        seen: set[Side] = set()
        for side in order:
            if side in seen:
                continue
            seen.add(side)
            for change in self.changes:
                if change.side == side:
                    result.append(Action(f"{self.id}#{len(result)}", "set", side, change.stack, change))
            if side in self.applies:
                stack = next((c.stack for c in self.changes if c.side == side), side)
                result.append(Action(f"{self.id}#{len(result)}", "up", side, stack))
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "target": self.target,
            "changes": [c.to_dict() for c in self.changes],
            "applies": list(self.applies),
            "weights": dict(self.weights),
            "hold_seconds": self.hold_seconds,
            "actions": [a.describe() for a in self.actions()],
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Step:
        return Step(
            id=data["id"],
            kind=data["kind"],
            title=data["title"],
            target=data["target"],
            changes=tuple(Change.from_dict(c) for c in data["changes"]),
            applies=tuple(data["applies"]),
            weights={cast(Side, k): int(v) for k, v in data["weights"].items()},
            hold_seconds=float(data.get("hold_seconds", 0.0)),
        )


def _changes(states: dict[Side, StackState], wanted: Iterable[tuple[Side, str, str | None]]) -> list[Change]:
    """Changes that bring `states` to the wanted values (skipping those already there); updates states."""
    result: list[Change] = []
    for side, key, value in wanted:
        state = states[side]
        if state.raw(key) != value:
            result.append(Change(side, state.stack, key, state.raw(key), value))
            states[side] = state.with_value(key, value)
    return result


def _weights(states: Mapping[Side, StackState]) -> dict[Side, int]:
    """The share each side's DNS record carries in `states` (what verification expects to see)."""
    return {side: states[side].served_weight for side in SIDES}


def weight_value(side: Side, raw: str | None) -> int:
    """Effective trafficWeight of `raw` on `side`; unset means 100 on primary, 0 on standby."""
    if raw is not None:
        try:
            return int(raw)
        except ValueError:
            pass
    return 100 if side == "primary" else 0


def _rising_first(
    changes: Sequence[Change], fallback: Sequence[Side], owner: Side | None = None
) -> tuple[Side, ...]:
    """Apply order: the stack whose weight rises goes first, so the records never sum below 100.

    When both weights move the same way (hand-edited weights that do not sum to 100), the sum
    stays whole in either order, and `fallback` decides: the caller puts first the side whose
    apply moves share towards where traffic should go.

    With a record owned by one stack (`owner`: Cloud DNS, PowerDNS; the standby writes both sides'
    weights, reading the other's from its last applied `dns` output), the other stack goes first
    and the owner last, so the owner's apply writes both new weights in one change.
    """
    sides = list(dict.fromkeys(c.side for c in changes))
    if owner is not None:
        return tuple(sorted(sides, key=lambda side: side == owner))

    def delta(side: Side) -> int:
        for c in changes:
            if c.side == side and c.key == WEIGHT:
                return weight_value(side, c.after) - weight_value(side, c.before)
        return 0

    def direction(side: Side) -> int:
        return (delta(side) < 0) - (delta(side) > 0)

    if not any(c.key == WEIGHT for c in changes):
        return tuple(s for s in fallback if s in sides)
    return tuple(sorted(sides, key=lambda s: (direction(s), list(fallback).index(s) if s in fallback else 0)))


def _share_at_least(states: Mapping[Side, StackState], side: Side, percent: int) -> bool:
    """`side` already carries at least `percent` % of the traffic: its share of the records' sum.

    Hand-edited weights need not sum to 100 (weighted routing splits by weight / sum), so the
    weight alone says nothing: 20 against 5 is 80 %, 30 against 90 is 25 %.
    """
    total = sum(states[s].served_weight for s in SIDES)
    return total > 0 and 100 * states[side].served_weight >= percent * total


def plan_cutover(
    states: States,
    to: Side,
    percents: Sequence[int] = DEFAULT_PERCENTS,
    prefix: str = "",
    *,
    record_owner: Side | None = None,
) -> tuple[list[Step], dict[Side, StackState]]:
    """The steps that move all traffic to `to`, and the stack states once they are done.

    When `to` already serves all traffic by config, only capacity steps remain (if any).
    `record_owner`: the stack that writes the whole DNS record (see `record_owner`), applied last.
    Each part below plans against the states the parts before it leave (`now`, updated in place).
    """
    now: dict[Side, StackState] = dict(states)
    steps = [_precheck(now, to, prefix), *_scale_up(now, to, prefix)]
    if serving_side(now) != to:
        steps += _routing(now, to, prefix, record_owner)
        steps += _shifts(now, to, percents, prefix, record_owner)
    steps += _restore_routing(now, to, prefix)
    steps += _demote(now, to, prefix)
    return steps, now


def _precheck(now: dict[Side, StackState], to: Side, prefix: str) -> Step:
    title = f"pre-checks: {to} healthy and serving the model, stores in parity"
    return Step(f"{prefix}precheck", "precheck", title, to, weights=_weights(now))


def _scale_up(now: dict[Side, StackState], to: Side, prefix: str) -> list[Step]:
    # Compared by effective value: an unset capacity on the primary already means full.
    scale = _changes(now, [(to, CAPACITY, "full")]) if now[to].effective_capacity != "full" else []
    if not scale:
        return []
    title = f"scale {to} ({now[to].stack}) to full capacity"
    return [Step(f"{prefix}scale-up", "scale-up", title, to, tuple(scale), (to,), _weights(now))]


def _routing(now: dict[Side, StackState], to: Side, prefix: str, owner: Side | None) -> list[Step]:
    """Both sides to weighted routing, the weights pinned to the side being left: nothing moves yet."""
    source = other(to)
    if now[source].effective_routing == "weighted" and now[to].effective_routing == "weighted":
        return []
    wanted: list[tuple[Side, str, str | None]] = [(to, ROUTING, "weighted"), (source, ROUTING, "weighted")]
    if now[source].effective_weight != 100:
        wanted.append((source, WEIGHT, "100"))
    if now[to].effective_weight != 0:
        wanted.append((to, WEIGHT, "0"))
    pinned = _changes(now, wanted)
    return [
        Step(
            f"{prefix}routing",
            "routing",
            "switch DNS to weighted routing (no traffic moves yet)",
            to,
            tuple(pinned),
            _rising_first(pinned, (to, source), owner),
            _weights(now),
        )
    ]


def _shifts(
    now: dict[Side, StackState], to: Side, percents: Sequence[int], prefix: str, owner: Side | None
) -> list[Step]:
    """One step per percentage not reached yet: `to` at that weight, the source at the rest."""
    source = other(to)
    steps: list[Step] = []
    for percent in percents:
        if percent != 100 and _share_at_least(now, to, percent):
            continue
        # By effective value: an unset weight already means 100 on the primary, 0 on the standby.
        targets = ((to, percent), (source, 100 - percent))
        # Both weights can move the same way when they did not sum to 100: then the apply
        # that moves share towards `to` goes first (raise `to`, or else lower `source`), so
        # the source never gains share, however warm it is.
        first = (to, source) if percent > now[to].effective_weight else (source, to)
        shift = _changes(
            now,
            [(side, WEIGHT, str(value)) for side, value in targets if now[side].effective_weight != value],
        )
        if shift:
            steps.append(
                Step(
                    f"{prefix}shift-{percent}",
                    "shift",
                    f"shift {percent}% of traffic to {to}",
                    to,
                    tuple(shift),
                    _rising_first(shift, first, owner),
                    _weights(now),
                )
            )
    return steps


def _restore_routing(now: dict[Side, StackState], to: Side, prefix: str) -> list[Step]:
    """Back home: return to health-checked failover routing, the stack files' normal state.

    Only weighted sides change (a side already on failover would be applied for nothing), the
    primary first: on failover it weighs 100, which the standby's check accepts whatever the
    standby's mode and weight (0 here), while a standby switched first is rejected unless the
    primary happens to weigh exactly 100.
    """
    weighted = [side for side in SIDES if now[side].effective_routing == "weighted"]
    if to != "primary" or serving_side(now) != "primary" or not weighted:
        return []
    restore = _changes(now, [(side, key, None) for side in weighted for key in (ROUTING, WEIGHT)])
    return [
        Step(
            f"{prefix}restore-routing",
            "routing",
            "return DNS to failover routing (primary serves, standby takes over on failure)",
            to,
            tuple(restore),
            tuple(s for s in (to, other(to)) if any(c.side == s for c in restore)),
            _weights(now),
        )
    ]


def _demote(now: dict[Side, StackState], to: Side, prefix: str) -> list[Step]:
    source = other(to)
    demote = _changes(now, [(source, CAPACITY, "warm")]) if now[source].effective_capacity != "warm" else []
    if not demote:
        return []
    title = f"demote {source} ({now[source].stack}) to warm capacity"
    return [Step(f"{prefix}demote", "demote", title, to, tuple(demote), (source,), _weights(now))]


def phase(step_id: str) -> str:
    """The part of a run a step belongs to: 'cutover' or 'failback' in a drill, '' otherwise."""
    return step_id.split("/", 1)[0] if "/" in step_id else ""


def plan_drill(
    states: States,
    percents: Sequence[int] = DEFAULT_PERCENTS,
    hold_seconds: float = 120.0,
    *,
    record_owner: Side | None = None,
) -> list[Step]:
    """Cut over to standby, hold while verifying, cut back to primary: one plan, one journal."""
    out, after = plan_cutover(states, "standby", percents, prefix="cutover/", record_owner=record_owner)
    hold = Step(
        "cutover/hold",
        "hold",
        f"hold on standby for {hold_seconds:g}s, verifying",
        "standby",
        weights=_weights(after),
        hold_seconds=hold_seconds,
    )
    back, _ = plan_cutover(after, "primary", percents, prefix="failback/", record_owner=record_owner)
    return [*out, hold, *back]


def plan_undo(
    plan: Sequence[Step], done_actions: Iterable[str], *, record_owner: Side | None = None
) -> list[Step]:
    """Steps that undo what was done of `plan`, newest first.

    Only changes whose `set` completed are undone, and only stacks that were applied are applied
    again. Consecutive traffic shifts collapse into one step that restores the weights from before
    the first of them: on the way back there is no reason to stop at 50 %.
    """
    done = set(done_actions)
    # Per step: (step, changes set, stacks applied, changes deployed by an apply after them).
    undone: list[tuple[Step, list[Change], list[Side], list[Change]]] = []
    for step in plan:
        actions = step.actions()
        changed = [a.change for a in actions if a.kind == "set" and a.id in done and a.change is not None]
        applied = [a.side for a in actions if a.kind == "up" and a.id in done]
        if changed:
            undone.append((step, changed, applied, [c for c in changed if c.side in applied]))

    groups: list[tuple[list[Step], list[Change], list[Side], list[Change]]] = []
    for step, changed, applied, deployed in undone:
        if groups and step.kind == "shift" and groups[-1][0][-1].kind == "shift":
            groups[-1][0].append(step)
            groups[-1][1].extend(changed)
            groups[-1][2].extend(applied)
            groups[-1][3].extend(deployed)
        else:
            groups.append(([step], list(changed), list(applied), list(deployed)))

    result: list[Step] = []
    for steps, changed, applied, deployed in reversed(groups):
        first_before: dict[tuple[Side, str], Change] = {}
        last_after: dict[tuple[Side, str], str | None] = {}
        for change in changed:
            first_before.setdefault((change.side, change.key), change)
            last_after[(change.side, change.key)] = change.after
        inverse = tuple(
            Change(c.side, c.stack, c.key, last_after[(c.side, c.key)], c.before)
            for c in first_before.values()
        )
        # Ordered by what each stack runs now: a change no apply followed (its `up` never ran, or
        # the run stopped with it in flight) moved no traffic, so it says nothing about direction.
        live = {(c.side, c.key): c.after for c in deployed}
        moves = [Change(c.side, c.stack, c.key, live.get((c.side, c.key), c.after), c.after) for c in inverse]
        names = "+".join(s.id for s in steps)
        applied_sides = [side for side in dict.fromkeys(applied) if any(c.side == side for c in inverse)]
        order = _rising_first(moves, list(reversed(applied_sides)), record_owner)
        order = tuple(side for side in order if side in applied_sides)
        title = f"undo {names}: " + ", ".join(c.describe() for c in inverse)
        result.append(Step(f"undo/{names}", "undo", title, steps[0].target, inverse, order, {}))
    return result
