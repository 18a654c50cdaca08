"""Runs a cutover plan: pre-checks, actions recorded in the journal, verification, rollback.

Every action (one config change or one apply) is journaled the moment it completes, so a run
stopped anywhere (crash, Ctrl-C, lost laptop) continues with the first action not recorded and
never repeats one that is. A step is complete once its actions are done and its verification
passed; verification is read-only and simply runs again after a resume.

A failed verification rolls back automatically: every change the run made is undone in reverse
order (traffic first, since shifts come last), then the command exits VERIFY_FAILED_ROLLED_BACK.
An apply that fails is not a verification failure: the run stops where it is, and the user
chooses `failover resume` (after fixing the cause) or `failover rollback`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cutover.checks import (
    SideInfo,
    endpoint_addresses,
    endpoint_hosts,
    load_sides,
    read_states,
    service_fqdn,
    store_parity,
)
from cutover.dns_check import observe
from cutover.errors import (
    CutoverError,
    JournalConflict,
    PrecheckFailed,
    PulumiUnavailable,
    RollbackFailed,
    VerifyFailedRolledBack,
)
from cutover.journal import FINISHED, Journal, RunSpec, now_iso
from cutover.plan import (
    SIDES,
    Action,
    Side,
    StackState,
    Step,
    other,
    phase,
    plan_cutover,
    plan_drill,
    plan_undo,
    record_owner,
    serving_side,
    unapplied,
)
from cutover.probes import ProbeTls, plain_http_refusal, probe_side, tls_context
from cutover.stack_ops import StackOps


@dataclass(frozen=True)
class Settings:
    dns_server: str | None = None
    """HOST[:PORT] to query for the service name; None = system resolver."""
    dns_samples: int = 5
    """Queries per DNS check (weighted answers differ per query)."""
    probe_timeout_seconds: float = 5.0
    verify_timeout_seconds: float = 120.0
    """How long a step's verification may keep retrying (DNS changes take a TTL to show)."""
    poll_interval_seconds: float = 2.0
    soak_seconds: float = 60.0
    """After each traffic shift verifies, keep probing the target this long before the next."""
    skip_store_parity: bool = False
    """Pre-checks skip object-store parity (e.g. the primary cloud is down and cannot be listed)."""
    store_endpoints: Mapping[str, str | None] = field(default_factory=dict)
    """side -> object-store endpoint override (S3-compatible gateway or emulator)."""
    probe_tls: ProbeTls = field(default_factory=ProbeTls)
    """CA bundle for the edges' certificates; plain-HTTP endpoints only for local tests."""
    canary_requests: int = 0
    """Chat completions sent to the side gaining traffic after each shift (cutover.canary); 0 = off."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class RunResult:
    journal: Journal
    resumed: bool
    skipped_steps: list[str] = field(default_factory=list)
    """Steps already completed by an earlier invocation of the same run."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.journal.run_id,
            "status": self.journal.status,
            "resumed": self.resumed,
            "skipped_steps": self.skipped_steps,
            "journal": str(self.journal.path),
            "timings": timings(self.journal),
        }


Say = Callable[[str], None]
Confirm = Callable[[str], bool]


def _quiet(_: str) -> None:
    pass


class StackRun:
    """What a journaled run of stack changes needs, whatever it changes (a cutover, a key rotation).

    The stacks and how to reach them, the settings, where messages and audit events go, the sides
    as the stacks describe them (read once), polling a verification, and undoing the run's actions.
    """

    def __init__(
        self,
        ops: StackOps,
        stacks: Mapping[str, str],
        *,
        settings: Settings | None = None,
        say: Say = _quiet,
        sleep: Callable[[float], None] = time.sleep,
        audit: Callable[[Mapping[str, Any]], object] | None = None,
    ) -> None:
        self.audit = audit
        """Called with one event per completed or failed step and per rollback (cutover.audit)."""
        self.ops = ops
        self.stacks = dict(stacks)
        self.settings = settings or Settings()
        self.say = say
        self.sleep = sleep
        self._sides: dict[Side, SideInfo] | None = None

    @property
    def sides(self) -> dict[Side, SideInfo]:
        if self._sides is None:
            self._sides = load_sides(self.ops, self.stacks, self.settings.store_endpoints)
        return self._sides

    def _poll(self, check: Callable[[], list[Check]], timeout_seconds: float) -> list[Check]:
        deadline = time.monotonic() + timeout_seconds
        while True:
            checks = check()
            if all(c.ok for c in checks) or time.monotonic() >= deadline:
                return checks
            self.sleep(self.settings.poll_interval_seconds)

    def _audit_step(self, journal: Journal, step: Step, outcome: str, checks: Sequence[Check]) -> None:
        if self.audit is None:
            return
        record = journal.step_record(step.id)
        self.audit(
            {
                "event": "step",
                "run_id": journal.run_id,
                "step": step.id,
                "title": step.title,
                "outcome": outcome,
                "started_at": record.get("started_at"),
                "finished_at": record.get("completed_at") or now_iso(),
                "changes": [c.describe() for c in step.changes],
                "checks": [c.to_dict() for c in checks],
            }
        )

    def _do_actions(
        self, journal: Journal, step: Step, act: Callable[[Action], Mapping[str, Any] | None]
    ) -> None:
        """Carry out the step's actions not yet done. Each is journaled as started before the stack
        call and done after it: one that took effect but was never recorded done stays in flight,
        and a rollback undoes it too (`Journal.attempted_actions`)."""
        for action in step.actions():
            if action.id in journal.done_actions:
                continue
            journal.action_started(action.id)
            detail = act(action)
            journal.action_done(action.id, detail)

    def _undo(self, journal: Journal, undo: list[Step], reason: str, act: Callable[[Action], object]) -> None:
        """Run the undo steps' actions not yet done, recording each; a failure leaves it resumable."""
        journal.start_rollback(undo, reason)
        self.say(f"rolling back run {journal.run_id}: {reason}")
        try:
            for step in undo:
                self.say(f"< {step.title}")
                for action in step.actions():
                    if action.id in journal.rollback_done:
                        continue
                    act(action)
                    journal.rollback_action_done(action.id)
        except CutoverError as exc:
            raise RollbackFailed(
                f"rollback of run {journal.run_id} stopped: {exc.message}",
                "fix the cause, then `failover rollback` continues where it stopped",
            ) from exc
        journal.rollback_finished()


class Runner(StackRun):
    def __init__(
        self,
        ops: StackOps,
        stacks: Mapping[str, str],
        journal_path: Path,
        *,
        settings: Settings | None = None,
        say: Say = _quiet,
        sleep: Callable[[float], None] = time.sleep,
        audit: Callable[[Mapping[str, Any]], object] | None = None,
    ) -> None:
        super().__init__(ops, stacks, settings=settings, say=say, sleep=sleep, audit=audit)
        self.journal_path = journal_path

    # --- planning --------------------------------------------------------------------------

    def plan(self, spec: RunSpec, hold_seconds: float = 0.0) -> list[Step]:
        states = read_states(self.ops, self.stacks)
        self._refuse_unapplied(states)
        if spec.command == "drill":
            if serving_side(states) != "primary":
                raise PrecheckFailed(
                    "a drill starts with the primary serving all traffic, but the stacks' config says "
                    + ", ".join(f"{s.stack} trafficWeight={s.effective_weight}" for s in states.values()),
                    "finish moving traffic first (`failover failback`), then run the drill",
                )
            return plan_drill(states, spec.percents, hold_seconds, record_owner=self.record_owner())
        to: Side = "standby" if spec.to == "standby" else "primary"
        steps, _ = plan_cutover(states, to, spec.percents, record_owner=self.record_owner())
        return steps

    def record_owner(self) -> Side | None:
        """The stack that writes the whole DNS record (Cloud DNS, PowerDNS: the standby), from the
        stack files' dnsProvider (both stacks agree on it), so offline plans order steps the same."""
        return record_owner(self.ops.get_config(self.stacks["standby"], "dnsProvider"))

    def _refuse_unapplied(self, states: Mapping[Side, StackState]) -> None:
        """A plan from stack files that differ from what is deployed could move traffic unsafely."""
        try:
            sides = self.sides
        except PulumiUnavailable:
            if self.ops.read_only:
                return  # `failover plan` offline, from the stack files alone: nothing is applied
            raise
        found = [
            f"{states[side].stack}: {what}"
            for side in SIDES
            for what in unapplied(states[side], sides[side].outputs)
        ]
        if found:
            raise PrecheckFailed(
                "the stack files say something the stacks do not run (" + "; ".join(found) + "): a run "
                "stopped between `pulumi config set` and `pulumi up`, or a file was edited; "
                "nothing was changed",
                "if that run's journal exists, finish it with `failover resume` or undo it with `failover "
                "rollback` (--journal FILE); otherwise apply the stack (`pulumi up -s <stack>`) or set the "
                "value back, then run again",
            )

    # --- journal handling ------------------------------------------------------------------

    def resumable(self, spec: RunSpec) -> Journal | None:
        """The unfinished journal of this same run, None if there is none; a different one conflicts."""
        journal = Journal.load(self.journal_path)
        if journal is None or journal.status in FINISHED:
            return None
        if journal.status == "rolling-back":
            raise JournalConflict(
                f"journal {self.journal_path} holds run {journal.run_id} ({journal.spec.describe()}) "
                "whose rollback did not finish",
                "finish it with `failover rollback`, then start again",
            )
        if journal.spec != spec:
            raise JournalConflict(
                f"journal {self.journal_path} holds unfinished run {journal.run_id} "
                f"({journal.spec.describe()}), not {spec.describe()}",
                "continue it with `failover resume`, undo it with `failover rollback`, or, if you are "
                f"sure nothing is in progress, move the file away (mv {self.journal_path} "
                f"{self.journal_path}.old)",
            )
        return journal

    def open_run(self, spec: RunSpec, plan: Callable[[], list[Step]]) -> tuple[Journal, bool]:
        """The journal for `spec`: the unfinished one if it is the same run, else a new one."""
        journal = self.resumable(spec)
        if journal is not None:
            return journal, True
        finished = Journal.load(self.journal_path)
        if finished is not None:
            finished.archive()
        states = read_states(self.ops, self.stacks)
        options = {
            "soak_seconds": self.settings.soak_seconds,
            "skip_store_parity": self.settings.skip_store_parity,
            "canary_requests": self.settings.canary_requests,
        }
        before: dict[str, Any] = {s: st.to_dict() for s, st in states.items()}
        return Journal.create(self.journal_path, spec, plan(), before, options), False

    # --- running ---------------------------------------------------------------------------

    def run(self, journal: Journal, resumed: bool) -> RunResult:
        result = RunResult(journal, resumed)
        if resumed:
            self.say(f"resuming run {journal.run_id} ({journal.spec.describe()})")
        for step in journal.plan:
            if journal.is_step_completed(step.id):
                result.skipped_steps.append(step.id)
                continue
            self.say(f"> {step.id}: {step.title}")
            journal.step_started(step.id)
            self._do_actions(journal, step, lambda action: self._act(action, check_drift=True))
            checks = self.verify(step)
            failed = [c for c in checks if not c.ok]
            if failed:
                self._fail(journal, step, failed)
            journal.step_completed(step.id, {"checks": [c.to_dict() for c in checks]})
            for check in checks:
                self.say(f"  ok  {check.name}: {check.detail}")
            self._audit_step(journal, step, "completed", checks)
        journal.set_status("completed")
        self.say(f"run {journal.run_id} completed")
        return result

    def _act(self, action: Action, check_drift: bool) -> dict[str, Any] | None:
        self.say(f"  {action.describe()}")
        if action.kind == "up":
            summary = self.ops.up(action.stack)
            changes = ", ".join(f"{op} {n}" for op, n in summary.resource_changes.items() if op != "same")
            self.say(f"    {summary.result} in {summary.duration_seconds:.1f}s ({changes or 'no changes'})")
            return {
                "result": summary.result,
                "resource_changes": dict(summary.resource_changes),
                "duration_seconds": round(summary.duration_seconds, 3),
            }
        change = action.change
        assert change is not None
        if check_drift:
            current = self.ops.get_config(change.stack, change.key)
            if current not in (change.before, change.after):
                raise PrecheckFailed(
                    f"stack '{change.stack}' has {change.key}={current!r}, but this run expected "
                    f"{change.before!r} (before) or {change.after!r} (after): it was changed outside the run",
                    f"check why (`pulumi config get {change.key} -s {change.stack}`), set it back, then "
                    "`failover resume`; or undo the run with `failover rollback`",
                )
        if change.after is None:
            self.ops.remove_config(change.stack, change.key)
        else:
            self.ops.set_config(change.stack, change.key, change.after)
        return None

    # --- verification ----------------------------------------------------------------------

    def probe_checks(self, side: Side) -> list[Check]:
        info = self.sides[side]
        probe = probe_side(
            info.endpoint_url,
            info.model_name,
            self.settings.probe_timeout_seconds,
            service_name=info.fqdn,
            tls=self.settings.probe_tls,
        )
        return [Check(f"{side} serving", probe.ok, probe.summary())]

    def dns_checks(self, step: Step) -> list[Check]:
        fqdn = service_fqdn(self.sides)
        if fqdn is None:
            return [Check("dns", False, "no serviceFqdn output on either stack")]
        source = other(step.target)
        allowed = frozenset({step.target} | ({source} if step.weights.get(source, 0) > 0 else set()))
        only = step.target if step.weights.get(source, 0) == 0 else None
        seen = observe(
            fqdn,
            endpoint_hosts(self.sides),
            self.settings.dns_server,
            self.settings.dns_samples,
            addresses=endpoint_addresses(self.sides),
        )
        issue = seen.check(allowed, only)
        return [Check("dns", issue is None, issue or f"{fqdn} -> {seen.describe()}")]

    def prechecks(self, step: Step) -> list[Check]:
        target = step.target
        source = other(target)
        checks = self.probe_checks(target)
        names = {self.sides[s].model_name for s in (target, source)}
        checks.append(
            Check(
                "model parity",
                len(names) == 1 and None not in names,
                "both stacks configure "
                + " / ".join(f"{self.sides[s].stack}={self.sides[s].model_name}" for s in (source, target)),
            )
        )
        if self.settings.skip_store_parity:
            checks.append(Check("store parity", True, "skipped (--skip-store-parity)"))
        else:
            parity = store_parity(self.sides[source], self.sides[target])
            checks.append(Check("store parity", parity.in_parity, parity.summary))
        return checks

    def _watch(self, check: Callable[[], list[Check]], seconds: float) -> list[Check]:
        """Keep checking for `seconds`; return the first failing result, or the last passing one."""
        deadline = time.monotonic() + seconds
        checks = check()
        while all(c.ok for c in checks) and time.monotonic() < deadline:
            self.sleep(min(self.settings.poll_interval_seconds, max(0.0, deadline - time.monotonic())))
            checks = check()
        return checks

    def verify(self, step: Step) -> list[Check]:
        timeout = self.settings.verify_timeout_seconds
        target_and_dns = lambda: self.probe_checks(step.target) + self.dns_checks(step)  # noqa: E731 - a deferred check list, built only on the steps that need it
        if step.kind == "precheck":
            return self.prechecks(step)
        if step.kind == "scale-up":
            return self._poll(lambda: self.probe_checks(step.target), timeout)
        if step.kind == "hold":
            checks = self._poll(target_and_dns, timeout)
            if all(c.ok for c in checks):
                self.say(f"  holding {step.hold_seconds:g}s on {step.target}")
                checks = self._watch(target_and_dns, step.hold_seconds)
            return checks
        checks = self._poll(target_and_dns, timeout)
        if step.kind == "shift" and all(c.ok for c in checks) and self.settings.soak_seconds > 0:
            self.say(f"  soaking {self.settings.soak_seconds:g}s")
            checks = self._watch(target_and_dns, self.settings.soak_seconds)
        if step.kind == "shift" and all(c.ok for c in checks) and self.settings.canary_requests > 0:
            checks = [*checks, self.canary_check(step.target)]
        return checks

    def canary_check(self, side: Side) -> Check:
        from cutover.canary import run_canary, thresholds_for

        info = self.sides[side]
        tls = self.settings.probe_tls
        url = info.endpoint_url
        if url and url.startswith("http://") and not tls.insecure_http:
            return Check(f"{side} canary", False, plain_http_refusal(url))
        limits = thresholds_for(info.stack, lambda key: self.ops.get_config(info.stack, key))
        result = run_canary(
            side,
            url,
            info.fqdn,
            info.model_name,
            limits,
            requests=self.settings.canary_requests,
            tls=tls_context(tls.ca_bundle),
        )
        return Check(f"{side} canary", result.ok, result.detail)

    # --- failure and rollback --------------------------------------------------------------

    def _fail(self, journal: Journal, step: Step, failed: Sequence[Check]) -> None:
        self._audit_step(journal, step, "failed", failed)
        reason = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        for check in failed:
            self.say(f"  FAIL {check.name}: {check.detail}")
        if step.kind == "precheck":
            fix = (
                "see `failover status`; fix the target side (or pass --skip-store-parity if the stores "
                "cannot be listed), then run the same command again"
            )
            if not journal.done_actions:
                journal.set_status("aborted", {"step": step.id, "reason": reason})
                raise PrecheckFailed(f"pre-checks failed, nothing was changed: {reason}", fix)
            # A later phase's pre-check (a drill's failback): stay where traffic is now.
            journal.data["failure"] = {"step": step.id, "reason": reason}
            journal.save()
            raise PrecheckFailed(
                f"pre-checks of {step.id} failed: {reason}; traffic stays on {other(step.target)}",
                f"fix {step.target}, then `failover resume`; or `failover rollback` to undo the run",
            )
        journal.data["failure"] = {"step": step.id, "reason": reason}
        # Undo the phase that failed: a drill's failback that fails leaves traffic on the standby
        # it came from rather than sending it to the primary that just failed verification.
        current = phase(step.id)
        undone = self.rollback(
            journal,
            reason=f"verification of {step.id} failed",
            undo=plan_undo(
                [s for s in journal.plan if phase(s.id) == current],
                journal.attempted_actions,
                record_owner=self.record_owner(),
            ),
        )
        where = serving_side(read_states(self.ops, self.stacks))
        raise VerifyFailedRolledBack(
            f"verification of step {step.id} failed ({reason}); rolled back automatically: "
            + ("; ".join(s.title for s in undone) or "nothing had changed")
            + (f"; traffic is on {where}" if where else ""),
            f"see `failover status`, fix {step.target}, then run the command again (it plans afresh)",
        )

    def undo_plan(self, journal: Journal) -> list[Step]:
        existing = journal.rollback_plan
        if existing is not None:
            return existing
        return plan_undo(journal.plan, journal.attempted_actions, record_owner=self.record_owner())

    def rollback(self, journal: Journal, reason: str, undo: list[Step] | None = None) -> list[Step]:
        """Undo the run (or the given undo steps), recording progress; resumable."""
        if journal.rollback_plan is not None or undo is None:
            undo = self.undo_plan(journal)
        self._undo(journal, undo, reason, lambda action: self._act(action, check_drift=False))
        self.say(f"run {journal.run_id} rolled back")
        if self.audit is not None:
            self.audit(
                {
                    "event": "rollback",
                    "run_id": journal.run_id,
                    "outcome": "rolled-back",
                    "why": reason,
                    "undone": [s.title for s in undo],
                }
            )
        return undo


def _parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts) if ts else None


def timings(journal: Journal) -> dict[str, Any]:
    """Measured duration of every step (seconds), and the RTO of each traffic move."""
    per_step: dict[str, float] = {}
    for step in journal.plan:
        record = journal.step_record(step.id)
        start, end = _parse(record.get("started_at")), _parse(record.get("completed_at"))
        if start and end:
            per_step[step.id] = round((end - start).total_seconds(), 3)
    moves: dict[str, float] = {}
    for prefix in ("cutover/", "failback/", ""):
        steps = [s for s in journal.plan if s.id.startswith(prefix) and (prefix or "/" not in s.id)]
        begin = next(
            (_parse(journal.step_record(s.id).get("started_at")) for s in steps if s.kind == "precheck"), None
        )
        full = [s for s in steps if s.kind == "shift" and s.weights.get(s.target) == 100]
        done = _parse(journal.step_record(full[-1].id).get("completed_at")) if full else None
        if begin and done:
            moves[prefix.rstrip("/") or f"to_{full[-1].target}"] = round((done - begin).total_seconds(), 3)
    return {"steps_seconds": per_step, "rto_seconds": moves}
