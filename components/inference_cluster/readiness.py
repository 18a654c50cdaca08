"""Wait until the deployer may use a new cluster's Kubernetes API, instead of guessing a sleep.

On AKS with Entra ID RBAC the cluster-admin role assignment takes minutes to propagate; until it
does, every Kubernetes call answers 403 and a first `pulumi up` fails half-way. The AKS module
routes its kubeconfig through `wait_for_api_access`, so the Kubernetes provider (and every object
it applies) starts only once a real authorised request succeeds. The wait asks the API server with
the kubeconfig's own exec credential, retries 401/403 and connection errors with backoff, and
gives up after a bounded time with a message saying what to check.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import yaml

PROBE_PATH: Final = "/api/v1/namespaces/kube-system"
"""Readable only with the granted role (cluster admin), unlike /version or /healthz."""
TIMEOUT_SECONDS: Final = 900
"""Azure documents role-assignment propagation of "up to 10 minutes" (more in large tenants)."""
FIRST_DELAY_SECONDS: Final = 5.0
MAX_DELAY_SECONDS: Final = 30.0


class ApiAccessError(pulumi.RunError):
    """The deployer still cannot use the cluster API after the wait (printed without a traceback)."""


@dataclass(frozen=True)
class Answer:
    status: int | None
    """HTTP status, or None when the server could not be reached."""
    detail: str


Probe = Callable[[str], Answer]
"""One authorised request with a kubeconfig (YAML text)."""


def _exec_token(user: dict[str, Any]) -> str:
    spec = user.get("exec") or {}
    env = {**os.environ, **{e["name"]: e["value"] for e in spec.get("env") or []}}
    done = subprocess.run(
        [spec["command"], *spec.get("args", [])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{spec['command']} exited {done.returncode}: {done.stderr.strip()[:300]}")
    return str(json.loads(done.stdout)["status"]["token"])


def probe_api(kubeconfig: str) -> Answer:
    """GET PROBE_PATH on the kubeconfig's current cluster with its exec (or token) credential."""
    config = yaml.safe_load(kubeconfig)
    context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
    try:
        token = user["token"] if "token" in user else _exec_token(user)
    except (RuntimeError, OSError, KeyError, ValueError, subprocess.SubprocessError) as exc:
        return Answer(None, f"credential plugin failed: {exc}")
    server = str(cluster["server"]).rstrip("/")
    context_ssl = None
    if server.startswith("https://"):
        context_ssl = ssl.create_default_context()
        ca = cluster.get("certificate-authority-data")
        if ca:
            with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as handle:
                handle.write(base64.b64decode(ca))
            try:
                context_ssl.load_verify_locations(handle.name)
            finally:
                os.unlink(handle.name)
    request = urllib.request.Request(f"{server}{PROBE_PATH}", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30, context=context_ssl) as response:
            return Answer(response.status, "ok")
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(300).decode(errors="replace"))
    except (urllib.error.URLError, OSError) as exc:
        return Answer(None, str(exc))


@dataclass
class _Hooks:
    probe: Probe = probe_api
    sleep: Callable[[float], None] = time.sleep


_hooks = _Hooks()


def use_probe(
    probe: Probe, sleep: Callable[[float], None] | None = None
) -> tuple[Probe, Callable[[float], None]]:
    """Replace the API probe (and sleep): the mocks play an API server. Returns the old pair."""
    previous = (_hooks.probe, _hooks.sleep)
    _hooks.probe = probe
    if sleep is not None:
        _hooks.sleep = sleep
    return previous


def wait_for_api_access(kubeconfig: str, *, what: str, timeout_seconds: float = TIMEOUT_SECONDS) -> str:
    """Return `kubeconfig` once an authorised API call succeeds; raise ApiAccessError on timeout.

    401/403 (role not propagated yet) and unreachable servers are retried with backoff; any other
    answer ends the wait (a 2xx means access works; other errors are the provider's to report).
    Not during a preview: nothing is applied then, and the role may not exist yet.
    """
    if pulumi.runtime.is_dry_run():
        return kubeconfig
    waited = 0.0
    delay = FIRST_DELAY_SECONDS
    attempts = 0
    while True:
        answer = _hooks.probe(kubeconfig)
        attempts += 1
        if answer.status is not None and answer.status not in (401, 403):
            return kubeconfig
        if waited >= timeout_seconds:
            got = f"HTTP {answer.status}" if answer.status else "no answer"
            raise ApiAccessError(
                f"{what}: the Kubernetes API still refuses the deployer after {int(waited)} s and {attempts} "
                f"attempts (last: {got}: {answer.detail[:200]}). Check that the role assignment exists "
                "(`az role assignment list --scope <cluster id> --assignee <your object id>`), that "
                "`kubelogin` and `az login` work, then run `pulumi up` again"
            )
        step = min(delay, timeout_seconds - waited)
        _hooks.sleep(step)
        waited += step
        delay = min(delay * 2, MAX_DELAY_SECONDS)
