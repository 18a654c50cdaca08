"""The real edge proxy (Debian's nginx 1.x + njs, the same software and major version as the
pod's image) with exactly the configuration the workload renders, in front of a fake model server."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.inference_cluster.edge_proxy import (
    EDGE_PROXY_IMAGE,
    LISTEN_PORT,
    OPENAI_ROUTES,
    key_digest,
    pod_config,
    render_key_digests,
    render_nginx_config,
)
from components.observability.args import EDGE_METRICS_PATH, METRICS_PORT
from tests.edge_support import (
    SERVICE_NAME,
    EdgePki,
    RunningEdge,
    fake_model_server,
    make_pki,
    nginx_binary,
    running_edge,
)

CURRENT_KEY = "sk-current-0123456789abcdef"
NEXT_KEY = "sk-next-fedcba9876543210"
REFUSED_PATHS = (
    "/invocations",
    "/metrics",
    "/tokenize",
    "/detokenize",
    "/docs",
    "/openapi.json",
    "/version",
    "/nope",
)

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="run tools/install-edge-proxy.sh")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> EdgePki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, pki: EdgePki) -> Iterator[RunningEdge]:
    with (
        fake_model_server() as model,
        running_edge(pki, model.server_address[1], [CURRENT_KEY, NEXT_KEY]) as running,
    ):
        yield running


def _request(
    edge: RunningEdge, pki: EdgePki, path: str, key: str | None = None, method: str = "GET"
) -> tuple[int, bytes, http.client.HTTPResponse]:
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    connection = http.client.HTTPSConnection(SERVICE_NAME, edge.port, context=context, timeout=10)
    # Resolve the service name to the local proxy without touching DNS.
    connection.sock = context.wrap_socket(
        socket.create_connection(("127.0.0.1", edge.port), timeout=10), server_hostname=SERVICE_NAME
    )
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = b'{"model": "m", "messages": []}' if method == "POST" else None
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data, response


def test_tls_handshake_verifies_for_the_service_name_only(edge: RunningEdge, pki: EdgePki) -> None:
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    with (
        socket.create_connection(("127.0.0.1", edge.port)) as raw,
        context.wrap_socket(raw, server_hostname=SERVICE_NAME) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    with (
        socket.create_connection(("127.0.0.1", edge.port)) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        context.wrap_socket(raw, server_hostname="other.example.com")


def test_tls_1_2_and_1_3_only(edge: RunningEdge, pki: EdgePki) -> None:
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = ssl.create_default_context(cafile=str(pki.ca_file))
        context.minimum_version = context.maximum_version = version
        with (
            socket.create_connection(("127.0.0.1", edge.port)) as raw,
            context.wrap_socket(raw, server_hostname=SERVICE_NAME) as tls,
        ):
            assert tls.version() == version.name.replace("_", ".")
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in edge.config_file.read_text()


def _listens(config: str) -> list[str]:
    return [line.strip() for line in config.splitlines() if line.strip().startswith("listen ")]


def test_public_side_is_tls_only_and_the_metrics_listener_is_internal(edge: RunningEdge) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=5)
    connection.request("GET", "/health")
    response = connection.getresponse()
    # NGINX answers a plain request on a TLS port with 400 and never proxies it.
    assert response.status == 400
    assert b"plain HTTP request was sent to HTTPS port" in response.read()
    # Two listeners: the public one with TLS, and the collector's plain one on its own port.
    assert _listens(edge.config_file.read_text()) == [
        f"listen 127.0.0.1:{edge.port} ssl default_server;",
        f"listen 127.0.0.1:{edge.metrics_port};",
    ]
    # The pod's: TLS on the port the Service maps 443 to, plain only on the metrics port, which
    # no Service publishes and a NetworkPolicy opens to the collector alone (test_observability).
    pod = render_nginx_config(pod_config(SERVICE_NAME, 8000, "acme"))
    assert _listens(pod) == [f"listen {LISTEN_PORT} ssl default_server;", f"listen {METRICS_PORT};"]
    assert METRICS_PORT != LISTEN_PORT


def _plain(port: int, path: str, key: str | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


@pytest.mark.parametrize("path", ["/health", "/v1/models", "/v1/chat/completions", "/tokenize", "/"])
def test_the_metrics_listener_serves_metrics_and_nothing_else(
    edge: RunningEdge, pki: EdgePki, path: str
) -> None:
    """Even with a valid key, no API route answers on the metrics port: it is not a way around
    TLS or the key check."""
    status, body = _plain(edge.metrics_port, path, key=CURRENT_KEY)
    assert status == 404 and b"served" not in body


def _edge_counts(port: int) -> dict[tuple[str, str], int]:
    status, body = _plain(port, EDGE_METRICS_PATH)
    assert status == 200
    counts = {}
    for line in body.decode().splitlines():
        if line.startswith("#"):
            continue
        match = re.fullmatch(r'edge_requests_total\{route="([^"]+)",code="(\d{3})"\} (\d+)', line)
        assert match, line
        counts[(match[1], match[2])] = int(match[3])
    return counts


def _wait_for_counts(port: int, expected: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Counting runs in the log phase, after the answer went out: poll briefly."""
    deadline = time.monotonic() + 5
    while (counts := _edge_counts(port)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return counts


def test_metrics_listener_serves_the_model_servers_metrics_and_the_edges_counts(
    pki: EdgePki, tmp_path: Path
) -> None:
    with (
        fake_model_server() as model,
        running_edge(pki, model.server_address[1], [CURRENT_KEY]) as running,
    ):
        assert _plain(running.metrics_port, "/metrics") == (200, b'{"served": "/metrics"}')
        assert _request(running, pki, "/health")[0] == 200
        assert _request(running, pki, "/v1/models")[0] == 401
        assert _request(running, pki, "/v1/models", key=CURRENT_KEY)[0] == 200
        for _ in range(3):
            assert _request(running, pki, "/v1/chat/completions", key=CURRENT_KEY, method="POST")[0] == 200
        assert _request(running, pki, "/metrics", key=CURRENT_KEY)[0] == 404
        assert _request(running, pki, "/scanner/probe.php")[0] == 404
        expected = {
            ("/health", "200"): 1,
            ("/v1/models", "401"): 1,
            ("/v1/models", "200"): 1,
            ("/v1/chat/completions", "200"): 3,
            ("other", "404"): 2,  # unknown paths share one label: bounded cardinality
        }
        assert _wait_for_counts(running.metrics_port, expected) == expected
        # Scrapes of the metrics listener are not counted; the exposition is valid for Prometheus.
        status, body = _plain(running.metrics_port, EDGE_METRICS_PATH)
        assert status == 200
        checked = subprocess.run(
            ["promtool", "check", "metrics"], input=body, capture_output=True, check=False
        )
        assert checked.returncode == 0, checked.stderr.decode() + checked.stdout.decode()
        assert b"# TYPE edge_requests_total counter" in body


def test_edge_counts_upstream_failures_and_keeps_its_totals_across_a_reload(pki: EdgePki) -> None:
    """The errors the model server cannot count (it is down) are the edge's to count; a reload
    starts new workers, and the totals never go down."""
    from tests.edge_support import free_port

    with running_edge(pki, free_port(), [CURRENT_KEY]) as running:
        assert _request(running, pki, "/v1/models", key=CURRENT_KEY)[0] == 502
        assert _request(running, pki, "/health")[0] == 503
        before = {("/v1/models", "502"): 1, ("/health", "503"): 1}
        assert _wait_for_counts(running.metrics_port, before) == before
        counters = Path(running.config.counters_dir)
        old_workers = {f.name for f in counters.glob("worker-*.json")}
        os.kill(running.pid, signal.SIGHUP)  # nginx reload: new workers, new counter files
        deadline = time.monotonic() + 10
        sent = 0
        while not {f.name for f in counters.glob("worker-*.json")} - old_workers:
            assert time.monotonic() < deadline, "no new worker answered after the reload"
            assert _request(running, pki, "/v1/models", key=CURRENT_KEY)[0] == 502
            sent += 1
            time.sleep(0.05)
        after = {("/v1/models", "502"): 1 + sent, ("/health", "503"): 1}
        assert _wait_for_counts(running.metrics_port, after) == after


def test_health_answers_without_a_key_with_a_minimal_body(edge: RunningEdge, pki: EdgePki) -> None:
    status, body, _ = _request(edge, pki, "/health")
    assert (status, body) == (200, b'{"status":"ok"}')


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_routes_need_a_valid_key_and_take_either_rotation_key(
    edge: RunningEdge, pki: EdgePki, route: str
) -> None:
    method = "GET" if route == "/v1/models" else "POST"
    status, _, response = _request(edge, pki, route, method=method)
    assert status == 401
    assert response.getheader("WWW-Authenticate", "").startswith("Bearer")
    assert _request(edge, pki, route, key="sk-wrong", method=method)[0] == 401
    assert _request(edge, pki, route, key=CURRENT_KEY + "x", method=method)[0] == 401
    assert _request(edge, pki, route, key=CURRENT_KEY[:-1], method=method)[0] == 401
    for key in (CURRENT_KEY, NEXT_KEY):
        status, body, _ = _request(edge, pki, route, key=key, method=method)
        assert status == 200
        assert body == f'{{"served": "{route}"}}'.encode()


def test_key_never_reaches_the_model_server(edge: RunningEdge, pki: EdgePki) -> None:
    from tests.edge_support import _FakeModelHandler

    _FakeModelHandler.seen_authorization.clear()
    assert _request(edge, pki, "/v1/models", key=CURRENT_KEY)[0] == 200
    assert _FakeModelHandler.seen_authorization == [None]


@pytest.mark.parametrize("path", REFUSED_PATHS)
def test_other_paths_are_refused_even_with_a_key(edge: RunningEdge, pki: EdgePki, path: str) -> None:
    assert _request(edge, pki, path, key=CURRENT_KEY)[0] == 404
    assert _request(edge, pki, path, key=CURRENT_KEY, method="POST")[0] == 404


@pytest.mark.parametrize(
    "path",
    ["/v1/models/../../metrics", "/v1/models/", "/v1/chat/completions/../../invocations", "/V1/models"],
)
def test_path_tricks_do_not_reach_other_routes(edge: RunningEdge, pki: EdgePki, path: str) -> None:
    status, body, _ = _request(edge, pki, path, key=CURRENT_KEY)
    assert status in (400, 404)
    assert b"served" not in body


def test_rotation_takes_effect_without_a_restart(pki: EdgePki) -> None:
    with (
        fake_model_server() as model,
        running_edge(pki, model.server_address[1], [CURRENT_KEY]) as running,
    ):
        assert _request(running, pki, "/v1/models", key=NEXT_KEY)[0] == 401
        digests = Path(running.config.key_digests_file)
        digests.write_text(render_key_digests([CURRENT_KEY, NEXT_KEY]))
        assert _request(running, pki, "/v1/models", key=NEXT_KEY)[0] == 200
        digests.write_text(render_key_digests([NEXT_KEY]))
        assert _request(running, pki, "/v1/models", key=CURRENT_KEY)[0] == 401
        assert _request(running, pki, "/v1/models", key=NEXT_KEY)[0] == 200


def test_unhealthy_model_server_makes_health_fail(pki: EdgePki) -> None:
    from tests.edge_support import free_port

    with running_edge(pki, free_port(), [CURRENT_KEY]) as running:
        status, body, _ = _request(running, pki, "/health")
        assert (status, body) == (503, b'{"status":"unavailable"}')


def test_config_holds_no_key_only_digests() -> None:
    from components.inference_cluster.edge_proxy import EdgeProxyConfig

    config = render_nginx_config(EdgeProxyConfig(server_name=SERVICE_NAME, upstream_port=8000))
    assert CURRENT_KEY not in config and key_digest(CURRENT_KEY) not in config
    assert render_key_digests([CURRENT_KEY, None]) == key_digest(CURRENT_KEY) + "\n"


def test_pod_image_is_nginx_1_pinned_by_digest_like_the_tested_binary() -> None:
    import subprocess

    version = subprocess.run(
        [nginx_binary() or "nginx", "-v"], capture_output=True, text=True, check=True
    ).stderr
    assert version.startswith("nginx version: nginx/1.")
    repository, digest = EDGE_PROXY_IMAGE.split("@")
    assert repository.endswith("nginx-unprivileged:1.28.0")
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64


def test_pod_command_reloads_a_renewed_certificate_and_stops_cleanly(pki: EdgePki, tmp_path: Path) -> None:
    """The proxy container's shell (exactly `proxy_command`) with the real nginx: cert-manager
    renews into the mounted Secret, the loop notices and reloads; TERM stops it with exit 0."""
    renewed = make_pki(tmp_path)  # another CA and leaf for the same name
    with (
        fake_model_server() as model,
        running_edge(pki, model.server_address[1], [CURRENT_KEY], pod_command_reload_seconds=1) as running,
    ):
        assert _request(running, pki, "/health")[0] == 200
        Path(running.config.cert_file).write_bytes(renewed.cert_pem)
        Path(running.config.key_file).write_bytes(renewed.key_pem)
        deadline = time.monotonic() + 15
        while True:
            try:
                assert _request(running, renewed, "/health")[0] == 200
                break
            except ssl.SSLError:
                assert time.monotonic() < deadline, "the renewed certificate was never served"
                time.sleep(0.2)
    assert running.exit_code == 0
