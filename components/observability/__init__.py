"""Metrics of the serving path in the cloud's managed Prometheus, alert rules, budget and cost alerts.

obs = create_observability("primary", ObservabilityArgs(placement=..., k8s_provider=..., ...))

- aws: Amazon Managed Service for Prometheus (workspace with a customer-managed key), a
  Prometheus agent with IRSA (aps:RemoteWrite on that workspace only), rule groups namespace +
  alert manager to SNS, AWS Budgets and Cost Anomaly Detection to the same topic.
- gcp: Google Cloud Managed Service for Prometheus (managed collection, a PodMonitoring),
  Cloud Monitoring PromQL alert policies to email/webhook channels, a billing budget.
- azure: Azure Monitor workspace + data collection endpoint/rule/association (AKS metrics
  add-on), a custom scrape job for ama-metrics, prometheusRuleGroups to an action group, a
  consumption budget on the stack's resource group.

The rules are data (rules.py), the same on every cloud; tests/components/test_alert_rules.py runs them in
promtool.
"""

from __future__ import annotations

import pulumi

from components.common import unsupported_cloud
from components.observability.args import (
    COLLECTORS,
    METRICS_PORT,
    METRICS_PORT_NAME,
    ObservabilityArgs,
    ObservabilityArgsError,
)
from components.observability.rules import RULES, AlertThresholds
from components.observability.shared import Observability

__all__ = [
    "COLLECTORS",
    "METRICS_PORT",
    "METRICS_PORT_NAME",
    "RULES",
    "AlertThresholds",
    "Observability",
    "ObservabilityArgs",
    "ObservabilityArgsError",
    "create_observability",
]


def create_observability(
    name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
) -> Observability:
    """The observability component for `args.placement.cloud`, importing only that cloud's SDK."""
    match args.placement.cloud:
        case "aws":
            from components.observability.aws import AwsObservability

            return AwsObservability(name, args, opts)
        case "gcp":
            from components.observability.gcp import GcpObservability

            return GcpObservability(name, args, opts)
        case "azure":
            from components.observability.azure import AzureObservability

            return AzureObservability(name, args, opts)
        case _:
            raise unsupported_cloud(args.placement.cloud, ("aws", "gcp", "azure"))
