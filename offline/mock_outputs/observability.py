"""Mock outputs shaped like the real APIs for the observability component's resource types.

AMP workspace ids are `ws-` + a UUID and its ARN uses the service prefix `aps`; the remote-write
base is the workspace's `prometheusEndpoint` (ending in '/'). SNS email/https subscriptions stay
pending until confirmed. Cloud Monitoring names carry numeric ids; billing budgets live under the
billing account. Azure Monitor workspaces report their default DCE/DCR and query endpoint; DCRs
an `immutableId` (dcr- + 32 hex).
"""

from __future__ import annotations

from typing import Any

import pulumi

from offline.mocks import ACCOUNT_ID, AZURE_SUBSCRIPTION, outputs_for, stable_hex

Args = pulumi.runtime.MockResourceArgs


def _uuid(*parts: str) -> str:
    h = stable_hex(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _region(args: Args) -> str:
    return str(args.inputs.get("region") or "us-east-1")


@outputs_for("aws:amp/workspace:Workspace")
def _amp_workspace(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    ws = f"ws-{_uuid(args.name)}"
    region = _region(args)
    return {
        "id": ws,
        "arn": f"arn:aws:aps:{region}:{ACCOUNT_ID}:workspace/{ws}",
        "prometheusEndpoint": f"https://aps-workspaces.{region}.amazonaws.com/workspaces/{ws}/",
    }


@outputs_for("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
def _amp_rules(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    ws, name = args.inputs["workspaceId"], args.inputs["name"]
    return {
        "arn": f"arn:aws:aps:{_region(args)}:{ACCOUNT_ID}:rulegroupsnamespace/{ws}/{name}",
        "id": f"{ws}/{name}",
    }


@outputs_for("aws:amp/alertManagerDefinition:AlertManagerDefinition")
def _amp_alertmanager(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    return {"id": args.inputs["workspaceId"]}


@outputs_for("aws:sns/topic:Topic")
def _sns_topic(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    arn = f"arn:aws:sns:{_region(args)}:{ACCOUNT_ID}:{args.inputs.get('name') or args.name}"
    return {"id": arn, "arn": arn, "owner": ACCOUNT_ID}


@outputs_for("aws:sns/topicSubscription:TopicSubscription")
def _sns_subscription(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    arn = f"{args.inputs['topic']}:{_uuid(args.name)}"
    return {"id": arn, "arn": arn, "pendingConfirmation": True, "confirmationWasAuthenticated": False}


@outputs_for("aws:budgets/budget:Budget")
def _budget(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs["name"]
    return {
        "id": f"{ACCOUNT_ID}:{name}",
        "arn": f"arn:aws:budgets::{ACCOUNT_ID}:budget/{name}",
        "accountId": ACCOUNT_ID,
    }


@outputs_for(
    "aws:costexplorer/anomalyMonitor:AnomalyMonitor",
    "aws:costexplorer/anomalySubscription:AnomalySubscription",
)
def _cost_explorer(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    kind = "anomalymonitor" if args.typ.endswith("AnomalyMonitor") else "anomalysubscription"
    arn = f"arn:aws:ce::{ACCOUNT_ID}:{kind}/{_uuid(args.name)}"
    return {"id": arn, "arn": arn}


@outputs_for(
    "gcp:monitoring/notificationChannel:NotificationChannel", "gcp:monitoring/alertPolicy:AlertPolicy"
)
def _monitoring(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    kind = "notificationChannels" if args.typ.endswith("NotificationChannel") else "alertPolicies"
    number = int(stable_hex(args.name, length=12), 16)
    name = f"projects/{args.inputs.get('project', 'mock-project')}/{kind}/{number}"
    return {"id": name, "name": name}


@outputs_for("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")
def _uptime_check(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    # The API derives the id from the display name plus a random suffix.
    slug = "".join(c if c.isalnum() else "-" for c in str(args.inputs["displayName"]).lower())[:40]
    check_id = f"{slug.strip('-')}-{stable_hex(args.name, length=6)}"
    name = f"projects/{args.inputs.get('project', 'mock-project')}/uptimeCheckConfigs/{check_id}"
    return {"id": name, "name": name, "uptimeCheckId": check_id}


@outputs_for("gcp:billing/budget:Budget")
def _billing_budget(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = f"billingAccounts/{args.inputs['billingAccount']}/budgets/{_uuid(args.name)}"
    return {"id": name, "name": name}


def _azure_id(args: Args, provider: str, kind: str) -> str:
    group = args.inputs.get("resourceGroupName", "mock-rg")
    name = args.inputs.get(f"{kind[:-1]}Name") or args.name
    return f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{group}/providers/{provider}/{kind}/{name}"


@outputs_for("azure-native:monitor:AzureMonitorWorkspace")
def _monitor_workspace(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    ws = _azure_id(args, "Microsoft.Monitor", "accounts")
    name = ws.rsplit("/", 1)[1]
    location = args.inputs.get("location", "eastus")
    managed_group = f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/MA_{name}_{location}_managed"
    managed = f"{managed_group}/providers/Microsoft.Insights"
    query_host = f"{name}-{stable_hex(ws, length=4)}.{location}.prometheus.monitor.azure.com"
    return {
        "id": ws,
        "name": name,
        "accountId": _uuid(ws),
        "defaultIngestionSettings": {
            "dataCollectionEndpointResourceId": f"{managed}/dataCollectionEndpoints/{name}",
            "dataCollectionRuleResourceId": f"{managed}/dataCollectionRules/{name}",
        },
        "metrics": {
            "internalId": f"mac_{_uuid(ws, 'internal')}",
            "prometheusQueryEndpoint": f"https://{query_host}",
        },
        "provisioningState": "Succeeded",
    }


@outputs_for("azure-native:monitor:DataCollectionEndpoint")
def _dce(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    dce = _azure_id(args, "Microsoft.Insights", "dataCollectionEndpoints")
    name = dce.rsplit("/", 1)[1]
    location = args.inputs.get("location", "eastus")
    host = f"{name}-{stable_hex(dce, length=4)}.{location}-1"
    return {
        "id": dce,
        "name": name,
        "immutableId": f"dce-{stable_hex(dce, length=32)}",
        "metricsIngestion": {"endpoint": f"https://{host}.metrics.ingest.monitor.azure.com"},
        "logsIngestion": {"endpoint": f"https://{host}.ingest.monitor.azure.com"},
    }


@outputs_for("azure-native:monitor:DataCollectionRule")
def _dcr(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    dcr = _azure_id(args, "Microsoft.Insights", "dataCollectionRules")
    return {"id": dcr, "name": dcr.rsplit("/", 1)[1], "immutableId": f"dcr-{stable_hex(dcr, length=32)}"}


@outputs_for("azure-native:monitor:DataCollectionRuleAssociation")
def _dcra(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs.get("associationName") or args.name
    scope = args.inputs["resourceUri"]
    return {"id": f"{scope}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{name}", "name": name}


@outputs_for("azure-native:monitor:ActionGroup")
def _action_group(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    group = _azure_id(args, "Microsoft.Insights", "actionGroups")
    return {"id": group, "name": group.rsplit("/", 1)[1]}


@outputs_for("azure-native:alertsmanagement:PrometheusRuleGroup")
def _rule_group(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    rg = _azure_id(args, "Microsoft.AlertsManagement", "prometheusRuleGroups")
    return {"id": rg, "name": rg.rsplit("/", 1)[1]}


@outputs_for("azure-native:consumption:Budget")
def _consumption_budget(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs.get("budgetName") or args.name
    budget = f"{args.inputs['scope']}/providers/Microsoft.Consumption/budgets/{name}"
    return {"id": budget, "name": name, "currentSpend": {"amount": 0, "unit": "USD"}}
