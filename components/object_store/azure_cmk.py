"""Customer-managed key of the Azure model store: its own Key Vault, key and identity.

Azure Storage reads the key as a user-assigned identity named in the account's encryption
settings, so the identity, the key and its "Key Vault Crypto Service Encryption User" grant all
exist before the account is created (the account depends on the grant). The key is referenced
without a version: Storage picks up each new version the vault's rotation policy creates (every
90 days) within a day, with no change to the account. The vault keeps purge protection (Storage
requires it for customer-managed keys) and denies every network except trusted Azure services,
which is how Storage reaches it; keys are created through Azure Resource Manager, which the vault
firewall does not apply to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_azure_native as azure_native

from components.azure_key_vault import key_vault_with_key
from components.common import Placement

CRYPTO_SERVICE_ENCRYPTION_USER: Final = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
KEY_NAME: Final = "models"
VAULT_NETWORK: Final = azure_native.keyvault.NetworkRuleSetArgs(
    default_action=azure_native.keyvault.NetworkRuleAction.DENY,
    bypass=azure_native.keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
)
"""Every network denied; trusted Azure services (Storage, reading the key) pass."""


@dataclass(frozen=True)
class StoreKey:
    key_name: str
    identity: azure_native.managedidentity.UserAssignedIdentity
    vault: azure_native.keyvault.Vault
    key: azure_native.keyvault.Key
    grant: azure_native.authorization.RoleAssignment


def store_key(
    name: str,
    *,
    placement: Placement,
    client: pulumi.Output[azure_native.authorization.GetClientConfigResult],
    own: pulumi.ResourceOptions,
    deletion_protection: bool,
    purpose: str = KEY_NAME,
) -> StoreKey:
    """Identity, vault, key and grant of one storage account's customer-managed key.

    `purpose` names the key and the resources ("models" for the model store, "audit" for the
    audit store); each account gets its own vault, so a retained account keeps its own key.
    """
    group = placement.azure_resource_group
    assert group is not None  # the store checks it first
    identity = azure_native.managedidentity.UserAssignedIdentity(
        f"{name}-{purpose}-cmk",
        resource_group_name=group,
        resource_name_=f"id-{placement.stack}-{purpose}-cmk",
        location=placement.region,
        tags=dict(placement.tags),
        opts=own,
    )
    vault, key = key_vault_with_key(
        f"{name}-{purpose}-cmk",
        f"{name}-{purpose}-cmk",
        placement=placement,
        client=client,
        vault_name_prefix=f"{placement.stack}-{purpose[0]}",
        key_name=purpose,
        key_size=3072,
        network_acls=VAULT_NETWORK,
        vault_tags=placement.tags,
        opts=own.merge(pulumi.ResourceOptions(protect=deletion_protection)),
    )
    grant = azure_native.authorization.RoleAssignment(
        f"{name}-{purpose}-cmk",
        azure_native.authorization.RoleAssignmentArgs(
            scope=vault.id,
            role_definition_id=client.subscription_id.apply(
                lambda sub: (
                    f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/"
                    f"{CRYPTO_SERVICE_ENCRYPTION_USER}"
                )
            ),
            principal_id=identity.principal_id,
            principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
            description=f"storage account of stack {placement.stack} wraps its data keys with the key",
        ),
        opts=own,
    )
    return StoreKey(purpose, identity, vault, key, grant)


def cmk_encryption(key: StoreKey) -> azure_native.storage.EncryptionArgs:
    storage = azure_native.storage
    return storage.EncryptionArgs(
        key_source=storage.KeySource.MICROSOFT_KEYVAULT,
        key_vault_properties=storage.KeyVaultPropertiesArgs(
            key_name=key.key_name,
            key_vault_uri=key.vault.properties.apply(lambda p: p.vault_uri),
        ),
        encryption_identity=storage.EncryptionIdentityArgs(encryption_user_assigned_identity=key.identity.id),
        require_infrastructure_encryption=True,
        services=storage.EncryptionServicesArgs(
            blob=storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT),
        ),
    )


def cmk_identity(key: StoreKey) -> azure_native.storage.IdentityArgs:
    return azure_native.storage.IdentityArgs(
        type=azure_native.storage.IdentityType.USER_ASSIGNED, user_assigned_identities=[key.identity.id]
    )
