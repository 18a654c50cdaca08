"""A Key Vault holding one rotating RSA key: the customer-managed keys of AKS etcd encryption
(inference_cluster/azure_security.py) and of the storage accounts (object_store/azure_cmk.py).

Both vaults are alike: RBAC authorization (no access policies), soft delete for 30 days, purge
protection (Storage requires it for customer-managed keys; a purged key would make etcd or the
blobs unreadable), no VM/disk/template access, and a key that rotates every 90 days. They differ
in who may reach them over the network, so each caller passes its own `network_acls` (and says
why there). The vault name is per stack instance (`name_suffix`): a re-created stack does not
collide with its soft-deleted predecessor, which purge protection holds for 30 days.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_azure_native as azure_native

from components.common import Placement

KEY_ROTATION_AFTER = "P90D"
SOFT_DELETE_RETENTION_DAYS = 30


def key_vault_with_key(
    vault_resource: str,
    key_resource: str,
    *,
    placement: Placement,
    client: pulumi.Output[azure_native.authorization.GetClientConfigResult],
    vault_name_prefix: str,
    key_name: str,
    key_size: int,
    network_acls: azure_native.keyvault.NetworkRuleSetArgs,
    vault_tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> tuple[azure_native.keyvault.Vault, azure_native.keyvault.Key]:
    """The vault (`vault_resource`) and its key (`key_resource`), both with `opts`."""
    from components.secrets_vault.azure import key_vault_name

    group = placement.azure_resource_group
    assert group is not None  # every caller checks it first
    vault = azure_native.keyvault.Vault(
        vault_resource,
        azure_native.keyvault.VaultArgs(
            vault_name=pulumi.Output.all(client.subscription_id, placement.name_suffix or "").apply(
                lambda a: key_vault_name(vault_name_prefix, placement.region, a[0], a[1])
            ),
            resource_group_name=group,
            location=placement.region,
            properties=azure_native.keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id,
                sku=azure_native.keyvault.SkuArgs(
                    family=azure_native.keyvault.SkuFamily.A, name=azure_native.keyvault.SkuName.STANDARD
                ),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=SOFT_DELETE_RETENTION_DAYS,
                enable_purge_protection=True,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                public_network_access="Enabled",
                network_acls=network_acls,
            ),
            tags=dict(vault_tags),
        ),
        opts=opts,
    )
    key = azure_native.keyvault.Key(
        key_resource,
        azure_native.keyvault.KeyArgs(
            resource_group_name=group,
            vault_name=vault.name,
            key_name=key_name,
            properties=azure_native.keyvault.KeyPropertiesArgs(
                kty=azure_native.keyvault.JsonWebKeyType.RSA,
                key_size=key_size,
                attributes=azure_native.keyvault.KeyAttributesArgs(enabled=True),
                rotation_policy=azure_native.keyvault.RotationPolicyArgs(
                    lifetime_actions=[
                        azure_native.keyvault.LifetimeActionArgs(
                            action=azure_native.keyvault.ActionArgs(
                                type=azure_native.keyvault.KeyRotationPolicyActionType.ROTATE
                            ),
                            trigger=azure_native.keyvault.TriggerArgs(time_after_create=KEY_ROTATION_AFTER),
                        )
                    ]
                ),
            ),
            tags=dict(placement.tags),
        ),
        opts=opts,
    )
    return vault, key
