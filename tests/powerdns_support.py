"""Local HTTPS /health servers on loopback addresses, standing in for the two stacks' edges.

Each listens on its own 127.0.0.x address and the same port (as two load balancers answer on
443), serves the service name's certificate from a throwaway CA, and answers /health like the
edge: `{"status":"ok"}` with 200 while healthy, 503 while not (or, to test `stringmatch`, a 200
with some other body).
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

from tests.edge_support import SERVICE_NAME, make_pki

Mode = Literal["ok", "down", "wrong-body"]


class HealthServer:
    def __init__(self, address: str, port: int, context: ssl.SSLContext) -> None:
        self.address = address
        self.mode: Mode = "ok"
        self.requests: list[tuple[str, str | None, str | None]] = []
        """(path, Host header, User-Agent) of every request."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append((self.path, self.headers.get("Host"), self.headers.get("User-Agent")))
                if self.path != "/health" or owner.mode == "down":
                    status, body = (404 if self.path != "/health" else 503), b'{"status":"unavailable"}'
                elif owner.mode == "wrong-body":
                    status, body = 200, b"<html>a captive portal</html>"
                else:
                    status, body = 200, b'{"status":"ok"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer((address, port), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port_on(*addresses: str) -> int:
    """A TCP port free on every one of `addresses`."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for address in addresses[1:]:
                with socket.socket() as other:
                    other.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no TCP port free on all of {addresses}")


@contextmanager
def health_servers(*addresses: str) -> Iterator[tuple[int, Path, list[HealthServer]]]:
    """(port, CA file, servers): one HTTPS /health server per address, all on one port."""
    with tempfile.TemporaryDirectory(prefix="pdns-health-") as directory:
        pki = make_pki(Path(directory))
        cert, key = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert.write_bytes(pki.cert_pem)
        key.write_bytes(pki.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        port = free_port_on(*addresses)
        servers = [HealthServer(a, port, context).start() for a in addresses]
        try:
            yield port, pki.ca_file, servers
        finally:
            for server in servers:
                server.stop()


__all__ = ["SERVICE_NAME", "HealthServer", "free_port_on", "health_servers"]
