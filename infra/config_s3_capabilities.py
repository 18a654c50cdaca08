"""What the site's S3-compatible store implements, and where its audit bucket goes (issue 12).

Keys (cloud: onprem only), read by infra/config_s3store.py with the same problem collector:

- `s3Capabilities`: a YAML list, a subset of versioning, sse-s3, object-lock (default: all
  three, as Ceph RGW, MinIO and SeaweedFS offer); Garage is `[]`
  (components/object_store/s3_capabilities.py holds the table with sources).
- `auditS3Endpoint`, `auditS3CredentialsPath`, `auditS3Region`: an S3 API with Object Lock for
  the write-once audit bucket. Required when the site's store lacks `object-lock`: the audit trail
  is never silently downgraded to a bucket that cannot lock records.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from components.object_store.s3_capabilities import ALL, CAPABILITIES, LOST, STORES, example, unknown
from infra import settings

if TYPE_CHECKING:
    from infra.config import _Reader

CAPABILITIES_KEY: Final = "s3Capabilities"
AUDIT_KEYS: Final = ("auditS3Endpoint", "auditS3CredentialsPath", "auditS3Region")
KEYS: Final = settings.area_keys("s3capabilities")
"""The s3capabilities settings (infra/settings.py)."""
_REGION: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_STORE_HINT: Final = "; ".join(f"{store}: {example(store)}" for store in STORES)


@dataclass(frozen=True)
class AuditEndpointSettings:
    endpoint: str
    """https:// URL of an S3 API with Object Lock (not the site's s3Endpoint)."""
    credentials_path: str
    """KV v2 path (in vaultKvMount) of a key that creates and writes the audit bucket there."""
    region: str
    """The region that endpoint signs requests for (default us-east-1)."""


def read_capabilities(r: _Reader) -> frozenset[str]:
    """`s3Capabilities`, default all; a problem per unknown name and for object-lock alone."""
    raw = r.raw.get(CAPABILITIES_KEY)
    if raw is None or raw.strip() == "":
        return ALL
    items = r.string_list(CAPABILITIES_KEY, default=list(CAPABILITIES))
    wrong = unknown(set(items))
    if wrong:
        r.problem(
            CAPABILITIES_KEY,
            ", ".join(wrong),
            f"a list of what the store implements, from {', '.join(CAPABILITIES)} "
            f"(known stores: {_STORE_HINT})",
            f"write it as a YAML list in Pulumi.{r.stack}.yaml, e.g. `inference-failover:s3Capabilities: []` "
            "for Garage",
        )
        return ALL  # one problem, not its consequences (audit endpoint, encryption)
    capabilities = frozenset(items)
    if "object-lock" in capabilities and "versioning" not in capabilities:
        r.problem(
            CAPABILITIES_KEY,
            ", ".join(sorted(capabilities)),
            "versioning as well when object-lock is listed (S3 Object Lock locks object versions; "
            "a store with Object Lock has versioning)",
            f"add versioning to s3Capabilities in Pulumi.{r.stack}.yaml, or remove object-lock",
        )
    return capabilities


def check_encryption(r: _Reader, capabilities: frozenset[str], encryption: str | None) -> str:
    """s3Encryption: default sse-s3 where the store has it, else none; sse-s3 without it is refused."""
    if encryption is None:
        return "sse-s3" if "sse-s3" in capabilities else "none"
    if encryption == "sse-s3" and "sse-s3" not in capabilities:
        r.problem(
            "s3Encryption",
            encryption,
            "none on a store without sse-s3 in s3Capabilities (it would refuse PutBucketEncryption)",
            f"remove s3Encryption from Pulumi.{r.stack}.yaml (it follows s3Capabilities), or add sse-s3 "
            "to s3Capabilities if the store has SSE-S3",
        )
    return encryption


def read_audit_endpoint(
    r: _Reader,
    capabilities: frozenset[str],
    site_endpoint: str | None,
    endpoint_of: Callable[[_Reader, str], str | None],
    kv_path_of: Callable[..., str | None],
) -> AuditEndpointSettings | None:
    """auditS3* keys; required when the site's store has no Object Lock."""
    if not _audit_keys_complete(r, capabilities):
        return None
    endpoint = endpoint_of(r, "auditS3Endpoint")
    path = kv_path_of(r, "auditS3CredentialsPath", required=True)
    region = r.text("auditS3Region", required=False) or "us-east-1"
    if not _REGION.match(region):
        r.problem(
            "auditS3Region", region, "a region name the audit endpoint signs for (letters, digits, '-', '_')"
        )
    if endpoint is not None and endpoint == site_endpoint:
        r.problem(
            "auditS3Endpoint",
            endpoint,
            "another S3 endpoint than s3Endpoint (the site's store lacks Object Lock)",
            f"unset auditS3Endpoint to keep the audit bucket on the site's store (needs object-lock in "
            f"s3Capabilities), or point it at another store -s {r.stack}",
        )
        return None
    if endpoint is None or path is None or not _REGION.match(region):
        return None
    return AuditEndpointSettings(endpoint=endpoint, credentials_path=path, region=region)


def _audit_keys_complete(r: _Reader, capabilities: frozenset[str]) -> bool:
    """True when auditS3Endpoint is given; a problem when it is needed or another auditS3* key is alone."""
    given = {key for key in AUDIT_KEYS if (r.raw.get(key) or "").strip()}
    if "object-lock" not in capabilities and "auditS3Endpoint" not in given:
        r.problem(
            "auditS3Endpoint",
            None,
            "set when s3Capabilities lacks object-lock: the write-once audit bucket needs a store "
            "with Object Lock (COMPLIANCE), and the site's store has none",
            "point it at an S3 API with Object Lock (a MinIO or Ceph RGW elsewhere, or a cloud's S3 "
            f"endpoint): `pulumi config set auditS3Endpoint https://s3.audit.example.internal -s {r.stack}` "
            f"and `pulumi config set auditS3CredentialsPath s3/audit/deployer -s {r.stack}`. "
            "Nothing was created",
        )
        return False
    if given and "auditS3Endpoint" not in given:
        for key in sorted(given):
            r.problem(
                key,
                r.raw[key],
                "unset unless auditS3Endpoint is set",
                f"remove it from Pulumi.{r.stack}.yaml",
            )
    return "auditS3Endpoint" in given


def warnings(capabilities: frozenset[str], endpoint: str, audit: AuditEndpointSettings | None) -> list[str]:
    """One line per capability the site's store lacks: what the stack loses there."""
    lines = [
        f"the S3 store at {endpoint} has no {capability} (s3Capabilities): {LOST[capability]}"
        for capability in CAPABILITIES
        if capability not in capabilities
    ]
    if audit is not None:
        lines.append(f"audit records go to {audit.endpoint} (auditS3Endpoint), not to the site's store")
    return lines
