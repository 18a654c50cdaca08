"""Pieces every cloud module uses: physical names, exec kubeconfigs, the Kubernetes provider and
the NVIDIA device plugin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.common import Placement, physical_name
from components.inference_cluster.args import (
    GPU_POOL,
    GPU_TAINT_KEY,
    NVIDIA_DEVICE_PLUGIN_IMAGE,
    POOL_LABEL,
)


def base_name(name: str, placement: Placement) -> str:
    """`inference-<stack>[-<name>]`: unique per stack, readable in every cloud console."""
    parts = ["inference", placement.stack]
    if name != placement.stack:
        parts.append(name)
    return physical_name(*parts)


def short_name(base: str, suffix: str, max_length: int) -> str:
    """`<base>-<suffix>` cut from the base, so the suffix that tells resources apart survives."""
    room = max_length - len(suffix) - 1
    return f"{physical_name(base, max_length=room)}-{suffix}"


def exec_kubeconfig(
    *,
    cluster: str,
    server: str,
    ca_data_b64: str,
    command: str,
    args: Sequence[str],
    install_hint: str,
    provide_cluster_info: bool = False,
) -> str:
    """A kubeconfig whose credentials come from the cloud CLI at use time (never a static token)."""
    user: dict[str, Any] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": command,
            "args": list(args),
            "interactiveMode": "Never",
            "installHint": install_hint,
            "provideClusterInfo": provide_cluster_info,
        }
    }
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster, "cluster": {"server": server, "certificate-authority-data": ca_data_b64}}
            ],
            "users": [{"name": cluster, "user": user}],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
            "current-context": cluster,
            "preferences": {},
        },
        sort_keys=False,
    )


def kubernetes_provider(
    name: str,
    kubeconfig: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource],
) -> k8s.Provider:
    """The cluster's explicit Kubernetes provider.

    It waits for the node pools (`depends_on`), so nothing is applied to a cluster that cannot
    run it yet. Server-side apply is on (the provider default, stated for the reader).
    """
    return k8s.Provider(
        f"{name}-k8s",
        k8s.ProviderArgs(kubeconfig=pulumi.Output.secret(kubeconfig), enable_server_side_apply=True),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )


RUNS_AS_ROOT_ANNOTATION = "inference-failover/runs-as-root"
DEVICE_PLUGIN_ROOT_REASON = {
    RUNS_AS_ROOT_ANNOTATION: (
        "registers with the kubelet through a socket in the root-owned hostPath "
        "/var/lib/kubelet/device-plugins and opens /dev/nvidia*; no capabilities, read-only root"
    )
}
"""Why the device plugin keeps UID 0; the policy pack accepts root only with such a reason."""


def _device_plugin_container() -> k8s.core.v1.ContainerArgs:
    """The plugin itself: unprivileged, read-only root, only the kubelet's device-plugin directory."""
    return k8s.core.v1.ContainerArgs(
        name="nvidia-device-plugin",
        image=NVIDIA_DEVICE_PLUGIN_IMAGE,
        # Keep running on a node whose driver is still installing; the
        # plugin retries instead of crash-looping the DaemonSet.
        env=[k8s.core.v1.EnvVarArgs(name="FAIL_ON_INIT_ERROR", value="false")],
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "50m", "memory": "64Mi"},
            limits={"cpu": "200m", "memory": "256Mi"},
        ),
        security_context=k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            privileged=False,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name="device-plugin", mount_path="/var/lib/kubelet/device-plugins"),
            k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
        ],
    )


def nvidia_device_plugin(name: str, parent: pulumi.Resource, provider: k8s.Provider) -> k8s.apps.v1.DaemonSet:
    """The NVIDIA device plugin on GPU nodes, which advertises `nvidia.com/gpu` to the scheduler.

    EKS (AL2023 NVIDIA AMI) and AKS (GPU driver install) ship the driver but not the plugin;
    GKE installs its own, so the GCP module does not call this.
    """
    labels = {
        "app.kubernetes.io/name": "nvidia-device-plugin",
        "app.kubernetes.io/part-of": "inference-failover",
    }
    return k8s.apps.v1.DaemonSet(
        f"{name}-nvidia-device-plugin",
        k8s.apps.v1.DaemonSetInitArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="nvidia-device-plugin", namespace="kube-system", labels=labels
            ),
            spec=k8s.apps.v1.DaemonSetSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                update_strategy=k8s.apps.v1.DaemonSetUpdateStrategyArgs(type="RollingUpdate"),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    # The plugin only serves the kubelet over a unix socket: no API token.
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations=DEVICE_PLUGIN_ROOT_REASON),
                    spec=k8s.core.v1.PodSpecArgs(
                        automount_service_account_token=False,
                        enable_service_links=False,
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")
                        ),
                        priority_class_name="system-node-critical",
                        node_selector={POOL_LABEL: GPU_POOL},
                        tolerations=[
                            k8s.core.v1.TolerationArgs(
                                key=GPU_TAINT_KEY, operator="Exists", effect="NoSchedule"
                            ),
                            k8s.core.v1.TolerationArgs(key="CriticalAddonsOnly", operator="Exists"),
                        ],
                        containers=[_device_plugin_container()],
                        volumes=[
                            k8s.core.v1.VolumeArgs(
                                name="device-plugin",
                                host_path=k8s.core.v1.HostPathVolumeSourceArgs(
                                    path="/var/lib/kubelet/device-plugins", type="Directory"
                                ),
                            ),
                            k8s.core.v1.VolumeArgs(
                                name="tmp",
                                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                                    medium="Memory", size_limit="16Mi"
                                ),
                            ),
                        ],
                    ),
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
