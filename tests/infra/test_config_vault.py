"""Vault and internal CA config (infra/config_vault.py): every limit, default and error, named with
key, value and fix before anything is created."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from infra.config import ConfigError, _Reader
from infra.config_vault import (
    INTERNAL_CA_SECRETS,
    ca_problems,
    read_internal_ca,
    read_vault,
    secrets_of,
)
from tests.edge_support import make_certificate
from tests.infra.test_edge_config import parse, problems

ADDRESS = "https://openbao.site-a.example.internal:8200"


def reader(**raw: str) -> _Reader:
    return _Reader(raw, "primary")


def vault_problems(cloud: str | None = "onprem", **raw: str) -> list[str]:
    r = reader(**raw)
    read_vault(r, cloud)
    return [str(p) for p in r.problems]


def ca_pair(**kwargs: Any) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert, key_pem = make_certificate(["Site A Issuing CA"], key=key, ca=True, **kwargs)
    return cert.decode(), key_pem.decode()


# --- vaultAddress, mounts, CA ---------------------------------------------------------------------


def test_onprem_defaults() -> None:
    r = reader(vaultAddress=f"{ADDRESS}/")
    vault = read_vault(r, "onprem")
    assert r.problems == []
    assert vault is not None
    assert vault.address == ADDRESS
    assert (vault.kv_mount, vault.kubernetes_auth_path, vault.pki_mount) == (
        "inference-failover",
        "kubernetes",
        "pki",
    )
    assert vault.ca_certificate is None


def test_onprem_requires_a_vault_address() -> None:
    (problem,) = vault_problems()
    assert problem.startswith("stack config 'vaultAddress' must be set (got nothing)")
    assert "pulumi config set vaultAddress https://openbao.example.internal:8200 -s primary" in problem


@pytest.mark.parametrize(
    "address",
    [
        "http://openbao.example.internal:8200",
        "openbao.example.internal:8200",
        "https://openbao.example.internal:8200/v1/",
        "https://openbao.example.internal:99999",
        "https://open bao",
    ],
)
def test_vault_address_must_be_an_https_origin(address: str) -> None:
    (problem,) = vault_problems(vaultAddress=address)
    assert problem.startswith(
        "stack config 'vaultAddress' must be the https:// address of the OpenBao / Vault API"
    )
    assert repr(address) in problem
    assert "set it in Pulumi.primary.yaml" in problem


def test_explicit_mounts_are_kept() -> None:
    r = reader(
        vaultAddress=ADDRESS,
        vaultKvMount="team/inference",
        vaultKubernetesAuthPath="k8s-site-a",
        vaultPkiMount="pki_int",
    )
    vault = read_vault(r, "onprem")
    assert r.problems == [] and vault is not None
    assert (vault.kv_mount, vault.kubernetes_auth_path, vault.pki_mount) == (
        "team/inference",
        "k8s-site-a",
        "pki_int",
    )


@pytest.mark.parametrize("key", ["vaultKvMount", "vaultKubernetesAuthPath", "vaultPkiMount"])
@pytest.mark.parametrize("value", ["/kv", "kv/", "a//b", "kv mount", "sys", "auth/kubernetes", "x" * 129])
def test_mount_paths_are_checked(key: str, value: str) -> None:
    found = vault_problems(vaultAddress=ADDRESS, **{key: value})
    assert any(
        p.startswith(f"stack config '{key}' must be a vault mount path") and repr(value) in p for p in found
    )


def test_kv_and_pki_mounts_must_differ() -> None:
    (problem,) = vault_problems(vaultAddress=ADDRESS, vaultKvMount="secrets", vaultPkiMount="secrets")
    assert problem.startswith("stack config 'vaultPkiMount' must be a different mount from vaultKvMount")
    assert "(got 'secrets')" in problem


def test_vault_ca_certificate_must_be_a_ca() -> None:
    ca, _ = ca_pair()
    r = reader(vaultAddress=ADDRESS, vaultCaCertificate=ca)
    vault = read_vault(r, "onprem")
    assert r.problems == [] and vault is not None and vault.ca_certificate == ca.strip() + "\n"
    (problem,) = vault_problems(vaultAddress=ADDRESS, vaultCaCertificate="not a pem")
    assert (
        "'vaultCaCertificate' must be the PEM certificate of the CA" in problem
        and "does not parse" in problem
    )
    leaf, _ = make_certificate(["openbao.site-a.example.internal"])
    (problem,) = vault_problems(vaultAddress=ADDRESS, vaultCaCertificate=leaf.decode())
    assert "CA certificates only (not a CA: CN=openbao.site-a.example.internal)" in problem


@pytest.mark.parametrize("key", ["vaultAddress", "vaultKvMount", "vaultKubernetesAuthPath", "vaultPkiMount"])
def test_vault_keys_are_refused_on_a_cloud(key: str) -> None:
    value = ADDRESS if key == "vaultAddress" else "kv"
    found = problems({"apiKey": "k"}, **{key: value})
    assert any(
        p.startswith(
            f"stack config '{key}' must be unset on cloud aws (its secrets live in the cloud's own vault)"
        )
        and "set cloud: onprem" in p
        for p in found
    ), found


def test_the_clouds_have_no_vault() -> None:
    cfg = parse({"apiKey": "k"})
    assert cfg.vault is None and cfg.internal_ca is None


# --- tlsCertificate: internal-ca ------------------------------------------------------------------


def test_internal_ca_requires_internal_ca_source() -> None:
    found = problems({"apiKey": "k"}, tlsCertificate="internal-ca")
    assert any(p.startswith("stack config 'internalCa' must be set (got nothing)") for p in found), found
    found = problems({"apiKey": "k"}, tlsCertificate="internal-ca", internalCa="vault")
    assert any("'internalCa' must be one of openbao, provided (got 'vault')" in p for p in found), found


def test_provided_internal_ca_with_its_secrets() -> None:
    cert, key = ca_pair()
    cfg = parse(
        {"apiKey": "k", "internalCaCertificate": cert, "internalCaPrivateKey": key},
        tlsCertificate="internal-ca",
        internalCa="provided",
    )
    assert cfg.edge.tls_source == "internal-ca"
    assert cfg.internal_ca is not None and cfg.internal_ca.source == "provided"
    assert set(INTERNAL_CA_SECRETS) <= set(cfg.secret_names)


def test_provided_internal_ca_secrets_are_required_and_secret() -> None:
    found = problems({"apiKey": "k"}, tlsCertificate="internal-ca", internalCa="provided")
    for key in INTERNAL_CA_SECRETS:
        assert any(p.startswith(f"stack config '{key}' must be set to") for p in found), found
    cert, key = ca_pair()
    found = problems(
        {"apiKey": "k", "internalCaPrivateKey": key},
        tlsCertificate="internal-ca",
        internalCa="provided",
        internalCaCertificate=cert,
    )
    assert any(
        p.startswith(
            "stack config 'internalCaCertificate' must be a secret, not plain text (got '<plain text>')"
        )
        for p in found
    ), found


def test_a_leaf_or_mismatched_or_expired_ca_is_refused() -> None:
    leaf, leaf_key = make_certificate(["api.example.com"])
    assert ca_problems(leaf.decode(), leaf_key.decode()) == [
        "a CA certificate (basicConstraints CA:TRUE); this one is a leaf"
    ]
    cert, _ = ca_pair()
    _, other_key = ca_pair()
    assert ca_problems(cert, other_key) == [
        "the certificate of the key in internalCaPrivateKey (the public keys differ)"
    ]
    old = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    expired, expired_key = ca_pair(not_before=old, days=30)
    (problem,) = ca_problems(expired, expired_key)
    assert problem.startswith("valid now (it is valid from 2020-01-01")
    assert ca_problems("junk", "junk")[0].startswith("a PEM CA certificate (it does not parse")
    found = problems(
        {"apiKey": "k", "internalCaCertificate": leaf.decode(), "internalCaPrivateKey": leaf_key.decode()},
        tlsCertificate="internal-ca",
        internalCa="provided",
    )
    assert any(
        p.startswith("stack config 'internalCaCertificate' must be a CA certificate")
        and "<secret certificate>" in p
        for p in found
    ), found


def test_openbao_internal_ca_needs_a_vault() -> None:
    found = problems({"apiKey": "k"}, tlsCertificate="internal-ca", internalCa="openbao")
    assert any(
        p.startswith("stack config 'internalCa' must be provided unless the stack has a vault") for p in found
    ), found


def test_openbao_internal_ca_on_onprem_and_its_refusals() -> None:
    r = reader(
        vaultAddress=ADDRESS,
        internalCa="openbao",
        internalCaCertificate="x",
        acmeServer="https://acme.example",
    )
    vault = read_vault(r, "onprem")
    settings = read_internal_ca(r, "internal-ca", vault, frozenset({"internalCaCertificate"}))
    assert settings is not None and settings.source == "openbao"
    assert secrets_of(settings) == ()
    found = [str(p) for p in r.problems]
    assert any("'internalCaCertificate' must be unset with internalCa: openbao" in p for p in found), found
    assert any("'acmeServer' must be unset with tlsCertificate: internal-ca" in p for p in found), found


@pytest.mark.parametrize("key", ["internalCa", *INTERNAL_CA_SECRETS])
def test_internal_ca_keys_are_refused_without_internal_ca(key: str) -> None:
    secrets = {"apiKey": "k", key: "x"} if key in INTERNAL_CA_SECRETS else {"apiKey": "k"}
    overrides = {} if key in INTERNAL_CA_SECRETS else {key: "provided"}
    found = problems(secrets, **overrides)
    assert any(
        p.startswith(f"stack config '{key}' must be unset with tlsCertificate: acme")
        and "set tlsCertificate: internal-ca" in p
        for p in found
    ), found


def test_pki_mount_is_refused_with_a_provided_ca() -> None:
    r = reader(vaultAddress=ADDRESS, internalCa="provided", vaultPkiMount="pki")
    read_internal_ca(r, "internal-ca", read_vault(r, "onprem"), frozenset())
    assert any("'vaultPkiMount' must be unset with internalCa: provided" in str(p) for p in r.problems)


def test_config_error_lists_vault_problems_with_the_others() -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"apiKey": "k"}, vaultAddress="http://x", tlsCertificate="internal-ca")
    keys = {p.key for p in caught.value.problems}
    assert {"vaultAddress", "internalCa"} <= keys


def test_a_standby_may_not_share_the_primarys_vault() -> None:
    from infra.config_vault import VaultSettings, pair_problem

    site_a, site_b = (
        VaultSettings(address=ADDRESS),
        VaultSettings(address="https://openbao.site-b.example.internal"),
    )
    assert pair_problem(site_b, site_a, "Pulumi.primary.yaml") is None
    assert pair_problem(None, site_a, "Pulumi.primary.yaml") is None
    problem = pair_problem(VaultSettings(address=ADDRESS, kv_mount="other"), site_a, "Pulumi.primary.yaml")
    assert problem is not None
    assert problem.startswith("stack config 'vaultAddress' must differ from the primary's")
    assert f"got {ADDRESS!r} in both stacks, Pulumi.primary.yaml" in problem
