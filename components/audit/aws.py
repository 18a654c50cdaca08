"""S3 audit bucket with Object Lock (COMPLIANCE) under the model store's KMS key."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.audit.args import MODULE, AuditStore, AuditStoreArgs, descriptor
from components.common import type_token
from components.object_store import s3_bucket

LOCK_MODE = "COMPLIANCE"


def object_lock(
    name: str,
    bucket: pulumi.Input[str],
    retention_days: int,
    opts: pulumi.ResourceOptions,
    *,
    after: pulumi.Resource,
) -> aws.s3.BucketObjectLockConfiguration:
    """Default COMPLIANCE retention on a lock-enabled bucket, once its versioning is on (S3 and
    the S3-compatible site stores alike)."""
    return aws.s3.BucketObjectLockConfiguration(
        f"{name}-audit-lock",
        aws.s3.BucketObjectLockConfigurationInitArgs(
            bucket=bucket,
            object_lock_enabled="Enabled",
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode=LOCK_MODE, days=retention_days
                )
            ),
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[after])),
    )


class AwsAuditStore(AuditStore):
    """S3 audit bucket with Object Lock (COMPLIANCE), hardened like the model bucket."""

    bucket: aws.s3.Bucket
    """The lock-enabled audit bucket."""
    lock: aws.s3.BucketObjectLockConfiguration
    """Default COMPLIANCE retention of `retention_days` on every new record version."""

    def __init__(self, name: str, args: AuditStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "AwsAuditStore"), name, None, opts)
        self._own = pulumi.ResourceOptions(parent=self, provider=args.placement.provider)
        key = self._key(args)
        self._bucket(name, args, key)
        self._descriptor(args)
        self.register_outputs({"bucketName": self.bucket_name, "descriptor": self.descriptor})

    def _key(self, args: AuditStoreArgs) -> Any:
        """The model store's KMS key: the records are under the stack's own key."""
        key: Any = getattr(args.model_store, "key", None)
        if key is None:
            stack = args.placement.stack
            raise ValueError(
                f"the aws audit store of stack '{stack}' needs an aws model store (with its key)"
            )
        return key

    def _bucket(self, name: str, args: AuditStoreArgs, key: Any) -> None:
        # Object Lock can only be switched on when the bucket is created (or with an AWS support
        # token); it also turns versioning on for good.
        self.bucket = aws.s3.Bucket(
            f"{name}-audit",
            aws.s3.BucketArgs(object_lock_enabled=True, force_destroy=False, tags=dict(args.placement.tags)),
            opts=pulumi.ResourceOptions.merge(
                self._own, pulumi.ResourceOptions(protect=args.deletion_protection)
            ),
        )
        hardened = s3_bucket.harden(f"{name}-audit", self.bucket, key.arn, self._own)
        self.lock = object_lock(
            name, self.bucket.id, args.retention_days, self._own, after=hardened.versioning
        )

    def _descriptor(self, args: AuditStoreArgs) -> None:
        placement = args.placement
        self.bucket_name = self.bucket.bucket
        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        ).account_id
        self.descriptor = descriptor(
            cloud="aws",
            region=placement.region,
            bucket=self.bucket_name,
            uri=self.bucket_name.apply(lambda b: f"s3://{b}"),
            account=account,
            args=args,
            lock=f"s3-object-lock-{LOCK_MODE.lower()}",
        )
