"""Metrics, alert rules and budgets (components/observability) on every cloud pair, under mocks."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from components.common import Placement
from components.inference_cluster import KUBERNETES_VERSION
from components.observability import COLLECTORS, METRICS_PORT, RULES, AlertThresholds, ObservabilityArgs
from components.observability.args import ObservabilityArgsError
from offline.harness import ProgramRun, run_stack
from tests.components.inference_cluster_support import manifest
from tests.support import PAIR_IDS, PAIRS, TEST_SECRETS, pair, primary_overrides

CRD = (
    Path(__file__).resolve().parents[2]
    / "components/observability/crds/monitoring.googleapis.com_podmonitorings.yaml"
)
LABELS = ("stack", "cloud", "region", "model")
MANAGED_PROMETHEUS = {
    "aws": {"aws:amp/workspace:Workspace", "aws:amp/ruleGroupNamespace:RuleGroupNamespace"},
    "gcp": {
        "kubernetes:monitoring.googleapis.com/v1:PodMonitoring",
        "gcp:monitoring/alertPolicy:AlertPolicy",
    },
    "azure": {
        "azure-native:monitor:AzureMonitorWorkspace",
        "azure-native:monitor:DataCollectionEndpoint",
        "azure-native:monitor:DataCollectionRule",
        "azure-native:monitor:DataCollectionRuleAssociation",
        "azure-native:alertsmanagement:PrometheusRuleGroup",
    },
}
BUDGET = {
    "aws": "aws:budgets/budget:Budget",
    "gcp": "gcp:billing/budget:Budget",
    "azure": "azure-native:consumption:Budget",
}


def _runs() -> list[ProgramRun]:
    return [run for p, s in PAIRS for run in pair(p, s)]


def _expected_labels(run: ProgramRun) -> dict[str, str]:
    cfg = run.config
    return {"stack": cfg.role, "cloud": cfg.cloud, "region": cfg.region, "model": cfg.model_name}


def _k8s(run: ProgramRun, kind: str, name: str) -> dict[str, Any]:
    found = [
        manifest(r)
        for r in run.resources
        if r.type.startswith("kubernetes:")
        and r.inputs.get("kind") == kind
        and (r.inputs.get("metadata") or {}).get("name") == name
    ]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


@cache
def _custom(overrides_json: str) -> ProgramRun:
    overrides = json.loads(overrides_json)
    return run_stack("primary", overrides, TEST_SECRETS)


def custom(**overrides: Any) -> ProgramRun:
    return _custom(json.dumps(overrides, sort_keys=True))


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_every_stack_writes_to_its_clouds_managed_prometheus_with_rules_and_a_budget(
    primary: str, standby: str
) -> None:
    for run in pair(primary, standby):
        types = {r.type for r in run.resources}
        cloud = run.config.cloud
        assert MANAGED_PROMETHEUS[cloud] <= types, cloud
        assert BUDGET[cloud] in types
        # Nothing of another cloud's metrics service in this stack.
        for other in set(MANAGED_PROMETHEUS) - {cloud}:
            assert not (MANAGED_PROMETHEUS[other] & types)
        component = [r for r in run.resources if r.type.startswith("inference-failover:observability:")]
        assert len(component) == 1


def test_collector_objects_validate_against_the_kubernetes_schema() -> None:
    checked = set()
    for run in _runs():
        for r in run.resources:
            if not r.type.startswith("kubernetes:") or ":observability:" not in r.parent:
                continue
            if r.type.startswith("kubernetes:monitoring.googleapis.com/"):
                continue
            kubernetes_validate.validate(manifest(r), KUBERNETES_VERSION, strict=True)
            checked.add(r.inputs["kind"])
    assert {
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
    } <= checked


def _strict(schema: Any) -> Any:
    """The CRD schema with unknown fields refused (the API server would prune them silently)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def _pod_monitoring_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema: dict[str, Any] = _strict(version["schema"]["openAPIV3Schema"])
    # metadata is the API server's ObjectMeta (open in the CRD); check it is there at all.
    schema["properties"]["metadata"] = {"type": "object", "required": ["name", "namespace"]}
    return schema


def _gcp_pod_monitoring() -> dict[str, Any]:
    run = pair("aws", "gcp")[1]
    (cr,) = run.of_type("kubernetes:monitoring.googleapis.com/v1:PodMonitoring")
    return manifest(cr)


def test_pod_monitoring_validates_against_the_gmp_crd_schema() -> None:
    body = _gcp_pod_monitoring()
    jsonschema.validate(body, _pod_monitoring_schema())
    endpoint = body["spec"]["endpoints"][0]
    assert (endpoint["port"], endpoint["path"], endpoint["interval"]) == ("metrics", "/metrics", "30s")
    assert body["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "inference-server"}}


def test_gmp_crd_schema_rejects_a_misspelt_field_and_a_bad_action() -> None:
    body = _gcp_pod_monitoring()
    body["spec"]["endpoints"][0]["metricRelabelling"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, _pod_monitoring_schema())
    body = _gcp_pod_monitoring()
    body["spec"]["endpoints"][0]["metricRelabeling"][0]["action"] = "hashmodulo"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, _pod_monitoring_schema())


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_every_series_carries_stack_cloud_region_and_model(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        expected = _expected_labels(run)
        cloud = run.config.cloud
        jobs = _scrape_jobs(run)
        # The model server's metrics and the edge proxy's counts, both on the metrics port.
        assert sorted(path for path, _ in jobs) == ["/metrics", "/metrics/edge"]
        if cloud == "aws":
            config = yaml.safe_load(_k8s(run, "ConfigMap", "metrics-collector")["data"]["prometheus.yml"])
            assert config["global"]["external_labels"] == expected
        for _, relabel in jobs:
            set_labels = {r["target_label"]: r["replacement"] for r in relabel if "replacement" in r}
            assert {k: set_labels[k] for k in LABELS} == expected


def _scrape_jobs(run: ProgramRun) -> list[tuple[str, list[dict[str, Any]]]]:
    """(path, relabelling) of every scrape of the inference pods' metrics port."""
    if run.config.cloud == "gcp":
        endpoints = _gcp_pod_monitoring_of(run)["spec"]["endpoints"]
        assert {e["port"] for e in endpoints} == {"metrics"}
        return [
            (
                e["path"],
                [
                    {"target_label": r["targetLabel"], "replacement": r["replacement"]}
                    for r in e["metricRelabeling"]
                ],
            )
            for e in endpoints
        ]
    if run.config.cloud == "aws":
        config = yaml.safe_load(_k8s(run, "ConfigMap", "metrics-collector")["data"]["prometheus.yml"])
    else:
        config = yaml.safe_load(
            _k8s(run, "ConfigMap", "ama-metrics-prometheus-config")["data"]["prometheus-config"]
        )
    jobs = config["scrape_configs"]
    for job in jobs:  # only the container port named `metrics` is kept
        assert {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": "metrics",
                "action": "keep"} in job["relabel_configs"]  # fmt: skip
    return [(job["metrics_path"], job["relabel_configs"]) for job in jobs]


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_the_edge_container_exposes_the_metrics_port_the_collector_scrapes(
    primary: str, standby: str
) -> None:
    for run in pair(primary, standby):
        (deployment,) = [
            manifest(r)
            for r in run.resources
            if r.inputs.get("kind") == "Deployment"
            and (r.inputs.get("metadata") or {}).get("name") == "inference-server"
        ]
        containers = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
        ports = {p["name"]: p["containerPort"] for p in containers["edge"]["ports"]}
        assert ports == {"https": 8443, "metrics": METRICS_PORT}
        assert all("ports" not in c for name, c in containers.items() if name != "edge")
        mounts = {m["name"]: m["mountPath"] for m in containers["edge"]["volumeMounts"]}
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert mounts["edge-counters"] == "/run/edge-metrics"
        assert volumes["edge-counters"]["emptyDir"]["medium"] == "Memory"


def _gcp_pod_monitoring_of(run: ProgramRun) -> dict[str, Any]:
    (cr,) = run.of_type("kubernetes:monitoring.googleapis.com/v1:PodMonitoring")
    return manifest(cr)


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_metrics_port_admits_only_the_collector_and_no_service_publishes_it(
    primary: str, standby: str
) -> None:
    for run in pair(primary, standby):
        policy = _k8s(run, "NetworkPolicy", "metrics-from-collector")
        collector = COLLECTORS[run.config.cloud]
        spec = policy["spec"]
        assert policy["metadata"]["namespace"] == "inference"
        assert spec["policyTypes"] == ["Ingress"]
        (rule,) = spec["ingress"]
        assert rule["ports"] == [{"port": METRICS_PORT, "protocol": "TCP"}]
        assert rule["from"] == [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": collector.namespace}},
                "podSelector": {"matchLabels": dict(collector.pod_labels)},
            }
        ]
        for service in (manifest(r) for r in run.resources if r.inputs.get("kind") == "Service"):
            for port in service["spec"].get("ports", []):
                assert METRICS_PORT not in (port.get("port"), port.get("targetPort")), service["metadata"]
                assert port.get("targetPort") != "metrics"


def _policy(run: ProgramRun, type_name: str) -> dict[str, Any]:
    (resource,) = run.of_type(type_name)
    return json.loads(resource.inputs["policy"])


def test_aws_collector_may_only_remote_write_to_its_own_workspace() -> None:
    run = pair("aws", "gcp")[0]
    (workspace,) = run.of_type("aws:amp/workspace:Workspace")
    write = [r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-collector-write")]
    assert len(write) == 1
    statements = json.loads(write[0].inputs["policy"])["Statement"]
    assert statements == [
        {"Effect": "Allow", "Action": "aps:RemoteWrite", "Resource": workspace.outputs["arn"]}
    ]
    (role,) = [r for r in run.of_type("aws:iam/role:Role") if r.name.endswith("-collector")]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    (condition,) = [s["Condition"]["StringEquals"] for s in trust]
    subjects = [v for k, v in condition.items() if k.endswith(":sub")]
    assert subjects == ["system:serviceaccount:observability:metrics-collector"]
    sa = _k8s(run, "ServiceAccount", "metrics-collector")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role.outputs["arn"]
    config = yaml.safe_load(_k8s(run, "ConfigMap", "metrics-collector")["data"]["prometheus.yml"])
    assert config["remote_write"] == [
        {
            "url": workspace.outputs["prometheusEndpoint"] + "api/v1/remote_write",
            "sigv4": {"region": "us-east-1"},
        }
    ]
    # The workspace and its alert topic are encrypted with the stack's own key.
    assert workspace.inputs["kmsKeyArn"].startswith("arn:aws:kms:")
    (topic,) = run.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == workspace.inputs["kmsKeyArn"]


def test_aws_collector_discovers_pods_of_the_inference_namespace_only() -> None:
    run = pair("aws", "gcp")[0]
    role = _k8s(run, "Role", "metrics-collector")
    assert role["metadata"]["namespace"] == "inference"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    assert not [
        r
        for r in run.resources
        if r.inputs.get("kind") in ("ClusterRole", "ClusterRoleBinding") and "collector" in r.name
    ]
    deployment = _k8s(run, "Deployment", "metrics-collector")
    (agent,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "--agent" in agent["args"]
    assert agent["securityContext"]["readOnlyRootFilesystem"] is True


def test_aws_topic_admits_only_this_workspace_and_this_accounts_budgets() -> None:
    run = pair("aws", "gcp")[0]
    (workspace,) = run.of_type("aws:amp/workspace:Workspace")
    statements = _policy(run, "aws:sns/topicPolicy:TopicPolicy")["Statement"]
    aps = [s for s in statements if s["Principal"]["Service"] == "aps.amazonaws.com"]
    assert aps[0]["Condition"]["ArnEquals"]["aws:SourceArn"] == workspace.outputs["arn"]
    assert all(s["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012" for s in statements)
    (am,) = run.of_type("aws:amp/alertManagerDefinition:AlertManagerDefinition")
    (topic,) = run.of_type("aws:sns/topic:Topic")
    receivers = yaml.safe_load(am.inputs["definition"])["alertmanager_config"]["receivers"]
    assert receivers[0]["sns_configs"][0]["topic_arn"] == topic.outputs["arn"]


def _rule_expressions(run: ProgramRun) -> list[str]:
    cloud = run.config.cloud
    if cloud == "aws":
        (ns,) = run.of_type("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
        return [r["expr"] for r in yaml.safe_load(ns.inputs["data"])["groups"][0]["rules"]]
    if cloud == "gcp":
        conditions = {
            c["alertRule"]: c["query"]
            for c in (
                p.inputs["conditions"][0]["conditionPrometheusQueryLanguage"]
                for p in run.of_type("gcp:monitoring/alertPolicy:AlertPolicy")
                if "conditionPrometheusQueryLanguage" in p.inputs["conditions"][0]
            )
        }
        return [conditions[rule.name] for rule in RULES]
    (group,) = run.of_type("azure-native:alertsmanagement:PrometheusRuleGroup")
    return [r["expression"] for r in group.inputs["rules"]]


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_alert_rules_take_the_thresholds_from_config(cloud: str) -> None:
    run = custom(
        **primary_overrides(cloud),
        alertErrorRatePercent=2.5,
        alertP95LatencyMs=12000,
        alertP95TtftMs=1500,
        alertKvCacheUsagePercent=85,
    )
    expressions = _rule_expressions(run)
    assert [e.rsplit(" > ", 1)[1] for e in expressions] == ["2.5", "2.5", "12000", "1500", "85"]
    assert 'http_requests_total{status="5xx"}' in expressions[0]
    assert 'edge_requests_total{route!="/health",code=~"5.."}' in expressions[1]
    assert "vllm:e2e_request_latency_seconds_bucket" in expressions[2]
    assert "vllm:time_to_first_token_seconds_bucket" in expressions[3]
    assert "vllm:kv_cache_usage_perc" in expressions[4]


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_every_notification_target_gets_alerts_and_budget_notices(cloud: str) -> None:
    run = custom(
        **primary_overrides(cloud), alertNotify=["ops@example.com", "https://hooks.example.com/alert"]
    )
    if cloud == "aws":
        subs = sorted(
            (r.inputs["protocol"], r.inputs["endpoint"])
            for r in run.of_type("aws:sns/topicSubscription:TopicSubscription")
        )
        assert subs == [("email", "ops@example.com"), ("https", "https://hooks.example.com/alert")]
        (budget,) = run.of_type(BUDGET["aws"])
        (topic,) = run.of_type("aws:sns/topic:Topic")
        assert [n["subscriberSnsTopicArns"] for n in budget.inputs["notifications"]] == [
            [topic.outputs["arn"]]
        ] * 2
    elif cloud == "gcp":
        channels = run.of_type("gcp:monitoring/notificationChannel:NotificationChannel")
        assert sorted((c.inputs["type"], json.dumps(c.inputs["labels"])) for c in channels) == [
            ("email", '{"email_address": "ops@example.com"}'),
            ("webhook_tokenauth", '{"url": "https://hooks.example.com/alert"}'),
        ]
        ids = sorted(c.outputs["id"] for c in channels)
        assert all(
            sorted(p.inputs["notificationChannels"]) == ids
            for p in run.of_type("gcp:monitoring/alertPolicy:AlertPolicy")
        )
        (budget,) = run.of_type(BUDGET["gcp"])
        assert sorted(budget.inputs["allUpdatesRule"]["monitoringNotificationChannels"]) == ids
    else:
        (group,) = run.of_type("azure-native:monitor:ActionGroup")
        assert [r["emailAddress"] for r in group.inputs["emailReceivers"]] == ["ops@example.com"]
        assert [r["serviceUri"] for r in group.inputs["webhookReceivers"]] == [
            "https://hooks.example.com/alert"
        ]
        (rules,) = run.of_type("azure-native:alertsmanagement:PrometheusRuleGroup")
        assert {a["actionGroupId"] for r in rules.inputs["rules"] for a in r["actions"]} == {
            group.outputs["id"]
        }
        (budget,) = run.of_type(BUDGET["azure"])
        assert {k: v["contactGroups"] for k, v in budget.inputs["notifications"].items()} == {
            "Actual80": [group.outputs["id"]],
            "Forecasted100": [group.outputs["id"]],
        }


def test_budgets_use_the_configured_monthly_amount_on_every_cloud() -> None:
    aws_run, gcp_run = pair("aws", "gcp")
    (aws_budget,) = aws_run.of_type(BUDGET["aws"])
    assert (aws_budget.inputs["limitAmount"], aws_budget.inputs["timeUnit"]) == ("12000.00", "MONTHLY")
    assert [(n["notificationType"], n["threshold"]) for n in aws_budget.inputs["notifications"]] == [
        ("ACTUAL", 80),
        ("FORECASTED", 100),
    ]
    (spike,) = aws_run.of_type("aws:costexplorer/anomalySubscription:AnomalySubscription")
    assert spike.inputs["thresholdExpression"]["dimension"]["values"] == ["600"]  # 5 % of 12000
    (gcp_budget,) = gcp_run.of_type(BUDGET["gcp"])
    assert gcp_budget.inputs["billingAccount"] == "012345-6789AB-CDEF01"
    assert gcp_budget.inputs["amount"]["specifiedAmount"] == {"currencyCode": "USD", "units": "3000"}
    assert gcp_budget.inputs["budgetFilter"]["projects"] == ["projects/987654321098"]
    (billing,) = [p for p in gcp_run.of_type("pulumi:providers:gcp") if gcp_budget.provider.startswith(p.urn)]
    assert billing.inputs["userProjectOverride"] in (True, "true")
    assert billing.inputs["billingProject"] == "acme-inference-standby"
    azure_run = pair("aws", "azure")[1]
    (azure_budget,) = azure_run.of_type(BUDGET["azure"])
    assert azure_budget.inputs["amount"] == 3000
    assert (
        azure_budget.inputs["scope"].endswith(f"/resourceGroups/{azure_run.config.stack}-rg")
        or "/resourceGroups/" in azure_budget.inputs["scope"]
    )
    assert azure_budget.inputs["timePeriod"]["startDate"].endswith("-01T00:00:00Z")
    assert "timePeriod" in azure_budget.ignore_changes


def test_no_budget_when_budget_monthly_usd_is_unset() -> None:
    run = custom(budgetMonthlyUsd=None)
    assert not run.of_type(BUDGET["aws"])
    assert not run.of_type("aws:costexplorer/anomalyMonitor:AnomalyMonitor")
    assert run.of_type("aws:amp/workspace:Workspace")


def test_gke_and_aks_turn_on_their_managed_prometheus_collection() -> None:
    gke = pair("aws", "gcp")[1].one("gcp:container/cluster:Cluster")
    assert gke.inputs["monitoringConfig"]["managedPrometheus"] == {"enabled": True}
    aks = pair("aws", "azure")[1].one("azure-native:containerservice:ManagedCluster")
    assert aks.inputs["azureMonitorProfile"]["metrics"]["enabled"] is True


def _args(**changes: Any) -> ObservabilityArgs:
    placement = Placement(cloud="aws", region="us-east-1", provider=MagicMock(), stack="primary")
    base: dict[str, Any] = {
        "placement": placement,
        "k8s_provider": MagicMock(),
        "cluster_name": "c",
        "oidc_issuer_url": "https://oidc",
        "oidc_provider_arn": "arn",
        "role": "primary",
        "model_name": "m",
    }
    return ObservabilityArgs(**{**base, **changes})


def test_args_refuse_bad_targets_and_budget_naming_each_field() -> None:
    with pytest.raises(ObservabilityArgsError) as caught:
        _args(
            emails=("not-an-email",),
            webhooks=("http://hooks.example.com",),
            budget_monthly_usd=0.0,
            oidc_provider_arn=None,
        )
    assert [str(p) for p in caught.value.problems] == [
        "emails entry must be an email address (got 'not-an-email')",
        "webhooks entry must be an https:// URL (got 'http://hooks.example.com'): plain http is refused",
        "budget_monthly_usd must be greater than 0 (got 0.0): pass None for no budget",
        "oidc_provider_arn is required on aws (got None): pass the cluster's OIDC provider",
    ]
    assert _args().series_labels == {"stack": "primary", "cloud": "aws", "region": "us-east-1", "model": "m"}
    assert _args().thresholds == AlertThresholds()


def test_route53_authority_alarms_on_the_check_the_stacks_record_uses() -> None:
    run = pair("aws", "gcp")[0]
    (alarm,) = run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    (record,) = [r for r in run.of_type("aws:route53/record:Record") if r.inputs.get("healthCheckId")]
    assert alarm.inputs["dimensions"] == {"HealthCheckId": record.inputs["healthCheckId"]}
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/Route53", "HealthCheckStatus")
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("LessThanThreshold", 1)
    assert alarm.inputs["treatMissingData"] == "breaching"
    (topic,) = run.of_type("aws:sns/topic:Topic")
    assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]]
    (obs_key,) = [k for k in run.of_type("aws:kms/key:Key") if k.name.endswith("-obs-key")]
    services = json.loads(obs_key.inputs["policy"])["Statement"][1]["Principal"]["Service"]
    assert "cloudwatch.amazonaws.com" in services


def test_no_route53_alarm_when_another_cloud_is_the_dns_authority() -> None:
    run = custom(dnsProvider="azure", dnsResourceGroup="dns-rg")
    assert not run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")


def test_traffic_manager_authority_alerts_on_this_stacks_endpoint_state() -> None:
    run = custom(**primary_overrides("azure"), dnsProvider="azure", dnsResourceGroup="dns-rg")
    (alert,) = run.of_type("azure-native:monitor:MetricAlert")
    (endpoint,) = run.of_type("azure-native:trafficmanager:Endpoint")
    (profile,) = run.of_type("azure-native:trafficmanager:Profile")
    assert alert.inputs["scopes"] == [profile.outputs["id"]]
    (criterion,) = alert.inputs["criteria"]["allOf"]
    assert criterion["metricName"] == "ProbeAgentCurrentEndpointStateByProfileResourceId"
    assert (criterion["operator"], criterion["threshold"]) == ("LessThan", 1)
    assert criterion["dimensions"] == [
        {"name": "EndpointName", "operator": "Include", "values": [endpoint.inputs["endpointName"]]}
    ]
    (group,) = run.of_type("azure-native:monitor:ActionGroup")
    assert alert.inputs["actions"] == [{"actionGroupId": group.outputs["id"]}]


def test_no_endpoint_alert_on_azure_with_another_dns_authority() -> None:
    run = pair("aws", "azure")[1]
    assert not run.of_type("azure-native:monitor:MetricAlert")


def _dns_uptime(run: ProgramRun) -> tuple[Any, Any]:
    (check,) = run.of_type("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")
    (policy,) = [
        p for p in run.of_type("gcp:monitoring/alertPolicy:AlertPolicy") if p.name.endswith("-dns-health")
    ]
    return check, policy


@pytest.mark.parametrize(("primary", "standby", "index"), [("aws", "gcp", 1), ("gcp", "azure", 0)])
def test_cloud_dns_authority_alerts_on_an_uptime_check_of_this_stacks_address(
    primary: str, standby: str, index: int
) -> None:
    """Cloud Monitoring has no metric for a Cloud DNS routing-policy health check: the gcp stack
    probes the same address, port and path with an uptime check and alerts when it fails."""
    from tests.support import combination

    run = combination(primary, standby, "gcp")[index]
    assert run.config.cloud == "gcp" and run.config.dns.provider == "gcp"
    check, policy = _dns_uptime(run)
    (address,) = run.of_type("gcp:compute/address:Address")
    assert check.inputs["monitoredResource"] == {
        "type": "uptime_url",
        "labels": {"project_id": run.config.gcp_project, "host": address.outputs["address"]},
    }
    http = check.inputs["httpCheck"]
    assert (http["path"], http["port"], http["useSsl"]) == (
        run.config.dns.health_check_path,
        run.config.dns.health_check_port,
        True,
    )
    assert check.inputs["period"] == "60s" and check.inputs["checkerType"] == "STATIC_IP_CHECKERS"
    (condition,) = policy.inputs["conditions"]
    threshold = condition["conditionThreshold"]
    assert f'metric.label.check_id="{check.outputs["uptimeCheckId"]}"' in threshold["filter"]
    assert 'metric.type="monitoring.googleapis.com/uptime_check/check_passed"' in threshold["filter"]
    assert (threshold["comparison"], threshold["thresholdValue"]) == ("COMPARISON_GT", 1)
    assert threshold["aggregations"][0]["crossSeriesReducer"] == "REDUCE_COUNT_FALSE"
    # The same channels as the serving alerts.
    (serving,) = [
        p
        for p in run.of_type("gcp:monitoring/alertPolicy:AlertPolicy")
        if p.name.endswith("InferenceErrorRateHigh")
    ]
    assert policy.inputs["notificationChannels"] == serving.inputs["notificationChannels"] != []


def test_no_uptime_check_without_cloud_dns_authority_or_on_other_clouds() -> None:
    from tests.support import combination

    assert not pair("aws", "gcp")[1].of_type("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")
    for run in combination("aws", "azure", "gcp"):  # no gcp stack: nothing to create it in
        assert not run.of_type("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")
