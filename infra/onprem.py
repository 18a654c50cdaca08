"""The on-prem target in the stack program: what infra/program.py does differently on a site.

The cluster exists (components/inference_cluster/onprem.py); the workload is told how to find the
GPU nodes, the site's store and vault, and the site registry. The pieces built by the other parts
of issue 12 (S3-compatible store, OpenBao/Vault, write-once audit store, replication with a site)
are checked for before anything is registered, so a stack that needs a missing one fails with a
message instead of half-applying.
"""

from __future__ import annotations

import importlib.util
from typing import Any
from urllib.parse import urlsplit

import pulumi

from components.common import Placement
from components.inference_cluster import GpuScheduling, OnpremSite
from components.inference_cluster.onprem_workload import S3_KEY_SECRETS
from infra.config import PROJECT, StackConfig


class OnpremNotReadyError(RuntimeError):
    """A part of the onprem target this stack needs is not in this version of the project."""


# (module that implements the part, what it is, when the stack needs it)
_PARTS: tuple[tuple[str, str, str], ...] = (
    ("components.object_store.onprem", "the model store on an S3-compatible endpoint (s3Endpoint)", "site"),
    ("components.secrets_vault.openbao", "secrets in OpenBao/Vault (vaultAddress)", "site"),
    ("components.audit.onprem", "the write-once audit store on the site's S3-compatible store", "site"),
    ("components.object_store.replication_onprem", "replication between a cloud and a site", "pair"),
)


def missing_parts(cfg: StackConfig) -> list[str]:
    """What this stack needs from the onprem target that is not implemented (empty: all there)."""
    on_site = cfg.cloud == "onprem"
    paired = cfg.is_standby and "onprem" in (cfg.cloud, cfg.primary_cloud)
    missing = []
    for module, what, when in _PARTS:
        needed = on_site if when == "site" else paired
        if needed and importlib.util.find_spec(module) is None:
            missing.append(f"{what} ({module.replace('.', '/')}.py)")
    return missing


def require_onprem_parts(cfg: StackConfig) -> None:
    missing = missing_parts(cfg)
    if missing:
        raise OnpremNotReadyError(
            f"stack '{cfg.stack}' runs on or pairs with cloud: onprem, which is not complete yet: "
            + "; ".join(missing)
            + " not yet implemented (issue 12). Nothing was created: keep this stack on aws, gcp or "
            "azure until those parts land"
        )


def onprem_site(cfg: StackConfig, placement: Placement) -> OnpremSite:
    site = cfg.onprem
    assert site is not None
    kubeconfig: pulumi.Input[str] = (
        site.kubeconfig_path
        if site.kubeconfig_path is not None
        else pulumi.Config(PROJECT).require_secret("kubeconfig")
    )
    return OnpremSite(
        gpu=gpu_scheduling(cfg),
        exposure=site.exposure,
        exposure_address=site.exposure_address,
        kubeconfig=kubeconfig,
        # serviceAccountIssuer (infra/config_s3store.py): what replication into this site trusts.
        service_account_issuer=(cfg.s3_store.service_account_issuer or "") if cfg.s3_store else "",
    )


def gpu_scheduling(cfg: StackConfig) -> GpuScheduling:
    site = cfg.onprem
    assert site is not None
    taint = site.gpu_taint
    return GpuScheduling(
        node_selector=dict(site.gpu_node_selector),
        taint_key=taint.key if taint else None,
        taint_value=taint.value if taint else "",
        taint_effect=taint.effect if taint else "NoSchedule",
        resource_name=site.gpu_resource_name,
    )


def _port(url: str | None) -> int | None:
    if not url:
        return None
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def onprem_workload_args(cfg: StackConfig, store: Any) -> dict[str, Any]:
    """InferenceWorkloadArgs fields of a site: GPU nodes, store endpoint, egress, registry."""
    site = cfg.onprem
    if site is None:
        return {}
    config = pulumi.Config(PROJECT)
    endpoint = config.get("s3Endpoint")
    ports = {p for p in (_port(endpoint), _port(config.get("vaultAddress"))) if p is not None}
    return {
        "gpu_scheduling": gpu_scheduling(cfg),
        "model_endpoint": endpoint,
        "egress_ports": tuple(sorted(ports)) or (443,),
        "mirror_registry": site.image_registry,
        # The serving image reads the vault at pod start (python3): one image less to mirror.
        "fetch_image": cfg.serving_image,
    }


def distinct_site(cfg: StackConfig, primary: pulumi.StackReference | None) -> pulumi.Input[str]:
    """The stack's region; a standby on a site paired with a primary on a site must be another
    site (the same site would share its failure domain), which only the primary's outputs tell."""
    if not (cfg.onprem is not None and cfg.primary_cloud == "onprem" and primary is not None):
        return cfg.region

    def check(primary_region: Any) -> str:
        if primary_region == cfg.region:
            raise RuntimeError(
                f"stack config 'region' must name another site than the primary's (got {cfg.region!r}, "
                f"the primary's site too): a standby on the primary's own site shares its failure "
                f"domain; set region to the standby site's name in Pulumi.{cfg.stack}.yaml"
            )
        return cfg.region

    return primary.get_output("region").apply(check)


# --- The site's store and vault (issue 12 items 2 and 3), wired into the program -----------------


def store_key_reads(cfg: StackConfig) -> tuple[tuple[str, str, str], ...]:
    """OpenBaoArgs.extra_reads of a site: the store's read-only key (s3ReadCredentialsPath), which
    the workload's vault role may read and its reader writes next to the other secrets, so the
    server streams the model with it (never the deployer's key, never a copy in the stack's path)."""
    settings = getattr(cfg, "s3_store", None)
    if settings is None or settings.read_credentials_path is None:
        return ()
    path = settings.read_credentials_path
    return (
        (S3_KEY_SECRETS[0], path, "access_key_id"),
        (S3_KEY_SECRETS[1], path, "secret_access_key"),
    )


def replication_source_provider(
    cfg: StackConfig, providers: Any, primary: pulumi.StackReference
) -> pulumi.ProviderResource:
    """The provider replication grants read access with: the primary's cloud, or for a primary on
    a site its vault (infra/s3store.py: address from the primary's modelStore output, the token
    from PRIMARY_VAULT_TOKEN_FILE when this stack has a vault of its own)."""
    if cfg.primary_cloud != "onprem":
        assert cfg.primary_cloud is not None
        return providers.provider(cfg.primary_cloud)
    from infra import outputs
    from infra.s3store import primary_vault_provider

    return primary_vault_provider(cfg, primary.get_output(outputs.MODEL_STORE))


def replication_images(cfg: StackConfig) -> dict[str, Any]:
    """CrossCloudReplicationArgs images of a standby on a site: from its registry (same digests)."""
    if cfg.onprem is None:
        return {}
    from components.inference_cluster.onprem_workload import relocate
    from components.object_store.args import RCLONE_IMAGE, VAULT_LOGIN_IMAGE

    registry = cfg.onprem.image_registry
    return {
        "rclone_image": relocate(RCLONE_IMAGE, registry),
        "vault_login_image": relocate(VAULT_LOGIN_IMAGE, registry),
    }
