"""Azure audit storage account: version-level immutability with a locked time-based policy."""

from __future__ import annotations

import hashlib
from typing import Final

import pulumi
import pulumi_azure_native as azure_native

from components.audit.args import MODULE, AuditStore, AuditStoreArgs, descriptor
from components.common import type_token
from components.object_store.azure import private_container, storage_account
from components.object_store.azure_cmk import StoreKey, store_key

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
    """Storage account with version-level immutability and its own Key Vault key."""

    account: azure_native.storage.StorageAccount
    """The audit storage account (ZRS), immutable by default for `retention_days`."""
    container: azure_native.storage.BlobContainer
    """The private `audit` container."""

    def __init__(self, name: str, args: AuditStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "AzureAuditStore"), name, None, opts)
        placement = args.placement
        group = placement.azure_resource_group
        if group is None:
            raise ValueError(
                f"the azure audit store of stack '{placement.stack}' needs the stack's resource group"
            )
        self._own = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        self._client = azure_native.authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        )
        cmk = self._key(name, args)
        self._bucket(name, args, group, cmk)
        self._descriptor(args)
        self.register_outputs({"bucketName": self.bucket_name, "descriptor": self.descriptor})

    def _key(self, name: str, args: AuditStoreArgs) -> StoreKey:
        # The audit records are encrypted with the account's own Key Vault key, set up like the model
        # store's (azure_cmk.py): a user-assigned identity granted "Key Vault Crypto Service
        # Encryption User" before the account exists, a purge-protected vault. The vault is
        # protected like the account: the retained records stay readable only while their key does.
        return store_key(
            name,
            placement=args.placement,
            client=self._client,
            own=self._own,
            deletion_protection=args.deletion_protection,
            purpose="audit",
        )

    def _bucket(self, name: str, args: AuditStoreArgs, group: pulumi.Input[str], cmk: StoreKey) -> None:
        placement = args.placement
        # Version-level immutability has to be enabled when the account is created. Azure creates an
        # account default policy only Disabled or Unlocked ("Only a policy in an Unlocked state can
        # transition to a Locked state"), so a Locked default would fail the first `pulumi up`. The
        # default is therefore Unlocked (every new version is immutable for retention_days; an
        # account owner could still shorten it), and the failover CLI writes each record with its
        # own Locked version-level policy, which nobody can shorten or remove.
        self.account = storage_account(
            f"{name}-audit",
            account_name=pulumi.Output.all(self._client.subscription_id, placement.name_suffix or "").apply(
                lambda values: account_name_for(placement.stack, values[0], placement.region, values[1])
            ),
            placement=placement,
            sku="Standard_ZRS",
            cmk=cmk,
            deletion_protection=args.deletion_protection,
            own=self._own,
            immutability=azure_native.storage.ImmutableStorageAccountArgs(
                enabled=True,
                immutability_policy=azure_native.storage.AccountImmutabilityPolicyPropertiesArgs(
                    immutability_period_since_creation_in_days=args.retention_days,
                    state=azure_native.storage.AccountImmutabilityPolicyState.UNLOCKED,
                    allow_protected_append_writes=False,
                ),
            ),
        )
        _, self.container = private_container(
            f"{name}-audit", account=self.account, group=group, container_name=CONTAINER_NAME, own=self._own
        )

    def _descriptor(self, args: AuditStoreArgs) -> None:
        self.bucket_name = self.container.name
        self.descriptor = descriptor(
            cloud="azure",
            region=args.placement.region,
            bucket=self.bucket_name,
            uri=self.account.name.apply(lambda a: f"https://{a}.blob.core.windows.net/{CONTAINER_NAME}"),
            account=self.account.name,
            args=args,
            lock="azure-version-immutability-locked-per-record",
        )
