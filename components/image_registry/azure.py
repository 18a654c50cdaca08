"""Azure Container Registry with an artifact-cache rule for the serving image's repository.

Standard tier: artifact cache works on every tier (Basic, Standard, Premium); Standard has the
higher read throughput a failover scale-out needs. Admin user and anonymous pull are off: only
the AKS kubelet identity, with AcrPull on this registry alone, pulls.

No AKS artifact streaming: it is a preview feature (excluded from SLAs), needs ACR Premium with
streaming artifacts generated per image, and serves only pulls by tag, while the Deployment pulls
by digest (learn.microsoft.com/azure/aks/artifact-streaming, read 2026-12-02).
"""

from __future__ import annotations

import hashlib
import re

import pulumi
import pulumi_azure_native as azure_native

from components.common import type_token
from components.image_registry.args import MODULE, ImageRegistryArgs, parse_image, pulled_after

ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
"""Built-in AcrPull: pull images, nothing else."""


def registry_name(stack: str, subscription: str, group: str) -> str:
    """5-50 letters and digits, globally unique: the stack plus a hash of where it lives. The same
    stack in the same subscription gets the same name back after a destroy (ACR has no soft delete)."""
    digest = hashlib.sha256(f"{subscription}/{group}/{stack}".encode()).hexdigest()[:10]
    return f"inference{re.sub('[^a-z0-9]', '', stack.lower())[:31]}{digest}"


def resource_group(args: ImageRegistryArgs) -> pulumi.Input[str]:
    group = args.placement.azure_resource_group
    assert group is not None
    return group


class AcrImageCache(pulumi.ComponentResource):
    """Registry, cache rule and the kubelet identity's AcrPull grant."""

    image: pulumi.Output[str]
    """`<registry>.azurecr.io/<path>@<digest>`, resolved once pulls can work."""
    pull_ready: list[pulumi.CustomResource]
    """The cache rule and the kubelet identity's AcrPull grant; `image` already depends on them."""

    def __init__(
        self, name: str, args: ImageRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "AcrImageCache"), name, None, opts)
        placement = args.placement
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        client = azure_native.authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        )
        registry = self._registry(name, args, client.subscription_id, child)
        rule = self._cache(name, args, registry, child)
        grant = self._pull_grant(name, args, registry, client.subscription_id, child)
        ref = parse_image(args.image)
        image = registry.login_server.apply(lambda server: f"{server}/{ref.path}@{ref.digest}")
        self.pull_ready = [rule, grant]
        self.image = pulled_after(image, self.pull_ready)
        self.register_outputs({"image": self.image, "registry": registry.id})

    def _registry(
        self,
        name: str,
        args: ImageRegistryArgs,
        subscription_id: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> azure_native.containerregistry.Registry:
        placement = args.placement
        group = resource_group(args)
        return azure_native.containerregistry.Registry(
            f"{name}-image-cache",
            azure_native.containerregistry.RegistryArgs(
                resource_group_name=group,
                location=placement.region,
                registry_name=pulumi.Output.all(subscription_id, group).apply(
                    lambda a: registry_name(placement.stack, a[0], a[1])
                ),
                sku=azure_native.containerregistry.SkuArgs(name="Standard"),
                admin_user_enabled=False,
                anonymous_pull_enabled=False,
                tags=dict(placement.tags),
            ),
            opts=child,
        )

    def _cache(
        self,
        name: str,
        args: ImageRegistryArgs,
        registry: azure_native.containerregistry.Registry,
        child: pulumi.ResourceOptions,
    ) -> azure_native.containerregistry.CacheRule:
        """The artifact-cache rule for the serving image's repository."""
        ref = parse_image(args.image)
        return azure_native.containerregistry.CacheRule(
            f"{name}-image-cache",
            azure_native.containerregistry.CacheRuleArgs(
                resource_group_name=resource_group(args),
                registry_name=registry.name,
                cache_rule_name="serving-image",
                source_repository=f"{ref.host}/{ref.path}",
                target_repository=ref.path,
            ),
            opts=child,
        )

    def _pull_grant(
        self,
        name: str,
        args: ImageRegistryArgs,
        registry: azure_native.containerregistry.Registry,
        subscription_id: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> azure_native.authorization.RoleAssignment:
        """AcrPull for the kubelet identity, on this registry only."""
        return azure_native.authorization.RoleAssignment(
            f"{name}-kubelet-acr-pull",
            azure_native.authorization.RoleAssignmentArgs(
                principal_id=args.puller,
                principal_type="ServicePrincipal",
                scope=registry.id,
                role_definition_id=subscription_id.apply(
                    lambda sub: (
                        f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL_ROLE}"
                    )
                ),
                description="AKS nodes pull the serving image from the stack's registry.",
            ),
            opts=child,
        )
