"""onprem: the secrets vault of a site is OpenBao / HashiCorp Vault (openbao.py, named after the
product); this module keeps the one-module-per-cloud layout."""

from components.secrets_vault.openbao import OpenBaoSecretsVault

__all__ = ["OpenBaoSecretsVault"]
