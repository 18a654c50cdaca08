"""AKS security pieces that must exist before the cluster: its control-plane identity, its
node subnet, the Key Vault key that encrypts etcd, and where its audit logs go.

- KMS etcd encryption (legacy KMS plugin, GA) does not work with a system-assigned identity,
  which exists only after the cluster: the cluster runs as a user-assigned identity that holds
  "Key Vault Crypto User" on the key's vault before the cluster is created.
- The key lives in a vault of its own. AKS KMS supports a public vault (any network, every call
  still Entra-authenticated) or a private-link vault reached through API Server VNet Integration;
  a public vault with an IP/VNet firewall is documented as unsupported (the KMS plugin runs in the
  managed control plane). So this vault keeps public network access with RBAC only, while the
  secrets vault and the storage account deny by default.
- Rotation: the key rotates every 90 days (Key Vault rotation policy). The legacy plugin pins a
  key version, so a rotation takes effect for new writes after `pulumi up --refresh` picks up the
  new `keyUriWithVersion` and AKS re-encrypts; old versions stay enabled for decryption.
- Nodes sit in our subnet with service endpoints for Key Vault and Storage, so the secrets vault
  and the model store can admit exactly this subnet instead of any public address. The cluster
  identity needs Network Contributor on it (load balancers, node NICs in a custom subnet).
- Audit: a diagnostic setting streams kube-audit and guard logs to a Log Analytics workspace
  kept for a year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_azure_native as azure_native

from components.azure_key_vault import key_vault_with_key
from components.common import Placement
from components.inference_cluster.shared import short_name
from components.naming import with_suffix

KEY_VAULT_CRYPTO_USER_ROLE: Final = "12338af0-0e69-4776-bea7-57ae8d297424"
NETWORK_CONTRIBUTOR_ROLE: Final = "4d97b98b-1d4f-4787-a291-c67834d212e7"
VNET_CIDR: Final = "10.224.0.0/16"
NODES_CIDR: Final = "10.224.0.0/20"
"""Outside AKS's default overlay pod (10.244.0.0/16) and service (10.0.0.0/16) ranges."""
NODE_SUBNET: Final = "nodes"
SERVICE_ENDPOINTS: Final = ("Microsoft.KeyVault", "Microsoft.Storage")
KMS_VAULT_NETWORK: Final = azure_native.keyvault.NetworkRuleSetArgs(
    default_action=azure_native.keyvault.NetworkRuleAction.ALLOW,
    bypass=azure_native.keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
)
"""See the module docstring: AKS KMS does not support a firewalled public vault."""
AUDIT_LOG_CATEGORIES: Final = ("kube-audit", "guard")
LOG_RETENTION_DAYS: Final = 365


def role_id(subscription_id: str, role: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"


@dataclass(frozen=True)
class ClusterPrerequisites:
    identity: azure_native.managedidentity.UserAssignedIdentity
    node_subnet_id: pulumi.Output[str]
    kms_key: azure_native.keyvault.Key
    kms_vault: azure_native.keyvault.Vault
    grants: list[azure_native.authorization.RoleAssignment]
    """The identity's key and subnet grants; the cluster must depend on them."""


def cluster_prerequisites(
    name: str,
    *,
    base: str,
    placement: Placement,
    client: pulumi.Output[azure_native.authorization.GetClientConfigResult],
    child: pulumi.ResourceOptions,
    deletion_protection: bool,
) -> ClusterPrerequisites:
    assert placement.azure_resource_group is not None  # validated by InferenceClusterArgs
    identity = _control_plane_identity(name, base, placement, child)
    node_subnet_id = _node_network(name, base, placement, child)
    vault, key = _etcd_key(
        name, placement, client, child.merge(pulumi.ResourceOptions(protect=deletion_protection))
    )

    def grant(
        suffix: str, scope: pulumi.Input[str], role: str, why: str
    ) -> azure_native.authorization.RoleAssignment:
        return azure_native.authorization.RoleAssignment(
            f"{name}-control-plane-{suffix}",
            azure_native.authorization.RoleAssignmentArgs(
                scope=scope,
                role_definition_id=client.subscription_id.apply(lambda sub: role_id(sub, role)),
                principal_id=identity.principal_id,
                principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
                description=why,
            ),
            opts=child,
        )

    grants = [
        grant("kms", vault.id, KEY_VAULT_CRYPTO_USER_ROLE, "AKS KMS plugin encrypts etcd with the key"),
        grant("subnet", node_subnet_id, NETWORK_CONTRIBUTOR_ROLE, "AKS manages NICs and LBs in its subnet"),
    ]
    return ClusterPrerequisites(identity, node_subnet_id, key, vault, grants)


def _control_plane_identity(
    name: str, base: str, placement: Placement, child: pulumi.ResourceOptions
) -> azure_native.managedidentity.UserAssignedIdentity:
    """The user-assigned identity the cluster runs as (KMS needs it before the cluster exists)."""
    return azure_native.managedidentity.UserAssignedIdentity(
        f"{name}-control-plane",
        resource_group_name=placement.azure_resource_group,
        resource_name_=short_name(base, "control-plane", 128),
        location=placement.region,
        tags=dict(placement.tags),
        opts=child,
    )


def _node_network(
    name: str, base: str, placement: Placement, child: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    """The VNet with the node subnet (service endpoints for Key Vault and Storage); its subnet id."""
    group = placement.azure_resource_group
    assert group is not None  # validated by InferenceClusterArgs
    vnet = azure_native.network.VirtualNetwork(
        f"{name}-vnet",
        azure_native.network.VirtualNetworkInitArgs(
            resource_group_name=group,
            virtual_network_name=short_name(base, "vnet", 64),
            location=placement.region,
            address_space=azure_native.network.AddressSpaceArgs(address_prefixes=[VNET_CIDR]),
            # Inline, so an update of the network never drops the subnet the nodes live in.
            subnets=[
                azure_native.network.SubnetArgs(
                    name=NODE_SUBNET,
                    address_prefix=NODES_CIDR,
                    service_endpoints=[
                        azure_native.network.ServiceEndpointPropertiesFormatArgs(service=s)
                        for s in SERVICE_ENDPOINTS
                    ],
                )
            ],
            tags=dict(placement.tags),
        ),
        opts=child,
    )
    return vnet.id.apply(lambda vnet_id: f"{vnet_id}/subnets/{NODE_SUBNET}")


def _etcd_key(
    name: str,
    placement: Placement,
    client: pulumi.Output[azure_native.authorization.GetClientConfigResult],
    guarded: pulumi.ResourceOptions,
) -> tuple[azure_native.keyvault.Vault, azure_native.keyvault.Key]:
    """The KMS vault and its rotating etcd key (components/azure_key_vault.py)."""
    return key_vault_with_key(
        f"{name}-kms",
        f"{name}-etcd",
        placement=placement,
        client=client,
        vault_name_prefix=f"{placement.stack}-kms",
        key_name="aks-etcd",
        key_size=2048,
        network_acls=KMS_VAULT_NETWORK,
        vault_tags={**placement.tags, "inference-failover/public-network-reason": "aks-kms-public-vault"},
        opts=guarded,
    )


def cluster_identity(
    pre: ClusterPrerequisites,
) -> azure_native.containerservice.ManagedClusterIdentityArgs:
    return azure_native.containerservice.ManagedClusterIdentityArgs(
        type=azure_native.containerservice.ResourceIdentityType.USER_ASSIGNED,
        user_assigned_identities=[pre.identity.id],
    )


def kms_profile(pre: ClusterPrerequisites) -> azure_native.containerservice.AzureKeyVaultKmsArgs:
    return azure_native.containerservice.AzureKeyVaultKmsArgs(
        enabled=True,
        key_id=pre.kms_key.key_uri_with_version,
        key_vault_network_access=azure_native.containerservice.KeyVaultNetworkAccessTypes.PUBLIC,
    )


def audit_logs(
    name: str,
    *,
    base: str,
    placement: Placement,
    cluster: pulumi.Resource,
    cluster_id: pulumi.Output[str],
    child: pulumi.ResourceOptions,
) -> azure_native.monitor.DiagnosticSetting:
    group = placement.azure_resource_group
    assert group is not None
    workspace = azure_native.operationalinsights.Workspace(
        f"{name}-audit",
        azure_native.operationalinsights.WorkspaceArgs(
            resource_group_name=group,
            # Per stack instance: a re-created stack starts a fresh workspace instead of
            # recovering its soft-deleted predecessor.
            workspace_name=with_suffix(short_name(base, "audit", 63), placement.name_suffix, max_length=63),
            location=placement.region,
            sku=azure_native.operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=LOG_RETENTION_DAYS,
            tags=dict(placement.tags),
        ),
        opts=child,
    )
    return azure_native.monitor.DiagnosticSetting(
        f"{name}-audit",
        azure_native.monitor.DiagnosticSettingArgs(
            name="control-plane-audit",
            resource_uri=cluster_id,
            workspace_id=workspace.id,
            logs=[
                azure_native.monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True)
                for category in AUDIT_LOG_CATEGORIES
            ],
        ),
        opts=child.merge(pulumi.ResourceOptions(depends_on=[cluster])),
    )
