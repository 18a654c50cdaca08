"""HTTP probes of one side's OpenAI-compatible server (vLLM and friends).

`/health` answers 200 when the server is up; `/v1/models` lists what it serves as
`{"object": "list", "data": [{"id": "<model>", ...}]}`. vLLM started with `--api-key` protects
`/v1/*`: the probe sends `Authorization: Bearer $FAILOVER_API_KEY` when that variable is set.
"""

from __future__ import annotations

import os
import ssl
import time
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

import httpx

API_KEY_ENV = "FAILOVER_API_KEY"
DEFAULT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class SideProbe:
    url: str
    healthy: bool
    health_status: int | None
    """HTTP status of /health (None when the request failed)."""
    models: tuple[str, ...] = ()
    """Model ids /v1/models lists."""
    expected_model: str | None = None
    latency_ms: float | None = None
    """Round trip of /health."""
    problems: tuple[str, ...] = field(default=())

    @property
    def serves_model(self) -> bool:
        return self.expected_model is not None and self.expected_model in self.models

    @property
    def ok(self) -> bool:
        return self.healthy and self.serves_model

    def summary(self) -> str:
        if self.ok:
            return f"healthy, serving {self.expected_model}"
        return "; ".join(self.problems) or "not serving"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["serves_model"] = self.serves_model
        data["ok"] = self.ok
        data["models"] = list(self.models)
        data["problems"] = list(self.problems)
        return data


@cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle costs ~0.1 s; every probe of a run shares one context.
    return ssl.create_default_context()


def _error_text(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


def probe_side(
    url: str | None,
    expected_model: str | None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    api_key: str | None = None,
) -> SideProbe:
    """GET /health and /v1/models on `url` (a side's `endpointUrl` output)."""
    if not url:
        return SideProbe(
            "",
            False,
            None,
            expected_model=expected_model,
            problems=("the stack has no endpointUrl output (not deployed yet?)",),
        )
    base = url.rstrip("/")
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    problems: list[str] = []
    health_status: int | None = None
    latency_ms: float | None = None
    models: list[str] = []
    with httpx.Client(
        timeout=timeout_seconds, headers=headers, follow_redirects=False, verify=_tls()
    ) as client:
        started = time.monotonic()
        try:
            response = client.get(f"{base}/health")
            latency_ms = round((time.monotonic() - started) * 1000, 1)
            health_status = response.status_code
            if response.status_code != 200:
                problems.append(f"GET {base}/health answered {response.status_code}, expected 200")
        except httpx.TimeoutException as exc:
            # A hung side: asking it a second question would double the wait for nothing.
            problems.append(f"GET {base}/health timed out after {timeout_seconds:g}s: {_error_text(exc)}")
            return SideProbe(base, False, None, expected_model=expected_model, problems=tuple(problems))
        except httpx.HTTPError as exc:
            problems.append(f"GET {base}/health failed: {_error_text(exc)}")
        try:
            response = client.get(f"{base}/v1/models")
            if response.status_code == 401:
                problems.append(
                    f"GET {base}/v1/models answered 401: set {API_KEY_ENV} to the server's API key"
                )
            elif response.status_code != 200:
                problems.append(f"GET {base}/v1/models answered {response.status_code}, expected 200")
            else:
                models = _model_ids(response)
                if expected_model is None:
                    problems.append("the stack config has no modelName to look for on /v1/models")
                elif expected_model not in models:
                    shown = ", ".join(models) or "nothing"
                    problems.append(f"{base}/v1/models lists {shown}, not {expected_model}")
        except httpx.HTTPError as exc:
            problems.append(f"GET {base}/v1/models failed: {_error_text(exc)}")
        except ValueError as exc:
            problems.append(f"{base}/v1/models did not answer an OpenAI model list: {exc}")
    return SideProbe(
        url=base,
        healthy=health_status == 200,
        health_status=health_status,
        models=tuple(models),
        expected_model=expected_model,
        latency_ms=latency_ms,
        problems=tuple(problems),
    )


def _model_ids(response: httpx.Response) -> list[str]:
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ValueError("expected a JSON object with a 'data' list")
    return [str(item["id"]) for item in body["data"] if isinstance(item, dict) and "id" in item]
