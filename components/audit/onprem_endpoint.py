"""The audit bucket's own S3 endpoint, for a site whose store has no Object Lock (Garage).

The write-once audit trail is never downgraded: when the site's store lacks `object-lock`
(components/object_store/s3_capabilities.py), the audit bucket goes to another S3 API that has
it (`auditS3Endpoint`: a MinIO or Ceph RGW elsewhere, or a cloud's S3 endpoint), with its own key
in the site's vault (`auditS3CredentialsPath`, same fields as the model store's). The two
providers are built exactly as the model store's (components/object_store/onprem.py): the minio
provider creates the lock-enabled bucket, the aws provider pointed at the endpoint sets versioning,
SSE-S3 and the COMPLIANCE retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.object_store.args import S3CompatibleStore
from components.object_store.onprem import s3_endpoint_providers, vault_provider_for


@dataclass(frozen=True)
class AuditEndpoint:
    """What OnpremAuditStore reads from the model store, for the audit endpoint instead."""

    bucket_provider: pulumi.ProviderResource
    s3_provider: pulumi.ProviderResource
    settings: S3CompatibleStore


def audit_target(name: str, model_store: Any, parent: pulumi.Resource, stack: str) -> Any:
    """The store the audit bucket goes on: the site's model store, or, when the site's store has
    no Object Lock, `settings.audit_endpoint` with providers of its own. Refuses a store without
    Object Lock (never a silent downgrade of the audit trail)."""
    endpoint = getattr(getattr(model_store, "settings", None), "audit_endpoint", None)
    target: Any = model_store
    if endpoint is not None:
        bucket_provider, s3_provider = endpoint_providers(name, endpoint, model_store, parent)
        target = AuditEndpoint(bucket_provider, s3_provider, endpoint)
    require_object_lock(target.settings, stack)
    return target


def endpoint_providers(
    name: str, endpoint: S3CompatibleStore, model_store: Any, parent: pulumi.Resource
) -> tuple[pulumi.ProviderResource, pulumi.ProviderResource]:
    """(minio provider, aws provider) for `endpoint`, with the key read from the site's vault."""
    vault_provider = getattr(model_store, "vault_provider", None) or vault_provider_for(
        f"{name}-audit", endpoint, parent
    )
    return s3_endpoint_providers(f"{name}-audit-store", endpoint, vault_provider, parent)


def require_object_lock(settings: Any, stack: str) -> None:
    """The component's own guard: a bucket on a store without Object Lock is no audit store."""
    capabilities = getattr(settings, "capabilities", None)
    if capabilities is not None and "object-lock" not in capabilities:
        raise ValueError(
            f"the onprem audit store of stack '{stack}' needs Object Lock, which the site's store "
            f"at {settings.endpoint} lacks (s3Capabilities: {sorted(capabilities)}): set "
            "S3CompatibleStore.audit_endpoint to an S3 endpoint with Object Lock (stack config "
            "auditS3Endpoint and auditS3CredentialsPath)"
        )
