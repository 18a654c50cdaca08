"""Azure Blob model store: RA-GZRS storage account, versioning, soft delete, no public access.

The storage account accepts Microsoft Entra ID (OAuth) only: shared keys and therefore SAS tokens
are disabled, so every reader (the inference workload, the parity verifier, replication) is a
keyless identity with an RBAC role on the `models` container. Public blob access is off, TLS 1.2 is
the minimum and data is encrypted twice (infrastructure encryption, and service encryption with
the stack's own rotating Key Vault key: azure_cmk.py). The firewall denies every public address
and admits the AKS node subnet (Microsoft.Storage service endpoint: the workload and an Azure
standby's replication CronJob) and `deployerCidrs`
(uploads, `failover verify`, and a standby on another cloud that copies this bucket: list its
egress addresses there). IP rules do not apply to requests from the same Azure region, which is
why the nodes come in through the subnet rule rather than by address.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

import pulumi
import pulumi_azure_native as azure_native

from components.common import Placement, type_token
from components.data_plane_access import storage_network_rules
from components.object_store.args import (
    ACCOUNT,
    BUCKET,
    CLOUD,
    CONTAINER_ID,
    MODULE,
    REGION,
    RESOURCE_GROUP,
    URI,
    ModelStore,
    ModelStoreArgs,
)
from components.object_store.azure_cmk import StoreKey, cmk_encryption, cmk_identity, store_key

CONTAINER_NAME: Final = "models"
STORAGE_BLOB_DATA_READER: Final = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_CONTRIBUTOR: Final = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
REGIONS_WITHOUT_ZONES: Final = frozenset({"westus", "northcentralus", "westcentralus"})
"""GZRS needs availability zones; these regions fall back to (RA-)GRS."""


def role_definition_id(subscription_id: str, role_guid: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"


def sku_for(region: str, secondary_read_access: bool) -> str:
    """Standard_RAGZRS (or GZRS) where the region has zones, else Standard_RAGRS (or GRS)."""
    zonal = region not in REGIONS_WITHOUT_ZONES
    if secondary_read_access:
        return "Standard_RAGZRS" if zonal else "Standard_RAGRS"
    return "Standard_GZRS" if zonal else "Standard_GRS"


def account_name_for(stack: str, subscription_id: str, region: str) -> str:
    """3-24 lowercase letters and digits, globally unique: 'ifo' + stack + a stable hash."""
    letters = "".join(c for c in stack.lower() if c.isalnum())[:9]
    digest = hashlib.sha256(f"{subscription_id}/{stack}/{region}".encode()).hexdigest()[:12]
    return f"ifo{letters}{digest}"


def storage_account(
    name: str,
    *,
    account_name: pulumi.Input[str],
    placement: Placement,
    sku: str,
    cmk: StoreKey,
    deletion_protection: bool,
    own: pulumi.ResourceOptions,
    network_rule_set: azure_native.storage.NetworkRuleSetArgs | None = None,
    immutability: azure_native.storage.ImmutableStorageAccountArgs | None = None,
) -> azure_native.storage.StorageAccount:
    """A StorageV2 account with the baseline of both stores: no public blob access, Entra ID only
    (no shared key, so no SAS), no cross-tenant replication, HTTPS and TLS 1.2 only, and
    infrastructure + customer-managed-key encryption (`cmk`, azure_cmk.py)."""
    storage = azure_native.storage
    group = placement.azure_resource_group
    assert group is not None  # each store checks it first, with its own message
    return storage.StorageAccount(
        name,
        storage.StorageAccountArgs(
            account_name=account_name,
            resource_group_name=group,
            location=placement.region,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=sku),
            access_tier=storage.AccessTier.HOT,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            # With a firewall: selected networks only (the model store: data_plane_access).
            public_network_access=None if network_rule_set is None else storage.PublicNetworkAccess.ENABLED,
            network_rule_set=network_rule_set,
            identity=cmk_identity(cmk),
            encryption=cmk_encryption(cmk),
            immutable_storage_with_versioning=immutability,
            tags=dict(placement.tags),
        ),
        # Storage checks the key at creation: the identity's grant on it comes first.
        opts=pulumi.ResourceOptions.merge(
            own, pulumi.ResourceOptions(protect=deletion_protection, depends_on=[cmk.grant])
        ),
    )


def private_container(
    name: str,
    *,
    account: azure_native.storage.StorageAccount,
    group: pulumi.Input[str],
    container_name: str,
    own: pulumi.ResourceOptions,
    retention: azure_native.storage.DeleteRetentionPolicyArgs | None = None,
) -> tuple[azure_native.storage.BlobServiceProperties, azure_native.storage.BlobContainer]:
    """Blob versioning (and soft delete with `retention`) on the account, then one private container."""
    blob_service = azure_native.storage.BlobServiceProperties(
        name,
        azure_native.storage.BlobServicePropertiesArgs(
            account_name=account.name,
            resource_group_name=group,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=retention,
            container_delete_retention_policy=retention,
        ),
        opts=own,
    )
    container = azure_native.storage.BlobContainer(
        name,
        azure_native.storage.BlobContainerArgs(
            account_name=account.name,
            resource_group_name=group,
            container_name=container_name,
            public_access=azure_native.storage.PublicAccess.NONE,
        ),
        opts=pulumi.ResourceOptions.merge(own, pulumi.ResourceOptions(depends_on=[blob_service])),
    )
    return blob_service, container


class AzureModelStore(ModelStore):
    """Storage account + `models` container; see the module docstring."""

    account: azure_native.storage.StorageAccount
    """The storage account (GZRS/RA-GZRS where the region has zones)."""
    blob_service: azure_native.storage.BlobServiceProperties
    """Versioning and blob + container soft delete of the account."""
    container: azure_native.storage.BlobContainer
    """The private `models` container."""
    reader_assignment: azure_native.authorization.RoleAssignment
    """Storage Blob Data Reader on the container for the inference workload's identity."""
    resource_group: pulumi.Output[str]
    """The stack's resource group, holding the account."""
    subscription_id: pulumi.Output[str]
    """Subscription of the stack's provider."""
    tenant_id: pulumi.Output[str]
    """Entra tenant of the stack's provider."""
    account_name: pulumi.Output[str]
    """Storage account name (globally unique: `account_name_for`)."""
    container_name: pulumi.Output[str]
    """`models`."""
    container_id: pulumi.Output[str]
    """ARM id of the container: the scope of read-only role assignments (replication)."""

    def __init__(self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "AzureModelStore"), name, None, opts)
        self.cloud = "azure"
        group = self._resource_group(args)
        self._own = pulumi.ResourceOptions(parent=self, provider=args.placement.provider)
        self._client = azure_native.authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=args.placement.provider)
        )
        self._sku = self._redundancy(args)
        cmk = self._key(name, args)
        self._bucket(name, args, group, cmk)
        self._reader_access(name, args)
        self._descriptor(args, group)
        self.register_outputs(
            {"bucketName": self.bucket_name, "bucketUri": self.bucket_uri, "descriptor": self.descriptor}
        )

    def _resource_group(self, args: ModelStoreArgs) -> pulumi.Input[str]:
        group = args.placement.azure_resource_group
        if group is None:
            raise ValueError(
                f"the azure model store of stack '{args.placement.stack}' needs the stack's resource group "
                "(got none): infra/providers.py creates it when `cloud` is azure; pass "
                "Placement(azure_resource_group=...)"
            )
        return group

    def _redundancy(self, args: ModelStoreArgs) -> str:
        """The account's SKU; a warning where the region has no zones (no GZRS)."""
        region = args.placement.region
        sku = sku_for(region, args.secondary_read_access)
        if region in REGIONS_WITHOUT_ZONES:
            pulumi.log.warn(
                f"azure region {region} has no availability zones, so the model store uses "
                f"{sku} instead of zone-redundant GZRS; pick a zonal region for zone redundancy",
                resource=self,
            )
        return sku

    def _key(self, name: str, args: ModelStoreArgs) -> StoreKey:
        """The account's own Key Vault key and the identity Storage reads it as (azure_cmk.py)."""
        return store_key(
            name,
            placement=args.placement,
            client=self._client,
            own=self._own,
            deletion_protection=args.deletion_protection,
        )

    def _bucket(self, name: str, args: ModelStoreArgs, group: pulumi.Input[str], cmk: StoreKey) -> None:
        """The firewalled storage account, its blob settings and the `models` container."""
        placement = args.placement
        self.account = storage_account(
            f"{name}-models",
            account_name=self._client.subscription_id.apply(
                lambda sub: account_name_for(placement.stack, sub, placement.region)
            ),
            placement=placement,
            sku=self._sku,
            cmk=cmk,
            deletion_protection=args.deletion_protection,
            own=self._own,
            network_rule_set=storage_network_rules(args.network_access),
        )
        self.blob_service, self.container = private_container(
            f"{name}-models",
            account=self.account,
            group=group,
            container_name=CONTAINER_NAME,
            own=self._own,
            retention=azure_native.storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.soft_delete_retention_days
            ),
        )

    def _reader_access(self, name: str, args: ModelStoreArgs) -> None:
        """Storage Blob Data Reader on the container (not the account) for the workload."""
        self.reader_assignment = azure_native.authorization.RoleAssignment(
            f"{name}-models-read",
            azure_native.authorization.RoleAssignmentArgs(
                scope=self.container.id,
                role_definition_id=self._client.subscription_id.apply(
                    lambda sub: role_definition_id(sub, STORAGE_BLOB_DATA_READER)
                ),
                principal_id=args.reader.principal,
                principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
                description=f"inference workload of stack {args.placement.stack} reads model artefacts",
            ),
            opts=self._own,
        )

    def _descriptor(self, args: ModelStoreArgs, group: pulumi.Input[str]) -> None:
        self.resource_group = pulumi.Output.from_input(group)
        self.subscription_id = self._client.subscription_id
        self.tenant_id = self._client.tenant_id
        self.account_name = self.account.name
        self.container_name = self.container.name
        self.container_id = self.container.id
        self.bucket_name = self.container.name
        self.bucket_uri = pulumi.Output.all(self.account.primary_endpoints.blob, self.container.name).apply(
            lambda parts: f"{parts[0].rstrip('/')}/{parts[1]}"
        )
        descriptor: dict[str, Any] = {
            CLOUD: "azure",
            REGION: args.placement.region,
            BUCKET: self.container_name,
            URI: self.bucket_uri,
            ACCOUNT: self.account_name,
            RESOURCE_GROUP: self.resource_group,
            CONTAINER_ID: self.container_id,
            "sku": self._sku,
            "tenantId": self.tenant_id,
        }
        self.descriptor = pulumi.Output.from_input(descriptor).apply(dict)
