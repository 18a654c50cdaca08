"""Azure: Azure Monitor managed service for Prometheus, prometheusRuleGroups, a consumption budget.

The AKS metrics add-on (ama-metrics, enabled on the cluster by `azure_monitor_profile.metrics`)
sends to an Azure Monitor workspace through a data collection endpoint and rule associated with
the cluster; a custom scrape job (ConfigMap ama-metrics-prometheus-config in kube-system) scrapes
the inference pods' metrics port and sets the stack labels. The add-on writes with its own
managed identity, so no pod-level identity is needed. Rules fire to an action group (email and
webhook receivers); the same group gets the budget's notifications.

Fresh-subscription notes (Azure docs, 2025): the resource providers Microsoft.Monitor,
Microsoft.Insights, Microsoft.AlertsManagement and Microsoft.Consumption must be registered
(`az provider register -n ...`; azure-native does not register them). A budget's start date
must be the first of a month and cannot move later; it is set once (ignore_changes) so a later
`pulumi up` is a no-op. Azure has no cost-anomaly resource in ARM for a resource group (cost
anomaly alerts are subscription-level scheduled actions); the budget's Forecasted threshold is
the cost-spike signal here.
"""

from __future__ import annotations

import datetime
from typing import Final

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s
import yaml

from components.common import physical_name, type_token
from components.observability.args import MODULE, ObservabilityArgs
from components.observability.rules import GROUP_NAME, azure_rules
from components.observability.shared import Observability, metrics_network_policy, pod_scrape_jobs

monitor = azure_native.monitor
STREAM: Final = "Microsoft-PrometheusMetrics"
SCRAPE_CONFIGMAP: Final = "ama-metrics-prometheus-config"


def resource_group(args: ObservabilityArgs) -> pulumi.Input[str]:
    group = args.placement.azure_resource_group
    assert group is not None, "placement.azure_resource_group is required on azure"
    return group


def first_of_month(today: datetime.date | None = None) -> str:
    day = (today or datetime.datetime.now(datetime.UTC).date()).replace(day=1)
    return f"{day.isoformat()}T00:00:00Z"


class AzureObservability(Observability):
    """See module docstring and ObservabilityArgs."""

    workspace: monitor.AzureMonitorWorkspace
    """The Azure Monitor workspace the AKS metrics add-on writes to."""
    endpoint: monitor.DataCollectionEndpoint
    """The add-on's data collection endpoint (ingestion and configuration access)."""
    rule: monitor.DataCollectionRule
    """Forwards the add-on's Prometheus stream to `workspace`."""
    action_group: monitor.ActionGroup
    """Email and webhook receivers of every alert and budget notification."""
    rule_group: azure_native.alertsmanagement.PrometheusRuleGroup
    """The alert rules (rules.py) on the workspace and cluster."""
    dns_health_alert: monitor.MetricAlert | None
    """Traffic Manager endpoint alert, when this stack's endpoint is in the stack's subscription."""
    budget: azure_native.consumption.Budget
    """Monthly consumption budget on the stack's resource group (only with a budget)."""

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "AzureObservability"), name, None, opts)
        placement = args.placement
        group = resource_group(args)
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        base = physical_name(placement.stack, name, "metrics", max_length=44)
        client = azure_native.authorization.get_client_config_output(
            opts=pulumi.InvokeOptions(parent=self, provider=placement.provider)
        )
        group_id = pulumi.Output.concat("/subscriptions/", client.subscription_id, "/resourceGroups/", group)
        cluster_id = pulumi.Output.concat(
            group_id, "/providers/Microsoft.ContainerService/managedClusters/", args.cluster_name
        )

        self._workspace(name, args, base, child)
        self._collector(name, args, base, cluster_id, child)
        self._notifications(name, args, base, child)
        self._alerts(name, args, base, cluster_id, child)
        self.dns_health_alert = self._dns_health_alert(name, args, base)
        if args.budget_monthly_usd is not None:
            self._budget(name, args, base, group_id, args.budget_monthly_usd)
        self.register_outputs({"workspaceId": self.workspace.id, "ruleGroupId": self.rule_group.id})

    def _workspace(
        self, name: str, args: ObservabilityArgs, base: str, child: pulumi.ResourceOptions
    ) -> None:
        """The workspace, and the endpoint and rule through which the add-on writes to it."""
        placement = args.placement
        group = resource_group(args)
        tags = dict(placement.tags)
        self.workspace = monitor.AzureMonitorWorkspace(
            f"{name}-metrics",
            monitor.AzureMonitorWorkspaceArgs(
                resource_group_name=group,
                azure_monitor_workspace_name=base,
                location=placement.region,
                tags=tags,
            ),
            opts=child,
        )
        self.endpoint = monitor.DataCollectionEndpoint(
            f"{name}-dce",
            monitor.DataCollectionEndpointArgs(
                resource_group_name=group,
                data_collection_endpoint_name=f"{base}-dce",
                location=placement.region,
                kind="Linux",
                tags=tags,
            ),
            opts=child,
        )
        self.rule = monitor.DataCollectionRule(
            f"{name}-dcr",
            monitor.DataCollectionRuleArgs(
                resource_group_name=group,
                data_collection_rule_name=f"{base}-dcr",
                location=placement.region,
                kind="Linux",
                data_collection_endpoint_id=self.endpoint.id,
                data_sources=monitor.DataCollectionRuleDataSourcesArgs(
                    prometheus_forwarder=[
                        monitor.PrometheusForwarderDataSourceArgs(
                            name="PrometheusDataSource", streams=[STREAM]
                        )
                    ]
                ),
                destinations=monitor.DataCollectionRuleDestinationsArgs(
                    monitoring_accounts=[
                        monitor.MonitoringAccountDestinationArgs(
                            account_resource_id=self.workspace.id, name="MonitoringAccount1"
                        )
                    ]
                ),
                data_flows=[monitor.DataFlowArgs(streams=[STREAM], destinations=["MonitoringAccount1"])],
                tags=tags,
            ),
            opts=child,
        )

    def _collector(
        self,
        name: str,
        args: ObservabilityArgs,
        base: str,
        cluster_id: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> None:
        """The cluster's metrics add-on: associated with the rule and endpoint, scraping the pods
        through a custom scrape job; only its pods may reach the metrics port."""
        monitor.DataCollectionRuleAssociation(
            f"{name}-dcra",
            monitor.DataCollectionRuleAssociationArgs(
                resource_uri=cluster_id,
                association_name=f"{base}-dcra",
                data_collection_rule_id=self.rule.id,
                description="AKS metrics add-on -> Azure Monitor workspace",
            ),
            opts=child,
        )
        # The add-on fetches its configuration through the endpoint associated under this fixed name.
        monitor.DataCollectionRuleAssociation(
            f"{name}-dce-association",
            monitor.DataCollectionRuleAssociationArgs(
                resource_uri=cluster_id,
                association_name="configurationAccessEndpoint",
                data_collection_endpoint_id=self.endpoint.id,
            ),
            opts=child,
        )
        k8s_opts = pulumi.ResourceOptions(
            parent=self, provider=args.k8s_provider, depends_on=list(args.depends_on)
        )
        scrape = {"scrape_configs": pod_scrape_jobs(args.series_labels)}
        k8s.core.v1.ConfigMap(
            f"{name}-scrape-config",
            k8s.core.v1.ConfigMapInitArgs(
                api_version="v1",
                kind="ConfigMap",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=SCRAPE_CONFIGMAP, namespace="kube-system"),
                data={"prometheus-config": yaml.safe_dump(scrape, sort_keys=False)},
            ),
            opts=k8s_opts,
        )
        self.network_policy = metrics_network_policy(name, args, k8s_opts)

    def _notifications(
        self, name: str, args: ObservabilityArgs, base: str, child: pulumi.ResourceOptions
    ) -> None:
        self.action_group = monitor.ActionGroup(
            f"{name}-alerts",
            monitor.ActionGroupInitArgs(
                resource_group_name=resource_group(args),
                action_group_name=f"{base}-alerts",
                group_short_name=f"inf-{args.role}"[:12],
                enabled=True,
                location="Global",
                email_receivers=[
                    monitor.MicrosoftCommonEmailReceiverArgs(
                        name=f"email-{i}", email_address=e, use_common_alert_schema=True
                    )
                    for i, e in enumerate(args.emails)
                ],
                webhook_receivers=[
                    monitor.WebhookReceiverArgs(
                        name=f"webhook-{i}", service_uri=u, use_common_alert_schema=True
                    )
                    for i, u in enumerate(args.webhooks)
                ],
                tags=dict(args.placement.tags),
            ),
            opts=child,
        )

    def _alerts(
        self,
        name: str,
        args: ObservabilityArgs,
        base: str,
        cluster_id: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> None:
        action = azure_native.alertsmanagement.PrometheusRuleGroupActionArgs(
            action_group_id=self.action_group.id
        )
        self.rule_group = azure_native.alertsmanagement.PrometheusRuleGroup(
            f"{name}-rules",
            azure_native.alertsmanagement.PrometheusRuleGroupArgs(
                resource_group_name=resource_group(args),
                rule_group_name=f"{base}-{GROUP_NAME}",
                location=args.placement.region,
                scopes=[self.workspace.id, cluster_id],
                cluster_name=args.cluster_name,
                interval="PT1M",
                enabled=True,
                rules=[
                    azure_native.alertsmanagement.PrometheusRuleArgs(
                        alert=r["alert"],
                        expression=r["expression"],
                        for_=r["for"],
                        labels=r["labels"],
                        annotations=r["annotations"],
                        severity=r["severity"],
                        enabled=True,
                        actions=[action],
                        resolve_configuration=azure_native.alertsmanagement.PrometheusRuleResolveConfigurationArgs(
                            auto_resolved=True, time_to_resolve="PT10M"
                        ),
                    )
                    for r in azure_rules(args.thresholds, args.series_labels)
                ],
                tags=dict(args.placement.tags),
            ),
            opts=child,
        )

    def _budget(
        self,
        name: str,
        args: ObservabilityArgs,
        base: str,
        group_id: pulumi.Output[str],
        amount: float,
    ) -> None:
        child = pulumi.ResourceOptions(parent=self, provider=args.placement.provider)
        self.budget = azure_native.consumption.Budget(
            f"{name}-budget",
            azure_native.consumption.BudgetArgs(
                scope=group_id,
                budget_name=f"{base}-monthly",
                amount=amount,
                category="Cost",
                time_grain="Monthly",
                time_period=azure_native.consumption.BudgetTimePeriodArgs(start_date=first_of_month()),
                notifications={
                    f"{kind}{percent}": azure_native.consumption.NotificationArgs(
                        enabled=True,
                        operator="GreaterThan",
                        threshold=percent,
                        threshold_type=kind,
                        contact_emails=list(args.emails),
                        contact_groups=[self.action_group.id],
                    )
                    for kind, percent in (("Actual", 80), ("Forecasted", 100))
                },
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["timePeriod"])),
        )

    def _dns_health_alert(self, name: str, args: ObservabilityArgs, base: str) -> monitor.MetricAlert | None:
        """Traffic Manager reports each endpoint's probe state (1 online, 0 degraded) per profile."""
        if args.traffic_manager_endpoint_id is None:
            return None
        endpoint = pulumi.Output.from_input(args.traffic_manager_endpoint_id)
        return monitor.MetricAlert(
            f"{name}-dns-health",
            monitor.MetricAlertArgs(
                resource_group_name=resource_group(args),
                rule_name=f"{base}-dns-health",
                location="global",
                description=f"Traffic Manager probes of {args.placement.stack} failing",
                severity=1,
                enabled=True,
                scopes=[endpoint.apply(lambda i: i.rsplit("/", 2)[0])],
                evaluation_frequency="PT1M",
                window_size="PT5M",
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    all_of=[
                        monitor.MetricCriteriaArgs(
                            criterion_type="StaticThresholdCriterion",
                            name="endpoint-degraded",
                            metric_name="ProbeAgentCurrentEndpointStateByProfileResourceId",
                            metric_namespace="Microsoft.Network/trafficManagerProfiles",
                            operator="LessThan",
                            threshold=1,
                            time_aggregation="Maximum",
                            dimensions=[
                                monitor.MetricDimensionArgs(
                                    name="EndpointName",
                                    operator="Include",
                                    values=[endpoint.apply(lambda i: i.rsplit("/", 1)[1])],
                                )
                            ],
                        )
                    ],
                ),
                actions=[monitor.MetricAlertActionArgs(action_group_id=self.action_group.id)],
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.placement.provider),
        )
