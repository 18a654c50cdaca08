"""Route 53: a failover pair for the service name in front of a weighted pool of both stacks.

Design (settled here, see also components/dns/__init__.py):

- The hosted zone already exists; it is looked up by name with the `aws.route53.get_zone` invoke
  (public zones only) and never changed.
- Two names, two layers, and each name holds exactly one routing policy:
  - **Pool** `<record>-pool.<zone>` (e.g. api-pool.example.com): one health-checked *weighted*
    record per stack (`set_identifier=<stack>`, its own `HealthCheck` attached).
    `routing='failover'` is primary weight 100 / standby weight 0; `routing='weighted'` uses the
    configured weights. Both weights 0 is rejected by the standby (Route 53 would split evenly).
  - **Service** `<record>.<zone>` (what clients resolve): a *failover* pair. The primary stack
    owns the PRIMARY record, an alias to the pool name in the same hosted zone with
    `evaluate_target_health` on, so it is healthy while any pool member is; the standby stack
    owns the SECONDARY record, pointing straight at its own endpoint with its health check.
- Each stack owns exactly its own resources (health check, pool record, service record). Nothing
  of one stack lives in the other's state, so either stack can be applied while the other's
  cloud is down.
- Why this shape: Route 53 rejects two records of one name and type with different routing
  policies, and the records belong to two stacks applied one after the other. Here the service
  name is *always* a failover pair and the pool name *always* weighted, so a mode switch
  (failover <-> weighted), a staged shift (100/0 -> 90/10 -> 0/100) and a failback never change
  a routing policy: they are pool weight updates that each stack applies on its own, in any
  order. Failover works at both layers: when the primary endpoint is unhealthy the pool answers
  the standby (Route 53 answers weight-0 records when every record with a weight above 0 is
  unhealthy), and when the whole pool is unhealthy the service name's SECONDARY answers.
- Endpoint kinds: an IPv4 address gets an A record (TTL from config, at most 60 s) and a health
  check by IP (the service name is sent as Host header). An AWS load balancer host name (NLB
  `*.elb.<region>.amazonaws.com`, ALB/CLB `*.<region>.elb.amazonaws.com`) gets an **alias A**
  record to the load balancer (hosted zone id from `aws.lb`/`aws.elb.get_hosted_zone_id`) and a
  health check by FQDN. Alias, not CNAME, because the other stack's records are usually A records
  (GCP/Azure IPs) and Route 53 cannot hold a CNAME and an A record for one name; alias answers
  carry their target's TTL (the load balancer's 60 s, the pool's configured TTL). Any other host
  name gets a CNAME (and the primary's service alias is then of type CNAME to the CNAME pool),
  which only works if the other stack's endpoint is a host name too: the standby checks that and
  fails clearly, since neither the pool's weighted records nor the service name's failover pair
  can mix a CNAME and an A record.
- `evaluate_target_health` is off on aliases to load balancers: the configured HTTP probe alone
  decides an endpoint's health, so DNS and the cutover CLI's probe agree on what "healthy" means.
  It is on only on the service PRIMARY's alias to the pool, which has no probe of its own and
  follows the pool members' health checks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, cast

import pulumi
import pulumi_aws as aws

from components.common import type_token
from components.dns.args import (
    DnsError,
    DnsProblem,
    FailoverRecord,
    FailoverRecordArgs,
    base_descriptor,
    check_against_primary,
    endpoint_addresses,
    endpoint_kind,
    endpoint_problem,
)

# NLB: <name>-<hash>.elb.<region>.amazonaws.com; ALB/CLB: [dualstack.]<name>-<hash>.<region>.elb.amazonaws.com
_NLB_HOST = re.compile(r"^[a-z0-9-]+\.elb\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_ELB_HOST = re.compile(r"^(?:dualstack\.)?[a-z0-9-]+\.([a-z0-9-]+)\.elb\.amazonaws\.com(\.cn)?$")


@dataclass(frozen=True)
class Route53Target:
    """How one endpoint is answered and probed in Route 53."""

    host: str
    kind: Literal["ipv4", "hostname"]
    load_balancer: Literal["network", "application", None] = None
    """Type of AWS load balancer behind a host name (alias target), if it is one."""
    region: str | None = None
    addresses: tuple[str, ...] = ()
    """IPv4 endpoints only: every address answered (the host first); empty means just the host."""

    @property
    def answers(self) -> list[str]:
        return list(self.addresses) if self.addresses else [self.host]

    @property
    def is_alias(self) -> bool:
        return self.load_balancer is not None

    @property
    def record_type(self) -> Literal["A", "CNAME"]:
        return "CNAME" if self.kind == "hostname" and not self.is_alias else "A"


def route53_target(host: str) -> Route53Target | None:
    """Classify `host`; None when it is neither an IPv4 address nor a host name."""
    host = host.strip().rstrip(".").lower()
    kind = endpoint_kind(host)
    if kind is None:
        return None
    if kind == "hostname":
        if match := _NLB_HOST.match(host):
            return Route53Target(host, kind, "network", match.group(1))
        if match := _ELB_HOST.match(host):
            return Route53Target(host, kind, "application", match.group(1))
    return Route53Target(host, kind)


POOL_SUFFIX: Final = "-pool"
"""Appended to the record label to name the weighted pool: api -> api-pool.<zone>."""


def pool_fqdn(args: FailoverRecordArgs) -> str:
    """The weighted pool's name, e.g. api-pool.example.com (the service PRIMARY aliases it)."""
    return f"{args.record}{POOL_SUFFIX}.{args.zone}"


@dataclass(frozen=True)
class EndpointAnswer:
    """The fields of a Route 53 record that answer with this stack's endpoint: `records` and
    `ttl` for a plain record, or `aliases` (never with ttl/records) for an AWS load balancer."""

    records: list[str] | None
    ttl: int | None
    aliases: list[aws.route53.RecordAliasArgs] | None


def endpoint_answer(target: Route53Target, lb_zone_id: str | None, ttl_seconds: int) -> EndpointAnswer:
    if target.is_alias and lb_zone_id is not None:
        # evaluate_target_health off: the stack's configured HTTP probe alone decides health.
        alias = aws.route53.RecordAliasArgs(
            name=target.host, zone_id=lb_zone_id, evaluate_target_health=False
        )
        return EndpointAnswer(None, None, [alias])
    return EndpointAnswer(target.answers, ttl_seconds, None)


def _nth_answer(target: pulumi.Output[Route53Target], index: int) -> pulumi.Output[str]:
    return target.apply(lambda t: t.answers[index])


def classify_target(
    args: FailoverRecordArgs, host: str, primary: object, addresses: list[str]
) -> Route53Target:
    """How this stack's endpoint is answered, or DnsError: runs before any resource input
    resolves, so a bad endpoint or a disagreement with the primary stops the stack before Route 53
    is touched."""
    stack = args.placement.stack
    target = route53_target(host)
    if target is None:
        problem = endpoint_problem(host, ipv4_only=False, whose=f"stack '{stack}'")
        assert problem is not None  # route53_target only rejects what endpoint_problem does
        raise DnsError(stack, [problem])
    if target.kind == "ipv4":
        _check_addresses(args, addresses)
        target = Route53Target(host, "ipv4", addresses=tuple(addresses))
    if args.role == "standby":
        _check_record_type(args, host, target, primary)
    return target


def _check_addresses(args: FailoverRecordArgs, addresses: list[str]) -> None:
    """Every static address is a valid endpoint, and there are as many as health checks planned."""
    stack = args.placement.stack
    problems = [
        p
        for a in addresses
        if (p := endpoint_problem(a, ipv4_only=False, whose=f"stack '{stack}'")) is not None
    ]
    if len(addresses) != args.endpoint_address_count:
        problems.append(
            DnsProblem(
                "endpointAddresses",
                addresses,
                f"{args.endpoint_address_count} addresses (one health check each)",
                "pass FailoverRecordArgs.endpoint_address_count equal to the number of "
                "static addresses of the load balancer",
                source="output",
            )
        )
    if problems:
        raise DnsError(stack, problems)


def _check_record_type(args: FailoverRecordArgs, host: str, target: Route53Target, primary: object) -> None:
    """The standby agrees with the primary, and its answer has the primary record's type."""
    descriptor = check_against_primary(args, primary)
    theirs = descriptor.get("recordType")
    if theirs and theirs != target.record_type:
        raise DnsError(
            args.placement.stack,
            [
                DnsProblem(
                    "endpointHost",
                    f"{host} (a {target.record_type} record)",
                    f"answerable with the record type of the primary stack's record "
                    f"({theirs} for {descriptor.get('endpoint')})",
                    f"Route 53 cannot make a CNAME and an A record weighted partners in the pool "
                    f"{pool_fqdn(args)} or FAILOVER partners for {args.fqdn}; give both stacks "
                    "IPv4 or AWS load balancer endpoints (answered as A / alias A), or set "
                    "dnsProvider: azure in both stack files",
                    source="output",
                )
            ],
        )


def failover_type(args: FailoverRecordArgs) -> Literal["PRIMARY", "SECONDARY"]:
    """This stack's half of the service name's failover pair."""
    return "PRIMARY" if args.role == "primary" else "SECONDARY"


@dataclass(frozen=True)
class _RecordFields:
    """What both of this stack's records answer with (record inputs, resolved from the target)."""

    type: pulumi.Output[str]
    records: pulumi.Input[Sequence[str]]
    ttl: pulumi.Input[int]
    aliases: pulumi.Input[Sequence[aws.route53.RecordAliasArgs]]


class AwsFailoverRecord(FailoverRecord):
    """This stack's Route 53 side: a health check, its weighted member of the pool and its half
    (PRIMARY alias to the pool, or SECONDARY to its own endpoint) of the service name's failover
    pair."""

    health_check: aws.route53.HealthCheck
    """Probe of the endpoint (its first address, or its host name), with the service name as SNI."""
    address_checks: list[aws.route53.HealthCheck]
    """One probe per static address, `health_check` first."""
    any_address_check: aws.route53.HealthCheck | None
    """CALCULATED check passing while any address does (only with several addresses); else None."""
    pool_record: aws.route53.Record
    """This stack's weighted member of `<record>-pool.<zone>`."""
    record: aws.route53.Record
    """This stack's half of the service name's failover pair."""

    def __init__(
        self, name: str, args: FailoverRecordArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token("dns", "AwsFailoverRecord"), name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.placement.provider)
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=args.placement.provider)
        target: pulumi.Output[Route53Target] = pulumi.Output.all(
            args.endpoint_host, args.primary_dns, endpoint_addresses(args)
        ).apply(lambda values: classify_target(args, values[0], values[1], values[2]))
        zone_id = aws.route53.get_zone_output(name=args.zone, private_zone=False, opts=invoke).zone_id

        record_check = self._health_checks(name, args, target, child)
        fields = self._record_fields(args, target, invoke)
        self._records(name, args, zone_id, fields, record_check)
        self.descriptor = pulumi.Output.from_input(
            {
                **base_descriptor(args),
                "endpointKind": target.apply(lambda t: t.kind),
                "serviceRecordOwner": "each",
                "recordSetIds": [self.pool_record.id, self.record.id],
                "healthCheckIds": [
                    *(c.id for c in self.address_checks),
                    *([self.any_address_check.id] if self.any_address_check else []),
                ],
                "zoneId": zone_id,
                "setIdentifier": args.placement.stack,
                "recordType": fields.type,
                "poolFqdn": pool_fqdn(args),
                "poolRecordId": self.pool_record.id,
                "serviceRecordId": self.record.id,
                "failoverType": failover_type(args),
            }
        )
        self.register_outputs({"descriptor": self.descriptor})

    def _health_checks(
        self,
        name: str,
        args: FailoverRecordArgs,
        target: pulumi.Output[Route53Target],
        child: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        """One probe per address (and a CALCULATED one over them); returns the check the records use."""
        stack = args.placement.stack
        self.health_check = aws.route53.HealthCheck(
            f"{name}-health",
            aws.route53.HealthCheckArgs(
                type=args.probe_protocol,
                # SNI with the service name: the edge's certificate is for it, not for the address.
                enable_sni=True,
                ip_address=target.apply(lambda t: t.host if t.kind == "ipv4" else None),
                # With ip_address set, fqdn is only the Host header: send the service name.
                fqdn=target.apply(lambda t: args.fqdn if t.kind == "ipv4" else t.host),
                port=args.health_check_port,
                resource_path=args.health_check_path,
                request_interval=args.health_check_interval_seconds,
                failure_threshold=args.health_check_failure_threshold,
                tags={"Name": f"{args.fqdn} {stack} on {args.stack_cloud}"},
            ),
            opts=child,
        )
        # One more probe per further address, and a CALCULATED check that passes while any does.
        self.address_checks = [self.health_check] + [
            aws.route53.HealthCheck(
                f"{name}-health-{index}",
                aws.route53.HealthCheckArgs(
                    type=args.probe_protocol,
                    enable_sni=True,
                    ip_address=_nth_answer(target, index),
                    fqdn=args.fqdn,
                    port=args.health_check_port,
                    resource_path=args.health_check_path,
                    request_interval=args.health_check_interval_seconds,
                    failure_threshold=args.health_check_failure_threshold,
                    tags={"Name": f"{args.fqdn} {stack} on {args.stack_cloud} address {index}"},
                ),
                opts=child,
            )
            for index in range(1, args.endpoint_address_count)
        ]
        self.any_address_check = None
        if len(self.address_checks) == 1:
            return self.health_check.id
        self.any_address_check = aws.route53.HealthCheck(
            f"{name}-health-any",
            aws.route53.HealthCheckArgs(
                type="CALCULATED",
                child_healthchecks=[c.id for c in self.address_checks],
                child_health_threshold=1,
                tags={"Name": f"{args.fqdn} {stack} on {args.stack_cloud} (any address)"},
            ),
            opts=child,
        )
        return self.any_address_check.id

    def _record_fields(
        self,
        args: FailoverRecordArgs,
        target: pulumi.Output[Route53Target],
        invoke: pulumi.InvokeOutputOptions,
    ) -> _RecordFields:
        def alias_zone_id(t: Route53Target) -> pulumi.Input[str] | None:
            if t.load_balancer == "network":
                return aws.lb.get_hosted_zone_id_output(
                    load_balancer_type="network", region=t.region, opts=invoke
                ).id
            if t.load_balancer == "application":
                return aws.elb.get_hosted_zone_id_output(region=t.region, opts=invoke).id
            return None

        answer: pulumi.Output[EndpointAnswer] = pulumi.Output.all(target, target.apply(alias_zone_id)).apply(
            lambda values: endpoint_answer(
                cast(Route53Target, values[0]), cast("str | None", values[1]), args.ttl_seconds
            )
        )
        return _RecordFields(
            type=target.apply(lambda t: t.record_type),
            records=cast("pulumi.Input[Sequence[str]]", answer.apply(lambda a: a.records)),
            ttl=cast("pulumi.Input[int]", answer.apply(lambda a: a.ttl)),
            aliases=cast(
                "pulumi.Input[Sequence[aws.route53.RecordAliasArgs]]", answer.apply(lambda a: a.aliases)
            ),
        )

    def _records(
        self,
        name: str,
        args: FailoverRecordArgs,
        zone_id: pulumi.Output[str],
        fields: _RecordFields,
        record_check: pulumi.Output[str],
    ) -> None:
        """The pool member, then the service record (Route 53 aliases only names that have records)."""
        stack = args.placement.stack
        protected = pulumi.ResourceOptions(
            parent=self, provider=args.placement.provider, protect=args.deletion_protection
        )
        # Pool layer: this stack's weighted member of <record>-pool.<zone>.
        self.pool_record = aws.route53.Record(
            f"{name}-pool-record",
            aws.route53.RecordArgs(
                zone_id=zone_id,
                name=pool_fqdn(args),
                type=fields.type,
                set_identifier=stack,
                weighted_routing_policies=[
                    aws.route53.RecordWeightedRoutingPolicyArgs(weight=args.effective_weight)
                ],
                health_check_id=record_check,
                records=fields.records,
                ttl=fields.ttl,
                aliases=fields.aliases,
            ),
            opts=protected,
        )
        # Service layer: this stack's half of the failover pair clients resolve.
        failover = [aws.route53.RecordFailoverRoutingPolicyArgs(type=failover_type(args))]
        if failover_type(args) == "PRIMARY":
            # An alias to the pool, healthy while any pool member is (no probe of its own).
            service_args = aws.route53.RecordArgs(
                zone_id=zone_id,
                name=args.fqdn,
                type=fields.type,
                set_identifier=stack,
                failover_routing_policies=failover,
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=pool_fqdn(args), zone_id=zone_id, evaluate_target_health=True
                    )
                ],
            )
        else:
            # Straight at this stack's endpoint, with its own probe: answers when the pool cannot.
            service_args = aws.route53.RecordArgs(
                zone_id=zone_id,
                name=args.fqdn,
                type=fields.type,
                set_identifier=stack,
                failover_routing_policies=failover,
                health_check_id=record_check,
                records=fields.records,
                ttl=fields.ttl,
                aliases=fields.aliases,
            )
        self.record = aws.route53.Record(
            f"{name}-record",
            service_args,
            # Route 53 only accepts an alias to a name that already has records: the pool first.
            opts=pulumi.ResourceOptions.merge(
                protected, pulumi.ResourceOptions(depends_on=[self.pool_record])
            ),
        )
