"""Read-only checks of both sides: what the stacks say, what the endpoints answer, store parity.

`load_sides` reads each stack's outputs and cutover config through `StackOps`; `status` probes
both endpoints, compares the models they serve, checks the object stores are in parity (with
`cutover.verify`) and reads the current DNS answer for the service name.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cutover.dns_check import DnsObservation, observe
from cutover.plan import CAPACITY, ROUTING, SIDES, WEIGHT, Side, StackState, other, serving_side
from cutover.probes import ProbeTls, SideProbe, probe_side
from cutover.stack_ops import StackOps

if TYPE_CHECKING:
    from cutover.journal import Journal

# Output names (see infra/outputs.py); repeated here so the CLI never imports the stack program.
ENDPOINT_URL = "endpointUrl"
ENDPOINT_HOST = "endpointHost"
ENDPOINT_ADDRESSES = "endpointAddresses"
SERVICE_FQDN = "serviceFqdn"
MODEL_STORE = "modelStore"


@dataclass(frozen=True)
class SideInfo:
    side: Side
    stack: str
    state: StackState
    outputs: Mapping[str, Any]
    model_name: str | None
    model_path: str | None
    store_endpoint: str | None = None
    """Object-store endpoint override (S3-compatible gateway or emulator); None = the cloud's own."""

    @property
    def endpoint_url(self) -> str | None:
        value = self.outputs.get(ENDPOINT_URL)
        return str(value) if value else None

    @property
    def endpoint_host(self) -> str | None:
        value = self.outputs.get(ENDPOINT_HOST)
        if value:
            return str(value)
        if self.endpoint_url:
            from urllib.parse import urlparse

            return urlparse(self.endpoint_url).hostname
        return None

    @property
    def endpoint_addresses(self) -> list[str]:
        value = self.outputs.get(ENDPOINT_ADDRESSES)
        return [str(a) for a in value] if isinstance(value, list) else []

    @property
    def fqdn(self) -> str | None:
        value = self.outputs.get(SERVICE_FQDN)
        return str(value) if value else None

    @property
    def model_store(self) -> Mapping[str, Any] | None:
        value = self.outputs.get(MODEL_STORE)
        return value if isinstance(value, Mapping) else None


def read_state(ops: StackOps, side: Side, stack: str) -> StackState:
    return StackState(
        side=side,
        stack=stack,
        role=ops.get_config(stack, "role") or side,
        capacity=ops.get_config(stack, CAPACITY),
        routing=ops.get_config(stack, ROUTING),
        weight=ops.get_config(stack, WEIGHT),
    )


def read_states(ops: StackOps, stacks: Mapping[str, str]) -> dict[Side, StackState]:
    return {side: read_state(ops, side, stacks[side]) for side in SIDES}


def load_sides(
    ops: StackOps, stacks: Mapping[str, str], store_endpoints: Mapping[str, str | None] | None = None
) -> dict[Side, SideInfo]:
    sides: dict[Side, SideInfo] = {}
    for side in SIDES:
        stack = stacks[side]
        sides[side] = SideInfo(
            side=side,
            stack=stack,
            state=read_state(ops, side, stack),
            outputs=ops.outputs(stack),
            model_name=ops.get_config(stack, "modelName"),
            model_path=ops.get_config(stack, "modelPath"),
            store_endpoint=(store_endpoints or {}).get(side),
        )
    return sides


def service_fqdn(sides: Mapping[Side, SideInfo]) -> str | None:
    return sides["primary"].fqdn or sides["standby"].fqdn


def endpoint_hosts(sides: Mapping[Side, SideInfo]) -> dict[Side, str | None]:
    return {side: info.endpoint_host for side, info in sides.items()}


def endpoint_addresses(sides: Mapping[Side, SideInfo]) -> dict[Side, list[str]]:
    """Every address each side answers on (a PowerDNS record answers any one of them)."""
    return {side: info.endpoint_addresses for side, info in sides.items()}


@dataclass(frozen=True)
class ParityResult:
    checked: bool
    """False when the check could not run at all (skipped, verifier or outputs missing)."""
    in_parity: bool
    summary: str
    report: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "in_parity": self.in_parity,
            "summary": self.summary,
            "report": dict(self.report) if self.report is not None else None,
        }


def store_parity(source: SideInfo, target: SideInfo) -> ParityResult:
    """Does `target`'s model store hold everything `source`'s does (under each stack's modelPath)?"""
    if source.model_store is None or target.model_store is None:
        missing = [i.stack for i in (source, target) if i.model_store is None]
        return ParityResult(False, False, f"no modelStore output on stack {', '.join(missing)}")
    try:
        from cutover.verify import StoreLocation, verify_parity
    except ImportError as exc:
        return ParityResult(False, False, f"the object-store verifier is not installed ({exc})")
    try:
        report = verify_parity(
            StoreLocation.from_descriptor(
                dict(source.model_store), prefix=source.model_path or "", endpoint_url=source.store_endpoint
            ),
            StoreLocation.from_descriptor(
                dict(target.model_store), prefix=target.model_path or "", endpoint_url=target.store_endpoint
            ),
        )
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return ParityResult(False, False, f"verifying {source.stack} -> {target.stack} failed: {text}")
    details = report.to_dict()
    if report.in_parity:
        return ParityResult(True, True, f"{target.stack} holds everything {source.stack} holds", details)
    counts = ", ".join(
        f"{len(getattr(report, name))} {name}"
        for name in ("missing", "different", "extra", "unverifiable")
        if getattr(report, name)
    )
    return ParityResult(
        True, False, f"{target.stack} is not in parity with {source.stack}: {counts}", details
    )


@dataclass
class StatusReport:
    sides: Mapping[Side, SideInfo]
    probes: Mapping[Side, SideProbe]
    model_parity: bool
    store: ParityResult | None
    dns: DnsObservation | None
    problems: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    """Findings that are the known state after a completed run (the demoted side down)."""
    serving: Side | None = None
    """The side the stacks' config sends all traffic to (None while split)."""
    headline: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "headline": self.headline,
            "serving": self.serving,
            "problems": self.problems,
            "expected": self.expected,
            "sides": {
                side: {
                    "stack": info.stack,
                    "config": info.state.to_dict(),
                    "endpointUrl": info.endpoint_url,
                    "model": info.model_name,
                    "probe": self.probes[side].to_dict(),
                }
                for side, info in self.sides.items()
            },
            "model_parity": self.model_parity,
            "store_parity": self.store.to_dict() if self.store is not None else None,
            "dns": self.dns.to_dict() if self.dns is not None else None,
        }


def expected_down(journal: Journal | None, serving: Side | None) -> tuple[Side, str, str] | None:
    """(side, since, run id) when a completed run moved all traffic away from `side` on purpose."""
    if journal is None or serving != "standby" or journal.status != "completed":
        return None
    spec = journal.spec
    if spec.command != "execute" or spec.to != "standby":
        return None
    moved = [s for s in journal.plan if s.kind == "shift" and s.weights.get("standby") == 100]
    record = journal.step_record(moved[-1].id) if moved else {}
    since = str(record.get("completed_at") or journal.data.get("updated_at") or "")
    return other(serving), since, journal.run_id


def status(
    sides: Mapping[Side, SideInfo],
    dns_server: str | None = None,
    skip_store_parity: bool = False,
    probe_timeout_seconds: float = 5.0,
    dns_samples: int = 5,
    *,
    journal: Journal | None = None,
    tls: ProbeTls | None = None,
) -> StatusReport:
    """Probe both sides, the stores and DNS at once: a hung side costs one timeout, not one per check."""
    fqdn = service_fqdn(sides)
    probes, store, dns = _observe_all(
        sides,
        fqdn,
        dns_server=dns_server,
        skip_store_parity=skip_store_parity,
        probe_timeout_seconds=probe_timeout_seconds,
        dns_samples=dns_samples,
        tls=tls or ProbeTls(),
    )
    serving = serving_side({side: info.state for side, info in sides.items()})
    down = expected_down(journal, serving)
    problems, expected = _side_findings(sides, probes, down)
    model_parity, differ = _model_parity(sides, probes)
    problems += differ
    if store is not None and not store.in_parity:
        # With the primary down on purpose its store may be unreachable too: that is not news.
        if down is not None and down[0] == "primary" and not store.checked:
            expected.append(f"object stores: {store.summary}")
        else:
            problems.append(f"object stores: {store.summary}")
    problems += _dns_findings(fqdn, dns, probes)
    headline = _headline(serving, probes, down)
    return StatusReport(sides, probes, model_parity, store, dns, problems, expected, serving, headline)


def _observe_all(
    sides: Mapping[Side, SideInfo],
    fqdn: str | None,
    *,
    dns_server: str | None,
    skip_store_parity: bool,
    probe_timeout_seconds: float,
    dns_samples: int,
    tls: ProbeTls,
) -> tuple[dict[Side, SideProbe], ParityResult | None, DnsObservation | None]:
    """Both sides' probes, store parity (None when skipped) and DNS (None without a name), in parallel."""
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="status") as pool:
        probing = {
            side: pool.submit(
                probe_side,
                info.endpoint_url,
                info.model_name,
                probe_timeout_seconds,
                service_name=info.fqdn,
                tls=tls,
            )
            for side, info in sides.items()
        }
        parity = None if skip_store_parity else pool.submit(store_parity, sides["primary"], sides["standby"])
        observing = (
            pool.submit(
                observe,
                fqdn,
                endpoint_hosts(sides),
                dns_server,
                dns_samples,
                addresses=endpoint_addresses(sides),
            )
            if fqdn
            else None
        )
        probes = {side: future.result() for side, future in probing.items()}
        store = parity.result() if parity is not None else None
        dns = observing.result() if observing is not None else None
    return probes, store, dns


def _side_findings(
    sides: Mapping[Side, SideInfo], probes: Mapping[Side, SideProbe], down: tuple[Side, str, str] | None
) -> tuple[list[str], list[str]]:
    """(problems, expected) of the probes: a failing side that a completed run left down is expected."""
    problems: list[str] = []
    expected: list[str] = []
    for side, probe in probes.items():
        found = [f"{side} ({sides[side].stack}): {p}" for p in probe.problems]
        if down is not None and side == down[0] and not probe.ok:
            expected.extend(found)
        else:
            problems.extend(found)
        if probe.expected_model is None:
            problems.append(
                f"{side} ({sides[side].stack}): no modelName in the stack config to compare against"
            )
    return problems, expected


def _model_parity(sides: Mapping[Side, SideInfo], probes: Mapping[Side, SideProbe]) -> tuple[bool, list[str]]:
    """Whether both stacks configure one model that both serve, and the problem when they differ."""
    names = {info.model_name for info in sides.values()}
    served = [set(p.models) for p in probes.values()]
    parity = len(names) == 1 and None not in names and all(names <= s for s in served)
    if len(names) == 1:
        return parity, []
    return parity, [
        "the stacks configure different models: "
        + ", ".join(f"{i.stack}={i.model_name}" for i in sides.values())
    ]


def _dns_findings(
    fqdn: str | None, dns: DnsObservation | None, probes: Mapping[Side, SideProbe]
) -> list[str]:
    """DNS problems: no service name, an answer the routing does not explain, traffic to a dead side."""
    if fqdn is None:
        return ["no serviceFqdn output on either stack"]
    if dns is None:
        return []
    issue = dns.check(frozenset(SIDES))
    if issue:
        return [f"DNS: {issue}"]
    return [
        f"DNS: {fqdn} sends traffic to {side}, which is not serving"
        for side in sorted(dns.sides_seen)
        if not probes[side].ok
    ]


def _headline(
    serving: Side | None, probes: Mapping[Side, SideProbe], down: tuple[Side, str, str] | None
) -> str:
    if serving is None:
        return "traffic is split between primary and standby (a cutover is in progress or stopped half way)"
    text = f"serving from {serving}"
    demoted = other(serving)
    if down is not None and not probes[demoted].ok:
        side, since, run_id = down
        return f"{text}; {side} down (expected since {since}: run {run_id} moved all traffic to {serving})"
    return f"{text}; {demoted} {'healthy' if probes[demoted].ok else 'DOWN'}"
