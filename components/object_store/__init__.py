"""Replicated object storage for model artefacts, and cross-cloud replication between stacks.

    store = create_model_store(name, ModelStoreArgs(placement=..., reader=identity))
    store.bucket_uri   # s3://bucket | gs://bucket | https://<account>.blob.core.windows.net/models
    store.descriptor   # exported as `modelStore`: cloud, region, bucket, uri, account, ...

    replication = create_cross_cloud_replication(name, CrossCloudReplicationArgs(...))  # standby only
    replication.descriptor  # mechanism, schedule, source, target, identities, job

aws: S3 (versioning, SSE-KMS, public access blocked, replication to a second region);
gcp: GCS dual-region (versioning, CMEK, uniform access, public access prevention);
azure: Blob Storage RA-GZRS (versioning, soft delete, no public or shared-key access).
Cross-cloud replication is keyless and read-only on the primary; see `replication`.

Cloud SDKs are imported only for the clouds a stack uses. The parity verifier that compares two
stores is the CLI's (`cutover/verify.py`).
"""

from __future__ import annotations

import pulumi

from components.common import unsupported_cloud
from components.object_store.args import (
    CrossCloudReplicationArgs,
    ModelStore,
    ModelStoreArgs,
    ReplicationCluster,
)
from components.object_store.replication import (
    CRONJOB_NAME,
    SERVICE_ACCOUNT,
    CrossCloudReplication,
    ReplicationScheduleError,
    ReplicationSourceError,
    plan_replication,
)

__all__ = [
    "CRONJOB_NAME",
    "SERVICE_ACCOUNT",
    "CrossCloudReplication",
    "CrossCloudReplicationArgs",
    "ModelStore",
    "ModelStoreArgs",
    "ReplicationCluster",
    "ReplicationScheduleError",
    "ReplicationSourceError",
    "create_cross_cloud_replication",
    "create_model_store",
    "plan_replication",
]


def create_model_store(
    name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None
) -> ModelStore:
    """The model store for `args.placement.cloud`; `name` prefixes every child resource's name.

    Each cloud's module (and so its Pulumi SDK) is imported only when a stack uses that cloud.
    """
    match args.placement.cloud:
        case "aws":
            from components.object_store.aws import AwsModelStore

            return AwsModelStore(name, args, opts)
        case "gcp":
            from components.object_store.gcp import GcpModelStore

            return GcpModelStore(name, args, opts)
        case "azure":
            from components.object_store.azure import AzureModelStore

            return AzureModelStore(name, args, opts)
        case "onprem":
            from components.object_store.onprem import OnpremModelStore

            return OnpremModelStore(name, args, opts)
        case _:
            raise unsupported_cloud(args.placement.cloud, ("aws", "gcp", "azure", "onprem"))


def create_cross_cloud_replication(
    name: str, args: CrossCloudReplicationArgs, opts: pulumi.ResourceOptions | None = None
) -> CrossCloudReplication:
    """Scheduled keyless copy of the primary's store into `args.target_store` (standby only)."""
    return CrossCloudReplication(name, args, opts)
