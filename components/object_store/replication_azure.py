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
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_azure_native as azure_native

from components.common import physical_name
from components.object_store.args import CONTAINER_ID, REGION, RESOURCE_GROUP
from components.object_store.azure import (
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
    role_definition_id,
)

TOKEN_EXCHANGE_AUDIENCE: Final = "api://AzureADTokenExchange"
GOOGLE_ISSUER_URL: Final = "https://accounts.google.com"
AUTHORITY_HOST: Final = "https://login.microsoftonline.com/"


@dataclass(frozen=True)
class FederatedBlobAccess:
    identity: azure_native.managedidentity.UserAssignedIdentity
    credential: azure_native.managedidentity.FederatedIdentityCredential
    assignment: azure_native.authorization.RoleAssignment
    client_id: pulumi.Output[str]
    tenant_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]


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
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    # Both resources have an API property called `resource_name`, which their *Args classes cannot
    # carry in this SDK (it collides with the Pulumi resource name); the typed keyword overload
    # (`resource_name_`) is used instead.
    identity = azure_native.managedidentity.UserAssignedIdentity(
        name,
        resource_name_=identity_name,
        resource_group_name=resource_group,
        location=location,
        opts=opts,
    )
    credential = azure_native.managedidentity.FederatedIdentityCredential(
        name,
        federated_identity_credential_resource_name="model-replication",
        resource_name_=identity.name,
        resource_group_name=resource_group,
        issuer=issuer,
        subject=subject,
        audiences=[TOKEN_EXCHANGE_AUDIENCE],
        opts=opts,
    )
    assignment = azure_native.authorization.RoleAssignment(
        name,
        azure_native.authorization.RoleAssignmentArgs(
            scope=container_id,
            role_definition_id=pulumi.Output.from_input(container_id).apply(
                lambda cid: role_definition_id(subscription_of(cid), role_guid)
            ),
            principal_id=identity.principal_id,
            principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
            description=description,
        ),
        opts=opts,
    )
    return FederatedBlobAccess(
        identity=identity,
        credential=credential,
        assignment=assignment,
        client_id=identity.client_id,
        tenant_id=identity.tenant_id,
        principal_id=identity.principal_id,
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
