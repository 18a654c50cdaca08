"""Azure side of cross-cloud replication: user-assigned identities with federated credentials.

Read side (the primary's container, created with the standby's `source_provider` in the
primary's resource group): a user-assigned managed identity whose only credential is a
federated identity credential for one external subject (the standby cluster's replication
service account, or Storage Transfer Service's Google service agent), with "Storage Blob Data
Reader" on the primary's container. Write side (the standby on AKS): the same pattern with
"Storage Blob Data Contributor" on the standby's own container. No client secret, no account
key, no SAS: the storage accounts refuse shared keys anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pulumi

from components.azure_federation import FederatedIdentity, RoleGrant, federated_identity
from components.common import physical_name
from components.object_store.args import CONTAINER_ID, REGION, RESOURCE_GROUP
from components.object_store.azure import (
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
    role_definition_id,
)

GOOGLE_ISSUER_URL: Final = "https://accounts.google.com"


FederatedBlobAccess = FederatedIdentity
"""Identity, federated credential and blob role assignment (components/azure_federation.py)."""


def subscription_of(resource_id: str) -> str:
    """'/subscriptions/<id>/resourceGroups/...' -> '<id>'."""
    parts = resource_id.strip("/").split("/")
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        raise ValueError(
            f"expected an Azure resource id starting with /subscriptions/<id>/ (got {resource_id!r}): "
            "re-run `pulumi up` on the primary stack so its `modelStore` output carries `containerId`"
        )
    return parts[1]


def _federated_access(
    parent: pulumi.Resource,
    name: str,
    *,
    provider: pulumi.ProviderResource,
    resource_group: pulumi.Input[str],
    location: pulumi.Input[str],
    identity_name: str,
    issuer: pulumi.Input[str],
    subject: pulumi.Input[str],
    container_id: pulumi.Input[str],
    role_guid: str,
    description: str,
) -> FederatedBlobAccess:
    return federated_identity(
        name,
        identity_name=identity_name,
        credential_name="model-replication",
        resource_group=resource_group,
        location=location,
        issuer=issuer,
        subject=subject,
        grant=RoleGrant(
            scope=container_id,
            role_definition_id=pulumi.Output.from_input(container_id).apply(
                lambda cid: role_definition_id(subscription_of(cid), role_guid)
            ),
            description=description,
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )


def read_access(
    parent: pulumi.Resource,
    name: str,
    *,
    source: pulumi.Output[Mapping[str, Any]],
    provider: pulumi.ProviderResource,
    issuer: pulumi.Input[str],
    subject: pulumi.Input[str],
    stack: str,
    reader: str,
) -> FederatedBlobAccess:
    """Storage Blob Data Reader on the primary's container for one federated external subject."""
    return _federated_access(
        parent,
        f"{name}-source-read",
        provider=provider,
        resource_group=source.apply(lambda d: str(d[RESOURCE_GROUP])),
        location=source.apply(lambda d: str(d[REGION])),
        identity_name=physical_name(stack, "model-replication-read", max_length=128),
        issuer=issuer,
        subject=subject,
        container_id=source.apply(lambda d: str(d[CONTAINER_ID])),
        role_guid=STORAGE_BLOB_DATA_READER,
        description=f"{reader} of standby stack {stack} copies model artefacts (read-only)",
    )


def write_access_for_cluster(
    parent: pulumi.Resource,
    name: str,
    *,
    provider: pulumi.ProviderResource,
    resource_group: pulumi.Input[str],
    location: str,
    container_id: pulumi.Output[str],
    issuer: pulumi.Input[str],
    subject: str,
    stack: str,
) -> FederatedBlobAccess:
    """Storage Blob Data Contributor on the standby's own container for the replication pods."""
    return _federated_access(
        parent,
        f"{name}-target-write",
        provider=provider,
        resource_group=resource_group,
        location=location,
        identity_name=physical_name(stack, "model-replication-write", max_length=128),
        issuer=issuer,
        subject=subject,
        container_id=container_id,
        role_guid=STORAGE_BLOB_DATA_CONTRIBUTOR,
        description=f"Model replication CronJob of stack {stack} writes its own model container",
    )
