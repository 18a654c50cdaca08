"""`failover status` / `failover replication` store parity with a Garage-class on-prem standby.

As tests/cutover/test_cutover_onprem_store.py, but the standby's store answers as Garage
(tests/components/garage_proxy.py in front of a real SeaweedFS) and its `modelStore` output is the
Garage-class site's (versioning false, region `garage`): the CLI's parity check makes no call
Garage lacks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cutover.errors import ExitCode
from cutover.verify import ONPREM_KEY_ENV, SHA256_METADATA_KEY
from infra import outputs
from tests.components.garage_proxy import GARAGE_REGION, GarageProxy, garage_in_front_of
from tests.components.test_garage_store_servers import garage_client
from tests.cutover.cutover_support import MODEL, Sides, run
from tests.emulators import SEAWEEDFS_READ_KEY, Emulator, s3_client, unique_bucket_name
from tests.infra.test_garage_plan import garage_pair

PREFIX = f"models/{MODEL}/"
FILES = {
    "config.json": b'{"architectures": ["LlamaForCausalLM"]}',
    "model-00001-of-00001.safetensors": bytes(range(256)) * 64,
}


def _metadata(body: bytes) -> dict[str, str]:
    return {SHA256_METADATA_KEY: hashlib.sha256(body).hexdigest()}


@pytest.fixture
def garage_standby(
    moto_s3: Emulator, seaweedfs: Emulator, sides: Sides, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[GarageProxy, str]]:
    primary_bucket, standby_bucket = unique_bucket_name("primary-models"), unique_bucket_name("garage-models")
    with garage_in_front_of(seaweedfs.endpoint_url) as proxy:
        garage = garage_client(proxy)
        s3_client(moto_s3).create_bucket(Bucket=primary_bucket)
        garage.create_bucket(
            Bucket=standby_bucket, CreateBucketConfiguration={"LocationConstraint": GARAGE_REGION}
        )
        for name, body in FILES.items():
            s3_client(moto_s3).put_object(
                Bucket=primary_bucket, Key=PREFIX + name, Body=body, Metadata=_metadata(body)
            )
            garage.put_object(Bucket=standby_bucket, Key=PREFIX + name, Body=body, Metadata=_metadata(body))
        onprem = dict(garage_pair("aws", "onprem", "standby")[1].outputs[outputs.MODEL_STORE])
        assert onprem["versioning"] is False and onprem["s3Region"] == GARAGE_REGION
        onprem.update(
            {"bucket": standby_bucket, "uri": f"s3://{standby_bucket}", "endpoint": proxy.endpoint_url}
        )
        primary = {
            "cloud": "aws",
            "region": "us-east-1",
            "bucket": primary_bucket,
            "uri": f"s3://{primary_bucket}",
        }
        sides.stacks.extra_outputs = {"primary": {"modelStore": primary}, "standby": {"modelStore": onprem}}
        monkeypatch.setenv(ONPREM_KEY_ENV[0], SEAWEEDFS_READ_KEY[0])
        monkeypatch.setenv(ONPREM_KEY_ENV[1], SEAWEEDFS_READ_KEY[1])
        yield proxy, standby_bucket


def test_status_checks_parity_against_a_garage_standby_and_replication_finds_a_change(
    sides: Sides,
    garage_standby: tuple[GarageProxy, str],
    moto_s3: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxy, bucket = garage_standby
    code = run(
        sides, tmp_path / "j.json", "--primary-store-endpoint", moto_s3.endpoint_url, "status", "--json"
    )
    report = json.loads(capsys.readouterr().out)
    assert code == ExitCode.OK, report
    assert report["store_parity"]["in_parity"] is True
    assert report["store_parity"]["report"]["verified_count"] == len(FILES)

    changed = b'{"architectures": ["MistralForCausalLM"]}'
    garage_client(proxy).put_object(
        Bucket=bucket, Key=PREFIX + "config.json", Body=changed, Metadata=_metadata(changed)
    )
    code = run(sides, tmp_path / "j2.json", "--primary-store-endpoint", moto_s3.endpoint_url, "replication")
    out = capsys.readouterr().out
    assert code == ExitCode.UNHEALTHY
    assert "different (1)" in out and "config.json" in out
    assert proxy.calls and proxy.refused == [], proxy.calls
