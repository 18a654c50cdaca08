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

BUCKET_NAME_MAX = 63


def audit_bucket_name(stack: str, site: str) -> str:
    """<stack>-audit-<site>: unique per stack and site, within S3's 63 characters."""
    return physical_name(stack, "audit", site, max_length=BUCKET_NAME_MAX)


class OnpremAuditStore(AuditStore):
    def __init__(self, name: str, args: AuditStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "OnpremAuditStore"), name, None, opts)
        placement = args.placement
        store: Any = args.model_store
        bucket_provider = getattr(store, "bucket_provider", None)
        s3_provider = getattr(store, "s3_provider", None)
        settings = getattr(store, "settings", None)
        if bucket_provider is None or s3_provider is None or settings is None:
            raise ValueError(
                f"the onprem audit store of stack '{placement.stack}' needs the onprem model store "
                "(its S3-compatible endpoint and providers): pass the stack's OnpremModelStore"
            )
        # A site store without Object Lock (Garage): the bucket goes to its audit endpoint.
        store = audit_target(name, store, self, placement.stack)
        bucket_provider, s3_provider, settings = store.bucket_provider, store.s3_provider, store.settings
        self.bucket = minio.S3Bucket(
            f"{name}-audit",
            minio.S3BucketArgs(
                bucket=audit_bucket_name(placement.stack, placement.region),
                acl="private",
                object_locking=True,
                force_destroy=False,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, provider=bucket_provider, protect=args.deletion_protection
            ),
        )
        s3 = pulumi.ResourceOptions(parent=self, provider=s3_provider, depends_on=[self.bucket])
        versioning = aws.s3.BucketVersioning(
            f"{name}-audit-versioning",
            aws.s3.BucketVersioningInitArgs(
                bucket=self.bucket.bucket,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            ),
            opts=s3,
        )
        if getattr(settings, "encryption", "sse-s3") == "sse-s3":
            aws.s3.BucketServerSideEncryptionConfiguration(
                f"{name}-audit-encryption",
                aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
                    bucket=self.bucket.bucket,
                    rules=[
                        aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                            apply_server_side_encryption_by_default=(
                                aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                                    sse_algorithm="AES256"
                                )
                            ),
                        )
                    ],
                ),
                opts=s3,
            )
        self.lock = object_lock(name, self.bucket.bucket, args.retention_days, s3, after=versioning)
        self.bucket_name = self.bucket.bucket
        endpoint = str(settings.endpoint)
        base = descriptor(
            cloud="onprem",
            region=placement.region,
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
        self.register_outputs({"bucketName": self.bucket_name, "descriptor": self.descriptor})
