"""EKS has no built-in node autoscaler: the Kubernetes Cluster Autoscaler, installed from its
official Helm chart at a pinned version, with an IRSA role that may only resize this cluster's
node groups. GKE and AKS use their managed autoscalers (min/max on the pools)."""

from __future__ import annotations

import json
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.inference_cluster.args import POOL_LABEL, SYSTEM_POOL

CHART_REPO: Final = "https://kubernetes.github.io/autoscaler"
CHART: Final = "cluster-autoscaler"
CHART_VERSION: Final = "9.59.0"
"""kubernetes/autoscaler tag cluster-autoscaler-chart-9.59.0 (appVersion 1.35.0, matching
KUBERNETES_VERSION 1.35: the autoscaler's minor must match the cluster's)."""
IMAGE_REPOSITORY: Final = "registry.k8s.io/autoscaling/cluster-autoscaler"
IMAGE_TAG: Final = "v1.35.0"
"""The chart's own default image, stated so an upgrade is a reviewed change."""
IMAGE_DIGEST: Final = "sha256:2fc9433dd3b47baef0e68d6b1110b770a3c93db10c7bead4c5bc6cb21c72b875"
"""The multi-arch index of cluster-autoscaler:v1.35.0, as stated in two public repositories (a
test asserting the rendered image, an ops doc). The chart renders `<repository>:<tag>`, so the
digest rides in the tag value: `v1.35.0@sha256:...` (re-check with `crane digest` on a bump)."""
NAMESPACE: Final = "kube-system"
SERVICE_ACCOUNT: Final = "cluster-autoscaler"

_READ_ACTIONS: Final = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
)
_WRITE_ACTIONS: Final = ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup")


def autoscaler_policy(cluster_name: str) -> str:
    """The documented policy (cluster-autoscaler/cloudprovider/aws/README.md, "Full Cluster
    Autoscaler Features Policy"), with resizing limited to Auto Scaling groups tagged as owned by
    this cluster; EKS managed node groups carry that tag on their groups."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Discover", "Effect": "Allow", "Action": list(_READ_ACTIONS), "Resource": "*"},
                {
                    "Sid": "ResizeOwnNodeGroups",
                    "Effect": "Allow",
                    "Action": list(_WRITE_ACTIONS),
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
                    },
                },
            ],
        }
    )


def autoscaler_values(cluster_name: str, region: str, role_arn: str) -> dict[str, Any]:
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "image": {"repository": IMAGE_REPOSITORY, "tag": f"{IMAGE_TAG}@{IMAGE_DIGEST}"},
        "rbac": {
            "serviceAccount": {
                "create": True,
                "name": SERVICE_ACCOUNT,
                "annotations": {"eks.amazonaws.com/role-arn": role_arn},
            }
        },
        # On the CPU system pool: the autoscaler must never evict itself off a GPU node it removes.
        "nodeSelector": {POOL_LABEL: SYSTEM_POOL},
        "extraArgs": {
            # The pools are sized by min/max; a GPU node is removed only when idle.
            "balance-similar-node-groups": True,
            "skip-nodes-with-system-pods": False,
            "expander": "least-waste",
        },
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def eks_cluster_autoscaler(
    name: str,
    *,
    parent: pulumi.Resource,
    aws_provider: pulumi.ProviderResource,
    k8s_provider: k8s.Provider,
    cluster_name: pulumi.Output[str],
    region: str,
    role_name: str,
    trust_policy: pulumi.Output[str],
    depends_on: list[pulumi.Resource],
) -> k8s.helm.v3.Release:
    """IRSA role + policy + the pinned Helm release; returns the release."""
    child = pulumi.ResourceOptions(parent=parent, provider=aws_provider)
    role = aws.iam.Role(
        f"{name}-cluster-autoscaler",
        aws.iam.RoleArgs(
            name=role_name,
            description=f"IRSA role of {NAMESPACE}/{SERVICE_ACCOUNT}",
            assume_role_policy=trust_policy,
        ),
        opts=child,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-cluster-autoscaler",
        aws.iam.RolePolicyArgs(role=role.name, policy=cluster_name.apply(autoscaler_policy)),
        opts=child,
    )
    return k8s.helm.v3.Release(
        f"{name}-cluster-autoscaler",
        k8s.helm.v3.ReleaseArgs(
            name=SERVICE_ACCOUNT,
            chart=CHART,
            version=CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPO),
            namespace=NAMESPACE,
            values=pulumi.Output.all(cluster_name, role.arn).apply(
                lambda a: autoscaler_values(a[0], region, a[1])
            ),
            atomic=True,
            cleanup_on_fail=True,
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=k8s_provider, depends_on=[policy, *depends_on]),
    )
