"""S3 audit bucket with Object Lock (COMPLIANCE) under the model store's KMS key."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.audit.args import MODULE, AuditStore, AuditStoreArgs, descriptor
from components.common import type_token

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
    def __init__(self, name: str, args: AuditStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "AwsAuditStore"), name, None, opts)
        placement = args.placement
        own = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        key: Any = getattr(args.model_store, "key", None)
        if key is None:
            raise ValueError(
                f"the aws audit store of stack '{placement.stack}' needs an aws model store (with its key)"
            )
        # Object Lock can only be switched on when the bucket is created (or with an AWS support
        # token); it also turns versioning on for good.
        self.bucket = aws.s3.Bucket(
            f"{name}-audit",
            aws.s3.BucketArgs(object_lock_enabled=True, force_destroy=False, tags=dict(placement.tags)),
            opts=pulumi.ResourceOptions.merge(own, pulumi.ResourceOptions(protect=args.deletion_protection)),
        )
        after_bucket = pulumi.ResourceOptions.merge(own, pulumi.ResourceOptions(depends_on=[self.bucket]))
        public_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-audit-public-access",
            aws.s3.BucketPublicAccessBlockArgs(
                bucket=self.bucket.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
            ),
            opts=after_bucket,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-audit-ownership",
            aws.s3.BucketOwnershipControlsArgs(
                bucket=self.bucket.id,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            ),
            opts=after_bucket,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-audit-versioning",
            aws.s3.BucketVersioningInitArgs(
                bucket=self.bucket.id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            ),
            opts=after_bucket,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-audit-encryption",
            aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
                bucket=self.bucket.id,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=(
                            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                                sse_algorithm="aws:kms", kms_master_key_id=key.arn
                            )
                        ),
                        bucket_key_enabled=True,
                    )
                ],
            ),
            opts=after_bucket,
        )
        self.lock = object_lock(name, self.bucket.id, args.retention_days, own, after=versioning)
        aws.s3.BucketPolicy(
            f"{name}-audit-tls-only",
            aws.s3.BucketPolicyArgs(
                bucket=self.bucket.id,
                policy=pulumi.Output.json_dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "DenyInsecureTransport",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [self.bucket.arn, self.bucket.arn.apply(lambda a: f"{a}/*")],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ],
                    }
                ),
            ),
            opts=pulumi.ResourceOptions.merge(own, pulumi.ResourceOptions(depends_on=[public_block])),
        )
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
        self.register_outputs({"bucketName": self.bucket_name, "descriptor": self.descriptor})
