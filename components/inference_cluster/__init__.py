"""GPU inference cluster (EKS / GKE / AKS) and the inference workload that runs on it.

cluster = create_inference_cluster("primary", InferenceClusterArgs(placement=..., ...))
InferenceWorkload("primary", InferenceWorkloadArgs(cloud=..., k8s_provider=cluster.k8s_provider,
                                                   identity=cluster.identity, ...))
"""

from __future__ import annotations

from typing import cast

import pulumi

from components.common import create_for_cloud
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
    component = create_for_cloud(
        __name__,
        {
            "aws": "EksInferenceCluster",
            "gcp": "GkeInferenceCluster",
            "azure": "AksInferenceCluster",
            "onprem": "OnpremInferenceCluster",
        },
        cloud=args.placement.cloud,
        name=name,
        args=args,
        opts=opts,
    )
    return cast(InferenceCluster, component)
