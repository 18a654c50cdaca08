"""Real local servers for the edge proxy tests and benchmark: a test CA and certificate for the
service name, a fake OpenAI-compatible model server, and the real `nginx` with the rendered config.
"""

from __future__ import annotations

import datetime
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from components.inference_cluster.edge_proxy import (
    EdgeProxyConfig,
    proxy_command,
    render_auth_script,
    render_key_digests,
    render_nginx_config,
)

SERVICE_NAME = "api.example.com"


@dataclass(frozen=True)
class EdgePki:
    ca_file: Path
    cert_pem: bytes
    key_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificate(
    names: list[str],
    *,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    issuer_name: x509.Name | None = None,
    not_before: datetime.datetime | None = None,
    days: int = 30,
    key: ec.EllipticCurvePrivateKey | None = None,
    ca: bool = False,
) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM); self-signed unless an issuer is given."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    start = not_before or datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(issuer_name or _name(names[0]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def make_pki(directory: Path, service_name: str = SERVICE_NAME, *more_names: str) -> EdgePki:
    """A throwaway CA and a leaf certificate for the service name (and `more_names`) signed by it."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_pem, _ = make_certificate(["Test Edge CA"], key=ca_key, ca=True)
    leaf_pem, leaf_key = make_certificate(
        [service_name, *more_names], issuer_key=ca_key, issuer_name=_name("Test Edge CA")
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_pem)
    return EdgePki(ca_file=ca_file, cert_pem=leaf_pem, key_pem=leaf_key)


class _FakeModelHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen_authorization: ClassVar[list[str | None]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        type(self).seen_authorization.append(self.headers.get("Authorization"))
        body = json.dumps({"served": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer  # noqa: N815 - BaseHTTPRequestHandler's method names
    do_POST = _answer  # noqa: N815 - likewise

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def fake_model_server() -> Iterator[ThreadingHTTPServer]:
    """Answers 200 on every path (so a refusal can only come from the proxy)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeModelHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@dataclass
class RunningEdge:
    port: int
    config: EdgeProxyConfig
    metrics_port: int
    config_file: Path
    pid: int
    exit_code: int | None = None
    """Set when the proxy has stopped (after the context exits)."""


@contextmanager
def running_edge(
    pki: EdgePki,
    upstream_port: int,
    keys: list[str | None],
    workers: str = "2",
    pod_command_reload_seconds: int | None = None,
) -> Iterator[RunningEdge]:
    """The real nginx on 127.0.0.1 with exactly the rendered config (paths in a fresh directory).

    Like in the pod, NGINX runs as a non-root user: as root, the test drops to `nobody`. With
    `pod_command_reload_seconds`, it is started by the pod's own shell (`proxy_command`),
    checking for a renewed certificate that often.
    """
    binary = nginx_binary()
    assert binary, "nginx is not installed: run tools/install-edge-proxy.sh"
    # Memory-backed where the machine has it, like the pod's counters volume (rewritten on every
    # answer: on a disk-backed directory the renames cost an order of magnitude more).
    shm = Path("/dev/shm")
    directory = Path(tempfile.mkdtemp(prefix="edge-proxy-", dir=shm if shm.is_dir() else None))
    try:
        with _started(
            binary,
            directory,
            pki,
            upstream_port,
            keys,
            workers=workers,
            pod_reload=pod_command_reload_seconds,
        ) as running:
            yield running
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def _started(
    binary: str,
    directory: Path,
    pki: EdgePki,
    upstream_port: int,
    keys: list[str | None],
    *,
    workers: str,
    pod_reload: int | None,
) -> Iterator[RunningEdge]:
    (directory / "tls").mkdir()
    (directory / "keys").mkdir()
    (directory / "tls" / "tls.crt").write_bytes(pki.cert_pem)
    (directory / "tls" / "tls.key").write_bytes(pki.key_pem)
    (directory / "keys" / "api-key-sha256").write_text(render_key_digests(keys))
    port, metrics_port = free_port(), free_port()
    (directory / "counters").mkdir()
    config = EdgeProxyConfig(
        server_name=SERVICE_NAME,
        upstream_port=upstream_port,
        listen_port=port,
        listen_address="127.0.0.1",
        cert_file=str(directory / "tls" / "tls.crt"),
        key_file=str(directory / "tls" / "tls.key"),
        key_digests_file=str(directory / "keys" / "api-key-sha256"),
        script_file=str(directory / "edge_auth.js"),
        runtime_dir=str(directory / "run"),
        access_log=str(directory / "access.log"),
        worker_processes=workers,
        metrics_port=metrics_port,
        metrics_address="127.0.0.1",
        counters_dir=str(directory / "counters"),
    )
    (directory / "run").mkdir()
    (directory / "edge_auth.js").write_text(render_auth_script(config))
    config_file = directory / "nginx.conf"
    config_file.write_text(render_nginx_config(config))
    user = None
    if os.geteuid() == 0:
        user = "nobody"
        nobody = pwd.getpwnam(user)
        for path in [directory, *directory.rglob("*")]:
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
    command = [binary, "-e", "stderr", "-p", str(directory), "-c", str(config_file), "-g", "daemon off;"]
    if pod_reload is not None:
        command = ["/bin/sh", "-ec", proxy_command(config, str(config_file), pod_reload)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        user=user,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"nginx exited: {process.stderr.read().decode() if process.stderr else ''}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        running = RunningEdge(
            port=port, config=config, metrics_port=metrics_port, config_file=config_file, pid=process.pid
        )
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    running.exit_code = process.returncode
