"""GKE: a reserved regional external IPv4 address for the inference load balancer.

`spec.loadBalancerIP` is deprecated in Kubernetes (it cannot express dual stack and means
different things per cloud). GKE's replacement is the `networking.gke.io/load-balancer-ip-addresses`
annotation, which names reserved address *resources* (GKE 1.29+). The Service also sets
`spec.loadBalancerClass: networking.gke.io/l4-regional-external` (GKE 1.33.1+), GKE's recommended
backend-service-based external passthrough Network Load Balancer.

The address is REGIONAL (a passthrough NLB cannot use a global address), EXTERNAL and in the
Premium tier, the tier GKE's forwarding rule uses by default; a mismatch makes GKE refuse it.
It is a stack resource, so deleting or re-creating the Service never changes it.
"""

from __future__ import annotations

from typing import Final

import pulumi
import pulumi_gcp as gcp

from components.inference_cluster.public_address import PublicAddress
from components.inference_cluster.shared import short_name

ADDRESS_ANNOTATION: Final = "networking.gke.io/load-balancer-ip-addresses"
LOAD_BALANCER_CLASS: Final = "networking.gke.io/l4-regional-external"


def static_address(
    name: str,
    *,
    opts: pulumi.ResourceOptions,
    base: str,
    project: str,
    region: str,
    labels: dict[str, str],
    protect: bool,
) -> PublicAddress:
    """The reserved address and the Service annotation naming it. `opts` must carry the parent,
    the provider and the dependency on the Compute Engine API."""
    address = gcp.compute.Address(
        f"{name}-lb",
        gcp.compute.AddressArgs(
            name=short_name(base, "lb", 63),
            project=project,
            region=region,
            address_type="EXTERNAL",
            network_tier="PREMIUM",
            ip_version="IPV4",
            description=f"Static address of the inference load balancer of {base}",
            labels=labels,
        ),
        # DNS records point here: losing the address would strand them.
        opts=opts.merge(pulumi.ResourceOptions(protect=protect)),
    )
    return PublicAddress(
        count=1,
        addresses=address.address.apply(lambda ip: [ip]),
        service_annotations={ADDRESS_ANNOTATION: address.name},
        load_balancer_class=LOAD_BALANCER_CLASS,
        ready=(address,),
    )
