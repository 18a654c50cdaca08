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

from components.common import type_token
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
from components.object_store.azure_cmk import cmk_encryption, cmk_identity, store_key

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


class AzureModelStore(ModelStore):
    """Storage account + `models` container; see the module docstring."""

    def __init__(self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "AzureModelStore"), name, None, opts)
        self.cloud = "azure"
        placement = args.placement
        group = placement.azure_resource_group
        if group is None:
            raise ValueError(
                f"the azure model store of stack '{placement.stack}' needs the stack's resource group "
                "(got none): infra/providers.py creates it when `cloud` is azure; pass "
                "Placement(azure_resource_group=...)"
            )
        own = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        client = azure_native.authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        )
        sku = sku_for(placement.region, args.secondary_read_access)
        if placement.region in REGIONS_WITHOUT_ZONES:
            pulumi.log.warn(
                f"azure region {placement.region} has no availability zones, so the model store uses "
                f"{sku} instead of zone-redundant GZRS; pick a zonal region for zone redundancy",
                resource=self,
            )

        cmk = store_key(
            name, placement=placement, client=client, own=own, deletion_protection=args.deletion_protection
        )
        self.account = azure_native.storage.StorageAccount(
            f"{name}-models",
            azure_native.storage.StorageAccountArgs(
                account_name=client.subscription_id.apply(
                    lambda sub: account_name_for(placement.stack, sub, placement.region)
                ),
                resource_group_name=group,
                location=placement.region,
                kind=azure_native.storage.Kind.STORAGE_V2,
                sku=azure_native.storage.SkuArgs(name=sku),
                access_tier=azure_native.storage.AccessTier.HOT,
                allow_blob_public_access=False,
                allow_shared_key_access=False,
                default_to_o_auth_authentication=True,
                allow_cross_tenant_replication=False,
                enable_https_traffic_only=True,
                minimum_tls_version=azure_native.storage.MinimumTlsVersion.TLS1_2,
                # Selected networks only: the AKS subnet and deployerCidrs (data_plane_access).
                public_network_access=azure_native.storage.PublicNetworkAccess.ENABLED,
                network_rule_set=storage_network_rules(args.network_access),
                identity=cmk_identity(cmk),
                encryption=cmk_encryption(cmk),
                tags=dict(placement.tags),
            ),
            # Storage checks the key at creation: the identity's grant on it comes first.
            opts=pulumi.ResourceOptions.merge(
                own, pulumi.ResourceOptions(protect=args.deletion_protection, depends_on=[cmk.grant])
            ),
        )
        retention = azure_native.storage.DeleteRetentionPolicyArgs(
            enabled=True, days=args.soft_delete_retention_days
        )
        self.blob_service = azure_native.storage.BlobServiceProperties(
            f"{name}-models",
            azure_native.storage.BlobServicePropertiesArgs(
                account_name=self.account.name,
                resource_group_name=group,
                blob_services_name="default",
                is_versioning_enabled=True,
                delete_retention_policy=retention,
                container_delete_retention_policy=retention,
            ),
            opts=own,
        )
        self.container = azure_native.storage.BlobContainer(
            f"{name}-models",
            azure_native.storage.BlobContainerArgs(
                account_name=self.account.name,
                resource_group_name=group,
                container_name=CONTAINER_NAME,
                public_access=azure_native.storage.PublicAccess.NONE,
            ),
            opts=pulumi.ResourceOptions.merge(own, pulumi.ResourceOptions(depends_on=[self.blob_service])),
        )
        self.reader_assignment = azure_native.authorization.RoleAssignment(
            f"{name}-models-read",
            azure_native.authorization.RoleAssignmentArgs(
                scope=self.container.id,
                role_definition_id=client.subscription_id.apply(
                    lambda sub: role_definition_id(sub, STORAGE_BLOB_DATA_READER)
                ),
                principal_id=args.reader.principal,
                principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
                description=f"inference workload of stack {placement.stack} reads model artefacts",
            ),
            opts=own,
        )

        self.resource_group = pulumi.Output.from_input(group)
        self.subscription_id = client.subscription_id
        self.tenant_id = client.tenant_id
        self.account_name = self.account.name
        self.container_name = self.container.name
        self.container_id = self.container.id
        self.bucket_name = self.container.name
        blob_endpoint = self.account.primary_endpoints.blob
        self.bucket_uri = pulumi.Output.all(blob_endpoint, self.container.name).apply(
            lambda parts: f"{parts[0].rstrip('/')}/{parts[1]}"
        )
        descriptor: dict[str, Any] = {
            CLOUD: "azure",
            REGION: placement.region,
            BUCKET: self.container_name,
            URI: self.bucket_uri,
            ACCOUNT: self.account_name,
            RESOURCE_GROUP: self.resource_group,
            CONTAINER_ID: self.container_id,
            "sku": sku,
            "tenantId": self.tenant_id,
        }
        self.descriptor = pulumi.Output.from_input(descriptor).apply(dict)
        self.register_outputs(
            {"bucketName": self.bucket_name, "bucketUri": self.bucket_uri, "descriptor": self.descriptor}
        )
