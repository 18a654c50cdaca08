"""S3 model store: versioned, SSE-KMS, private, replicated to a second region.

Two buckets with the same secure baseline (customer-managed KMS key with rotation, bucket keys,
versioning, all public access blocked, ACLs disabled, TLS-only bucket policy): the model bucket in
the stack's region and its replica in `REPLICA_REGIONS[region]`, created with an explicit provider
for that region. S3 replication (with Replication Time Control unless `fast_replication=False`)
copies every object and delete marker into the replica.
"""

from __future__ import annotations

from typing import Any, Final

import pulumi
import pulumi_aws as aws

from components.common import physical_name, type_token
from components.object_store.args import (
    ACCOUNT,
    BUCKET,
    BUCKET_ARN,
    CLOUD,
    KMS_KEY_ARN,
    MODULE,
    REGION,
    URI,
    ModelStore,
    ModelStoreArgs,
)

REPLICA_REGIONS: Final[dict[str, str]] = {
    # Partners are enabled by default in every account (no opt-in region as a target) and as close
    # as possible while outside the source region. Some leave the country or continent (ca-central-1,
    # sa-east-1, me-central-1): pass ModelStoreArgs(secondary_region=...) where residency matters.
    "us-east-1": "us-west-2",
    "us-east-2": "us-west-2",
    "us-west-1": "us-east-2",
    "us-west-2": "us-east-1",
    "ca-central-1": "us-east-1",
    "eu-west-1": "eu-central-1",
    "eu-west-2": "eu-west-1",
    "eu-west-3": "eu-central-1",
    "eu-central-1": "eu-west-1",
    "eu-central-2": "eu-central-1",
    "eu-north-1": "eu-west-1",
    "eu-south-1": "eu-central-1",
    "eu-south-2": "eu-west-3",
    "ap-south-1": "ap-southeast-1",
    "ap-northeast-1": "ap-northeast-3",
    "ap-northeast-2": "ap-northeast-1",
    "ap-northeast-3": "ap-northeast-1",
    "ap-southeast-1": "ap-southeast-2",
    "ap-southeast-2": "ap-southeast-1",
    "sa-east-1": "us-east-1",
    "me-central-1": "eu-central-1",
}
REPLICATION_TIME_MINUTES: Final = 15
"""S3 Replication Time Control: 99.99 % of objects within 15 minutes (the only value S3 accepts)."""


def replica_region_for(region: str, override: str | None = None) -> str:
    """The S3 replica region for `region`: `override` if given, else the pairing above."""
    if override is not None:
        return override
    try:
        return REPLICA_REGIONS[region]
    except KeyError:
        raise ValueError(
            f"no S3 replica region is paired with aws region {region!r}: expected one of "
            f"{', '.join(sorted(REPLICA_REGIONS))}; pass ModelStoreArgs(secondary_region='<region>') "
            "in infra/program.py or add the pair to REPLICA_REGIONS in components/object_store/aws.py"
        ) from None


def bucket_name_for(stack: str, account_id: str, region: str) -> str:
    """Globally unique and readable: <stack>-models-<account>-<region> (at most 63 characters)."""
    return f"{physical_name(stack, max_length=30)}-models-{account_id}-{region}"


class _SecureBucket:
    """One KMS key + bucket with the full secure baseline, on one provider (region)."""

    def __init__(
        self,
        name: str,
        *,
        region: str,
        account_id: pulumi.Output[str],
        stack: str,
        args: ModelStoreArgs,
        opts: pulumi.ResourceOptions,
    ) -> None:
        data_opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(protect=args.deletion_protection)
        )
        self.key = aws.kms.Key(
            f"{name}-key",
            aws.kms.KeyArgs(
                description=f"Model artefacts of stack {stack} ({region})",
                enable_key_rotation=True,
                deletion_window_in_days=args.kms_deletion_window_days,
            ),
            opts=data_opts,
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            aws.kms.AliasArgs(
                name=f"alias/{physical_name(stack, 'models', region)}", target_key_id=self.key.key_id
            ),
            opts=opts,
        )
        self.bucket = aws.s3.Bucket(
            name,
            aws.s3.BucketArgs(
                bucket=account_id.apply(lambda account: bucket_name_for(stack, account, region)),
                force_destroy=False,
            ),
            opts=data_opts,
        )
        bucket_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.bucket]))
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            aws.s3.BucketPublicAccessBlockArgs(
                bucket=self.bucket.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
            ),
            opts=bucket_opts,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            aws.s3.BucketOwnershipControlsArgs(
                bucket=self.bucket.id,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            ),
            opts=bucket_opts,
        )
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            aws.s3.BucketVersioningInitArgs(
                bucket=self.bucket.id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            ),
            opts=bucket_opts,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
                bucket=self.bucket.id,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=(
                            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                                sse_algorithm="aws:kms",
                                kms_master_key_id=self.key.arn,
                            )
                        ),
                        bucket_key_enabled=True,
                    )
                ],
            ),
            opts=bucket_opts,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
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
            # S3 rejects a policy change racing the public access block on the same bucket.
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[self.public_access_block])
            ),
        )


class AwsModelStore(ModelStore):
    """S3 model bucket + cross-region replica; see the module docstring."""

    def __init__(self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "AwsModelStore"), name, None, opts)
        self.cloud = "aws"
        placement = args.placement
        replica_region = replica_region_for(placement.region, args.secondary_region)
        own = pulumi.ResourceOptions(parent=self, provider=placement.provider)

        caller = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        )
        account_id = caller.account_id

        primary = _SecureBucket(
            f"{name}-models",
            region=placement.region,
            account_id=account_id,
            stack=placement.stack,
            args=args,
            opts=own,
        )

        self.replica_provider = aws.Provider(
            f"{name}-models-replica-{replica_region}",
            aws.ProviderArgs(
                region=replica_region,
                default_tags=aws.ProviderDefaultTagsArgs(tags=dict(placement.tags)),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        replica = _SecureBucket(
            f"{name}-models-replica",
            region=replica_region,
            account_id=account_id,
            stack=placement.stack,
            args=args,
            opts=pulumi.ResourceOptions(parent=self, provider=self.replica_provider),
        )

        role = aws.iam.Role(
            f"{name}-models-replication",
            aws.iam.RoleArgs(
                description=f"S3 replication of the {placement.stack} model bucket to {replica_region}",
                assume_role_policy=pulumi.Output.json_dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "s3.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                ),
            ),
            opts=own,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-models-replication",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.json_dumps(
                    _replication_policy(primary, replica, placement.region, replica_region)
                ),
            ),
            opts=own,
        )
        rtc = args.fast_replication
        minutes = REPLICATION_TIME_MINUTES
        destination = aws.s3.BucketReplicationConfigRuleDestinationArgs(
            bucket=replica.bucket.arn,
            storage_class="STANDARD",
            encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                replica_kms_key_id=replica.key.arn,
            ),
            replication_time=(
                aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                    status="Enabled",
                    time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(
                        minutes=minutes
                    ),
                )
                if rtc
                else None
            ),
            metrics=(
                aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                    status="Enabled",
                    event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                        minutes=minutes
                    ),
                )
                if rtc
                else None
            ),
        )
        self.replication = aws.s3.BucketReplicationConfig(
            f"{name}-models-replication",
            aws.s3.BucketReplicationConfigArgs(
                bucket=primary.bucket.id,
                role=role.arn,
                rules=[
                    aws.s3.BucketReplicationConfigRuleArgs(
                        id=f"models-to-{replica_region}",
                        status="Enabled",
                        priority=1,
                        filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                        delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                            status="Enabled"
                        ),
                        source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                            sse_kms_encrypted_objects=(
                                aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                                    status="Enabled"
                                )
                            ),
                        ),
                        destination=destination,
                    )
                ],
            ),
            # S3 refuses a replication configuration until both buckets are versioned.
            opts=pulumi.ResourceOptions.merge(
                own, pulumi.ResourceOptions(depends_on=[primary.versioning, replica.versioning, role_policy])
            ),
        )

        reader = args.reader
        self.reader_policy = aws.iam.RolePolicy(
            f"{name}-models-read",
            aws.iam.RolePolicyArgs(
                role=reader.name,
                policy=pulumi.Output.json_dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "ListModelBucket",
                                "Effect": "Allow",
                                "Action": "s3:ListBucket",
                                "Resource": primary.bucket.arn,
                            },
                            {
                                "Sid": "ReadModelObjects",
                                "Effect": "Allow",
                                "Action": "s3:GetObject",
                                "Resource": primary.bucket.arn.apply(lambda a: f"{a}/*"),
                            },
                            {
                                "Sid": "DecryptModelObjects",
                                "Effect": "Allow",
                                "Action": "kms:Decrypt",
                                "Resource": primary.key.arn,
                            },
                        ],
                    }
                ),
            ),
            opts=own,
        )

        self.bucket = primary.bucket
        self.key = primary.key
        self.replica_bucket = replica.bucket
        self.replica_region = replica_region
        self.account_id = account_id
        self.bucket_name = primary.bucket.bucket
        self.bucket_arn = primary.bucket.arn
        self.kms_key_arn = primary.key.arn
        self.bucket_uri = primary.bucket.bucket.apply(lambda b: f"s3://{b}")
        descriptor: dict[str, Any] = {
            CLOUD: "aws",
            REGION: placement.region,
            BUCKET: self.bucket_name,
            URI: self.bucket_uri,
            ACCOUNT: account_id,
            BUCKET_ARN: self.bucket_arn,
            KMS_KEY_ARN: self.kms_key_arn,
            "replica": {
                REGION: replica_region,
                BUCKET: replica.bucket.bucket,
                BUCKET_ARN: replica.bucket.arn,
                "replicationTimeControl": rtc,
            },
        }
        self.descriptor = pulumi.Output.from_input(descriptor).apply(dict)
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketUri": self.bucket_uri,
                "replicaBucketName": replica.bucket.bucket,
                "descriptor": self.descriptor,
            }
        )


def _replication_policy(
    source: _SecureBucket, replica: _SecureBucket, region: str, replica_region: str
) -> dict[str, Any]:
    source_objects = source.bucket.arn.apply(lambda a: f"{a}/*")
    replica_objects = replica.bucket.arn.apply(lambda a: f"{a}/*")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadReplicationConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": source.bucket.arn,
            },
            {
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                "Resource": source_objects,
            },
            {
                "Sid": "WriteReplica",
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                "Resource": replica_objects,
            },
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": source.key.arn,
                "Condition": {"StringLike": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            },
            {
                "Sid": "EncryptReplica",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": replica.key.arn,
                "Condition": {"StringLike": {"kms:ViaService": f"s3.{replica_region}.amazonaws.com"}},
            },
        ],
    }
