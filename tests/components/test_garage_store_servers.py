"""A Garage-class site against a real server: SeaweedFS behind a proxy that answers as Garage
v1.2.0 does (tests/components/garage_proxy.py: 501 NotImplemented for what Garage lacks, its versioning
stub, its region checks), with the rclone the CronJob runs and the parity verifier.

What is rendered comes from the real program's mocked runs of the shipped stack files moved to
each pair with the site declared Garage-class (tests/infra/test_garage_plan.py): the bucket's region,
the copy command and its rclone remotes, the `modelStore` descriptor the verifier reads.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cutover.verify import ONPREM_KEY_ENV, SHA256_METADATA_KEY, StoreLocation, verify_parity
from infra import outputs
from tests.components.garage_proxy import GARAGE_REGION, GarageProxy, garage_in_front_of
from tests.components.test_replication_emulators import Bucket, copied, emulator_env, rclone_binary
from tests.emulators import (
    HOST,
    SEAWEEDFS_ADMIN_KEY,
    SEAWEEDFS_READ_KEY,
    Emulator,
    s3_client,
    unique_bucket_name,
)
from tests.infra.test_garage_plan import garage_pair

S3_MIN_PART_BYTES = 5 * 1024 * 1024
SHARD_BYTES = S3_MIN_PART_BYTES + 4096
# (primary, standby, which side is Garage-class): from, to and between Garage sites.
DIRECTIONS = [("onprem", "aws", "primary"), ("aws", "onprem", "standby"), ("onprem", "onprem", "both")]
DIRECTION_IDS = [f"{p}-to-{s}-garage-{role}" for p, s, role in DIRECTIONS]
_POD_ONLY_ENV = ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_")


@pytest.fixture(scope="module")
def garage(seaweedfs: Emulator) -> Iterator[GarageProxy]:
    with garage_in_front_of(seaweedfs.endpoint_url) as proxy:
        yield proxy


def garage_client(
    proxy: GarageProxy, key: tuple[str, str] = SEAWEEDFS_ADMIN_KEY, region: str = GARAGE_REGION
) -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.session.Session().client(
        "s3",
        endpoint_url=proxy.endpoint_url,
        region_name=region,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1, "mode": "standard"}),
    )


@dataclass
class GarageBucket:
    """A bucket on the Garage-shaped store, created and filled with Garage's calls only."""

    name: str
    proxy: GarageProxy
    cloud: str = "onprem"

    def create(self) -> None:
        client = garage_client(self.proxy)
        client.create_bucket(
            Bucket=self.name, CreateBucketConfiguration={"LocationConstraint": GARAGE_REGION}
        )

    def upload_shard(self, key: str, data: bytes) -> None:
        client = garage_client(self.proxy)
        upload = client.create_multipart_upload(
            Bucket=self.name, Key=key, Metadata={SHA256_METADATA_KEY: hashlib.sha256(data).hexdigest()}
        )
        parts = []
        for number, chunk in enumerate((data[:S3_MIN_PART_BYTES], data[S3_MIN_PART_BYTES:]), start=1):
            part = client.upload_part(
                Bucket=self.name, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=chunk
            )
            parts.append({"PartNumber": number, "ETag": part["ETag"]})
        client.complete_multipart_upload(
            Bucket=self.name, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
        )

    def put(self, key: str, data: bytes) -> None:
        garage_client(self.proxy).put_object(
            Bucket=self.name,
            Key=key,
            Body=data,
            Metadata={SHA256_METADATA_KEY: hashlib.sha256(data).hexdigest()},
        )

    def read(self, key: str) -> bytes:
        body: bytes = garage_client(self.proxy).get_object(Bucket=self.name, Key=key)["Body"].read()
        return body


def _put(bucket: Bucket | GarageBucket, key: str, data: bytes) -> None:
    if isinstance(bucket, GarageBucket):
        bucket.put(key, data)
    else:
        s3_client(bucket.emulator).put_object(
            Bucket=bucket.name,
            Key=key,
            Body=data,
            Metadata={SHA256_METADATA_KEY: hashlib.sha256(data).hexdigest()},
        )


@dataclass
class GarageCopy:
    command: list[str]
    env: dict[str, str]
    source: Bucket | GarageBucket
    target: Bucket | GarageBucket
    case: tuple[str, str, str]

    def run(self) -> list[dict[str, Any]]:
        done = subprocess.run(
            self.command, env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"{' '.join(self.command)} failed:\n{done.stderr[-3000:]}"
        return [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]

    def location(self, side: str) -> StoreLocation:
        bucket = self.source if side == "source" else self.target
        if isinstance(bucket, GarageBucket):
            run = garage_pair(*self.case)[0 if side == "source" else 1]
            descriptor = {**run.outputs[outputs.MODEL_STORE], "bucket": bucket.name}
            at = StoreLocation.from_descriptor(descriptor, endpoint_url=bucket.proxy.endpoint_url)
        else:
            at = StoreLocation("aws", bucket.name, endpoint_url=bucket.emulator.endpoint_url)
        return StoreLocation(**{**at.__dict__, "prefix": "verify"})


@pytest.fixture
def garage_copy(
    request: pytest.FixtureRequest, garage: GarageProxy, moto_s3: Emulator, tmp_path: Path
) -> Iterator[GarageCopy]:
    case: tuple[str, str, str] = request.param
    spec = garage_pair(*case)[1].one("kubernetes:batch/v1:CronJob").inputs["spec"]
    (container,) = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: str(e["value"]) for e in container["env"] if not e["name"].startswith(_POD_ONLY_ENV)}
    keys: dict[str, tuple[str, str]] = {}
    buckets: dict[str, Bucket | GarageBucket] = {}
    for remote, cloud, key in (
        ("source", case[0], SEAWEEDFS_READ_KEY),
        ("target", case[1], SEAWEEDFS_ADMIN_KEY),
    ):
        name = unique_bucket_name(f"{remote[:3]}-{cloud}")
        if cloud == "onprem":
            assert env[f"RCLONE_CONFIG_{remote.upper()}_REGION"] == GARAGE_REGION
            env[f"RCLONE_CONFIG_{remote.upper()}_ENDPOINT"] = garage.endpoint_url
            keys[remote] = key  # the read-only key reads, the deployer's key writes
            buckets[remote] = GarageBucket(name, garage)
        else:
            env.update(emulator_env(remote, cloud, moto_s3))
            buckets[remote] = Bucket(cloud, name, moto_s3)
        buckets[remote].create()
    config = tmp_path / "rclone.conf"
    config.write_text(
        "".join(f"[{r}]\naccess_key_id = {k[0]}\nsecret_access_key = {k[1]}\n\n" for r, k in keys.items())
    )
    config.chmod(0o600)
    env.update({"HOME": str(tmp_path), "RCLONE_CONFIG": str(config), "PATH": os.environ.get("PATH", "")})
    args = list(container["args"])
    assert args[0] == "copy"
    command = [
        rclone_binary(),
        "copy",
        f"source:{buckets['source'].name}",
        f"target:{buckets['target'].name}",
        *args[3:],
    ]
    yield GarageCopy(command, env, buckets["source"], buckets["target"], case)


@pytest.mark.parametrize("garage_copy", DIRECTIONS, ids=DIRECTION_IDS, indirect=True)
def test_rclone_moves_real_bytes_to_and_from_garage_and_the_parity_check_agrees_and_detects_a_change(
    garage_copy: GarageCopy, garage: GarageProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_call = len(garage.calls)
    key = f"models/{uuid.uuid4().hex[:8]}/model-00001-of-00001.safetensors"
    base = os.urandom(SHARD_BYTES)
    fine_tune = bytes(b ^ 0x5A for b in base)  # same size, every byte different
    garage_copy.source.upload_shard(key, base)
    assert copied(garage_copy.run()) == [key]
    assert garage_copy.target.read(key) == base
    time.sleep(1.1)  # Last-Modified has one-second resolution
    garage_copy.source.upload_shard(key, fine_tune)  # no versioning: the old model is gone
    assert copied(garage_copy.run()) == [key]
    assert garage_copy.target.read(key) == fine_tune
    assert copied(garage_copy.run()) == []  # unchanged: nothing copied again

    monkeypatch.setenv(ONPREM_KEY_ENV[0], SEAWEEDFS_READ_KEY[0])
    monkeypatch.setenv(ONPREM_KEY_ENV[1], SEAWEEDFS_READ_KEY[1])
    files = {"config.json": b'{"architectures": ["LlamaForCausalLM"]}', "tokenizer.json": os.urandom(700)}
    for name, data in files.items():
        _put(garage_copy.source, f"verify/{name}", data)
    garage_copy.run()
    source, target = garage_copy.location("source"), garage_copy.location("target")
    report = verify_parity(source, target)
    assert report.in_parity and report.verified_count == 2, report.to_dict()
    changed = bytearray(files["tokenizer.json"])
    changed[100] ^= 0xFF
    _put(garage_copy.target, "verify/tokenizer.json", bytes(changed))
    report = verify_parity(source, target)
    assert not report.in_parity
    assert [finding.key for finding in report.different] == ["tokenizer.json"], report.to_dict()

    # Replication and the parity check asked Garage for nothing it lacks (no version listing).
    ours = garage.calls[first_call:]
    assert ours and not [call for call in ours if call[2] == 501], ours
    assert {name for _, name, _ in ours} >= {
        "ListObjectsV2",
        "HeadObject",
        "GetObject",
        "PutObject",
    }


def _rendered_bucket_region(role: str) -> str:
    run = garage_pair("onprem", "onprem", "both")[0 if role == "primary" else 1]
    provider = next(r for r in run.resources if r.name == f"{role}-store")
    return str(provider.inputs["minioRegion"])


def test_the_site_store_calls_of_a_garage_class_stack_succeed_on_garage(garage: GarageProxy) -> None:
    """What the Garage-class store's resources send, replayed: pulumi-minio 0.17.1 bundles
    terraform-provider-minio v1.20.1 (minio-go 7.0.63), whose S3Bucket create is BucketExists
    (GetBucketLocation, HeadBucket) + MakeBucket (CreateBucket with the provider's region as
    LocationConstraint; acl `private` sends no policy call) and whose read is BucketExists again;
    delete is DeleteBucket. No other resource uses the site's endpoint (tests/infra/test_garage_plan.py)."""
    assert importlib.metadata.version("pulumi_minio") == "0.17.1"  # the version whose source was read
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert re.search(r'"pulumi-minio==0\.17\.1"', pyproject)
    region = _rendered_bucket_region("primary")
    assert region == GARAGE_REGION
    client = garage_client(garage, region=region)
    name = unique_bucket_name("garage-models")
    first_call = len(garage.calls)
    with pytest.raises(Exception, match="404"):
        client.head_bucket(Bucket=name)  # create: the bucket does not exist yet
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    client.head_bucket(Bucket=name)  # read, on every refresh and up
    assert client.get_bucket_location(Bucket=name)["LocationConstraint"] in (region, None, "")
    client.delete_bucket(Bucket=name)  # destroy of an emptied bucket
    ours = garage.calls[first_call:]
    assert [(name, status) for _, name, status in ours] == [
        ("HeadBucket", 404), ("CreateBucket", 200), ("HeadBucket", 200), ("GetBucketLocation", 200),
        ("DeleteBucket", 204),
    ]  # fmt: skip


def test_garage_refuses_what_a_full_capability_site_asks_for_with_its_own_error(garage: GarageProxy) -> None:
    """Why `s3Capabilities` exists: the default site's versioning, SSE-S3 and the audit bucket's
    Object Lock calls each answer 501 NotImplemented (Garage's body), and a region that is not
    Garage's `s3_region` is refused before any bucket exists."""
    client = garage_client(garage)
    name = unique_bucket_name("garage-full")
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": GARAGE_REGION})
    calls = [
        lambda: client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"}),
        lambda: client.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        ),
        lambda: client.put_object_lock_configuration(
            Bucket=name,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}},
            },
        ),
        lambda: client.list_object_versions(Bucket=name),
        lambda: client.delete_bucket_policy(Bucket=name),
    ]
    errors = []
    for call in calls:
        with pytest.raises(Exception) as caught:
            call()
        response = caught.value.response  # type: ignore[attr-defined]
        errors.append((response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]))
    assert [status for status, _ in errors] == [501] * 5
    assert [error["Message"] for _, error in errors] == [
        "Unimplemented action: PutBucketVersioning",
        "Unimplemented action: PutBucketEncryption",
        "Unimplemented action: PutObjectLockConfiguration",
        "Unimplemented action: ListObjectVersions",
        "Unimplemented action: DeleteBucketPolicy",
    ]
    assert all(e["Code"] == "NotImplemented" and e["Region"] == GARAGE_REGION for _, e in errors)
    assert client.get_bucket_versioning(Bucket=name).get("Status") is None  # Garage's stub
    # A request signed for another region is refused (400 AuthorizationHeaderMalformed, whose body
    # names Garage's region; boto3 then retries in that region, other clients fail).
    before = len(garage.calls)
    garage_client(garage, region="us-east-1").list_objects_v2(Bucket=name)
    assert [status for _, _, status in garage.calls[before:]] == [400, 200]
    with pytest.raises(Exception, match="Cannot satisfy location constraint `us-east-2`"):
        client.create_bucket(
            Bucket=unique_bucket_name("x"), CreateBucketConfiguration={"LocationConstraint": "us-east-2"}
        )
    assert HOST == "127.0.0.1" and garage.endpoint_url.startswith("http://127.0.0.1:")
