"""A Garage-shaped S3 API in front of a real SeaweedFS, for the tests of a Garage-class site.

No Garage binary is reachable from the registries this project installs from (PyPI `garage*`
and Debian `garage` are other software; /work/.library/env/packages has none), so this proxy makes
a real SeaweedFS answer as Garage v1.2.0 does for what Garage lacks, and forwards everything else
byte for byte (the client's Host header and signature untouched, so SeaweedFS checks them):

- the endpoints Garage implements (src/api/s3/api_server.rs at v1.2.0: buckets, objects,
  multipart, ListObjects/V2, CORS, lifecycle, website, GetBucketAcl) are forwarded;
- GetBucketVersioning is Garage's stub: 200 with an empty VersioningConfiguration;
- every other S3 endpoint (PutBucketVersioning, ListObjectVersions, Put/GetBucketEncryption,
  Put/GetObjectLockConfiguration, bucket policies, tagging, public access block...) answers
  501 with Garage's error body: <Error><Code>NotImplemented</Code><Message>Unimplemented action:
  <Endpoint></Message><Resource>path</Resource><Region>region</Region></Error> (src/api/s3/error.rs);
- a SigV4 scope for another region than Garage's `s3_region` answers 400
  AuthorizationHeaderMalformed, and CreateBucket with another LocationConstraint 400
  InvalidRequest, as Garage does (signature/payload.rs, s3/bucket.rs).

Not modelled: Garage checks the signature before answering 501 (here an unsigned unsupported call
also gets 501), and its own key/bucket permission model (SeaweedFS's identities apply).
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

GARAGE_REGION: Final = "garage"
"""Garage's default `s3_api.s3_region`."""
_HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
)
_VERBS: Final = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "POST": "Post", "HEAD": "Head"}
# Bucket subresources: Garage implements these (method -> endpoint name) ...
_BUCKET_IMPLEMENTED: Final = {
    ("GET", "location"): "GetBucketLocation",
    ("GET", "acl"): "GetBucketAcl",
    ("GET", "cors"): "GetBucketCors",
    ("PUT", "cors"): "PutBucketCors",
    ("DELETE", "cors"): "DeleteBucketCors",
    ("GET", "lifecycle"): "GetBucketLifecycleConfiguration",
    ("PUT", "lifecycle"): "PutBucketLifecycleConfiguration",
    ("DELETE", "lifecycle"): "DeleteBucketLifecycle",
    ("GET", "website"): "GetBucketWebsite",
    ("PUT", "website"): "PutBucketWebsite",
    ("DELETE", "website"): "DeleteBucketWebsite",
    ("GET", "uploads"): "ListMultipartUploads",
    ("POST", "delete"): "DeleteObjects",
}
# ... and not these (the S3 names its router knows; the answer is 501).
_BUCKET_MISSING: Final = {
    "versioning": "BucketVersioning",
    "versions": "ObjectVersions",
    "encryption": "BucketEncryption",
    "object-lock": "ObjectLockConfiguration",
    "policy": "BucketPolicy",
    "policyStatus": "BucketPolicyStatus",
    "tagging": "BucketTagging",
    "publicAccessBlock": "PublicAccessBlock",
    "ownershipControls": "BucketOwnershipControls",
    "replication": "BucketReplication",
    "logging": "BucketLogging",
    "notification": "BucketNotificationConfiguration",
    "accelerate": "BucketAccelerateConfiguration",
    "requestPayment": "BucketRequestPayment",
    "analytics": "BucketAnalyticsConfiguration",
    "metrics": "BucketMetricsConfiguration",
    "inventory": "BucketInventoryConfiguration",
    "intelligent-tiering": "BucketIntelligentTieringConfiguration",
}
_OBJECT_MISSING: Final = {
    "tagging": "ObjectTagging",
    "acl": "ObjectAcl",
    "retention": "ObjectRetention",
    "legal-hold": "ObjectLegalHold",
    "torrent": "ObjectTorrent",
    "restore": "RestoreObject",
    "select": "SelectObjectContent",
    "attributes": "ObjectAttributes",
}
_SCOPE: Final = re.compile(r"Credential=[^/]+/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_CONSTRAINT: Final = re.compile(rb"<LocationConstraint>([^<]*)</LocationConstraint>")


def _error(code: str, message: str, resource: str, region: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Error>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message>"
        f"<Resource>{escape(resource)}</Resource><Region>{escape(region)}</Region></Error>"
    ).encode()


def classify(method: str, path: str, query: dict[str, list[str]]) -> tuple[str, bool]:
    """(S3 endpoint name, whether Garage implements it) of one request, path-style."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return ("ListBuckets", True) if method == "GET" else (f"{_VERBS.get(method, method)}Service", False)
    if not key:
        return _classify_bucket(method, query)
    if "uploadId" in query:
        names = {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"}
        return names.get(method, "ListParts"), True
    if "uploads" in query and method == "POST":
        return "CreateMultipartUpload", True
    for sub, name in _OBJECT_MISSING.items():
        if sub in query:
            whole = name in ("RestoreObject", "SelectObjectContent")
            return (name if whole else f"{_VERBS.get(method, method)}{name}"), False
    names = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}
    return (names[method], True) if method in names else ("PostObjectAction", False)


def _classify_bucket(method: str, query: dict[str, list[str]]) -> tuple[str, bool]:
    for (verb, sub), name in _BUCKET_IMPLEMENTED.items():
        if sub in query and verb == method:
            return name, True
    if "versioning" in query and method == "GET":
        return "GetBucketVersioning", True  # a stub: "never enabled"
    for sub, name in _BUCKET_MISSING.items():
        if sub in query:
            verb = "List" if sub == "versions" else _VERBS.get(method, method)
            return f"{verb}{name}", False
    names = {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket", "POST": "PostObject"}
    if method == "GET":
        return ("ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"), True
    return (names[method], True) if method in names else (f"{method}Bucket", False)


@dataclass
class GarageProxy:
    """Listens on 127.0.0.1:<port>; `calls` and `refused` record what clients asked for."""

    upstream: str
    """http://host:port of the SeaweedFS S3 gateway."""
    region: str = GARAGE_REGION
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    """(method, endpoint name, status) of every request."""
    refused: list[str] = field(default_factory=list)
    """Endpoint names answered 501 NotImplemented."""
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> GarageProxy:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="garage-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def record(self, method: str, name: str, status: int) -> None:
        self.calls.append((method, name, status))
        if status == 501:
            self.refused.append(name)


@contextmanager
def garage_in_front_of(upstream: str) -> Iterator[GarageProxy]:
    proxy = GarageProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()


class _GarageHandler(BaseHTTPRequestHandler):
    """Garage's S3 answers in front of `proxy`'s upstream (a class attribute, set per proxy)."""

    proxy: GarageProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, body: bytes, name: str, content_type: str = "application/xml") -> None:
        self.proxy.record(self.command, name, status)  # before the client can read the answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        body = self._body()
        name, implemented = classify(self.command, parts.path, query)
        refusal = self._refusal(parts.path, name, implemented, body)
        if refusal is not None:
            self._answer(*refusal, name)
            return
        if name == "GetBucketVersioning":
            stub = (
                b'<?xml version="1.0" encoding="UTF-8"?>'
                b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'
            )
            self._answer(200, stub, name)
            return
        self._forward(body, name)

    def _refusal(self, path: str, name: str, implemented: bool, body: bytes) -> tuple[int, bytes] | None:
        """(status, error document) where Garage refuses the request, or None."""
        region = self.proxy.region
        scope = _SCOPE.search(self.headers.get("Authorization", ""))
        if scope is not None and scope.group(2) != region:
            message = f"Authorization header malformed, unexpected scope: {'/'.join(scope.groups())}"
            return 400, _error("AuthorizationHeaderMalformed", message, path, region)
        if not implemented:
            return 501, _error("NotImplemented", f"Unimplemented action: {name}", path, region)
        constraint = _CONSTRAINT.search(body) if name == "CreateBucket" else None
        if constraint is not None and constraint.group(1).decode() != region:
            message = (
                f"Bad request: Cannot satisfy location constraint `{constraint.group(1).decode()}`: "
                f"buckets can only be created in region `{region}`"
            )
            return 400, _error("InvalidRequest", message, path, region)
        return None

    def _forward(self, body: bytes, name: str) -> None:
        upstream = urlsplit(self.proxy.upstream)
        connection = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=120)
        try:
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in self.headers.items():
                if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                    connection.putheader(key, value)
            if body or self.command in ("PUT", "POST"):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            response = connection.getresponse()
            data = response.read()
            self.proxy.record(self.command, name, response.status)  # before the client can read the answer
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            length = response.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
            self.send_header("Content-Length", length or "0")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        finally:
            connection.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle  # noqa: N815  (http.server's names)


def _handler(proxy: GarageProxy) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_GarageHandler,), {"proxy": proxy})
