"""Azure audit storage account: version-level immutability with a locked time-based policy."""

from __future__ import annotations

import hashlib
from typing import Final

import pulumi
import pulumi_azure_native as azure_native

from components.audit.args import MODULE, AuditStore, AuditStoreArgs, descriptor
from components.common import type_token
from components.object_store.azure_cmk import cmk_encryption, cmk_identity, store_key

CONTAINER_NAME: Final = "audit"


def account_name_for(stack: str, subscription_id: str, region: str, suffix: str = "") -> str:
    """3-24 lowercase letters and digits, globally unique: 'ifa' + stack + a stable hash.

    The hash covers the stack's name suffix (components/naming.py): an account holding locked
    records cannot be deleted before they expire, so `pulumi destroy` leaves it behind, and a
    re-created stack (new suffix) must not ask for its name.
    """
    letters = "".join(c for c in stack.lower() if c.isalnum())[:9]
    digest = hashlib.sha256(f"{subscription_id}/{stack}/{region}/audit/{suffix}".encode()).hexdigest()[:12]
    return f"ifa{letters}{digest}"


class AzureAuditStore(AuditStore):
    def __init__(self, name: str, args: AuditStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "AzureAuditStore"), name, None, opts)
        placement = args.placement
        group = placement.azure_resource_group
        if group is None:
            raise ValueError(
                f"the azure audit store of stack '{placement.stack}' needs the stack's resource group"
            )
        own = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        client = azure_native.authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        )
        # The audit records are encrypted with the account's own Key Vault key, set up like the model
        # store's (azure_cmk.py): a user-assigned identity granted "Key Vault Crypto Service
        # Encryption User" before the account exists, a purge-protected vault. The vault is
        # protected like the account: the retained records stay readable only while their key does.
        cmk = store_key(
            name,
            placement=placement,
            client=client,
            own=own,
            deletion_protection=args.deletion_protection,
            purpose="audit",
        )
        # Version-level immutability has to be enabled when the account is created. Azure creates an
        # account default policy only Disabled or Unlocked ("Only a policy in an Unlocked state can
        # transition to a Locked state"), so a Locked default would fail the first `pulumi up`. The
        # default is therefore Unlocked (every new version is immutable for retention_days; an
        # account owner could still shorten it), and the failover CLI writes each record with its
        # own Locked version-level policy, which nobody can shorten or remove.
        self.account = azure_native.storage.StorageAccount(
            f"{name}-audit",
            azure_native.storage.StorageAccountArgs(
                account_name=pulumi.Output.all(client.subscription_id, placement.name_suffix or "").apply(
                    lambda values: account_name_for(placement.stack, values[0], placement.region, values[1])
                ),
                resource_group_name=group,
                location=placement.region,
                kind=azure_native.storage.Kind.STORAGE_V2,
                sku=azure_native.storage.SkuArgs(name="Standard_ZRS"),
                access_tier=azure_native.storage.AccessTier.HOT,
                allow_blob_public_access=False,
                allow_shared_key_access=False,
                default_to_o_auth_authentication=True,
                allow_cross_tenant_replication=False,
                enable_https_traffic_only=True,
                minimum_tls_version=azure_native.storage.MinimumTlsVersion.TLS1_2,
                identity=cmk_identity(cmk),
                encryption=cmk_encryption(cmk),
                immutable_storage_with_versioning=azure_native.storage.ImmutableStorageAccountArgs(
                    enabled=True,
                    immutability_policy=azure_native.storage.AccountImmutabilityPolicyPropertiesArgs(
                        immutability_period_since_creation_in_days=args.retention_days,
                        state=azure_native.storage.AccountImmutabilityPolicyState.UNLOCKED,
                        allow_protected_append_writes=False,
                    ),
                ),
                tags=dict(placement.tags),
            ),
            # Storage checks the key at creation: the identity's grant on it comes first.
            opts=pulumi.ResourceOptions.merge(
                own, pulumi.ResourceOptions(protect=args.deletion_protection, depends_on=[cmk.grant])
            ),
        )
        blob_service = azure_native.storage.BlobServiceProperties(
            f"{name}-audit",
            azure_native.storage.BlobServicePropertiesArgs(
                account_name=self.account.name,
                resource_group_name=group,
                blob_services_name="default",
                is_versioning_enabled=True,
            ),
            opts=own,
        )
        self.container = azure_native.storage.BlobContainer(
            f"{name}-audit",
            azure_native.storage.BlobContainerArgs(
                account_name=self.account.name,
                resource_group_name=group,
                container_name=CONTAINER_NAME,
                public_access=azure_native.storage.PublicAccess.NONE,
            ),
            opts=pulumi.ResourceOptions.merge(own, pulumi.ResourceOptions(depends_on=[blob_service])),
        )
        self.bucket_name = self.container.name
        self.descriptor = descriptor(
            cloud="azure",
            region=placement.region,
            bucket=self.bucket_name,
            uri=self.account.name.apply(lambda a: f"https://{a}.blob.core.windows.net/{CONTAINER_NAME}"),
            account=self.account.name,
            args=args,
            lock="azure-version-immutability-locked-per-record",
        )
        self.register_outputs({"bucketName": self.bucket_name, "descriptor": self.descriptor})
