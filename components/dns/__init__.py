"""Health-checked failover DNS for the service name, on the DNS authority's cloud.

`create_failover_record(name, FailoverRecordArgs(...))` is called once in each stack, on the
cloud named by `dnsProvider` (independent of the stack's own cloud); the primary stack's call
makes the service name prefer its endpoint, the standby's adds its endpoint as the fallback.
The returned component's `descriptor` is exported as the `dns` stack output (DnsDescriptor);
the standby reads the primary's and refuses to apply when the two stacks disagree.

Design decisions (details in each cloud module's docstring):

- aws (Route 53): zone looked up with `get_zone`. Two layers, so no name ever mixes routing
  policies: the pool name `<record>-pool` holds one health-checked weighted record per stack
  (failover = weights 100/0, weighted = the configured weights; a weight-0 record answers when
  every other is unhealthy); the service name `<record>` is a FAILOVER pair: the primary's
  PRIMARY aliases the pool (evaluate_target_health), the standby's SECONDARY points at its own
  endpoint with its own health check. IPv4 -> A; AWS load balancer host -> alias A.
- azure (Traffic Manager + Azure DNS): the primary creates the profile, its endpoint
  (priority 1) and an alias CNAME record set in the existing zone (`dnsResourceGroup`); the
  standby adds its endpoint (priority 2) to the primary's profile. Failover = `Priority`
  routing, weighted = `Weighted` routing with Traffic Manager weight max(1, 10*w). IPv4 or
  host-name endpoints.
- gcp (Cloud DNS): the standby owns the one record set (`primary_backup` routing policy holding
  both stacks' IPs) and its health check; the primary creates nothing and exports its IPs.
  Failover = `primary_backup`, weighted = the same with a trickle ratio. Host-name endpoints are
  not supported by Cloud DNS health checks: error.

- powerdns (self-hosted PowerDNS, HTTP API): like Cloud DNS, the standby owns the one LUA
  record set (`ifurlup` probing /health on every address of both stacks; failover = the primary's
  addresses first, weighted = both sides' addresses in proportion to the weights) and writes it
  through the API with a Pulumi dynamic provider; the primary creates nothing and exports its
  addresses and weight.

- Endpoints are the stacks' static public IPv4 addresses (`endpoint_addresses`: AWS Elastic IPs,
  a reserved GCP address, an Azure public IP; see components/inference_cluster/public_address.py),
  known before the Service exists and unchanged when it is re-created; that is what lets every
  authority serve every cloud pair. Host names (an ephemeral AWS load balancer) are still
  accepted from callers that pass one, on Route 53 and Traffic Manager.

- Switching failover <-> weighted never deletes a record on any cloud: Route 53 only changes pool
  weights (the service name stays a FAILOVER pair), Azure only changes the primary's profile
  routing method, Cloud DNS only changes the trickle ratio.
- Both stacks must agree on dnsProvider, dnsZone/dnsRecord, dnsTtlSeconds and the health check
  settings, and weighted routing needs a weight above 0 somewhere; the standby checks this
  against the primary's descriptor and fails naming the keys (apply the primary first when these
  change). dnsRouting must agree too, except at weights primary 100 / standby 0, where both modes
  route identically on every authority: a mode switch is made there and may be applied to the
  two stacks in either order (the standby warns until both match).
- TTL is at most 60 s everywhere (Route 53 alias answers carry the load balancer's 60 s).
- Answering records and the Traffic Manager profile/endpoints are protected from deletion by
  default (`deletion_protection`); health checks are not.
"""

from __future__ import annotations

import pulumi

from components.common import unsupported_cloud
from components.dns.args import (
    DnsDescriptor,
    DnsError,
    DnsProblem,
    FailoverRecord,
    FailoverRecordArgs,
    PowerDnsApi,
    Role,
    Routing,
    check_args,
    warnings_for,
)

__all__ = [
    "DnsDescriptor",
    "DnsError",
    "DnsProblem",
    "FailoverRecord",
    "FailoverRecordArgs",
    "PowerDnsApi",
    "Role",
    "Routing",
    "create_failover_record",
]


def create_failover_record(
    name: str, args: FailoverRecordArgs, opts: pulumi.ResourceOptions | None = None
) -> FailoverRecord:
    """This stack's side of the health-checked service name, at `args.authority`.

    Raises DnsError (naming the stack config keys) before any resource exists when the settings
    are invalid; disagreements with the primary stack fail the standby before anything changes.
    Each cloud's module (and so its Pulumi SDK) is imported only when a stack uses that cloud.
    """
    check_args(args)
    for warning in warnings_for(args):
        pulumi.log.warn(warning)
    match args.authority:
        case "aws":
            from components.dns.aws import AwsFailoverRecord

            return AwsFailoverRecord(name, args, opts)
        case "gcp":
            from components.dns.gcp import GcpFailoverRecord

            return GcpFailoverRecord(name, args, opts)
        case "azure":
            from components.dns.azure import AzureFailoverRecord

            return AzureFailoverRecord(name, args, opts)
        case "powerdns":
            from components.dns.powerdns import PowerDnsFailoverRecord

            return PowerDnsFailoverRecord(name, args, opts)
        case _:
            raise unsupported_cloud(
                args.authority, ("aws", "gcp", "azure", "powerdns"), config_key="dnsProvider"
            )
