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
from components.object_store import s3_bucket
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
    """One KMS key + bucket with the full secure baseline (s3_bucket.harden), on one provider."""

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
        self.versioning = s3_bucket.harden(name, self.bucket, self.key.arn, opts).versioning


class AwsModelStore(ModelStore):
    """S3 model bucket + cross-region replica; see the module docstring."""

    bucket: aws.s3.Bucket
    """The model bucket, in the stack's region."""
    key: aws.kms.Key
    """The bucket's customer-managed KMS key (rotating); the audit store encrypts with it too."""
    replica_bucket: aws.s3.Bucket
    """The copy S3 replication keeps in `replica_region`."""
    replica_region: str
    """`ModelStoreArgs.secondary_region`, else the region's partner in `REPLICA_REGIONS`."""
    replica_provider: aws.Provider
    """Explicit provider for `replica_region` (the replica bucket, its key and alias)."""
    replication: aws.s3.BucketReplicationConfig
    """Replication of every object and delete marker into the replica (with RTC by default)."""
    reader_policy: aws.iam.RolePolicy
    """Read-only access for the inference workload's role: this bucket and its key only."""
    account_id: pulumi.Output[str]
    """The AWS account id (caller identity of the stack's provider)."""
    bucket_arn: pulumi.Output[str]
    """ARN of the model bucket; a standby's replication reads it from the descriptor."""
    kms_key_arn: pulumi.Output[str]
    """ARN of the bucket's key."""

    def __init__(self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "AwsModelStore"), name, None, opts)
        self.cloud = "aws"
        self.replica_region = replica_region_for(args.placement.region, args.secondary_region)
        self._own = pulumi.ResourceOptions(parent=self, provider=args.placement.provider)
        self.account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=args.placement.provider)
        ).account_id
        primary, replica = self._bucket(name, args)
        self._replication(name, args, primary, replica)
        self._reader_access(name, args)
        self._descriptor(args)
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketUri": self.bucket_uri,
                "replicaBucketName": self.replica_bucket.bucket,
                "descriptor": self.descriptor,
            }
        )

    def _bucket(self, name: str, args: ModelStoreArgs) -> tuple[_SecureBucket, _SecureBucket]:
        """The model bucket, and its replica through an explicit provider for the replica region."""
        placement = args.placement
        primary = _SecureBucket(
            f"{name}-models",
            region=placement.region,
            account_id=self.account_id,
            stack=placement.stack,
            args=args,
            opts=self._own,
        )
        self.replica_provider = aws.Provider(
            f"{name}-models-replica-{self.replica_region}",
            aws.ProviderArgs(
                region=self.replica_region,
                default_tags=aws.ProviderDefaultTagsArgs(tags=dict(placement.tags)),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        replica = _SecureBucket(
            f"{name}-models-replica",
            region=self.replica_region,
            account_id=self.account_id,
            stack=placement.stack,
            args=args,
            opts=pulumi.ResourceOptions(parent=self, provider=self.replica_provider),
        )
        self.bucket, self.key, self.replica_bucket = primary.bucket, primary.key, replica.bucket
        return primary, replica

    def _replication(
        self, name: str, args: ModelStoreArgs, primary: _SecureBucket, replica: _SecureBucket
    ) -> None:
        """S3 replication into the replica: a role S3 assumes, and the replication rule."""
        placement = args.placement
        role = aws.iam.Role(
            f"{name}-models-replication",
            aws.iam.RoleArgs(
                description=f"S3 replication of the {placement.stack} model bucket to {self.replica_region}",
                assume_role_policy=pulumi.Output.json_dumps(S3_ASSUMES_ROLE),
            ),
            opts=self._own,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-models-replication",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.json_dumps(
                    _replication_policy(primary, replica, placement.region, self.replica_region)
                ),
            ),
            opts=self._own,
        )
        self.replication = aws.s3.BucketReplicationConfig(
            f"{name}-models-replication",
            aws.s3.BucketReplicationConfigArgs(
                bucket=primary.bucket.id,
                role=role.arn,
                rules=[_replication_rule(self.replica_region, replica, args.fast_replication)],
            ),
            # S3 refuses a replication configuration until both buckets are versioned.
            opts=pulumi.ResourceOptions.merge(
                self._own,
                pulumi.ResourceOptions(depends_on=[primary.versioning, replica.versioning, role_policy]),
            ),
        )

    def _reader_access(self, name: str, args: ModelStoreArgs) -> None:
        """The inference workload's role may list the bucket, read objects and decrypt them."""
        self.reader_policy = aws.iam.RolePolicy(
            f"{name}-models-read",
            aws.iam.RolePolicyArgs(
                role=args.reader.name,
                policy=pulumi.Output.json_dumps(_reader_policy(self.bucket.arn, self.key.arn)),
            ),
            opts=self._own,
        )

    def _descriptor(self, args: ModelStoreArgs) -> None:
        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.kms_key_arn = self.key.arn
        self.bucket_uri = self.bucket.bucket.apply(lambda b: f"s3://{b}")
        descriptor: dict[str, Any] = {
            CLOUD: "aws",
            REGION: args.placement.region,
            BUCKET: self.bucket_name,
            URI: self.bucket_uri,
            ACCOUNT: self.account_id,
            BUCKET_ARN: self.bucket_arn,
            KMS_KEY_ARN: self.kms_key_arn,
            "replica": {
                REGION: self.replica_region,
                BUCKET: self.replica_bucket.bucket,
                BUCKET_ARN: self.replica_bucket.arn,
                "replicationTimeControl": args.fast_replication,
            },
        }
        self.descriptor = pulumi.Output.from_input(descriptor).apply(dict)


S3_ASSUMES_ROLE: Final = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
"""Trust policy of the replication role: only the S3 service assumes it."""


def _replication_rule(
    replica_region: str, replica: _SecureBucket, rtc: bool
) -> aws.s3.BucketReplicationConfigRuleArgs:
    """Every object (SSE-KMS ones included) and delete marker, re-encrypted with the replica's key;
    with Replication Time Control and its metrics when `rtc`."""
    s3 = aws.s3
    minutes = REPLICATION_TIME_MINUTES
    destination = s3.BucketReplicationConfigRuleDestinationArgs(
        bucket=replica.bucket.arn,
        storage_class="STANDARD",
        encryption_configuration=s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
            replica_kms_key_id=replica.key.arn,
        ),
        replication_time=(
            s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                status="Enabled",
                time=s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(minutes=minutes),
            )
            if rtc
            else None
        ),
        metrics=(
            s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                status="Enabled",
                event_threshold=s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                    minutes=minutes
                ),
            )
            if rtc
            else None
        ),
    )
    return s3.BucketReplicationConfigRuleArgs(
        id=f"models-to-{replica_region}",
        status="Enabled",
        priority=1,
        filter=s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
        delete_marker_replication=s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(status="Enabled"),
        source_selection_criteria=s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
            sse_kms_encrypted_objects=(
                s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                    status="Enabled"
                )
            ),
        ),
        destination=destination,
    )


def _reader_policy(bucket_arn: pulumi.Output[str], key_arn: pulumi.Output[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListModelBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn},
            {
                "Sid": "ReadModelObjects",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": bucket_arn.apply(lambda a: f"{a}/*"),
            },
            {"Sid": "DecryptModelObjects", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn},
        ],
    }


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
