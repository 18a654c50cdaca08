"""NetworkPolicy of the replication namespace: nothing comes in, and the copy job reaches only
the cluster DNS and public HTTPS endpoints (both clouds' storage and token services), plus the
GKE metadata server when it writes into GCS with Workload Identity (components/k8s_egress.py)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.common import Cloud
from components.k8s_egress import cloud_api_egress

POLICY_NAME = "model-replication"


def replication_network_policy(
    prefix: str,
    namespace: k8s.core.v1.Namespace,
    target_cloud: Cloud,
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
    *,
    site_ports: pulumi.Input[list[int]] | None = None,
) -> k8s.networking.v1.NetworkPolicy:
    """Every pod of the namespace: no ingress at all; egress as in `cloud_api_egress`. The source
    side needs no metadata server: its credentials are federated tokens exchanged over 443.
    `site_ports`: an on-prem store and vault on either side (replication_onprem.site_egress)."""
    egress = cloud_api_egress(target_cloud)
    if site_ports is not None:
        from components.object_store.replication_onprem import site_egress

        egress.append(site_egress(site_ports))
    return k8s.networking.v1.NetworkPolicy(
        f"{prefix}-network-policy",
        k8s.networking.v1.NetworkPolicyInitArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=POLICY_NAME, namespace=namespace.metadata.name, labels=labels
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Ingress", "Egress"],
                ingress=[],
                egress=egress,
            ),
        ),
        opts=opts,
    )
