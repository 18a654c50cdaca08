"""Where each DNS authority's health checkers probe from, so a restricted load balancer admits them.

When `allowedClientCidrs` narrows the service's load balancer, the authority's probes of /health
must still get through, or the record is marked unhealthy and leaves DNS. The ranges are read at
deploy time from the publisher's own feed rather than copied here, because they change.
Sources checked 2026-12-02:

- aws: ip-ranges.json, service ROUTE53_HEALTHCHECKS (Route 53 Developer Guide, "IP address
  ranges of Amazon Route 53 servers"), read with `aws.get_ip_ranges` (all regions) -> CIDRs.
- gcp: Google's health-checker netblocks (`gcp.compute.get_netblock_ip_ranges`, range_type
  health-checkers: 35.191.0.0/16 and 130.211.0.0/22) -> CIDRs.
- azure: the AzureTrafficManager service tag (Service Tags JSON, updated weekly). Only an Azure
  load balancer can admit a service tag (AKS annotation azure-allowed-service-tags), so config
  refuses allowedClientCidrs on other clusters when the authority is azure
  (infra/network_access.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pulumi

from components.common import Cloud

ROUTE53_HEALTHCHECKS_SERVICE: Final = "route53_healthchecks"
GOOGLE_HEALTH_CHECKERS_RANGE_TYPE: Final = "health-checkers"
AZURE_ALLOWED_SERVICE_TAGS_ANNOTATION: Final = "service.beta.kubernetes.io/azure-allowed-service-tags"
TRAFFIC_MANAGER_SERVICE_TAG: Final = "AzureTrafficManager"


@dataclass(frozen=True)
class HealthCheckerAccess:
    cidrs: pulumi.Output[list[str]]
    """CIDRs to add to the load balancer's source ranges (empty for a service-tag authority)."""
    annotations: dict[str, str]
    """Service annotations that admit the checkers by name (AKS service tags)."""


def health_checker_access(
    dns_provider: Cloud,
    cluster_cloud: Cloud,
    dns_provider_resource: pulumi.ProviderResource,
    parent: pulumi.Resource | None = None,
) -> HealthCheckerAccess:
    """The authority's probe sources, read with the authority cloud's explicit provider."""
    invoke = pulumi.InvokeOutputOptions(provider=dns_provider_resource, parent=parent)
    if dns_provider == "aws":
        import pulumi_aws as aws

        ranges = aws.get_ip_ranges_output(services=[ROUTE53_HEALTHCHECKS_SERVICE], opts=invoke)
        return HealthCheckerAccess(ranges.cidr_blocks.apply(_ipv4_sorted), {})
    if dns_provider == "gcp":
        import pulumi_gcp as gcp

        netblocks = gcp.compute.get_netblock_ip_ranges_output(
            range_type=GOOGLE_HEALTH_CHECKERS_RANGE_TYPE, opts=invoke
        )
        return HealthCheckerAccess(netblocks.cidr_blocks_ipv4s.apply(_ipv4_sorted), {})
    if cluster_cloud != "azure":
        raise ValueError(
            f"Traffic Manager health checkers (service tag {TRAFFIC_MANAGER_SERVICE_TAG}) cannot be "
            f"admitted by a {cluster_cloud} load balancer: leave allowedClientCidrs unset or use "
            "dnsProvider aws or gcp"
        )
    return HealthCheckerAccess(
        pulumi.Output.from_input([]),
        {AZURE_ALLOWED_SERVICE_TAGS_ANNOTATION: TRAFFIC_MANAGER_SERVICE_TAG},
    )


def _ipv4_sorted(cidrs: Sequence[str] | None) -> list[str]:
    return sorted({c for c in cidrs or [] if ":" not in c})
