"""`failover`: status, plan, execute, resume, rollback, failback, drill, replication, compare.

Tables for people, `--json` for machines (progress then goes to stderr), one-line errors with the
fix, named exit codes (`cutover.errors.ExitCode`), tracebacks only with `--debug`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import json
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, NoReturn, TypeAlias

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cutover.audit import (
    AUDIT_STORE_OUTPUT,
    AuditStoreError,
    AuditTrail,
    ChainReport,
    backend_for,
    matches,
    open_trail,
    read_chain,
    require_reason,
    summarize,
)
from cutover.checks import SideInfo, StatusReport, load_sides, status, store_parity
from cutover.compare import DEFAULT_PROMPTS
from cutover.dns_check import parse_server
from cutover.errors import CutoverError, ExitCode, PrecheckFailed, Unhealthy, UsageError
from cutover.inventory import FORMATS, last_completed_drill
from cutover.inventory import render as render_inventory
from cutover.inventory import rows as inventory_rows
from cutover.journal import DEFAULT_NAME, FINISHED, Journal, RunSpec, require_journal, run_lock
from cutover.plan import Side, Step, parse_percents
from cutover.probes import API_KEY_ENV, ProbeTls
from cutover.rotate import NEW_KEY_ENV, KeyRotation, Keys, plan_rotation, spec_for
from cutover.runner import Runner, Settings, timings
from cutover.stack_ops import AutomationStackOps, FileStackOps, StackOps, pulumi_cli, require_pulumi_cli

EPILOG = f"""\
exit codes: {", ".join(f"{int(c)} {c.name}" for c in ExitCode)}.
Probes use HTTPS and verify the edge certificate for the service name (system CAs, or
--ca-bundle); /v1/models is probed with `Authorization: Bearer ${API_KEY_ENV}` when that
variable is set. Plain http:// endpoints are refused unless --insecure-http (local tests only).
"""

CLI_DEFAULT_PERCENTS: Final[tuple[int, ...]] = (5, 25, 50, 100)
"""--steps when not given: start small, as the runbooks do (a 5 % step, then its canary)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(int(ExitCode.USAGE), f"{self.prog}: error: {message}\n")


_Commands: TypeAlias = "argparse._SubParsersAction[_Parser]"
"""What `add_subparsers` returns: the commands are added to it."""


def build_parser() -> argparse.ArgumentParser:
    """The `failover` command line: global options, then one subcommand per operation."""
    parser = _Parser(
        prog="failover",
        description="Move inference traffic between the primary and standby stacks, safely and resumably.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _global_options(parser)
    _verification_options(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _cutover_commands(sub)
    _operation_commands(sub)
    return parser


def _global_options(parser: argparse.ArgumentParser) -> None:
    """Where the stacks are, how to reach them, how to report, and the audit trail's fields."""
    parser.add_argument(
        "--workdir", type=Path, default=Path.cwd(), help="project root with Pulumi.yaml (default: cwd)"
    )
    parser.add_argument("--primary-stack", default="primary", help="primary stack name (default: primary)")
    parser.add_argument("--standby-stack", default="standby", help="standby stack name (default: standby)")
    parser.add_argument(
        "--primary-outputs",
        type=Path,
        metavar="FILE",
        help="primary outputs from `pulumi stack output --json --show-secrets -s <stack>`",
    )
    parser.add_argument("--standby-outputs", type=Path, metavar="FILE", help="standby outputs, likewise")
    parser.add_argument(
        "--dns-server", metavar="HOST[:PORT]", help="resolver to query (default: system resolver)"
    )
    parser.add_argument(
        "--ca-bundle",
        type=Path,
        metavar="PEM",
        help="CA certificates to verify the edges with instead of the system's (a private CA)",
    )
    parser.add_argument(
        "--insecure-http",
        action="store_true",
        help="allow plain http:// endpoints, sending the API key in clear text: local tests only",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    parser.add_argument(
        "--reason", help="why (required by every command that changes stacks; written to the audit trail)"
    )
    parser.add_argument("--ticket", help="incident or change ticket, written to the audit trail")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument(
        "--journal", type=Path, metavar="FILE", help=f"run journal (default: {DEFAULT_NAME} in --workdir)"
    )


def _verification_options(parser: argparse.ArgumentParser) -> None:
    """Timing of the checks, and the object-store endpoints of the parity check."""
    # Shared by everything that verifies; defaults suit real clouds.
    parser.add_argument(
        "--verify-timeout-seconds",
        type=float,
        default=120.0,
        help="how long a step's verification may retry (default: 120)",
    )
    parser.add_argument(
        "--poll-interval-seconds", type=float, default=2.0, help="between retries (default: 2)"
    )
    parser.add_argument("--dns-samples", type=int, default=5, help="DNS queries per check (default: 5)")
    parser.add_argument(
        "--probe-timeout-seconds",
        type=float,
        default=5.0,
        help="per HTTP probe; both sides are probed at once (default: 5)",
    )
    for side in ("primary", "standby"):
        parser.add_argument(
            f"--{side}-store-endpoint",
            metavar="URL",
            help=f"object-store endpoint of the {side} model store for parity checks "
            "(S3-compatible gateway or emulator; default: the cloud's own)",
        )


def _command(sub: _Commands, name: str, help_text: str) -> argparse.ArgumentParser:
    command = sub.add_parser(name, help=help_text, description=help_text)
    # Also accept --json after the subcommand; SUPPRESS keeps the global value otherwise.
    command.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return command


def _audit_options(command: argparse.ArgumentParser) -> None:
    # Also accepted before the command; SUPPRESS keeps the global value otherwise.
    command.add_argument(
        "--reason",
        default=argparse.SUPPRESS,
        help="why this change is made (required; goes to the audit store of every reachable stack)",
    )
    command.add_argument(
        "--ticket", default=argparse.SUPPRESS, help="incident/change ticket for the audit trail"
    )


def _steps_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--steps",
        default=",".join(map(str, CLI_DEFAULT_PERCENTS)),
        metavar="5,25,50,100",
        help="percent of traffic on the target after each shift (default: 5,25,50,100: the "
        "first step exposes few clients to the target, and its canary checks it before more)",
    )


def _run_options(command: argparse.ArgumentParser, soak: bool = True) -> None:
    _steps_option(command)
    _audit_options(command)
    command.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    command.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    command.add_argument(
        "--skip-store-parity",
        action="store_true",
        help="pre-checks skip object-store parity (e.g. the primary cloud is down)",
    )
    command.add_argument(
        "--canary-requests",
        type=int,
        default=20,
        help="chat completions sent to the side gaining traffic after each shift, judged against its "
        "canaryMaxErrorRatePercent / canaryMaxP95LatencyMs; a breach rolls back (default: 20; 0 = off)",
    )
    if soak:
        command.add_argument(
            "--soak-seconds",
            type=float,
            default=60.0,
            help="keep probing after each shift before the next (default: 60)",
        )


def _cutover_commands(sub: _Commands) -> None:
    """status, plan and the commands that move traffic: execute, resume, rollback, failback, drill."""
    status_cmd = _command(sub, "status", "Health of both sides, model and store parity, current DNS answer.")
    status_cmd.add_argument(
        "--skip-store-parity", action="store_true", help="do not compare the object stores"
    )

    plan_cmd = _command(sub, "plan", "Print the ordered steps of a cutover without changing anything.")
    plan_cmd.add_argument("--to", choices=("standby", "primary"), required=True)
    _steps_option(plan_cmd)

    execute = _command(
        sub, "execute", "Cut traffic over to a side: pre-checks, scale-up, staged shift, demotion."
    )
    execute.add_argument("--to", choices=("standby", "primary"), required=True)
    _run_options(execute)

    _audit_options(_command(sub, "resume", "Continue the journal's interrupted run."))

    rollback = _command(sub, "rollback", "Undo the completed steps of the journal's run, newest first.")
    rollback.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    _audit_options(rollback)

    failback = _command(sub, "failback", "Shorthand for `execute --to primary`.")
    _run_options(failback)

    drill = _command(sub, "drill", "Cut over to standby, hold, verify, fail back; report measured durations.")
    _run_options(drill)
    drill.add_argument(
        "--hold-seconds",
        type=float,
        default=120.0,
        help="how long to serve from standby before failing back (default: 120)",
    )


def _operation_commands(sub: _Commands) -> None:
    """replication, rotate-key, inventory, audit, compare."""
    _command(sub, "replication", "Object-store parity only (missing / different / extra / unverifiable).")

    rotate = _command(
        sub,
        "rotate-key",
        "Rotate the API key on both stacks with a two-key overlap, then revoke the old one "
        f"(keys from ${API_KEY_ENV} and ${NEW_KEY_ENV}).",
    )
    rotate.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    rotate.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _audit_options(rotate)

    inventory = _command(
        sub, "inventory", "Per stack: cloud, region, GPUs, model, auth, secrets, DNS, failover plan, RTO/RPO."
    )
    inventory.add_argument("--format", choices=FORMATS, default="table")

    audit = _command(
        sub, "audit", "List, filter and verify the audit records in each stack's write-once store."
    )
    audit.add_argument("--stack", help="only this stack's store (default: every reachable stack)")
    audit.add_argument("--run", dest="run_id", metavar="RUN_ID", help="only records of this run")
    audit.add_argument("--command", dest="audit_command", metavar="NAME", help="e.g. execute, drill")
    audit.add_argument("--outcome", help="e.g. completed, failed, rolled-back")
    audit.add_argument("--since", metavar="ISO-TIME", help="records at or after this UTC time")
    audit.add_argument(
        "--verify", action="store_true", help="check each store's hash chain; exit 7 if it is broken"
    )
    audit.add_argument("--format", choices=("table", "csv", "json"), default="table")
    compare_options(
        _command(
            sub, "compare", "Same prompts to both sides at their own addresses: latency, TTFT, errors, cost."
        )
    )


def compare_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--requests", type=int, default=50, help="requests per side (default: 50)")
    command.add_argument(
        "--concurrency", type=int, default=8, help="requests in flight per side (default: 8)"
    )
    command.add_argument(
        "--prompts", type=Path, default=DEFAULT_PROMPTS, metavar="FILE",
        help='JSONL, one {"messages": [...]} per line (default: the repo\'s cutover/prompts/compare.jsonl)',
    )  # fmt: skip
    command.add_argument("--max-tokens", type=int, default=128, help="max output tokens (default: 128)")
    command.add_argument("--timeout-seconds", type=float, default=60.0, help="per request (default: 60)")
    command.add_argument("--force", action="store_true", help="run even when a side fails its health check")
    command.add_argument(
        "--ca-bundle",
        type=Path,
        metavar="PEM",
        default=argparse.SUPPRESS,  # keeps a global --ca-bundle given before the command
        help="CAs to verify HTTPS endpoints with (default: system CAs)",
    )
    for side in ("primary", "standby"):
        command.add_argument(
            f"--{side}-hourly-usd", type=float, metavar="USD",
            help=f"the {side} stack's hourly price (default: python -m infra.cost at its current capacity)",
        )  # fmt: skip


@dataclass
class Context:
    args: argparse.Namespace
    out: Console
    err: Console
    ops_override: StackOps | None

    @property
    def json(self) -> bool:
        return bool(self.args.json)

    @property
    def stacks(self) -> dict[str, str]:
        return {"primary": self.args.primary_stack, "standby": self.args.standby_stack}

    @property
    def journal_path(self) -> Path:
        return self.args.journal or self.args.workdir / DEFAULT_NAME

    @property
    def store_endpoints(self) -> dict[str, str | None]:
        return {"primary": self.args.primary_store_endpoint, "standby": self.args.standby_store_endpoint}

    def say(self, message: str) -> None:
        (self.err if self.json else self.out).print(
            f"{stamp()} {escape(message)}", highlight=False, soft_wrap=True
        )

    def line(self, markup: str) -> None:
        """One human line (rich markup allowed), timestamped like every other."""
        self.out.print(f"{stamp()} {markup}", highlight=False, soft_wrap=True)

    def ops(self, write: bool) -> StackOps:
        if self.ops_override is not None:
            return self.ops_override
        files: dict[str, Path] = {}
        if self.args.primary_outputs:
            files[self.args.primary_stack] = self.args.primary_outputs
        if self.args.standby_outputs:
            files[self.args.standby_stack] = self.args.standby_outputs
        if write:
            return AutomationStackOps(self.args.workdir, files, on_output=self._pulumi_output)
        if len(files) == 2 or pulumi_cli() is None:
            # Reads the stack files directly; outputs of a stack without a file need the CLI.
            return FileStackOps(self.args.workdir, files)
        return AutomationStackOps(self.args.workdir, files)

    def _pulumi_output(self, line: str) -> None:
        # `pulumi up` of a GPU pool takes minutes: show its progress (on stderr, so --json stays clean).
        self.err.print(f"[dim]{stamp()}     | {escape(line.rstrip())}[/dim]", highlight=False)

    @property
    def probe_tls(self) -> ProbeTls:
        ca_bundle = self.args.ca_bundle
        if ca_bundle is not None and not Path(ca_bundle).is_file():
            raise UsageError(
                f"--ca-bundle {ca_bundle} is not a readable file",
                "pass the PEM file of the CA that signed the edge certificates",
            )
        return ProbeTls(
            ca_bundle=str(ca_bundle) if ca_bundle else None, insecure_http=self.args.insecure_http
        )

    def settings(self, **overrides: Any) -> Settings:
        return Settings(
            dns_server=self.args.dns_server,
            dns_samples=self.args.dns_samples,
            probe_timeout_seconds=self.args.probe_timeout_seconds,
            verify_timeout_seconds=self.args.verify_timeout_seconds,
            poll_interval_seconds=self.args.poll_interval_seconds,
            soak_seconds=getattr(self.args, "soak_seconds", 0.0),
            skip_store_parity=getattr(self.args, "skip_store_parity", False),
            store_endpoints=self.store_endpoints,
            probe_tls=self.probe_tls,
            canary_requests=getattr(self.args, "canary_requests", 0),
            **overrides,
        )

    def runner(self, write: bool) -> Runner:
        return Runner(self.ops(write), self.stacks, self.journal_path, settings=self.settings(), say=self.say)

    def emit(self, data: dict[str, Any]) -> None:
        print(json.dumps(data, indent=2, default=str))


# --- rendering -----------------------------------------------------------------------------


def stamp() -> str:
    """UTC time of a human line, to the second (incident timelines are written from these)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _never(_: str) -> bool:
    return False


def _mark(ok: bool) -> str:
    return "[green]ok[/green]" if ok else "[red]FAIL[/red]"


def _plan_table(title: str, steps: Sequence[Step], done: Callable[[str], bool] = lambda _: False) -> Table:
    table = Table(title=title, show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("step")
    table.add_column("what")
    table.add_column("actions (in order)")
    table.add_column("weights after")
    for number, step in enumerate(steps, 1):
        actions = "\n".join(escape(a.describe()) for a in step.actions()) or "(checks only)"
        weights = ", ".join(f"{side} {w}" for side, w in step.weights.items()) if step.weights else ""
        name = f"{step.id} [dim](done)[/dim]" if done(step.id) else step.id
        table.add_row(str(number), name, escape(step.title), actions, weights)
    return table


def _plan_dict(steps: Sequence[Step]) -> list[dict[str, Any]]:
    return [step.to_dict() for step in steps]


# --- commands ------------------------------------------------------------------------------


def _journal_or_none(ctx: Context) -> Journal | None:
    try:
        return Journal.load(ctx.journal_path)
    except CutoverError as exc:
        ctx.say(f"note: journal ignored: {exc.message}")
        return None


def cmd_status(ctx: Context) -> int:
    sides = load_sides(ctx.ops(write=False), ctx.stacks, ctx.store_endpoints)
    report = status(
        sides,
        ctx.args.dns_server,
        ctx.args.skip_store_parity,
        probe_timeout_seconds=ctx.args.probe_timeout_seconds,
        dns_samples=ctx.args.dns_samples,
        journal=_journal_or_none(ctx),
        tls=ctx.probe_tls,
    )
    if ctx.json:
        ctx.emit({"checked_at": stamp(), **report.to_dict()})
    else:
        _print_status(ctx, sides, report)
    if not report.ok:
        raise _ReportedError(
            Unhealthy(f"{len(report.problems)} problem(s) found", "see the list above"), report.to_dict()
        )
    return int(ExitCode.OK)


def _print_status(ctx: Context, sides: Mapping[Side, SideInfo], report: StatusReport) -> None:
    table = Table(title=f"failover status at {stamp()}")
    for column in ("side", "stack", "capacity", "routing", "weight", "endpoint", "health", "model"):
        table.add_column(column)
    for side, info in sides.items():
        probe = report.probes[side]
        health = _mark(probe.healthy) + (
            f" {probe.latency_ms:.0f} ms" if probe.latency_ms is not None else ""
        )
        model = _mark(probe.serves_model) + f" {escape(str(info.model_name))}"
        table.add_row(
            side,
            escape(info.stack),
            info.state.effective_capacity,
            info.state.effective_routing,
            str(info.state.effective_weight),
            escape(info.endpoint_url or "-"),
            health,
            model,
        )
    ctx.out.print(table)
    ctx.line(f"[bold]{escape(report.headline)}[/bold]")
    ctx.line(f"model parity: {_mark(report.model_parity)}")
    if report.store is None:
        ctx.line("store parity: skipped")
    else:
        ctx.line(f"store parity: {_mark(report.store.in_parity)} {escape(report.store.summary)}")
    if report.dns is not None:
        dns = report.dns
        ctx.line(f"DNS {escape(dns.fqdn)} @ {escape(dns.server)}: {escape(dns.describe())}")
    for note in report.expected:
        ctx.line(f"[yellow]expected:[/yellow] {escape(note)}")
    for problem in report.problems:
        ctx.line(f"[red]problem:[/red] {escape(problem)}")
    ctx.line(
        "[green]status: ok[/green]" if report.ok else f"[red]status: {len(report.problems)} problem(s)[/red]"
    )


class _ReportedError(Exception):
    """An error already rendered in full; main only sets the exit code (and the JSON if asked)."""

    def __init__(self, error: CutoverError, data: dict[str, Any] | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.data = data


def cmd_replication(ctx: Context) -> int:
    sides = load_sides(ctx.ops(write=False), ctx.stacks, ctx.store_endpoints)
    result = store_parity(sides["primary"], sides["standby"])
    if ctx.json:
        ctx.emit(result.to_dict())
    else:
        ctx.line(
            f"store parity {escape(sides['primary'].stack)} -> {escape(sides['standby'].stack)}: "
            f"{_mark(result.in_parity)} {escape(result.summary)}"
        )
        report = result.report or {}
        for name in ("missing", "different", "extra", "unverifiable"):
            items = report.get(name) or []
            if items:
                shown = ", ".join(str(i) for i in items[:20]) + (" ..." if len(items) > 20 else "")
                ctx.line(f"  {name} ({len(items)}): {escape(shown)}")
    if not result.in_parity:
        raise _ReportedError(Unhealthy(result.summary, "see `failover replication` output"), result.to_dict())
    return int(ExitCode.OK)


def _spec(ctx: Context, command: str, to: str) -> RunSpec:
    return RunSpec(
        "drill" if command == "drill" else "execute", to, parse_percents(ctx.args.steps), ctx.stacks
    )


def cmd_plan(ctx: Context) -> int:
    spec = _spec(ctx, "execute", ctx.args.to)
    steps = Runner(ctx.ops(write=False), ctx.stacks, ctx.journal_path).plan(spec)
    budgets = _budgets(ctx)
    if ctx.json:
        ctx.emit({"spec": spec.to_dict(), "plan": _plan_dict(steps), "budgets": budgets})
    else:
        ctx.out.print(_plan_table(f"plan: {spec.describe()}", steps))
        for stack, lines in budgets.items():
            for line in lines:
                ctx.line(f"{escape(stack)}: {escape(line)}")
    return int(ExitCode.OK)


def _budgets(ctx: Context) -> dict[str, list[str]]:
    """The RTO and RPO budgets each stack's config allows (infra.targets), when its file validates."""
    from infra.check import check_stacks
    from infra.targets import budgets

    checked = check_stacks(ctx.args.workdir, list(ctx.stacks.values()))
    found: dict[str, list[str]] = {}
    for stack in ctx.stacks.values():
        file = checked.files[stack.rsplit("/", 1)[-1]]
        found[stack] = (
            budgets(file.parsed).describe()
            if file.parsed is not None
            else [f"not checked: {len(file.problems)} problem(s) (`python -m infra.check`)"]
        )
    return found


def _confirm(ctx: Context, question: str) -> None:
    if ctx.args.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            f"{question} needs confirmation and stdin is not a terminal", "pass --yes to run without asking"
        )
    answer = ctx.err.input(f"{escape(question)} [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("not confirmed; nothing was changed", "answer y, or pass --yes")


def _run(ctx: Context, spec: RunSpec) -> int:
    hold = float(getattr(ctx.args, "hold_seconds", 0.0))
    _check_canary_settings(ctx)
    if ctx.args.dry_run:
        runner = Runner(
            ctx.ops(write=False), ctx.stacks, ctx.journal_path, settings=ctx.settings(), say=ctx.say
        )
        journal = runner.resumable(spec)
        done: Callable[[str], bool] = _never
        if journal is not None:
            resuming, steps, done = True, journal.plan, journal.is_step_completed
        else:
            resuming, steps, done = False, runner.plan(spec, hold), _never
        pending = [s for s in steps if not done(s.id)]
        checks = runner.prechecks(pending[0]) if pending and pending[0].kind == "precheck" else []
        if ctx.json:
            ctx.emit(
                {
                    "dry_run": True,
                    "spec": spec.to_dict(),
                    "resuming": resuming,
                    "plan": _plan_dict(steps),
                    "pending": [s.id for s in pending],
                    "prechecks": [c.to_dict() for c in checks],
                }
            )
        else:
            ctx.out.print(
                _plan_table(f"dry run: {spec.describe()}" + (" (resuming)" if resuming else ""), steps, done)
            )
            for check in checks:
                ctx.line(f"pre-check {check.name}: {_mark(check.ok)} {escape(check.detail)}")
            ctx.line("dry run: nothing was changed")
        failed = [c for c in checks if not c.ok]
        if failed:
            error = PrecheckFailed(
                "pre-checks would fail: " + "; ".join(c.detail for c in failed), "see `failover status`"
            )
            if not ctx.json:
                ctx.err.print(f"{stamp()} [red]error:[/red] {escape(error.message)}")
            raise _ReportedError(error, {})
        return int(ExitCode.OK)

    require_reason(ctx.args.command, ctx.args.reason)
    runner = ctx.runner(write=True)
    with run_lock(ctx.journal_path), _audited(ctx, runner, ctx.args.command) as trail:
        return _run_locked(ctx, runner, spec, hold, trail)


def _check_canary_settings(ctx: Context) -> None:
    """Bad canary flags or thresholds stop the run before anything changes."""
    from cutover.canary import thresholds_for

    requests = getattr(ctx.args, "canary_requests", 0)
    if requests < 0:
        raise UsageError(f"--canary-requests must be 0 (off) or more (got {requests})", "pass e.g. 20")
    if requests:
        ops = ctx.ops(write=False)
        for stack in ctx.stacks.values():
            thresholds_for(stack, functools.partial(ops.get_config, stack))


def _run_locked(ctx: Context, runner: Runner, spec: RunSpec, hold: float, trail: AuditTrail) -> int:
    journal, resumed = runner.open_run(spec, lambda: runner.plan(spec, hold))
    trail.context["run_id"] = journal.run_id
    if not resumed:
        steps = journal.plan
        if not ctx.json:
            ctx.out.print(_plan_table(f"run {journal.run_id}: {spec.describe()}", steps))
        try:
            _confirm(ctx, f"run these {len(steps)} steps on stacks {', '.join(spec.stacks.values())}?")
        except UsageError:
            journal.set_status("aborted", {"step": "", "reason": "not confirmed"})
            raise
    trail.append({"event": "run-started", "outcome": "started", "spec": spec.to_dict(), "resumed": resumed})
    result = runner.run(journal, resumed)
    return _finish(ctx, result.to_dict(), journal, trail)


def _finish(ctx: Context, data: dict[str, Any], journal: Journal, trail: AuditTrail | None = None) -> int:
    if trail is not None:
        written = trail.append(
            {"event": "run-finished", "outcome": journal.status, "timings": data.get("timings")}
        )
        data = {**data, "audit": [vars(r) for r in written]}
    if ctx.json:
        ctx.emit(data)
    else:
        table = Table(title=f"run {journal.run_id}: {journal.status}")
        table.add_column("step")
        table.add_column("seconds", justify="right")
        for step_id, seconds in data["timings"]["steps_seconds"].items():
            table.add_row(escape(step_id), f"{seconds:.1f}")
        for move, seconds in data["timings"]["rto_seconds"].items():
            table.add_row(f"[bold]RTO {escape(move)}[/bold]", f"[bold]{seconds:.1f}[/bold]")
        ctx.out.print(table)
    return int(ExitCode.OK)


def cmd_execute(ctx: Context) -> int:
    return _run(ctx, _spec(ctx, "execute", ctx.args.to))


def cmd_failback(ctx: Context) -> int:
    return _run(ctx, _spec(ctx, "execute", "primary"))


def cmd_drill(ctx: Context) -> int:
    return _run(ctx, _spec(ctx, "drill", "standby"))


RESUMED_OPTIONS = frozenset({"soak_seconds", "skip_store_parity", "canary_requests"})


def cmd_resume(ctx: Context) -> int:
    journal = require_journal(ctx.journal_path, "resume")
    if journal.status in FINISHED:
        ctx.say(f"run {journal.run_id} ({journal.spec.describe()}) is {journal.status}; nothing to resume")
        if ctx.json:
            ctx.emit({"run_id": journal.run_id, "status": journal.status, "resumed": False})
        return int(ExitCode.OK)
    # Carry on as the run was started (same soak, same parity decision).
    require_reason("resume", ctx.args.reason)
    if journal.spec.command == "rotate-key":
        return _rotate(ctx, Keys.from_env(journal.options), "resume")
    settings = replace(ctx.settings(), **{k: v for k, v in journal.options.items() if k in RESUMED_OPTIONS})
    runner = Runner(ctx.ops(write=True), ctx.stacks, ctx.journal_path, settings=settings, say=ctx.say)
    with run_lock(ctx.journal_path), _audited(ctx, runner, "resume") as trail:
        return _resume_locked(ctx, runner, journal, trail)


def _resume_locked(ctx: Context, runner: Runner, journal: Journal, trail: AuditTrail) -> int:
    journal = require_journal(ctx.journal_path, "resume")  # re-read under the lock
    trail.context["run_id"] = journal.run_id
    if journal.status in FINISHED:
        ctx.say(f"run {journal.run_id} finished while waiting: {journal.status}")
        return int(ExitCode.OK)
    trail.append({"event": "run-resumed", "outcome": "started", "spec": journal.spec.to_dict()})
    if journal.status == "rolling-back":
        runner.rollback(journal, reason="resumed")
        data = {"run_id": journal.run_id, "status": journal.status, "timings": timings(journal)}
        return _finish(ctx, data, journal, trail)
    result = runner.run(journal, resumed=True)
    return _finish(ctx, result.to_dict(), journal, trail)


def cmd_rollback(ctx: Context) -> int:
    journal = require_journal(ctx.journal_path, "roll back")
    if journal.status == "rolled-back":
        ctx.say(f"run {journal.run_id} is already rolled back; nothing to do")
        if ctx.json:
            ctx.emit({"run_id": journal.run_id, "status": journal.status, "undo": []})
        return int(ExitCode.OK)
    if ctx.args.dry_run:
        undo = Runner(ctx.ops(write=False), ctx.stacks, ctx.journal_path).undo_plan(journal)
        if ctx.json:
            ctx.emit({"dry_run": True, "run_id": journal.run_id, "undo": _plan_dict(undo)})
        elif not undo:
            ctx.line(f"run {journal.run_id} changed nothing that needs undoing")
        else:
            ctx.out.print(_plan_table(f"dry run: roll back run {journal.run_id}", undo, lambda sid: False))
            ctx.line("dry run: nothing was changed")
        return int(ExitCode.OK)
    require_reason("rollback", ctx.args.reason)
    if journal.spec.command == "rotate-key":
        rotation = KeyRotation(
            ctx.ops(write=True),
            ctx.stacks,
            Keys.from_env(journal.options),
            settings=ctx.settings(),
            say=ctx.say,
        )
        with run_lock(ctx.journal_path), _audited(ctx, rotation, "rollback") as trail:
            journal = require_journal(ctx.journal_path, "roll back")
            trail.context["run_id"] = journal.run_id
            undo = rotation.rollback(journal, "requested with `failover rollback`")
        if ctx.json:
            ctx.emit({"run_id": journal.run_id, "status": journal.status, "undo": _plan_dict(undo)})
        return int(ExitCode.OK)
    runner = ctx.runner(write=True)
    with run_lock(ctx.journal_path), _audited(ctx, runner, "rollback") as trail:
        journal = require_journal(ctx.journal_path, "roll back")  # re-read under the lock
        trail.context["run_id"] = journal.run_id
        trail.append({"event": "rollback-started", "outcome": "started", "spec": journal.spec.to_dict()})
        undo = runner.rollback(journal, reason="requested with `failover rollback`")
    if ctx.json:
        ctx.emit({"run_id": journal.run_id, "status": journal.status, "undo": _plan_dict(undo)})
    return int(ExitCode.OK)


def cmd_compare(ctx: Context) -> int:
    from cutover.compare_cli import run_compare

    report = run_compare(ctx.args, load_sides(ctx.ops(write=False), ctx.stacks, ctx.store_endpoints), ctx.say)
    if ctx.json:
        ctx.emit(report)
    else:
        from cutover.compare_cli import render

        ctx.out.print(render(report))
    return int(ExitCode.OK)


def _trail(ctx: Context, ops: StackOps, command: str) -> AuditTrail:
    """The audit trail over both stacks' stores; a stack that cannot be read is noted, not fatal."""
    descriptors: dict[str, Any] = {}
    clouds: dict[str, str] = {}
    failed: dict[str, str] = {}
    for stack in ctx.stacks.values():
        try:
            found = ops.outputs(stack)
            descriptors[stack] = found.get(AUDIT_STORE_OUTPUT)
            clouds[stack] = str(found.get("cloud") or ops.get_config(stack, "cloud") or "")
        except CutoverError as exc:
            failed[stack] = f"outputs of stack '{stack}' unreadable: {exc.message}"
    endpoints = {stack: ctx.store_endpoints[side] for side, stack in ctx.stacks.items()}
    context = {"command": command, "reason": ctx.args.reason, "ticket": ctx.args.ticket}
    trail = open_trail(
        {s: d for s, d in descriptors.items()},
        endpoints,
        {s: c for s, c in clouds.items() if c},
        context,
        warn=lambda text: ctx.say(f"warning: {text}"),
    )
    trail.unreachable.update(failed)
    return trail


def cmd_inventory(ctx: Context) -> int:
    ops = ctx.ops(write=False)
    outputs: dict[str, dict[str, Any]] = {}
    drills: dict[str, str | None] = {}
    for side, stack in ctx.stacks.items():
        try:
            outputs[stack] = ops.outputs(stack)
        except CutoverError as exc:
            ctx.err.print(f"{stamp()} note: outputs of {escape(stack)} unavailable: {escape(exc.message)}")
            continue
        descriptor = outputs[stack].get(AUDIT_STORE_OUTPUT)
        if descriptor:
            try:
                chain = read_chain(backend_for(descriptor, ctx.store_endpoints.get(side)))
                drills[stack] = last_completed_drill(chain.records)
            except AuditStoreError as exc:
                drills[stack] = f"unknown (audit store unreadable: {exc})"
    found = inventory_rows(ctx.args.workdir, ctx.stacks, outputs, drills)
    sys.stdout.write(render_inventory(found, "json" if ctx.json else ctx.args.format))
    return int(ExitCode.OK)


def cmd_rotate_key(ctx: Context) -> int:
    keys = Keys.from_env()
    spec = spec_for(ctx.stacks)
    if ctx.args.dry_run:
        steps = plan_rotation(ctx.stacks, keys)
        if ctx.json:
            ctx.emit({"dry_run": True, "spec": spec.to_dict(), "plan": _plan_dict(steps)})
        else:
            ctx.out.print(_plan_table(f"dry run: {spec.describe()}", steps))
            ctx.line("dry run: nothing was changed")
        return int(ExitCode.OK)
    require_reason("rotate-key", ctx.args.reason)
    return _rotate(ctx, keys, "rotate-key")


def _rotate(ctx: Context, keys: Keys, command: str) -> int:
    ops = ctx.ops(write=True)
    rotation = KeyRotation(ops, ctx.stacks, keys, settings=ctx.settings(), say=ctx.say)
    spec = spec_for(ctx.stacks)
    with run_lock(ctx.journal_path), _audited(ctx, rotation, command) as trail:
        journal = Runner(ops, ctx.stacks, ctx.journal_path).resumable(spec)
        if journal is None:
            if command == "resume":
                raise UsageError("the rotation finished while waiting; nothing to resume")
            finished = Journal.load(ctx.journal_path)
            if finished is not None:
                finished.archive()
            steps = plan_rotation(ctx.stacks, keys)
            journal = Journal.create(ctx.journal_path, spec, steps, {}, keys.options())
            if not ctx.json:
                ctx.out.print(_plan_table(f"run {journal.run_id}: {spec.describe()}", steps))
            try:
                _confirm(ctx, f"rotate the API key on stacks {', '.join(spec.stacks.values())}?")
            except UsageError:
                journal.set_status("aborted", {"step": "", "reason": "not confirmed"})
                raise
        else:
            Keys.from_env(journal.options)  # the same keys the run started with
        trail.context["run_id"] = journal.run_id
        trail.append({"event": "run-started", "outcome": "started", "spec": spec.to_dict()})
        if journal.status == "rolling-back":
            rotation.rollback(journal, "resumed")
            result: dict[str, Any] = {"run_id": journal.run_id, "status": journal.status}
        else:
            result = rotation.run(journal)
        written = trail.append({"event": "run-finished", **result, "outcome": journal.status})
    result["audit"] = [vars(r) for r in written]
    if ctx.json:
        ctx.emit(result)
    elif "old_key_refused_after_seconds" in result:
        ctx.line(
            f"[bold]old key refused everywhere after {result['old_key_refused_after_seconds']:.1f}s[/bold]"
        )
    return int(ExitCode.OK)


@contextlib.contextmanager
def _audited(ctx: Context, runner: Runner | KeyRotation, command: str) -> Iterator[AuditTrail]:
    """Every step of the run goes to the audit trail, and so does how the run ended."""
    trail = _trail(ctx, runner.ops, command)
    runner.audit = trail.append
    try:
        yield trail
    except CutoverError as exc:
        trail.append({"event": "run-stopped", "outcome": exc.exit_code.name.lower(), "error": exc.message})
        raise
    except KeyboardInterrupt:
        trail.append({"event": "run-stopped", "outcome": "interrupted"})
        raise


def cmd_audit(ctx: Context) -> int:
    reports, problems = _read_audit_stores(ctx)
    filters = {
        "run_id": ctx.args.run_id,
        "command": ctx.args.audit_command,
        "outcome": ctx.args.outcome,
        "since": ctx.args.since,
    }
    shown = {stack: [r for r in report.records if matches(r, filters)] for stack, report in reports.items()}
    broken = [f"{stack}: {p}" for stack, report in reports.items() for p in report.problems]
    data = {
        "stores": {stack: {**reports[stack].to_dict(), "records": shown[stack]} for stack in reports},
        "unreadable": problems,
        "chain_ok": not broken,
    }
    if ctx.json or ctx.args.format == "json":
        ctx.emit(data)
    elif ctx.args.format == "csv":
        _audit_csv(shown)
    else:
        _audit_tables(ctx, reports, shown)
    for problem in problems:
        ctx.err.print(f"{stamp()} [yellow]unreadable:[/yellow] {escape(problem)}", soft_wrap=True)
    if ctx.args.verify:
        _verify_audit_chains(ctx, reports, broken, data)
    return int(ExitCode.OK)


def _read_audit_stores(ctx: Context) -> tuple[dict[str, ChainReport], list[str]]:
    """The record chain of each asked stack's audit store, and what could not be read."""
    ops = ctx.ops(write=False)
    stacks = [ctx.args.stack] if ctx.args.stack else list(ctx.stacks.values())
    side_of = {stack: side for side, stack in ctx.stacks.items()}
    reports: dict[str, ChainReport] = {}
    problems: list[str] = []
    for stack in stacks:
        try:
            descriptor = ops.outputs(stack).get(AUDIT_STORE_OUTPUT)
            if not descriptor:
                raise AuditStoreError(f"stack '{stack}' has no {AUDIT_STORE_OUTPUT} output (deploy it first)")
            store = backend_for(descriptor, ctx.store_endpoints.get(side_of.get(stack, ""), None))
            reports[stack] = read_chain(store)
        except (AuditStoreError, CutoverError) as exc:
            problems.append(f"{stack}: {getattr(exc, 'message', None) or exc}")
    return reports, problems


def _verify_audit_chains(
    ctx: Context, reports: Mapping[str, ChainReport], broken: list[str], data: dict[str, Any]
) -> None:
    """`audit --verify`: every broken link is listed, then the command fails (exit 7)."""
    for problem in broken:
        ctx.err.print(f"{stamp()} [red]chain broken:[/red] {escape(problem)}", soft_wrap=True)
    if broken or not reports:
        raise _ReportedError(
            Unhealthy(f"audit chain check failed ({len(broken)} problem(s))", "see the list above"), data
        )
    if not ctx.json and ctx.args.format == "table":
        counts = ", ".join(f"{stack} {len(r.records)} records" for stack, r in reports.items())
        ctx.line(f"[green]audit chain intact[/green]: {escape(counts)}")


def _audit_tables(ctx: Context, reports: Mapping[str, ChainReport], shown: Mapping[str, list[Any]]) -> None:
    for stack, records in shown.items():
        table = Table(title=f"audit records of stack {stack} ({reports[stack].store}) at {stamp()}")
        rows = summarize(records)
        columns = (
            "seq",
            "recorded_at",
            "command",
            "run_id",
            "event",
            "step",
            "outcome",
            "operator",
            "reason",
        )
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(escape(row[c]) for c in columns))
        ctx.out.print(table)


def _audit_csv(shown: Mapping[str, list[Any]]) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(["stack", "seq", "recorded_at", "command", "run_id", "event", "step", "outcome",
                     "operator", "reason", "ticket"])  # fmt: skip
    for stack, records in shown.items():
        for row in summarize(records):
            writer.writerow([stack, *row.values()])


COMMANDS: dict[str, Callable[[Context], int]] = {
    "status": cmd_status,
    "plan": cmd_plan,
    "execute": cmd_execute,
    "resume": cmd_resume,
    "rollback": cmd_rollback,
    "failback": cmd_failback,
    "drill": cmd_drill,
    "replication": cmd_replication,
    "compare": cmd_compare,
    "audit": cmd_audit,
    "rotate-key": cmd_rotate_key,
    "inventory": cmd_inventory,
}


def run(argv: Sequence[str] | None = None, ops: StackOps | None = None) -> int:
    """Parse `argv` and run the command; returns the exit code. `ops` replaces the stack access."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error already printed by argparse
        return int(exit_.code or 0) if isinstance(exit_.code, int | None) else int(ExitCode.USAGE)
    out = Console(highlight=False, soft_wrap=False, width=160 if not sys.stdout.isatty() else None)
    err = Console(stderr=True, highlight=False, width=160 if not sys.stderr.isatty() else None)
    ctx = Context(args, out, err, ops)
    try:
        _check_global_options(ctx)
        return COMMANDS[args.command](ctx)
    except _ReportedError as quiet:
        if ctx.json and quiet.data is None:
            ctx.emit(quiet.error.to_dict())
        return int(quiet.error.exit_code)
    except CutoverError as exc:
        return _report_error(ctx, exc)
    except KeyboardInterrupt:
        err.print(
            f"{stamp()} [red]interrupted[/red]: the journal records every completed action; "
            "`failover resume` continues, `failover rollback` undoes"
        )
        return int(ExitCode.ERROR)
    except BrokenPipeError:
        raise  # the reader went away (`| head`): main ends quietly
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        err.print(f"{stamp()} [red]unexpected error:[/red] {escape(type(exc).__name__)}: {escape(str(exc))}")
        err.print(f"{stamp()} [bold]fix:[/bold] rerun with --debug for the traceback and report it")
        return int(ExitCode.ERROR)


def _check_global_options(ctx: Context) -> None:
    """What the options before the command name must hold, before any command runs."""
    args = ctx.args
    if args.dns_server:
        parse_server(args.dns_server)
    if not args.workdir.is_dir():
        raise UsageError(f"--workdir {args.workdir} is not a directory", "pass the project root")
    ctx.probe_tls  # noqa: B018 - checks --ca-bundle before anything runs


def _report_error(ctx: Context, exc: CutoverError) -> int:
    """A CutoverError as the operator sees it: message and fix on stderr (traceback only with
    --debug), the error object with --json; returns its exit code."""
    if ctx.args.debug:
        traceback.print_exc()
    ctx.err.print(f"{stamp()} [red]error:[/red] {escape(exc.message)}", highlight=False, soft_wrap=True)
    if exc.fix:
        ctx.err.print(f"{stamp()} [bold]fix:[/bold] {escape(exc.fix)}", highlight=False, soft_wrap=True)
    if ctx.json:
        ctx.emit(exc.to_dict())
    return int(exc.exit_code)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    from infra.check import run_quietly_on_broken_pipe

    # `failover --json status | head` closes the pipe early: end quietly, not in a traceback.
    sys.exit(run_quietly_on_broken_pipe(run, argv))


__all__ = ["build_parser", "main", "require_pulumi_cli", "run"]
