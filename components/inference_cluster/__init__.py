"""GPU inference cluster (EKS / GKE / AKS) and the inference workload that runs on it.

cluster = create_inference_cluster("primary", InferenceClusterArgs(placement=..., ...))
InferenceWorkload("primary", InferenceWorkloadArgs(cloud=..., k8s_provider=cluster.k8s_provider,
                                                   identity=cluster.identity, ...))
"""

from __future__ import annotations

import pulumi

from components.common import unsupported_cloud
from components.inference_cluster.args import (
    GPU_NODE_FLOOR,
    GPU_POOL,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    GPU_TYPE_LABEL,
    KUBERNETES_VERSION,
    NAMESPACE,
    POOL_LABEL,
    SERVICE_ACCOUNT,
    GpuScheduling,
    InferenceCluster,
    InferenceClusterArgs,
    InferenceClusterArgsError,
    InferenceWorkloadArgs,
    OnpremSite,
)
from components.inference_cluster.workload import InferenceWorkload

__all__ = [
    "GPU_NODE_FLOOR",
    "GPU_POOL",
    "GPU_TAINT_KEY",
    "GPU_TAINT_VALUE",
    "GPU_TYPE_LABEL",
    "KUBERNETES_VERSION",
    "NAMESPACE",
    "POOL_LABEL",
    "SERVICE_ACCOUNT",
    "GpuScheduling",
    "InferenceCluster",
    "InferenceClusterArgs",
    "InferenceClusterArgsError",
    "InferenceWorkload",
    "InferenceWorkloadArgs",
    "OnpremSite",
    "create_inference_cluster",
]


def create_inference_cluster(
    name: str, args: InferenceClusterArgs, opts: pulumi.ResourceOptions | None = None
) -> InferenceCluster:
    """The cluster component for `args.placement.cloud` (EKS, GKE, AKS, or an existing on-prem one).

    Each cloud's module (and so its Pulumi SDK) is imported only when a stack uses that cloud.
    """
    match args.placement.cloud:
        case "aws":
            from components.inference_cluster.aws import EksInferenceCluster

            return EksInferenceCluster(name, args, opts)
        case "gcp":
            from components.inference_cluster.gcp import GkeInferenceCluster

            return GkeInferenceCluster(name, args, opts)
        case "azure":
            from components.inference_cluster.azure import AksInferenceCluster

            return AksInferenceCluster(name, args, opts)
        case "onprem":
            from components.inference_cluster.onprem import OnpremInferenceCluster

            return OnpremInferenceCluster(name, args, opts)
        case _:
            raise unsupported_cloud(args.placement.cloud, ("aws", "gcp", "azure", "onprem"))
