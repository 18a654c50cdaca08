"""Egress rules shared by every NetworkPolicy the project writes (inference pods, replication).

What a pod may reach, and why nothing narrower is possible with Kubernetes NetworkPolicy:
- DNS: only the cluster DNS pods (k8s-app=kube-dns in kube-system; CoreDNS on EKS and AKS,
  kube-dns on GKE). The policy engines (VPC CNI, Dataplane V2, Cilium) match after the Service
  address is translated, so a pod selector is enough.
- HTTPS (TCP 443) to public addresses only. The cloud endpoints the pods need (S3, Secrets
  Manager, STS; storage.googleapis.com, Secret Manager, STS; Blob Storage, Key Vault, Entra ID)
  are public anycast/regional ranges that change without notice and NetworkPolicy cannot match
  names, so 443 is limited by port and by excluding every private, link-local and shared range:
  the pods cannot reach the node network, other pods, the Kubernetes API (the private endpoint
  and the `kubernetes` Service are private addresses) or instance metadata on 443.
- Instance metadata: closed everywhere except GKE, where Workload Identity tokens come from the
  GKE metadata server (169.254.169.254:80, and 169.254.169.252:988 under Dataplane V2). EKS pods
  use IRSA (projected token -> STS on 443) and AKS pods a federated token (-> Entra ID on 443),
  so IMDS (169.254.169.254) stays unreachable for them; the EKS launch template also sets hop
  limit 1.
"""

from __future__ import annotations

from typing import Final

import pulumi_kubernetes as k8s

from components.common import Cloud

NON_PUBLIC_IPV4: Final = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "127.0.0.0/8",
)
GKE_METADATA: Final = (("169.254.169.254/32", 80), ("169.254.169.252/32", 988))

netpol = k8s.networking.v1


def dns_egress() -> netpol.NetworkPolicyEgressRuleArgs:
    return netpol.NetworkPolicyEgressRuleArgs(
        to=[
            netpol.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={"kubernetes.io/metadata.name": "kube-system"}
                ),
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
            )
        ],
        ports=[
            netpol.NetworkPolicyPortArgs(port=53, protocol="UDP"),
            netpol.NetworkPolicyPortArgs(port=53, protocol="TCP"),
        ],
    )


def public_https_egress() -> netpol.NetworkPolicyEgressRuleArgs:
    return netpol.NetworkPolicyEgressRuleArgs(
        to=[
            netpol.NetworkPolicyPeerArgs(
                ip_block=netpol.IPBlockArgs(cidr="0.0.0.0/0", except_=list(NON_PUBLIC_IPV4))
            )
        ],
        ports=[netpol.NetworkPolicyPortArgs(port=443, protocol="TCP")],
    )


def metadata_egress(cloud: Cloud) -> list[netpol.NetworkPolicyEgressRuleArgs]:
    if cloud != "gcp":
        return []
    return [
        netpol.NetworkPolicyEgressRuleArgs(
            to=[netpol.NetworkPolicyPeerArgs(ip_block=netpol.IPBlockArgs(cidr=cidr))],
            ports=[netpol.NetworkPolicyPortArgs(port=port, protocol="TCP")],
        )
        for cidr, port in GKE_METADATA
    ]


def cloud_api_egress(cloud: Cloud) -> list[netpol.NetworkPolicyEgressRuleArgs]:
    """DNS, HTTPS to public addresses, and the GKE metadata server on gcp."""
    return [dns_egress(), public_https_egress(), *metadata_egress(cloud)]
