"""Cost model: what a stack costs a month, at its configured capacity and at full capacity.

    python -m infra.cost standby           # table for people
    python -m infra.cost primary --json    # {"stack","cloud",...,"full_capacity_monthly_usd"}
    python -m infra.cost primary standby --compare compare.json   # side by side, USD per 1M tokens

The quantities come from the offline plan (the real program under mocks), so the priced items
are the resources `pulumi up` creates: node groups and their sizes, NAT gateways, public IPs,
load balancers, disks, buckets, DNS health checks. Prices come from `infra.prices`; the stack's
`priceOverrides` config replaces any of them (committed-use discounts, negotiated rates).
A price that is in neither is an error naming the item, never a zero.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import ownership
from infra.config import PROJECT, ConfigError, StackConfig
from infra.prices import PRICES, Unit, lookup
from offline.harness import ROOT, ProgramError, ProgramRun, Registered, load_stack_config

HOURS_PER_MONTH = 730
"""AWS, GCP and Azure all price a month as 730 hours."""

MODEL_GB = 16
"""Assumed model size: an 8B model in bf16 is ~16 GB of weights (ARCHITECTURE.md). Storage is
that much per bucket, and replication moves that much once a month (one model refresh)."""

GKE_ZONES = 3
"""A regional GKE node pool runs `node_count` nodes in each of three zones by default."""

# Azure bills a managed OS disk by its Premium SSD tier, the smallest that holds the size.
_AZURE_DISK_TIERS = ((128, "p10"), (256, "p15"), (512, "p20"), (1024, "p30"))

OVERRIDES_KEY = "priceOverrides"


class CostError(ValueError):
    """Prices missing or overrides invalid; the message names every item and the fix."""


@dataclass(frozen=True)
class Usage:
    item: str
    quantity: float
    unit: Unit
    gpu: bool = False
    """A GPU node: its quantity follows capacity (warm runs one, full runs nodeCount)."""


@dataclass(frozen=True)
class Line:
    item: str
    quantity: float
    unit_usd: float
    monthly_usd: float
    source: str


@dataclass(frozen=True)
class CostReport:
    stack: str
    cloud: str
    region: str
    capacity: str
    lines: tuple[Line, ...]
    full_capacity_monthly_usd: float

    @property
    def monthly_usd(self) -> float:
        return round(sum(line.monthly_usd for line in self.lines), 2)

    @property
    def hourly_usd(self) -> float:
        return round(self.monthly_usd / HOURS_PER_MONTH, 4)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "cloud": self.cloud,
            "region": self.region,
            "capacity": self.capacity,
            "hourly_usd": self.hourly_usd,
            "monthly_usd": self.monthly_usd,
            "items": [
                {
                    "item": line.item,
                    "quantity": line.quantity,
                    "unit_usd": line.unit_usd,
                    "monthly_usd": line.monthly_usd,
                    "source": line.source,
                }
                for line in self.lines
            ],
            "full_capacity_monthly_usd": self.full_capacity_monthly_usd,
        }


def _of(run: ProgramRun, type_token: str) -> list[Registered]:
    return [r for r in run.resources if r.type == type_token]


def _num(value: Any) -> int:
    return int(value or 0)


def _aws_usage(run: ProgramRun) -> list[Usage]:
    usage: list[Usage] = []
    disks = {
        r.name: _num(r.inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"])
        for r in _of(run, "aws:ec2/launchTemplate:LaunchTemplate")
    }
    for group in _of(run, "aws:eks/nodeGroup:NodeGroup"):
        nodes = _num(group.inputs["scalingConfig"]["desiredSize"])
        gpu = bool(group.inputs.get("taints"))
        usage.append(Usage(f"aws:instance/{group.inputs['instanceTypes'][0]}", nodes, "hour", gpu))
        usage.append(Usage("aws:ebs-gp3", nodes * disks.get(group.name, 0), "GB-month", gpu))
    usage.append(Usage("aws:eks-control-plane", len(_of(run, "aws:eks/cluster:Cluster")), "hour"))
    usage.append(Usage("aws:nat-gateway", len(_of(run, "aws:ec2/natGateway:NatGateway")), "hour"))
    usage.append(Usage("aws:nlb", _load_balancers(run), "hour"))
    # Every Elastic IP: one per NAT gateway and one per AZ on the NLB (the stack's static addresses).
    usage.append(Usage("aws:public-ipv4", len(_of(run, "aws:ec2/eip:Eip")), "hour"))
    usage.append(Usage("aws:s3-standard", len(_of(run, "aws:s3/bucket:Bucket")) * MODEL_GB, "GB-month"))
    return usage


def _gcp_usage(run: ProgramRun) -> list[Usage]:
    usage: list[Usage] = []
    nats = len(_of(run, "gcp:compute/routerNat:RouterNat"))
    for pool in _of(run, "gcp:container/nodePool:NodePool"):
        config = pool.inputs["nodeConfig"]
        gpu = bool(config.get("taints"))
        autoscaling = pool.inputs.get("autoscaling") or {}
        if "totalMinNodeCount" in autoscaling:
            nodes = _num(autoscaling["totalMinNodeCount"])
        else:
            nodes = _num(pool.inputs.get("nodeCount")) * GKE_ZONES
        # Every node is private and reaches out through Cloud NAT, billed per VM using it.
        usage.append(Usage("gcp:cloud-nat-vm", nodes if nats else 0, "hour", gpu))
        usage.append(Usage(f"gcp:instance/{config['machineType']}", nodes, "hour", gpu))
        usage.append(Usage("gcp:pd-balanced", nodes * _num(config.get("diskSizeGb")), "GB-month", gpu))
    usage.append(Usage("gcp:gke-cluster-fee", len(_of(run, "gcp:container/cluster:Cluster")), "hour"))
    usage.append(Usage("gcp:cloud-nat-ip", nats, "hour"))
    # The reserved static address the forwarding rule answers on (what DNS points at).
    usage.append(Usage("gcp:static-external-ipv4", len(_of(run, "gcp:compute/address:Address")), "hour"))
    usage.append(Usage("gcp:forwarding-rule", _load_balancers(run), "hour"))
    for bucket in _of(run, "gcp:storage/bucket:Bucket"):
        where = f"{bucket.inputs.get('storageClass', 'STANDARD')}-{bucket.inputs.get('location', '')}".lower()
        usage.append(Usage(f"gcp:gcs-{where}", MODEL_GB, "GB-month"))
    return usage


def _azure_disk(size_gb: int) -> str:
    return next((f"azure:premium-ssd-{tier}" for cap, tier in _AZURE_DISK_TIERS if size_gb <= cap), "")


def _azure_usage(run: ProgramRun) -> list[Usage]:
    usage: list[Usage] = []
    pools: list[tuple[dict[str, Any], bool]] = []
    for cluster in _of(run, "azure-native:containerservice:ManagedCluster"):
        tier = (cluster.inputs.get("sku") or {}).get("tier")
        usage.append(Usage(f"azure:aks-{str(tier).lower()}-tier", 1, "hour"))
        pools += [(p, False) for p in cluster.inputs.get("agentPoolProfiles", [])]
    pools += [(p.inputs, True) for p in _of(run, "azure-native:containerservice:AgentPool")]
    for pool, gpu in pools:
        nodes = _num(pool.get("count"))
        usage.append(Usage(f"azure:instance/{pool['vmSize']}", nodes, "hour", gpu))
        usage.append(Usage(_azure_disk(_num(pool.get("osDiskSizeGB"))), nodes, "month", gpu))
    # AKS's standard load balancer carries the Service's rule (on the stack's static public IP)
    # and the cluster's outbound rule, on a public IP AKS creates itself (outboundType loadBalancer).
    static = len(_of(run, "azure-native:network:PublicIPAddress"))
    usage.append(Usage("azure:standard-load-balancer", 1 if _load_balancers(run) else 0, "hour"))
    usage.append(Usage("azure:public-ipv4", static + 1, "hour"))
    # The image cache's registry bills a fixed daily fee per SKU (storage beyond it: not modelled).
    for registry in _of(run, "azure-native:containerregistry:Registry"):
        sku = str((registry.inputs.get("sku") or {}).get("name", "")).lower()
        usage.append(Usage(f"azure:container-registry-{sku}", 1, "month"))
    accounts = _of(run, "azure-native:storage:StorageAccount")
    for account in accounts:
        sku = str((account.inputs.get("sku") or {}).get("name", "")).lower().replace("standard_", "")
        usage.append(Usage(f"azure:blob-hot-{sku}", MODEL_GB, "GB-month"))
    return usage


def _load_balancers(run: ProgramRun) -> int:
    return sum(
        1
        for r in _of(run, "kubernetes:core/v1:Service")
        if (r.inputs.get("spec") or {}).get("type") == "LoadBalancer"
    )


def _dns_usage(run: ProgramRun) -> list[Usage]:
    usage: list[Usage] = []
    for check in _of(run, "aws:route53/healthCheck:HealthCheck"):
        if check.inputs.get("type") == "CALCULATED":
            usage.append(Usage("aws:route53-health-check-calculated", 1, "month"))
            continue
        # Each stack's checks probe its own static addresses: AWS endpoints on an AWS stack.
        kind = "aws-endpoint" if run.config.cloud == "aws" else "non-aws-endpoint"
        features = sum(
            (
                _num(check.inputs.get("requestInterval")) == 10,
                str(check.inputs.get("type", "")).startswith("HTTPS"),
                bool(check.inputs.get("measureLatency")),
                "STR_MATCH" in str(check.inputs.get("type", "")),
            )
        )
        usage.append(Usage(f"aws:route53-health-check-{kind}", 1, "month"))
        usage.append(Usage(f"aws:route53-health-check-feature-{kind}", features, "month"))
    # The profile (and its probe interval) belongs to one stack, every stack owns its endpoint;
    # the interval is the same config in both stacks.
    fast = run.config.dns.health_check_interval_seconds == 10
    for _ in _of(run, "azure-native:trafficmanager:Endpoint"):
        usage.append(Usage("azure:traffic-manager-health-check-external", 1, "month"))
        usage.append(Usage("azure:traffic-manager-fast-interval-external", 1 if fast else 0, "month"))
    for _ in _of(run, "gcp:compute/healthCheck:HealthCheck"):
        usage.append(Usage("gcp:cloud-dns-health-check", 1, "month"))
    return usage


def _replication_usage(cfg: StackConfig) -> list[Usage]:
    """The standby pulls the model across clouds: the primary's cloud bills the egress."""
    if cfg.primary_cloud is None or cfg.replication_paused:
        return []
    if cfg.primary_cloud == ownership.ONPREM:
        return []  # the site's transit is part of its operationsMonthlyUsd
    return [Usage(f"{cfg.primary_cloud}:internet-egress", MODEL_GB, "GB")]


_BY_CLOUD = {"aws": _aws_usage, "gcp": _gcp_usage, "azure": _azure_usage}


def _owned_usage(run: ProgramRun) -> list[Usage]:
    """Owned hardware has no metered usage: infra/ownership.py prices it from config."""
    return []


_BY_CLOUD[ownership.ONPREM] = _owned_usage


def _owned_lines(cfg: StackConfig, capacity: str) -> tuple[Line, ...]:
    if cfg.cloud != ownership.ONPREM or cfg.ownership is None:
        return ()
    return tuple(Line(*item) for item in ownership.items(cfg.ownership, capacity))


def usage_of(run: ProgramRun) -> list[Usage]:
    """What the stack runs, merged per item; items with zero quantity are dropped."""
    usage = _BY_CLOUD[run.config.cloud](run) + _dns_usage(run) + _replication_usage(run.config)
    merged: dict[tuple[str, Unit, bool], float] = {}
    for u in usage:
        if u.item:
            key = (u.item, u.unit, u.gpu)
            merged[key] = merged.get(key, 0) + u.quantity
    return [Usage(item, qty, unit, gpu) for (item, unit, gpu), qty in merged.items() if qty]


def parse_overrides(raw: str | None, stack: str) -> dict[str, float]:
    """`priceOverrides` from the stack config: {"<cloud>:<item>": <USD per unit> > 0}."""
    if raw is None or not raw.strip():
        return {}
    fix = (
        f"set it in Pulumi.{stack}.yaml as a JSON map of item to USD per unit, e.g. "
        f"""{OVERRIDES_KEY}: '{{"aws:instance/g6.2xlarge": 0.61}}'"""
    )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise CostError(f"stack config '{OVERRIDES_KEY}' must be a map (got {raw!r}): {fix}")
    problems = [
        f"stack config '{OVERRIDES_KEY}.{item}' must be a price in USD above 0 (got {usd!r}): {fix}"
        for item, usd in value.items()
        if isinstance(usd, bool) or not isinstance(usd, int | float) or not math.isfinite(usd) or usd <= 0
    ]
    problems += [
        f"stack config '{OVERRIDES_KEY}.{item}' must name an item as '<cloud>:<item>' "
        f"(got {item!r}): see `python -m infra.cost {stack}` for the item names"
        for item in value
        if not isinstance(item, str)
        or item.split(":", 1)[0] not in ("aws", "gcp", "azure")
        or ":" not in item
    ]
    if problems:
        raise CostError("\n".join(problems))
    return {item: float(usd) for item, usd in value.items()}


def _line(u: Usage, quantity: float, region: str, overrides: Mapping[str, float]) -> Line | None:
    if u.item in overrides:
        unit_usd, source = overrides[u.item], f"config {OVERRIDES_KEY}"
    elif (price := lookup(u.item, region)) is not None:
        unit_usd, source = price.usd, f"{price.source} ({price.date})"
    else:
        return None
    per_month = HOURS_PER_MONTH if u.unit == "hour" else 1
    return Line(u.item, quantity, unit_usd, round(quantity * unit_usd * per_month, 2), source)


def price(
    run: ProgramRun, overrides: Mapping[str, float] | None = None, usage: Iterable[Usage] | None = None
) -> CostReport:
    """Price `run` at its capacity and at full capacity; CostError names every missing price."""
    cfg, overrides = run.config, overrides or {}
    usage = list(usage if usage is not None else usage_of(run))
    missing = sorted(
        {u.item for u in usage if u.item not in overrides and lookup(u.item, cfg.region) is None}
    )
    if cfg.cloud == ownership.ONPREM and (why := ownership.missing_message(cfg.ownership, cfg.stack)):
        raise CostError(why)
    if missing:
        listed = ", ".join(missing)
        raise CostError(
            f"no price for {listed} in {cfg.cloud} {cfg.region} (stack '{cfg.stack}'): the catalogue "
            f"infra/prices.py has none; add each to '{OVERRIDES_KEY}' in Pulumi.{cfg.stack}.yaml "
            f"""(e.g. {OVERRIDES_KEY}: '{{"{missing[0]}": <USD per unit>}}') """
            "or to the catalogue with its source"
        )
    lines = _owned_lines(cfg, cfg.capacity) + tuple(
        line for u in usage if (line := _line(u, u.quantity, cfg.region, overrides))
    )
    full_nodes = cfg.gpu.node_count / max(cfg.effective_node_count, 1)
    full = sum(line.monthly_usd for line in _owned_lines(cfg, "full")) + sum(
        line.monthly_usd
        for u in usage
        if (line := _line(u, u.quantity * (full_nodes if u.gpu else 1), cfg.region, overrides))
    )
    return CostReport(cfg.stack, cfg.cloud, cfg.region, cfg.capacity, lines, round(full, 2))


def price_stack(stack: str, root: Path = ROOT) -> CostReport:
    from infra.plan import plan_stack

    run, _ = plan_stack(stack, root)
    config, _ = load_stack_config(stack, root)
    return price(run, parse_overrides(config.get(f"{PROJECT}:{OVERRIDES_KEY}"), stack))


def render_table(report: CostReport) -> str:
    rows = [f"{'item':<52} {'quantity':>9} {'unit USD':>10} {'USD/month':>11}  source"]
    rows += [
        f"{line.item:<52} {line.quantity:>9g} {line.unit_usd:>10g} {line.monthly_usd:>11.2f}  {line.source}"
        for line in report.lines
    ]
    rows.append(
        f"stack '{report.stack}' ({report.cloud} {report.region}, {report.capacity}): "
        f"${report.monthly_usd:,.2f}/month (${report.hourly_usd:.4f}/hour); "
        f"at full capacity ${report.full_capacity_monthly_usd:,.2f}/month"
    )
    return "\n".join(rows) + "\n"


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m infra.cost` (tests/runbooks/test_runbooks.py parses runbook
    lines with it)."""
    parser = argparse.ArgumentParser(prog="python -m infra.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "stack",
        nargs="+",
        help="stack name: primary, standby, or any Pulumi.<stack>.yaml here; several: side by side",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable report (several: a list)")
    parser.add_argument(
        "--workdir", type=Path, default=ROOT, help="project directory (default: this checkout)"
    )
    measured = parser.add_mutually_exclusive_group()
    measured.add_argument(
        "--compare",
        type=Path,
        metavar="FILE",
        help="output of `failover --json compare`: each stack's measured output tokens/s, for USD per 1M",
    )
    measured.add_argument(
        "--output-tokens-per-second",
        type=float,
        metavar="N",
        help="one measured throughput for every stack, for USD per 1M output tokens",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from infra import side_by_side

    args = build_parser().parse_args(argv)
    try:
        tokens = side_by_side.throughputs(args.stack, args.compare, args.output_tokens_per_second)
    except side_by_side.ThroughputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reports, code = _price_stacks(args.stack, args.workdir)
    if code:
        return code
    try:
        if args.compare is not None:
            side_by_side.check_clouds(reports, args.compare)
    except side_by_side.ThroughputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(side_by_side.as_json(reports), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for report in reports:
        sys.stdout.write(render_table(report))
    if len(reports) > 1 or tokens:
        sys.stdout.write("\n" + side_by_side.render(reports, tokens))
    return 0


def _price_stacks(stacks: Sequence[str], workdir: Path) -> tuple[list[CostReport], int]:
    """Each stack's report (budget warnings on stderr) and the exit code: 2 for a config or price
    problem, 1 when the program fails, 0 when every stack priced."""
    from infra.cost_budget import budget_warning, configured_budget

    reports: list[CostReport] = []
    code = 0
    for stack in stacks:
        try:
            report = price_stack(stack, workdir)
        except (ConfigError, CostError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            code = code or 2
            continue
        except ProgramError as exc:
            print(f"error: {exc}", file=sys.stderr)
            code = 1
            continue
        reports.append(report)
        if warning := budget_warning(report, configured_budget(stack, workdir)):
            print(f"warning: {warning}", file=sys.stderr)
    return reports, code


__all__ = [
    "PRICES",
    "CostError",
    "CostReport",
    "Usage",
    "parse_overrides",
    "price",
    "price_stack",
    "usage_of",
]

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
