"""`failover compare`: the same prompts to both sides, measured the same way, before any shift.

Each side is reached at its own address (`endpointUrl`), never through the service's DNS answer,
while the request carries the service name: as the Host header and, over HTTPS, as the TLS
server name (SNI) the certificate is verified against (system CAs or `--ca-bundle`). So each side
is measured exactly as clients would reach it once DNS points there.

Per side: latency and time-to-first-token percentiles (streamed chat completions), error rate,
output tokens per second, and cost per 1M output tokens (measured throughput x the stack's
hourly price from `infra.cost`). Between the sides: how often the outputs agree exactly, and
their token-overlap similarity (temperature 0), a first signal of quality drift.
"""

from __future__ import annotations

import asyncio
import json
import math
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cutover.errors import PrecheckFailed, UsageError
from cutover.probes import API_KEY_ENV

DEFAULT_PROMPTS = Path(__file__).resolve().parent / "prompts" / "compare.jsonl"
PROMPT_EXAMPLE = '{"messages": [{"role": "user", "content": "Say hello."}]}'

Messages = list[dict[str, str]]
T = TypeVar("T")


def load_prompts(path: Path) -> list[Messages]:
    """JSONL of {"messages": [{"role", "content"}, ...]}; a UsageError names the line and the fix."""
    fix = f"write one JSON object per line, e.g. {PROMPT_EXAMPLE}"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--prompts {path} cannot be read: {exc}", fix) from None
    prompts: list[Messages] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--prompts {path} line {number} is not JSON ({exc.msg})", fix) from None
        messages = item.get("messages") if isinstance(item, dict) else None
        if not (
            isinstance(messages, list)
            and messages
            and all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in messages
            )
        ):
            shown = line if len(line) <= 80 else line[:77] + "..."
            raise UsageError(
                f'--prompts {path} line {number} must be {{"messages": [{{"role": ..., "content": ...}}]}} '
                f"(got {shown})",
                fix,
            )
        prompts.append([{"role": m["role"], "content": m["content"]} for m in messages])
    if not prompts:
        raise UsageError(f"--prompts {path} holds no prompts", fix)
    return prompts


@dataclass(frozen=True)
class Target:
    """Where one side is reached and under which name."""

    side: str
    url: str
    """The side's own address (endpointUrl), e.g. https://203.0.113.7:443."""
    server_name: str | None
    """The service name sent as Host and TLS SNI; None keeps the address's own name."""
    model: str
    hourly_usd: float | None = None
    hourly_note: str = ""
    monthly_usd: float | None = None
    """The side's monthly cost at its current capacity (infra.cost), next to its hourly price."""
    stack: str = ""
    cloud: str = ""
    """The stack and the cloud it runs on (aws, gcp, azure, onprem), to read the sides side by side."""


@dataclass
class Sample:
    ok: bool
    latency_s: float
    ttft_s: float | None = None
    output_tokens: int = 0
    text: str = ""
    error: str = ""


@dataclass
class SideResult:
    target: Target
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0

    def _percentile(self, values: Sequence[float], q: float) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000, 2)

    def summary(self) -> dict[str, Any]:
        ok = [s for s in self.samples if s.ok]
        tokens = sum(s.output_tokens for s in ok)
        tps = tokens / self.wall_s if self.wall_s > 0 else 0.0
        ttfts = [s.ttft_s for s in ok if s.ttft_s is not None]
        cost = None
        if self.target.hourly_usd is not None and tps > 0:
            cost = round(self.target.hourly_usd / (tps * 3600) * 1_000_000, 4)
        errors = Counter(s.error for s in self.samples if not s.ok)
        return {
            "stack": self.target.stack,
            "cloud": self.target.cloud,
            "url": self.target.url,
            "server_name": self.target.server_name,
            "requests": len(self.samples),
            "errors": len(self.samples) - len(ok),
            "error_rate_percent": round(100 * (len(self.samples) - len(ok)) / max(len(self.samples), 1), 2),
            "latency_p50_ms": self._percentile([s.latency_s for s in ok], 0.50),
            "latency_p95_ms": self._percentile([s.latency_s for s in ok], 0.95),
            "ttft_p50_ms": self._percentile(ttfts, 0.50),
            "ttft_p95_ms": self._percentile(ttfts, 0.95),
            "output_tokens": tokens,
            "output_tokens_per_second": round(tps, 2),
            "hourly_usd": self.target.hourly_usd,
            "monthly_usd": self.target.monthly_usd,
            "cost_per_1m_output_tokens_usd": cost,
            "cost_note": self.target.hourly_note,
            "top_errors": dict(errors.most_common(3)),
        }


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """System CAs, or only `ca_bundle` (a private CA in tests and staging)."""
    if ca_bundle is None:
        return ssl.create_default_context()
    if not ca_bundle.is_file():
        raise UsageError(
            f"--ca-bundle {ca_bundle} is not a file", "pass a PEM file of the CA certificates to trust"
        )
    return ssl.create_default_context(cafile=str(ca_bundle))


class _Connection:
    """One keep-alive HTTP/1.1 connection to a side's address (TLS with the service name as SNI).

    A deliberately small client: compare must add well under 2 ms per request at 64 streams so
    its numbers describe the server, and a general-purpose client spends more than that.
    """

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None, server_name: str | None) -> None:
        self.host, self.port, self.tls, self.server_name = host, port, tls, server_name
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing():
            sni = (self.server_name or self.host) if self.tls is not None else None
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.tls, server_hostname=sni, limit=1 << 20
            )
        return self.reader, self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class _StaleConnectionError(ConnectionError):
    """A kept-alive connection the server had closed: nothing was answered, send again."""


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status_line = await reader.readline()
    if not status_line:
        raise _StaleConnectionError("connection closed before a response")
    version, status, _ = status_line.split(b" ", 2)
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if version == b"HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive":
        headers["connection"] = "close"
    return int(status), headers


async def _body_chunks(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> AsyncIterator[bytes]:
    """The body as it arrives: chunked transfer encoding, Content-Length, or until close."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size = int((await reader.readline()).split(b";", 1)[0], 16)
            if size == 0:
                await reader.readline()
                return
            data = await reader.readexactly(size)
            await reader.readexactly(2)
            yield data
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if length:
            yield await reader.readexactly(length)
    else:
        yield await reader.read()


def _sse_events(buffer: bytearray, data: bytes) -> list[bytes]:
    """Complete `data:` payloads in `buffer` + `data`; the unfinished tail stays in `buffer`."""
    buffer += data
    *lines, tail = bytes(buffer).split(b"\n")
    buffer[:] = tail
    return [line[6:].rstrip(b"\r") for line in lines if line.startswith(b"data: ")]


async def _exchange(conn: _Connection, request: bytes) -> Sample:
    started = time.perf_counter()
    reader, status, headers = await _send(conn, request)
    first, pieces, usage_tokens = await _read_stream(reader, headers, status, started)
    if headers.get("connection", "").lower() == "close":
        conn.close()
    if status != 200:
        return Sample(False, time.perf_counter() - started, error=f"HTTP {status}")
    tokens = usage_tokens if usage_tokens is not None else len(pieces)
    return Sample(True, time.perf_counter() - started, first, tokens, "".join(pieces))


async def _send(conn: _Connection, request: bytes) -> tuple[asyncio.StreamReader, int, dict[str, str]]:
    """Write `request` and read the response head: (reader, status, headers)."""
    reused = conn.writer is not None
    reader, writer = await conn.open()
    writer.write(request)
    try:
        status, headers = await _read_head(reader)
    except (_StaleConnectionError, ConnectionResetError):
        if not reused:
            raise
        conn.close()  # the server closed it while idle; one fresh connection, as browsers do
        reader, writer = await conn.open()
        writer.write(request)
        status, headers = await _read_head(reader)
    return reader, status, headers


async def _read_stream(
    reader: asyncio.StreamReader, headers: Mapping[str, str], status: int, started: float
) -> tuple[float | None, list[str], int | None]:
    """(seconds to the first token, the text pieces, completion tokens from `usage`) of an event
    stream; the body of a response that is not 200 is read and dropped (the connection stays usable)."""
    first: float | None = None
    pieces: list[str] = []
    usage_tokens: int | None = None
    buffer = bytearray()
    async for data in _body_chunks(reader, headers):
        if status != 200:
            continue
        for payload in _sse_events(buffer, data):
            if payload == b"[DONE]":
                continue
            event = json.loads(payload)
            for content in _contents(event):
                if first is None:
                    first = time.perf_counter() - started
                pieces.append(content)
            if event.get("usage"):
                usage_tokens = int(event["usage"].get("completion_tokens") or 0)
    return first, pieces, usage_tokens


def _contents(event: Mapping[str, Any]) -> list[str]:
    """The non-empty text deltas of one streamed chat-completion chunk."""
    deltas = ((choice.get("delta") or {}).get("content") for choice in event.get("choices") or ())
    return [content for content in deltas if content]


def _request_bytes(target: Target, path: str, body: bytes | None, api_key: str | None) -> bytes:
    """The request dialled at the side's address but naming the service (Host header).
    With a body: POST of JSON asking for an event stream; without: GET."""
    parts = urlsplit(target.url)
    default = 443 if parts.scheme == "https" else 80
    name = target.server_name or parts.hostname or ""
    host = name if parts.port in (None, default) else f"{name}:{parts.port}"
    auth = f"Authorization: Bearer {api_key}\r\n" if api_key else ""
    line = f"{'GET' if body is None else 'POST'} {parts.path.rstrip('/')}{path} HTTP/1.1\r\nHost: {host}\r\n"
    if body is None:
        return f"{line}{auth}\r\n".encode()
    head = (
        f"{line}{auth}Content-Type: application/json\r\nAccept: text/event-stream\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _get(conn: _Connection, request: bytes) -> tuple[int, bytes]:
    reader, writer = await conn.open()
    writer.write(request)
    status, headers = await _read_head(reader)
    body = b"".join([chunk async for chunk in _body_chunks(reader, headers)])
    if headers.get("connection", "").lower() == "close":
        conn.close()
    return status, body


async def probe_target(
    target: Target,
    *,
    tls: ssl.SSLContext | None = None,
    api_key: str | None = None,
    timeout_seconds: float = 10,
) -> tuple[bool, str]:
    """/health and /v1/models the way compare's prompts travel: the side's address, the service
    name as Host and SNI, the same certificate check. (ok, what was found)."""
    parts = urlsplit(target.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    context = (tls or ssl.create_default_context()) if parts.scheme == "https" else None
    conn = _Connection(parts.hostname or "", port, context, target.server_name)
    try:
        status, _ = await asyncio.wait_for(
            _get(conn, _request_bytes(target, "/health", None, api_key)), timeout_seconds
        )
        if status != 200:
            return False, f"GET /health answered {status}, expected 200"
        request = _request_bytes(target, "/v1/models", None, api_key)
        status, body = await asyncio.wait_for(_get(conn, request), timeout_seconds)
        if status == 401:
            return False, f"GET /v1/models answered 401: set {API_KEY_ENV} to the server's API key"
        if status != 200:
            return False, f"GET /v1/models answered {status}, expected 200"
        models = [str(m.get("id")) for m in json.loads(body).get("data") or [] if isinstance(m, dict)]
        if target.model not in models:
            return False, f"/v1/models lists {', '.join(models) or 'nothing'}, not {target.model}"
        return True, f"healthy, serving {target.model}"
    except (OSError, EOFError, ValueError, TimeoutError, AttributeError) as exc:
        return False, f"GET /health failed: {_error_name(exc)}"
    finally:
        conn.close()


def _chat_body(target: Target, messages: Messages, max_tokens: int) -> bytes:
    return json.dumps(
        {
            "model": target.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()


async def run_side(
    target: Target,
    prompts: Sequence[Messages],
    requests: int,
    concurrency: int,
    *,
    api_key: str | None = None,
    tls: ssl.SSLContext | None = None,
    max_tokens: int = 128,
    timeout_seconds: float = 60.0,
) -> SideResult:
    """Send `requests` streamed chat completions (prompt k % len) with `concurrency` in flight."""
    parts = urlsplit(target.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"{target.side} endpoint {target.url!r} is not an http(s) URL",
            "check the stack's endpointUrl output",
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    context = (tls or ssl.create_default_context()) if parts.scheme == "https" else None
    wire = [
        _request_bytes(target, "/v1/chat/completions", _chat_body(target, p, max_tokens), api_key)
        for p in prompts
    ]
    result = SideResult(target, [Sample(False, 0.0)] * requests)
    counter = iter(range(requests))

    async def worker() -> None:
        conn = _Connection(parts.hostname or "", port, context, target.server_name)
        for index in counter:
            started = time.perf_counter()
            try:
                sample = await asyncio.wait_for(_exchange(conn, wire[index % len(wire)]), timeout_seconds)
            except (OSError, EOFError, ValueError, TimeoutError) as exc:
                conn.close()
                sample = Sample(False, time.perf_counter() - started, error=_error_name(exc))
            result.samples[index] = sample
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, requests))))
    result.wall_s = time.perf_counter() - started
    return result


def _error_name(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: {exc.verify_message}"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on a private event loop, leaving the thread's current loop alone.

    `asyncio.run` unsets the thread's loop when it finishes, which breaks code in the same
    process that still calls `asyncio.get_event_loop()` (the Pulumi SDK does).
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def token_overlap(a: str, b: str) -> float:
    """F1 of the two outputs' whitespace tokens (multiset overlap): 1.0 identical, 0.0 disjoint."""
    ta, tb = Counter(a.split()), Counter(b.split())
    if not ta and not tb:
        return 1.0
    common = sum((ta & tb).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(tb.values()), common / sum(ta.values())
    return 2 * precision * recall / (precision + recall)


def agreement(a: SideResult, b: SideResult, prompts: int) -> dict[str, Any]:
    """Compare the first successful output per prompt of each side."""

    def firsts(result: SideResult) -> dict[int, str]:
        out: dict[int, str] = {}
        for index, sample in enumerate(result.samples):
            if sample.ok:
                out.setdefault(index % prompts, sample.text)
        return out

    fa, fb = firsts(a), firsts(b)
    both = sorted(set(fa) & set(fb))
    if not both:
        return {"compared_prompts": 0, "exact_match_rate": None, "token_overlap_mean": None}
    exact = sum(fa[i] == fb[i] for i in both) / len(both)
    overlap = sum(token_overlap(fa[i], fb[i]) for i in both) / len(both)
    return {
        "compared_prompts": len(both),
        "exact_match_rate": round(exact, 4),
        "token_overlap_mean": round(overlap, 4),
    }


def require_targets(
    sides: Mapping[Any, Any], probe: Callable[[str, Any], tuple[bool, str]], force: bool
) -> None:
    """Every side has outputs; every side passes its health check (`probe(name, info)`) unless `force`."""
    for name, info in sides.items():
        if not info.endpoint_url:
            raise UsageError(
                f"stack '{info.stack}' ({name}) has no endpointUrl output: compare needs a deployed stack",
                f"run `pulumi up -s {info.stack}`, or pass --{name}-outputs FILE "
                f"(from `pulumi stack output --json --show-secrets -s {info.stack}`)",
            )
    failed = []
    for name, info in sides.items():
        ok, summary = probe(name, info)
        if not ok:
            failed.append(f"{name} ({info.endpoint_url}): {summary}")
    if failed and not force:
        raise PrecheckFailed(
            "compare refuses to run against an unhealthy side: " + "; ".join(failed),
            "fix the side (see `failover status`), or pass --force to measure it anyway",
        )


def compare(
    targets: Sequence[Target],
    prompts: Sequence[Messages],
    requests: int,
    concurrency: int,
    **options: Any,
) -> dict[str, Any]:
    """Run each side in turn (so they do not compete for this client) and compare them."""
    if requests < 1:
        raise UsageError(f"--requests must be at least 1 (got {requests})", "pass e.g. --requests 50")
    if concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1 (got {concurrency})", "pass e.g. --concurrency 8")
    results = [run_async(run_side(t, prompts, requests, concurrency, **options)) for t in targets]
    report: dict[str, Any] = {
        "requests_per_side": requests,
        "concurrency": concurrency,
        "prompts": len(prompts),
        "sides": {r.target.side: r.summary() for r in results},
    }
    if len(results) == 2:
        report["agreement"] = agreement(results[0], results[1], len(prompts))
    return report


__all__ = [
    "DEFAULT_PROMPTS",
    "Target",
    "agreement",
    "compare",
    "load_prompts",
    "probe_target",
    "require_targets",
    "run_async",
    "run_side",
    "tls_context",
    "token_overlap",
]
