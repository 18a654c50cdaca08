"""Parity verifier: do two model stores (S3 / GCS / Azure Blob, any pair) hold the same objects?

`verify_parity(source, target)` lists both stores (`inventory`), then `compare`s the inventories by
name, size and checksum and returns a `ParityReport` of what is missing, different, extra or cannot
be verified. The cutover CLI runs it before promoting the standby.

Checksums differ per cloud, so each object is described by every checksum its store can vouch for,
normalised to lowercase hex:

- sha256: S3 `ChecksumSHA256` of the whole object (HeadObject with ChecksumMode=ENABLED), else the
  `sha256` user metadata that replication writes (`SHA256_METADATA_KEY`, hex or base64).
- md5: S3 ETag only for single-part uploads without SSE-KMS/SSE-C (otherwise the ETag is not an
  MD5), else the `md5chksum` metadata rclone writes for exactly those uploads; GCS `md5Hash`
  (absent for composite objects); Azure `Content-MD5` (absent unless the uploader or a single-shot
  Put Blob set it).
- crc32c: S3 `ChecksumCRC32C` of the whole object; GCS `crc32c`.

Two objects of equal size are equal only when at least one checksum is present on both sides and
every checksum present on both sides agrees. With no common checksum they are reported as
unverifiable, never as equal.

Credentials come from each SDK's default chain. `StoreLocation.endpoint_url` switches to emulator
mode (moto / fake-gcs-server / Azurite): path-style S3 with dummy keys unless AWS credentials are in
the environment, anonymous GCS, and for Azure the account key from AZURE_STORAGE_KEY or, for
Azurite's `devstoreaccount1`, its published development key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal, NoReturn
from urllib.parse import urlparse

from components.common import Cloud

CLOUDS: Final = ("aws", "gcp", "azure", "onprem")
ONPREM_KEY_ENV: Final = ("ONPREM_S3_ACCESS_KEY_ID", "ONPREM_S3_SECRET_ACCESS_KEY")
"""An on-prem store's key for the verifier, when not fetched from the vault (see `_onprem_key`)."""
SHA256_METADATA_KEY: Final = "sha256"
"""User-metadata key under which replication stores the SHA-256 (hex or base64) of each object."""
RCLONE_MD5_METADATA_KEY: Final = "md5chksum"
"""S3 user-metadata key where rclone stores the base64 MD5 of multipart / SSE uploads (whose ETag
is not an MD5); read as the object's md5 when the ETag is not one."""
CHECKSUM_ALGORITHMS: Final = ("sha256", "md5", "crc32c")
"""Strongest first; `compare` names the strongest common one when it reports a verified pair."""
DEFAULT_RETRIES: Final = 3
DEFAULT_TIMEOUT_SECONDS: Final = 30.0
_HEAD_WORKERS: Final = 16

AZURITE_ACCOUNT: Final = "devstoreaccount1"
# Published in Microsoft's Azurite documentation and identical in every Azurite install; it is only
# ever sent to an emulator endpoint (endpoint_url set) for the emulator's default account.
_AZURITE_KEY: Final = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
_AZURE_BLOB_HOST = re.compile(r"^(?P<account>[a-z0-9]{3,24})\.blob\.core\.windows\.net$")


# --- errors -----------------------------------------------------------------------------------


class StoreError(Exception):
    """A store could not be inventoried. The message names the store, the cause and the fix."""

    def __init__(self, message: str, location: StoreLocation | None = None) -> None:
        super().__init__(message)
        self.location = location


class InvalidStoreLocationError(StoreError, ValueError):
    """The location itself is malformed (unknown cloud, no bucket, no Azure account...)."""


class StoreNotFoundError(StoreError):
    """The bucket / container does not exist (or the Azure account name does not resolve)."""


class StoreAccessDeniedError(StoreError):
    """Credentials are missing, invalid or lack list/read permission on the store."""


class StoreUnreachableError(StoreError):
    """The storage endpoint did not answer (network, DNS, emulator not running)."""


# --- data types -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreLocation:
    """A bucket (or Azure container) and an optional key prefix inside it."""

    cloud: Cloud
    bucket: str
    """Bucket name; on Azure the container name."""
    prefix: str = ""
    """Only keys under this prefix are compared, relative to it. A non-empty prefix is treated as a
    folder: 'models/llama' covers 'models/llama/...' but not 'models/llama2/...'."""
    account: str | None = None
    """azure: storage account name (required unless it is the last path segment of endpoint_url);
    gcp: project id (optional, listing needs none); aws: account id (informational)."""
    endpoint_url: str | None = None
    """None: the cloud's public endpoint with the SDK's default credentials. Set: emulator mode
    (moto, fake-gcs-server, Azurite or another compatible endpoint); for Azure the URL of the
    account, e.g. http://127.0.0.1:10000/devstoreaccount1."""
    region: str | None = None
    """aws: bucket region (None: the SDK's default region); onprem: the region the store signs
    for; informational elsewhere."""
    vault_address: str | None = None
    """onprem: the site's OpenBao/Vault, from which the read-only key is fetched with VAULT_TOKEN."""
    vault_kv_mount: str | None = None
    credentials_path: str | None = None
    """onprem: KV v2 path (in vault_kv_mount) of the store's read-only key."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.cloud not in CLOUDS:
            problems.append(f"cloud must be one of {', '.join(CLOUDS)} (got {self.cloud!r})")
        if not isinstance(self.bucket, str) or not self.bucket.strip() or "/" in self.bucket:
            problems.append(f"bucket must be a bare bucket/container name without '/' (got {self.bucket!r})")
        if self.cloud == "azure" and not self.account and not _last_path_segment(self.endpoint_url):
            problems.append(
                "azure needs the storage account name (got account=None): pass account=..., or an "
                "endpoint_url that ends in the account, e.g. http://127.0.0.1:10000/devstoreaccount1"
            )
        if self.cloud == "onprem" and not self.endpoint_url:
            problems.append(
                "onprem needs the S3 endpoint of the store (got endpoint_url=None): pass the `endpoint` "
                "of its modelStore output"
            )
        if self.endpoint_url is not None and urlparse(self.endpoint_url).scheme not in ("http", "https"):
            problems.append(f"endpoint_url must be an http(s) URL (got {self.endpoint_url!r})")
        if problems:
            raise InvalidStoreLocationError(
                "invalid store location: " + "; ".join(problems) + ". Fix the arguments or the "
                "`modelStore` stack output they came from."
            )

    @classmethod
    def from_descriptor(
        cls, descriptor: Mapping[str, Any], prefix: str = "", endpoint_url: str | None = None
    ) -> StoreLocation:
        """A location from a stack's `modelStore` output (keys cloud, region, bucket, uri, account).

        On Azure a missing `account` is taken from an https://<account>.blob.core.windows.net `uri`.
        """
        missing = [key for key in ("cloud", "bucket") if not descriptor.get(key)]
        if missing:
            raise InvalidStoreLocationError(
                f"modelStore descriptor lacks {', '.join(missing)} (got keys {sorted(descriptor)}); "
                "expected the `modelStore` output of a stack: `pulumi stack output modelStore --json`"
            )
        cloud = str(descriptor["cloud"])
        account = descriptor.get("account")
        if cloud == "azure" and not account and descriptor.get("uri"):
            match = _AZURE_BLOB_HOST.match(urlparse(str(descriptor["uri"])).hostname or "")
            account = match.group("account") if match else None
        region = descriptor.get("region")
        onprem: dict[str, Any] = {}
        if cloud == "onprem":
            # The store's own endpoint unless the caller points at another (a gateway, a test server).
            endpoint_url = endpoint_url or (
                str(descriptor["endpoint"]) if descriptor.get("endpoint") else None
            )
            region = descriptor.get("s3Region") or "us-east-1"
            onprem = {
                key: str(descriptor[name]) if descriptor.get(name) else None
                for key, name in (
                    ("vault_address", "vaultAddress"),
                    ("vault_kv_mount", "vaultKvMount"),
                    ("credentials_path", "readCredentialsPath"),
                )
            }
        return cls(
            cloud=cloud,  # type: ignore[arg-type]  # validated in __post_init__
            bucket=str(descriptor["bucket"]),
            prefix=prefix,
            account=str(account) if account else None,
            endpoint_url=endpoint_url,
            region=str(region) if region else None,
            **onprem,
        )

    @property
    def key_prefix(self) -> str:
        """The prefix as listed: no leading '/', a trailing '/' when non-empty."""
        stripped = self.prefix.strip("/")
        return f"{stripped}/" if stripped else ""

    @property
    def azure_account(self) -> str:
        return self.account or _last_path_segment(self.endpoint_url) or ""

    @property
    def uri(self) -> str:
        """s3://, gs:// or https:// address of the prefix, for messages and reports."""
        if self.cloud in ("aws", "onprem"):
            return f"s3://{self.bucket}/{self.key_prefix}"
        if self.cloud == "gcp":
            return f"gs://{self.bucket}/{self.key_prefix}"
        return f"{_azure_account_url(self).rstrip('/')}/{self.bucket}/{self.key_prefix}"

    def __str__(self) -> str:
        if self.endpoint_url and self.cloud != "azure":
            return f"{self.uri} (endpoint {self.endpoint_url})"
        return self.uri


@dataclass(frozen=True)
class ObjectInfo:
    """One object as its store describes it. Checksums are lowercase hex, None when not vouched for."""

    key: str
    """Key relative to the location's prefix."""
    size: int
    """Size in bytes."""
    md5: str | None = None
    crc32c: str | None = None
    sha256: str | None = None

    def checksums(self) -> dict[str, str]:
        """The checksums this object has, by algorithm name."""
        values = {"sha256": self.sha256, "md5": self.md5, "crc32c": self.crc32c}
        return {name: value for name, value in values.items() if value}


@dataclass(frozen=True)
class Finding:
    """One object present on both sides that is not verifiably equal."""

    key: str
    reason: Literal["size", "checksum", "no-common-checksum"]
    detail: str
    """Human-readable: which sizes or checksums differ, or which checksums each side has."""
    source: ObjectInfo
    target: ObjectInfo


@dataclass(frozen=True)
class ParityReport:
    """What the target lacks or holds differently compared with the source (keys sorted)."""

    missing: tuple[str, ...]
    """Keys in the source that are not in the target."""
    different: tuple[Finding, ...]
    """Keys on both sides whose size or a common checksum differs."""
    extra: tuple[str, ...]
    """Keys only in the target. Reported, but they do not break parity: the target still serves
    every source object unchanged (replication may keep files the source has since deleted)."""
    unverifiable: tuple[Finding, ...]
    """Keys on both sides with equal size but no checksum present on both sides."""
    source_count: int
    target_count: int
    source_bytes: int
    target_bytes: int = 0
    verified_count: int = 0
    """Keys on both sides whose size and every common checksum agree."""
    verified_by: Mapping[str, int] = field(default_factory=dict)
    """How many verified keys were matched on each (strongest common) checksum algorithm."""

    @property
    def in_parity(self) -> bool:
        """True when every source object is in the target with verified-equal contents.

        An empty source is trivially in parity: callers expecting a model check `source_count`."""
        return not (self.missing or self.different or self.unverifiable)

    @property
    def identical(self) -> bool:
        """`in_parity` and the target holds nothing else."""
        return self.in_parity and not self.extra

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (for `--json` output and journals)."""
        return {
            "in_parity": self.in_parity,
            "identical": self.identical,
            "source_count": self.source_count,
            "target_count": self.target_count,
            "source_bytes": self.source_bytes,
            "target_bytes": self.target_bytes,
            "verified_count": self.verified_count,
            "verified_by": dict(self.verified_by),
            "missing": list(self.missing),
            "different": [asdict(finding) for finding in self.different],
            "extra": list(self.extra),
            "unverifiable": [asdict(finding) for finding in self.unverifiable],
        }


# --- comparison -------------------------------------------------------------------------------


def compare(source: Mapping[str, ObjectInfo], target: Mapping[str, ObjectInfo]) -> ParityReport:
    """Compare two inventories (as returned by `inventory`) key by key."""
    missing = sorted(key for key in source if key not in target)
    extra = sorted(key for key in target if key not in source)
    different: list[Finding] = []
    unverifiable: list[Finding] = []
    verified_by: dict[str, int] = {}
    for key in sorted(key for key in source if key in target):
        src, dst = source[key], target[key]
        if src.size != dst.size:
            different.append(Finding(key, "size", f"size {src.size} B != {dst.size} B", src, dst))
            continue
        src_sums, dst_sums = src.checksums(), dst.checksums()
        common = [name for name in CHECKSUM_ALGORITHMS if name in src_sums and name in dst_sums]
        if not common:
            unverifiable.append(
                Finding(
                    key,
                    "no-common-checksum",
                    f"same size ({src.size} B) but no checksum on both sides: source has "
                    f"{_names(src_sums)}, target has {_names(dst_sums)}",
                    src,
                    dst,
                )
            )
            continue
        # Every common checksum must agree: a stale sha256 metadata value must not hide an md5
        # mismatch.
        mismatched = [name for name in common if src_sums[name] != dst_sums[name]]
        if mismatched:
            detail = ", ".join(f"{name} {src_sums[name]} != {dst_sums[name]}" for name in mismatched)
            different.append(Finding(key, "checksum", detail, src, dst))
            continue
        verified_by[common[0]] = verified_by.get(common[0], 0) + 1
    return ParityReport(
        missing=tuple(missing),
        different=tuple(different),
        extra=tuple(extra),
        unverifiable=tuple(unverifiable),
        source_count=len(source),
        target_count=len(target),
        source_bytes=sum(info.size for info in source.values()),
        target_bytes=sum(info.size for info in target.values()),
        verified_count=sum(verified_by.values()),
        verified_by=verified_by,
    )


def _names(checksums: Mapping[str, str]) -> str:
    return "+".join(checksums) if checksums else "none"


# --- inventory --------------------------------------------------------------------------------


def inventory(
    location: StoreLocation,
    *,
    page_size: int | None = None,
    retries: int = DEFAULT_RETRIES,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, ObjectInfo]:
    """Every object under the location's prefix, by key relative to the prefix.

    `page_size` caps the objects per list request (None: the service's maximum; all pages are
    always read). `retries` and `timeout_seconds` apply to each request. Zero-byte keys ending in
    '/' are folder markers made by consoles and are skipped.
    """
    if page_size is not None and page_size < 1:
        raise ValueError(
            f"page_size must be a positive number of objects (got {page_size}); omit it for the default"
        )
    listers: dict[str, Callable[[StoreLocation, int | None, int, float], Iterable[ObjectInfo]]] = {
        "aws": _inventory_s3,
        "onprem": _inventory_s3,
        "gcp": _inventory_gcs,
        "azure": _inventory_azure,
    }
    result: dict[str, ObjectInfo] = {}
    for info in listers[location.cloud](location, page_size, retries, timeout_seconds):
        result[info.key] = info
    return result


def verify_parity(
    source: StoreLocation,
    target: StoreLocation,
    *,
    page_size: int | None = None,
    retries: int = DEFAULT_RETRIES,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> ParityReport:
    """Inventory both stores and compare them; raises a `StoreError` naming the store that failed."""
    options: dict[str, Any] = {"page_size": page_size, "retries": retries, "timeout_seconds": timeout_seconds}
    return compare(inventory(source, **options), inventory(target, **options))


def _relative(location: StoreLocation, key: str, size: int) -> str | None:
    relative = key[len(location.key_prefix) :]
    if not relative or (relative.endswith("/") and size == 0):
        return None
    return relative


# --- checksum normalisation -------------------------------------------------------------------


def _b64_to_hex(value: str | bytes | bytearray | None, expected_bytes: int) -> str | None:
    """Base64 (or raw bytes) of a digest to lowercase hex; None when absent or malformed."""
    if not value:
        return None
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    else:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
    return raw.hex() if len(raw) == expected_bytes else None


def _digest_from_metadata(metadata: Mapping[str, str] | None, name: str, digest_bytes: int) -> str | None:
    """A digest (hex or base64) stored in user metadata under `name`, looked up case-insensitively."""
    if not metadata:
        return None
    for key, value in metadata.items():
        if key.lower() == name and value:
            text = value.strip()
            if re.fullmatch(rf"[0-9a-fA-F]{{{digest_bytes * 2}}}", text):
                return text.lower()
            return _b64_to_hex(text, digest_bytes)
    return None


def _s3_md5(etag: str | None, head: Mapping[str, Any]) -> str | None:
    """The ETag as MD5, only where S3 guarantees that: single-part, not SSE-KMS, not SSE-C."""
    if not etag:
        return None
    value = etag.strip('"').lower()
    if head.get("ServerSideEncryption") in ("aws:kms", "aws:kms:dsse") or head.get("SSECustomerAlgorithm"):
        return None
    return value if re.fullmatch(r"[0-9a-f]{32}", value) else None


def _s3_full_object_checksum(head: Mapping[str, Any], field_name: str, expected_bytes: int) -> str | None:
    """A flexible checksum of the whole object (not a checksum-of-part-checksums)."""
    value = head.get(field_name)
    if not value or head.get("ChecksumType") == "COMPOSITE" or "-" in str(value):
        return None
    return _b64_to_hex(str(value), expected_bytes)


# --- S3 ---------------------------------------------------------------------------------------


_SESSION_LOCK = threading.Lock()


@functools.cache
def _boto3_session() -> Any:
    """One session per process: it caches the loaded service models that make clients slow to build."""
    import boto3  # type: ignore[import-untyped]

    return boto3.session.Session()


def _s3_client(location: StoreLocation, retries: int, timeout_seconds: float) -> Any:
    from botocore.config import Config  # type: ignore[import-untyped]

    config = Config(
        retries={"max_attempts": retries + 1, "mode": "standard"},
        connect_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        s3={"addressing_style": "path"} if location.endpoint_url else {},
        max_pool_connections=_HEAD_WORKERS,
    )
    if location.cloud == "onprem":
        key_id, secret = _onprem_key(location, timeout_seconds)
        with _SESSION_LOCK:
            return _boto3_session().client(
                "s3",
                endpoint_url=location.endpoint_url,
                region_name=location.region or "us-east-1",
                config=config,
                aws_access_key_id=key_id,
                aws_secret_access_key=secret,
            )
    with _SESSION_LOCK:  # a boto3 session is not thread-safe; clients are
        session = _boto3_session()
        if location.endpoint_url is None:
            return session.client("s3", region_name=location.region, config=config)
        has_credentials = os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")
        # Emulators accept any key; without credentials in the environment, avoid the default
        # chain's slow instance-metadata lookups and sign with a placeholder.
        keys = (
            {} if has_credentials else {"aws_access_key_id": "emulator", "aws_secret_access_key": "emulator"}
        )
        return session.client(
            "s3",
            endpoint_url=location.endpoint_url,
            region_name=location.region or "us-east-1",
            config=config,
            **keys,
        )


def _onprem_key(location: StoreLocation, timeout_seconds: float) -> tuple[str, str]:
    """The on-prem store's key: ONPREM_S3_ACCESS_KEY_ID/ONPREM_S3_SECRET_ACCESS_KEY, else the
    read-only key from the site's vault (KV v2 at `credentials_path`) with VAULT_TOKEN. Never the
    AWS credentials of the environment: they belong to another store."""
    key_id, secret = (os.environ.get(name) for name in ONPREM_KEY_ENV)
    if key_id and secret:
        return key_id, secret
    token = os.environ.get("VAULT_TOKEN")
    if not (token and location.vault_address and location.vault_kv_mount and location.credentials_path):
        mount = location.vault_kv_mount or "<vaultKvMount>"
        secret = f"{mount}/{location.credentials_path or '<s3ReadCredentialsPath>'}"
        raise StoreAccessDeniedError(
            f"{location}: no key for the on-prem store: set VAULT_TOKEN (a token that may read {secret} "
            f"at {location.vault_address or '<vaultAddress>'}), or export "
            f"{ONPREM_KEY_ENV[0]} and {ONPREM_KEY_ENV[1]}",
            location,
        )
    import httpx

    url = (
        f"{location.vault_address.rstrip('/')}/v1/{location.vault_kv_mount}/data/{location.credentials_path}"
    )
    try:
        response = httpx.get(url, headers={"X-Vault-Token": token}, timeout=timeout_seconds)
    except httpx.HTTPError as exc:
        raise StoreUnreachableError(
            f"{location}: the vault at {location.vault_address} did not answer ({exc}); check the network "
            f"or export {ONPREM_KEY_ENV[0]} and {ONPREM_KEY_ENV[1]}",
            location,
        ) from exc
    if response.status_code in (401, 403, 404):
        raise StoreAccessDeniedError(
            f"{location}: the vault refused to read {location.vault_kv_mount}/{location.credentials_path} "
            f"(HTTP {response.status_code}): VAULT_TOKEN needs read on "
            f"{location.vault_kv_mount}/data/{location.credentials_path}",
            location,
        )
    data = ((response.json() or {}).get("data") or {}).get("data") or {}
    if response.status_code != 200 or not data.get("access_key_id") or not data.get("secret_access_key"):
        raise StoreAccessDeniedError(
            f"{location}: vault secret {location.vault_kv_mount}/{location.credentials_path} has no "
            f"access_key_id and secret_access_key (HTTP {response.status_code})",
            location,
        )
    return str(data["access_key_id"]), str(data["secret_access_key"])


def _inventory_s3(
    location: StoreLocation, page_size: int | None, retries: int, timeout_seconds: float
) -> Iterator[ObjectInfo]:
    client = _s3_client(location, retries, timeout_seconds)
    listed: list[tuple[str, int, str | None]] = []
    try:
        paginator = client.get_paginator("list_objects_v2")
        pagination = {"PageSize": page_size} if page_size else {}
        for page in paginator.paginate(
            Bucket=location.bucket, Prefix=location.key_prefix, PaginationConfig=pagination
        ):
            for obj in page.get("Contents", []):
                listed.append((obj["Key"], int(obj["Size"]), obj.get("ETag")))
    except Exception as exc:
        _raise_s3_error(location, exc, "list objects")

    def describe(entry: tuple[str, int, str | None]) -> ObjectInfo | None:
        key, size, etag = entry
        relative = _relative(location, key, size)
        if relative is None:
            return None
        try:
            head = client.head_object(Bucket=location.bucket, Key=key, ChecksumMode="ENABLED")
        except Exception as exc:
            if _s3_error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None  # deleted between list and head: it is simply not in the store now
            _raise_s3_error(location, exc, f"read metadata of {key!r}")
        return ObjectInfo(
            key=relative,
            size=int(head.get("ContentLength", size)),
            md5=_s3_md5(head.get("ETag", etag), head)
            or _digest_from_metadata(head.get("Metadata"), RCLONE_MD5_METADATA_KEY, 16),
            crc32c=_s3_full_object_checksum(head, "ChecksumCRC32C", 4),
            # S3 computed ChecksumSHA256 itself; the metadata value is only what the uploader claimed.
            sha256=_s3_full_object_checksum(head, "ChecksumSHA256", 32)
            or _digest_from_metadata(head.get("Metadata"), SHA256_METADATA_KEY, 32),
        )

    with ThreadPoolExecutor(max_workers=_HEAD_WORKERS) as pool:
        for info in pool.map(describe, listed):
            if info is not None:
                yield info


def _s3_error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _raise_s3_error(location: StoreLocation, exc: Exception, action: str) -> NoReturn:
    from botocore.exceptions import (  # type: ignore[import-untyped]
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    code = _s3_error_code(exc)
    where = location.endpoint_url or f"region {location.region or '<SDK default>'}"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        raise StoreUnreachableError(
            f"{location}: cannot {action}, S3 endpoint unreachable ({exc}). Check the network / "
            f"{where}; for an emulator, check it is running at endpoint_url",
            location,
        ) from exc
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        raise StoreAccessDeniedError(
            f"{location}: cannot {action}, no AWS credentials found ({exc}). Configure the default "
            "chain: AWS_PROFILE / AWS_ACCESS_KEY_ID+AWS_SECRET_ACCESS_KEY, SSO or an instance role",
            location,
        ) from exc
    if code in ("NoSuchBucket", "404", "NotFound"):
        raise StoreNotFoundError(
            f"{location}: bucket {location.bucket!r} does not exist ({where}). Expected the model "
            "bucket of the stack: check `pulumi stack output modelStore` and that the stack is deployed",
            location,
        ) from exc
    if code in ("AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                "ExpiredToken", "InvalidToken", "AllAccessDisabled"):  # fmt: skip
        who = (
            f"the key from {location.vault_kv_mount}/{location.credentials_path} (or {ONPREM_KEY_ENV[0]})"
            if location.cloud == "onprem"
            else "the active AWS credentials (aws sts get-caller-identity)"
        )
        raise StoreAccessDeniedError(
            f"{location}: access denied while trying to {action} ({code}). The caller needs "
            f"s3:ListBucket on the bucket and s3:GetObject on its keys; check {who}",
            location,
        ) from exc
    if code in (
        "PermanentRedirect",
        "301",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraintException",
    ):
        raise StoreError(
            f"{location}: the bucket is in another region than {location.region!r} ({code}). Set "
            "region to the bucket's region (the `region` of its modelStore output)",
            location,
        ) from exc
    raise StoreError(f"{location}: cannot {action}: {exc}", location) from exc


# --- GCS --------------------------------------------------------------------------------------


def _inventory_gcs(
    location: StoreLocation, page_size: int | None, retries: int, timeout_seconds: float
) -> Iterator[ObjectInfo]:
    from google.cloud.storage.retry import DEFAULT_RETRY  # type: ignore[import-untyped]

    retry = DEFAULT_RETRY.with_timeout(timeout_seconds * (retries + 1)) if retries > 0 else None
    try:
        client = _gcs_client(location)
        blobs = client.list_blobs(
            location.bucket,
            prefix=location.key_prefix or None,
            page_size=page_size,
            timeout=timeout_seconds,
            retry=retry,
        )
        for blob in blobs:
            size = int(blob.size or 0)
            relative = _relative(location, blob.name, size)
            if relative is None:
                continue
            yield ObjectInfo(
                key=relative,
                size=size,
                md5=_b64_to_hex(blob.md5_hash, 16),  # absent for composite objects
                crc32c=_b64_to_hex(blob.crc32c, 4),
                sha256=_digest_from_metadata(blob.metadata, SHA256_METADATA_KEY, 32),
            )
    except StoreError:
        raise
    except Exception as exc:
        _raise_gcs_error(location, exc)


def _gcs_client(location: StoreLocation) -> Any:
    from google.cloud import storage  # type: ignore[import-untyped]

    if location.endpoint_url is None:
        return storage.Client(project=location.account)
    from google.auth.credentials import AnonymousCredentials

    return storage.Client(
        project=location.account or "emulator",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": location.endpoint_url},
    )


def _raise_gcs_error(location: StoreLocation, exc: Exception) -> NoReturn:
    import requests
    from google.api_core import exceptions as gexc
    from google.auth.exceptions import DefaultCredentialsError, RefreshError

    cause: BaseException = exc
    if isinstance(exc, gexc.RetryError) and exc.cause is not None:
        cause = exc.cause
    if isinstance(cause, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        raise StoreUnreachableError(
            f"{location}: GCS endpoint unreachable ({cause}). Check the network"
            + ("; for an emulator, check it is running at endpoint_url" if location.endpoint_url else ""),
            location,
        ) from exc
    if isinstance(cause, DefaultCredentialsError | RefreshError):
        raise StoreAccessDeniedError(
            f"{location}: no usable Google credentials ({cause}). Run `gcloud auth application-default "
            "login` or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key",
            location,
        ) from exc
    if isinstance(cause, gexc.NotFound):
        raise StoreNotFoundError(
            f"{location}: bucket {location.bucket!r} does not exist. Expected the model bucket of the "
            "stack: check `pulumi stack output modelStore` and that the stack is deployed",
            location,
        ) from exc
    if isinstance(cause, gexc.Forbidden | gexc.Unauthorized):
        raise StoreAccessDeniedError(
            f"{location}: access denied ({cause.message}). The caller needs roles/storage.objectViewer "
            "on the bucket; check the active account (gcloud auth list)",
            location,
        ) from exc
    raise StoreError(f"{location}: cannot list objects: {exc}", location) from exc


# --- Azure Blob -------------------------------------------------------------------------------


def _azure_account_url(location: StoreLocation) -> str:
    if location.endpoint_url:
        return location.endpoint_url.rstrip("/")
    return f"https://{location.azure_account}.blob.core.windows.net"


def _last_path_segment(url: str | None) -> str | None:
    if not url:
        return None
    segments = [segment for segment in urlparse(url).path.split("/") if segment]
    return segments[-1] if segments else None


def _azure_credential(location: StoreLocation) -> Any:
    """In order: AZURE_STORAGE_KEY; the AccountKey of AZURE_STORAGE_CONNECTION_STRING when its
    AccountName is this account; Azurite's dev key in emulator mode; else Entra ID
    (DefaultAzureCredential: az login, workload identity, managed identity...)."""
    from azure.core.credentials import AzureNamedKeyCredential

    account = location.azure_account
    key = os.environ.get("AZURE_STORAGE_KEY") or _connection_string_key(
        os.environ.get("AZURE_STORAGE_CONNECTION_STRING", ""), account
    )
    if key:
        return AzureNamedKeyCredential(account, key)
    if location.endpoint_url:
        if account == AZURITE_ACCOUNT:
            return AzureNamedKeyCredential(account, _AZURITE_KEY)
        raise StoreAccessDeniedError(
            f"{location}: emulator endpoint for account {account!r} but no key: set AZURE_STORAGE_KEY "
            "or AZURE_STORAGE_CONNECTION_STRING with the account key (Azurite's default account "
            f"is {AZURITE_ACCOUNT})",
            location,
        )
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as exc:
        raise StoreAccessDeniedError(
            f"{location}: azure-identity is not installed, so no Entra ID credential is available. "
            "Install it (pip install 'inference-failover[azure]') or set AZURE_STORAGE_KEY",
            location,
        ) from exc
    return DefaultAzureCredential()


def _connection_string_key(connection_string: str, account: str) -> str | None:
    parts: dict[str, str] = {}
    for part in connection_string.split(";"):
        name, separator, value = part.partition("=")  # values (base64 keys) may contain '='
        if separator:
            parts[name.strip()] = value.strip()
    if parts.get("AccountName") == account:
        return parts.get("AccountKey") or None
    return None


def _inventory_azure(
    location: StoreLocation, page_size: int | None, retries: int, timeout_seconds: float
) -> Iterator[ObjectInfo]:
    from azure.storage.blob import ContainerClient, ExponentialRetry

    container = ContainerClient(
        account_url=_azure_account_url(location),
        container_name=location.bucket,
        credential=_azure_credential(location),
        # The SDK's default backs off 15 s+ between attempts; a verifier should fail fast.
        retry_policy=ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=retries),
        connection_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
    )
    try:
        blobs = container.list_blobs(
            name_starts_with=location.key_prefix or None,
            include=["metadata"],
            results_per_page=page_size,
        )
        for blob in blobs:
            size = int(blob.size or 0)
            metadata = blob.metadata or {}
            relative = _relative(location, blob.name, size)
            if relative is None or metadata.get("hdi_isfolder") == "true":
                continue
            yield ObjectInfo(
                key=relative,
                size=size,
                md5=_b64_to_hex(blob.content_settings.content_md5, 16),
                sha256=_digest_from_metadata(metadata, SHA256_METADATA_KEY, 32),
            )
    except StoreError:
        raise
    except Exception as exc:
        _raise_azure_error(location, exc)
    finally:
        container.close()


def _raise_azure_error(location: StoreLocation, exc: Exception) -> NoReturn:
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    error_code = getattr(exc, "error_code", None)
    if isinstance(exc, ServiceRequestError):
        raise StoreUnreachableError(
            f"{location}: Azure Blob endpoint unreachable ({exc}). Check the network and the storage "
            f"account name {location.azure_account!r}"
            + ("; for an emulator, check it is running at endpoint_url" if location.endpoint_url else ""),
            location,
        ) from exc
    if isinstance(exc, ResourceNotFoundError):
        raise StoreNotFoundError(
            f"{location}: container {location.bucket!r} does not exist in account "
            f"{location.azure_account!r} ({error_code}). Check `pulumi stack output modelStore` and "
            "that the stack is deployed",
            location,
        ) from exc
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ClientAuthenticationError) or (isinstance(exc, HttpResponseError) and status == 403):
        raise StoreAccessDeniedError(
            f"{location}: access denied ({error_code or status}). The caller needs the 'Storage Blob "
            "Data Reader' role on the container (az login / AZURE_CLIENT_ID...), or set "
            "AZURE_STORAGE_KEY to a valid account key",
            location,
        ) from exc
    raise StoreError(f"{location}: cannot list blobs: {exc}", location) from exc
