"""The serving image in the stack's own registry: ECR pull-through cache, Artifact Registry remote
repository or ACR cache rule, each readable by the stack's GPU nodes only.

registry = create_image_registry("primary", ImageRegistryArgs(placement=..., image=..., puller=...))
InferenceWorkloadArgs(image=registry.image, ...)   # <stack registry>/<path>@sha256:<digest>
"""

from __future__ import annotations

from typing import Protocol

import pulumi

from components.common import unsupported_cloud
from components.image_registry.args import (
    UPSTREAMS,
    ImageRef,
    ImageRegistryArgs,
    ImageRegistryArgsError,
    RegistryCredentials,
    parse_image,
)

__all__ = [
    "UPSTREAMS",
    "ImageRef",
    "ImageRegistry",
    "ImageRegistryArgs",
    "ImageRegistryArgsError",
    "RegistryCredentials",
    "create_image_registry",
    "parse_image",
]


class ImageRegistry(Protocol):
    """What every cloud's registry component exposes."""

    image: pulumi.Output[str]
    """The serving image in this stack's registry, pinned by the same digest as the config."""
    pull_ready: list[pulumi.CustomResource]
    """The cache and the nodes' pull grant; `image` already depends on them."""


def create_image_registry(
    name: str, args: ImageRegistryArgs, opts: pulumi.ResourceOptions | None = None
) -> ImageRegistry:
    """The registry cache for `args.placement.cloud` (onprem sites already serve the image).

    Each cloud's module (and so its Pulumi SDK) is imported only when a stack uses that cloud.
    """
    match args.placement.cloud:
        case "aws":
            from components.image_registry.aws import EcrImageCache

            return EcrImageCache(name, args, opts)
        case "gcp":
            from components.image_registry.gcp import ArtifactRegistryImageCache

            return ArtifactRegistryImageCache(name, args, opts)
        case "azure":
            from components.image_registry.azure import AcrImageCache

            return AcrImageCache(name, args, opts)
        case _:
            raise unsupported_cloud(args.placement.cloud, ("aws", "gcp", "azure"))
