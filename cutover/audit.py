"""The audit trail: who moved production traffic, why and when, in each stack's write-once bucket.

Every state-changing command (`execute`, `failback`, `drill`, `resume`, `rollback`, `rotate-key`)
appends records to the audit store (`auditStore` output, components/audit) of every stack it can
reach: one when the run starts (reason, ticket, operator), one per step with its timestamps and
outcome, one when the run ends. A stack whose store cannot be reached (its cloud is down) is
reported and skipped; the run goes on.

Each store holds its own hash chain: record N is the object `failover-audit/<N, 10 digits>.json`
and carries the SHA-256 of record N-1's bytes. Records are created with a create-only
precondition (S3 `If-None-Match: *`, GCS `ifGenerationMatch=0`, Azure `If-None-Match: *`), so a
record is never overwritten and two operators never both write record N (the loser re-reads the
head and appends after it). `failover audit --verify` walks the chain: a deleted record leaves a
gap, an edited one breaks the next record's hash. The bucket's own lock (S3 Object Lock
COMPLIANCE, GCS locked retention, Azure locked immutability) keeps anyone from deleting or
replacing them in the first place.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cutover.errors import UsageError
from cutover.journal import now_iso

PREFIX = "failover-audit/"
FORMAT_VERSION = 1
APPEND_ATTEMPTS = 5
AUDIT_STORE_OUTPUT = "auditStore"


class RecordExistsError(Exception):
    """The store refused to create a record that already exists (write-once)."""


class AuditStoreError(Exception):
    """The store cannot be reached or refuses us (credentials, network, missing bucket)."""


class AuditBackend(Protocol):
    name: str
    """Where the records live, e.g. s3://bucket/failover-audit/."""

    def list_keys(self) -> list[str]: ...

    def read(self, key: str) -> bytes: ...

    def create(self, key: str, body: bytes) -> None:
        """Write `body` at `key` only if nothing is there; RecordExistsError otherwise."""
        ...


# --- backends --------------------------------------------------------------------------------


def _location(descriptor: Mapping[str, Any], endpoint_url: str | None) -> Any:
    from cutover.verify import StoreLocation

    return StoreLocation.from_descriptor(descriptor, prefix=PREFIX, endpoint_url=endpoint_url)


class S3Backend:
    def __init__(self, descriptor: Mapping[str, Any], endpoint_url: str | None = None) -> None:
        from cutover.verify import _s3_client

        self.location = _location(descriptor, endpoint_url)
        self.bucket = self.location.bucket
        self.client = _s3_client(self.location, retries=2, timeout_seconds=10.0)
        self.name = f"s3://{self.bucket}/{PREFIX}"

    def _wrap(self, exc: Exception) -> Exception:
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
        if code in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
            return RecordExistsError(str(exc))
        return AuditStoreError(f"{self.name}: {str(exc).splitlines()[0]}")

    def list_keys(self) -> list[str]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=PREFIX)
            return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
        except Exception as exc:
            raise self._wrap(exc) from exc

    def tampered(self) -> list[str]:
        """Records whose history shows a change: more than one version, or a delete marker.

        Object Lock keeps the original version, so even an overwrite or delete of the newest record
        (which no later record's hash covers) shows up here.
        """
        try:
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=PREFIX
            )
            versions: dict[str, int] = {}
            deleted: set[str] = set()
            for page in pages:
                for item in page.get("Versions", []):
                    versions[item["Key"]] = versions.get(item["Key"], 0) + 1
                deleted.update(item["Key"] for item in page.get("DeleteMarkers", []))
        except Exception as exc:
            raise self._wrap(exc) from exc
        found = [
            f"{key} has {n} versions: it was overwritten" for key, n in sorted(versions.items()) if n > 1
        ]
        found += [
            f"{key} has a delete marker: it was deleted (the locked version remains)"
            for key in sorted(deleted)
        ]
        return found

    def read(self, key: str) -> bytes:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except Exception as exc:
            raise self._wrap(exc) from exc

    def create(self, key: str, body: bytes) -> None:
        try:
            # The bucket's default Object Lock retention applies to the new version; the checksum
            # is the integrity header S3 requires for puts into Object Lock buckets.
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                IfNoneMatch="*",
                ContentType="application/json",
                ChecksumAlgorithm="SHA256",
            )
        except Exception as exc:
            raise self._wrap(exc) from exc


GCS_TIMEOUT_SECONDS = 10.0


def _gcs_retry() -> Any:
    from google.api_core.retry import Retry
    from google.cloud.storage.retry import DEFAULT_RETRY  # type: ignore[import-untyped]

    # The library default keeps retrying for 120 s; an audit write must not hold up a cutover.
    return Retry(predicate=DEFAULT_RETRY._predicate, timeout=GCS_TIMEOUT_SECONDS)


class GcsBackend:
    def __init__(self, descriptor: Mapping[str, Any], endpoint_url: str | None = None) -> None:
        from cutover.verify import _gcs_client

        self.location = _location(descriptor, endpoint_url)
        self.bucket = _gcs_client(self.location).bucket(self.location.bucket)
        self.name = f"gs://{self.location.bucket}/{PREFIX}"

    def _wrap(self, exc: Exception) -> Exception:
        from google.api_core import exceptions as gexc

        if isinstance(exc, gexc.PreconditionFailed):
            return RecordExistsError(str(exc))
        return AuditStoreError(f"{self.name}: {str(exc).splitlines()[0]}")

    def list_keys(self) -> list[str]:
        try:
            blobs = self.bucket.list_blobs(prefix=PREFIX, timeout=GCS_TIMEOUT_SECONDS, retry=_gcs_retry())
            return sorted(blob.name for blob in blobs)
        except Exception as exc:
            raise self._wrap(exc) from exc

    def read(self, key: str) -> bytes:
        try:
            return bytes(
                self.bucket.blob(key).download_as_bytes(timeout=GCS_TIMEOUT_SECONDS, retry=_gcs_retry())
            )
        except Exception as exc:
            raise self._wrap(exc) from exc

    def create(self, key: str, body: bytes) -> None:
        try:
            self.bucket.blob(key).upload_from_string(
                body,
                content_type="application/json",
                if_generation_match=0,
                timeout=GCS_TIMEOUT_SECONDS,
                retry=_gcs_retry(),
            )
        except Exception as exc:
            raise self._wrap(exc) from exc


class AzureBackend:
    def __init__(self, descriptor: Mapping[str, Any], endpoint_url: str | None = None) -> None:
        from azure.storage.blob import BlobServiceClient

        from cutover.verify import _azure_account_url, _azure_credential

        self.location = _location(descriptor, endpoint_url)
        self.retention_days = int(descriptor.get("retentionDays") or 0)
        credential = _azure_credential(self.location)
        service = BlobServiceClient(
            _azure_account_url(self.location),
            credential=credential,
            retry_total=2,
            connection_timeout=10,
            read_timeout=10,
        )
        self.container = service.get_container_client(self.location.bucket)
        self.name = f"{_azure_account_url(self.location)}/{self.location.bucket}/{PREFIX}"

    def _wrap(self, exc: Exception) -> Exception:
        from azure.core.exceptions import ResourceExistsError

        if isinstance(exc, ResourceExistsError):
            return RecordExistsError(str(exc))
        return AuditStoreError(f"{self.name}: {str(exc).splitlines()[0]}")

    def list_keys(self) -> list[str]:
        try:
            return sorted(blob.name for blob in self.container.list_blobs(name_starts_with=PREFIX))
        except Exception as exc:
            raise self._wrap(exc) from exc

    def read(self, key: str) -> bytes:
        try:
            return bytes(self.container.download_blob(key).readall())
        except Exception as exc:
            raise self._wrap(exc) from exc

    def create(self, key: str, body: bytes) -> None:
        try:
            kwargs: dict[str, Any] = {}
            if self.retention_days:
                from datetime import UTC, datetime, timedelta

                from azure.storage.blob import ImmutabilityPolicy

                # The account's default policy is Unlocked (Azure creates none Locked); this record's
                # own policy is Locked: nobody can shorten it or delete the version before it ends.
                until = datetime.now(UTC) + timedelta(days=self.retention_days)
                kwargs["immutability_policy"] = ImmutabilityPolicy(expiry_time=until, policy_mode="Locked")
            self.container.upload_blob(key, body, overwrite=False, **kwargs)  # If-None-Match: *
        except Exception as exc:
            raise self._wrap(exc) from exc


BACKENDS: dict[str, Callable[[Mapping[str, Any], str | None], AuditBackend]] = {
    "aws": S3Backend,
    # A site's S3-compatible store, at the endpoint its auditStore output names (verify._s3_client
    # signs with the on-prem key, never with the shell's AWS credentials).
    "onprem": S3Backend,
    "gcp": GcsBackend,
    "azure": AzureBackend,
}


def backend_for(descriptor: Mapping[str, Any], endpoint_url: str | None = None) -> AuditBackend:
    cloud = str(descriptor.get("cloud", ""))
    if cloud not in BACKENDS or not descriptor.get("bucket"):
        raise AuditStoreError(
            f"the auditStore output must name a cloud ({', '.join(BACKENDS)}) and a bucket "
            f"(got {dict(descriptor)})"
        )
    try:
        return BACKENDS[cloud](descriptor, endpoint_url)
    except ImportError as exc:
        raise AuditStoreError(f"the {cloud} storage SDK is not installed ({exc})") from exc
    except Exception as exc:
        raise AuditStoreError(f"cannot open the {cloud} audit store: {str(exc).splitlines()[0]}") from exc


# --- records and the chain -----------------------------------------------------------------------


def record_key(seq: int) -> str:
    return f"{PREFIX}{seq:010d}.json"


def seq_of(key: str) -> int | None:
    name = key.removeprefix(PREFIX).removesuffix(".json")
    return int(name) if name.isdigit() else None


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def encode(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()


@dataclass
class AppendResult:
    stack: str
    ok: bool
    detail: str


@dataclass
class AuditTrail:
    """Appends events to every reachable stack's store; never stops the run for an audit failure."""

    stores: dict[str, AuditBackend]
    unreachable: dict[str, str] = field(default_factory=dict)
    """stack -> why its store could not even be opened."""
    context: dict[str, Any] = field(default_factory=dict)
    """Added to every event: reason, ticket, operator, command, run id."""
    warn: Callable[[str], None] = lambda _: None

    def append(self, event: Mapping[str, Any]) -> list[AppendResult]:
        results = [AppendResult(stack, False, why) for stack, why in self.unreachable.items()]
        body = {**self.context, **event, "recorded_at": now_iso()}
        for stack, store in list(self.stores.items()):
            try:
                seq = append_record(store, body)
                results.append(AppendResult(stack, True, f"{store.name} record {seq}"))
            except (AuditStoreError, RecordExistsError) as exc:
                results.append(AppendResult(stack, False, str(exc)))
                # Its cloud is probably down: do not make every later step wait for it again.
                del self.stores[stack]
                self.unreachable[stack] = f"skipped after an earlier failure: {exc}"
        for failed in (r for r in results if not r.ok):
            self.warn(f"audit record not written to stack {failed.stack}: {failed.detail}")
        return results


def append_record(store: AuditBackend, event: Mapping[str, Any]) -> int:
    """Append `event` after the store's newest record; returns its sequence number."""
    for _ in range(APPEND_ATTEMPTS):
        keys = [k for k in store.list_keys() if seq_of(k) is not None]
        last = max(keys, key=lambda k: seq_of(k) or 0) if keys else None
        seq = (seq_of(last) or 0) + 1 if last else 1
        prev = sha256(store.read(last)) if last else None
        record = {"version": FORMAT_VERSION, "seq": seq, "prev_sha256": prev, "event": dict(event)}
        try:
            store.create(record_key(seq), encode(record))
            return seq
        except RecordExistsError:
            continue  # another operator appended record `seq` first: chain after theirs
    raise AuditStoreError(f"{store.name}: {APPEND_ATTEMPTS} concurrent appends in a row; try again")


@dataclass
class ChainReport:
    store: str
    records: list[dict[str, Any]]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"store": self.store, "ok": self.ok, "count": len(self.records), "problems": self.problems}


def read_chain(store: AuditBackend) -> ChainReport:
    """Every record in order, and every break in the chain (gap, edit, unreadable record)."""
    problems: list[str] = []
    records: list[dict[str, Any]] = []
    keys = sorted((seq, key) for key in store.list_keys() if (seq := seq_of(key)) is not None)
    expected, prev_hash = 1, None
    for seq, key in keys:
        if seq != expected:
            problems.append(
                f"records {expected}..{seq - 1} are missing before record {seq} (deleted?)"
                if seq > expected
                else f"record {seq} appears twice"
            )
            prev_hash = None  # cannot check across the gap
        body = store.read(key)
        try:
            record = json.loads(body)
        except json.JSONDecodeError:
            problems.append(f"record {seq} ({key}) is not JSON (edited?)")
            expected, prev_hash = seq + 1, sha256(body)
            continue
        if prev_hash is not None and record.get("prev_sha256") != prev_hash:
            problems.append(f"record {seq} does not chain to record {seq - 1}: record {seq - 1} was edited")
        if record.get("seq") != seq:
            problems.append(f"record {key} says it is record {record.get('seq')} (edited or moved?)")
        records.append(record)
        expected, prev_hash = seq + 1, sha256(body)
    history = getattr(store, "tampered", None)
    if callable(history):
        problems.extend(history())
    return ChainReport(store.name, records, problems)


def matches(record: Mapping[str, Any], filters: Mapping[str, str | None]) -> bool:
    event = record.get("event") or {}
    for key, wanted in filters.items():
        if wanted is None:
            continue
        if key == "since":
            if str(event.get("recorded_at", "")) < wanted:
                return False
        elif wanted not in str(event.get(key, "")):
            return False
    return True


# --- who is acting ------------------------------------------------------------------------------


def os_user() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):
        return "unknown"


def cloud_identity(cloud: str, endpoint_url: str | None = None) -> str:
    """The principal the cloud credentials in use stand for (best effort, never raises)."""
    try:
        if cloud == "aws":
            return _aws_identity(endpoint_url)
        if cloud == "gcp":
            return _gcp_identity(endpoint_url)
        if cloud == "azure":
            return _azure_identity(endpoint_url)
    except Exception as exc:
        return f"unknown ({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})"
    return "unknown"


def _aws_identity(endpoint_url: str | None) -> str:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    config = Config(connect_timeout=3, read_timeout=3, retries={"max_attempts": 1})
    kwargs: dict[str, Any] = {"config": config, "region_name": os.environ.get("AWS_REGION", "us-east-1")}
    if endpoint_url:  # an emulator (moto answers STS too)
        kwargs.update(endpoint_url=endpoint_url)
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs.update(aws_access_key_id="emulator", aws_secret_access_key="emulator")
    return str(boto3.client("sts", **kwargs).get_caller_identity()["Arn"])


def _gcp_identity(endpoint_url: str | None) -> str:
    if endpoint_url:
        return "anonymous (emulator)"
    import google.auth

    credentials, project = google.auth.default()
    email = getattr(credentials, "service_account_email", None) or getattr(credentials, "signer_email", None)
    return f"{email or 'user credentials'} (project {project})"


def _azure_identity(endpoint_url: str | None) -> str:
    if endpoint_url:
        return "azurite account key (emulator)"
    import base64

    from azure.identity import DefaultAzureCredential

    token = DefaultAzureCredential().get_token("https://storage.azure.com/.default").token
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims.get("upn") or claims.get("unique_name") or claims.get("appid") or claims.get("oid"))


def require_reason(command: str, reason: str | None, dry_run: bool = False) -> None:
    if dry_run:
        return
    if not reason or not reason.strip():
        raise UsageError(
            f"`failover {command}` changes production and needs --reason (it goes to the audit trail)",
            'pass --reason "why" (and --ticket INC-123 if there is one)',
        )


def open_trail(
    descriptors: Mapping[str, Mapping[str, Any] | None],
    endpoints: Mapping[str, str | None],
    clouds: Mapping[str, str],
    context: Mapping[str, Any],
    warn: Callable[[str], None],
) -> AuditTrail:
    """An AuditTrail over every stack whose auditStore output is there and whose store opens."""
    stores: dict[str, AuditBackend] = {}
    unreachable: dict[str, str] = {}
    identities: dict[str, str] = {}
    for stack, descriptor in descriptors.items():
        if not descriptor:
            unreachable[stack] = f"stack '{stack}' has no {AUDIT_STORE_OUTPUT} output (deploy it first)"
            continue
        try:
            stores[stack] = backend_for(descriptor, endpoints.get(stack))
        except AuditStoreError as exc:
            unreachable[stack] = str(exc)
    # Only clouds whose store we write to are asked who we are: a stack without a store (or a test
    # without clouds) never triggers a credential lookup, which could reach a metadata server.
    for stack in stores:
        cloud = clouds.get(stack, "")
        if cloud and cloud not in identities:
            identities[cloud] = cloud_identity(cloud, endpoints.get(stack))
    operator = {"os_user": os_user(), "cloud_identities": identities}
    return AuditTrail(stores, unreachable, {**context, "operator": operator}, warn)


def summarize(records: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row per record for tables and CSV."""
    rows = []
    for record in records:
        event = record.get("event") or {}
        operator = event.get("operator") or {}
        rows.append(
            {
                "seq": str(record.get("seq", "")),
                "recorded_at": str(event.get("recorded_at", ""))[:19].replace("T", " "),
                "command": str(event.get("command", "")),
                "run_id": str(event.get("run_id", "")),
                "event": str(event.get("event", "")),
                "step": str(event.get("step", "")),
                "outcome": str(event.get("outcome", "")),
                "operator": str(operator.get("os_user", "")),
                "reason": str(event.get("reason", "")),
                "ticket": str(event.get("ticket") or ""),
            }
        )
    return rows
