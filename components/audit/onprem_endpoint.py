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
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws
import pulumi_minio as minio
import pulumi_vault as vault

from components.object_store.args import S3CompatibleStore
from components.object_store.onprem import key_fields, vault_provider_for


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
    secret = vault.kv.get_secret_v2_output(
        mount=endpoint.vault_kv_mount,
        name=endpoint.credentials_path,
        opts=pulumi.InvokeOutputOptions(parent=parent, provider=vault_provider),
    )
    keys = secret.data.apply(lambda d: key_fields(d, endpoint.vault_kv_mount, endpoint.credentials_path))
    access_key: pulumi.Output[str] = pulumi.Output.secret(keys.apply(lambda k: k[0]))
    secret_key: pulumi.Output[str] = pulumi.Output.secret(keys.apply(lambda k: k[1]))
    opts = pulumi.ResourceOptions(parent=parent)
    bucket_provider = minio.Provider(
        f"{name}-audit-store",
        minio.ProviderArgs(
            minio_server=urlsplit(endpoint.endpoint).netloc,
            minio_ssl=True,
            minio_region=endpoint.region,
            minio_user=access_key,
            minio_password=secret_key,
        ),
        opts=opts,
    )
    s3_provider = aws.Provider(
        f"{name}-audit-store-s3",
        aws.ProviderArgs(
            region=endpoint.region,
            access_key=access_key,
            secret_key=secret_key,
            endpoints=[aws.ProviderEndpointArgs(s3=endpoint.endpoint)],
            s3_use_path_style=True,
            skip_credentials_validation=True,
            skip_requesting_account_id=True,
            skip_metadata_api_check=True,
            skip_region_validation=True,
        ),
        opts=opts,
    )
    return bucket_provider, s3_provider


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
