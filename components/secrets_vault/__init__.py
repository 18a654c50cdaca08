"""Secrets vault: the stack's own copy of every configured secret, readable only by the workload.

    vault = create_secrets_vault(name, SecretsVaultArgs(placement=..., secrets=..., reader=...))
    vault.secret_refs  # {"apiKey": <ARN | projects/p/secrets/id | https://kv.vault.azure.net/secrets/apiKey>}

aws: Secrets Manager + customer-managed KMS key; gcp: Secret Manager + Cloud KMS (CMEK);
azure: Key Vault with RBAC; onprem: a KV v2 mount in an existing OpenBao / HashiCorp Vault, read
through Kubernetes auth (openbao.py). Each stack provisions the same secret names from its own config.
"""

from __future__ import annotations

import pulumi

from components.common import unsupported_cloud
from components.secrets_vault.args import OpenBaoArgs, SecretsVault, SecretsVaultArgs

__all__ = ["OpenBaoArgs", "SecretsVault", "SecretsVaultArgs", "create_secrets_vault"]


def create_secrets_vault(
    name: str, args: SecretsVaultArgs, opts: pulumi.ResourceOptions | None = None
) -> SecretsVault:
    """The vault for `args.placement.cloud`; `name` prefixes every child resource's name.

    Each cloud's module (and so its Pulumi SDK) is imported only when a stack uses that cloud.
    """
    match args.placement.cloud:
        case "aws":
            from components.secrets_vault.aws import AwsSecretsVault

            return AwsSecretsVault(name, args, opts)
        case "gcp":
            from components.secrets_vault.gcp import GcpSecretsVault

            return GcpSecretsVault(name, args, opts)
        case "azure":
            from components.secrets_vault.azure import AzureSecretsVault

            return AzureSecretsVault(name, args, opts)
        case "onprem":
            from components.secrets_vault.onprem import OpenBaoSecretsVault

            return OpenBaoSecretsVault(name, args, opts)
        case _:
            raise unsupported_cloud(args.placement.cloud, ("aws", "gcp", "azure", "onprem"))
