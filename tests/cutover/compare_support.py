"""Fake OpenAI-compatible sides for compare and canary tests: each its own process on loopback."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "api.example.com"


@dataclass
class FakeSide:
    process: subprocess.Popen[str]
    url: str

    def control(self, **settings: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.plain_url}/_control", json=settings, verify=False, timeout=5)
        return dict(response.json())

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.plain_url}/_stats", verify=False, timeout=5).json())

    @property
    def plain_url(self) -> str:
        return self.url

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1].rsplit(":", 1)[0]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@contextmanager
def fake_side(*extra: str) -> Iterator[FakeSide]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--port", "0", *extra],
        stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        _, host, port = process.stdout.readline().split()
        scheme = "https" if "--tls-cert" in extra else "http"
        yield FakeSide(process, f"{scheme}://{host}:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)


def make_ca(directory: Path, names: tuple[str, ...] = (SERVICE,)) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for `names`: (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "compare test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def outputs_file(
    directory: Path, name: str, url: str | None, fqdn: str = SERVICE, cloud: str | None = None
) -> Path:
    path = directory / f"{name}-outputs.json"
    outputs: dict[str, Any] = {"serviceFqdn": fqdn}
    if cloud is not None:
        outputs["cloud"] = cloud
    if url is not None:
        outputs["endpointUrl"] = url
    path.write_text(json.dumps(outputs))
    return path
