"""GCS audit bucket with a locked retention policy under the model store's Cloud KMS key."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.audit.args import MODULE, AuditStore, AuditStoreArgs, descriptor
from components.common import type_token
from components.gcp_apis import apis_of


class GcpAuditStore(AuditStore):
    def __init__(self, name: str, args: AuditStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "GcpAuditStore"), name, None, opts)
        placement = args.placement
        # A fresh project may have Cloud Storage off: wait for it (enabled once by the stack's GcpApis).
        apis = apis_of(placement.gcp_apis, placement.stack, "the audit store").enable("storage", "cloudkms")
        own = pulumi.ResourceOptions(parent=self, provider=placement.provider, depends_on=apis)
        key: Any = getattr(args.model_store, "key", None)
        dual: Any = getattr(args.model_store, "dual_region", None)
        if key is None or dual is None:
            raise ValueError(
                f"the gcp audit store of stack '{placement.stack}' needs a gcp model store (with its key)"
            )
        project = placement.gcp_project
        # Same location as the model bucket, so the model store's key (whose location CMEK must
        # match) encrypts it. Versioning stays off: GCS refuses a retention policy on a versioned
        # bucket ("retention policies and Object Versioning are mutually exclusive").
        self.bucket = gcp.storage.Bucket(
            f"{name}-audit",
            gcp.storage.BucketArgs(
                project=project,
                location=dual.location,
                custom_placement_config=(
                    None
                    if dual.predefined
                    else gcp.storage.BucketCustomPlacementConfigArgs(
                        data_locations=[r.upper() for r in dual.data_locations]
                    )
                ),
                storage_class="STANDARD",
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=key.id),
                retention_policy=gcp.storage.BucketRetentionPolicyArgs(
                    retention_period=str(args.retention_days * 24 * 3600), is_locked=True
                ),
                force_destroy=False,
                labels=dict(placement.tags),
            ),
            # The model store grants the GCS service agent the key; a bucket created before that
            # grant fails its first `pulumi up` (CMEK check), so wait for the whole model store.
            opts=pulumi.ResourceOptions.merge(
                own, pulumi.ResourceOptions(protect=args.deletion_protection, depends_on=[args.model_store])
            ),
        )
        self.bucket_name = self.bucket.name
        self.descriptor = descriptor(
            cloud="gcp",
            region=placement.region,
            bucket=self.bucket_name,
            uri=self.bucket_name.apply(lambda b: f"gs://{b}"),
            account=project,
            args=args,
            lock="gcs-locked-retention-policy",
        )
        self.register_outputs({"bucketName": self.bucket_name, "descriptor": self.descriptor})
