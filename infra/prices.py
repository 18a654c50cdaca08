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
    # On-demand Linux list prices in us-east-1 from the AWS Pricing API, as generated into
    # aws/karpenter-provider-aws pkg/providers/pricing/zz_generated.pricing_aws.go (commit
    # 265ee0ba5b8e, "generated at 2026-02-09T13:43:35Z for us-east-1").
    ("aws:instance/g6.2xlarge", "us-east-1"): Price(
        0.9776,
        "hour",
        "https://github.com/aws/karpenter-provider-aws/blob/265ee0ba5b8e337dec6b82dde965b03021ccb418/pkg/providers/pricing/zz_generated.pricing_aws.go",
        "2026-02-09",
        "1 x NVIDIA L4, 8 vCPU; several public price tables quote the same 0.9776",
    ),
    ("aws:instance/m6i.large", "us-east-1"): Price(
        0.096,
        "hour",
        "https://github.com/aws/karpenter-provider-aws/blob/265ee0ba5b8e337dec6b82dde965b03021ccb418/pkg/providers/pricing/zz_generated.pricing_aws.go",
        "2026-02-09",
    ),
    # A calculated check is billed as a basic health check of an AWS endpoint: infracost prices
    # every aws_route53_health_check, CALCULATED included, as "Health-Check-AWS"
    # (internal/resources/aws/route53_health_check.go); the $0.50 is the page transcription above.
    # The first 50 AWS-endpoint checks of an account are free: not modelled (list price).
    ("aws:route53-health-check-calculated", None): Price(
        0.50,
        "month",
        "https://github.com/infracost/infracost/blob/36e1bb89a0bba8b6d08e1d0abe29a9997289b9bf/internal/resources/aws/route53_health_check.go",
        "2026-09-20",
        "basic AWS-endpoint health-check price (aws.amazon.com/route53/pricing, read 2026-09-20)",
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
    # skypilot-org/skypilot-catalog catalogs/v7/gcp/vms.csv (commit 017e2502fb63, generated from
    # the Cloud Billing catalog): VM rows exclude attached GPUs, which have their own rows.
    ("gcp:instance/e2-standard-4", "us-central1"): Price(
        0.13402,
        "hour",
        "https://github.com/skypilot-org/skypilot-catalog/blob/017e2502fb63c7a28757acd94002b2d6099d3e3d/catalogs/v7/gcp/vms.csv",
        STORED,
    ),
    ("gcp:instance/g2-standard-8", "us-central1"): Price(
        0.85362,
        "hour",
        "https://github.com/skypilot-org/skypilot-catalog/blob/017e2502fb63c7a28757acd94002b2d6099d3e3d/catalogs/v7/gcp/vms.csv",
        STORED,
        "0.29358 machine + 0.56004 for its L4 (the catalogue's L4,1 row); some public tables quote "
        "1.01-1.54, not followed: they do not split machine and GPU",
    ),
    # A reserved address used by a forwarding rule: Google's 2020 wording (quoted in
    # 1e100.4watcher365.dev/?p=3255) bills addresses in use by forwarding rules nothing, while
    # the in-use rate read from the network pricing page on 2026-10-16 (ChiefGyk3D/Clouds-
    # Against-Humanity wiki, Provider-GCP-Cost-Lesson) is $0.005/h for VMs. Sources disagree;
    # priced at the in-use rate as an upper bound ($3.65/month).
    ("gcp:static-external-ipv4", None): Price(
        0.005,
        "hour",
        "https://github.com/ChiefGyk3D/Clouds-Against-Humanity/wiki/Provider-GCP-Cost-Lesson",
        "2026-10-16",
        "in-use external IPv4 rate; may be free on a forwarding rule (see comment)",
    ),
    # Not confirmed from a stored copy of the pricing page (its dual-region rows were not
    # captured); $0.036 is the Standard NAM4 rate the page listed before the 2022/23 changes.
    # 16 GB of model: about $0.58/month; set priceOverrides if your bill differs.
    ("gcp:gcs-standard-nam4", None): Price(
        0.036,
        "GB-month",
        "https://cloud.google.com/storage/pricing",
        "unverified",
        "dual-region NAM4 (Iowa + South Carolina), Standard class; replication writes not included",
    ),
    # Transcription of https://cloud.google.com/dns/pricing in api-evangelist/google-cloud-dns
    # (plans/google-cloud-dns-plans-pricing.yml, read 2026-09-20): external fast health checks
    # $0.002739726/h = $2.00/month (external premium: $4.00/month).
    ("gcp:cloud-dns-health-check", None): Price(
        2.00,
        "month",
        "https://cloud.google.com/dns/pricing",
        "2026-09-20",
        "external endpoint, fast health check; premium checks are $4.00",
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
    # skypilot-org/skypilot-catalog catalogs/v6/azure/vms.csv (commit 098741e70562, from the Azure
    # retail prices API); the A100 VM also in datareceipts hyperscalers.json (retrieved 2026-11-09).
    ("azure:instance/Standard_D4ds_v5", "eastus"): Price(
        0.226,
        "hour",
        "https://github.com/skypilot-org/skypilot-catalog/blob/098741e70562f65d7af1cceb81e33b284f742604/catalogs/v6/azure/vms.csv",
        STORED,
    ),
    ("azure:instance/Standard_NC24ads_A100_v4", "eastus"): Price(
        3.673,
        "hour",
        "https://raw.githubusercontent.com/datareceipts/data-receipts/main/109-gpu-pricing/hyperscalers.json",
        "2026-11-09",
        "1 x A100 80GB PCIe, 24 vCPU",
    ),
    # Premium SSD managed disks are billed per disk by size tier. The stored copies of Azure's
    # own page render "$-"; these figures are TechTarget's (searchcloudcomputing, undated,
    # Premium Storage launch era) and still match Azure's P10/P20 list prices as far as known.
    ("azure:premium-ssd-p10", None): Price(
        19.71,
        "month",
        "http://searchcloudcomputing.techtarget.com/answer/How-does-Azure-Premium-Storage-billing-work",
        STORED,
        "128 GiB, LRS",
    ),
    ("azure:premium-ssd-p20", None): Price(
        73.22,
        "month",
        "http://searchcloudcomputing.techtarget.com/answer/How-does-Azure-Premium-Storage-billing-work",
        STORED,
        "512 GiB, LRS",
    ),
    # Blob Hot, first 50 TB: ~$0.018/GB LRS (api-evangelist/microsoft-azure-blob-storage, marked
    # "generated", not harvested) times the redundancy multipliers in redkitecloud.com's Azure
    # storage pricing page (ZRS ~1.25x, GZRS ~2.5x). Derived, not read: 16 GB is < $1/month.
    ("azure:blob-hot-zrs", None): Price(
        0.0225,
        "GB-month",
        "https://www.redkitecloud.com/docs/azure-storage/storage-pricing.html",
        STORED,
        "derived: 0.018 LRS x 1.25",
    ),
    ("azure:blob-hot-ragzrs", None): Price(
        0.045,
        "GB-month",
        "https://www.redkitecloud.com/docs/azure-storage/storage-pricing.html",
        STORED,
        "derived: 0.018 LRS x 2.5 (GZRS); read access adds per-read charges, not modelled",
    ),
    ("azure:container-registry-standard", None): Price(
        20.29,
        "month",
        "https://c3x.dev/resources/azure/azurerm_container_registry",
        STORED,
        "$0.667/day x 730/24; includes 100 GB",
    ),
    ("azure:internet-egress", None): Price(
        0.087,
        "GB",
        "https://c3x.dev/blog/azure-egress-bandwidth-cost/",
        STORED,
        "first 10 TB tier; the first 100 GB a month are free (not modelled: list price)",
    ),
    # Not confirmed: the stored Azure page renders "$-" for every price (api-evangelist
    # transcription, 2026-09-20). $0.54 per external endpoint a month is the figure Azure has
    # long listed; set priceOverrides if your bill differs.
    ("azure:traffic-manager-health-check-external", None): Price(
        0.54,
        "month",
        "https://azure.microsoft.com/en-us/pricing/details/traffic-manager/",
        "unverified",
        "basic health check, external endpoint",
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
