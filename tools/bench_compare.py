"""Benchmark `failover compare`'s client against a fake server that answers instantly.

    .venv/bin/python tools/bench_compare.py [--requests 4000] [--concurrency 64]

Starts `tests.fake_openai` in its own process on 127.0.0.1 (no added latency), then runs the
compare client (cutover.compare.run_side: streamed chat completions, SSE parsing, per-request
timing) and reports:
- requests/s the client sustained,
- client CPU per request (this process's CPU time / requests): the overhead compare adds,
- latency p50/p95 it measured against a server that does no work (an upper bound on overhead,
  since it also holds the server's own time and the time both wait for the shared CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cutover.compare import DEFAULT_PROMPTS, Target, load_prompts, run_async, run_side


def start_fake() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--port", "0"],
        stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    _, host, port = proc.stdout.readline().split()
    return proc, f"http://{host}:{port}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    proc, url = start_fake()
    try:
        target = Target("bench", url, "api.example.com", "llama-3.1-8b-instruct")
        prompts = load_prompts(DEFAULT_PROMPTS)
        run_async(run_side(target, prompts, 200, args.concurrency))  # warm up
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = run_async(run_side(target, prompts, args.requests, args.concurrency))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    summary = result.summary()
    report = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "errors": summary["errors"],
        "requests_per_second": round(args.requests / wall, 1),
        "client_cpu_ms_per_request": round(cpu / args.requests * 1000, 3),
        "latency_p50_ms": summary["latency_p50_ms"],
        "latency_p95_ms": summary["latency_p95_ms"],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
