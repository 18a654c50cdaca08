"""infra/s3store.py: from the validated config to the on-prem store's and replication's Args."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from infra.config_s3store import S3StoreSettings
from infra.s3store import (
    PRIMARY_VAULT_TOKEN_FILE,
    PrimaryVaultTokenError,
    SiteReplicationCluster,
    replication_cluster,
    require_primary_vault_token,
    s3_compatible_store,
)

STORE = S3StoreSettings(
    endpoint="https://s3.site-b.example.internal",
    region="default",
    credentials_path="s3/site-b/deployer",
    read_credentials_path=None,
    encryption="sse-s3",
    service_account_issuer="https://oidc.site-b.example.org",
)
VAULT = SimpleNamespace(
    address="https://bao.site-b.example.internal:8200", kv_mount="site-b", kubernetes_auth_path="k8s-site-b"
)


def cfg(**values: Any) -> Any:
    base = {"stack": "standby", "cloud": "onprem", "primary_cloud": "onprem", "is_standby": True}
    return SimpleNamespace(**{**base, "s3_store": STORE, "vault": VAULT, **values})


def test_the_store_args_join_the_s3_keys_and_the_sites_vault() -> None:
    store = s3_compatible_store(cfg())
    assert store is not None
    assert (store.endpoint, store.region, store.credentials_path, store.encryption) == (
        "https://s3.site-b.example.internal",
        "default",
        "s3/site-b/deployer",
        "sse-s3",
    )
    assert (store.vault_address, store.vault_kv_mount, store.vault_kubernetes_auth_path) == (
        "https://bao.site-b.example.internal:8200",
        "site-b",
        "k8s-site-b",
    )
    assert store.problems() == []
    assert s3_compatible_store(cfg(s3_store=None)) is None
    with pytest.raises(ValueError, match="has no vault settings: set vaultAddress"):
        s3_compatible_store(cfg(vault=None))


def test_a_site_standby_of_a_site_primary_needs_the_primary_vaults_token_file(tmp_path: Path) -> None:
    with pytest.raises(PrimaryVaultTokenError) as caught:
        require_primary_vault_token(cfg(), environ={})
    assert f"{PRIMARY_VAULT_TOKEN_FILE} must name a file holding a token of the primary's vault" in str(
        caught.value
    )
    assert "Nothing was created" in str(caught.value)
    token = tmp_path / "primary-token"
    token.write_text("s.test")
    require_primary_vault_token(cfg(), environ={PRIMARY_VAULT_TOKEN_FILE: str(token)})
    # One vault only: a cloud standby of a site, or a site standby of a cloud.
    require_primary_vault_token(cfg(cloud="aws"), environ={})
    require_primary_vault_token(cfg(primary_cloud="aws"), environ={})


def test_a_site_cluster_replicates_with_its_configured_token_issuer() -> None:
    cluster = SimpleNamespace(identity="id", federation_ready="ready", k8s_provider="provider")
    wrapped = replication_cluster(cfg(), cluster)
    assert isinstance(wrapped, SiteReplicationCluster)
    assert (wrapped.identity, wrapped.federation_ready, wrapped.k8s_provider) == ("id", "ready", "provider")
    assert wrapped.issuer == "https://oidc.site-b.example.org"
    assert replication_cluster(cfg(s3_store=None), cluster) is cluster
