"""The stack's OpenBao / Vault (cloud: onprem) and internal CA (tlsCertificate: internal-ca), from
the validated config (infra/config_vault.py) to the components' Args."""

from __future__ import annotations

from typing import Any

import pulumi

from components.inference_cluster.internal_ca import InternalCa, InternalCaArgs, InternalCaVault
from components.secrets_vault import OpenBaoArgs
from infra.config import StackConfig
from infra.config_vault import INTERNAL_CA_SECRETS

STORE_KEY_SECRETS = ("s3AccessKeyId", "s3SecretAccessKey")
"""Names the workload's init container writes the site store's key pair to (the server exports
them to the model streamer; components/inference_cluster/onprem_workload.py reads these files)."""


def store_key_reads(cfg: StackConfig) -> tuple[tuple[str, str, str], ...]:
    """OpenBaoArgs.extra_reads for the site store's key: the read-only key when there is one
    (`s3ReadCredentialsPath`), else the store's own key (`s3CredentialsPath`)."""
    store = cfg.s3_store
    if store is None:
        return ()
    from components.object_store.onprem import ACCESS_KEY_FIELD, SECRET_KEY_FIELD

    path = store.read_credentials_path or store.credentials_path
    access, secret = STORE_KEY_SECRETS
    return ((access, path, ACCESS_KEY_FIELD), (secret, path, SECRET_KEY_FIELD))


def openbao_args(cfg: StackConfig) -> OpenBaoArgs | None:
    """SecretsVaultArgs.openbao of a stack with a vault (cloud: onprem), else None."""
    if cfg.vault is None:
        return None
    return OpenBaoArgs(
        address=cfg.vault.address,
        kv_mount=cfg.vault.kv_mount,
        kubernetes_auth_path=cfg.vault.kubernetes_auth_path,
        ca_certificate=cfg.vault.ca_certificate,
        extra_reads=store_key_reads(cfg),
    )


def vault_secrets(secrets: dict[str, pulumi.Output[str]]) -> dict[str, pulumi.Output[str]]:
    """The secrets the stack's vault holds: all but the provided internal CA's certificate and key,
    which go to cert-manager only (no workload may ever read a CA key)."""
    return {name: value for name, value in secrets.items() if name not in INTERNAL_CA_SECRETS}


def internal_ca_issuer(
    name: str, cfg: StackConfig, k8s_provider: Any, vault: Any, secrets: dict[str, pulumi.Output[str]]
) -> InternalCa | None:
    """cert-manager with the internal CA's ClusterIssuer (tlsCertificate: internal-ca), else None."""
    if cfg.edge.tls_source != "internal-ca" or cfg.internal_ca is None:
        return None
    vault_access = None
    if cfg.internal_ca.source == "openbao":
        assert cfg.vault is not None  # parse_config requires a vault for internalCa: openbao
        vault_access = InternalCaVault(
            provider=vault.vault_provider,
            address=cfg.vault.address,
            pki_mount=cfg.vault.pki_mount,
            kubernetes_auth_path=cfg.vault.kubernetes_auth_path,
            ca_certificate=cfg.vault.ca_certificate,
        )
    provided = cfg.internal_ca.source == "provided"
    return InternalCa(
        name,
        InternalCaArgs(
            k8s_provider=k8s_provider,
            stack=cfg.stack,
            service_name=cfg.dns.fqdn,
            source=cfg.internal_ca.source,
            vault=vault_access,
            ca_certificate=secrets["internalCaCertificate"] if provided else None,
            ca_private_key=secrets["internalCaPrivateKey"] if provided else None,
        ),
    )
