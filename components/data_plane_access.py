"""Who may reach a vault's or a bucket's data plane over the network (Azure firewalls).

On Azure the Key Vault and the storage account deny every public address by default and admit
exactly: the AKS node subnet (service endpoints Microsoft.KeyVault / Microsoft.Storage, so the
workload and the replication CronJob come in from there) and the listed CIDRs (deployer,
operators, a standby on another cloud reading this bucket). Resource Manager operations (`pulumi
up` creating secrets, containers, keys, role assignments) are management-plane calls and are not
subject to these firewalls. AWS and GCP guard the same data planes with IAM only (bucket policies
deny non-TLS; no network allowlist), so the settings are unused there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi


@dataclass(frozen=True)
class DataPlaneAccess:
    cidrs: tuple[str, ...] = ()
    """Public IPv4 CIDRs admitted (deployerCidrs). Empty: no public address."""
    subnet_ids: pulumi.Input[Sequence[str]] = ()
    """Subnets admitted through their service endpoint (the AKS node subnet)."""

    def problems(self) -> list[str]:
        found: list[str] = []
        for cidr in self.cidrs:
            try:
                network = ipaddress.ip_network(cidr)
            except ValueError:
                found.append(
                    f"network_access.cidrs entry must be a CIDR such as 203.0.113.0/24 (got {cidr!r})"
                )
                continue
            if not network.is_global:
                found.append(
                    f"network_access.cidrs entry must be a public range (got {cidr!r}): Azure firewalls "
                    "admit private addresses only through a subnet (subnet_ids)"
                )
        return found


def storage_ip_rules(cidrs: Sequence[str]) -> list[str]:
    """Azure Storage takes /0-/30 ranges and single addresses, not /31 or /32 prefixes."""
    rules: list[str] = []
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr)
        if network.prefixlen >= 31:
            rules.extend(str(address) for address in network)
        else:
            rules.append(str(network))
    return rules


def key_vault_network_rules(access: DataPlaneAccess) -> Any:
    import pulumi_azure_native as azure_native

    keyvault = azure_native.keyvault
    return keyvault.NetworkRuleSetArgs(
        default_action=keyvault.NetworkRuleAction.DENY,
        bypass=keyvault.NetworkRuleBypassOptions.NONE,
        ip_rules=[keyvault.IPRuleArgs(value=cidr) for cidr in access.cidrs],
        virtual_network_rules=pulumi.Output.from_input(access.subnet_ids).apply(
            lambda ids: [
                keyvault.VirtualNetworkRuleArgs(id=i, ignore_missing_vnet_service_endpoint=False) for i in ids
            ]
        ),
    )


def storage_network_rules(access: DataPlaneAccess) -> Any:
    import pulumi_azure_native as azure_native

    storage = azure_native.storage
    return storage.NetworkRuleSetArgs(
        default_action=storage.DefaultAction.DENY,
        bypass=storage.Bypass.NONE,
        ip_rules=[
            storage.IPRuleArgs(i_p_address_or_range=rule, action=storage.Action.ALLOW)
            for rule in storage_ip_rules(access.cidrs)
        ],
        virtual_network_rules=pulumi.Output.from_input(access.subnet_ids).apply(
            lambda ids: [
                storage.VirtualNetworkRuleArgs(virtual_network_resource_id=i, action=storage.Action.ALLOW)
                for i in ids
            ]
        ),
    )
