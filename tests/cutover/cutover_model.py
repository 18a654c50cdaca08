"""A model of the two stacks for the cutover's property tests: stack files and what was applied.

`ModelStacks` is a `StackOps` over two stacks that each have a config (what the stack file says)
and an applied config (what the last `pulumi up` deployed). Its `up(stack)` decides the way the
real program does, with the program's own functions: `infra.config.parse_config` on the shipped
stack file merged with the cutover keys, and for the standby
`components.dns.args.check_against_primary` against the primary's last applied `dns` output. A
config the program rejects fails the apply (`StackOperationFailed`), as `pulumi up` would.

Every apply is recorded, so a test can check the traffic rules between any two applies:
`served` is the share each stack's DNS record carries once applied (the DNS component's
`effective_weight`: 100/0 by role in failover routing, the configured weight in weighted).
`crash_at` stops the Nth stack call with `InjectedCrash` (a BaseException, as a kill would),
before or after the call took effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast
from unittest import mock

from components.common import Placement
from components.dns.args import (
    DnsError,
    FailoverRecordArgs,
    base_descriptor,
    check_against_primary,
    check_args,
    warnings_for,
)
from cutover.errors import StackOperationFailed
from cutover.plan import CAPACITY, ROUTING, SIDES, WEIGHT, Side
from cutover.stack_ops import ApplySummary
from infra.config import PROJECT, ConfigError, StackConfig, parse_config
from offline.harness import load_stack_config

CUTOVER_KEYS = (CAPACITY, ROUTING, WEIGHT)
SECRETS = {"apiKey": "model-api-key", "dockerHubAccessToken": "model-docker-hub-token"}
"""What `pulumi config set --secret` holds in both stacks (the values are never used)."""
Config = dict[str, str]
"""The cutover keys a stack file sets (an unset key is absent)."""
ENDPOINTS: Mapping[str, str] = {"primary": "198.51.100.10", "standby": "203.0.113.20"}
"""Documentation addresses (RFC 5737): only ever written into descriptors, never contacted."""


class InjectedCrash(BaseException):
    """A kill -9 between two stack calls: not an Exception, so no handler of the CLI catches it."""


@cache
def shipped_raw(stack: str) -> tuple[tuple[str, str], ...]:
    """The shipped stack file as the program reads it (schema defaults applied), no cutover keys."""
    config, _ = load_stack_config(stack, secrets=dict(SECRETS))
    prefix = f"{PROJECT}:"
    return tuple(
        (key.removeprefix(prefix), value)
        for key, value in sorted(config.items())
        if key.startswith(prefix) and key.removeprefix(prefix) not in CUTOVER_KEYS
    )


def shipped_cutover_config(stack: str) -> Config:
    config, _ = load_stack_config(stack)
    return {key: config[f"{PROJECT}:{key}"] for key in CUTOVER_KEYS if f"{PROJECT}:{key}" in config}


def stack_config(stack: str, cutover: Mapping[str, str]) -> StackConfig:
    """The program's validated config of `stack` with these cutover keys (raises ConfigError)."""
    raw = dict(shipped_raw(stack))
    raw.update(cutover)
    return parse_config(raw, stack, frozenset(SECRETS))


def record_args(cfg: StackConfig) -> FailoverRecordArgs:
    """The DNS component's Args as infra/program.py builds them from the stack config."""
    return FailoverRecordArgs(
        placement=Placement(cfg.dns.provider, cfg.region, cast(Any, None), cfg.stack, cfg.gcp_project),
        role=cfg.role,
        stack_cloud=cfg.cloud,
        zone=cfg.dns.zone,
        record=cfg.dns.record,
        endpoint_host=ENDPOINTS[cfg.stack],
        ttl_seconds=cfg.dns.ttl_seconds,
        routing=cfg.dns.routing,
        weight=cfg.dns.weight,
        health_check_path=cfg.dns.health_check_path,
        health_check_port=cfg.dns.health_check_port,
        health_check_interval_seconds=cfg.dns.health_check_interval_seconds,
        health_check_failure_threshold=cfg.dns.health_check_failure_threshold,
        azure_resource_group=cfg.dns.azure_resource_group,
        gcp_managed_zone=cfg.dns.gcp_managed_zone,
        primary_dns=None if cfg.role == "primary" else {},
    )


@dataclass(frozen=True)
class Applied:
    """One stack as deployed: its cutover config, capacity and the DNS share its record carries."""

    config: Mapping[str, str]
    capacity: str
    served: int
    descriptor: Mapping[str, Any]
    warnings: tuple[str, ...] = ()


def apply_rules(stack: str, config: Mapping[str, str], primary: Applied | None) -> Applied:
    """What `pulumi up` of `stack` deploys with `config`; StackOperationFailed where it would fail.

    `primary` is the primary's applied state, which the standby's DNS component checks against.
    """
    try:
        cfg = stack_config(stack, config)
        args = record_args(cfg)
        check_args(args)
        warned: list[str] = [*cfg.warnings, *warnings_for(args)]
        if cfg.role == "standby":
            assert primary is not None
            with mock.patch("components.dns.args.pulumi.log.warn", side_effect=warned.append):
                check_against_primary(args, dict(primary.descriptor))
    except (ConfigError, DnsError) as exc:
        raise StackOperationFailed(f"`pulumi up -s {stack}` failed: {exc}", "fix the config") from exc
    descriptor = {**base_descriptor(args), "stack": stack}
    return Applied(dict(config), cfg.capacity, args.effective_weight, descriptor, tuple(warned))


def deployed(applied: Applied) -> tuple[str, int, str]:
    """What traffic and cost depend on: capacity, DNS share, routing mode."""
    return applied.capacity, applied.served, str(applied.descriptor["routing"])


def program_accepts(configs: Mapping[str, Mapping[str, str]]) -> bool:
    """True when applying the primary, then the standby, with these configs succeeds."""
    try:
        primary = apply_rules("primary", configs["primary"], None)
        apply_rules("standby", configs["standby"], primary)
    except StackOperationFailed:
        return False
    return True


@dataclass
class ModelStacks:
    """StackOps over two modelled stacks (stack name == side)."""

    config: dict[str, Config]
    applied: dict[str, Applied] = field(default_factory=dict)
    history: list[tuple[str, dict[str, Applied]]] = field(default_factory=list)
    """(action id, both stacks' applied state right after) for every `up`, in order."""
    calls: list[tuple[str, ...]] = field(default_factory=list)
    crash_at: int | None = None
    crash_after: bool = False
    """With crash_at: the call takes effect, then the crash (the journal never hears of it)."""
    pending_by_run: dict[str, set[str]] = field(default_factory=dict)
    """stack -> keys this run set since that stack's last apply."""
    one_stack_violations: list[str] = field(default_factory=list)
    noop_applies: list[str] = field(default_factory=list)
    current: str = ""
    """Id of the action the runner is performing (recorded with each apply)."""

    @staticmethod
    def deployed(config: Mapping[str, Config], applied: Mapping[str, Config] | None = None) -> ModelStacks:
        """Stacks whose files say `config` and whose last applies deployed `applied` (default: same)."""
        applied = applied or config
        primary = apply_rules("primary", applied["primary"], None)
        standby = apply_rules("standby", applied["standby"], primary)
        return ModelStacks({s: dict(config[s]) for s in SIDES}, {"primary": primary, "standby": standby})

    # --- StackOps ----------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        return False

    def outputs(self, stack: str) -> dict[str, Any]:
        applied = self.applied[stack]
        return {"capacity": applied.capacity, "dns": dict(applied.descriptor), "role": stack}

    def get_config(self, stack: str, key: str) -> str | None:
        if key == "role":
            return stack
        return self.config[stack].get(key)

    def set_config(self, stack: str, key: str, value: str) -> None:
        self._call(("set", stack, key, value), lambda: self.config[stack].__setitem__(key, value))
        self.pending_by_run.setdefault(stack, set()).add(key)

    def remove_config(self, stack: str, key: str) -> None:
        self._call(("rm", stack, key), lambda: self.config[stack].pop(key, None))
        self.pending_by_run.setdefault(stack, set()).add(key)

    def up(self, stack: str) -> ApplySummary:
        def apply() -> None:
            others = {
                s: changed
                for s, keys in self.pending_by_run.items()
                if s != stack
                and (changed := {k for k in keys if self.config[s].get(k) != self.applied[s].config.get(k)})
            }
            if others:
                self.one_stack_violations.append(
                    f"{self.current}: up {stack} while {others} were set and not applied"
                )
            primary = None if stack == "primary" else self.applied["primary"]
            before = self.applied[stack]
            self.applied[stack] = after = apply_rules(stack, self.config[stack], primary)
            if deployed(before) == deployed(after):
                self.noop_applies.append(f"{self.current}: up {stack} deployed nothing new")
            self.pending_by_run[stack] = set()
            self.history.append((self.current, dict(self.applied)))

        self._call(("up", stack), apply)
        return ApplySummary(stack, "succeeded", {"update": 1}, 0.0)

    def _call(self, call: tuple[str, ...], effect: Any) -> None:
        crash = self.crash_at is not None and len(self.calls) == self.crash_at
        if crash and not self.crash_after:
            self.crash_at = None
            raise InjectedCrash(f"crash before {call}")
        effect()
        self.calls.append(call)
        if crash:
            self.crash_at = None
            raise InjectedCrash(f"crash after {call}")

    # --- reading the model -------------------------------------------------------------------

    def served(self) -> dict[str, int]:
        return {side: self.applied[side].served for side in SIDES}

    def unapplied(self) -> dict[str, str]:
        """Stacks whose file would deploy something else than their last apply did (stack -> what)."""
        found: dict[str, str] = {}
        for side in SIDES:
            primary = None if side == "primary" else self.applied["primary"]
            would = apply_rules(side, self.config[side], primary)
            done = self.applied[side]
            if deployed(would) != deployed(done):
                found[side] = f"file {self.config[side]}, applied {dict(done.config)}"
        return found

    def snapshot(self) -> tuple[dict[str, Config], dict[str, Config]]:
        """(config, applied config) of both stacks, to compare runs."""
        return (
            {s: dict(self.config[s]) for s in SIDES},
            {s: dict(self.applied[s].config) for s in SIDES},
        )


def traffic_problems(
    start: Mapping[str, Applied], history: list[tuple[str, Mapping[str, Applied]]], to: Side | None
) -> list[str]:
    """Every broken traffic rule in the applies `history` ((action id, applied states) pairs, in
    order) of a run that started at `start`.

    - the records' shares never sum below min(100, what they summed to at the start), nor to 0;
    - while moving to `to`, its share of traffic never falls below its share at the start, and at
      the end of each step never below where the step before left it (within one step it may
      overshoot: from hand-edited weights that do not sum to 100 both records move the same way,
      and whichever goes first, the other then takes back some of the share);
    - a stack not at full capacity never gets a larger share of traffic than it had at the start,
      and one that was at full capacity and is no longer carries nothing (demoted only once
      traffic left).
    """
    problems: list[str] = []
    start_sum = sum(a.served for a in start.values())
    floor = start[to].served / start_sum if to is not None and start_sum else 0.0
    for index, (action, state) in enumerate(history):
        served = {s: state[s].served for s in SIDES}
        total = sum(served.values())
        where = f"after apply {index + 1} ({action}): served {served}"
        if total == 0 or total < min(100, start_sum):
            problems.append(f"{where}: sum {total} below {min(100, start_sum)}")
            continue
        if to is not None:
            share = served[to] / total
            if share < floor - 1e-9:
                problems.append(f"{where}: share of {to} fell to {share:.3f}, below {floor:.3f}")
            step = action.rpartition("#")[0]
            last_of_step = index + 1 == len(history) or history[index + 1][0].rpartition("#")[0] != step
            if last_of_step:
                floor = max(floor, share)
        for side in SIDES:
            if state[side].capacity == "full" or served[side] == 0:
                continue
            if start[side].capacity == "full":
                problems.append(f"{where}: {side} carries {served[side]} at {state[side].capacity} capacity")
            elif served[side] / total > start[side].served / start_sum + 1e-9:
                problems.append(
                    f"{where}: {side}'s share rose to {served[side]}/{total} at {state[side].capacity} "
                    f"capacity (started at {start[side].served}/{start_sum})"
                )
    return problems
