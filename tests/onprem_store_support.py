"""Mocked runs of the on-prem model store and of replication to and from it.

Until the stack program wires `cloud: onprem` end to end, these runs use the harness with a small
program: the shipped stack file's config and the real mocks and monitor (default providers
refused), and the components exactly as `infra/program.py` calls them. A cloud side is the real
program's own store (its primary's `modelStore` output) or the same component it creates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common import Placement, WorkloadIdentity
from components.object_store import (
    CrossCloudReplicationArgs,
    ModelStoreArgs,
    create_cross_cloud_replication,
    create_model_store,
)
from components.object_store.args import S3CompatibleStore
from infra import outputs
from offline.harness import ProgramRun, run_stack
from tests.support import TEST_SECRETS, pair

SITE = "site-a"
STANDBY_SITE = "site-b"
ENDPOINT = "https://s3.site-a.example.internal"
STANDBY_ENDPOINT = "https://10.20.0.15:9000"
VAULT = "https://bao.site-a.example.internal:8200"
STANDBY_VAULT = "https://bao.site-b.example.internal:8200"
ISSUER = "https://oidc.site-b.example.org/cluster"
"""The on-prem standby cluster's service-account issuer, published over https (see README)."""


def s3_settings(primary: bool, **overrides: Any) -> S3CompatibleStore:
    values: dict[str, Any] = {
        "endpoint": ENDPOINT if primary else STANDBY_ENDPOINT,
        "credentials_path": f"s3/{SITE if primary else STANDBY_SITE}/deployer",
        "read_credentials_path": f"s3/{SITE if primary else STANDBY_SITE}/replication-reader",
        "vault_address": VAULT if primary else STANDBY_VAULT,
        "region": "default" if primary else "us-east-1",
    }
    return S3CompatibleStore(**{**values, **overrides})


@dataclass
class FakeCluster:
    """What replication needs from an on-prem cluster component (ReplicationCluster)."""

    k8s_provider: pulumi.ProviderResource
    oidc_issuer_url: pulumi.Output[str]
    identity: WorkloadIdentity
    federation_ready: pulumi.Resource


def onprem_placement(site: str, stack: str) -> tuple[Placement, k8s.Provider]:
    provider = k8s.Provider(f"{site}-k8s", k8s.ProviderArgs(kubeconfig="apiVersion: v1\nkind: Config\n"))
    return Placement(cloud="onprem", region=site, provider=provider, stack=stack), provider


def onprem_reader() -> WorkloadIdentity:
    principal = pulumi.Output.from_input("system:serviceaccount:inference:model-server")
    return WorkloadIdentity(
        cloud="onprem",
        principal=principal,
        name=principal,
        client_id=None,
        namespace="inference",
        service_account="model-server",
    )


def _store_program(settings: S3CompatibleStore, site: str, deletion_protection: bool = True) -> Any:
    def program(cfg: Any, secrets: Any) -> dict[str, Any]:
        placement, _ = onprem_placement(site, cfg.stack)
        store = create_model_store(
            cfg.role,
            ModelStoreArgs(
                placement=placement,
                reader=onprem_reader(),
                s3_compatible=settings,
                deletion_protection=deletion_protection,
            ),
        )
        return {outputs.MODEL_STORE: store.descriptor, outputs.MODEL_BUCKET: store.bucket_name}

    return program


@cache
def onprem_primary(**overrides: Any) -> ProgramRun:
    """The shipped primary stack's config, its model store on site-a's S3-compatible store."""
    return run_stack(
        "primary", secrets=TEST_SECRETS, program=_store_program(s3_settings(True, **overrides), SITE)
    )


def _replication_program(
    source_cloud: str, source_store: dict[str, Any], target_cloud: str, issuer: str | None = None
) -> Any:
    def program(cfg: Any, secrets: Any) -> dict[str, Any]:
        import pulumi_vault as vault

        if target_cloud == "onprem":
            placement, k8s_provider = onprem_placement(STANDBY_SITE, cfg.stack)
            reader = onprem_reader()
            store_args = ModelStoreArgs(placement=placement, reader=reader, s3_compatible=s3_settings(False))
        else:
            import pulumi_aws as aws

            provider = aws.Provider("standby-aws", aws.ProviderArgs(region="us-west-2"))
            placement = Placement(cloud="aws", region="us-west-2", provider=provider, stack=cfg.stack)
            k8s_provider = k8s.Provider("standby-k8s", k8s.ProviderArgs(kubeconfig="apiVersion: v1\n"))
            role = pulumi.Output.from_input("arn:aws:iam::123456789012:role/standby-model-server")
            reader = WorkloadIdentity(
                cloud="aws",
                principal=role,
                name=pulumi.Output.from_input("standby-model-server"),
                client_id=None,
                namespace="inference",
                service_account="model-server",
            )
            store_args = ModelStoreArgs(placement=placement, reader=reader)
        store = create_model_store(cfg.role, store_args)
        if source_cloud == "onprem":
            source_provider: pulumi.ProviderResource = vault.Provider(
                "primary-vault", vault.ProviderArgs(address=VAULT)
            )
        elif source_cloud == "aws":
            import pulumi_aws as aws

            source_provider = aws.Provider("primary-aws", aws.ProviderArgs(region="us-east-1"))
        elif source_cloud == "gcp":
            import pulumi_gcp as gcp

            source_provider = gcp.Provider("primary-gcp", gcp.ProviderArgs(project="acme-inference-standby"))
        else:
            import pulumi_azure_native as azure_native

            source_provider = azure_native.Provider(
                "primary-azure", azure_native.ProviderArgs(location="eastus")
            )
        default = ISSUER if target_cloud == "onprem" else "https://oidc.eks.us-west-2.amazonaws.com/id/ABC123"
        cluster = FakeCluster(
            k8s_provider=k8s_provider,
            oidc_issuer_url=pulumi.Output.from_input(default if issuer is None else issuer),
            identity=reader,
            federation_ready=k8s_provider,
        )
        replication = create_cross_cloud_replication(
            cfg.role,
            CrossCloudReplicationArgs(
                target=placement,
                target_store=store,
                source_cloud=source_cloud,  # type: ignore[arg-type]
                source_store=source_store,
                source_provider=source_provider,
                interval_minutes=15,
                target_cluster=cluster,
            ),
        )
        return {outputs.MODEL_STORE: store.descriptor, outputs.REPLICATION: replication.descriptor}

    return program


@cache
def replication_run(source_cloud: str, target_cloud: str, issuer: str | None = None) -> ProgramRun:
    """A standby on `target_cloud` (onprem or aws) replicating from a primary on `source_cloud`."""
    if source_cloud == "onprem":
        source = onprem_primary().outputs[outputs.MODEL_STORE]
    else:
        source = pair(source_cloud, "gcp" if source_cloud != "gcp" else "aws")[0].outputs[outputs.MODEL_STORE]
    return run_stack(
        "standby",
        None,
        TEST_SECRETS,
        program=_replication_program(source_cloud, dict(source), target_cloud, issuer),
    )
