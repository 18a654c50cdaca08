"""Neutral inputs, checks and the exported descriptor of the DNS failover component.

Everything here is cloud-independent: the Args every cloud module takes, the rules both stacks
must agree on, how an endpoint is classified (IPv4 address or host name), and the shape of the
`dns` stack output. The cloud modules only translate these decisions into resources.

Errors name the stack config key a user has to change (the component is only ever configured
from stack config, see infra/program.py), collect every problem at once, and say how to fix it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypedDict, cast

import pulumi

from components.common import Cloud, Placement
from components.problems import ARGS_CODES, ArgsError, Problem

Role = Literal["primary", "standby"]
Authority = Cloud | Literal["powerdns"]
"""dnsProvider: a cloud's DNS, or a self-hosted PowerDNS (create_failover_record refuses any other)."""
Routing = Literal["failover", "weighted"]
EndpointKind = Literal["ipv4", "hostname"]

ROLES: Final[tuple[Role, ...]] = ("primary", "standby")
ROUTINGS: Final[tuple[Routing, ...]] = ("failover", "weighted")
HEALTH_CHECK_INTERVALS_SECONDS: Final = (10, 30)
MAX_TTL_SECONDS: Final = 60
GCP_MIN_INTERVAL_SECONDS: Final = 30
"""GCP only accepts health checks with `source_regions` (required for external endpoints in Cloud
DNS routing policies) when they probe every 30 s or slower."""

# Args field -> the stack config key that sets it (infra/program.py), for error messages.
CONFIG_KEYS: Final[Mapping[str, str]] = {
    "provider": "dnsProvider",
    "role": "role",
    "zone": "dnsZone",
    "record": "dnsRecord",
    "fqdn": "dnsZone/dnsRecord",
    "ttl_seconds": "dnsTtlSeconds",
    "routing": "dnsRouting",
    "weight": "trafficWeight",
    "health_check_path": "healthCheckPath",
    "health_check_port": "healthCheckPort",
    "health_check_interval_seconds": "healthCheckIntervalSeconds",
    "health_check_failure_threshold": "healthCheckFailureThreshold",
    "azure_resource_group": "dnsResourceGroup",
    "gcp_managed_zone": "dnsManagedZone",
    "primary_dns": "primaryStack",
    "powerdns_api_url": "powerdnsApiUrl",
    "powerdns_server_id": "powerdnsServerId",
    "endpoint": "endpointHost",  # a stack output (the workload's load balancer), not config
}


@dataclass(frozen=True)
class PowerDnsApi:
    """A self-hosted PowerDNS authority's HTTP API (dnsProvider powerdns, components/dns/powerdns.py)."""

    api_url: str
    """Base of the API, e.g. https://pdns.example.internal:8081/api/v1 (infra/config_powerdns.py)."""
    api_key: pulumi.Input[str]
    """Secret: goes only into the record provider's secret inputs, never into a resource's state."""
    server_id: str = "localhost"


@dataclass(frozen=True)
class FailoverRecordArgs:
    """One stack's side of the health-checked service name `<record>.<zone>`.

    The primary stack and the standby stack each create one of these with the same DNS settings
    and their own endpoint; together they make the failover (or weighted) answer for the name.
    """

    placement: Placement
    """Where the DNS resources live: the DNS authority's cloud (`dnsProvider`), independent of
    the stack's own cloud. Its provider is passed to every child resource."""
    role: Role
    """primary: this stack's endpoint is answered first (priority 1 / the primary target);
    standby: answered when the primary is unhealthy (priority 2 / the backup target)."""
    stack_cloud: Cloud
    """Cloud the endpoint runs on (only recorded in the descriptor and in names)."""
    zone: str
    """DNS zone that already exists at the authority, e.g. example.com; it is looked up, never
    created or changed."""
    record: str
    """Label inside `zone` that clients resolve, e.g. api."""
    endpoint_host: pulumi.Input[str]
    """This stack's load balancer: a host name (AWS ELB/NLB) or an IPv4 address (GCP, Azure).
    IPv4 is answered with an A record; an AWS load balancer host name with an alias A record;
    any other host name with a CNAME (Route 53 and Traffic Manager only)."""
    endpoint_addresses: pulumi.Input[Sequence[str]] | None = None
    """Every static IPv4 address of this stack's load balancer, `endpoint_host` first (AWS: one
    Elastic IP per AZ). Route 53 and Cloud DNS answer and probe all of them; Traffic Manager
    (one target per endpoint) answers and probes `endpoint_host`, which reaches every replica like
    the others (the load balancers balance across zones). None: `endpoint_host` alone."""
    endpoint_address_count: int = 1
    """How many addresses `endpoint_addresses` holds, known when the stack is written (AWS: one
    Elastic IP per public subnet). Route 53 probes each with its own health check and treats the
    stack as healthy while any of them passes (a CALCULATED check), so one AZ's load balancer
    node going down does not fail the whole stack over."""
    ttl_seconds: int = 30
    """TTL of every answer for the service name, 1-60 s so resolvers notice a failover quickly.
    Route 53 alias answers (AWS load balancers) carry the load balancer's own 60 s TTL."""
    routing: Routing = "failover"
    """failover: all traffic to the primary while it is healthy, to the standby otherwise.
    weighted: traffic split by `weight` among healthy endpoints, still falling back to the other
    stack when one is unhealthy. Must be the same in both stacks (the standby checks it), except
    at weights primary 100 / standby 0, where both modes route the same: a switch of mode can be
    applied to the two stacks in either order there."""
    weight: int | None = None
    """Share of traffic 0-100 this stack takes with `routing='weighted'`; unset means 100 for the
    primary and 0 for the standby. Ignored (with a warning) with `routing='failover'`. A weight of
    0 keeps the endpoint as a health-checked fallback; both stacks at 0 is rejected."""
    health_check_path: str = "/health"
    """HTTP path every health check requests; must answer HTTP 200 when the stack can serve
    (Route 53 also accepts other 2xx/3xx; Traffic Manager and GCP health checks want 200)."""
    health_check_port: int = 443
    """Port every health check probes, always over HTTPS (the edge listens on TLS only)."""
    health_check_interval_seconds: int = 10
    """Seconds between probes: 10 or 30 (Route 53, Traffic Manager). Cloud DNS requires 30."""
    health_check_failure_threshold: int = 3
    """Consecutive failed probes (1-9) before an endpoint is taken out of DNS answers."""
    azure_resource_group: str | None = None
    """Azure only (required there): resource group holding the Azure DNS zone; the primary's
    Traffic Manager profile is created in it too."""
    gcp_managed_zone: str | None = None
    """GCP only: Cloud DNS managed-zone name; unset means the zone with dots as dashes."""
    primary_dns: pulumi.Input[Any] | None = None
    """Standby only (required there): the primary stack's exported `dns` descriptor, read through
    its StackReference. The standby checks that both stacks agree on every DNS setting and, on
    Azure and GCP, uses it to join the primary's profile / record set."""
    deletion_protection: bool = True
    """The answering records (and the Traffic Manager profile) are protected: `pulumi destroy`
    or a replacement fails until this is set False and applied, because losing them is an outage.
    Health checks are not protected; they are recreated in seconds."""
    powerdns: PowerDnsApi | None = None
    """Set: the authority is a self-hosted PowerDNS reached through this API (dnsProvider powerdns),
    and `placement` is only the stack's own (its name and tags; no cloud resource is created)."""
    gcp_health_check_regions: tuple[str, str, str] = ("us-central1", "us-east4", "europe-west1")
    """GCP only: the three regions Cloud DNS probes external endpoints from (GCP requires exactly
    three). Spread over two continents so one regional problem cannot fail a healthy endpoint."""

    @property
    def fqdn(self) -> str:
        return f"{self.record}.{self.zone}"

    @property
    def authority(self) -> Authority:
        """dnsProvider: powerdns when a PowerDNS API is given, else the placement's cloud."""
        if self.powerdns is not None:
            return "powerdns"
        # A site is never a DNS authority (config refuses dnsProvider onprem); only a cloud is left.
        return cast(Authority, self.placement.cloud)

    @property
    def effective_weight(self) -> int:
        """The weight this stack's answer gets: fixed 100/0 in failover, configured in weighted."""
        default = 100 if self.role == "primary" else 0
        if self.routing == "failover" or self.weight is None:
            return default
        return self.weight

    @property
    def managed_zone(self) -> str:
        return self.gcp_managed_zone or self.zone.replace(".", "-")

    @property
    def probe_protocol(self) -> Literal["HTTP", "HTTPS"]:
        # The service's edge answers TLS only (no plain-HTTP listener), on any port.
        return "HTTPS"

    @property
    def probe_timeout_seconds(self) -> int:
        """Time a probe may take: half the interval at 10 s, 10 s at 30 s (within every cloud's
        limits: Traffic Manager 5-9 s at 10 s and 5-10 s at 30 s; GCP at most the interval)."""
        return 5 if self.health_check_interval_seconds == 10 else 10


class FailoverRecord(pulumi.ComponentResource):
    """What every cloud's record exposes (the classes in aws.py, gcp.py and azure.py)."""

    descriptor: pulumi.Output[dict[str, Any]]
    """The `dns` stack output: what this stack set up at the DNS authority (see DnsDescriptor)."""


@dataclass(frozen=True)
class DnsProblem(Problem):
    """A problem with a stack config key (`key`, see Problem) or, with source output, a value
    another component produced (the endpoint); its code is FailoverRecordArgs'."""

    source: Literal["config", "output"] = "config"
    """config: a stack config key; output: a value another component produced (the endpoint)."""

    def __post_init__(self) -> None:
        if not self.code:
            object.__setattr__(self, "code", ARGS_CODES["FailoverRecordArgs"])

    def _subject(self) -> str:
        return f"stack {self.source}"


class DnsError(ArgsError):
    """Every problem found in one stack's DNS settings, reported at once.

    Not a ValueError on purpose: Pulumi wraps a ValueError raised while it resolves an output
    with the output's internal repr ("While processing input: ..., value <pulumi.output.Output
    object at 0x...>"), and most of these checks run inside applies.
    """

    def __init__(self, stack: str, problems: list[DnsProblem]) -> None:
        self.stack = stack
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            "FailoverRecordArgs", problems, header=f"{len(problems)} DNS {noun} in stack '{stack}':"
        )


class HealthCheckDescriptor(TypedDict):
    protocol: str
    port: int
    path: str
    intervalSeconds: int
    failureThreshold: int


class DnsDescriptor(TypedDict, total=False):
    """The `dns` stack output: what this stack set up at the DNS authority.

    The standby reads the primary's through its StackReference; the cutover CLI reads both.
    Keys marked per cloud appear only for that `provider`.
    """

    provider: str
    """DNS authority: aws, gcp or azure."""
    fqdn: str
    """The service name clients resolve."""
    zone: str
    role: str
    stack: str
    stackCloud: str
    routing: str
    weight: int
    """Effective share 0-100 this stack's answer gets (100/0 in failover routing)."""
    ttlSeconds: int
    endpoint: str
    """This stack's load balancer host name or IP, as answered/probed."""
    endpointAddresses: list[str]
    """Every address this stack's record answers (endpoint first; AWS: one Elastic IP per AZ)."""
    endpointKind: str
    """ipv4 or hostname."""
    healthCheck: HealthCheckDescriptor
    """Probe settings (both stacks must agree; the standby checks)."""
    serviceRecordOwner: str
    """Which stack owns the record for the service name: 'each' (Route 53: each stack its
    FAILOVER record, PRIMARY aliasing the weighted pool or SECONDARY, and its weighted pool
    member), 'primary' (Azure: the CNAME and Traffic Manager profile) or 'standby' (Cloud DNS:
    one record set holding both targets)."""
    recordSetIds: list[str]
    """Record sets this stack created at the authority."""
    healthCheckIds: list[str]
    """Health checks this stack created (Route 53 / GCP health check ids)."""
    # aws
    zoneId: str
    setIdentifier: str
    recordType: str
    """A (IPv4 or alias to a load balancer) or CNAME (other host names), in both layers."""
    poolFqdn: str
    """The weighted pool name `<record>-pool.<zone>` the service PRIMARY aliases."""
    poolRecordId: str
    """This stack's weighted record in the pool."""
    serviceRecordId: str
    """This stack's FAILOVER record for the service name."""
    failoverType: str
    """PRIMARY (the primary stack, alias to the pool) or SECONDARY (the standby's own endpoint)."""
    # azure
    trafficManager: dict[str, Any]
    """profileName, resourceGroup, fqdn (the CNAME target), profileId, routingMethod, endpointName,
    endpointId, priority, endpointWeight."""
    # gcp
    managedZone: str
    project: str
    primaryBackup: dict[str, Any]
    """Standby only: primary and backup IPs and the trickle ratio of the Cloud DNS record set."""


def endpoint_kind(host: str) -> EndpointKind | None:
    """ipv4 or hostname; None for anything that can be neither (IPv6, empty, URL)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "hostname" if _HOSTNAME.match(host) else None
    return "ipv4" if address.version == 4 else None


_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")


def check_args(args: FailoverRecordArgs) -> None:
    """Raise DnsError listing every static problem of `args` (before any resource exists)."""
    stack = args.placement.stack
    problems: list[DnsProblem] = []

    def add(field_name: str, got: object, expected: str, fix: str | None = None) -> None:
        key = CONFIG_KEYS[field_name]
        problems.append(DnsProblem(key, got, expected, fix or f"set it in Pulumi.{stack}.yaml"))

    _record_problems(args, add)
    _health_check_problems(args, add)
    if args.authority == "azure" and not args.azure_resource_group:
        add(
            "azure_resource_group",
            args.azure_resource_group,
            "the resource group of the Azure DNS zone when dnsProvider is azure",
        )
    if args.authority == "gcp" and not args.placement.gcp_project:
        problems.append(
            DnsProblem(
                "gcpProject",
                None,
                "set when dnsProvider is gcp",
                f"set the project of the Cloud DNS zone in Pulumi.{stack}.yaml",
            )
        )
    if args.role == "standby" and args.primary_dns is None:
        add("primary_dns", None, "set on a standby (its DNS side joins the primary's)")
    if args.role == "primary" and args.primary_dns is not None:
        add("primary_dns", "<a stack reference>", "unset on a primary stack")
    if problems:
        raise DnsError(stack, problems)


_Add = Callable[..., None]
"""check_args' `add(field_name, got, expected, fix=None)`: records one problem of an Args field."""


def _record_problems(args: FailoverRecordArgs, add: _Add) -> None:
    """The record: role, routing, TTL and weight."""
    if args.role not in ROLES:
        add("role", args.role, "one of primary, standby")
    if args.routing not in ROUTINGS:
        add("routing", args.routing, "one of failover, weighted")
    if not 1 <= args.ttl_seconds <= MAX_TTL_SECONDS:
        add(
            "ttl_seconds",
            args.ttl_seconds,
            f"between 1 and {MAX_TTL_SECONDS}",
            "a longer TTL keeps resolvers on a dead endpoint after failover; lower it",
        )
    if args.weight is not None and not 0 <= args.weight <= 100:
        add("weight", args.weight, "between 0 and 100 (a percentage share)")


def _health_check_problems(args: FailoverRecordArgs, add: _Add) -> None:
    """The health check: path, port, interval (30 s on Cloud DNS) and failure threshold."""
    if not args.health_check_path.startswith("/"):
        add("health_check_path", args.health_check_path, "an absolute HTTP path such as /health")
    if not 1 <= args.health_check_port <= 65535:
        add("health_check_port", args.health_check_port, "a TCP port between 1 and 65535")
    if args.health_check_interval_seconds not in HEALTH_CHECK_INTERVALS_SECONDS:
        add(
            "health_check_interval_seconds",
            args.health_check_interval_seconds,
            "10 or 30 (what Route 53 and Traffic Manager support)",
        )
    elif args.authority == "gcp" and args.health_check_interval_seconds < GCP_MIN_INTERVAL_SECONDS:
        add(
            "health_check_interval_seconds",
            args.health_check_interval_seconds,
            f"{GCP_MIN_INTERVAL_SECONDS} when dnsProvider is gcp",
            "Cloud DNS probes external endpoints with a health check from three source regions, "
            "and GCP only allows those every 30 s or slower; set healthCheckIntervalSeconds: 30 "
            "in both stack files (or use dnsProvider aws/azure for 10 s probes)",
        )
    if not 1 <= args.health_check_failure_threshold <= 9:
        add("health_check_failure_threshold", args.health_check_failure_threshold, "between 1 and 9")


def warnings_for(args: FailoverRecordArgs) -> list[str]:
    """Settings that are valid but do nothing, said once per run."""
    default = 100 if args.role == "primary" else 0
    if args.routing == "failover" and args.weight is not None and args.weight != default:
        return [
            f"trafficWeight={args.weight} is ignored with dnsRouting=failover: the primary answers "
            "while healthy and the standby only when it is not; set dnsRouting: weighted in both "
            "stacks to split traffic"
        ]
    return []


def health_check_descriptor(args: FailoverRecordArgs) -> HealthCheckDescriptor:
    return {
        "protocol": args.probe_protocol,
        "port": args.health_check_port,
        "path": args.health_check_path,
        "intervalSeconds": args.health_check_interval_seconds,
        "failureThreshold": args.health_check_failure_threshold,
    }


def base_descriptor(args: FailoverRecordArgs) -> dict[str, Any]:
    """Descriptor keys every cloud shares (values may be Outputs; resolve with from_input)."""
    return {
        "provider": args.authority,
        "fqdn": args.fqdn,
        "zone": args.zone,
        "role": args.role,
        "stack": args.placement.stack,
        "stackCloud": args.stack_cloud,
        "routing": args.routing,
        "weight": args.effective_weight,
        "ttlSeconds": args.ttl_seconds,
        "endpoint": args.endpoint_host,
        "endpointAddresses": endpoint_addresses(args),
        "healthCheck": health_check_descriptor(args),
    }


def endpoint_addresses(args: FailoverRecordArgs) -> pulumi.Output[list[str]]:
    """All addresses this stack answers on, `endpoint_host` first (just it when none are given)."""

    def ordered(values: list[Any]) -> list[str]:
        host, extra = str(values[0]).strip(), [str(a).strip() for a in values[1] or []]
        return [host, *(a for a in extra if a != host)]

    return pulumi.Output.all(args.endpoint_host, args.endpoint_addresses).apply(ordered)


def primary_addresses(primary: Mapping[str, Any]) -> list[str]:
    """The addresses of the primary's descriptor (older primaries export only `endpoint`)."""
    listed = primary.get("endpointAddresses")
    if isinstance(listed, list) and listed:
        return [str(a) for a in listed]
    return [str(primary.get("endpoint", ""))]


def _agreement(args: FailoverRecordArgs) -> dict[str, tuple[str, object]]:
    """Settings both stacks must share: descriptor key -> (config key, this stack's value)."""
    agreed: dict[str, tuple[str, object]] = {
        "provider": (CONFIG_KEYS["provider"], args.authority),
        "fqdn": (CONFIG_KEYS["fqdn"], args.fqdn),
        "ttlSeconds": (CONFIG_KEYS["ttl_seconds"], args.ttl_seconds),
    }
    agreed["healthCheck.path"] = (CONFIG_KEYS["health_check_path"], args.health_check_path)
    agreed["healthCheck.port"] = (CONFIG_KEYS["health_check_port"], args.health_check_port)
    agreed["healthCheck.intervalSeconds"] = (
        CONFIG_KEYS["health_check_interval_seconds"],
        args.health_check_interval_seconds,
    )
    agreed["healthCheck.failureThreshold"] = (
        CONFIG_KEYS["health_check_failure_threshold"],
        args.health_check_failure_threshold,
    )
    if args.authority == "azure":
        agreed["trafficManager.resourceGroup"] = (
            CONFIG_KEYS["azure_resource_group"],
            args.azure_resource_group,
        )
    if args.powerdns is not None:
        agreed["powerdns.apiUrl"] = (CONFIG_KEYS["powerdns_api_url"], args.powerdns.api_url)
        agreed["powerdns.serverId"] = (CONFIG_KEYS["powerdns_server_id"], args.powerdns.server_id)
    if args.authority == "gcp":
        agreed["managedZone"] = (CONFIG_KEYS["gcp_managed_zone"], args.managed_zone)
        agreed["project"] = ("gcpProject", args.placement.gcp_project)
    return agreed


def _plain(value: object) -> object:
    # Numbers come back from a StackReference as floats (30.0); compare and print them as ints.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _lookup(descriptor: Mapping[str, Any], dotted: str) -> object:
    value: object = descriptor
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def check_against_primary(args: FailoverRecordArgs, primary: object) -> Mapping[str, Any]:
    """The standby's check that the primary's `dns` output agrees with its own settings.

    Returns the primary's descriptor; raises DnsError naming every key that differs. A TTL or
    probe that differs between the stacks would make one side's settings silently win (Azure's
    profile and Cloud DNS's record set each hold both endpoints), so it is an error; for the
    routing mode see `_routing_problems`.
    """
    stack = args.placement.stack
    if not isinstance(primary, Mapping) or not primary.get("provider"):
        raise DnsError(
            stack,
            [
                DnsProblem(
                    "primaryStack",
                    type(primary).__name__ if primary is not None else None,
                    "a primary stack that exports a 'dns' output",
                    "deploy the primary stack first (`pulumi up -s <primary>`), then the standby",
                )
            ],
        )
    problems: list[DnsProblem] = []
    primary_stack = primary.get("stack", "primary")
    if primary.get("role") != "primary":
        problems.append(
            DnsProblem(
                "primaryStack",
                f"a {primary.get('role')} stack ({primary_stack})",
                "the primary stack",
                f"point primaryStack in Pulumi.{stack}.yaml at the stack whose role is primary",
            )
        )
    for descriptor_key, (config_key, ours) in _agreement(args).items():
        theirs = _plain(_lookup(primary, descriptor_key))
        if theirs != ours:
            problems.append(
                DnsProblem(
                    config_key,
                    ours,
                    f"the same as in the primary stack '{primary_stack}' ({theirs!r})",
                    f"set {config_key} to one value in Pulumi.{primary_stack}.yaml and Pulumi.{stack}.yaml, "
                    "apply the primary first, then the standby",
                )
            )
    problems += _routing_problems(args, primary)
    both_weighted = args.routing == "weighted" and primary.get("routing") == "weighted"
    if both_weighted and int(primary.get("weight", 0)) + args.effective_weight == 0:
        problems.append(
            DnsProblem(
                CONFIG_KEYS["weight"],
                0,
                f"above 0 in at least one stack (the primary '{primary_stack}' has 0 too)",
                "with every weight at 0 no stack is preferred and traffic splits evenly; give the "
                "stack that should serve a weight above 0",
            )
        )
    if problems:
        raise DnsError(stack, problems)
    return primary


def _routing_problems(args: FailoverRecordArgs, primary: Mapping[str, Any]) -> list[DnsProblem]:
    """dnsRouting must match the primary's, except in the one state where the mode changes nothing.

    Two stacks are applied one after the other, so switching dnsRouting always passes through a
    moment where they differ. With the primary at weight 100 and the standby at 0 both modes route
    identically on every authority (primary answers, standby only when it is unhealthy), so that
    state is allowed with a warning, in either apply order. Any other mismatch would move traffic
    differently from what one stack file says, and is an error.
    """
    theirs = primary.get("routing")
    if theirs == args.routing:
        return []
    primary_weight = _plain(primary.get("weight"))
    primary_stack = primary.get("stack", "primary")
    if primary_weight == 100 and args.effective_weight == 0:
        pulumi.log.warn(
            f"dnsRouting is {args.routing!r} here and {theirs!r} on the primary stack '{primary_stack}': "
            "harmless while the weights are 100/0 (both modes route the same), but apply the other "
            "stack to finish the switch"
        )
        return []
    return [
        DnsProblem(
            CONFIG_KEYS["routing"],
            args.routing,
            f"the same as in the primary stack '{primary_stack}' ({theirs!r}) while traffic is split "
            f"(trafficWeight: primary {primary_weight}, standby {args.effective_weight})",
            f"set dnsRouting to one value in Pulumi.{primary_stack}.yaml and "
            f"Pulumi.{args.placement.stack}.yaml and apply both; switch routing only at weights "
            "primary 100 / standby 0, "
            "where both modes route the same",
        )
    ]


def endpoint_problem(host: str, *, ipv4_only: bool, whose: str) -> DnsProblem | None:
    """Why `host` cannot be answered/probed, or None."""
    kind = endpoint_kind(host)
    if kind is None:
        return DnsProblem(
            CONFIG_KEYS["endpoint"],
            host,
            f"an IPv4 address or DNS host name ({whose}'s load balancer)",
            "check the inference Service's load balancer status; IPv6-only endpoints are not supported",
            source="output",
        )
    if ipv4_only and kind != "ipv4":
        return DnsProblem(
            "dnsProvider",
            "gcp",
            f"aws or azure while {whose} answers on the host name {host!r}",
            "Cloud DNS routing policies health-check external endpoints only by IP address (no host "
            "names, no CNAME targets); set dnsProvider to aws or azure in both stack files, or give "
            "the inference service a static IPv4 address",
        )
    return None
