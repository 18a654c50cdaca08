"""HTTPS probes of one side's edge (TLS, API key) in front of its OpenAI-compatible server.

`/health` answers 200 when the server is up; `/v1/models` lists what it serves as
`{"object": "list", "data": [{"id": "<model>", ...}]}`. The edge guards every `/v1` route: the
probe sends `Authorization: Bearer $FAILOVER_API_KEY` when that variable is set.

Each side is probed at its own load balancer (`endpointUrl`), but the certificate is for the
service name (`serviceFqdn`): the probe sends that name as SNI and Host and verifies the
certificate for it, against the system CAs or `--ca-bundle`. A plain `http://` URL is refused,
since the key would travel in clear text, unless `--insecure-http` says it is a local test.
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


@dataclass(frozen=True)
class ProbeTls:
    """How probes authenticate the server."""

    ca_bundle: str | None = None
    """PEM file of CAs to trust instead of the system's (a private CA)."""
    insecure_http: bool = False
    """Allow plain http:// endpoints (local tests only): the key then travels in clear text."""


@cache
def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    # Loading the CA bundle costs ~0.1 s; every probe of a run shares one context.
    context = ssl.create_default_context(cafile=ca_bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def plain_http_refusal(url: str) -> str:
    return (
        f"refusing to probe {url} over plain HTTP: the API key would travel in clear text and the "
        "service listens on HTTPS only; use the stack's https:// endpointUrl (--insecure-http is for "
        "local tests only)"
    )


def _error_text(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


def probe_side(
    url: str | None,
    expected_model: str | None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    api_key: str | None = None,
    *,
    service_name: str | None = None,
    tls: ProbeTls = ProbeTls(),
) -> SideProbe:
    """GET /health and /v1/models on `url` (a side's `endpointUrl` output), as `service_name`."""
    if not url:
        return SideProbe(
            "",
            False,
            None,
            expected_model=expected_model,
            problems=("the stack has no endpointUrl output (not deployed yet?)",),
        )
    base = url.rstrip("/")
    scheme = base.split("://", 1)[0].lower()
    if scheme != "https" and not (scheme == "http" and tls.insecure_http):
        return SideProbe(
            base, False, None, expected_model=expected_model, problems=(plain_http_refusal(base),)
        )
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    extensions: dict[str, Any] = {}
    if service_name and scheme == "https":
        # Connect to this side's address, but speak to (and verify) the service name.
        headers["Host"] = service_name
        extensions["sni_hostname"] = service_name
    with httpx.Client(
        timeout=timeout_seconds, headers=headers, follow_redirects=False, verify=tls_context(tls.ca_bundle)
    ) as client:
        try:
            health_status, latency_ms, problems = _health(client, base, extensions)
        except httpx.TimeoutException as exc:
            # A hung side: asking it a second question would double the wait for nothing.
            hung = f"GET {base}/health timed out after {timeout_seconds:g}s: {_error_text(exc)}"
            return SideProbe(base, False, None, expected_model=expected_model, problems=(hung,))
        models, found = _models(client, base, extensions, expected_model)
    return SideProbe(
        url=base,
        healthy=health_status == 200,
        health_status=health_status,
        models=tuple(models),
        expected_model=expected_model,
        latency_ms=latency_ms,
        problems=(*problems, *found),
    )


def _health(
    client: httpx.Client, base: str, extensions: dict[str, Any]
) -> tuple[int | None, float | None, list[str]]:
    """(status, latency in ms, problems) of GET /health; no status when it failed. A timeout raises."""
    started = time.monotonic()
    try:
        response = client.get(f"{base}/health", extensions=extensions)
    except httpx.TimeoutException:
        raise
    except httpx.HTTPError as exc:
        return None, None, [f"GET {base}/health failed: {_error_text(exc)}"]
    latency_ms = round((time.monotonic() - started) * 1000, 1)
    if response.status_code != 200:
        return (
            response.status_code,
            latency_ms,
            [f"GET {base}/health answered {response.status_code}, expected 200"],
        )
    return response.status_code, latency_ms, []


def _models(
    client: httpx.Client, base: str, extensions: dict[str, Any], expected_model: str | None
) -> tuple[list[str], list[str]]:
    """(model ids, problems) of GET /v1/models: the key accepted, `expected_model` listed."""
    try:
        response = client.get(f"{base}/v1/models", extensions=extensions)
        if response.status_code == 401:
            return [], [f"GET {base}/v1/models answered 401: set {API_KEY_ENV} to the server's API key"]
        if response.status_code != 200:
            return [], [f"GET {base}/v1/models answered {response.status_code}, expected 200"]
        models = _model_ids(response)
    except httpx.HTTPError as exc:
        return [], [f"GET {base}/v1/models failed: {_error_text(exc)}"]
    except ValueError as exc:
        return [], [f"{base}/v1/models did not answer an OpenAI model list: {exc}"]
    if expected_model is None:
        problem = "the stack config has no modelName to look for on /v1/models"
    elif expected_model not in models:
        problem = f"{base}/v1/models lists {', '.join(models) or 'nothing'}, not {expected_model}"
    else:
        return models, []
    return models, [problem]


def _model_ids(response: httpx.Response) -> list[str]:
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ValueError("expected a JSON object with a 'data' list")
    return [str(item["id"]) for item in body["data"] if isinstance(item, dict) and "id" in item]
