"""Mock state and invoke answers for the DNS component, shaped like the clouds return them."""

from __future__ import annotations

import uuid
from typing import Any

import pulumi

from offline.mocks import AZURE_SUBSCRIPTION, answers_call, outputs_for, stable_hex

# Canonical hosted zone ids of Elastic Load Balancing per region (AWS general reference, "Elastic
# Load Balancing endpoints"): (ALB and Classic, NLB).
ELB_HOSTED_ZONES: dict[str, tuple[str, str]] = {
    "us-east-1": ("Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"),
    "us-east-2": ("Z3AADJGX6KTTL2", "ZLMOA37VPKANP"),
    "us-west-2": ("Z1H1FL5HABSF5", "Z18D5FSROUN65G"),
    "eu-west-1": ("Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"),
    "eu-central-1": ("Z215JYRZR1TBD5", "Z3F0SRJ5LGBH90"),
}


def hosted_zone_id(zone_name: str) -> str:
    """A Route 53 hosted zone id (Z + 13-20 upper-case alphanumerics), stable per zone name."""
    return "Z" + stable_hex("route53", zone_name.rstrip(".").lower(), length=16).upper()


@answers_call("aws:route53/getZone:getZone")
def _route53_zone(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    name = str(args.args.get("name") or "example.com").rstrip(".").lower()
    zone_id = str(args.args.get("zoneId") or hosted_zone_id(name))
    return {
        "id": zone_id,
        "zoneId": zone_id,
        "name": name,
        "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
        "callerReference": stable_hex("caller", name),
        "comment": "",
        "privateZone": False,
        "nameServers": [
            f"ns-{n}.awsdns-{n:02d}.{tld}" for n, tld in ((101, "com"), (602, "net"), (1303, "org"))
        ],
        "primaryNameServer": "ns-101.awsdns-101.com",
        "resourceRecordSetCount": 4,
        "tags": {},
    }


def _elb_zone(args: pulumi.runtime.MockCallArgs, network: bool) -> dict[str, Any]:
    region = str(args.args.get("region") or "us-east-1")
    known = ELB_HOSTED_ZONES.get(region)
    zone_id = known[1 if network else 0] if known else "Z" + stable_hex("elb", region, str(network)).upper()
    return {"id": zone_id, "region": region}


@answers_call("aws:lb/getHostedZoneId:getHostedZoneId")
def _lb_zone(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    network = args.args.get("loadBalancerType", "application") == "network"
    return {**_elb_zone(args, network), "loadBalancerType": "network" if network else "application"}


@answers_call("aws:elb/getHostedZoneId:getHostedZoneId")
def _elb_classic_zone(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return _elb_zone(args, network=False)


@outputs_for("aws:route53/healthCheck:HealthCheck")
def _route53_health_check(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> dict[str, Any]:
    check_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"route53-health-check/{args.name}"))
    return {"id": check_id, "arn": f"arn:aws:route53:::healthcheck/{check_id}"}


@outputs_for("aws:route53/record:Record")
def _route53_record(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> dict[str, Any]:
    # The provider's id: <zone id>_<name>_<type>[_<set identifier>].
    parts = [args.inputs.get("zoneId", ""), args.inputs.get("name", ""), args.inputs.get("type", "")]
    if args.inputs.get("setIdentifier"):
        parts.append(args.inputs["setIdentifier"])
    return {"id": "_".join(str(p) for p in parts), "fqdn": args.inputs.get("name", "")}


@outputs_for("gcp:compute/healthCheck:HealthCheck")
def _gcp_health_check(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> dict[str, Any]:
    project = args.inputs.get("project", "mock-project")
    name = args.inputs.get("name", args.name)
    check_id = f"projects/{project}/global/healthChecks/{name}"
    kind = "HTTPS" if args.inputs.get("httpsHealthCheck") else "HTTP"
    return {
        "id": check_id,
        "selfLink": f"https://www.googleapis.com/compute/v1/{check_id}",
        "type": kind,
        "creationTimestamp": "2026-01-01T00:00:00.000-08:00",
    }


@outputs_for("gcp:dns/recordSet:RecordSet")
def _gcp_record_set(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> dict[str, Any]:
    project = args.inputs.get("project", "mock-project")
    zone = args.inputs.get("managedZone", "")
    record_id = (
        f"projects/{project}/managedZones/{zone}/rrsets/{args.inputs.get('name')}/{args.inputs.get('type')}"
    )
    return {"id": record_id}


def _azure_group_path(group: str) -> str:
    return f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Network"


@outputs_for("azure-native:trafficmanager:Profile")
def _traffic_manager_profile(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs.get("profileName", args.name)
    dns_config = dict(args.inputs.get("dnsConfig") or {})
    dns_config["fqdn"] = f"{dns_config.get('relativeName', name)}.trafficmanager.net"
    group = args.inputs.get("resourceGroupName", "mock-rg")
    return {
        "id": f"{_azure_group_path(group)}/trafficManagerProfiles/{name}",
        "name": name,
        "type": "Microsoft.Network/trafficManagerProfiles",
        "dnsConfig": dns_config,
        "location": "global",
    }


@outputs_for("azure-native:trafficmanager:Endpoint")
def _traffic_manager_endpoint(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> dict[str, Any]:
    group = args.inputs.get("resourceGroupName", "mock-rg")
    profile = args.inputs.get("profileName", "")
    kind = args.inputs.get("endpointType", "ExternalEndpoints")
    name = args.inputs.get("endpointName", args.name)
    return {
        "id": f"{_azure_group_path(group)}/trafficManagerProfiles/{profile}/{kind}/{name}",
        "name": name,
        "type": f"Microsoft.Network/trafficManagerProfiles/{kind}",
        "endpointMonitorStatus": "CheckingEndpoint",
    }


@outputs_for("azure-native:dns:RecordSet")
def _azure_record_set(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> dict[str, Any]:
    group = args.inputs.get("resourceGroupName", "mock-rg")
    zone = args.inputs.get("zoneName", "")
    kind = args.inputs.get("recordType", "A")
    name = args.inputs.get("relativeRecordSetName", args.name)
    return {
        "id": f"{_azure_group_path(group)}/dnszones/{zone}/{kind}/{name}",
        "name": name,
        "type": f"Microsoft.Network/dnszones/{kind}",
        "fqdn": f"{name}.{zone}.",
        "etag": stable_hex("etag", zone, name, length=32),
        "provisioningState": "Succeeded",
    }
