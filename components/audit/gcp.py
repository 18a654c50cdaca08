"""GCS audit bucket with a locked retention policy under the model store's Cloud KMS key."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.audit.args import MODULE, AuditStore, AuditStoreArgs, descriptor
from components.common import type_token
from components.gcp_apis import apis_of


class GcpAuditStore(AuditStore):
    """GCS bucket with a locked retention policy, in the model bucket's location and key."""

    bucket: gcp.storage.Bucket
    """The audit bucket (locked retention of `retention_days`, CMEK)."""

    def __init__(self, name: str, args: AuditStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "GcpAuditStore"), name, None, opts)
        placement = args.placement
        # A fresh project may have Cloud Storage off: wait for it (enabled once by the stack's GcpApis).
        apis = apis_of(placement.gcp_apis, placement.stack, "the audit store").enable("storage", "cloudkms")
        self._own = pulumi.ResourceOptions(parent=self, provider=placement.provider, depends_on=apis)
        key: Any = getattr(args.model_store, "key", None)
        dual: Any = getattr(args.model_store, "dual_region", None)
        if key is None or dual is None:
            raise ValueError(
                f"the gcp audit store of stack '{placement.stack}' needs a gcp model store (with its key)"
            )
        self._bucket(name, args, key, dual)
        self._descriptor(args)
        self.register_outputs({"bucketName": self.bucket_name, "descriptor": self.descriptor})

    def _bucket(self, name: str, args: AuditStoreArgs, key: Any, dual: Any) -> None:
        # Same location as the model bucket, so the model store's key (whose location CMEK must
        # match) encrypts it. Versioning stays off: GCS refuses a retention policy on a versioned
        # bucket ("retention policies and Object Versioning are mutually exclusive").
        self.bucket = gcp.storage.Bucket(
            f"{name}-audit",
            gcp.storage.BucketArgs(
                project=args.placement.gcp_project,
                location=dual.location,
                custom_placement_config=dual.custom_placement(),
                storage_class="STANDARD",
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=key.id),
                retention_policy=gcp.storage.BucketRetentionPolicyArgs(
                    retention_period=str(args.retention_days * 24 * 3600), is_locked=True
                ),
                force_destroy=False,
                labels=dict(args.placement.tags),
            ),
            # The model store grants the GCS service agent the key; a bucket created before that
            # grant fails its first `pulumi up` (CMEK check), so wait for the whole model store.
            opts=pulumi.ResourceOptions.merge(
                self._own,
                pulumi.ResourceOptions(protect=args.deletion_protection, depends_on=[args.model_store]),
            ),
        )

    def _descriptor(self, args: AuditStoreArgs) -> None:
        self.bucket_name = self.bucket.name
        self.descriptor = descriptor(
            cloud="gcp",
            region=args.placement.region,
            bucket=self.bucket_name,
            uri=self.bucket_name.apply(lambda b: f"gs://{b}"),
            account=args.placement.gcp_project,
            args=args,
            lock="gcs-locked-retention-policy",
        )
