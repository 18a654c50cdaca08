"""Object-store parity in the cutover: the real verifier on real local stores.

The primary's model store is an S3 bucket on moto, the standby's a GCS bucket on
fake-gcs-server (the shipped pair: primary on aws, standby on gcp); the stacks' `modelStore`
outputs describe them as the object_store component does, and the CLI reaches them through
--primary-store-endpoint / --standby-store-endpoint.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cutover.cli import run as run_cli
from cutover.errors import ExitCode
from tests.cutover.cutover_support import MODEL, ROOT, Sides, run
from tests.cutover.cutover_support import sides as sides  # noqa: PLC0414 (pytest fixture)
from tests.dns_server import powerdns as powerdns  # noqa: PLC0414 (pytest fixture)
from tests.emulators import Emulator, gcs_client, s3_client, unique_bucket_name
from tests.emulators import fake_gcs as fake_gcs  # noqa: PLC0414 (pytest fixture)
from tests.emulators import moto_s3 as moto_s3  # noqa: PLC0414 (pytest fixture)
from tests.support import shipped

PREFIX = f"models/{MODEL}/"
FILES = {
    "config.json": b'{"architectures": ["LlamaForCausalLM"]}',
    "tokenizer.json": b'{"version": "1.0"}' * 50,
    "model-00001-of-00002.safetensors": bytes(range(256)) * 64,
}


@dataclass
class Stores:
    moto: Emulator
    gcs: Emulator
    s3_bucket: str
    gcs_bucket: str

    def argv(self) -> list[str]:
        return [
            "--primary-store-endpoint",
            self.moto.endpoint_url,
            "--standby-store-endpoint",
            self.gcs.endpoint_url,
        ]

    def put_primary(self, name: str, body: bytes) -> None:
        s3_client(self.moto).put_object(Bucket=self.s3_bucket, Key=PREFIX + name, Body=body)

    def put_standby(self, name: str, body: bytes) -> None:
        gcs_client(self.gcs).bucket(self.gcs_bucket).blob(PREFIX + name).upload_from_string(body)

    def delete_standby(self, name: str) -> None:
        gcs_client(self.gcs).bucket(self.gcs_bucket).blob(PREFIX + name).delete()


@pytest.fixture
def no_pulumi_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.fixture
def stores(moto_s3: Emulator, fake_gcs: Emulator, sides: Sides) -> Iterator[Stores]:
    s3_bucket = unique_bucket_name("primary-models")
    gcs_bucket = unique_bucket_name("standby-models")
    s3_client(moto_s3).create_bucket(Bucket=s3_bucket)
    gcs_client(fake_gcs).create_bucket(gcs_bucket)
    found = Stores(moto_s3, fake_gcs, s3_bucket, gcs_bucket)
    for name, body in FILES.items():
        found.put_primary(name, body)
        found.put_standby(name, body)
    # What the object_store component exports as `modelStore` (cloud, region, bucket, uri).
    sides.stacks.extra_outputs = {
        "primary": {
            "modelStore": {
                "cloud": "aws",
                "region": "us-east-1",
                "bucket": s3_bucket,
                "uri": f"s3://{s3_bucket}",
            }
        },
        "standby": {
            "modelStore": {
                "cloud": "gcp",
                "region": "us-central1",
                "bucket": gcs_bucket,
                "uri": f"gs://{gcs_bucket}",
            }
        },
    }
    yield found


def test_replication_reports_parity_of_the_two_model_stores(
    sides: Sides, stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(sides, tmp_path / "j.json", *stores.argv(), "replication", "--json")

    assert code == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["in_parity"] is True
    assert report["report"]["verified_count"] == len(FILES)


def test_replication_names_the_missing_and_changed_files(
    sides: Sides, stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stores.delete_standby("tokenizer.json")
    stores.put_standby("config.json", b'{"architectures": ["MistralForCausalLM"]}')

    code = run(sides, tmp_path / "j.json", *stores.argv(), "replication")

    assert code == ExitCode.UNHEALTHY
    out = capsys.readouterr().out
    assert "missing (1): tokenizer.json" in out
    assert "different (1)" in out and "config.json" in out


def test_status_includes_store_parity(
    sides: Sides, stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(sides, tmp_path / "j.json", *stores.argv(), "status", "--json")

    assert code == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["store_parity"]["in_parity"] is True
    assert report["ok"] is True


def test_cutover_refuses_when_the_standby_store_lacks_a_model_file(
    sides: Sides, stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stores.delete_standby("model-00001-of-00002.safetensors")

    code = run(
        sides,
        tmp_path / "j.json",
        *stores.argv(),
        "execute",
        "--to",
        "standby",
        "--yes",
        "--soak-seconds",
        "0",
    )

    assert code == ExitCode.PRECHECK_FAILED
    assert sides.stacks.calls == []
    assert "1 missing" in capsys.readouterr().err


def test_cutover_proceeds_when_the_stores_are_in_parity(sides: Sides, stores: Stores, tmp_path: Path) -> None:
    code = run(
        sides,
        tmp_path / "j.json",
        *stores.argv(),
        "execute",
        "--to",
        "standby",
        "--yes",
        "--soak-seconds",
        "0",
        "--steps",
        "100",
    )

    assert code == ExitCode.OK
    assert sides.stacks.applied["standby"]["trafficWeight"] == "100"


@pytest.mark.usefixtures("no_pulumi_cli")
def test_status_from_the_real_programs_outputs_files_without_pulumi(
    sides: Sides, stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Outputs exactly as the real program exports them (mocks harness on the shipped stack
    # files), as `pulumi stack output --json --show-secrets` would print them; only what points
    # at the cloud is moved to the local stand-ins: the load balancers and the bucket names.
    workdir = tmp_path / "project"
    workdir.mkdir()
    args = ["--workdir", str(workdir), "--dns-server", sides.dns.address, *stores.argv()]
    args += ["--ca-bundle", str(sides.ca_bundle)]
    servers = {"primary": sides.primary, "standby": sides.standby}
    buckets = {"primary": stores.s3_bucket, "standby": stores.gcs_bucket}
    for stack in ("primary", "standby"):
        shutil.copy(ROOT / f"Pulumi.{stack}.yaml", workdir)
        exported = json.loads(json.dumps(shipped(stack).outputs, default=str))
        exported["endpointHost"] = servers[stack].host
        exported["endpointUrl"] = servers[stack].url
        exported["modelStore"]["bucket"] = buckets[stack]
        path = tmp_path / f"{stack}.json"
        path.write_text(json.dumps(exported))
        args += [f"--{stack}-outputs", str(path)]
    shutil.copy(ROOT / "Pulumi.yaml", workdir)
    fqdn = shipped("primary").outputs["serviceFqdn"]
    sides.dns.ensure_zone(fqdn.split(".", 1)[1])
    sides.dns.set_records(fqdn, "A", [sides.primary.host])

    code = run_cli([*args, "status", "--json"])

    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == []
    assert code == ExitCode.OK
    assert report["dns"]["fqdn"] == "api.example.com"
    assert report["dns"]["sides_seen"] == ["primary"]
    assert report["store_parity"]["report"]["verified_count"] == len(FILES)
    assert {side: report["sides"][side]["config"]["capacity"] for side in ("primary", "standby")} == {
        "primary": "full",
        "standby": "warm",
    }
