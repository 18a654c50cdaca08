"""The stack's OpenBao / Vault (cloud: onprem) and internal CA (tlsCertificate: internal-ca), from
the validated config (infra/config_vault.py) to the components' Args."""

from __future__ import annotations

from typing import Any

import pulumi

from components.inference_cluster.internal_ca import InternalCa, InternalCaArgs, InternalCaVault
from components.secrets_vault import OpenBaoArgs
from infra.config import StackConfig
from infra.config_vault import INTERNAL_CA_SECRETS
from infra.onprem import store_key_reads


def openbao_args(cfg: StackConfig) -> OpenBaoArgs | None:
    """SecretsVaultArgs.openbao of a stack with a vault (cloud: onprem), else None."""
    if cfg.vault is None:
        return None
    return OpenBaoArgs(
        address=cfg.vault.address,
        kv_mount=cfg.vault.kv_mount,
        kubernetes_auth_path=cfg.vault.kubernetes_auth_path,
        ca_certificate=cfg.vault.ca_certificate,
        # The site store's read-only key, which the workload streams the model with (infra/onprem.py).
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
            image_registry=cfg.onprem.image_registry if cfg.onprem is not None else None,
        ),
    )
