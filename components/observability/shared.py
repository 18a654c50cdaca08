"""Pieces every cloud's observability module uses: the metrics NetworkPolicy, scrape relabelling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.observability.args import (
    COLLECTORS,
    EDGE_METRICS_PATH,
    METRICS_PATH,
    METRICS_PORT,
    METRICS_PORT_NAME,
    SCRAPE_INTERVAL_SECONDS,
    TARGET_LABELS,
    TARGET_NAMESPACE,
    ObservabilityArgs,
)

SCRAPE_JOB = "inference-server"
EDGE_SCRAPE_JOB = "inference-edge"
SCRAPE_PATHS: dict[str, str] = {SCRAPE_JOB: METRICS_PATH, EDGE_SCRAPE_JOB: EDGE_METRICS_PATH}
"""Job -> path on the metrics port: the model server's metrics and the edge proxy's counts."""


class Observability(pulumi.ComponentResource):
    """What every cloud's observability component exposes (the classes in aws.py, gcp.py, azure.py)."""

    network_policy: k8s.networking.v1.NetworkPolicy
    """Admits only the cloud's collector pods to the serving pods' metrics port."""


def metrics_network_policy(
    name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions
) -> k8s.networking.v1.NetworkPolicy:
    """Ingress to the metrics port only from the cloud's collector pods in their namespace."""
    collector = COLLECTORS[args.placement.cloud]
    return k8s.networking.v1.NetworkPolicy(
        f"{name}-metrics-ingress",
        k8s.networking.v1.NetworkPolicyInitArgs(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="metrics-from-collector", namespace=TARGET_NAMESPACE),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(TARGET_LABELS)),
                policy_types=["Ingress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels={"kubernetes.io/metadata.name": collector.namespace}
                                ),
                                pod_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels=dict(collector.pod_labels)
                                ),
                            )
                        ],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=METRICS_PORT, protocol="TCP")],
                    )
                ],
            ),
        ),
        opts=opts,
    )


def label_relabelling(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Prometheus relabel rules that set each of `labels` on every scraped series."""
    return [{"target_label": key, "replacement": value, "action": "replace"} for key, value in labels.items()]


def pod_scrape_jobs(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """One scrape job per path of the metrics port (SCRAPE_PATHS), each setting `labels`."""
    return [pod_scrape_job(labels, job, path) for job, path in SCRAPE_PATHS.items()]


def pod_scrape_job(
    labels: Mapping[str, str], job: str = SCRAPE_JOB, path: str = METRICS_PATH
) -> dict[str, Any]:
    """A Prometheus scrape job for the inference pods' metrics port (kubernetes_sd, role pod)."""
    selector = ",".join(f"{k}={v}" for k, v in TARGET_LABELS.items())
    return {
        "job_name": job,
        "scrape_interval": f"{SCRAPE_INTERVAL_SECONDS}s",
        "metrics_path": path,
        "kubernetes_sd_configs": [
            {
                "role": "pod",
                "namespaces": {"names": [TARGET_NAMESPACE]},
                "selectors": [{"role": "pod", "label": selector}],
            }
        ],
        "relabel_configs": [
            {
                "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                "regex": METRICS_PORT_NAME,
                "action": "keep",
            },
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod", "action": "replace"},
            *label_relabelling(labels),
        ],
    }
