"""Vault config (issue 12): OpenBao / HashiCorp Vault secrets and the internal CA of an on-prem stack.

Read by `infra.config.parse_config` with its problem collector, so these keys report their
problems together with every other key's, in the same style.

- `vaultAddress` (https URL), `vaultKvMount` (default `inference-failover`),
  `vaultKubernetesAuthPath` (default `kubernetes`), `vaultCaCertificate` (PEM of the CA that
  signed the vault's TLS certificate; unset: the system trust store): the secrets vault of a
  `cloud: onprem` stack. The deployer's token comes from `VAULT_TOKEN` in the environment, never
  from the stack file, so there is deliberately no key for it.
- `tlsCertificate: internal-ca` with `internalCa: openbao` (the vault's PKI mount
  `vaultPkiMount`, default `pki`, signs through cert-manager's Vault issuer) or
  `internalCa: provided` (the secrets `internalCaCertificate` + `internalCaPrivateKey`, through
  cert-manager's CA issuer).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, cast

from infra import settings

if TYPE_CHECKING:
    from infra.config import _Reader

KEYS: Final = settings.area_keys("vault")
"""The vault settings (infra/settings.py)."""
VAULT_CLOUDS: Final = ("onprem",)
"""Clouds whose secrets vault is OpenBao / Vault (the others use their own managed vault)."""
DEFAULT_KV_MOUNT: Final = "inference-failover"
DEFAULT_KUBERNETES_AUTH_PATH: Final = "kubernetes"
DEFAULT_PKI_MOUNT: Final = "pki"
InternalCa = Literal["openbao", "provided"]
INTERNAL_CAS: Final[tuple[InternalCa, ...]] = ("openbao", "provided")
INTERNAL_CA_SECRETS: Final = ("internalCaCertificate", "internalCaPrivateKey")
"""Secret config keys of `internalCa: provided`: they go to cert-manager's CA issuer only, never
into the workload's vault path."""

# A Vault mount or auth path: segments of letters, digits, '-', '_' joined by '/', no leading or
# trailing slash (Vault strips and adds those itself; a doubled slash is a different path).
_MOUNT_PATH: Final = re.compile(r"^(?=.{1,128}$)[A-Za-z0-9][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_-]*)*$")
_HTTPS_ORIGIN: Final = re.compile(
    r"^https://(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::(?P<port>\d{1,5}))?/?$"
)
_RESERVED_MOUNTS: Final = frozenset({"sys", "auth", "cubbyhole", "identity", "token"})


@dataclass(frozen=True)
class VaultSettings:
    """Where the stack's OpenBao / Vault is and how the workload logs in to it."""

    address: str
    """https://host[:port], without a trailing slash."""
    kv_mount: str = DEFAULT_KV_MOUNT
    kubernetes_auth_path: str = DEFAULT_KUBERNETES_AUTH_PATH
    pki_mount: str = DEFAULT_PKI_MOUNT
    ca_certificate: str | None = None
    """PEM of the CA of the vault's TLS certificate (the pods and cert-manager trust it); None:
    the images' system trust store."""


@dataclass(frozen=True)
class InternalCaSettings:
    """`tlsCertificate: internal-ca`: who signs the edge certificate."""

    source: InternalCa


def read_vault(r: _Reader, cloud: str | None) -> VaultSettings | None:
    """The vault keys: required with `cloud: onprem`, refused on the clouds (their vault is managed)."""
    raw = r.raw
    stack = r.stack
    given = [k for k in sorted(KEYS - {"internalCa", *INTERNAL_CA_SECRETS}) if k in raw]
    if cloud is not None and cloud not in VAULT_CLOUDS:
        for key in given:
            r.problem(
                key,
                raw[key],
                f"unset on cloud {cloud} (its secrets live in the cloud's own vault)",
                f"remove it from Pulumi.{stack}.yaml, or set cloud: onprem",
            )
        return None
    address = r.text(
        "vaultAddress", required=cloud in VAULT_CLOUDS, example="https://openbao.example.internal:8200"
    )
    if address is not None:
        match = _HTTPS_ORIGIN.match(address)
        if match is None or not 1 <= int(match["port"] or 443) <= 65535:
            r.problem(
                "vaultAddress",
                address,
                "the https:// address of the OpenBao / Vault API, https://<host>[:<port>] without a path "
                "(plain http would send the vault token and the secrets in clear text)",
            )
            address = None
        else:
            address = address.rstrip("/")
    paths: dict[str, str] = {}
    for key, default in (
        ("vaultKvMount", DEFAULT_KV_MOUNT),
        ("vaultKubernetesAuthPath", DEFAULT_KUBERNETES_AUTH_PATH),
        ("vaultPkiMount", DEFAULT_PKI_MOUNT),
    ):
        value = (raw.get(key) or "").strip() or default
        if not _MOUNT_PATH.match(value) or value.split("/")[0] in _RESERVED_MOUNTS:
            r.problem(
                key,
                value,
                "a vault mount path: segments of letters, digits, - and _ joined by /, no leading or "
                f"trailing slash, not under {', '.join(sorted(_RESERVED_MOUNTS))} (default {default})",
            )
        paths[key] = value
    if paths["vaultKvMount"] == paths["vaultPkiMount"]:
        r.problem(
            "vaultPkiMount",
            paths["vaultPkiMount"],
            "a different mount from vaultKvMount (one path holds one secrets engine)",
        )
    ca = _ca_certificate(r)
    if address is None:
        return None
    return VaultSettings(
        address=address,
        kv_mount=paths["vaultKvMount"],
        kubernetes_auth_path=paths["vaultKubernetesAuthPath"],
        pki_mount=paths["vaultPkiMount"],
        ca_certificate=ca,
    )


def _ca_certificate(r: _Reader) -> str | None:
    pem = (r.raw.get("vaultCaCertificate") or "").strip()
    if not pem:
        return None
    from cryptography import x509

    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        r.problem(
            "vaultCaCertificate",
            "<PEM>",
            "the PEM certificate of the CA that signed the vault's TLS certificate "
            f"(it does not parse: {exc})",
            f'run `pulumi config set vaultCaCertificate -- "$(cat vault-ca.pem)" -s {r.stack}`, '
            "or remove it to use the system trust store",
        )
        return None
    not_ca = [c.subject.rfc4514_string() for c in certificates if not _is_ca(c)]
    if not_ca:
        r.problem(
            "vaultCaCertificate",
            "<PEM>",
            f"CA certificates only (not a CA: {', '.join(not_ca)})",
            "give the CA that signed the vault's certificate, not the vault's own certificate",
        )
        return None
    return pem + "\n"


def _is_ca(certificate: object) -> bool:
    from cryptography import x509

    cert = cast(x509.Certificate, certificate)
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def read_internal_ca(
    r: _Reader,
    tls_source: str | None,
    vault: VaultSettings | None,
    secret_keys: frozenset[str],
    now: datetime.datetime | None = None,
) -> InternalCaSettings | None:
    """`internalCa` and its secrets: required with `tlsCertificate: internal-ca`, refused otherwise."""
    raw = r.raw
    stack = r.stack
    if tls_source != "internal-ca":
        for key in ("internalCa", *INTERNAL_CA_SECRETS):
            if key in raw:
                shown = "<secret>" if key in INTERNAL_CA_SECRETS else raw[key]
                r.problem(
                    key,
                    shown,
                    f"unset with tlsCertificate: {tls_source or 'acme'}",
                    f"set tlsCertificate: internal-ca, or run `pulumi config rm {key} -s {stack}`",
                )
        return None
    if raw.get("acmeServer"):
        r.problem(
            "acmeServer",
            raw["acmeServer"],
            "unset with tlsCertificate: internal-ca",
            f"remove it from Pulumi.{stack}.yaml",
        )
    source = cast(InternalCa | None, r.choice("internalCa", INTERNAL_CAS))
    if source == "openbao":
        _openbao_ca_problems(r, vault)
    elif source == "provided":
        _provided_ca_problems(r, secret_keys, now)
        if "vaultPkiMount" in raw:
            r.problem(
                "vaultPkiMount",
                raw["vaultPkiMount"],
                "unset with internalCa: provided (only internalCa: openbao signs with the vault's PKI)",
                f"remove it from Pulumi.{stack}.yaml",
            )
    return InternalCaSettings(source) if source is not None else None


def _openbao_ca_problems(r: _Reader, vault: VaultSettings | None) -> None:
    """internalCa: openbao needs the stack's vault, whose PKI mount holds the CA key."""
    raw, stack = r.raw, r.stack
    if vault is None and "vaultAddress" not in {p.key for p in r.problems}:
        r.problem(
            "internalCa",
            "openbao",
            "provided unless the stack has a vault (vaultAddress, cloud: onprem)",
            "set internalCa: provided with internalCaCertificate and internalCaPrivateKey "
            f"in Pulumi.{stack}.yaml",
        )
    for key in INTERNAL_CA_SECRETS:
        if key in raw:
            r.problem(
                key,
                "<secret>",
                "unset with internalCa: openbao (the vault's PKI mount holds the CA key)",
                f"run `pulumi config rm {key} -s {stack}`",
            )


def _provided_ca_problems(r: _Reader, secret_keys: frozenset[str], now: datetime.datetime | None) -> None:
    from infra.config import OFFLINE_SECRET_PLACEHOLDER

    raw: Mapping[str, str] = r.raw
    stack = r.stack
    missing = False
    for key in INTERNAL_CA_SECRETS:
        what = "the CA's unencrypted PEM key"
        if key == "internalCaCertificate":
            what = "the PEM certificate of the CA"
        if not (raw.get(key) or "").strip():
            missing = True
            r.problem(
                key,
                None,
                f"set to {what} with internalCa: provided",
                f"run `cat <file> | pulumi config set --secret {key} -s {stack}`, or use internalCa: openbao",
            )
        elif key not in secret_keys:
            r.problem(
                key,
                "<plain text>",
                "a secret, not plain text",
                f"run `cat <file> | pulumi config set --secret {key} -s {stack}` and remove the plain value",
            )
    cert, key_pem = raw.get("internalCaCertificate", ""), raw.get("internalCaPrivateKey", "")
    if missing or OFFLINE_SECRET_PLACEHOLDER in (cert, key_pem):
        return
    for problem in ca_problems(cert, key_pem, now):
        r.problem(
            "internalCaCertificate",
            "<secret certificate>",
            problem,
            f"give the issuing CA's certificate and key with `cat ca.pem | pulumi config set --secret "
            f"internalCaCertificate -s {stack}` (and internalCaPrivateKey)",
        )


def ca_problems(cert_pem: str, key_pem: str, now: datetime.datetime | None = None) -> list[str]:
    """What is wrong with a provided CA (empty when cert-manager's CA issuer can sign with it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certificate = x509.load_pem_x509_certificates(cert_pem.encode())[0]
    except ValueError as exc:
        return [f"a PEM CA certificate (it does not parse: {exc})"]
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        return [
            f"paired with an unencrypted PEM private key in internalCaPrivateKey (it does not load: {exc})"
        ]
    problems = []
    if not _is_ca(certificate):
        problems.append("a CA certificate (basicConstraints CA:TRUE); this one is a leaf")
    now = now or datetime.datetime.now(datetime.UTC)
    if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
        problems.append(
            f"valid now (it is valid from {certificate.not_valid_before_utc:%Y-%m-%d} "
            f"to {certificate.not_valid_after_utc:%Y-%m-%d})"
        )
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, public) != certificate.public_key().public_bytes(der, public):
        problems.append("the certificate of the key in internalCaPrivateKey (the public keys differ)")
    return problems


def secrets_of(internal_ca: InternalCaSettings | None) -> tuple[str, ...]:
    """Secret config keys the internal CA adds (its certificate and key with internalCa: provided)."""
    return INTERNAL_CA_SECRETS if internal_ca is not None and internal_ca.source == "provided" else ()


def pair_problem(
    standby: VaultSettings | None, primary: VaultSettings | None, primary_file: str
) -> str | None:
    """Why the standby must not use the primary's vault (None when it does not)."""
    if standby is None or primary is None or standby.address != primary.address:
        return None
    return (
        f"stack config 'vaultAddress' must differ from the primary's (got {standby.address!r} in both "
        f"stacks, {primary_file}): a standby reading the primary site's vault fails with that site, and "
        f"both stacks would create the KV mount {standby.kv_mount!r} there; give each site its own vault"
    )
