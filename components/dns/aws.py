"""Route 53: one health-checked weighted record per stack for the service name.

Design (settled here, see also components/dns/__init__.py):

- The hosted zone already exists; it is looked up by name with the `aws.route53.get_zone` invoke
  (public zones only) and never changed.
- Each stack owns exactly its own two resources: a `HealthCheck` probing its endpoint (configured
  protocol/port/path/interval/threshold) and a `Record` for the service name with
  `set_identifier=<stack>` and that health check attached. Nothing of one stack lives in the
  other's state, so either stack can be applied while the other's cloud is down.
- **Both routing modes use weighted records.** Route 53 rejects two records of one name and type
  with different routing policies, and the two records belong to two stacks that are applied one
  after the other. With native FAILOVER/PRIMARY+SECONDARY records, moving to weighted (or back)
  would need one stack's record deleted first: a window with no standby, or a failed apply. With
  weighted records on both sides a mode change, a staged shift (100/0 -> 90/10 -> 0/100) and a
  failback are plain weight updates that each stack applies on its own, in any order.
  Failover semantics come from Route 53's rule for weighted records with health checks: records
  with weight 0 are answered only when every record with a weight above 0 is unhealthy. So
  `routing='failover'` is primary weight 100 / standby weight 0: the primary answers while
  healthy, the standby as soon as the primary's check fails, and back when it recovers (the
  same as FAILOVER records, including "if all are unhealthy, answer the primary").
  `routing='weighted'` uses the configured weights with the same fallback. Both weights 0 is
  rejected by the standby (Route 53 would split evenly).
- Endpoint kinds: an IPv4 address gets an A record (TTL from config, at most 60 s) and a health
  check by IP (the service name is sent as Host header). An AWS load balancer host name (NLB
  `*.elb.<region>.amazonaws.com`, ALB/CLB `*.<region>.elb.amazonaws.com`) gets an **alias A**
  record to the load balancer (hosted zone id from `aws.lb`/`aws.elb.get_hosted_zone_id`) and a
  health check by FQDN. Alias, not CNAME, because the other stack's record is usually an A record
  (GCP/Azure IPs) and Route 53 cannot hold a CNAME and an A record for one name; the alias answer
  carries the load balancer's own 60 s TTL. Any other host name gets a CNAME, which only works if
  the other stack's endpoint is a host name too; the standby checks that and fails clearly.
- `evaluate_target_health` is off: the configured HTTP probe alone decides health, so DNS and the
  cutover CLI's probe agree on what "healthy" means.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

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


class AwsFailoverRecord(FailoverRecord):
    """This stack's weighted, health-checked Route 53 record for the service name."""

    def __init__(
        self, name: str, args: FailoverRecordArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token("dns", "AwsFailoverRecord"), name, None, opts)
        provider = args.placement.provider
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=provider)
        stack = args.placement.stack

        def classify(host: str, primary: object) -> Route53Target:
            # Runs before any resource input resolves: a bad endpoint or a disagreement with the
            # primary stops the stack before Route 53 is touched.
            target = route53_target(host)
            if target is None:
                problem = endpoint_problem(host, ipv4_only=False, whose=f"stack '{stack}'")
                assert problem is not None  # route53_target only rejects what endpoint_problem does
                raise DnsError(stack, [problem])
            if args.role == "standby":
                descriptor = check_against_primary(args, primary)
                theirs = descriptor.get("recordType")
                if theirs and theirs != target.record_type:
                    raise DnsError(
                        stack,
                        [
                            DnsProblem(
                                "endpointHost",
                                f"{host} (a {target.record_type} record)",
                                f"answerable with the record type of the primary stack's record "
                                f"({theirs} for {descriptor.get('endpoint')})",
                                "Route 53 cannot answer one name with a CNAME and an A record; give both "
                                "stacks IPv4 or AWS load balancer endpoints, or use dnsProvider azure",
                                source="output",
                            )
                        ],
                    )
            return target

        target: pulumi.Output[Route53Target] = pulumi.Output.all(args.endpoint_host, args.primary_dns).apply(
            lambda values: classify(values[0], values[1])
        )

        zone = aws.route53.get_zone_output(name=args.zone, private_zone=False, opts=invoke)

        def alias_zone_id(t: Route53Target) -> pulumi.Input[str] | None:
            if t.load_balancer == "network":
                return aws.lb.get_hosted_zone_id_output(
                    load_balancer_type="network", region=t.region, opts=invoke
                ).id
            if t.load_balancer == "application":
                return aws.elb.get_hosted_zone_id_output(region=t.region, opts=invoke).id
            return None

        alias_zone = target.apply(alias_zone_id)

        def aliases(values: list[Any]) -> list[aws.route53.RecordAliasArgs] | None:
            t, lb_zone = cast(Route53Target, values[0]), cast("str | None", values[1])
            if not t.is_alias or lb_zone is None:
                return None
            return [aws.route53.RecordAliasArgs(name=t.host, zone_id=lb_zone, evaluate_target_health=False)]

        self.health_check = aws.route53.HealthCheck(
            f"{name}-health",
            aws.route53.HealthCheckArgs(
                type=args.probe_protocol,
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
        self.record = aws.route53.Record(
            f"{name}-record",
            aws.route53.RecordArgs(
                zone_id=zone.zone_id,
                name=args.fqdn,
                type=target.apply(lambda t: t.record_type),
                set_identifier=stack,
                weighted_routing_policies=[
                    aws.route53.RecordWeightedRoutingPolicyArgs(weight=args.effective_weight)
                ],
                health_check_id=self.health_check.id,
                records=cast(
                    "pulumi.Input[Sequence[str]]", target.apply(lambda t: None if t.is_alias else [t.host])
                ),
                ttl=cast(
                    "pulumi.Input[int]", target.apply(lambda t: None if t.is_alias else args.ttl_seconds)
                ),
                aliases=cast(
                    "pulumi.Input[Sequence[aws.route53.RecordAliasArgs]]",
                    pulumi.Output.all(target, alias_zone).apply(aliases),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(protect=args.deletion_protection)
            ),
        )

        self.descriptor = pulumi.Output.from_input(
            {
                **base_descriptor(args),
                "endpointKind": target.apply(lambda t: t.kind),
                "serviceRecordOwner": "each",
                "recordSetIds": [self.record.id],
                "healthCheckIds": [self.health_check.id],
                "zoneId": zone.zone_id,
                "setIdentifier": stack,
                "recordType": target.apply(lambda t: t.record_type),
            }
        )
        self.register_outputs({"descriptor": self.descriptor})
