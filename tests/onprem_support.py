"""Runs of the on-prem cluster and workload under mocks, from the real onprem stack config.

Until the site's store and vault are part of the program (issue 12, items 2 and 3), these runs
build what infra/program.py builds for a site up to the workload (providers, the cluster, the
workload with the site's settings), giving the workload the store URI and vault references in
the forms those parts produce (s3:// on the site endpoint; KV v2 read URLs).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pulumi

from components.inference_cluster import (
    InferenceClusterArgs,
    InferenceWorkload,
    InferenceWorkloadArgs,
    create_inference_cluster,
)
from components.inference_cluster.onprem_workload import S3_KEY_SECRETS
from infra.config import StackConfig
from infra.edge import edge_key_digests, provided_certificate_sha256
from infra.harness import ProgramRun, run_stack
from infra.onprem import gpu_scheduling, onprem_site
from infra.providers import make_providers
from tests.support import pair_secrets, primary_overrides

VAULT = "https://vault.site.internal:8200"
STORE = "https://s3.site.internal:8333"


def vault_refs(cfg: StackConfig) -> dict[str, str]:
    return {
        name: f"{VAULT}/v1/inference-failover/data/{cfg.stack}/{name}"
        for name in (*cfg.secret_names, *S3_KEY_SECRETS)
    }


def site_program(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
    providers = make_providers(cfg, None)
    placement = providers.placement(cfg.cloud)
    cluster = create_inference_cluster(
        cfg.role,
        InferenceClusterArgs(
            placement=placement,
            onprem=onprem_site(cfg, placement),
            gpu_type=cfg.gpu.gpu_type,
            gpu_machine_type=cfg.gpu.shape.machine_type,
            gpu_accelerator=None,
            gpus_per_node=cfg.gpu.gpus_per_node,
            gpu_node_count=cfg.effective_node_count,
            gpu_max_node_count=cfg.gpu.max_node_count,
        ),
    )
    assert cfg.onprem is not None and cfg.serving is not None
    workload = InferenceWorkload(
        cfg.role,
        InferenceWorkloadArgs(
            cloud="onprem",
            k8s_provider=cluster.k8s_provider,
            identity=cluster.identity,
            image=cfg.serving_image,
            model_name=cfg.model_name,
            model_uri=f"s3://models-{cfg.region}/{cfg.model_path}",
            replicas=cfg.effective_replicas,
            gpus_per_replica=cfg.gpu.gpus_per_node,
            tensor_parallel_size=cfg.serving.tensor_parallel_size,
            max_model_len=cfg.serving.max_model_len,
            secret_refs=vault_refs(cfg),
            public_address=cluster.public_address,
            service_name=cfg.dns.fqdn,
            api_key_digests=edge_key_digests(secrets),
            tls_source=cfg.edge.tls_source,
            provided_certificate_sha256=provided_certificate_sha256(cfg, secrets),
            gpu_scheduling=gpu_scheduling(cfg),
            model_endpoint=STORE,
            egress_ports=(8200, 8333),
            mirror_registry=cfg.onprem.image_registry,
            fetch_image=cfg.serving_image,
        ),
    )
    return {
        "endpointHost": workload.endpoint_host,
        "endpointAddresses": workload.endpoint_addresses,
        "clusterName": cluster.cluster_name,
        "gpuPoolNames": cluster.gpu_pool_names,
        "kubeconfig": pulumi.Output.secret(cluster.kubeconfig),
        "workloadIdentity": cluster.identity.principal,
    }


@cache
def site_run(extra: tuple[tuple[str, Any], ...] = ()) -> ProgramRun:
    """The shipped primary moved to a site (tests.support PROFILES['onprem']), plus `extra`."""
    overrides = {**primary_overrides("onprem", "aws"), **dict(extra)}
    return run_stack("primary", overrides, pair_secrets("onprem", "aws"), program=site_program)
