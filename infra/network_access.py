"""Network-access config: who may reach the Kubernetes API, the service and the Azure data planes.

Parsed by `infra.config.parse_config` in the same single validation pass as every other key, so
an invalid CIDR is reported (with the key, the value and the fix) before anything is created.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

API_ALLOWED_CIDRS: Final = "kubernetesApiAllowedCidrs"
CLIENT_CIDRS: Final = "allowedClientCidrs"
DEPLOYER_CIDRS: Final = "deployerCidrs"
KEYS: Final = frozenset({API_ALLOWED_CIDRS, CLIENT_CIDRS, DEPLOYER_CIDRS})

Problem = Callable[[str, object, str, str], None]
"""(key, got, expected, fix): records one config problem."""


@dataclass(frozen=True)
class NetworkAccess:
    """Source ranges per entry point; an empty tuple means "any address" where noted."""

    api_allowed_cidrs: tuple[str, ...] = ()
    """Kubernetes API endpoint (EKS public access CIDRs, GKE master authorized networks, AKS
    authorized IP ranges). Empty: open to any address, every request still needing cloud IAM."""
    client_cidrs: tuple[str, ...] = ()
    """Load balancer source ranges of the service. Empty: any address. When set, the DNS
    authority's health-checker ranges are added by the program so /health stays reachable."""
    deployer_cidrs: tuple[str, ...] = ()
    """Azure only: addresses admitted through the Key Vault and storage-account firewalls, which
    deny every other public address (the AKS nodes come in through their subnet's service
    endpoints). Empty: only the cluster reaches their data planes."""


def _cidr_list(raw: Mapping[str, str], key: str, stack: str, problem: Problem) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None or value.strip() in ("", "[]"):
        return ()
    example = f"write it as a YAML list of CIDRs in Pulumi.{stack}.yaml, e.g. {key}: [203.0.113.0/24]"
    try:
        items = json.loads(value)
    except json.JSONDecodeError:
        items = value  # a bare string: reported below as not a list
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        problem(key, value, "a list of CIDRs", example)
        return ()
    good: list[str] = []
    for item in items:
        try:
            network = ipaddress.ip_network(item.strip(), strict=True)
        except ValueError as exc:
            fix = (
                f"use the network address {ipaddress.ip_network(item.strip(), strict=False)}"
                if "host bits set" in str(exc)
                else "write an address with a prefix length such as 203.0.113.0/24 or 198.51.100.7/32"
            )
            problem(
                key,
                item,
                "a list of CIDRs (network address / prefix length)",
                f"{fix} in Pulumi.{stack}.yaml",
            )
            continue
        if network.version != 4:
            problem(
                key,
                item,
                "IPv4 CIDRs (the clusters' endpoints are IPv4-only)",
                f"remove it from Pulumi.{stack}.yaml",
            )
            continue
        if key == DEPLOYER_CIDRS and not network.is_global:
            problem(
                key,
                item,
                "public IPv4 CIDRs (Azure firewalls admit private addresses only through a subnet)",
                f"list the public egress address of the deployer in Pulumi.{stack}.yaml",
            )
            continue
        good.append(str(network))
    return tuple(good)


def parse_network_access(
    raw: Mapping[str, str],
    stack: str,
    *,
    cloud: str | None,
    dns_provider: str | None,
    primary_cloud: str | None = None,
    problem: Problem,
    warnings: list[str],
) -> NetworkAccess:
    """Read the three keys; record problems through `problem` and plan warnings in `warnings`."""
    access = NetworkAccess(
        api_allowed_cidrs=_cidr_list(raw, API_ALLOWED_CIDRS, stack, problem),
        client_cidrs=_cidr_list(raw, CLIENT_CIDRS, stack, problem),
        deployer_cidrs=_cidr_list(raw, DEPLOYER_CIDRS, stack, problem),
    )
    if "0.0.0.0/0" in access.api_allowed_cidrs:
        warnings.append(
            f"{API_ALLOWED_CIDRS} admits 0.0.0.0/0: the Kubernetes API endpoint accepts connections from "
            "any address (every request still needs cloud IAM credentials); narrow it to your deployer "
            f"and CI egress ranges in Pulumi.{stack}.yaml"
        )
    # On onprem the stack does not manage the existing cluster's API server (infra/config_onprem.py).
    if raw.get(API_ALLOWED_CIDRS, "").strip() in ("", "[]") and cloud != "onprem":
        warnings.append(
            f"{API_ALLOWED_CIDRS} is unset: the Kubernetes API endpoint accepts connections from any "
            "address (every request still needs cloud IAM credentials); set it to your deployer and "
            f"CI egress ranges in Pulumi.{stack}.yaml"
        )
    if access.client_cidrs and dns_provider == "azure" and cloud not in (None, "azure"):
        problem(
            CLIENT_CIDRS,
            list(access.client_cidrs),
            f"unset while dnsProvider is azure and the cluster runs on {cloud}",
            "Traffic Manager probes /health from the AzureTrafficManager service tag, a changing list "
            f"that only an Azure load balancer can admit by name; a {cloud} load balancer restricted to "
            f"{CLIENT_CIDRS} would fail every probe and take the record out of DNS. Remove "
            f"{CLIENT_CIDRS}, or use dnsProvider aws or gcp, whose health-checker ranges are added "
            "automatically",
        )
    if cloud == "azure" and not access.deployer_cidrs:
        warnings.append(
            f"{DEPLOYER_CIDRS} is unset: the Key Vault and the storage account admit only the cluster's "
            "subnet, so model uploads, `failover verify` and a standby on another cloud reading this "
            f"bucket are refused from outside; list those egress ranges in {DEPLOYER_CIDRS} in "
            f"Pulumi.{stack}.yaml (pulumi up itself writes secrets through Azure Resource Manager)"
        )
    if primary_cloud == "azure" and cloud not in (None, "azure"):
        warnings.append(
            "the primary's storage account (azure) denies public addresses except its deployerCidrs: "
            f"replication from it works once the primary's deployerCidrs list this stack's {cloud} egress "
            "addresses (EKS NAT gateway IPs; GKE Cloud NAT IPs; for Storage Transfer Service jobs the "
            "ranges Google publishes for Storage Transfer Service)"
        )
    return access
