"""Test sides for the cutover CLI: real HTTP model servers and stacks whose `up` publishes real DNS.

`ModelServer` is a stdlib HTTPS server in a thread on its own loopback address (127.0.0.2,
127.0.0.3, ...) with a test CA's certificate for the service name (like the edge in the pod),
answering `/health` and `/v1/models` like vLLM's OpenAI server; it can turn unhealthy or start
serving another model at any time. The CLI verifies it with `--ca-bundle`.

`SimulatedStacks` is the test `StackOps`: config starts as the shipped `Pulumi.<stack>.yaml`
files say, `set_config`/`remove_config`/`up` are recorded (to count them), and `up(stack)` does
what the DNS component does for that stack at the authority: it republishes the service record
on the real PowerDNS from the *applied* config of both stacks (weighted: each side's endpoint by
its trafficWeight; failover: the primary). So the cutover's verification reads real answers from a
real DNS server. `crash_at` injects a crash (a BaseException, as a kill would) before the Nth call.
"""

from __future__ import annotations

import hmac
import json
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dns.resolver
import pytest
import yaml

from cutover import cli
from cutover.stack_ops import PROJECT, ApplySummary
from tests.dns_server import PowerDns
from tests.edge_support import make_pki

ROOT = Path(__file__).resolve().parents[2]
MODEL = "llama-3.1-8b-instruct"


class ModelServer:
    """An OpenAI-compatible model server stand-in on `host` (a loopback address)."""

    def __init__(
        self,
        host: str,
        model: str = MODEL,
        api_key: str | None = None,
        tls: tuple[Path, Path] | None = None,
        port: int = 0,
    ) -> None:
        """`tls`: (certificate, key) PEM files to serve HTTPS with; None serves plain HTTP.
        `port`: 0 picks a free one; a PowerDNS record probes every side on one port."""
        self.host = host
        self.scheme = "https" if tls else "http"
        self.model = model
        self.api_key = api_key
        self.api_keys: set[str] = set()
        """Keys accepted on /v1/* (the edge proxy honours apiKey and apiKeyNext); empty: api_key."""
        self.healthy = True
        self.requests: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests[self.path] += 1
                if self.path == "/health":
                    # What the edge answers (components/inference_cluster/edge_proxy.py).
                    body = b'{"status":"ok"}' if server.healthy else b'{"status":"unavailable"}'
                    self._send(200 if server.healthy else 503, body)
                elif self.path == "/v1/models":
                    allowed = server.api_keys or ({server.api_key} if server.api_key else set())
                    given = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    if allowed and not any(hmac.compare_digest(given, key) for key in allowed):
                        self._send(401, b'{"error": "Unauthorized"}')
                        return
                    if not server.healthy:
                        self._send(503, b'{"error": "engine dead"}')
                        return
                    body = {
                        "object": "list",
                        "data": [
                            {
                                "id": server.model,
                                "object": "model",
                                "created": 1730000000,
                                "owned_by": "vllm",
                                "root": f"/models/{server.model}",
                                "parent": None,
                                "max_model_len": 8192,
                            }
                        ],
                    }
                    self._send(200, json.dumps(body).encode())
                else:
                    self._send(404, b'{"detail": "Not Found"}')

            def do_POST(self) -> None:
                # The canary's streamed chat completions (cutover.canary), like vLLM answers them.
                server.requests[self.path] += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v1/chat/completions":
                    self._send(404, b'{"detail": "Not Found"}')
                    return
                if not server.healthy:
                    self._send(503, b'{"error": "engine dead"}')
                    return
                chunk = {"object": "chat.completion.chunk", "model": server.model}
                events = [
                    {**chunk, "choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": None}]},
                    {**chunk, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 1}},
                ]
                body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
                self._send(200, body + b"data: [DONE]\n\n")

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"model-{host}",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class InjectedCrash(BaseException):
    """Stands for a kill -9 / lost session: not an Exception, so no handler of ours catches it."""


def shipped_config(stack: str) -> dict[str, str]:
    """The un-namespaced, non-secret config of the shipped Pulumi.<stack>.yaml."""
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    result: dict[str, str] = {}
    for key, value in (doc.get("config") or {}).items():
        if isinstance(value, dict):
            continue
        result[key.removeprefix(f"{PROJECT}:")] = value if isinstance(value, str) else json.dumps(value)
    return result


@dataclass
class SimulatedStacks:
    """A StackOps over two in-memory stacks; `up` publishes the service record on PowerDNS."""

    dns: PowerDns
    fqdn: str
    servers: dict[str, ModelServer]
    """stack name -> its model server."""
    config: dict[str, dict[str, str]] = field(default_factory=dict)
    applied: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    ups: Counter[str] = field(default_factory=Counter)
    crash_at: int | None = None
    """Raise InjectedCrash instead of performing the call with this index (0-based) in `calls`."""
    extra_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    on_up: Callable[[str], None] | None = None
    authority: Callable[[SimulatedStacks, str], None] | None = None
    """Replaces `publish` after each `up(stack)` (and once at the start, as the first deploys):
    e.g. the PowerDNS authority, where only the standby's apply writes the record."""
    secret_keys: dict[str, set[str]] = field(default_factory=dict)
    """stack -> keys set with set_secret_config (Pulumi would store them encrypted)."""

    def __post_init__(self) -> None:
        for stack in self.servers:
            self.config.setdefault(stack, shipped_config(stack))
            self.applied[stack] = dict(self.config[stack])
        if self.authority is not None:
            for stack in self.servers:
                self.authority(self, stack)
        else:
            self.publish()

    @property
    def read_only(self) -> bool:
        return False

    def _record(self, *call: str) -> None:
        if self.crash_at is not None and len(self.calls) == self.crash_at:
            self.crash_at = None
            raise InjectedCrash(f"crash injected before {call}")
        self.calls.append(call)

    def outputs(self, stack: str) -> dict[str, Any]:
        server = self.servers[stack]
        return {
            "cloud": self.config[stack].get("cloud"),
            "role": self.config[stack].get("role"),
            "endpointHost": server.host,
            "endpointUrl": server.url,
            "serviceFqdn": self.fqdn,
            **self.extra_outputs.get(stack, {}),
        }

    def get_config(self, stack: str, key: str) -> str | None:
        return self.config[stack].get(key)

    def set_config(self, stack: str, key: str, value: str) -> None:
        self._record("set", stack, key, value)
        self.config[stack][key] = value

    def set_secret_config(self, stack: str, key: str, value: str) -> None:
        self._record("set-secret", stack, key, "[secret]")
        self.config[stack][key] = value
        self.secret_keys.setdefault(stack, set()).add(key)

    def remove_config(self, stack: str, key: str) -> None:
        self._record("rm", stack, key)
        self.config[stack].pop(key, None)

    def up(self, stack: str) -> ApplySummary:
        self._record("up", stack)
        changed = sum(
            1
            for k in set(self.config[stack]) | set(self.applied[stack])
            if self.config[stack].get(k) != self.applied[stack].get(k)
        )
        self.applied[stack] = dict(self.config[stack])
        self.ups[stack] += 1
        if self.authority is not None:
            self.authority(self, stack)
        else:
            self.publish()
        if self.on_up is not None:
            self.on_up(stack)
        return ApplySummary(stack, "succeeded", {"update": changed} if changed else {"same": 1}, 0.01)

    # --- the DNS authority ---------------------------------------------------------------------

    def weight_of(self, stack: str) -> int:
        """What the stack's applied record weighs, with Pulumi.yaml's documented defaults."""
        applied = self.applied[stack]
        role = applied.get("role", "primary")
        if applied.get("dnsRouting", "failover") != "weighted":
            return 100 if role == "primary" else 0
        return int(applied.get("trafficWeight", "100" if role == "primary" else "0"))

    def publish(self) -> None:
        self.dns.set_weighted(self.fqdn, {self.servers[s].host: self.weight_of(s) for s in self.servers})


@dataclass
class Sides:
    """Two model servers, a zone on PowerDNS and the simulated stacks over them."""

    dns: PowerDns
    primary: ModelServer
    standby: ModelServer
    stacks: SimulatedStacks

    ca_bundle: Path

    def argv(self, *command: str, journal: Path, **timing: float) -> list[str]:
        """CLI arguments with fast timings (verification retries for 3 s, no soak) and a reason."""
        return [
            "--ca-bundle",
            str(self.ca_bundle),
            "--reason",
            "test run",
            "--workdir",
            str(ROOT),
            "--dns-server",
            self.dns.address,
            "--journal",
            str(journal),
            "--verify-timeout-seconds",
            str(timing.get("verify_timeout_seconds", 3.0)),
            "--poll-interval-seconds",
            "0.05",
            "--dns-samples",
            "4",
            *command,
        ]


_next_host = iter(range(2, 250))


@pytest.fixture
def sides(powerdns: PowerDns, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sides]:
    """Fresh HTTPS model servers on fresh loopback addresses with a test CA's certificate for the
    service name, a fresh zone, the shipped stack config."""
    zone = powerdns.new_zone()
    fqdn = f"api.{zone}"
    directory = tmp_path_factory.mktemp("edge-tls")
    # Also for the shipped stack files' name, which tests using real program outputs probe.
    pki = make_pki(directory, fqdn, "api.example.com")
    (directory / "tls.crt").write_bytes(pki.cert_pem)
    (directory / "tls.key").write_bytes(pki.key_pem)
    tls = (directory / "tls.crt", directory / "tls.key")
    primary = ModelServer(f"127.0.0.{next(_next_host)}", tls=tls)
    standby = ModelServer(f"127.0.0.{next(_next_host)}", tls=tls)
    stacks = SimulatedStacks(powerdns, fqdn, {"primary": primary, "standby": standby})
    try:
        yield Sides(powerdns, primary, standby, stacks, pki.ca_file)
    finally:
        primary.stop()
        standby.stop()


def run(sides: Sides, journal: Path, *command: str, **timing: float) -> int:
    """Run the `failover` CLI against the simulated stacks; returns the exit code."""
    return cli.run(sides.argv(*command, journal=journal, **timing), ops=sides.stacks)


def answers(sides: Sides, samples: int = 12) -> set[str]:
    """Every address PowerDNS answers for the service name over `samples` queries."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = sides.dns.dns_port
    found: set[str] = set()
    for _ in range(samples):
        found.update(r.address for r in resolver.resolve(sides.stacks.fqdn, "A"))
    return found
