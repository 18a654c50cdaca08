"""Benchmark (not a test): latency the edge proxy adds in front of the model server.

Starts a fast fake OpenAI server (asyncio, keep-alive, fixed JSON answer) on 127.0.0.1, the real
nginx with exactly the rendered edge config in front of it (TLS, key check by njs), and runs
`wrk` (Debian package) at 32 concurrent connections against both: directly (plain HTTP, no key)
and through the edge (HTTPS, bearer key, /v1/chat/completions). Prints p50/p90/p99 of each and
the difference.

    .venv/bin/python tools/bench_edge_proxy.py [--seconds 20] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.edge_support import make_pki, running_edge

KEY = "sk-bench-0123456789abcdef0123456789abcdef"
BODY = (
    b'{"id":"cmpl-1","object":"chat.completion",'
    b'"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}]}'
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)
POST = '{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":1}'


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length:\s*(\d+)", head)
            if match:
                await reader.readexactly(int(match.group(1)))
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@contextmanager
def fake_server() -> Iterator[int]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    def run() -> None:
        server = loop.run_until_complete(asyncio.start_server(_serve_connection, "127.0.0.1", 0, backlog=256))
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield port[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)


def wrk(url: str, seconds: int, connections: int, key: str | None, script: Path) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    if key:
        command += ["-H", f"Authorization: Bearer {key}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = {}
    for label in ("50%", "90%", "99%"):
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        result[label] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--pace-ms",
        type=int,
        default=0,
        help="each connection waits this long between requests (0: back to back, saturating the CPUs)",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating direct/edge runs; the median of each is reported"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        script = directory / "post.lua"
        pace = f"function delay() return {args.pace_ms} end\n" if args.pace_ms else ""
        script.write_text(
            f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[{POST}]]\n'
            + pace
        )
        pki = make_pki(directory)
        with fake_server() as upstream, running_edge(pki, upstream, [KEY, None]) as edge:
            path = "/v1/chat/completions"
            targets = {
                "direct": (f"http://127.0.0.1:{upstream}{path}", None),
                "via edge": (f"https://127.0.0.1:{edge.port}{path}", KEY),
            }
            for url, key in targets.values():
                wrk(url, 2, args.connections, key, script)  # warm-up
            # Alternate, so load from anything else on the machine hits both alike.
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
            for _ in range(args.rounds):
                for name, (url, key) in targets.items():
                    runs[name].append(wrk(url, args.seconds, args.connections, key, script))
    direct, proxied = (
        {p: statistics.median(r[p] for r in runs[name]) for p in ("50%", "90%", "99%", "rps")}
        for name in ("direct", "via edge")
    )
    load = os.getloadavg()
    print(
        f"{args.connections} connections"
        + (f" each pausing {args.pace_ms} ms between requests" if args.pace_ms else " back to back")
        + f", POST {path}, median of {args.rounds} x {args.seconds} s runs "
        f"each; load average {load[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'':10} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'req/s':>9}")
    for name, row in (("direct", direct), ("via edge", proxied)):
        print(f"{name:10} {row['50%']:8.3f} {row['90%']:8.3f} {row['99%']:8.3f} {row['rps']:9.0f}")
    added = {p: proxied[p] - direct[p] for p in ("50%", "90%", "99%")}
    print(f"{'added':10} {added['50%']:8.3f} {added['90%']:8.3f} {added['99%']:8.3f}")


if __name__ == "__main__":
    main()
