"""How a pod logs in to the stack's OpenBao / HashiCorp Vault (cloud: onprem): the contract between
the secrets vault (which creates the Kubernetes auth role) and the workload (whose init container
logs in with its projected service-account token). Neutral, so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class VaultLogin:
    address: str
    """https://host[:port] of the vault API."""
    auth_path: str
    """Mount path of the Kubernetes auth method (`vaultKubernetesAuthPath`), without `auth/`."""
    role: pulumi.Input[str]
    """Kubernetes auth role bound to the workload's service account and namespace only."""
    audience: str
    """Audience of the projected service-account token; the role accepts no other."""
    ca_certificate: str | None = None
    """PEM of the CA of the vault's TLS certificate; None: the image's system trust store."""
