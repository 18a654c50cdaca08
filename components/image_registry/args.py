"""Neutral arguments of the image registry: a pull-through cache of the serving image in the
stack's own cloud, so scaling up never depends on a third-party registry (or its rate limits).

The serving image is named by its upstream reference pinned by digest (`vllm/vllm-openai:v0.11.0@
sha256:...`); the stack's cache keeps the same digest, so the Deployment pulls exactly the image
the config names, from the stack's registry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pulumi

from components.common import Cloud, Placement
from components.problems import ArgProblem, ArgsValueError, Problem

MODULE: Final = "image_registry"

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_PATH = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DOCKER_HUB_HOSTS: Final = ("docker.io", "index.docker.io", "registry-1.docker.io")


class ImageRegistryArgsError(ArgsValueError):
    """Every problem found in one ImageRegistryArgs, reported at once."""

    def __init__(self, problems: Sequence[Problem | str]) -> None:
        super().__init__("ImageRegistryArgs", problems)


@dataclass(frozen=True)
class UpstreamSupport:
    """How each cloud's cache reaches one upstream registry."""

    ecr_url: str | None
    """ECR pull-through cache `upstream_registry_url`; None: ECR cannot cache it without
    credentials this project does not manage (GitHub, GitLab tokens)."""
    ecr_needs_credentials: bool
    artifact_registry: str
    """Artifact Registry remote repository: a `public_repository` preset (DOCKER_HUB) or the
    https URL of a custom remote."""
    acr: bool
    """ACR artifact cache supports it."""


# Upstream host -> support per cloud. ECR: docs.aws.amazon.com/AmazonECR/latest/userguide/
# pull-through-cache.html (Docker Hub needs a Secrets Manager secret; ECR Public, Quay and
# registry.k8s.io do not). Artifact Registry: DOCKER_HUB preset or custom remote URL. ACR:
# learn.microsoft.com/azure/container-registry/artifact-cache-overview. Read 2026-12-02.
UPSTREAMS: Final[dict[str, UpstreamSupport]] = {
    "docker.io": UpstreamSupport("registry-1.docker.io", True, "DOCKER_HUB", True),
    "quay.io": UpstreamSupport("quay.io", False, "https://quay.io", True),
    "public.ecr.aws": UpstreamSupport("public.ecr.aws", False, "https://public.ecr.aws", True),
    "registry.k8s.io": UpstreamSupport("registry.k8s.io", False, "https://registry.k8s.io", True),
    "ghcr.io": UpstreamSupport(None, True, "https://ghcr.io", True),
}


@dataclass(frozen=True)
class ImageRef:
    """An image reference pinned by digest, split into the parts a cache needs."""

    host: str
    """Upstream registry host, Docker Hub normalised to docker.io."""
    path: str
    """Repository path inside the upstream (Docker Hub official images get library/)."""
    tag: str | None
    digest: str
    """sha256:<64 hex>: what the Deployment pulls."""

    @property
    def upstream(self) -> UpstreamSupport | None:
        return UPSTREAMS.get(self.host)


def parse_image(image: str) -> ImageRef:
    """Split `[host/]path[:tag]@sha256:<64 hex>`; raises ValueError saying what is missing."""
    name, at, digest = image.strip().partition("@")
    if not at or not _DIGEST.match(digest):
        raise ValueError(
            "pinned by digest: <image>[:<tag>]@sha256:<64 hex digits> (a tag can be moved to another "
            "image; a digest cannot)"
        )
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, remainder = first, rest
    else:
        host, remainder = "docker.io", name
    if host in _DOCKER_HUB_HOSTS:
        host = "docker.io"
    last = remainder.rsplit("/", 1)[-1]
    tag: str | None = None
    if ":" in last:
        remainder, tag = remainder.rsplit(":", 1)
        if not _TAG.match(tag):
            raise ValueError(f"a valid tag (got {tag!r})")
    if not _PATH.match(remainder):
        raise ValueError(f"a lowercase repository path (got {remainder!r})")
    if host == "docker.io" and "/" not in remainder:
        remainder = f"library/{remainder}"
    return ImageRef(host, remainder, tag, digest)


def cache_problem(cloud: Cloud, ref: ImageRef) -> str | None:
    """Why `cloud` cannot cache `ref`'s registry, or None."""
    support = ref.upstream
    hosts = ", ".join(h for h, s in UPSTREAMS.items() if cloud != "aws" or s.ecr_url)
    if support is None or (cloud == "aws" and support.ecr_url is None):
        return f"an image on a registry the {cloud} cache supports ({hosts}); {ref.host} is not"
    return None


def pulled_after(image: pulumi.Output[str], ready: list[pulumi.CustomResource]) -> pulumi.Output[str]:
    """`image`, carrying a dependency on `ready`: whatever uses it (the Deployment) is created only
    once the cache exists and the nodes may pull from it."""
    return pulumi.Output.all(image, *[r.id for r in ready]).apply(lambda values: str(values[0]))


def needs_credentials(cloud: Cloud, image: str) -> bool:
    """The stack's cache can only reach `image`'s registry with an account (ECR and Docker Hub)."""
    support = parse_image(image).upstream
    return cloud == "aws" and support is not None and support.ecr_needs_credentials


def uses_credentials(cloud: Cloud, image: str) -> bool:
    """The stack's cache pulls `image`'s registry with the Docker Hub account when one is given."""
    return parse_image(image).host == "docker.io" and cloud in ("aws", "gcp")


@dataclass(frozen=True)
class RegistryCredentials:
    """Upstream account the cache pulls with (a Docker Hub user and access token)."""

    username: str
    token: pulumi.Input[str]
    """Secret; stored only in the cloud's own secret store for the cache rule."""


@dataclass(frozen=True)
class ImageRegistryArgs:
    """A pull-through cache of `image` in the stack's cloud, readable by the GPU nodes only.

    aws: ECR pull-through cache rule (Docker Hub requires `credentials`); gcp: Artifact Registry
    remote repository; azure: ACR (Standard, admin user and anonymous pull off) with a cache rule.
    """

    placement: Placement
    image: str
    """Upstream reference pinned by digest, e.g. vllm/vllm-openai:v0.11.0@sha256:<64 hex>."""
    puller: pulumi.Input[str]
    """The node identity that pulls: aws node IAM role name, gcp node service-account email,
    azure kubelet identity object id (InferenceCluster.image_puller)."""
    credentials: RegistryCredentials | None = None
    """Upstream credentials. Required for Docker Hub on aws (ECR insists); optional on gcp, where
    they lift Docker Hub's anonymous rate limit for the cache's upstream fetches; not used on azure
    (the cache pulls each digest once, anonymously, then serves every node itself)."""
    secrets_key: pulumi.Input[str] | None = None
    """gcp: the stack's Cloud KMS key (SecretsVault.key_id, same region) that encrypts the upstream
    credentials' secret; required there when `credentials` are given."""
    secrets_key_ready: Sequence[pulumi.Resource] = ()
    """What the credentials' secret waits for: the Secret Manager agent's grant on `secrets_key`
    (SecretsVault.key_ready)."""

    def __post_init__(self) -> None:
        problems: list[Problem | str] = []
        try:
            ref = parse_image(self.image)
        except ValueError as exc:
            problems.append(ArgProblem("image", self.image, str(exc)))
        else:
            cloud = self.placement.cloud
            why = cache_problem(cloud, ref)
            if why:
                problems.append(ArgProblem("image", self.image, why))
            elif (
                cloud == "aws"
                and ref.upstream
                and ref.upstream.ecr_needs_credentials
                and not self.credentials
            ):
                problems.append(
                    f"credentials are required on aws for {ref.host} (ECR pull-through cache only "
                    "authenticates with a Secrets Manager secret): set dockerHubUsername and the "
                    "secret dockerHubAccessToken"
                )
            if cloud == "gcp" and self.credentials is not None and self.secrets_key is None:
                problems.append(
                    "secrets_key is required on gcp with credentials (the upstream token's secret is "
                    "encrypted with the stack's Cloud KMS key): pass the secrets vault's key_id"
                )
        if problems:
            raise ImageRegistryArgsError(problems)
