"""The parity verifier's comparison rules and store locations (no servers; see test_verify_emulators)."""

from __future__ import annotations

import hashlib
import json

import pytest

from cutover.verify import (
    InvalidStoreLocationError,
    ObjectInfo,
    StoreLocation,
    compare,
)
from infra import outputs
from tests.support import PAIR_IDS, PAIRS, pair

MD5_A = hashlib.md5(b"a").hexdigest()
MD5_B = hashlib.md5(b"b").hexdigest()
SHA_A = hashlib.sha256(b"a").hexdigest()
SHA_B = hashlib.sha256(b"b").hexdigest()


def inv(*objects: ObjectInfo) -> dict[str, ObjectInfo]:
    return {obj.key: obj for obj in objects}


def test_equal_inventories_are_in_parity_and_identical() -> None:
    source = inv(ObjectInfo("w.bin", 1, md5=MD5_A, sha256=SHA_A), ObjectInfo("c.json", 1, md5=MD5_B))
    report = compare(source, dict(source))
    assert report.in_parity and report.identical
    assert (report.missing, report.different, report.extra, report.unverifiable) == ((), (), (), ())
    assert report.verified_by == {"sha256": 1, "md5": 1}
    assert (report.source_count, report.target_count, report.source_bytes) == (2, 2, 2)


def test_missing_object_is_reported_and_breaks_parity() -> None:
    report = compare(
        inv(ObjectInfo("a", 1, md5=MD5_A), ObjectInfo("b", 1, md5=MD5_B)), inv(ObjectInfo("a", 1, md5=MD5_A))
    )
    assert report.missing == ("b",)
    assert not report.in_parity


def test_extra_object_is_reported_but_keeps_parity_and_not_identical() -> None:
    report = compare(
        inv(ObjectInfo("a", 1, md5=MD5_A)), inv(ObjectInfo("a", 1, md5=MD5_A), ObjectInfo("old", 5))
    )
    assert report.extra == ("old",)
    assert report.in_parity
    assert not report.identical
    assert report.target_bytes == 6


def test_size_difference_is_reported_as_size_even_without_checksums() -> None:
    report = compare(inv(ObjectInfo("a", 10)), inv(ObjectInfo("a", 12)))
    [finding] = report.different
    assert (finding.key, finding.reason) == ("a", "size")
    assert "10 B != 12 B" in finding.detail
    assert not report.in_parity


def test_same_size_without_common_checksum_is_unverifiable_not_equal() -> None:
    report = compare(inv(ObjectInfo("a", 1, md5=MD5_A)), inv(ObjectInfo("a", 1, crc32c="e8b7be43")))
    assert report.different == ()
    [finding] = report.unverifiable
    assert finding.reason == "no-common-checksum"
    assert "source has md5, target has crc32c" in finding.detail
    assert report.verified_count == 0
    assert not report.in_parity


def test_strongest_common_checksum_is_used() -> None:
    both = compare(
        inv(ObjectInfo("a", 1, md5=MD5_A, sha256=SHA_A, crc32c="e8b7be43")),
        inv(ObjectInfo("a", 1, md5=MD5_A, sha256=SHA_A, crc32c="e8b7be43")),
    )
    md5_only_common = compare(
        inv(ObjectInfo("a", 1, md5=MD5_A, sha256=SHA_A)), inv(ObjectInfo("a", 1, md5=MD5_A))
    )
    assert both.verified_by == {"sha256": 1}
    assert md5_only_common.verified_by == {"md5": 1}


def test_checksum_mismatch_is_reported_with_the_algorithm() -> None:
    report = compare(inv(ObjectInfo("a", 1, sha256=SHA_A)), inv(ObjectInfo("a", 1, sha256=SHA_B)))
    [finding] = report.different
    assert finding.reason == "checksum"
    assert finding.detail == f"sha256 {SHA_A} != {SHA_B}"


def test_matching_sha256_metadata_does_not_hide_an_md5_mismatch() -> None:
    # Metadata is only what the uploader claimed; a stale claim must not mask changed content.
    report = compare(
        inv(ObjectInfo("a", 1, md5=MD5_A, sha256=SHA_A)), inv(ObjectInfo("a", 1, md5=MD5_B, sha256=SHA_A))
    )
    [finding] = report.different
    assert finding.detail == f"md5 {MD5_A} != {MD5_B}"


def test_report_to_dict_round_trips_through_json() -> None:
    report = compare(
        inv(ObjectInfo("same", 1, md5=MD5_A), ObjectInfo("gone", 2), ObjectInfo("changed", 1, md5=MD5_A)),
        inv(ObjectInfo("same", 1, md5=MD5_A), ObjectInfo("changed", 1, md5=MD5_B), ObjectInfo("new", 3)),
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert data["in_parity"] is False
    assert data["missing"] == ["gone"]
    assert data["extra"] == ["new"]
    assert [(d["key"], d["reason"]) for d in data["different"]] == [("changed", "checksum")]
    assert data["different"][0]["target"]["md5"] == MD5_B
    assert (data["source_count"], data["target_count"], data["source_bytes"], data["target_bytes"]) == (
        3,
        3,
        4,
        5,
    )
    assert data["verified_by"] == {"md5": 1}


def test_location_from_model_store_descriptor_per_cloud() -> None:
    aws = StoreLocation.from_descriptor(
        {
            "cloud": "aws",
            "region": "us-east-1",
            "bucket": "primary-models",
            "uri": "s3://primary-models",
            "account": "123456789012",
        },
        prefix="llama",
    )
    gcp = StoreLocation.from_descriptor(
        {
            "cloud": "gcp",
            "region": "us-central1",
            "bucket": "standby-models",
            "uri": "gs://standby-models",
            "account": "acme",
        }
    )
    azure = StoreLocation.from_descriptor(
        {
            "cloud": "azure",
            "region": "eastus",
            "bucket": "models",
            "uri": "https://acmemodels.blob.core.windows.net/models",
        },
        endpoint_url=None,
    )
    assert (aws.cloud, aws.bucket, aws.region, aws.key_prefix, aws.uri) == (
        "aws", "primary-models", "us-east-1", "llama/", "s3://primary-models/llama/"
    )  # fmt: skip
    assert (gcp.account, gcp.uri) == ("acme", "gs://standby-models/")
    assert (azure.account, azure.uri) == ("acmemodels", "https://acmemodels.blob.core.windows.net/models/")


def test_descriptor_without_bucket_is_rejected_with_the_fix() -> None:
    with pytest.raises(InvalidStoreLocationError) as err:
        StoreLocation.from_descriptor({"cloud": "gcp", "uri": "gs://x"})
    message = str(err.value)
    assert "lacks bucket" in message
    assert "['cloud', 'uri']" in message
    assert "pulumi stack output modelStore" in message


def test_unknown_cloud_is_rejected_naming_the_value() -> None:
    with pytest.raises(InvalidStoreLocationError, match=r"one of aws, gcp, azure, onprem \(got 'awz'\)"):
        StoreLocation("awz", "bucket")  # type: ignore[arg-type]


def test_azure_location_needs_an_account() -> None:
    with pytest.raises(InvalidStoreLocationError, match="storage account name"):
        StoreLocation("azure", "models")
    emulator = StoreLocation("azure", "models", endpoint_url="http://127.0.0.1:10000/devstoreaccount1")
    assert emulator.azure_account == "devstoreaccount1"


def test_prefix_is_a_folder_not_a_string_prefix() -> None:
    assert StoreLocation("aws", "b", prefix="models/llama").key_prefix == "models/llama/"
    assert StoreLocation("aws", "b", prefix="/models/llama/").key_prefix == "models/llama/"
    assert StoreLocation("aws", "b").key_prefix == ""


@pytest.mark.parametrize(("primary_cloud", "standby_cloud"), PAIRS, ids=PAIR_IDS)
def test_model_store_output_of_both_stacks_is_a_verifier_location(
    primary_cloud: str, standby_cloud: str
) -> None:
    # The cutover CLI builds the verifier's locations from each stack's `modelStore` output.
    for run in pair(primary_cloud, standby_cloud):
        location = StoreLocation.from_descriptor(
            run.outputs[outputs.MODEL_STORE], prefix=run.config.model_path
        )
        assert location.cloud == run.config.cloud
        assert location.bucket == run.outputs[outputs.MODEL_BUCKET]
        assert location.uri == f"{run.outputs[outputs.MODEL_BUCKET_URI].rstrip('/')}/{location.key_prefix}"
        assert location.endpoint_url is None
