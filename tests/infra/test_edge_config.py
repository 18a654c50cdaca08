"""Edge config: certificate source, provided certificates checked with `cryptography`, the rotation
key; every bad input named with key, value and fix before anything is created."""

from __future__ import annotations

import datetime
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from components.inference_cluster import edge_proxy
from infra.config import (
    OFFLINE_SECRET_PLACEHOLDER,
    PROJECT,
    ConfigError,
    StackConfig,
    certificate_problems,
    parse_config,
)
from offline.harness import SECRET_PLACEHOLDER, load_stack_config, run_stack
from tests.edge_support import make_certificate
from tests.support import PAIR_IDS, PAIRS, TEST_SECRETS, pair, primary_overrides

FQDN = "api.example.com"


# The shipped primary runs on aws, whose image cache needs the Docker Hub token too.
OTHER_SECRETS = {"dockerHubAccessToken": "t"}


def parse(secrets: dict[str, str], **overrides: Any) -> StackConfig:
    secrets = {**OTHER_SECRETS, **secrets}
    config, secret_keys = load_stack_config("primary", overrides=overrides, secrets=secrets)
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}
    return parse_config(raw, "primary", frozenset(k[len(prefix) :] for k in secret_keys))


def problems(secrets: dict[str, str], **overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(secrets, **overrides)
    return [str(p) for p in caught.value.problems]


def provided(names: list[str] | None = None, **kwargs: Any) -> dict[str, str]:
    cert, key = make_certificate(names or [FQDN], **kwargs)
    return {"apiKey": "k1", "tlsCertificateChain": cert.decode(), "tlsPrivateKey": key.decode()}


def test_default_is_acme_with_lets_encrypt_and_one_key() -> None:
    cfg = parse({"apiKey": "k1"})
    assert cfg.edge.tls_source == "acme"
    assert cfg.edge.acme_server == "https://acme-v02.api.letsencrypt.org/directory"
    assert cfg.secret_names == ("apiKey",)
    assert cfg.dns.health_check_port == 443


def test_next_key_joins_the_vault_secrets_during_a_rotation() -> None:
    cfg = parse({"apiKey": "k1", "apiKeyNext": "k2"})
    assert cfg.edge.has_next_key
    assert cfg.secret_names == ("apiKey", "apiKeyNext")


def test_fails_when_next_key_equals_the_current_key() -> None:
    (found,) = problems({"apiKey": "same-key", "apiKeyNext": "same-key"})
    assert found.startswith("stack config 'apiKeyNext' must be a different key from apiKey")
    assert "'<secret, equal to apiKey>'" in found and "same-key" not in found
    assert "pulumi config set --secret apiKeyNext <new key> -s primary" in found


def test_fails_on_a_plain_text_next_key() -> None:
    found = problems({"apiKey": "k1"}, apiKeyNext="k2")
    assert any(p.startswith("stack config 'apiKeyNext' must be a secret, not plain text") for p in found)


def test_provided_certificate_is_accepted_and_goes_to_the_vault() -> None:
    cfg = parse(provided(), tlsCertificate="provided")
    assert cfg.edge.tls_source == "provided"
    assert cfg.secret_names == ("apiKey", "tlsCertificateChain", "tlsPrivateKey")


def test_provided_wildcard_certificate_covers_the_service_name() -> None:
    assert parse(provided(["*.example.com"]), tlsCertificate="provided").edge.tls_source == "provided"


@pytest.mark.parametrize("missing", ["tlsCertificateChain", "tlsPrivateKey"])
def test_fails_on_provided_without_the_certificate_or_key_secret(missing: str) -> None:
    secrets = provided()
    del secrets[missing]
    (found,) = problems(secrets, tlsCertificate="provided")
    assert found.startswith(f"stack config '{missing}' must be set to the PEM")
    assert "(got nothing)" in found
    assert f"pulumi config set --secret {missing} -s primary" in found and "tlsCertificate: acme" in found


def test_fails_on_a_certificate_for_another_name() -> None:
    (found,) = problems(provided(["www.example.com", "*.other.com"]), tlsCertificate="provided")
    assert found.startswith(
        "stack config 'tlsCertificateChain' must be a certificate whose subject alternative"
    )
    assert "cover api.example.com (it covers ['www.example.com', '*.other.com'])" in found
    assert "provide a certificate for api.example.com" in found


def test_fails_on_an_expired_certificate() -> None:
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=100)
    (found,) = problems(provided(not_before=past, days=90), tlsCertificate="provided")
    assert "must be valid now (it is valid from" in found


def test_fails_on_a_key_that_is_not_the_certificates() -> None:
    secrets = provided()
    _, other_key = make_certificate([FQDN], key=ec.generate_private_key(ec.SECP256R1()))
    secrets["tlsPrivateKey"] = other_key.decode()
    (found,) = problems(secrets, tlsCertificate="provided")
    assert "must be the certificate of the key in tlsPrivateKey" in found


def test_fails_on_garbage_pem() -> None:
    secrets = provided()
    secrets["tlsCertificateChain"] = "not a certificate"
    (found,) = problems(secrets, tlsCertificate="provided")
    assert "must be a PEM certificate chain" in found and "not a certificate" not in found


def test_fails_on_tls_secrets_with_acme() -> None:
    found = problems(provided())
    assert any("'tlsCertificateChain' must be unset with tlsCertificate: acme" in p for p in found)


def test_fails_on_a_plain_http_health_check_port() -> None:
    (found,) = problems({"apiKey": "k1"}, healthCheckPort=80)
    assert found.startswith(
        "stack config 'healthCheckPort' must be 443 (the service listens on HTTPS 443 only"
    )
    assert "(got '80')" in found


def test_fails_on_a_health_check_path_the_edge_does_not_answer_without_a_key() -> None:
    (found,) = problems({"apiKey": "k1"}, healthCheckPath="/v1/models")
    assert found.startswith("stack config 'healthCheckPath' must be /health (the only route the edge answers")
    assert "(got '/v1/models')" in found


def test_fails_on_a_non_https_acme_server() -> None:
    (found,) = problems({"apiKey": "k1"}, acmeServer="http://acme.example.com/directory")
    assert found.startswith("stack config 'acmeServer' must be an https:// ACME directory URL")


def test_offline_plan_placeholder_skips_the_certificate_check_only() -> None:
    assert OFFLINE_SECRET_PLACEHOLDER == SECRET_PLACEHOLDER
    secrets = {"apiKey": "k1", "tlsCertificateChain": SECRET_PLACEHOLDER, "tlsPrivateKey": SECRET_PLACEHOLDER}
    assert parse(secrets, tlsCertificate="provided").edge.tls_source == "provided"


def test_certificate_check_is_a_pure_function_of_the_pems() -> None:
    cert, key = make_certificate([FQDN], days=10)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=20)
    assert certificate_problems(cert.decode(), key.decode(), FQDN) == []
    (found,) = certificate_problems(cert.decode(), key.decode(), FQDN, now=later)
    assert found.startswith("valid now")


def test_provided_certificate_reaches_only_the_edge_from_the_vault() -> None:
    secrets = {**TEST_SECRETS, **provided()}
    run = run_stack("primary", {**primary_overrides("aws"), "tlsCertificate": "provided"}, secrets)
    (deployment,) = [r for r in run.of_type("kubernetes:apps/v1:Deployment") if r.name.endswith("-server")]
    pod = deployment.inputs["spec"]["template"]["spec"]
    fetch = next(c for c in pod["initContainers"] if c["name"] == "fetch-model")
    script = fetch["args"][0]
    assert "> /run/secrets/edge-tls-provided/tls.crt" in script
    assert "> /run/secrets/edge-tls-provided/tls.key" in script
    containers = {c["name"]: c for c in pod["containers"]}
    edge_mounts = {m["mountPath"] for m in containers["edge"]["volumeMounts"]}
    server_mounts = {m["mountPath"] for m in containers["server"]["volumeMounts"]}
    assert "/run/secrets/edge-tls-provided" in edge_mounts
    assert "/run/secrets/edge-tls-provided" not in server_mounts
    annotations = deployment.inputs["spec"]["template"]["metadata"]["annotations"]
    expected = hashlib.sha256(secrets["tlsCertificateChain"].encode()).hexdigest()
    assert annotations["inference-failover/tls-certificate-sha256"] == expected  # a new one rolls the pods
    (tls,) = [v for v in pod["volumes"] if v["name"] == "edge-tls"]
    assert tls["emptyDir"]["medium"] == "Memory"
    # No cert-manager in a stack that brings its own certificate; the vault holds both PEMs.
    assert not [
        r
        for r in run.resources
        if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs["chart"] == "cert-manager"
    ]
    assert {"tlsCertificateChain", "tlsPrivateKey"} <= set(run.outputs["secretIds"])
    # The key is never in a Kubernetes object; only the vault holds it.
    key_line = secrets["tlsPrivateKey"].splitlines()[1]
    k8s_objects = json.dumps([r.inputs for r in run.resources if r.type.startswith("kubernetes:")])
    assert key_line not in k8s_objects
    assert key_line in json.dumps([r.inputs for r in run.resources])  # the check can see it


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_every_pairs_plan_listens_on_443_only_and_health_checks_over_https(
    primary: str, standby: str
) -> None:
    for run in pair(primary, standby):
        services = [
            r.inputs
            for r in run.resources
            if r.inputs.get("kind") == "Service" and r.inputs["spec"].get("type") == "LoadBalancer"
        ]
        assert services
        for service in services:
            assert [p["port"] for p in service["spec"]["ports"]] == [443]
        checks = [
            r
            for r in run.resources
            if r.type in HEALTH_CHECK_TYPES and r.inputs.get("type") != "CALCULATED"  # combines probes
        ]
        assert checks or run.config.role == "primary"  # Cloud DNS: the standby owns the check
        for check in checks:
            if check.type == "aws:route53/healthCheck:HealthCheck":
                assert (check.inputs["enableSni"], check.inputs["port"]) == (True, 443)
            protocol = HEALTH_CHECK_TYPES[check.type](check.inputs)
            assert protocol == "HTTPS", check.name
        assert run.outputs["endpointUrl"].startswith("https://")


HEALTH_CHECK_TYPES = {
    "aws:route53/healthCheck:HealthCheck": lambda i: i["type"],
    "azure-native:trafficmanager:Profile": lambda i: i["monitorConfig"]["protocol"],
    "gcp:compute/healthCheck:HealthCheck": lambda i: (
        "HTTPS" if "httpsHealthCheck" in i and "httpHealthCheck" not in i else "HTTP"
    ),
}


def test_edge_templates_are_package_data_so_an_installed_wheel_has_them() -> None:
    # edge_proxy reads nginx.conf and the njs module from files next to it at import.
    package = Path(edge_proxy.__file__).resolve().parent
    pyproject = tomllib.loads((package.parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["components.inference_cluster"]
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    templates = set((package / "edge_templates").iterdir())
    assert {t.name for t in templates} >= {"nginx.conf", "edge_auth.js"}
    assert templates <= shipped


@pytest.mark.parametrize("tls_source", ["acme", "internal-ca", "provided"])
def test_rendered_edge_config_keeps_no_template_syntax(tls_source: str) -> None:
    files = edge_proxy.config_files(edge_proxy.pod_config(FQDN, 8000, tls_source))
    for name, text in files.items():
        assert "{{" not in text and "{#" not in text, name
        assert text.startswith(f"{'#' if name.endswith('.conf') else '//'} Rendered by "), name
    assert "ssl_certificate /run/secrets/edge-tls" in files["nginx.conf"]
    assert "server_name api.example.com;" in files["nginx.conf"]
