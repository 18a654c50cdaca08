"""The parity verifier against real local servers: moto (S3), fake-gcs-server (GCS), Azurite (Blob).

Every test creates its own buckets on the session's emulators, uploads with each cloud's own SDK
the way users and replication do, and runs the verifier exactly as the cutover CLI does.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import google_crc32c
import pytest

from components.common import Cloud
from cutover.verify import (
    RCLONE_MD5_METADATA_KEY,
    SHA256_METADATA_KEY,
    StoreAccessDeniedError,
    StoreLocation,
    StoreNotFoundError,
    StoreUnreachableError,
    inventory,
    verify_parity,
)
from tests.emulators import (  # noqa: F401 (moto_s3, fake_gcs, azurite are pytest fixtures)
    AZURITE_ACCOUNT,
    MULTIPART_MIN_PART_BYTES,
    Emulator,
    azure_service_client,
    azurite,
    fake_gcs,
    free_port,
    gcs_client,
    moto_s3,
    s3_client,
    unique_bucket_name,
)

CLOUDS: tuple[Cloud, ...] = ("aws", "gcp", "azure")
CLOUD_PAIRS = list(itertools.permutations(CLOUDS, 2))
PAIR_IDS = [f"{source}-to-{target}" for source, target in CLOUD_PAIRS]
EMULATOR_FIXTURES: dict[Cloud, str] = {"aws": "moto_s3", "gcp": "fake_gcs", "azure": "azurite"}
PREFIX = "models/llama-3-8b"

_rng = random.Random(20240604)
MODEL_FILES: dict[str, bytes] = {
    "config.json": b'{"architectures": ["LlamaForCausalLM"], "hidden_size": 4096}',
    "tokenizer.json": b'{"version": "1.0", "model": {"type": "BPE"}}',
    "model-00001-of-00002.safetensors": _rng.randbytes(3000),
    "model-00002-of-00002.safetensors": _rng.randbytes(2000),
}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def flip_one_byte(data: bytes, index: int = 100) -> bytes:
    return data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :]


class Store:
    """A fresh bucket (Azure: container) on one emulator, filled through that cloud's own SDK."""

    def __init__(self, cloud: Cloud, emulator: Emulator, prefix: str = PREFIX) -> None:
        self.cloud = cloud
        self.emulator = emulator
        self.prefix = prefix
        self.bucket = unique_bucket_name(f"verify-{cloud}")
        self._client: Any
        if cloud == "aws":
            self._client = s3_client(emulator)
            self._client.create_bucket(Bucket=self.bucket)
        elif cloud == "gcp":
            self._client = gcs_client(emulator).create_bucket(self.bucket)
        else:
            self._client = azure_service_client(emulator).create_container(self.bucket)

    @property
    def location(self) -> StoreLocation:
        return StoreLocation(
            self.cloud, self.bucket, prefix=self.prefix, endpoint_url=self.emulator.endpoint_url
        )

    def full_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(
        self, key: str, data: bytes, metadata: dict[str, str] | None = None, *, raw_key: bool = False
    ) -> None:
        """A single-shot upload: every cloud records an MD5 for it."""
        name = key if raw_key else self.full_key(key)
        if self.cloud == "aws":
            self._client.put_object(Bucket=self.bucket, Key=name, Body=data, Metadata=metadata or {})
        elif self.cloud == "gcp":
            blob = self._client.blob(name)
            blob.metadata = metadata
            blob.upload_from_string(data)
        else:
            self._client.upload_blob(name, data, metadata=metadata)

    def put_in_parts(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        """A multipart (S3) / block-list (Azure) upload: the store records no MD5 of the whole."""
        name = self.full_key(key)
        half = max(MULTIPART_MIN_PART_BYTES, len(data) // 2)
        chunks = [data[:half], data[half:]]
        if self.cloud == "aws":
            upload_id = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=name, Metadata=metadata or {}
            )["UploadId"]
            parts = []
            for number, chunk in enumerate(chunks, start=1):
                part = self._client.upload_part(
                    Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=chunk
                )
                parts.append({"PartNumber": number, "ETag": part["ETag"]})
            self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        elif self.cloud == "azure":
            blob = self._client.get_blob_client(name)
            block_ids = [base64.b64encode(f"block-{i:04d}".encode()).decode() for i in range(len(chunks))]
            for block_id, chunk in zip(block_ids, chunks, strict=True):
                blob.stage_block(block_id, chunk)
            blob.commit_block_list(block_ids, metadata=metadata)
        else:
            raise AssertionError("GCS has no upload that drops the object's MD5 on fake-gcs-server")

    def put_all(self, files: dict[str, bytes], *, with_sha256: bool = False) -> None:
        for key, data in files.items():
            self.put(key, data, {SHA256_METADATA_KEY: sha256_hex(data)} if with_sha256 else None)

    def list_requests(self) -> list[str]:
        """The emulator's access-log lines of list requests on this bucket."""
        marker = {
            "aws": f"GET /{self.bucket}?list-type=2",
            "gcp": f"GET /storage/v1/b/{self.bucket}/o?",
            "azure": f"GET /{AZURITE_ACCOUNT}/{self.bucket}?restype=container&comp=list",
        }[self.cloud]
        return [line for line in self.emulator.log_tail(max_chars=10**7).splitlines() if marker in line]


@pytest.fixture(autouse=True)
def _no_azure_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real Azure key in the shell must not be sent to Azurite (nor break the tests)."""
    monkeypatch.delenv("AZURE_STORAGE_KEY", raising=False)
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)


@pytest.fixture
def make_store(request: pytest.FixtureRequest) -> Iterator[Callable[..., Store]]:
    def make(cloud: Cloud, prefix: str = PREFIX) -> Store:
        emulator: Emulator = request.getfixturevalue(EMULATOR_FIXTURES[cloud])
        return Store(cloud, emulator, prefix)

    yield make


# --- one cloud: source and target buckets on the same emulator -----------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_stores_with_the_same_objects_are_in_parity(cloud: Cloud, make_store: Callable[..., Store]) -> None:
    source, target = make_store(cloud), make_store(cloud)
    source.put_all(MODEL_FILES)
    target.put_all(MODEL_FILES)

    report = verify_parity(source.location, target.location)

    assert report.in_parity and report.identical
    assert report.source_count == report.target_count == len(MODEL_FILES)
    assert report.source_bytes == sum(len(data) for data in MODEL_FILES.values())
    # Each cloud records an MD5 for single-shot uploads, so every object is verified by content.
    assert report.verified_by == {"md5": len(MODEL_FILES)}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_missing_object_is_found(cloud: Cloud, make_store: Callable[..., Store]) -> None:
    source, target = make_store(cloud), make_store(cloud)
    source.put_all(MODEL_FILES)
    target.put_all({k: v for k, v in MODEL_FILES.items() if k != "model-00002-of-00002.safetensors"})

    report = verify_parity(source.location, target.location)

    assert report.missing == ("model-00002-of-00002.safetensors",)
    assert report.different == () and report.extra == ()
    assert not report.in_parity


@pytest.mark.parametrize("cloud", CLOUDS)
def test_changed_object_of_the_same_size_is_found(cloud: Cloud, make_store: Callable[..., Store]) -> None:
    source, target = make_store(cloud), make_store(cloud)
    shard = "model-00001-of-00002.safetensors"
    source.put_all(MODEL_FILES)
    target.put_all({**MODEL_FILES, shard: flip_one_byte(MODEL_FILES[shard])})

    report = verify_parity(source.location, target.location)

    [finding] = report.different
    assert (finding.key, finding.reason) == (shard, "checksum")
    assert finding.source.size == finding.target.size == len(MODEL_FILES[shard])
    assert finding.detail.startswith("md5 ")
    assert finding.target.md5 == hashlib.md5(flip_one_byte(MODEL_FILES[shard])).hexdigest()
    assert not report.in_parity


@pytest.mark.parametrize("cloud", CLOUDS)
def test_extra_object_in_target_is_reported(cloud: Cloud, make_store: Callable[..., Store]) -> None:
    source, target = make_store(cloud), make_store(cloud)
    source.put_all(MODEL_FILES)
    target.put_all({**MODEL_FILES, "model-old.safetensors": b"stale weights"})

    report = verify_parity(source.location, target.location)

    assert report.extra == ("model-old.safetensors",)
    assert report.target_count == len(MODEL_FILES) + 1
    assert report.in_parity and not report.identical


@pytest.mark.parametrize("cloud", CLOUDS)
def test_listing_reads_every_page(cloud: Cloud, make_store: Callable[..., Store]) -> None:
    source, target = make_store(cloud), make_store(cloud)
    files = {f"shard-{i}.bin": f"weights {i}".encode() for i in range(5)}
    source.put_all(files)
    target.put_all(files)

    listed = inventory(source.location, page_size=2)
    report = verify_parity(source.location, target.location, page_size=2)

    assert sorted(listed) == sorted(files)
    assert report.in_parity and report.verified_count == 5
    # 5 objects at 2 per page: the server saw 3 list requests for the inventory alone.
    deadline = time.monotonic() + 2
    while len(source.list_requests()) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)  # servers write their access log after answering
    assert len(source.list_requests()) == 6


@pytest.mark.parametrize("cloud", CLOUDS)
def test_only_keys_under_the_prefix_are_compared(cloud: Cloud, make_store: Callable[..., Store]) -> None:
    source, target = make_store(cloud, prefix="models/llama"), make_store(cloud, prefix="models/llama")
    source.put_all(MODEL_FILES)
    target.put_all(MODEL_FILES)
    source.put("models/llama2/config.json", b"{}", raw_key=True)  # a sibling with a common string prefix
    source.put("README.md", b"# models", raw_key=True)
    if cloud != "azure":  # a console-made folder marker; Azure (flat namespace) has none
        source.put("models/llama/", b"", raw_key=True)

    report = verify_parity(source.location, target.location)

    assert sorted(inventory(source.location)) == sorted(MODEL_FILES)
    assert report.identical


@pytest.mark.parametrize("cloud", CLOUDS)
def test_missing_bucket_raises_store_not_found_naming_it(
    cloud: Cloud, make_store: Callable[..., Store]
) -> None:
    existing = make_store(cloud)
    absent = StoreLocation(cloud, "no-such-bucket-xyz", endpoint_url=existing.emulator.endpoint_url)

    with pytest.raises(StoreNotFoundError) as err:
        verify_parity(existing.location, absent)

    assert "no-such-bucket-xyz" in str(err.value)
    assert "pulumi stack output modelStore" in str(err.value)
    assert err.value.location == absent


@pytest.mark.parametrize("cloud", CLOUDS)
def test_unreachable_endpoint_raises_store_unreachable(cloud: Cloud) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}" + ("/devstoreaccount1" if cloud == "azure" else "")
    location = StoreLocation(cloud, "models", endpoint_url=endpoint)

    with pytest.raises(StoreUnreachableError) as err:
        inventory(location, retries=0, timeout_seconds=2)

    assert "unreachable" in str(err.value)
    assert endpoint in str(err.value)
    assert "check it is running at endpoint_url" in str(err.value)


def test_azure_wrong_account_key_raises_access_denied(
    make_store: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store("azure")
    monkeypatch.setenv("AZURE_STORAGE_KEY", base64.b64encode(b"not the account key").decode())

    with pytest.raises(StoreAccessDeniedError) as err:
        inventory(store.location)

    assert store.bucket in str(err.value)
    assert "AZURE_STORAGE_KEY" in str(err.value)


# --- which checksums each store vouches for ------------------------------------------------------


def test_s3_sha256_checksum_is_read_with_checksum_mode(make_store: Callable[..., Store]) -> None:
    store = make_store("aws")
    data = MODEL_FILES["config.json"]
    store._client.put_object(
        Bucket=store.bucket, Key=store.full_key("c.json"), Body=data, ChecksumAlgorithm="SHA256"
    )

    [info] = inventory(store.location).values()

    assert info.sha256 == sha256_hex(data)
    assert info.md5 == hashlib.md5(data).hexdigest()


def test_s3_multipart_etag_is_not_taken_as_md5_but_rclone_md5_metadata_is(
    make_store: Callable[..., Store],
) -> None:
    store = make_store("aws")
    data = MODEL_FILES["model-00001-of-00002.safetensors"]
    store.put_in_parts("plain.bin", data)
    rclone_md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    store.put_in_parts("rclone.bin", data, {RCLONE_MD5_METADATA_KEY: rclone_md5})

    found = inventory(store.location)

    assert found["plain.bin"].md5 is None
    assert found["rclone.bin"].md5 == hashlib.md5(data).hexdigest()


def test_gcs_reports_md5_and_crc32c_of_the_content(make_store: Callable[..., Store]) -> None:
    store = make_store("gcp")
    data = MODEL_FILES["model-00002-of-00002.safetensors"]
    store.put("w.bin", data)

    [info] = inventory(store.location).values()

    assert info.md5 == hashlib.md5(data).hexdigest()
    assert info.crc32c == f"{google_crc32c.value(data):08x}"
    assert info.sha256 is None


def test_azure_block_list_blob_has_no_md5_but_a_single_put_has(make_store: Callable[..., Store]) -> None:
    store = make_store("azure")
    data = MODEL_FILES["model-00001-of-00002.safetensors"]
    store.put("single.bin", data)
    store.put_in_parts("blocks.bin", data, {SHA256_METADATA_KEY: sha256_hex(data)})

    found = inventory(store.location)

    assert found["single.bin"].md5 == hashlib.md5(data).hexdigest()
    assert found["blocks.bin"].md5 is None
    assert found["blocks.bin"].sha256 == sha256_hex(data)


# --- across clouds -------------------------------------------------------------------------------


@pytest.mark.parametrize(("source_cloud", "target_cloud"), CLOUD_PAIRS, ids=PAIR_IDS)
def test_replicated_copy_is_in_parity_across_clouds(
    source_cloud: Cloud, target_cloud: Cloud, make_store: Callable[..., Store]
) -> None:
    source, target = make_store(source_cloud), make_store(target_cloud)
    source.put_all(MODEL_FILES, with_sha256=True)
    target.put_all(MODEL_FILES, with_sha256=True)

    report = verify_parity(source.location, target.location)

    assert report.identical
    assert report.verified_by == {"sha256": len(MODEL_FILES)}


@pytest.mark.parametrize(("source_cloud", "target_cloud"), CLOUD_PAIRS, ids=PAIR_IDS)
def test_changed_byte_is_found_across_clouds(
    source_cloud: Cloud, target_cloud: Cloud, make_store: Callable[..., Store]
) -> None:
    source, target = make_store(source_cloud), make_store(target_cloud)
    shard = "model-00002-of-00002.safetensors"
    source.put_all(MODEL_FILES, with_sha256=True)
    target.put_all({**MODEL_FILES, shard: flip_one_byte(MODEL_FILES[shard])}, with_sha256=True)

    report = verify_parity(source.location, target.location)

    [finding] = report.different
    assert (finding.key, finding.reason) == (shard, "checksum")
    assert finding.detail.startswith(
        f"sha256 {sha256_hex(MODEL_FILES[shard])} != {sha256_hex(flip_one_byte(MODEL_FILES[shard]))}"
    )
    assert report.verified_count == len(MODEL_FILES) - 1
    assert not report.in_parity


@pytest.mark.parametrize(
    ("source_cloud", "target_cloud"), [("aws", "gcp"), ("gcp", "azure"), ("azure", "aws")]
)
def test_single_shot_uploads_verify_by_md5_across_clouds_without_metadata(
    source_cloud: Cloud, target_cloud: Cloud, make_store: Callable[..., Store]
) -> None:
    source, target = make_store(source_cloud), make_store(target_cloud)
    source.put_all(MODEL_FILES)
    target.put_all(MODEL_FILES)

    report = verify_parity(source.location, target.location)

    assert report.identical
    assert report.verified_by == {"md5": len(MODEL_FILES)}


@pytest.mark.parametrize(
    ("source_cloud", "target_cloud"), [("aws", "azure"), ("aws", "gcp"), ("gcp", "azure")]
)
def test_same_size_copies_without_common_checksum_are_unverifiable(
    source_cloud: Cloud, target_cloud: Cloud, make_store: Callable[..., Store]
) -> None:
    source, target = make_store(source_cloud), make_store(target_cloud)
    data = MODEL_FILES["model-00001-of-00002.safetensors"]
    for store in (source, target):
        # Multipart / block-list uploads without replication metadata leave no whole-object MD5.
        if store.cloud == "gcp":
            store.put("w.bin", data)
        else:
            store.put_in_parts("w.bin", data)

    report = verify_parity(source.location, target.location)

    [finding] = report.unverifiable
    assert (finding.key, finding.reason) == ("w.bin", "no-common-checksum")
    assert report.different == () and report.verified_count == 0
    assert not report.in_parity


def test_model_store_descriptors_of_two_clouds_verify_against_the_emulators(
    make_store: Callable[..., Store],
) -> None:
    source, target = make_store("gcp"), make_store("azure")
    source.put_all(MODEL_FILES, with_sha256=True)
    target.put_all(MODEL_FILES, with_sha256=True)
    gcp_descriptor = {
        "cloud": "gcp",
        "region": "us-central1",
        "bucket": source.bucket,
        "uri": f"gs://{source.bucket}",
        "account": "acme-inference",
    }
    azure_descriptor = {
        "cloud": "azure",
        "region": "eastus",
        "bucket": target.bucket,
        "uri": f"https://{AZURITE_ACCOUNT}.blob.core.windows.net/{target.bucket}",
        "account": AZURITE_ACCOUNT,
    }

    report = verify_parity(
        StoreLocation.from_descriptor(
            gcp_descriptor, prefix=PREFIX, endpoint_url=source.emulator.endpoint_url
        ),
        StoreLocation.from_descriptor(
            azure_descriptor, prefix=PREFIX, endpoint_url=target.emulator.endpoint_url
        ),
    )

    assert report.identical and report.verified_count == len(MODEL_FILES)


def test_s3_etag_of_an_sse_kms_object_is_not_taken_as_md5(make_store: Callable[..., Store]) -> None:
    # The model bucket encrypts with KMS by default, where S3's ETag is not the content's MD5.
    store = make_store("aws")
    data = MODEL_FILES["config.json"]
    for key, metadata in (
        ("kms.json", {}),
        ("kms-rclone.json", {RCLONE_MD5_METADATA_KEY: hashlib.md5(data).hexdigest()}),
    ):
        store._client.put_object(
            Bucket=store.bucket,
            Key=store.full_key(key),
            Body=data,
            ServerSideEncryption="aws:kms",
            Metadata=metadata,
        )

    found = inventory(store.location)

    assert found["kms.json"].md5 is None
    assert found["kms-rclone.json"].md5 == hashlib.md5(data).hexdigest()


def test_azure_key_from_a_connection_string_for_the_account_is_used(
    make_store: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store("azure")
    store.put("config.json", MODEL_FILES["config.json"])
    wrong_key = base64.b64encode(b"not the account key").decode()
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        f"DefaultEndpointsProtocol=http;AccountName=otheraccount;AccountKey={wrong_key}",
    )
    assert sorted(inventory(store.location)) == ["config.json"]  # another account's key is ignored

    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={wrong_key}",
    )
    with pytest.raises(StoreAccessDeniedError):
        inventory(store.location)
