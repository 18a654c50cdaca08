"""AKS: a static Standard-SKU public IP for the inference load balancer, in the stack's own
resource group.

The address lives in the stack's resource group, not in the AKS-managed node resource group, so
it survives re-creating the Service and even the cluster. AKS is pointed at it with
`service.beta.kubernetes.io/azure-pip-name` and `azure-load-balancer-resource-group`; the AKS
cluster identity needs Network Contributor on that resource group to attach it (AKS docs, "Use
a static public IP address and DNS label with the AKS load balancer"). The role assignment can
take minutes to propagate: the cloud controller retries the load balancer until it works, and
the Service waits for the address, so the first apply converges without a manual step.
"""

from __future__ import annotations

from typing import Final

import pulumi
import pulumi_azure_native as azure_native

from components.inference_cluster.public_address import PublicAddress
from components.inference_cluster.shared import short_name

PIP_NAME_ANNOTATION: Final = "service.beta.kubernetes.io/azure-pip-name"
PIP_GROUP_ANNOTATION: Final = "service.beta.kubernetes.io/azure-load-balancer-resource-group"
NETWORK_CONTRIBUTOR_ROLE: Final = "4d97b98b-1d4f-4787-a291-c67834d212e7"
"""Built-in "Network Contributor"."""

network = azure_native.network


def static_address(
    name: str,
    *,
    opts: pulumi.ResourceOptions,
    base: str,
    resource_group: pulumi.Input[str],
    location: str,
    subscription_id: pulumi.Input[str],
    cluster_principal_id: pulumi.Input[str],
    tags: dict[str, str],
    protect: bool,
) -> PublicAddress:
    """The public IP, the role assignment AKS needs on its group and the Service annotations."""
    pip_name = short_name(base, "lb", 80)
    address = network.PublicIPAddress(
        f"{name}-lb",
        network.PublicIPAddressInitArgs(
            resource_group_name=resource_group,
            public_ip_address_name=pip_name,
            location=location,
            sku=network.PublicIPAddressSkuArgs(
                name=network.PublicIPAddressSkuName.STANDARD, tier=network.PublicIPAddressSkuTier.REGIONAL
            ),
            public_ip_allocation_method=network.IPAllocationMethod.STATIC,
            public_ip_address_version=network.IPVersion.I_PV4,
            tags=tags,
        ),
        # DNS records point here: losing the address would strand them.
        opts=opts.merge(pulumi.ResourceOptions(protect=protect)),
    )
    group_scope = pulumi.Output.all(subscription_id, resource_group).apply(
        lambda a: f"/subscriptions/{a[0]}/resourceGroups/{a[1]}"
    )
    attach = azure_native.authorization.RoleAssignment(
        f"{name}-lb-network",
        azure_native.authorization.RoleAssignmentArgs(
            principal_id=cluster_principal_id,
            principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=pulumi.Output.from_input(subscription_id).apply(
                lambda sub: (
                    f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/"
                    f"{NETWORK_CONTRIBUTOR_ROLE}"
                )
            ),
            scope=group_scope,
            description="AKS attaches the stack's static public IP to the inference load balancer.",
        ),
        opts=opts,
    )
    return PublicAddress(
        count=1,
        addresses=address.ip_address.apply(lambda ip: [ip] if ip else []),
        service_annotations={
            PIP_NAME_ANNOTATION: address.name,
            PIP_GROUP_ANNOTATION: resource_group,
        },
        ready=(address, attach),
    )
