"""A user-assigned identity that one external token subject signs in as, with one role.

Used by cross-cloud replication (object_store/replication_azure.py: the standby cluster's copy
pods, or Storage Transfer Service's Google agent, read the primary's container; the copy pods
write the standby's own) and by cert-manager's Azure DNS access
(inference_cluster/cert_manager_dns.py). The identity's only credential is a federated identity
credential for exactly one issuer and subject with the token-exchange audience: no client
secret, no certificate, no key. The SDK is imported when an identity is made: the constants
serve stacks without azure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pulumi

if TYPE_CHECKING:
    import pulumi_azure_native as azure_native

TOKEN_EXCHANGE_AUDIENCE: Final = "api://AzureADTokenExchange"
AUTHORITY_HOST: Final = "https://login.microsoftonline.com/"


@dataclass(frozen=True)
class FederatedIdentity:
    identity: azure_native.managedidentity.UserAssignedIdentity
    credential: azure_native.managedidentity.FederatedIdentityCredential
    assignment: azure_native.authorization.RoleAssignment

    @property
    def client_id(self) -> pulumi.Output[str]:
        return self.identity.client_id

    @property
    def tenant_id(self) -> pulumi.Output[str]:
        return self.identity.tenant_id

    @property
    def principal_id(self) -> pulumi.Output[str]:
        return self.identity.principal_id


@dataclass(frozen=True)
class RoleGrant:
    """The one role the identity gets: on `scope`, with a description saying who and why."""

    scope: pulumi.Input[str]
    role_definition_id: pulumi.Input[str]
    description: str


def federated_identity(
    name: str,
    *,
    identity_name: str,
    credential_name: str,
    resource_group: pulumi.Input[str],
    location: pulumi.Input[str],
    issuer: pulumi.Input[str],
    subject: pulumi.Input[str],
    grant: RoleGrant,
    opts: pulumi.ResourceOptions,
) -> FederatedIdentity:
    """Identity, federated credential and role assignment, all three named `name`."""
    import pulumi_azure_native as azure_native

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
        federated_identity_credential_resource_name=credential_name,
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
            scope=grant.scope,
            role_definition_id=grant.role_definition_id,
            principal_id=identity.principal_id,
            principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
            description=grant.description,
        ),
        opts=opts,
    )
    return FederatedIdentity(identity, credential, assignment)
