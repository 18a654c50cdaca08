"""Price catalogue: list prices (USD, on-demand) the cost model multiplies by what a stack runs.

Data, not code. Every entry carries the page it was read from and the date that page states
(or "stored copy read 2026-12-02" when the page states none). An item missing here is never
priced as zero: `infra.cost` reports it by name and asks for a `priceOverrides` entry.

Item names are `<cloud>:<what>`; GPU and system nodes are `<cloud>:instance/<machine type>`.
A price is regional when keyed with a region, else it applies to every region of that cloud
(the pages below quote the same figure for all regions or for the region named in `note`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Unit = Literal["hour", "month", "GB-month", "GB"]
"""What one `usd` buys: an hour of one resource, a month of one, a GB stored a month, a GB moved."""

STORED = "stored copy read 2026-12-02"


@dataclass(frozen=True)
class Price:
    usd: float
    unit: Unit
    source: str
    date: str
    note: str = ""


# (item, region or None) -> price. Keep sorted by cloud, then item.
PRICES: Final[dict[tuple[str, str | None], Price]] = {
    # --- aws ---
    ("aws:eks-control-plane", None): Price(
        0.10,
        "hour",
        "http://aws.haqm.com/blogs/containers/amazon-eks-extended-support-for-kubernetes-versions-pricing",
        STORED,
        "clusters on a Kubernetes version in standard support; extended support is $0.60",
    ),
    ("aws:nat-gateway", "us-east-1"): Price(
        0.045, "hour", "https://cloudburn.io/blog/aws-nat-gateway-pricing", "2026-02-24", "US East"
    ),
    ("aws:public-ipv4", None): Price(
        0.005,
        "hour",
        "https://cloudburn.io/blog/aws-nat-gateway-pricing",
        "2026-02-24",
        "every public IPv4 address (EIP or load-balancer address), attached or not",
    ),
    ("aws:nlb", "us-east-1"): Price(
        0.0225,
        "hour",
        "https://clustercost.com/blog/network-load-balancer-pricing-2025",
        STORED,
        "NLB-hour only; NLCU usage depends on traffic",
    ),
    ("aws:internet-egress", None): Price(
        0.09,
        "GB",
        "https://kindatechnical.com/aws-eks/lesson-31-understanding-eks-pricing.html",
        STORED,
        "data transfer out to the internet, first 10 TB tier, US regions",
    ),
    ("aws:ebs-gp3", "us-east-1"): Price(
        0.08,
        "GB-month",
        "https://c3x.dev/resources/aws/aws_ebs_volume",
        STORED,
        "storage only; baseline IOPS free",
    ),
    ("aws:s3-standard", "us-east-1"): Price(
        0.023, "GB-month", "https://c3x.dev/resources/aws/aws_s3_bucket", STORED, "S3 Standard, first 50 TB"
    ),
    # Route 53 is global. Read from the transcription of https://aws.amazon.com/route53/pricing/
    # in api-evangelist/amazon-route53-resolver (plans/...-pricing.yml, page read 2026-09-20).
    ("aws:route53-health-check-aws-endpoint", None): Price(
        0.50, "month", "https://aws.amazon.com/route53/pricing/", "2026-09-20", "first 50 are free"
    ),
    ("aws:route53-health-check-non-aws-endpoint", None): Price(
        0.75, "month", "https://aws.amazon.com/route53/pricing/", "2026-09-20"
    ),
    ("aws:route53-health-check-feature-aws-endpoint", None): Price(
        1.00,
        "month",
        "https://aws.amazon.com/route53/pricing/",
        "2026-09-20",
        "per optional feature (HTTPS, fast interval, string matching, latency)",
    ),
    ("aws:route53-health-check-feature-non-aws-endpoint", None): Price(
        2.00,
        "month",
        "https://aws.amazon.com/route53/pricing/",
        "2026-09-20",
        "per optional feature (HTTPS, fast interval, string matching, latency)",
    ),
    # --- gcp ---
    ("gcp:gke-cluster-fee", None): Price(
        0.10,
        "hour",
        "https://cloud.google.com/kubernetes-engine/pricing",
        STORED,
        "regional clusters get no free-tier credit",
    ),
    ("gcp:cloud-nat-vm", None): Price(
        0.0014,
        "hour",
        "https://cloud.google.com/nat/pricing",
        STORED,
        "per VM using the gateway, capped at 32 VMs ($0.044/h)",
    ),
    ("gcp:cloud-nat-ip", None): Price(
        0.005, "hour", "https://cloud.google.com/nat/pricing", STORED, "per external IP used by the gateway"
    ),
    ("gcp:forwarding-rule", None): Price(
        0.025,
        "hour",
        "https://c3x.dev/blog/gcp-load-balancer-cost/",
        STORED,
        "first five forwarding rules of a project, each",
    ),
    ("gcp:pd-balanced", None): Price(
        0.10, "GB-month", "https://c3x.dev/blog/gcp-persistent-disk-types-cost/", STORED, "US regions"
    ),
    ("gcp:internet-egress", None): Price(
        0.12,
        "GB",
        "https://cloud.google.com/storage/pricing-examples",
        STORED,
        "data transfer out to the Americas and EMEA, Premium Tier",
    ),
    # --- azure ---
    ("azure:aks-standard-tier", None): Price(
        0.10,
        "hour",
        "https://techcommunity.microsoft.com/t5/apps-on-azure-blog/aks-introduces-uptime-sla/ba-p/1350832",
        STORED,
        "Uptime SLA, now the Standard tier",
    ),
    ("azure:public-ipv4", None): Price(
        0.005, "hour", "https://c3x.dev/resources/azure/azurerm_public_ip", STORED, "Standard SKU"
    ),
    ("azure:standard-load-balancer", None): Price(
        0.025,
        "hour",
        "https://c3x.dev/resources/azure/azurerm_lb",
        STORED,
        "Standard SKU, first five rules included",
    ),
    ("azure:traffic-manager-fast-interval-external", None): Price(
        2.00,
        "month",
        "https://azure.microsoft.com/roadmap/fast-failover-and-tcp-probing-in-azure-traffic-manager/",
        "2017-06-30",
        "10 s probing of an external endpoint, per endpoint",
    ),
}


def lookup(item: str, region: str) -> Price | None:
    """The regional price of `item`, else its cloud-wide price, else None (never zero)."""
    return PRICES.get((item, region)) or PRICES.get((item, None))
