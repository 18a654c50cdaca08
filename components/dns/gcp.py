"""Cloud DNS: one health-checked primary/backup record set, owned by the standby stack.

Design (settled here, see also components/dns/__init__.py):

- A Cloud DNS record set is one resource per (name, type) holding every target and its routing
  policy, and its health-checked routing policy takes exactly one `health_check` for all its
  external endpoints. So one stack must own both the record set and the health check. **The
  standby owns them**: it already reads the primary's endpoint through its StackReference, and it
  is the stack that must be appliable during a primary outage. The primary creates nothing at
  Cloud DNS; it checks that its endpoint can be health-checked and exports it (with its weight)
  in its `dns` descriptor. Consequence: the service name resolves once the standby has been
  applied (deploy order is primary, then standby, as for replication anyway).
- Record set: type A, TTL from config (at most 60 s), `routing_policy.primary_backup` with the
  primary's IP as the health-checked primary target and the standby's IP as the health-checked
  backup (one backup geo, in the DNS placement's region, so it answers every query), and the
  global HTTP(S) `gcp.compute.HealthCheck` (configured port/path/threshold) as the policy's
  health check.
- Weighted routing uses the same policy with `trickle_ratio` = standby weight / (sum of
  weights): that share goes to the backup while the primary is healthy, and everything goes to
  the backup when the primary is not. Failover and staged shifts are one resource and one policy,
  so changing the mode never needs a delete; `routing='failover'` is trickle 0. Both weights 0 is
  rejected.

What GCP does not support (errors, not silent workarounds):
- Health checks of host names or CNAME targets: external endpoints in Cloud DNS routing policies
  are IP addresses only. The stacks answer on static IPv4 addresses (AWS: the NLB's Elastic IPs,
  all of them listed as external endpoints), so every pair works; an endpoint given as a host
  name fails with an error naming dnsProvider.
- Probes every 10 s: health checks for external endpoints need `source_regions` (exactly three),
  and GCP then requires `check_interval_sec` >= 30, so healthCheckIntervalSeconds must be 30.
- IPv6-only endpoints (not supported by this component on any cloud).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.common import physical_name, type_token
from components.dns.args import (
    DnsError,
    FailoverRecord,
    FailoverRecordArgs,
    base_descriptor,
    check_against_primary,
    endpoint_addresses,
    endpoint_problem,
    primary_addresses,
)
from components.gcp_apis import apis_of

DNS_APIS = ("dns", "compute")


def trickle_ratio(primary_weight: int, standby_weight: int) -> float:
    """Share of answers the backup (standby) gets while the primary is healthy."""
    total = primary_weight + standby_weight
    return round(standby_weight / total, 4) if total else 0.0


class GcpFailoverRecord(FailoverRecord):
    """The standby's primary/backup Cloud DNS record set and health check; nothing on the primary."""

    health_check: gcp.compute.HealthCheck | None
    """Standby: the global HTTP(S) check probing both stacks' addresses; primary: None."""
    record_set: gcp.dns.RecordSet | None
    """Standby: the one primary/backup record set of the service name; primary: None."""

    def __init__(
        self, name: str, args: FailoverRecordArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token("dns", "GcpFailoverRecord"), name, None, opts)
        # Cloud DNS, and Compute Engine for the health check: enabled once by the stack's GcpApis.
        apis = apis_of(args.placement.gcp_apis, args.placement.stack, "the Cloud DNS record").enable(
            *DNS_APIS
        )
        child = pulumi.ResourceOptions(parent=self, provider=args.placement.provider, depends_on=apis)
        endpoint = pulumi.Output.from_input(args.endpoint_host).apply(lambda h: _own_endpoint(args, h))
        # Every address this stack answers on, each checked like the endpoint itself.
        own_addresses = pulumi.Output.all(endpoint, endpoint_addresses(args)).apply(
            lambda values: [_own_endpoint(args, a) for a in values[1]]
        )
        descriptor: dict[str, Any] = {
            **base_descriptor(args),
            "endpoint": endpoint,
            "endpointAddresses": own_addresses,
            "endpointKind": "ipv4",
            "serviceRecordOwner": "standby",
            "managedZone": args.managed_zone,
            "project": args.placement.gcp_project,
        }
        self.health_check = None
        self.record_set = None
        if args.role == "standby":
            primary = pulumi.Output.from_input(args.primary_dns)
            primary_ips = primary.apply(lambda found: _primary_endpoints(args, found))
            self.health_check = self._health_checks(name, args, primary_ips, own_addresses, child)
            descriptor |= self._records(
                name, args, primary=primary, primary_ips=primary_ips, own_addresses=own_addresses, child=child
            )
        else:
            descriptor |= {"recordSetIds": [], "healthCheckIds": []}

        self.descriptor = pulumi.Output.from_input(descriptor)
        self.register_outputs({"descriptor": self.descriptor})

    def _health_checks(
        self,
        name: str,
        args: FailoverRecordArgs,
        primary_ips: pulumi.Output[list[str]],
        own_addresses: pulumi.Output[list[str]],
        child: pulumi.ResourceOptions,
    ) -> gcp.compute.HealthCheck:
        """The one health check of the record set's routing policy (every target of both stacks)."""
        http = args.probe_protocol == "HTTP"
        return gcp.compute.HealthCheck(
            f"{name}-health",
            gcp.compute.HealthCheckArgs(
                # Named from the checked endpoints, so nothing is created when a check fails.
                name=pulumi.Output.all(primary_ips, own_addresses).apply(
                    lambda _: physical_name("dns", args.placement.stack, args.fqdn)
                ),
                project=args.placement.gcp_project,
                description=f"Probes both endpoints of {args.fqdn} for Cloud DNS failover",
                check_interval_sec=args.health_check_interval_seconds,
                timeout_sec=args.probe_timeout_seconds,
                unhealthy_threshold=args.health_check_failure_threshold,
                healthy_threshold=2,
                source_regions=list(args.gcp_health_check_regions),
                http_health_check=gcp.compute.HealthCheckHttpHealthCheckArgs(
                    port=args.health_check_port, request_path=args.health_check_path, host=args.fqdn
                )
                if http
                else None,
                https_health_check=None
                if http
                else gcp.compute.HealthCheckHttpsHealthCheckArgs(
                    port=args.health_check_port, request_path=args.health_check_path, host=args.fqdn
                ),
            ),
            opts=child,
        )

    def _records(
        self,
        name: str,
        args: FailoverRecordArgs,
        *,
        primary: pulumi.Output[Any],
        primary_ips: pulumi.Output[list[str]],
        own_addresses: pulumi.Output[list[str]],
        child: pulumi.ResourceOptions,
    ) -> dict[str, Any]:
        """The primary/backup record set; returns what the standby's descriptor adds."""
        assert self.health_check is not None
        ratio = primary.apply(
            lambda d: (
                trickle_ratio(int(d["weight"]), args.effective_weight) if args.routing == "weighted" else 0.0
            )
        )
        policy = gcp.dns.RecordSetRoutingPolicyArgs(
            health_check=self.health_check.id,
            primary_backup=gcp.dns.RecordSetRoutingPolicyPrimaryBackupArgs(
                primary=gcp.dns.RecordSetRoutingPolicyPrimaryBackupPrimaryArgs(
                    external_endpoints=primary_ips,
                ),
                backup_geos=[
                    gcp.dns.RecordSetRoutingPolicyPrimaryBackupBackupGeoArgs(
                        location=args.placement.region,
                        health_checked_targets=gcp.dns.RecordSetRoutingPolicyPrimaryBackupBackupGeoHealthCheckedTargetsArgs(
                            external_endpoints=own_addresses,
                        ),
                    )
                ],
                trickle_ratio=ratio,
                enable_geo_fencing_for_backups=False,
            ),
        )
        self.record_set = gcp.dns.RecordSet(
            f"{name}-record",
            gcp.dns.RecordSetArgs(
                project=args.placement.gcp_project,
                managed_zone=args.managed_zone,
                name=f"{args.fqdn}.",
                type="A",
                ttl=args.ttl_seconds,
                routing_policy=policy,
            ),
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(protect=args.deletion_protection)
            ),
        )
        return {
            "recordSetIds": [self.record_set.id],
            "healthCheckIds": [self.health_check.id],
            "primaryBackup": {"primary": primary_ips, "backup": own_addresses, "trickleRatio": ratio},
        }


def _own_endpoint(args: FailoverRecordArgs, host: str) -> str:
    """This stack's address, or DnsError: Cloud DNS health-checks IPv4 addresses only."""
    host = host.strip()
    stack = args.placement.stack
    problem = endpoint_problem(host, ipv4_only=True, whose=f"stack '{stack}'")
    if problem is not None:
        raise DnsError(stack, [problem])
    return host


def _primary_endpoints(args: FailoverRecordArgs, primary: object) -> list[str]:
    """The primary's addresses from its descriptor, once the two stacks are found to agree."""
    checked = check_against_primary(args, primary)
    whose = f"the primary stack '{checked.get('stack')}'"
    hosts = primary_addresses(checked)
    problems = [p for host in hosts if (p := endpoint_problem(host, ipv4_only=True, whose=whose)) is not None]
    if problems:
        raise DnsError(args.placement.stack, problems)
    return hosts
