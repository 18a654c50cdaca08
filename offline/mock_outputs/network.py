"""Answers for the published address-range feeds the health-checker allowlist reads."""

from typing import Any

import pulumi

from offline.mocks import AZURE_SUBSCRIPTION, answers_call, outputs_for

# A subset of ip-ranges.json's ROUTE53_HEALTHCHECKS prefixes (us-east-1, us-west-1, eu-west-1,
# ap-southeast-2, sa-east-1), shaped like the feed: IPv4 and IPv6 mixed in the answer lists.
ROUTE53_HEALTHCHECK_PREFIXES = (
    "107.23.255.0/26",
    "54.243.31.192/26",
    "54.183.255.128/26",
    "54.241.32.64/26",
    "54.228.16.0/26",
    "176.34.159.192/26",
    "54.252.254.192/26",
    "54.252.79.128/26",
    "177.71.207.128/26",
    "54.232.40.64/26",
)
ROUTE53_HEALTHCHECK_IPV6 = ("2600:1f14:7ff:f800::/56",)
# range_type health-checkers: the two blocks Google documents for its health-check probers.
GOOGLE_HEALTH_CHECKERS = ("35.191.0.0/16", "130.211.0.0/22")


@answers_call("aws:index/getIpRanges:getIpRanges")
def _aws_ip_ranges(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    services = [s.lower() for s in args.args.get("services", [])]
    if services != ["route53_healthchecks"]:
        raise ValueError(f"mock ip-ranges feed only holds ROUTE53_HEALTHCHECKS (asked for {services})")
    return {
        "cidrBlocks": list(ROUTE53_HEALTHCHECK_PREFIXES),
        "ipv6CidrBlocks": list(ROUTE53_HEALTHCHECK_IPV6),
        "services": services,
        "createDate": "2026-11-30-19-43-12",
        "syncToken": 1764531792,
        "id": "1764531792",
    }


@answers_call("gcp:compute/getNetblockIPRanges:getNetblockIPRanges")
def _gcp_netblocks(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    range_type = args.args.get("rangeType", "cloud-netblocks")
    if range_type != "health-checkers":
        raise ValueError(f"mock netblock feed only holds health-checkers (asked for {range_type})")
    return {
        "rangeType": range_type,
        "cidrBlocks": list(GOOGLE_HEALTH_CHECKERS),
        "cidrBlocksIpv4s": list(GOOGLE_HEALTH_CHECKERS),
        "cidrBlocksIpv6s": [],
        "id": range_type,
    }


@outputs_for("azure-native:network:VirtualNetwork")
def _virtual_network(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> dict[str, Any]:
    group = args.inputs.get("resourceGroupName", "mock-rg")
    name = args.inputs.get("virtualNetworkName") or args.name
    vnet_id = (
        f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{group}/providers/"
        f"Microsoft.Network/virtualNetworks/{name}"
    )
    subnets = [
        {**subnet, "id": f"{vnet_id}/subnets/{subnet['name']}", "provisioningState": "Succeeded"}
        for subnet in args.inputs.get("subnets", [])
    ]
    return {"id": vnet_id, "name": name, "subnets": subnets, "provisioningState": "Succeeded"}
