"""The edge proxy in every inference pod: TLS for the service name and an API key on every route.

NGINX 1.x (the unprivileged image, which ships the njs module) terminates TLS 1.2+ on
`LISTEN_PORT`, answers `/health` without a key, passes exactly the OpenAI routes the service
offers to the model server on 127.0.0.1 when the request carries a valid key, and refuses
every other path. The model server never listens on the pod's address.

Key check, and why it is constant time: NGINX's own string matching (`map`, `if`) hashes the
input into a bucket and then compares with `ngx_strncmp`, which stops at the first differing
byte, so its timing leaks how much of a guess is right. Here njs hashes the presented key with
SHA-256 and compares the digest with every configured digest over all 32 bytes, OR-ing the
XOR of each pair, with no early exit and no branch on a secret byte. What an attacker could
time is the digest of its own guess, which tells nothing about the key (SHA-256 is
preimage-resistant), and the loop runs the same number of steps for every guess. The proxy
never holds a plain key: the digests come from a Kubernetes Secret that is mounted, not
copied, so a key rotation (`apiKeyNext`, then the swap) reaches running pods through the
kubelet's Secret refresh, without a restart or a model reload. The file is read per request
(a few microseconds; njs keeps no state between requests).

Metrics (issue 11): a second, plain-HTTP listener on METRICS_PORT (9464, the container port
named `metrics`) serves exactly two paths and nothing else: `/metrics`, the model server's own
Prometheus metrics proxied from 127.0.0.1, and `/metrics/edge`, the edge's own request counts
(`edge_requests_total{route,code}`: every answer of the public listener, refusals and upstream
errors included, which the model server never sees). The port is never public: the Service
publishes only 443, and a NetworkPolicy (components/observability) admits the metrics port only
from the cloud's collector pods. The public listener stays TLS-only with a key on every route.
The counts are kept without shared memory, because the njs the tests run (Debian's 0.7.9) has no
`js_shared_dict_zone` (njs 0.8.0+) and njs keeps no state between requests: a log-phase njs
variable adds each answer to its worker's own JSON file (written to a temporary file, then
renamed, so a reader never sees half a file) in a memory-backed directory, and `/metrics/edge`
sums the files. A worker that exits leaves its file, so the totals never go down while the pod
lives; a new pod starts from zero, which Prometheus reads as a counter reset.

Everything here is a pure function of its arguments, so the tests run the real `nginx` with
exactly the configuration the pod gets.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from components.observability.args import EDGE_METRICS_PATH, METRICS_PATH, METRICS_PORT

EDGE_PROXY_IMAGE: Final = (
    "docker.io/nginxinc/nginx-unprivileged:1.28.0"
    "@sha256:cafbd84f76d7ccb0a2346f4c5209c3e494533d82ba3821f552c2e08a99111476"
)
"""NGINX 1.28 (Debian based, njs module included), pinned by digest; tests run Debian's nginx 1.x."""

NJS_MODULE: Final = "/usr/lib/nginx/modules/ngx_http_js_module.so"
"""Where both the official image and Debian's libnginx-mod-http-js put the njs module."""

LISTEN_PORT: Final = 8443
"""Container port of the proxy (unprivileged); the Service maps 443 to it."""
SERVICE_PORT: Final = 443
HEALTH_PATH: Final = "/health"
OPENAI_ROUTES: Final = ("/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings")
"""The only routes the service offers; every other path is refused at the edge."""

CONFIG_DIR: Final = "/etc/edge"
TLS_DIR: Final = "/run/secrets/edge-tls"
KEYS_DIR: Final = "/run/secrets/edge-keys"
RUNTIME_DIR: Final = "/tmp/edge"
KEY_DIGESTS_FILE: Final = "api-key-sha256"
"""File (Secret key) with one hex SHA-256 digest per valid API key."""
API_KEY_SECRETS: Final = ("apiKey", "apiKeyNext")
"""Secret config keys holding the valid API keys (current, and the next one during a rotation)."""
COUNTERS_DIR: Final = "/run/edge-metrics"
"""Memory-backed directory of the per-worker request counters."""
CERT_RELOAD_SECONDS: Final = 300
"""How often the proxy checks whether cert-manager renewed the certificate (then reloads)."""

_CIPHERS: Final = (
    # Mozilla "intermediate" (TLS 1.2 AEAD suites with forward secrecy); TLS 1.3 suites are fixed.
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)


@dataclass(frozen=True)
class EdgeProxyConfig:
    """Where the proxy finds its inputs; the defaults are the pod's paths."""

    server_name: str
    """The service name (`dnsRecord`.`dnsZone`) the certificate is for."""
    upstream_port: int
    """Port of the model server on 127.0.0.1."""
    listen_port: int = LISTEN_PORT
    listen_address: str | None = None
    """None listens on every pod address; tests pass 127.0.0.1."""
    cert_file: str = f"{TLS_DIR}/tls.crt"
    key_file: str = f"{TLS_DIR}/tls.key"
    key_digests_file: str = f"{KEYS_DIR}/{KEY_DIGESTS_FILE}"
    script_file: str = f"{CONFIG_DIR}/edge_auth.js"
    runtime_dir: str = RUNTIME_DIR
    """Writable directory for the pid file and NGINX's temp files (the root filesystem is read-only)."""
    access_log: str = "/dev/stdout"
    worker_processes: str = "2"
    njs_module: str = NJS_MODULE
    metrics_port: int = METRICS_PORT
    """Plain-HTTP listener for the collector only (never published by the Service)."""
    metrics_address: str | None = None
    """None listens on every pod address; tests pass 127.0.0.1."""
    counters_dir: str = COUNTERS_DIR


def key_digest(key: str) -> str:
    return hashlib.sha256(key.strip().encode()).hexdigest()


def render_key_digests(keys: Iterable[str | None]) -> str:
    """The digest file: one line per key that is set (apiKey, then apiKeyNext)."""
    return "".join(f"{key_digest(k)}\n" for k in keys if k)


def render_auth_script(config: EdgeProxyConfig) -> str:
    """njs module: `keyOk` is '1' when the bearer key's SHA-256 equals a configured digest."""
    path = json.dumps(config.key_digests_file)
    counters = json.dumps(config.counters_dir)
    routes = json.dumps([HEALTH_PATH, *OPENAI_ROUTES])
    return f"""// Rendered by components/inference_cluster/edge_proxy.py; see its docstring.
var fs = require('fs');
var crypto = require('crypto');
var DIGESTS = {path};
var HEX = /^[0-9a-f]{{64}}$/;

function keyOk(r) {{
    var header = r.headersIn['Authorization'] || '';
    if (header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') {{
        return '0';
    }}
    var presented = crypto.createHash('sha256').update(header.slice(7).trim()).digest('hex');
    var lines;
    try {{
        lines = fs.readFileSync(DIGESTS, 'utf8').split('\\n');
    }} catch (e) {{
        r.error('edge: cannot read the API key digests: ' + e);
        return '0';
    }}
    var match = 0;
    for (var n = 0; n < lines.length; n++) {{
        var digest = lines[n].trim();
        if (!HEX.test(digest)) {{
            continue;
        }}
        var diff = 0;
        for (var i = 0; i < 64; i++) {{
            diff |= presented.charCodeAt(i) ^ digest.charCodeAt(i);
        }}
        match |= (diff === 0) ? 1 : 0;
    }}
    return match === 1 ? '1' : '0';
}}

function healthy(r) {{
    r.return(200, '{{"status":"ok"}}');
}}

// Request counts (see the module docstring of edge_proxy.py): one file per worker, replaced
// whole on every answer, summed by `metrics`.
var COUNTERS = {counters};
var ROUTES = {routes};

function counterFile() {{
    return COUNTERS + '/worker-' + process.pid + '.json';
}}

function readCounts(file) {{
    try {{
        return JSON.parse(fs.readFileSync(file, 'utf8'));
    }} catch (e) {{
        return {{}};
    }}
}}

function count(r) {{
    var route = ROUTES.indexOf(r.uri) >= 0 ? r.uri : 'other';
    var key = route + ' ' + r.status;
    var file = counterFile();
    var counts = readCounts(file);
    counts[key] = (counts[key] || 0) + 1;
    try {{
        fs.writeFileSync(file + '.tmp', JSON.stringify(counts));
        fs.renameSync(file + '.tmp', file);
    }} catch (e) {{
        r.error('edge: cannot write the request counters: ' + e);
    }}
    return '';
}}

function metrics(r) {{
    var totals = {{}};
    var names = [];
    try {{
        names = fs.readdirSync(COUNTERS);
    }} catch (e) {{
        r.error('edge: cannot read the request counters: ' + e);
    }}
    for (var n = 0; n < names.length; n++) {{
        if (!/^worker-[0-9]+[.]json$/.test(names[n])) {{
            continue;
        }}
        var counts = readCounts(COUNTERS + '/' + names[n]);
        for (var key in counts) {{
            totals[key] = (totals[key] || 0) + counts[key];
        }}
    }}
    var lines = [
        '# HELP edge_requests_total Answers of the public listener, by route and status code.',
        '# TYPE edge_requests_total counter'
    ];
    var keys = Object.keys(totals).sort();
    for (var k = 0; k < keys.length; k++) {{
        var space = keys[k].indexOf(' ');
        lines.push('edge_requests_total{{route="' + keys[k].slice(0, space) + '",code="'
            + keys[k].slice(space + 1) + '"}} ' + totals[keys[k]]);
    }}
    r.headersOut['Content-Type'] = 'text/plain; version=0.0.4';
    r.return(200, lines.join('\\n') + '\\n');
}}

export default {{keyOk, healthy, count, metrics}};
"""


def render_nginx_config(config: EdgeProxyConfig) -> str:
    """nginx.conf of the edge: one TLS server, /health open, OpenAI routes keyed, the rest 404."""
    listen = (
        f"{config.listen_address}:{config.listen_port}" if config.listen_address else str(config.listen_port)
    )
    run = config.runtime_dir
    routes = "\n".join(_keyed_route(route) for route in OPENAI_ROUTES)
    # `access_log off` cancels every access_log of its level, so the counting line (njs in the
    # log phase; the line itself goes to /dev/null) stands alone when the access log is off.
    access_log = "" if config.access_log == "off" else f"access_log {config.access_log} edge;\n        "
    metrics_listen = (
        f"{config.metrics_address}:{config.metrics_port}"
        if config.metrics_address
        else str(config.metrics_port)
    )
    return f"""# Rendered by components/inference_cluster/edge_proxy.py; do not edit by hand.
load_module {config.njs_module};
worker_processes {config.worker_processes};
pid {run}/nginx.pid;
error_log stderr warn;

events {{
    worker_connections 4096;
}}

http {{
    server_tokens off;
    default_type application/json;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    # No header, query string or body is logged: keys never reach the logs.
    log_format edge
        '$time_iso8601 $remote_addr "$request_method $uri" $status $body_bytes_sent $request_time';
    log_format edge_count '$edge_counted';
    access_log off;

    js_import edge from {config.script_file};
    js_set $edge_key_ok edge.keyOk;
    js_set $edge_counted edge.count;

    upstream model_server {{
        server 127.0.0.1:{config.upstream_port};
        keepalive 64;
    }}

    server {{
        listen {listen} ssl default_server;
        server_name {config.server_name};
        {access_log}access_log /dev/null edge_count;

        ssl_certificate {config.cert_file};
        ssl_certificate_key {config.key_file};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers {_CIPHERS};
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:edge_tls:10m;
        ssl_session_timeout 1h;
        ssl_session_tickets off;

        add_header Strict-Transport-Security "max-age=63072000" always;
        client_max_body_size 16m;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Authorization "";
        proxy_set_header Host $host;
        # Streamed completions (server-sent events) go out as they are produced.
        proxy_buffering off;
        proxy_request_buffering off;
        proxy_read_timeout 600s;
        proxy_send_timeout 600s;

        # Health checkers (DNS authority, load balancer, kubelet) need no key; they get a
        # status and nothing the server says.
        location = {HEALTH_PATH} {{
            # The subrequest runs in the access phase; the answer comes from njs in the
            # content phase (a `return` would answer before the model server is asked).
            auth_request /_model_health;
            error_page 500 502 503 504 = @unhealthy;
            js_content edge.healthy;
        }}
        location = /_model_health {{
            internal;
            proxy_pass http://model_server{HEALTH_PATH};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }}
        location @unhealthy {{
            return 503 '{{"status":"unavailable"}}';
        }}

{routes}

        location / {{
            return 404 '{{"error":"not found"}}';
        }}
    }}

    # The collector's listener: plain HTTP on the pod network, never published by the Service,
    # admitted only from the collector by a NetworkPolicy; two paths, nothing else.
    server {{
        listen {metrics_listen};
        server_name _;
        location = {METRICS_PATH} {{
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://model_server{METRICS_PATH};
        }}
        location = {EDGE_METRICS_PATH} {{
            js_content edge.metrics;
        }}
        location / {{
            return 404 '{{"error":"not found"}}';
        }}
    }}
}}
"""


def _keyed_route(route: str) -> str:
    # Exact match, and the canonical path upstream: what the server sees is what was allowed.
    return f"""        location = {route} {{
            if ($edge_key_ok != "1") {{
                add_header WWW-Authenticate 'Bearer realm="inference"' always;
                return 401 '{{"error":"a valid API key is required (Authorization: Bearer <key>)"}}';
            }}
            proxy_pass http://model_server{route}$is_args$args;
        }}"""


def proxy_command(
    config: EdgeProxyConfig,
    config_file: str = f"{CONFIG_DIR}/nginx.conf",
    reload_check_seconds: int = CERT_RELOAD_SECONDS,
) -> str:
    """Shell the proxy container runs: NGINX in the foreground, reloaded when the certificate
    files change (cert-manager renews into the mounted Secret; NGINX reads certificates only at
    start and reload). TERM drains gracefully (QUIT)."""
    conf = shlex.quote(config_file)
    files = f"{shlex.quote(config.cert_file)} {shlex.quote(config.key_file)}"
    return f"""set -eu
mkdir -p {shlex.quote(config.runtime_dir)} {shlex.quote(config.counters_dir)}
nginx -e stderr -c {conf} -g 'daemon off;' &
pid=$!
trap 'kill -QUIT "$pid"; wait "$pid"; exit 0' TERM INT
last="$(cat {files} | cksum)"
while kill -0 "$pid" 2>/dev/null; do
  sleep {reload_check_seconds} &
  wait $! || true
  now="$(cat {files} | cksum)"
  if [ "$now" != "$last" ]; then
    echo "edge: certificate changed, reloading" >&2
    nginx -e stderr -c {conf} -s reload && last="$now"
  fi
done
wait "$pid"
"""


# ---------------------------------------------------------------------------------------------
# The pod side: the objects and container the workload adds for the edge.

EDGE_CONFIG_NAME: Final = "inference-edge"
"""ConfigMap with nginx.conf and the njs script (no secret in either)."""
EDGE_KEYS_NAME: Final = "inference-edge-api-keys"
"""Secret with the key digests."""
TLS_SECRET_NAME: Final = "inference-tls"
"""acme and internal-ca: the Secret cert-manager writes the certificate into."""
PROVIDED_TLS_DIR: Final = "/run/secrets/edge-tls-provided"
"""provided: where the init container writes the PEM chain and key from the vault."""


def pod_config(server_name: str, upstream_port: int, tls_source: str) -> EdgeProxyConfig:
    """The proxy's config as the pod runs it; only the certificate's location depends on the source."""
    tls_dir = PROVIDED_TLS_DIR if tls_source == "provided" else TLS_DIR
    return EdgeProxyConfig(
        server_name=server_name,
        upstream_port=upstream_port,
        cert_file=f"{tls_dir}/tls.crt",
        key_file=f"{tls_dir}/tls.key",
    )


def config_files(config: EdgeProxyConfig) -> dict[str, str]:
    return {"nginx.conf": render_nginx_config(config), "edge_auth.js": render_auth_script(config)}


def config_digest(config: EdgeProxyConfig) -> str:
    """Goes into a pod annotation, so a change of the proxy config rolls the pods."""
    files = config_files(config)
    return hashlib.sha256("".join(f"{k}\n{files[k]}" for k in sorted(files)).encode()).hexdigest()
