"""The S3-compatible model store and replication with a site, from the validated config to the Args.

`infra/program.py` calls these for `cloud: onprem` (the store) and for a standby paired with a
site (replication): the store's endpoint and key paths (infra/config_s3store.py), the site's
vault (infra/config_vault.py), and, for a standby reading an on-prem primary, a vault provider
for the primary's vault, the standby's explicit provider for "the primary's cloud".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pulumi

from components.common import WorkloadIdentity
from components.object_store.args import VAULT_ADDRESS, S3CompatibleStore
from infra.config import StackConfig
from infra.config_s3_capabilities import AuditEndpointSettings

PRIMARY_VAULT_TOKEN_FILE: Final = "PRIMARY_VAULT_TOKEN_FILE"
"""A standby on a site reading an on-prem primary talks to two vaults: its own with VAULT_TOKEN
(the secrets-vault component's provider) and the primary's with the token in this file."""


class PrimaryVaultTokenError(RuntimeError):
    """Two vaults, one VAULT_TOKEN: the primary's token file is not given."""


def s3_compatible_store(cfg: StackConfig) -> S3CompatibleStore | None:
    """ModelStoreArgs.s3_compatible of an onprem stack, else None."""
    store = cfg.s3_store
    if store is None:
        return None
    site_vault = cfg.vault  # infra/config_vault.py
    if site_vault is None:
        raise ValueError(
            f"stack '{cfg.stack}' keeps its S3 keys in a vault but has no vault settings: set vaultAddress"
        )
    return S3CompatibleStore(
        endpoint=store.endpoint,
        region=store.region,
        credentials_path=store.credentials_path,
        read_credentials_path=store.read_credentials_path,
        encryption=store.encryption,
        vault_address=site_vault.address,
        vault_kv_mount=site_vault.kv_mount,
        vault_kubernetes_auth_path=site_vault.kubernetes_auth_path,
        capabilities=store.capabilities,
        audit_endpoint=_audit_endpoint(store.audit, site_vault),
    )


def _audit_endpoint(audit: AuditEndpointSettings | None, site_vault: Any) -> S3CompatibleStore | None:
    """The auditS3Endpoint store (Object Lock, SSE-S3), its key in the site's vault."""
    if audit is None:
        return None
    return S3CompatibleStore(
        endpoint=audit.endpoint,
        region=audit.region,
        credentials_path=audit.credentials_path,
        vault_address=site_vault.address,
        vault_kv_mount=site_vault.kv_mount,
        vault_kubernetes_auth_path=site_vault.kubernetes_auth_path,
    )


def require_primary_vault_token(cfg: StackConfig, environ: Mapping[str, str] | None = None) -> None:
    """Before any resource: a site standby of a site primary needs the primary vault's token file."""
    env = os.environ if environ is None else environ
    if cfg.is_standby and cfg.cloud == "onprem" and cfg.primary_cloud == "onprem":
        path = env.get(PRIMARY_VAULT_TOKEN_FILE, "")
        if not path or not os.path.isfile(path):
            raise PrimaryVaultTokenError(
                f"stack '{cfg.stack}' replicates from an on-prem primary, whose vault is not this site's: "
                f"{PRIMARY_VAULT_TOKEN_FILE} must name a file holding a token of the primary's vault "
                f"(got {path!r}); it needs to manage one JWT auth mount, one role and one policy there. "
                "Nothing was created"
            )


def primary_vault_provider(cfg: StackConfig, source_store: pulumi.Output[Any]) -> pulumi.ProviderResource:
    """The standby's explicit provider for an on-prem primary: the primary's vault, from its
    `modelStore` output (no invoke against the primary site)."""
    import pulumi_vault as vault

    token_file = os.environ.get(PRIMARY_VAULT_TOKEN_FILE)
    return vault.Provider(
        "primary-vault",
        vault.ProviderArgs(
            address=source_store.apply(lambda d: str(d[VAULT_ADDRESS])),
            skip_child_token=True,
            auth_login_token_file=(
                vault.ProviderAuthLoginTokenFileArgs(filename=token_file)
                if cfg.cloud == "onprem" and token_file
                else None
            ),
        ),
    )


@dataclass(frozen=True)
class SiteReplicationCluster:
    """A site cluster as replication sees it: its token issuer is the configured one."""

    cluster: Any
    issuer: str

    @property
    def oidc_issuer_url(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input(self.issuer)

    @property
    def identity(self) -> WorkloadIdentity:
        identity: WorkloadIdentity = self.cluster.identity
        return identity

    @property
    def federation_ready(self) -> pulumi.Resource:
        ready: pulumi.Resource = self.cluster.federation_ready
        return ready

    @property
    def k8s_provider(self) -> pulumi.ProviderResource:
        provider: pulumi.ProviderResource = self.cluster.k8s_provider
        return provider


def replication_cluster(cfg: StackConfig, cluster: Any) -> Any:
    """The standby's cluster for CrossCloudReplicationArgs: a site's with `serviceAccountIssuer`."""
    if cfg.s3_store is not None and cfg.s3_store.service_account_issuer is not None:
        return SiteReplicationCluster(cluster, cfg.s3_store.service_account_issuer)
    return cluster
