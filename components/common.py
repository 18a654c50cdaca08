"""Types shared by every capability: where a component is placed and who may read what.

These are the contract between the stack program and the components. Each capability folder
(inference_cluster, secrets_vault, object_store, dns) takes a `Placement` in its Args and, where
something must be readable by the inference workload, a `WorkloadIdentity`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import pulumi

if TYPE_CHECKING:
    from components.gcp_apis import GcpApis

Cloud = Literal["aws", "gcp", "azure", "onprem"]
"""onprem: an existing Kubernetes cluster (own hardware or any other provider), reached through a
kubeconfig; its Placement.region is the site name and its provider the Kubernetes provider."""
TYPE_PREFIX = "inference-failover"


def type_token(module: str, type_name: str) -> str:
    """`inference-failover:<module>:<Type>`, the token every component registers under."""
    return f"{TYPE_PREFIX}:{module}:{type_name}"


@dataclass(frozen=True)
class Placement:
    """Where a component's resources live, and the explicit provider that puts them there."""

    cloud: Cloud
    region: str
    """aws/gcp region or azure location."""
    provider: pulumi.ProviderResource
    """Explicit provider for `cloud`; components pass it to every child, never a default provider."""
    stack: str
    """Stack name, used in physical names so two stacks never collide."""
    gcp_project: str | None = None
    """GCP only: project id."""
    azure_resource_group: pulumi.Input[str] | None = None
    """Azure only: name of the stack's resource group."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Labels/tags on every taggable resource (already sanitised for all three clouds)."""
    # Pulumi hygiene: GCP APIs enabled once per project; names that outlive a destroy.
    gcp_apis: GcpApis | None = None
    """GCP only: enables the project's APIs once (components depend on what it returns)."""
    name_suffix: pulumi.Input[str] | None = None
    """Random per stack instance, stable across updates (infra/providers.py): appended to names
    that a cloud keeps reserved after a delete, so destroy + re-create never collides."""


@dataclass(frozen=True)
class WorkloadIdentity:
    """The cloud identity the inference pods run as (IRSA role / GCP service account / Azure UAMI).

    Vault and bucket components grant read access to exactly this principal and nothing wider.
    """

    cloud: Cloud
    principal: pulumi.Output[str]
    """aws: IAM role ARN; gcp: service-account email; azure: principal (object) id."""
    name: pulumi.Output[str]
    """aws: IAM role name (inline policies attach to it); gcp: service-account email;
    azure: resource id of the user-assigned identity."""
    client_id: pulumi.Output[str] | None
    """azure only: client id, written into the ServiceAccount annotation."""
    namespace: str
    """Kubernetes namespace of the ServiceAccount bound to this identity."""
    service_account: str
    """Kubernetes ServiceAccount name bound to this identity."""


_UNSAFE = re.compile(r"[^a-z0-9-]+")


def physical_name(*parts: str, max_length: int = 63) -> str:
    """A lowercase, dash-separated name valid for buckets, clusters and vaults on every cloud."""
    name = _UNSAFE.sub("-", "-".join(parts).lower()).strip("-")
    name = re.sub("-{2,}", "-", name)
    return name[:max_length].rstrip("-")


def unsupported_cloud(cloud: str, choices: Sequence[str], *, config_key: str = "cloud") -> ValueError:
    """The error a component factory raises for a cloud it has no class for (the `case _` of its match).

    The factories import each cloud's module inside its `case`, so a cloud's SDK is loaded only
    when a stack uses that cloud (users install only the SDK extras of their clouds).
    """
    return ValueError(
        f"stack config '{config_key}' must be one of {', '.join(choices)} (got {cloud!r}): "
        "set it in the stack's Pulumi.<stack>.yaml"
    )
