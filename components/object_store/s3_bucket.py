"""The S3 bucket sub-resources every bucket of this project gets, in one place.

Used by the S3 model bucket and its replica (aws.py), the S3 audit bucket (components/audit/aws.py)
and the buckets on a site's S3-compatible store (onprem.py, components/audit/onprem.py), so that
"hardened" means the same everywhere. Each resource is named `<bucket name>-<what>`, a child of
the caller's options, and waits for the bucket (`bucket_opts`).

- `harden` (AWS): all public access blocked, ACLs disabled (owner enforced), versioning, SSE-KMS
  with a bucket key under the caller's customer-managed key, and a bucket policy denying plain
  HTTP. The policy waits for the public access block: S3 rejects a policy change racing it.
- `version_and_encrypt` (S3-compatible stores): versioning and, with `sse-s3`, AES256 default
  encryption; what those stores implement (onprem.py says why the rest is left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

_SSE_BY_DEFAULT = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs


@dataclass(frozen=True)
class HardenedBucket:
    """The sub-resources later steps depend on."""

    public_access_block: aws.s3.BucketPublicAccessBlock
    versioning: aws.s3.BucketVersioning
    encryption: aws.s3.BucketServerSideEncryptionConfiguration


def harden(
    name: str, bucket: aws.s3.Bucket, kms_key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> HardenedBucket:
    """The secure baseline of an AWS bucket named `name` (see the module docstring)."""
    after_bucket = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[bucket]))
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        aws.s3.BucketPublicAccessBlockArgs(
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        ),
        opts=after_bucket,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        aws.s3.BucketOwnershipControlsArgs(
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        ),
        opts=after_bucket,
    )
    versioning = versioned(name, bucket.id, after_bucket)
    encryption = default_encryption(
        name,
        bucket.id,
        _SSE_BY_DEFAULT(sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn),
        after_bucket,
        bucket_key_enabled=True,
    )
    aws.s3.BucketPolicy(
        f"{name}-tls-only",
        aws.s3.BucketPolicyArgs(
            bucket=bucket.id, policy=pulumi.Output.json_dumps(tls_only_policy(bucket.arn))
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[public_access_block])),
    )
    return HardenedBucket(public_access_block, versioning, encryption)


def version_and_encrypt(
    name: str, bucket_name: pulumi.Input[str], encryption: str, opts: pulumi.ResourceOptions
) -> tuple[aws.s3.BucketVersioning, aws.s3.BucketServerSideEncryptionConfiguration | None]:
    """Versioning and (`sse-s3`) AES256 default encryption of a bucket on an S3-compatible store;
    `opts` already waits for the bucket."""
    return versioned(name, bucket_name, opts), encrypt(name, bucket_name, encryption, opts)


def encrypt(
    name: str, bucket_name: pulumi.Input[str], encryption: str, opts: pulumi.ResourceOptions
) -> aws.s3.BucketServerSideEncryptionConfiguration | None:
    """`sse-s3`: AES256 default encryption of a bucket on an S3-compatible store; else None."""
    if encryption != "sse-s3":
        return None
    return default_encryption(name, bucket_name, _SSE_BY_DEFAULT(sse_algorithm="AES256"), opts)


def versioned(name: str, bucket: pulumi.Input[str], opts: pulumi.ResourceOptions) -> aws.s3.BucketVersioning:
    return aws.s3.BucketVersioning(
        f"{name}-versioning",
        aws.s3.BucketVersioningInitArgs(
            bucket=bucket,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        ),
        opts=opts,
    )


def default_encryption(
    name: str,
    bucket: pulumi.Input[str],
    by_default: aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs,
    opts: pulumi.ResourceOptions,
    *,
    bucket_key_enabled: bool | None = None,
) -> aws.s3.BucketServerSideEncryptionConfiguration:
    return aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
            bucket=bucket,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=by_default, bucket_key_enabled=bucket_key_enabled
                )
            ],
        ),
        opts=opts,
    )


def tls_only_policy(bucket_arn: pulumi.Output[str]) -> dict[str, Any]:
    """Bucket policy: every request over plain HTTP is denied, whoever makes it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, bucket_arn.apply(lambda a: f"{a}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
