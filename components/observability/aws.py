"""AWS: Amazon Managed Service for Prometheus, a Prometheus agent with IRSA, alerts to SNS, a budget.

Fresh-account notes (AWS docs, 2025): AMP needs no API enablement or registration; a workspace
with a customer-managed key cannot change its key later (replacement). AMP's alert manager
publishes to SNS as aps.amazonaws.com, AWS Budgets as budgets.amazonaws.com and Cost Anomaly
Detection as costalerts.amazonaws.com: the topic policy and the key policy admit exactly those,
for this account. Email subscriptions stay "pending confirmation" until the recipient clicks the
link, and a pending subscription cannot be deleted (destroy leaves it to expire after 3 days).
"""

from __future__ import annotations

import json
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from components.common import physical_name, type_token
from components.inference_cluster.aws import irsa_trust_policy
from components.observability.args import COLLECTORS, MODULE, TARGET_NAMESPACE, ObservabilityArgs
from components.observability.rules import GROUP_NAME, render_rule_groups
from components.observability.shared import Observability, metrics_network_policy, pod_scrape_jobs

# Digest as pinned for quay.io/prometheus/prometheus:v3.5.0 in a public CI script and, identically,
# for prom/prometheus:v3.5.0 in many public scripts and Dockerfiles (one multi-arch index).
COLLECTOR_IMAGE: Final = (
    "quay.io/prometheus/prometheus:v3.5.0"
    "@sha256:63805ebb8d2b3920190daf1cb14a60871b16fd38bed42b857a3182bc621f4996"
)
"""Prometheus 3.5 (LTS) in agent mode: scrape + SigV4 remote write, no local TSDB or rules."""
COLLECTOR_NAME: Final = "metrics-collector"
_PUBLISHERS: Final = (
    "aps.amazonaws.com",
    "budgets.amazonaws.com",
    "costalerts.amazonaws.com",
    "cloudwatch.amazonaws.com",
)
ROUTE53_METRICS_REGION: Final = "us-east-1"
"""Route 53 publishes health-check metrics only in us-east-1, so its alarms live there."""


def key_policy(account: str) -> str:
    """Account administrators manage the key; the three notifying services may only encrypt."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "NotifiersEncryptToTheTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": list(_PUBLISHERS)},
                    "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                },
            ],
        }
    )


def topic_policy(topic_arn: str, workspace_arn: str, account: str) -> str:
    """Only this workspace's alert manager, and this account's budgets and anomaly alerts, publish."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "WorkspaceAlertManager",
                    "Effect": "Allow",
                    "Principal": {"Service": "aps.amazonaws.com"},
                    "Action": ["sns:Publish", "sns:GetTopicAttributes"],
                    "Resource": topic_arn,
                    "Condition": {
                        "ArnEquals": {"aws:SourceArn": workspace_arn},
                        "StringEquals": {"aws:SourceAccount": account},
                    },
                },
                {
                    "Sid": "BudgetsCostAnomaliesAndAlarms",
                    "Effect": "Allow",
                    "Principal": {
                        "Service": [
                            "budgets.amazonaws.com",
                            "costalerts.amazonaws.com",
                            "cloudwatch.amazonaws.com",
                        ]
                    },
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                },
            ],
        }
    )


def remote_write_policy(workspace_arn: str) -> str:
    """The collector may write samples to this one workspace and do nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "aps:RemoteWrite", "Resource": workspace_arn}],
        }
    )


def alertmanager_definition(topic_arn: str, region: str) -> str:
    config = {
        "alertmanager_config": {
            "route": {"receiver": "sns", "group_by": ["alertname", "stack"], "repeat_interval": "4h"},
            "receivers": [
                {
                    "name": "sns",
                    "sns_configs": [
                        {"topic_arn": topic_arn, "sigv4": {"region": region}, "send_resolved": True}
                    ],
                }
            ],
        }
    }
    return yaml.safe_dump(config, sort_keys=False)


def agent_config(args: ObservabilityArgs, remote_write_url: str) -> str:
    config: dict[str, Any] = {
        "global": {"scrape_interval": "30s", "external_labels": args.series_labels},
        "scrape_configs": pod_scrape_jobs(args.series_labels),
        "remote_write": [{"url": remote_write_url, "sigv4": {"region": args.placement.region}}],
    }
    return yaml.safe_dump(config, sort_keys=False)


class AwsObservability(Observability):
    """See module docstring and ObservabilityArgs."""

    key: aws.kms.Key
    """Customer-managed key of the metrics workspace and the alert topic."""
    workspace: aws.amp.Workspace
    """The Amazon Managed Service for Prometheus workspace the collector writes to."""
    topic: aws.sns.Topic
    """Where every alert, budget and cost-anomaly notification goes (email and webhook subscribers)."""
    rules: aws.amp.RuleGroupNamespace
    """The alert rules (rules.py) in the workspace."""
    alertmanager: aws.amp.AlertManagerDefinition
    """Routes the workspace's alerts to `topic`."""
    collector_role: aws.iam.Role
    """IRSA role of the Prometheus agent: remote write to this workspace only."""
    collector: k8s.apps.v1.Deployment
    """The Prometheus agent scraping the inference pods."""
    dns_health_alarm: aws.cloudwatch.MetricAlarm | None
    """Route 53 health-check alarm, when this stack's record has a check and metrics are here."""
    budget: aws.budgets.Budget
    """Monthly cost budget (only when `budget_monthly_usd` is set)."""
    anomaly_monitor: aws.costexplorer.AnomalyMonitor
    """Per-service cost anomaly monitor (only with a budget)."""
    anomaly_subscription: aws.costexplorer.AnomalySubscription
    """Sends cost spikes over `spike_threshold_usd` to `topic` (only with a budget)."""

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "AwsObservability"), name, None, opts)
        placement = args.placement
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        base = physical_name(placement.stack, name, "obs", max_length=40)
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOptions(parent=self, provider=placement.provider)
        ).account_id

        self._workspace(name, args, base, account_id, child)
        self._notifications(name, args, base, account_id, child)
        self._alerts(name, args, child)
        self._collector_identity(name, args, base, child)
        self._collector(name, args, self.workspace.prometheus_endpoint, self.collector_role.arn)
        self.dns_health_alarm = self._dns_health_alert(name, args, base, child)
        if args.budget_monthly_usd is not None:
            self._budget(name, args, base, args.budget_monthly_usd)
        self.register_outputs(
            {"workspaceArn": self.workspace.arn, "topicArn": self.topic.arn, "rules": self.rules.name}
        )

    def _workspace(
        self,
        name: str,
        args: ObservabilityArgs,
        base: str,
        account_id: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> None:
        self.key = aws.kms.Key(
            f"{name}-obs-key",
            aws.kms.KeyArgs(
                description=f"Metrics workspace and alert topic of {args.placement.stack}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=account_id.apply(key_policy),
            ),
            opts=child,
        )
        self.workspace = aws.amp.Workspace(
            f"{name}-metrics",
            aws.amp.WorkspaceArgs(alias=base, kms_key_arn=self.key.arn),
            opts=child,
        )

    def _notifications(
        self,
        name: str,
        args: ObservabilityArgs,
        base: str,
        account_id: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> None:
        self.topic = aws.sns.Topic(
            f"{name}-alerts",
            aws.sns.TopicArgs(name=f"{base}-alerts", kms_master_key_id=self.key.arn),
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            aws.sns.TopicPolicyArgs(
                arn=self.topic.arn,
                policy=pulumi.Output.all(self.topic.arn, self.workspace.arn, account_id).apply(
                    lambda a: topic_policy(a[0], a[1], a[2])
                ),
            ),
            opts=child,
        )
        targets = [("email", e) for e in args.emails] + [("https", u) for u in args.webhooks]
        for index, (protocol, endpoint) in enumerate(targets):
            aws.sns.TopicSubscription(
                f"{name}-alerts-{index}",
                aws.sns.TopicSubscriptionArgs(topic=self.topic.arn, protocol=protocol, endpoint=endpoint),
                opts=child,
            )

    def _alerts(self, name: str, args: ObservabilityArgs, child: pulumi.ResourceOptions) -> None:
        self.rules = aws.amp.RuleGroupNamespace(
            f"{name}-rules",
            aws.amp.RuleGroupNamespaceArgs(
                name=GROUP_NAME,
                workspace_id=self.workspace.id,
                data=yaml.safe_dump(render_rule_groups(args.thresholds), sort_keys=False),
            ),
            opts=child,
        )
        region = args.placement.region
        self.alertmanager = aws.amp.AlertManagerDefinition(
            f"{name}-alertmanager",
            aws.amp.AlertManagerDefinitionArgs(
                workspace_id=self.workspace.id,
                definition=self.topic.arn.apply(lambda arn: alertmanager_definition(arn, region)),
            ),
            opts=child,
        )

    def _collector_identity(
        self, name: str, args: ObservabilityArgs, base: str, child: pulumi.ResourceOptions
    ) -> None:
        collector = COLLECTORS["aws"]
        self.collector_role = aws.iam.Role(
            f"{name}-collector",
            aws.iam.RoleArgs(
                name=f"{base}-collector"[:64],
                description=f"IRSA role of {collector.namespace}/{COLLECTOR_NAME}: remote write only",
                assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer_url).apply(
                    lambda a: irsa_trust_policy(a[0], a[1], collector.namespace, COLLECTOR_NAME)
                ),
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-collector-write",
            aws.iam.RolePolicyArgs(
                role=self.collector_role.name, policy=self.workspace.arn.apply(remote_write_policy)
            ),
            opts=child,
        )

    def _dns_health_alert(
        self, name: str, args: ObservabilityArgs, base: str, child: pulumi.ResourceOptions
    ) -> aws.cloudwatch.MetricAlarm | None:
        """Alarm on the Route 53 health check this stack's record uses (metrics only in us-east-1)."""
        if args.route53_health_check_id is None or args.placement.region != ROUTE53_METRICS_REGION:
            return None
        return aws.cloudwatch.MetricAlarm(
            f"{name}-dns-health",
            aws.cloudwatch.MetricAlarmArgs(
                name=f"{base}-dns-health",
                alarm_description=f"Route 53 health check of {args.placement.stack} failing",
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions={"HealthCheckId": args.route53_health_check_id},
                statistic="Minimum",
                period=60,
                evaluation_periods=2,
                datapoints_to_alarm=2,
                threshold=1,
                comparison_operator="LessThanThreshold",
                # No data means the check or its metric is gone: that is an alarm too.
                treat_missing_data="breaching",
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
            ),
            opts=child,
        )

    def _collector(
        self, name: str, args: ObservabilityArgs, endpoint: pulumi.Output[str], role_arn: pulumi.Output[str]
    ) -> None:
        k8s_opts = pulumi.ResourceOptions(
            parent=self, provider=args.k8s_provider, depends_on=list(args.depends_on)
        )
        ns = COLLECTORS["aws"].namespace
        labels = dict(COLLECTORS["aws"].pod_labels)
        meta = lambda n, namespace=ns, **kw: k8s.meta.v1.ObjectMetaArgs(  # noqa: E731
            name=n, namespace=namespace, labels=labels, **kw
        )
        namespace = k8s.core.v1.Namespace(
            f"{name}-obs-ns",
            k8s.core.v1.NamespaceInitArgs(
                api_version="v1",
                kind="Namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=ns, labels={"pod-security.kubernetes.io/enforce": "restricted"}
                ),
            ),
            opts=k8s_opts,
        )
        in_ns = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[namespace]))
        account = k8s.core.v1.ServiceAccount(
            f"{name}-collector-sa",
            k8s.core.v1.ServiceAccountInitArgs(
                api_version="v1",
                kind="ServiceAccount",
                metadata=meta(COLLECTOR_NAME, annotations={"eks.amazonaws.com/role-arn": role_arn}),
            ),
            opts=in_ns,
        )
        # Service discovery reads pods of the inference namespace only (a Role, not a ClusterRole).
        role = k8s.rbac.v1.Role(
            f"{name}-collector-discovery",
            k8s.rbac.v1.RoleInitArgs(
                api_version="rbac.authorization.k8s.io/v1",
                kind="Role",
                metadata=meta(COLLECTOR_NAME, TARGET_NAMESPACE),
                rules=[
                    k8s.rbac.v1.PolicyRuleArgs(
                        api_groups=[""], resources=["pods"], verbs=["get", "list", "watch"]
                    )
                ],
            ),
            opts=k8s_opts,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-collector-discovery",
            k8s.rbac.v1.RoleBindingInitArgs(
                api_version="rbac.authorization.k8s.io/v1",
                kind="RoleBinding",
                metadata=meta(COLLECTOR_NAME, TARGET_NAMESPACE),
                role_ref=k8s.rbac.v1.RoleRefArgs(
                    api_group="rbac.authorization.k8s.io", kind="Role", name=COLLECTOR_NAME
                ),
                subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=COLLECTOR_NAME, namespace=ns)],
            ),
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[role, account])),
        )
        remote_write = endpoint.apply(lambda e: f"{e.rstrip('/')}/api/v1/remote_write")
        config = k8s.core.v1.ConfigMap(
            f"{name}-collector-config",
            k8s.core.v1.ConfigMapInitArgs(
                api_version="v1",
                kind="ConfigMap",
                metadata=meta(COLLECTOR_NAME),
                data={"prometheus.yml": remote_write.apply(lambda url: agent_config(args, url))},
            ),
            opts=in_ns,
        )
        self.collector = k8s.apps.v1.Deployment(
            f"{name}-collector",
            _agent_deployment(labels, ns, config),
            opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[account, config])),
        )
        self.network_policy = metrics_network_policy(name, args, k8s_opts)

    def _budget(self, name: str, args: ObservabilityArgs, base: str, amount: float) -> None:
        child = pulumi.ResourceOptions(parent=self, provider=args.placement.provider)
        notify = [
            aws.budgets.BudgetNotificationArgs(
                comparison_operator="GREATER_THAN",
                notification_type=kind,
                threshold=percent,
                threshold_type="PERCENTAGE",
                subscriber_sns_topic_arns=[self.topic.arn],
            )
            for kind, percent in (("ACTUAL", 80), ("FORECASTED", 100))
        ]
        self.budget = aws.budgets.Budget(
            f"{name}-budget",
            aws.budgets.BudgetArgs(
                name=f"{base}-monthly",
                budget_type="COST",
                limit_amount=f"{amount:.2f}",
                limit_unit="USD",
                time_unit="MONTHLY",
                notifications=notify,
            ),
            opts=child,
        )
        # One DIMENSIONAL/SERVICE monitor per account is allowed: a second stack in the same
        # account, or one made in the console, makes this create fail (see README).
        self.anomaly_monitor = aws.costexplorer.AnomalyMonitor(
            f"{name}-cost-anomalies",
            aws.costexplorer.AnomalyMonitorArgs(
                name=f"{base}-services", monitor_type="DIMENSIONAL", monitor_dimension="SERVICE"
            ),
            opts=child,
        )
        self.anomaly_subscription = aws.costexplorer.AnomalySubscription(
            f"{name}-cost-spike",
            aws.costexplorer.AnomalySubscriptionArgs(
                name=f"{base}-cost-spike",
                frequency="IMMEDIATE",
                monitor_arn_lists=[self.anomaly_monitor.arn],
                subscribers=[
                    aws.costexplorer.AnomalySubscriptionSubscriberArgs(type="SNS", address=self.topic.arn)
                ],
                threshold_expression=aws.costexplorer.AnomalySubscriptionThresholdExpressionArgs(
                    dimension=aws.costexplorer.AnomalySubscriptionThresholdExpressionDimensionArgs(
                        key="ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                        match_options=["GREATER_THAN_OR_EQUAL"],
                        values=[spike_threshold_usd(amount)],
                    )
                ),
            ),
            opts=child,
        )


def spike_threshold_usd(monthly_budget_usd: float) -> str:
    """An anomaly worth notifying: at least 5 % of the monthly budget (and at least 10 USD)."""
    return f"{max(10.0, monthly_budget_usd * 0.05):.0f}"


def _agent_deployment(
    labels: dict[str, str], namespace: str, config: k8s.core.v1.ConfigMap
) -> k8s.apps.v1.DeploymentInitArgs:
    return k8s.apps.v1.DeploymentInitArgs(
        api_version="apps/v1",
        kind="Deployment",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=COLLECTOR_NAME, namespace=namespace, labels=labels),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=1,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                spec=k8s.core.v1.PodSpecArgs(
                    service_account_name=COLLECTOR_NAME,
                    security_context=k8s.core.v1.PodSecurityContextArgs(
                        run_as_non_root=True,
                        run_as_user=65534,
                        fs_group=65534,
                        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                    ),
                    node_selector={"inference-failover/pool": "system"},
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name="prometheus-agent",
                            image=COLLECTOR_IMAGE,
                            args=[
                                "--agent",
                                "--config.file=/etc/prometheus/prometheus.yml",
                                "--storage.agent.path=/data",
                                "--web.listen-address=127.0.0.1:9090",
                            ],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "100m", "memory": "256Mi"},
                                limits={"cpu": "500m", "memory": "512Mi"},
                            ),
                            security_context=k8s.core.v1.SecurityContextArgs(
                                allow_privilege_escalation=False,
                                read_only_root_filesystem=True,
                                run_as_non_root=True,
                                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                            ),
                            volume_mounts=[
                                k8s.core.v1.VolumeMountArgs(name="config", mount_path="/etc/prometheus"),
                                k8s.core.v1.VolumeMountArgs(name="data", mount_path="/data"),
                            ],
                        )
                    ],
                    volumes=[
                        k8s.core.v1.VolumeArgs(
                            name="config",
                            config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=config.metadata.name),
                        ),
                        k8s.core.v1.VolumeArgs(
                            name="data", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="2Gi")
                        ),
                    ],
                ),
            ),
        ),
    )
