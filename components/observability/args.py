"""Neutral arguments of the observability component, shared by every cloud module.

The scrape contract with the inference workload lives here: the collector scrapes pods labelled
`app.kubernetes.io/name=inference-server` in the inference namespace on the container port named
`metrics` (METRICS_PORT), where the edge proxy serves the model server's metrics at /metrics and
its own request counts at /metrics/edge (two scrape jobs). That port is cluster-internal: the
inference Service never publishes it, and `metrics_network_policy` admits it only from the
collector's namespace and pods (NetworkPolicies add up, so this opens nothing else).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from components.common import Placement
from components.observability.rules import AlertThresholds
from components.problems import ArgProblem, ArgsValueError, Problem

MODULE: Final = "observability"

METRICS_PORT: Final = 9464
METRICS_PORT_NAME: Final = "metrics"
METRICS_PATH: Final = "/metrics"
"""The model server's metrics, proxied by the edge's metrics listener from 127.0.0.1."""
EDGE_METRICS_PATH: Final = "/metrics/edge"
"""The edge proxy's own request counts on the same listener (edge_proxy.py)."""
SCRAPE_INTERVAL_SECONDS: Final = 30
TARGET_NAMESPACE: Final = "inference"
TARGET_LABELS: Final[Mapping[str, str]] = {"app.kubernetes.io/name": "inference-server"}


@dataclass(frozen=True)
class Collector:
    """Where a cloud's collector pods run: the only peers the metrics port admits."""

    namespace: str
    pod_labels: Mapping[str, str]


# Cloud -> the collector that scrapes the metrics port (source: AWS AMP docs "Prometheus agent
# with IRSA"; GMP manifests/operator.yaml DaemonSet gmp-system/collector, prometheus-engine
# 2026-07; Azure ama-metrics ReplicaSet runs the custom scrape jobs, label rsName=ama-metrics).
COLLECTORS: Final[Mapping[str, Collector]] = {
    "aws": Collector("observability", {"app.kubernetes.io/name": "metrics-collector"}),
    "gcp": Collector("gmp-system", {"app.kubernetes.io/name": "collector"}),
    "azure": Collector("kube-system", {"rsName": "ama-metrics"}),
}

_EMAIL: Final = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$")


class ObservabilityArgsError(ArgsValueError):
    """Every problem found in one ObservabilityArgs, reported at once with its code."""

    def __init__(self, problems: Sequence[Problem | str]) -> None:
        super().__init__("ObservabilityArgs", problems)


@dataclass(frozen=True)
class ObservabilityArgs:
    """Metrics of the serving path into the cloud's managed Prometheus, alert rules, a budget.

    Secure defaults: the metrics port is reachable only from the collector (NetworkPolicy), the
    collector writes with the workload-identity pattern (IRSA / Workload Identity / AKS add-on
    identity) and only to this stack's workspace, the AWS workspace and topic use a
    customer-managed key.
    """

    placement: Placement
    k8s_provider: k8s.Provider
    """The cluster's explicit Kubernetes provider (InferenceCluster.k8s_provider)."""
    cluster_name: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    """Issuer of the cluster's service-account tokens (aws: the IRSA trust of the collector)."""
    oidc_provider_arn: pulumi.Input[str] | None
    """aws only, required there: the cluster's IAM OIDC provider."""
    role: str
    """primary or standby: the `stack` label of every series."""
    model_name: str
    """The `model` label of every series."""
    thresholds: AlertThresholds = field(default_factory=AlertThresholds)
    """When each serving alert fires (components/observability/rules.py); defaults per field."""
    emails: tuple[str, ...] = ()
    """Addresses that get alerts, budget and cost-anomaly notifications."""
    webhooks: tuple[str, ...] = ()
    """https:// URLs that get the same."""
    budget_monthly_usd: float | None = None
    """Monthly budget; None creates no budget (and on aws no cost-anomaly monitor)."""
    gcp_billing_account: str | None = None
    """gcp only, required there with a budget: billing account id the budget is created on."""
    route53_health_check_id: pulumi.Input[str] | None = None
    """aws stacks in us-east-1 with Route 53 as DNS authority: the health check the stack's
    record uses; a CloudWatch alarm notifies the alert topic when it fails (Route 53 publishes
    health-check metrics in us-east-1 only)."""
    traffic_manager_endpoint_id: pulumi.Input[str] | None = None
    """azure stacks with Traffic Manager as DNS authority: this stack's endpoint; a metric alert
    on the profile's endpoint state notifies the action group when its probes fail."""
    dns_uptime_check_host: pulumi.Input[str] | None = None
    """gcp stacks with Cloud DNS as authority: this stack's public address. Cloud Monitoring has
    no metric for the state of a Cloud DNS routing-policy health check, so an uptime check probes
    the same endpoint (HTTPS, `dns_health_check_port`, `dns_health_check_path`) and an alert
    policy notifies the channels when it fails."""
    dns_health_check_path: str = "/health"
    dns_health_check_port: int = 443
    depends_on: tuple[pulumi.Resource, ...] = ()
    """In-cluster objects wait for these (the cluster's node pools, the workload namespace)."""

    def __post_init__(self) -> None:
        problems: list[Problem | str] = []
        cloud = self.placement.cloud
        for email in self.emails:
            if not _EMAIL.match(email):
                problems.append(ArgProblem("emails", email, "an email address", verb="entry must be"))
        for url in self.webhooks:
            if not url.startswith("https://"):
                problems.append(
                    ArgProblem(
                        "webhooks", url, "an https:// URL", "plain http is refused", verb="entry must be"
                    )
                )
        if self.budget_monthly_usd is not None and not self.budget_monthly_usd > 0:
            problems.append(
                ArgProblem(
                    "budget_monthly_usd", self.budget_monthly_usd, "greater than 0", "pass None for no budget"
                )
            )
        if cloud == "aws" and self.oidc_provider_arn is None:
            problems.append(
                ArgProblem(
                    "oidc_provider_arn",
                    None,
                    "required on aws",
                    "pass the cluster's OIDC provider",
                    verb="is",
                    shown="None",
                )
            )
        if cloud == "gcp" and self.budget_monthly_usd is not None and not self.gcp_billing_account:
            problems.append(
                ArgProblem(
                    "gcp_billing_account",
                    self.gcp_billing_account,
                    "required on gcp with a budget",
                    "set gcpBillingAccount",
                    verb="is",
                    shown="None",
                )
            )
        if problems:
            raise ObservabilityArgsError(problems)

    @property
    def series_labels(self) -> dict[str, str]:
        """stack, cloud, region, model: on every series, so the two sides sit side by side."""
        return {
            "stack": self.role,
            "cloud": self.placement.cloud,
            "region": self.placement.region,
            "model": self.model_name,
        }
