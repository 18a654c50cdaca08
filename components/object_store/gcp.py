"""GCS model store: dual-region, versioned, CMEK, uniform access, public access prevention.

The bucket lives in a dual-region containing the stack's region: the predefined NAM4/EUR4 where
the region belongs to one, else a configurable dual-region (continent code + two data locations)
with a partner from `DUAL_REGION_PARTNERS` or `ModelStoreArgs.secondary_region`. Objects are
encrypted with a Cloud KMS key (90-day rotation) in the key location that dual-region requires,
which the project's Cloud Storage service agent may use; turbo replication (15-minute RPO between
the two regions) is on unless `fast_replication=False`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_gcp as gcp

from components.common import physical_name, type_token
from components.gcp_apis import apis_of
from components.object_store.args import (
    ACCOUNT,
    BUCKET,
    CLOUD,
    MODULE,
    PROJECT_NUMBER,
    REGION,
    URI,
    ModelStore,
    ModelStoreArgs,
)

KEY_ROTATION_PERIOD: Final = f"{90 * 24 * 3600}s"
MIN_SOFT_DELETE_DAYS: Final = 7
STORE_APIS: Final = ("storage", "cloudkms")

PREDEFINED_DUAL_REGIONS: Final[dict[str, tuple[str, str, tuple[str, str]]]] = {
    # region -> (bucket location, Cloud KMS key location, the two regions)
    "us-central1": ("NAM4", "nam4", ("us-central1", "us-east1")),
    "us-east1": ("NAM4", "nam4", ("us-central1", "us-east1")),
    "europe-north1": ("EUR4", "eur4", ("europe-north1", "europe-west4")),
    "europe-west4": ("EUR4", "eur4", ("europe-north1", "europe-west4")),
}
# Regions a configurable dual-region may combine, per continent: (bucket location, KMS location).
CONTINENTS: Final[dict[str, tuple[str, str, frozenset[str]]]] = {
    "us": (
        "US",
        "us",
        frozenset(
            {
                "us-central1",
                "us-east1",
                "us-east4",
                "us-east5",
                "us-south1",
                "us-west1",
                "us-west2",
                "us-west3",
                "us-west4",
            }
        ),
    ),
    "eu": (
        "EU",
        "europe",
        frozenset(
            {
                "europe-central2",
                "europe-north1",
                "europe-west1",
                "europe-west3",
                "europe-west4",
                "europe-west8",
                "europe-west9",
            }
        ),
    ),
    "asia": (
        "ASIA",
        "asia",
        frozenset(
            {
                "asia-east1",
                "asia-east2",
                "asia-northeast1",
                "asia-northeast2",
                "asia-northeast3",
                "asia-south1",
                "asia-southeast1",
            }
        ),
    ),
}
DUAL_REGION_PARTNERS: Final[dict[str, str]] = {
    "us-east4": "us-central1",
    "us-east5": "us-central1",
    "us-south1": "us-central1",
    "us-west1": "us-central1",
    "us-west2": "us-central1",
    "us-west3": "us-central1",
    "us-west4": "us-central1",
    "europe-west1": "europe-west4",
    "europe-west3": "europe-west4",
    "europe-west9": "europe-west4",
    "europe-central2": "europe-west3",
    "asia-east1": "asia-southeast1",
    "asia-southeast1": "asia-east1",
    "asia-northeast1": "asia-northeast2",
    "asia-northeast3": "asia-northeast1",
    "asia-south1": "asia-southeast1",
}


@dataclass(frozen=True)
class DualRegion:
    location: str
    """Bucket location: NAM4/EUR4 or the continent code of a configurable dual-region."""
    kms_location: str
    """Where the CMEK key must live for this bucket location."""
    data_locations: tuple[str, str]
    predefined: bool

    def custom_placement(self) -> gcp.storage.BucketCustomPlacementConfigArgs | None:
        """A bucket's `custom_placement_config`: the two regions of a configurable dual-region."""
        if self.predefined:
            return None
        return gcp.storage.BucketCustomPlacementConfigArgs(
            data_locations=[r.upper() for r in self.data_locations]
        )


def dual_region_for(region: str, partner: str | None = None) -> DualRegion:
    """The dual-region holding `region` (and `partner`, if given); ValueError if none exists."""
    if partner is None and region in PREDEFINED_DUAL_REGIONS:
        location, kms_location, pair = PREDEFINED_DUAL_REGIONS[region]
        return DualRegion(location, kms_location, pair, predefined=True)
    partner = partner or DUAL_REGION_PARTNERS.get(region)
    for location, kms_location, members in CONTINENTS.values():
        if region in members and partner in members:
            assert partner is not None
            return DualRegion(location, kms_location, (region, partner), predefined=False)
    offered = sorted(set(PREDEFINED_DUAL_REGIONS) | set(DUAL_REGION_PARTNERS))
    raise ValueError(
        f"no GCS dual-region holds gcp region {region!r}"
        + (f" together with {partner!r}" if partner else "")
        + f": expected a region among {', '.join(offered)} (or two regions of the same continent "
        "list in components/object_store/gcp.py CONTINENTS); move the stack's `region` or pass "
        "ModelStoreArgs(secondary_region='<region on the same continent>') in infra/program.py"
    )


def bucket_name_for(stack: str, project: str) -> str:
    """Globally unique and readable: <stack>-models-<project> (at most 63 characters)."""
    return f"{physical_name(stack, max_length=24)}-models-{project}"


class GcpModelStore(ModelStore):
    """GCS dual-region model bucket; see the module docstring."""

    key: gcp.kms.CryptoKey
    """The bucket's Cloud KMS key (90-day rotation); the audit store encrypts with it too."""
    bucket: gcp.storage.Bucket
    """The dual-region model bucket."""
    reader_binding: gcp.storage.BucketIAMMember
    """objectViewer on this bucket for the inference workload's service account."""
    project: str
    """The stack's GCP project (`gcpProject`)."""
    project_number: pulumi.Output[str]
    """Its number: a standby's replication names federated principals with it."""
    dual_region: DualRegion
    """Where the bucket lives (and where its key must)."""

    def __init__(self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "GcpModelStore"), name, None, opts)
        self.cloud = "gcp"
        placement = args.placement
        project = placement.gcp_project
        if not project:
            raise ValueError(
                f"the gcp model store of stack '{placement.stack}' needs a GCP project (got none): "
                f"set `gcpProject` in Pulumi.{placement.stack}.yaml"
            )
        self.project = project
        self.dual_region = dual_region_for(placement.region, args.secondary_region)
        # A fresh project may have Cloud KMS (and Cloud Storage) off: every child and the
        # invoke wait for them (enabled once per project by the stack's GcpApis).
        apis = apis_of(placement.gcp_apis, placement.stack, "the model store").enable(
            *STORE_APIS,
            previously={"cloudkms": pulumi.Alias(name=f"{name}-models-cloudkms-api", parent=self)},
        )
        self._own = pulumi.ResourceOptions(parent=self, provider=placement.provider, depends_on=apis)
        self._invoke = pulumi.InvokeOutputOptions(parent=self, provider=placement.provider, depends_on=apis)
        key_grant = self._key(name, args)
        self._bucket(name, args, key_grant)
        self._reader_access(name, args)
        self._descriptor(args)
        self.register_outputs(
            {"bucketName": self.bucket_name, "bucketUri": self.bucket_uri, "descriptor": self.descriptor}
        )

    def _key(self, name: str, args: ModelStoreArgs) -> gcp.kms.CryptoKeyIAMMember:
        """Key ring and rotating key in the dual-region's KMS location, usable by Cloud Storage."""
        protected = pulumi.ResourceOptions.merge(
            self._own, pulumi.ResourceOptions(protect=args.deletion_protection)
        )
        # Key rings can never be deleted in GCP: no fixed name, so a re-created stack does not
        # collide with the ring its predecessor left behind (Pulumi adds a random suffix).
        key_ring = gcp.kms.KeyRing(
            f"{name}-models",
            gcp.kms.KeyRingArgs(location=self.dual_region.kms_location, project=self.project),
            opts=protected,
        )
        self.key = gcp.kms.CryptoKey(
            f"{name}-models",
            gcp.kms.CryptoKeyArgs(
                name="models",
                key_ring=key_ring.id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=KEY_ROTATION_PERIOD,
                labels=dict(args.placement.tags),
            ),
            opts=protected,
        )
        # Cloud Storage encrypts with the key as the project's service agent, not as the caller.
        storage_agent = gcp.storage.get_project_service_account_output(
            project=self.project, opts=self._invoke
        )
        return gcp.kms.CryptoKeyIAMMember(
            f"{name}-models-storage-agent",
            gcp.kms.CryptoKeyIAMMemberArgs(
                crypto_key_id=self.key.id,
                role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
                member=storage_agent.email_address.apply(lambda email: f"serviceAccount:{email}"),
            ),
            opts=self._own,
        )

    def _bucket(self, name: str, args: ModelStoreArgs, key_grant: pulumi.Resource) -> None:
        """The bucket, once the storage agent may use the key (GCS checks CMEK at creation)."""
        placement = args.placement
        soft_delete_days = max(args.soft_delete_retention_days, MIN_SOFT_DELETE_DAYS)
        self.bucket = gcp.storage.Bucket(
            f"{name}-models",
            gcp.storage.BucketArgs(
                name=bucket_name_for(placement.stack, self.project),
                project=self.project,
                location=self.dual_region.location,
                custom_placement_config=self.dual_region.custom_placement(),
                rpo="ASYNC_TURBO" if args.fast_replication else "DEFAULT",
                storage_class="STANDARD",
                versioning=gcp.storage.BucketVersioningArgs(enabled=True),
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=self.key.id),
                soft_delete_policy=gcp.storage.BucketSoftDeletePolicyArgs(
                    retention_duration_seconds=soft_delete_days * 24 * 3600
                ),
                force_destroy=False,
                labels=dict(placement.tags),
            ),
            opts=pulumi.ResourceOptions.merge(
                self._own, pulumi.ResourceOptions(depends_on=[key_grant], protect=args.deletion_protection)
            ),
        )

    def _reader_access(self, name: str, args: ModelStoreArgs) -> None:
        """objectViewer on this bucket only, for the workload's service account."""
        self.reader_binding = gcp.storage.BucketIAMMember(
            f"{name}-models-read",
            gcp.storage.BucketIAMMemberArgs(
                bucket=self.bucket.name,
                role="roles/storage.objectViewer",
                member=args.reader.principal.apply(lambda email: f"serviceAccount:{email}"),
            ),
            opts=self._own,
        )

    def _descriptor(self, args: ModelStoreArgs) -> None:
        dual = self.dual_region
        self.project_number = gcp.organizations.get_project_output(
            project_id=self.project, opts=self._invoke
        ).number
        self.bucket_name = self.bucket.name
        self.bucket_uri = self.bucket.name.apply(lambda b: f"gs://{b}")
        descriptor: dict[str, Any] = {
            CLOUD: "gcp",
            REGION: args.placement.region,
            BUCKET: self.bucket_name,
            URI: self.bucket_uri,
            ACCOUNT: self.project,
            PROJECT_NUMBER: self.project_number,
            "location": dual.location,
            "dataLocations": list(dual.data_locations),
            "kmsKey": self.key.id,
            "turboReplication": args.fast_replication,
        }
        self.descriptor = pulumi.Output.from_input(descriptor).apply(dict)
