"""GPU inference cluster (EKS / GKE / AKS) and the inference workload that runs on it.

cluster = create_inference_cluster("primary", InferenceClusterArgs(placement=..., ...))
InferenceWorkload("primary", InferenceWorkloadArgs(cloud=..., k8s_provider=cluster.k8s_provider,
                                                   identity=cluster.identity, ...))
"""

from __future__ import annotations

import pulumi

from components.inference_cluster.args import (
    GPU_POOL,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    GPU_TYPE_LABEL,
    KUBERNETES_VERSION,
    NAMESPACE,
    POOL_LABEL,
    SERVICE_ACCOUNT,
    InferenceCluster,
    InferenceClusterArgs,
    InferenceClusterArgsError,
    InferenceWorkloadArgs,
)
from components.inference_cluster.workload import InferenceWorkload

__all__ = [
    "GPU_POOL",
    "GPU_TAINT_KEY",
    "GPU_TAINT_VALUE",
    "GPU_TYPE_LABEL",
    "KUBERNETES_VERSION",
    "NAMESPACE",
    "POOL_LABEL",
    "SERVICE_ACCOUNT",
    "InferenceCluster",
    "InferenceClusterArgs",
    "InferenceClusterArgsError",
    "InferenceWorkload",
    "InferenceWorkloadArgs",
    "create_inference_cluster",
]


def create_inference_cluster(
    name: str, args: InferenceClusterArgs, opts: pulumi.ResourceOptions | None = None
) -> InferenceCluster:
    """The cluster component for `args.placement.cloud` (EKS, GKE or AKS).

    Each cloud's module (and so its Pulumi SDK) is imported only when a stack uses that cloud.
    """
    cloud = args.placement.cloud
    if cloud == "aws":
        from components.inference_cluster.aws import EksInferenceCluster

        return EksInferenceCluster(name, args, opts)
    if cloud == "gcp":
        from components.inference_cluster.gcp import GkeInferenceCluster

        return GkeInferenceCluster(name, args, opts)
    if cloud == "azure":
        from components.inference_cluster.azure import AksInferenceCluster

        return AksInferenceCluster(name, args, opts)
    raise ValueError(
        f"placement.cloud must be one of aws, gcp, azure (got {cloud!r}): fix the stack's 'cloud'"
    )
