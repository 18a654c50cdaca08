"""A fast OpenAI-compatible fake model server, run as its own process, that degrades on cue.

    python -m tests.fake_openai --port 0 --model llama-3.1-8b-instruct [--latency-ms 5]

Prints `listening <host> <port>` once ready. Answers `/health`, `/v1/models` and
`/v1/chat/completions` (streaming SSE with a final usage chunk, or one JSON body) with a
deterministic reply derived from the last user message, so two fakes agree unless told not to.
`POST /_control` with a JSON object changes behaviour at run time (what tests use to degrade
a side mid-shift): `latency_ms` (before the first token), `error_rate` (0-1, answered 500),
`healthy` (false: /health answers 503), `variant` (a word appended to every reply: drift).
`GET /_stats` counts requests, errors and the TLS server names (SNI) clients asked for.

asyncio streams with keep-alive, so one process serves thousands of requests a second; the
compare benchmark measures the client, not this server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import ssl
import sys
import time
from typing import Any

STATE: dict[str, Any] = {"latency_ms": 0.0, "error_rate": 0.0, "healthy": True, "variant": "", "model": ""}
STATS: dict[str, Any] = {"requests": 0, "errors": 0, "sni": []}


def reply_for(messages: list[dict[str, Any]]) -> list[str]:
    last = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    words = str(last).split()[:12] or ["nothing"]
    pieces = ["You", "asked", "about", *words, "."]
    if STATE["variant"]:
        pieces.append(str(STATE["variant"]))
    return [p if i == 0 else f" {p}" for i, p in enumerate(pieces)]


def _response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}
    head = (
        f"HTTP/1.1 {status} {reason.get(status, 'OK')}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def _completion(writer: asyncio.StreamWriter, body: dict[str, Any]) -> None:
    STATS["requests"] += 1
    if STATE["latency_ms"]:
        await asyncio.sleep(float(STATE["latency_ms"]) / 1000)
    if STATE["error_rate"] and random.random() < float(STATE["error_rate"]):
        STATS["errors"] += 1
        writer.write(_response(500, b'{"error": {"message": "injected failure", "type": "server_error"}}'))
        return
    pieces = reply_for(body.get("messages") or [])
    ident, created, model = "chatcmpl-fake", int(time.time()), body.get("model") or STATE["model"]
    usage = {"prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 10 + len(pieces)}
    if not body.get("stream"):
        message = {"role": "assistant", "content": "".join(pieces)}
        payload = {
            "id": ident,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": usage,
        }
        writer.write(_response(200, json.dumps(payload).encode()))
        return
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    events = []
    for piece in pieces:
        chunk = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
        }
        events.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    last = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model, "choices": []}
    events.append(b"data: " + json.dumps({**last, "usage": usage}).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    writer.write(head.encode() + b"".join(_chunk(e) for e in events) + b"0\r\n\r\n")


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
    """(method, path, body) of the next request on the connection; None when the client closed it."""
    request_line = await reader.readline()
    if not request_line:
        return None
    method, path, _ = request_line.decode("latin-1").split(" ", 2)
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return method, path, await reader.readexactly(length) if length else b""


async def _answer(writer: asyncio.StreamWriter, method: str, path: str, raw: bytes) -> None:
    if path == "/health":
        ok = bool(STATE["healthy"])
        writer.write(_response(200 if ok else 503, b"" if ok else b"unhealthy"))
    elif path == "/v1/models":
        data = [{"id": STATE["model"], "object": "model", "owned_by": "vllm"}]
        writer.write(_response(200, json.dumps({"object": "list", "data": data}).encode()))
    elif path == "/v1/chat/completions" and method == "POST":
        await _completion(writer, json.loads(raw or b"{}"))
    elif path == "/_control" and method == "POST":
        STATE.update(json.loads(raw or b"{}"))
        writer.write(_response(200, json.dumps({**STATE, **STATS}).encode()))
    elif path == "/_stats":
        writer.write(_response(200, json.dumps(STATS).encode()))
    else:
        writer.write(_response(404, b'{"detail": "Not Found"}'))


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while (request := await _read_request(reader)) is not None:
            await _answer(writer, *request)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        return
    finally:
        writer.close()


def _tls(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def remember(_sock: Any, server_name: str | None, _ctx: Any) -> None:
        if server_name not in STATS["sni"]:
            STATS["sni"].append(server_name)

    context.sni_callback = remember
    return context


async def _serve(host: str, port: int, tls: ssl.SSLContext | None) -> None:
    server = await asyncio.start_server(_handle, host, port, backlog=1024, ssl=tls)
    bound = server.sockets[0].getsockname()
    print(f"listening {bound[0]} {bound[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_openai")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model", default="llama-3.1-8b-instruct")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--variant", default="")
    parser.add_argument("--tls-cert", help="PEM certificate: serve HTTPS (records the SNI names asked for)")
    parser.add_argument("--tls-key", help="PEM key of --tls-cert")
    args = parser.parse_args(argv)
    if not args.host.startswith("127."):
        sys.exit("tests.fake_openai listens on loopback only")
    STATE.update(model=args.model, latency_ms=args.latency_ms, variant=args.variant)
    with contextlib.suppress(KeyboardInterrupt):
        tls = _tls(args.tls_cert, args.tls_key) if args.tls_cert else None
        asyncio.run(_serve(args.host, args.port, tls))


if __name__ == "__main__":
    main()
