"""What an S3-compatible store implements beyond the core object API, declared per site.

The core every supported store implements (and all this project needs to serve and replicate a
model): CreateBucket, HeadBucket, GetBucketLocation, DeleteBucket, ListObjectsV2, Get/Head/Put/
DeleteObject, CopyObject, the multipart calls, and user metadata (`x-amz-meta-sha256`). Three
bucket features differ between stores, and the stack asks for each only where it is declared
(`s3Capabilities`, default: all three, which is what Ceph RGW, MinIO and SeaweedFS offer):

- `versioning`: PutBucketVersioning; every overwrite keeps the previous object version.
- `sse-s3`: PutBucketEncryption with AES256; the store encrypts every object with its own key.
- `object-lock`: buckets created with Object Lock and PutObjectLockConfiguration (COMPLIANCE);
  the write-once audit store needs it (it also needs `versioning`: S3 locks object versions).

A store that lacks one answers its calls with 501 NotImplemented (Garage) or 400, and a
`pulumi up` that asked for it fails half-applied; so what a store lacks is declared, never
probed, and the plan says what is lost (`LOST`).
"""

from __future__ import annotations

from typing import Final, Literal

Capability = Literal["versioning", "sse-s3", "object-lock"]
CAPABILITIES: Final[tuple[Capability, ...]] = ("versioning", "sse-s3", "object-lock")
ALL: Final[frozenset[str]] = frozenset(CAPABILITIES)
"""The default: a store with every feature the stack uses (today's behaviour)."""

STORES: Final[dict[str, tuple[tuple[Capability, ...], str]]] = {
    # store: (capabilities, source, read 2026-12-02)
    "ceph-rgw": (
        CAPABILITIES,
        "docs.ceph.com/en/latest/radosgw/s3 (versioning, object lock); SSE-S3 from Reef 18.2 with "
        "rgw_crypt_sse_s3_backend",
    ),
    "minio": (CAPABILITIES, "min.io/docs: versioning, object locking, SSE-S3 with a KMS (KES)"),
    "seaweedfs": (
        CAPABILITIES,
        "github.com/seaweedfs/seaweedfs wiki Amazon-S3-API (SSE-S3 needs s3.sse.kek; Object Lock "
        "retention is not enforced on DELETE, seaweedfs#7194)",
    ),
    "garage": (
        (),
        "garagehq.deuxfleurs.fr/documentation/reference-manual/s3-compatibility (v1.2.0): no "
        "versioning, no object lock, SSE-C only; PutBucketVersioning, PutBucketEncryption and "
        "PutObjectLockConfiguration answer 501 NotImplemented",
    ),
}
"""What known stores implement, with the source: what to write in `s3Capabilities`."""

LOST: Final[dict[Capability, str]] = {
    "versioning": (
        "no object history: an overwritten or deleted model cannot be restored from the store "
        "(re-upload it, or copy it back from the other stack's store)"
    ),
    "sse-s3": "no at-rest encryption by the store: encrypt its disks (or the volumes under it)",
    "object-lock": ("no write-once buckets there: the audit bucket cannot be on it (auditS3Endpoint is)"),
}
"""What a stack on a store without each capability loses; `pulumi up` and `infra.plan` say it."""


def unknown(capabilities: frozenset[str] | set[str]) -> list[str]:
    """The names in `capabilities` that are not capabilities, sorted."""
    return sorted(set(capabilities) - ALL)


def example(store: str) -> str:
    """`s3Capabilities` as a YAML flow list for a known store (`[]` for Garage)."""
    return "[" + ", ".join(STORES[store][0]) + "]"


def problems(capabilities: frozenset[str], encryption: str) -> list[str]:
    """S3CompatibleStore's own guard of its capabilities (for users who import the component)."""
    found: list[str] = []
    if unknown(capabilities):
        found.append(
            f"s3_compatible.capabilities must be a subset of {', '.join(CAPABILITIES)} "
            f"(got {', '.join(unknown(capabilities))})"
        )
    if "object-lock" in capabilities and "versioning" not in capabilities:
        found.append(
            "s3_compatible.capabilities has object-lock without versioning: S3 locks object versions"
        )
    if encryption == "sse-s3" and "sse-s3" not in capabilities:
        found.append(
            "s3_compatible.encryption is sse-s3 but the store's capabilities lack sse-s3: "
            "set encryption='none'"
        )
    return found
