"""Write-once audit bucket on the site's S3-compatible store (cloud: onprem).

It reuses the model store's two providers (components/object_store/onprem.py): the minio
provider creates the bucket, because only at creation can Object Lock be switched on
(`object_locking`); the aws provider pointed at the endpoint sets the default retention
(COMPLIANCE, `retention_days`), versioning and SSE-S3, plain S3 bucket sub-resources every
S3-compatible store with Object Lock implements.

Whether "write-once" holds is the store's doing: Ceph RGW and MinIO refuse to delete or
overwrite a version under a COMPLIANCE retention; SeaweedFS accepts the retention but does not
enforce it on DELETE (seaweedfs/seaweedfs#7194, #11333), and Garage has no Object Lock: a site
whose store lacks it (`s3Capabilities`) puts this bucket on `auditS3Endpoint` instead
(components/audit/onprem_endpoint.py), never on a store that cannot lock it. The
descriptor says which lock was asked for; `failover audit verify` still detects overwritten or
deleted records through their versions and hash chain.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws
import pulumi_minio as minio

from components.audit.args import MODULE, AuditStore, AuditStoreArgs, descriptor
from components.audit.aws import LOCK_MODE, object_lock
from components.audit.onprem_endpoint import audit_target
from components.common import physical_name, type_token
from components.object_store import s3_bucket

BUCKET_NAME_MAX = 63


def audit_bucket_name(stack: str, site: str) -> str:
    """<stack>-audit-<site>: unique per stack and site, within S3's 63 characters."""
    return physical_name(stack, "audit", site, max_length=BUCKET_NAME_MAX)


class OnpremAuditStore(AuditStore):
    """Lock-enabled bucket on the site's store through the model store's providers, or on the
    site's audit endpoint (`auditS3Endpoint`) when its store has no Object Lock."""

    bucket: minio.S3Bucket
    """The audit bucket, created with Object Lock on."""
    lock: aws.s3.BucketObjectLockConfiguration
    """Default COMPLIANCE retention of `retention_days` (enforced by the store, or not: above)."""

    def __init__(self, name: str, args: AuditStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "OnpremAuditStore"), name, None, opts)
        # A site store without Object Lock (Garage): the bucket goes to its audit endpoint.
        store = audit_target(name, self._model_store(args), self, args.placement.stack)
        self._bucket(name, args, store)
        self._descriptor(args, store.settings)
        self.register_outputs({"bucketName": self.bucket_name, "descriptor": self.descriptor})

    def _model_store(self, args: AuditStoreArgs) -> Any:
        """The onprem model store: its providers and settings are reused."""
        store: Any = args.model_store
        if any(getattr(store, attr, None) is None for attr in ("bucket_provider", "s3_provider", "settings")):
            raise ValueError(
                f"the onprem audit store of stack '{args.placement.stack}' needs the onprem model store "
                "(its S3-compatible endpoint and providers): pass the stack's OnpremModelStore"
            )
        return store

    def _bucket(self, name: str, args: AuditStoreArgs, store: Any) -> None:
        """The bucket (Object Lock only at creation), versioning and SSE-S3, then the retention."""
        placement = args.placement
        self.bucket = minio.S3Bucket(
            f"{name}-audit",
            minio.S3BucketArgs(
                bucket=audit_bucket_name(placement.stack, placement.region),
                acl="private",
                object_locking=True,
                force_destroy=False,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, provider=store.bucket_provider, protect=args.deletion_protection
            ),
        )
        s3 = pulumi.ResourceOptions(parent=self, provider=store.s3_provider, depends_on=[self.bucket])
        encryption = getattr(store.settings, "encryption", "sse-s3")
        versioning, _ = s3_bucket.version_and_encrypt(f"{name}-audit", self.bucket.bucket, encryption, s3)
        self.lock = object_lock(name, self.bucket.bucket, args.retention_days, s3, after=versioning)

    def _descriptor(self, args: AuditStoreArgs, settings: Any) -> None:
        self.bucket_name = self.bucket.bucket
        endpoint = str(settings.endpoint)
        base = descriptor(
            cloud="onprem",
            region=args.placement.region,
            bucket=self.bucket_name,
            uri=self.bucket_name.apply(lambda b: f"s3://{b}"),
            account=urlsplit(endpoint).hostname or endpoint,
            args=args,
            lock=f"s3-object-lock-{LOCK_MODE.lower()}",
        )
        # What `failover` needs to append records (cutover/verify.StoreLocation):
        # the endpoint, and where in the site's vault the key it writes with lives (the deployer's;
        # the operator running the CLI holds VAULT_TOKEN for that vault).
        site = {
            "endpoint": endpoint,
            "s3Region": str(getattr(settings, "region", "us-east-1")),
            "vaultAddress": str(getattr(settings, "vault_address", "")),
            "vaultKvMount": str(getattr(settings, "vault_kv_mount", "")),
            "readCredentialsPath": str(getattr(settings, "credentials_path", "")),
        }
        self.descriptor = base.apply(lambda d: {**d, **site})
