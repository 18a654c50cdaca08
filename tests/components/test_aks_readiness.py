"""AKS role propagation: the Kubernetes provider waits until the deployer's role assignment works.

Under the mocks the API server refuses the first calls with 403, as a fresh AKS role assignment
does for minutes. Against a local HTTP server the real probe runs the kubeconfig's exec plugin and
sends its token.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.inference_cluster import readiness
from offline.harness import ProgramError, ProgramRun, run_stack
from offline.mock_outputs import placement as mocked
from tests.support import TEST_SECRETS, primary_overrides


def _fresh_azure_run() -> ProgramRun:
    mocked.API_CALLS.clear()
    return run_stack("primary", primary_overrides("azure"), TEST_SECRETS)


def test_kubernetes_provider_waits_until_the_role_assignment_stops_answering_403() -> None:
    run = _fresh_azure_run()
    (statuses,) = mocked.API_CALLS.values()
    assert statuses == [403, 403, 200]
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    (assignment,) = [
        r
        for r in run.of_type("azure-native:authorization:RoleAssignment")
        if r.name.endswith("-deployer-admin")
    ]
    assert assignment.urn in provider.dependencies
    # The kubeconfig the provider got is the one the successful probe used.
    server = yaml.safe_load(provider.inputs["kubeconfig"])["clusters"][0]["cluster"]["server"]
    assert list(mocked.API_CALLS) == [server]


def test_gives_up_after_the_bounded_wait_with_what_to_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mocked, "REFUSED_CALLS_BEFORE_PROPAGATION", 10_000)
    with pytest.raises(ProgramError) as caught:
        _fresh_azure_run()
    message = str(caught.value)
    assert "the Kubernetes API still refuses the deployer after 900 s" in message
    assert "last: HTTP 403" in message
    assert "az role assignment list --scope <cluster id>" in message
    (statuses,) = mocked.API_CALLS.values()
    # Backoff 5, 10, 20 s, then 30 s steps, the last cut to end at 900 s: 32 sleeps, 33 calls.
    assert len(statuses) == 33
    assert "Traceback" not in message


def test_a_non_azure_stack_never_probes() -> None:
    mocked.API_CALLS.clear()
    run_stack("primary", primary_overrides("gcp"), TEST_SECRETS)
    assert mocked.API_CALLS == {}


# --- the real probe against a local API server --------------------------------------------------


@pytest.fixture
def api_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.headers.get('Authorization')} {self.path}")
            status = 403 if len(seen) <= 2 else 200
            body = json.dumps({"kind": "Status" if status == 403 else "Namespace"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def _kubeconfig(server: str, plugin: Path) -> str:
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": "token-from-plugin"},
    }
    plugin.write_text(f"import json\nprint(json.dumps({credential!r}))\n")
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [
            {
                "name": "u",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": sys.executable,
                        "args": [str(plugin)],
                    }
                },
            }
        ],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    return yaml.safe_dump(config)


def test_real_probe_retries_403_with_the_exec_plugins_token(
    api_server: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, seen = api_server
    kubeconfig = _kubeconfig(server, tmp_path / "plugin.py")
    # Without the wait the first call is what a fresh apply would get.
    assert readiness.probe_api(kubeconfig).status == 403
    slept: list[float] = []
    monkeypatch.setattr(readiness._hooks, "probe", readiness.probe_api)
    monkeypatch.setattr(readiness._hooks, "sleep", slept.append)
    monkeypatch.setattr(readiness.pulumi.runtime, "is_dry_run", lambda: False)
    assert readiness.wait_for_api_access(kubeconfig, what="test cluster") == kubeconfig
    assert seen == ["Bearer token-from-plugin /api/v1/namespaces/kube-system"] * 3
    assert slept == [5.0]


def test_unreachable_server_and_failing_plugin_are_retried_then_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = _kubeconfig("http://127.0.0.1:9", tmp_path / "plugin.py")
    answer = readiness.probe_api(kubeconfig)
    assert answer.status is None
    monkeypatch.setattr(readiness._hooks, "probe", readiness.probe_api)
    monkeypatch.setattr(readiness._hooks, "sleep", lambda seconds: None)
    monkeypatch.setattr(readiness.pulumi.runtime, "is_dry_run", lambda: False)
    with pytest.raises(readiness.ApiAccessError, match=r"after 60 s and 5 attempts \(last: no answer"):
        readiness.wait_for_api_access(kubeconfig, what="test cluster", timeout_seconds=60)


def test_preview_does_not_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readiness.pulumi.runtime, "is_dry_run", lambda: True)
    monkeypatch.setattr(readiness._hooks, "probe", lambda kubeconfig: pytest.fail("probed during a preview"))
    assert readiness.wait_for_api_access("kubeconfig", what="x") == "kubeconfig"
