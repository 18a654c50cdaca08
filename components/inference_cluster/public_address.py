"""The stack's static public address: what the cluster reserves, what the Service is told, what
DNS answers.

Each cloud module creates its addresses as stack resources, so they exist (and are known) before
the LoadBalancer Service does and outlive any re-creation of it:

- aws: one Elastic IP per public subnet (one per AZ); the AWS Load Balancer Controller puts
  them on the NLB (`aws-load-balancer-eip-allocations` + `aws-load-balancer-subnets`).
- gcp: one reserved regional EXTERNAL address (Premium tier), named in the Service with
  `networking.gke.io/load-balancer-ip-addresses`.
- azure: one Standard-SKU static public IP in the stack's resource group, named with
  `azure-pip-name` + `azure-load-balancer-resource-group`.

DNS records and health checks take `addresses` straight from these resources (never from the
Service status), so a re-created Service or load balancer keeps every record valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class PublicAddress:
    """Static IPv4 addresses of the inference load balancer and how to attach them."""

    addresses: pulumi.Output[list[str]]
    """Every static IPv4 address the load balancer answers on (aws: one per AZ, in subnet order;
    gcp, azure: one). DNS answers all of them; single-target probes use the first."""
    count: int
    """How many addresses `addresses` holds; fixed when the stack is written (DNS creates one
    health check per address)."""
    service_annotations: Mapping[str, pulumi.Input[str]]
    """Annotations that bind the LoadBalancer Service to these addresses."""
    load_balancer_class: str | None = None
    """`spec.loadBalancerClass` of the Service (immutable once created): the controller that
    implements it (aws: the AWS Load Balancer Controller; gcp: GKE's regional external L4)."""
    external_ips: Sequence[str] = ()
    """onprem `exposure: externalIp`: the Service is a ClusterIP with these in spec.externalIPs
    (kube-proxy answers on them; no load balancer exists to report an ingress address)."""
    ready: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What must exist before the Service is created: the load balancer controller (its webhook
    rejects Services while it is not running), role assignments that let the cloud's controller
    use the address."""
