"""GCP: Managed Service for Prometheus (managed collection), PromQL alert policies, a billing budget.

Managed collection runs GKE's own collector DaemonSet (gmp-system/collector), which writes to
Cloud Monitoring as the node service account (roles/monitoring.metricWriter, granted by the
cluster); the cluster enables it (`monitoring_config.managed_prometheus`) and a PodMonitoring
selects the inference pods' metrics port. The alert rules become Cloud Monitoring alert policies
with PromQL conditions (the same expressions), notifying email and webhook channels.

Fresh-project notes (GCP docs, 2025): the monitoring API must be on before the cluster turns on
managed collection; a billing budget needs the billingbudgets API in the project that pays for
the call and roles/billing.costsManager (or billing admin) on the billing account, which a
project-level deployer often lacks; the budget's currency must be the billing account's. GCP has
no cost-anomaly resource in the API: the budget's FORECASTED_SPEND threshold is the cost-spike
signal. A policy may notify at most 16 channels, a budget at most 5.
"""

from __future__ import annotations

from typing import Any, Final

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.common import type_token
from components.gcp_apis import apis_of
from components.observability.args import (
    METRICS_PORT_NAME,
    MODULE,
    SCRAPE_INTERVAL_SECONDS,
    TARGET_LABELS,
    TARGET_NAMESPACE,
    ObservabilityArgs,
)
from components.observability.rules import GROUP_NAME, RULES, render_rules
from components.observability.shared import SCRAPE_PATHS, Observability, metrics_network_policy

APIS: Final = ("monitoring", "billingbudgets")
UPTIME_PERIOD: Final = "60s"
"""The shortest uptime-check period Cloud Monitoring offers (Cloud DNS probes every 30 s)."""
BUDGET_CHANNEL_LIMIT: Final = 5


def pod_monitoring(labels: dict[str, str]) -> dict[str, Any]:
    """spec of the PodMonitoring CR (monitoring.googleapis.com/v1); labels set by metric relabelling.

    One endpoint per path of the metrics port (the model server's metrics, the edge's counts);
    GMP sets the `job` label to the PodMonitoring's name for both, the metric names tell them
    apart."""
    return {
        "selector": {"matchLabels": dict(TARGET_LABELS)},
        "endpoints": [
            {
                "port": METRICS_PORT_NAME,
                "path": path,
                "interval": f"{SCRAPE_INTERVAL_SECONDS}s",
                "metricRelabeling": [
                    {"action": "replace", "targetLabel": key, "replacement": value}
                    for key, value in labels.items()
                ],
            }
            for path in SCRAPE_PATHS.values()
        ],
    }


def _seconds(duration: str) -> str:
    return f"{int(duration.removesuffix('m')) * 60}s"


class GcpObservability(Observability):
    """See module docstring and ObservabilityArgs."""

    pod_monitoring: k8s.apiextensions.CustomResource
    """Managed collection's PodMonitoring of the inference pods' metrics port."""
    alert_policies: list[gcp.monitoring.AlertPolicy]
    """One PromQL alert policy per rule (rules.py), to the notification channels."""
    dns_health_alert: gcp.monitoring.AlertPolicy | None
    """Uptime-check alert standing in for Cloud DNS's health check, when Cloud DNS is the authority."""
    dns_uptime_check: gcp.monitoring.UptimeCheckConfig
    """The uptime check `dns_health_alert` watches (only with a Cloud DNS authority)."""
    budget: gcp.billing.Budget
    """Monthly budget on the stack's project (only with a budget and a billing account)."""

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "GcpObservability"), name, None, opts)
        placement = args.placement
        apis = apis_of(placement.gcp_apis, placement.stack, "observability").enable(*APIS)
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider, depends_on=apis)

        self._collector(name, args)
        channel_ids = self._notifications(name, args, child)
        self._alerts(name, args, channel_ids, child)
        self.dns_health_alert = self._dns_health_alert(name, args, channel_ids, child)
        if args.budget_monthly_usd is not None and args.gcp_billing_account:
            self._budget(name, args, args.budget_monthly_usd, channel_ids, apis)
        self.register_outputs({"alertPolicies": [p.name for p in self.alert_policies]})

    def _collector(self, name: str, args: ObservabilityArgs) -> None:
        """Managed collection scrapes the pods (a PodMonitoring); only its collectors may reach them."""
        k8s_opts = pulumi.ResourceOptions(
            parent=self, provider=args.k8s_provider, depends_on=list(args.depends_on)
        )
        self.pod_monitoring = k8s.apiextensions.CustomResource(
            f"{name}-pod-monitoring",
            api_version="monitoring.googleapis.com/v1",
            kind="PodMonitoring",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="inference-server", namespace=TARGET_NAMESPACE),
            spec=pod_monitoring(args.series_labels),
            opts=k8s_opts,
        )
        self.network_policy = metrics_network_policy(name, args, k8s_opts)

    def _notifications(
        self, name: str, args: ObservabilityArgs, child: pulumi.ResourceOptions
    ) -> list[pulumi.Output[str]]:
        """One notification channel per email and webhook; returns their ids."""
        channels = [
            gcp.monitoring.NotificationChannel(
                f"{name}-notify-{index}",
                gcp.monitoring.NotificationChannelArgs(
                    project=args.placement.gcp_project,
                    display_name=f"inference-failover {args.placement.stack}: {target}",
                    type=kind,
                    labels={label: target},
                ),
                opts=child,
            )
            for index, (kind, label, target) in enumerate(
                [("email", "email_address", e) for e in args.emails]
                + [("webhook_tokenauth", "url", u) for u in args.webhooks]
            )
        ]
        return [c.id for c in channels]

    def _alerts(
        self,
        name: str,
        args: ObservabilityArgs,
        channel_ids: list[pulumi.Output[str]],
        child: pulumi.ResourceOptions,
    ) -> None:
        self.alert_policies = [
            gcp.monitoring.AlertPolicy(
                f"{name}-{rule.name}",
                gcp.monitoring.AlertPolicyArgs(
                    project=args.placement.gcp_project,
                    display_name=f"{rendered['alert']} ({args.placement.stack})",
                    combiner="OR",
                    severity="CRITICAL" if rule.severity == "critical" else "WARNING",
                    notification_channels=channel_ids,
                    documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                        content=rendered["annotations"]["summary"]
                        .replace("{{ $labels.stack }}", args.role)
                        .replace("{{ $labels.cloud }}", "gcp"),
                        mime_type="text/markdown",
                    ),
                    conditions=[
                        gcp.monitoring.AlertPolicyConditionArgs(
                            display_name=rendered["alert"],
                            condition_prometheus_query_language=gcp.monitoring.AlertPolicyConditionConditionPrometheusQueryLanguageArgs(
                                query=rendered["expr"],
                                duration=_seconds(rendered["for"]),
                                evaluation_interval="60s",
                                alert_rule=rendered["alert"],
                                rule_group=GROUP_NAME,
                                labels=dict(rendered["labels"]),
                            ),
                        )
                    ],
                ),
                opts=child,
            )
            for rule, rendered in zip(RULES, render_rules(args.thresholds), strict=True)
        ]

    def _budget(
        self,
        name: str,
        args: ObservabilityArgs,
        amount: float,
        channel_ids: list[pulumi.Output[str]],
        apis: list[pulumi.Resource],
    ) -> None:
        project = args.placement.gcp_project
        billing_account = args.gcp_billing_account
        assert billing_account, "the caller checks that a billing account is configured"
        number = gcp.organizations.get_project_output(
            project_id=project, opts=pulumi.InvokeOptions(parent=self, provider=args.placement.provider)
        ).number
        # The Billing Budgets API needs a quota project with user credentials (ADC of a
        # person or CI): this provider bills the calls to the stack's own project.
        billing = gcp.Provider(
            f"{name}-billing",
            gcp.ProviderArgs(project=project, user_project_override=True, billing_project=project),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.budget = gcp.billing.Budget(
            f"{name}-budget",
            gcp.billing.BudgetArgs(
                billing_account=billing_account,
                display_name=f"inference-failover {args.placement.stack}"[:60],
                budget_filter=gcp.billing.BudgetBudgetFilterArgs(
                    projects=[number.apply(lambda n: f"projects/{n}")]
                ),
                amount=gcp.billing.BudgetAmountArgs(
                    specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(
                        currency_code="USD", units=str(round(amount))
                    )
                ),
                threshold_rules=[
                    gcp.billing.BudgetThresholdRuleArgs(threshold_percent=0.8, spend_basis="CURRENT_SPEND"),
                    gcp.billing.BudgetThresholdRuleArgs(
                        threshold_percent=1.0, spend_basis="FORECASTED_SPEND"
                    ),
                ],
                all_updates_rule=gcp.billing.BudgetAllUpdatesRuleArgs(
                    monitoring_notification_channels=channel_ids[:BUDGET_CHANNEL_LIMIT],
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=billing, depends_on=apis),
        )

    def _dns_health_alert(
        self,
        name: str,
        args: ObservabilityArgs,
        channel_ids: list[pulumi.Output[str]],
        child: pulumi.ResourceOptions,
    ) -> gcp.monitoring.AlertPolicy | None:
        """The closest alertable equivalent of a Cloud DNS health check: Cloud Monitoring reports
        nothing about the routing policy's checks, so an uptime check probes the same address,
        port and path over HTTPS, and this policy fires when more than one checker region fails
        it (Google's recommended uptime alert: a single region's blip does not page)."""
        if args.dns_uptime_check_host is None:
            return None
        self.dns_uptime_check = self._dns_uptime_check(name, args, child)
        check_filter = self.dns_uptime_check.uptime_check_id.apply(
            lambda check: (
                'metric.type="monitoring.googleapis.com/uptime_check/check_passed" '
                f'AND resource.type="uptime_url" AND metric.label.check_id="{check}"'
            )
        )
        return gcp.monitoring.AlertPolicy(
            f"{name}-dns-health",
            gcp.monitoring.AlertPolicyArgs(
                project=args.placement.gcp_project,
                display_name=f"DNS health check failing ({args.placement.stack})",
                combiner="OR",
                severity="CRITICAL",
                notification_channels=channel_ids,
                documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                    content=(
                        f"The endpoint of {args.role} fails HTTPS {args.dns_health_check_path} "
                        "from more than one uptime-check region: Cloud DNS's own health check "
                        "(same address, port and path) is failing too, so the record answers the "
                        "other stack. Runbook: runbooks/primary-outage.md."
                    ),
                    mime_type="text/markdown",
                ),
                conditions=[
                    gcp.monitoring.AlertPolicyConditionArgs(
                        display_name="uptime check failing in more than one region",
                        condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                            filter=check_filter,
                            comparison="COMPARISON_GT",
                            threshold_value=1,
                            duration="60s",
                            aggregations=[
                                gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                                    alignment_period="300s",
                                    per_series_aligner="ALIGN_NEXT_OLDER",
                                    cross_series_reducer="REDUCE_COUNT_FALSE",
                                    group_by_fields=["resource.label.*"],
                                )
                            ],
                        ),
                    )
                ],
            ),
            opts=child,
        )

    def _dns_uptime_check(
        self, name: str, args: ObservabilityArgs, child: pulumi.ResourceOptions
    ) -> gcp.monitoring.UptimeCheckConfig:
        """HTTPS probes of the stack's address, port and path: what Cloud DNS's health check probes."""
        project = args.placement.gcp_project
        host = args.dns_uptime_check_host
        assert project is not None and host is not None, "a gcp placement and the stack's address"
        return gcp.monitoring.UptimeCheckConfig(
            f"{name}-dns-uptime",
            gcp.monitoring.UptimeCheckConfigArgs(
                project=project,
                display_name=f"inference-failover {args.placement.stack} endpoint (DNS health check)",
                period=UPTIME_PERIOD,
                timeout="10s",
                checker_type="STATIC_IP_CHECKERS",
                monitored_resource=gcp.monitoring.UptimeCheckConfigMonitoredResourceArgs(
                    type="uptime_url", labels={"project_id": project, "host": host}
                ),
                http_check=gcp.monitoring.UptimeCheckConfigHttpCheckArgs(
                    path=args.dns_health_check_path,
                    port=args.dns_health_check_port,
                    request_method="GET",
                    use_ssl=True,
                    # Probed by address, like the DNS health check: the certificate is for the
                    # service name, so it cannot validate against an IP.
                    validate_ssl=False,
                    accepted_response_status_codes=[
                        gcp.monitoring.UptimeCheckConfigHttpCheckAcceptedResponseStatusCodeArgs(
                            status_class="STATUS_CLASS_2XX"
                        )
                    ],
                ),
            ),
            opts=child,
        )
