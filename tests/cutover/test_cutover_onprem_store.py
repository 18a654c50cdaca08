"""`failover status` / `failover replication` store parity with an on-prem S3-compatible standby.

The primary's store is an S3 bucket on moto, the standby's a bucket on a real SeaweedFS; the
standby's `modelStore` output is the on-prem component's (it names its own endpoint, so the CLI
needs no endpoint flag for it), and the verifier signs with the read-only key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cutover.errors import ExitCode
from cutover.verify import ONPREM_KEY_ENV, SHA256_METADATA_KEY
from infra import outputs
from tests.cutover.cutover_support import MODEL, Sides, run
from tests.cutover.cutover_support import sides as sides  # noqa: PLC0414 (pytest fixture)
from tests.dns_server import powerdns as powerdns  # noqa: PLC0414 (pytest fixture)
from tests.emulators import SEAWEEDFS_READ_KEY, Emulator, s3_client, unique_bucket_name
from tests.emulators import moto_s3 as moto_s3  # noqa: PLC0414 (pytest fixture)
from tests.emulators import seaweedfs as seaweedfs  # noqa: PLC0414 (pytest fixture)
from tests.onprem_store_support import onprem_primary

PREFIX = f"models/{MODEL}/"
FILES = {
    "config.json": b'{"architectures": ["LlamaForCausalLM"]}',
    "model-00001-of-00001.safetensors": bytes(range(256)) * 64,
}


@dataclass
class Stores:
    moto: Emulator
    seaweed: Emulator
    primary_bucket: str
    standby_bucket: str

    def put(self, server: Emulator, bucket: str, name: str, body: bytes) -> None:
        metadata = {SHA256_METADATA_KEY: hashlib.sha256(body).hexdigest()}
        s3_client(server).put_object(Bucket=bucket, Key=PREFIX + name, Body=body, Metadata=metadata)


@pytest.fixture
def stores(
    moto_s3: Emulator, seaweedfs: Emulator, sides: Sides, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stores]:
    found = Stores(
        moto_s3, seaweedfs, unique_bucket_name("primary-models"), unique_bucket_name("onprem-models")
    )
    s3_client(moto_s3).create_bucket(Bucket=found.primary_bucket)
    s3_client(seaweedfs).create_bucket(Bucket=found.standby_bucket)
    for name, body in FILES.items():
        found.put(moto_s3, found.primary_bucket, name, body)
        found.put(seaweedfs, found.standby_bucket, name, body)
    onprem = dict(onprem_primary().outputs[outputs.MODEL_STORE])
    onprem.update(
        {
            "bucket": found.standby_bucket,
            "uri": f"s3://{found.standby_bucket}",
            "endpoint": seaweedfs.endpoint_url,
        }
    )
    primary = {"cloud": "aws", "region": "us-east-1", "bucket": found.primary_bucket}
    primary["uri"] = f"s3://{found.primary_bucket}"
    sides.stacks.extra_outputs = {"primary": {"modelStore": primary}, "standby": {"modelStore": onprem}}
    monkeypatch.setenv(ONPREM_KEY_ENV[0], SEAWEEDFS_READ_KEY[0])
    monkeypatch.setenv(ONPREM_KEY_ENV[1], SEAWEEDFS_READ_KEY[1])
    yield found


def test_status_checks_parity_against_the_onprem_store_at_its_own_endpoint(
    sides: Sides, stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        sides, tmp_path / "j.json", "--primary-store-endpoint", stores.moto.endpoint_url, "status", "--json"
    )
    report = json.loads(capsys.readouterr().out)
    assert code == ExitCode.OK, report
    assert report["store_parity"]["in_parity"] is True
    assert report["store_parity"]["report"]["verified_count"] == len(FILES)


def test_replication_finds_a_changed_file_on_the_onprem_standby(
    sides: Sides, stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stores.put(
        stores.seaweed, stores.standby_bucket, "config.json", b'{"architectures": ["MistralForCausalLM"]}'
    )
    code = run(
        sides, tmp_path / "j.json", "--primary-store-endpoint", stores.moto.endpoint_url, "replication"
    )
    out = capsys.readouterr().out
    assert code == ExitCode.UNHEALTHY
    assert "different (1)" in out and "config.json" in out


def test_the_audit_chain_is_written_to_and_read_from_an_onprem_store(
    seaweedfs: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cutover.audit import append_record, backend_for, read_chain
    from tests.emulators import SEAWEEDFS_ADMIN_KEY

    bucket = unique_bucket_name("audit")
    client = s3_client(seaweedfs)
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    monkeypatch.setenv(ONPREM_KEY_ENV[0], SEAWEEDFS_ADMIN_KEY[0])
    monkeypatch.setenv(ONPREM_KEY_ENV[1], SEAWEEDFS_ADMIN_KEY[1])
    # What the onprem audit store exports: the site's endpoint and signing region.
    descriptor = {
        "cloud": "onprem",
        "bucket": bucket,
        "endpoint": seaweedfs.endpoint_url,
        "s3Region": "us-east-1",
    }
    backend = backend_for(descriptor)
    for n in range(3):
        assert append_record(backend, {"event": "step", "step": f"s{n}"}) == n + 1
    report = read_chain(backend_for(descriptor))
    assert report.ok, report.problems
    assert [r["seq"] for r in report.records] == [1, 2, 3]
