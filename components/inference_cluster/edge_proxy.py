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
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
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


_TEMPLATE_DIR: Final = "edge_templates"
_TEMPLATE_COMMENT: Final = re.compile(r"^[ \t]*\{#.*#\}[ \t]*\n", re.MULTILINE)
_PLACEHOLDER: Final = re.compile(r"\{\{ (\w+) \}\}")


def _template(name: str) -> str:
    """A template next to this module (packaged: pyproject's package-data), its `{# #}` lines dropped."""
    text = (
        resources.files(__name__.rpartition(".")[0]).joinpath(_TEMPLATE_DIR, name).read_text(encoding="utf-8")
    )
    return _TEMPLATE_COMMENT.sub("", text)


def _fill(template: str, **values: object) -> str:
    """Each `{{ name }}` replaced by its value, in one pass; a placeholder without a value (or a value
    without a placeholder) is a bug here, not an input problem, so it fails loudly."""
    wanted = set(_PLACEHOLDER.findall(template))
    if wanted != set(values):
        raise RuntimeError(
            f"edge template placeholders {sorted(wanted)} do not match the values {sorted(values)}"
        )
    return _PLACEHOLDER.sub(lambda match: str(values[match[1]]), template)


_NGINX_TEMPLATE: Final = _template("nginx.conf")
_AUTH_TEMPLATE: Final = _template("edge_auth.js")


def render_auth_script(config: EdgeProxyConfig) -> str:
    """njs module: `keyOk` is '1' when the bearer key's SHA-256 equals a configured digest; `count`
    and `metrics` keep and serve the request counts (edge_templates/edge_auth.js)."""
    return _fill(
        _AUTH_TEMPLATE,
        digests_file=json.dumps(config.key_digests_file),
        counters_dir=json.dumps(config.counters_dir),
        routes=json.dumps([HEALTH_PATH, *OPENAI_ROUTES]),
    )


def render_nginx_config(config: EdgeProxyConfig) -> str:
    """nginx.conf of the edge (edge_templates/nginx.conf): one TLS server, /health open, OpenAI
    routes keyed, the rest 404; and the collector's plain-HTTP metrics listener."""
    # `access_log off` cancels every access_log of its level, so the counting line (njs in the
    # log phase; the line itself goes to /dev/null) stands alone when the access log is off.
    access_log = "" if config.access_log == "off" else f"access_log {config.access_log} edge;\n        "
    return _fill(
        _NGINX_TEMPLATE,
        njs_module=config.njs_module,
        worker_processes=config.worker_processes,
        runtime_dir=config.runtime_dir,
        script_file=config.script_file,
        upstream_port=config.upstream_port,
        listen=_listen(config.listen_address, config.listen_port),
        server_name=config.server_name,
        access_log=access_log,
        cert_file=config.cert_file,
        key_file=config.key_file,
        ciphers=_CIPHERS,
        health_path=HEALTH_PATH,
        routes="\n".join(_keyed_route(route) for route in OPENAI_ROUTES),
        metrics_listen=_listen(config.metrics_address, config.metrics_port),
        metrics_path=METRICS_PATH,
        edge_metrics_path=EDGE_METRICS_PATH,
    )


def _listen(address: str | None, port: int) -> str:
    return f"{address}:{port}" if address else str(port)


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
