"""S3-compatible model store config (issue 12): the on-prem stack's bucket on Ceph RGW, SeaweedFS,
MinIO or another S3-compatible endpoint with versioning (components/object_store/onprem.py).

Read by `infra.config.parse_config` with its problem collector, so these keys report their
problems together with every other key's, in the same style. Access keys never sit in the stack
file: `s3CredentialsPath` and `s3ReadCredentialsPath` name KV v2 paths in the stack's vault
(mount `vaultKvMount`), each holding `access_key_id` and `secret_access_key`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, cast
from urllib.parse import urlsplit

from infra import config_s3_capabilities, settings
from infra.config_s3_capabilities import AuditEndpointSettings

if TYPE_CHECKING:
    from infra.config import _Reader

ONPREM: Final = "onprem"
KEYS: Final = settings.area_keys("s3store")
"""The s3store settings (infra/settings.py)."""
DEFAULT_REGION: Final = "us-east-1"
Encryption = Literal["sse-s3", "none"]
ENCRYPTIONS: Final[tuple[Encryption, ...]] = ("sse-s3", "none")
# Ceph zonegroups ("default") and MinIO ("us-east-1") name regions freely.
_REGION: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_KV_SEGMENT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HOST: Final = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


@dataclass(frozen=True)
class S3StoreSettings:
    endpoint: str
    """https:// URL of the S3 API (no bucket in it: requests are path-style)."""
    region: str
    """The region the store signs requests for (SigV4); most stores accept us-east-1."""
    credentials_path: str
    """KV v2 path (in vaultKvMount) of the deployer's key: creates and configures the bucket;
    the replication CronJob of an on-prem standby writes with it."""
    read_credentials_path: str | None
    """KV v2 path of a read-only key on the bucket: what a standby's replication reads with.
    Required on a primary; None on a standby that no one replicates from."""
    encryption: Encryption
    """sse-s3: the bucket's default encryption is AES256 (SSE-S3); the store must have its key
    configured (SeaweedFS s3.sse.kek, Ceph rgw_crypt_sse_s3_backend, MinIO KMS). none: the store
    encrypts at rest on its own (disks) or not at all."""
    service_account_issuer: str | None = None
    """The site cluster's `--service-account-issuer` (https): the primary's side (IAM OIDC
    provider, workload identity pool, federated credential, vault JWT mount) trusts the tokens
    of the standby's replication job through it. Required on an on-prem standby."""
    capabilities: frozenset[str] = config_s3_capabilities.ALL
    """s3Capabilities: what the store implements of versioning, sse-s3, object-lock (default all)."""
    audit: AuditEndpointSettings | None = None
    """auditS3Endpoint: where the audit bucket goes when the store has no Object Lock."""


def _endpoint(r: _Reader, key: str = "s3Endpoint") -> str | None:
    value = r.text(key, example="https://s3.site-a.example.internal")
    if value is None:
        return None
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    host = parts.hostname or ""
    if parts.scheme != "https" or not _HOST.match(host) or not port_ok:
        r.problem(
            key,
            value,
            "an https:// URL of the S3 API, such as https://s3.site-a.example.internal or "
            "https://10.0.40.10:9000",
            f"set it with `pulumi config set {key} https://<host>[:port] -s {r.stack}` (plain http "
            "would send the access key's signatures and the model in clear text)",
        )
        return None
    if parts.path.strip("/") or parts.query or parts.fragment or parts.username or parts.password:
        r.problem(
            key,
            value,
            "the endpoint only, without a path, bucket, query or user (requests are path-style: "
            "https://<host>/<bucket>/<key>)",
            f"set it with `pulumi config set {key} {parts.scheme}://{parts.netloc} -s {r.stack}`",
        )
        return None
    return f"https://{parts.netloc}"


def _kv_path(r: _Reader, key: str, *, required: bool) -> str | None:
    value = r.text(key, required=required, example="s3/site-a/deployer")
    if value is None:
        return None
    segments = value.split("/")
    if not all(_KV_SEGMENT.match(s) and s not in (".", "..") for s in segments) or segments[0] in (
        "data",
        "metadata",
    ):
        r.problem(
            key,
            value,
            "a KV v2 secret path inside the vault mount vaultKvMount, such as s3/site-a/deployer "
            "(segments of letters, digits, '.', '_' or '-'; no leading or trailing '/', no 'data/' "
            "prefix: the KV v2 API adds it)",
        )
        return None
    return value


def read_s3_store(r: _Reader, cloud: str | None, role: str | None) -> S3StoreSettings | None:
    """The S3-compatible store of an `onprem` stack; None (and a problem per key set) elsewhere."""
    if cloud != ONPREM:
        # With the store's capabilities and audit endpoint keys (infra/config_s3_capabilities.py).
        for key in sorted((KEYS | config_s3_capabilities.KEYS) & set(r.raw)):
            if cloud is not None:
                r.problem(
                    key,
                    r.raw[key],
                    f"unset on a {cloud} stack (the S3-compatible store is the model store of cloud: "
                    "onprem; aws, gcp and azure stacks create their own)",
                    f"remove it from Pulumi.{r.stack}.yaml",
                )
        return None
    endpoint = _endpoint(r)
    region = r.text("s3Region", required=False) or DEFAULT_REGION
    if not _REGION.match(region):
        r.problem("s3Region", region, "a region name the store signs for (letters, digits, '-', '_')")
    credentials = _kv_path(r, "s3CredentialsPath", required=True)
    read_credentials = _kv_path(r, "s3ReadCredentialsPath", required=False)
    if role == "primary" and not r.raw.get("s3ReadCredentialsPath", "").strip():
        r.problem(
            "s3ReadCredentialsPath",
            None,
            "set on an on-prem primary: the KV path of a read-only key on the model bucket, which the "
            "standby's replication reads with (never the deployer's key)",
            f"create the key on the store, store it with `bao kv put -mount=<vaultKvMount> "
            f"s3/site-a/replication-reader access_key_id=... secret_access_key=...`, then "
            f"`pulumi config set s3ReadCredentialsPath s3/site-a/replication-reader -s {r.stack}`",
        )
    if credentials is not None and read_credentials == credentials:
        r.problem(
            "s3ReadCredentialsPath",
            read_credentials,
            "a different path than s3CredentialsPath (a read-only key, not the deployer's)",
        )
    capabilities = config_s3_capabilities.read_capabilities(r)
    chosen = r.choice("s3Encryption", ENCRYPTIONS, required=False)
    encryption = config_s3_capabilities.check_encryption(r, capabilities, chosen)
    audit = config_s3_capabilities.read_audit_endpoint(r, capabilities, endpoint, _endpoint, _kv_path)
    issuer = _issuer(r, role)
    if endpoint is None or credentials is None or not _REGION.match(region):
        return None
    return S3StoreSettings(
        endpoint=endpoint,
        region=region,
        credentials_path=credentials,
        read_credentials_path=read_credentials if read_credentials != credentials else None,
        encryption=cast(Encryption, encryption),
        service_account_issuer=issuer,
        capabilities=capabilities,
        audit=audit,
    )


def _issuer(r: _Reader, role: str | None) -> str | None:
    value = r.text(
        "serviceAccountIssuer", required=role == "standby", example="https://oidc.site-b.example.org"
    )
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or not _HOST.match(parts.hostname or "") or parts.query or parts.fragment:
        r.problem(
            "serviceAccountIssuer",
            value,
            "the https:// URL the site cluster's API server signs service-account tokens with "
            "(--service-account-issuer), whose /.well-known/openid-configuration and JWKS the "
            "primary's cloud or vault can fetch",
        )
        return None
    return value


def warnings_for(settings: S3StoreSettings | None) -> list[str]:
    """Loosened defaults worth a line at `pulumi up`, and what a store without a capability loses."""
    if settings is None:
        return []
    lines = config_s3_capabilities.warnings(settings.capabilities, settings.endpoint, settings.audit)
    if settings.encryption == "none" and "sse-s3" in settings.capabilities:
        lines.append(
            "s3Encryption is none: the model bucket has no default server-side encryption; make sure "
            f"the store at {settings.endpoint} encrypts its disks"
        )
    return lines
