"""The inference cluster on a site's own Kubernetes (cloud: onprem): nothing to create.

The cluster, its GPU nodes, their driver and device plugin and the load-balancer implementation
exist; the stack only describes them (infra/config_onprem.py). This component turns that
description into what the program uses for every cloud (InferenceCluster): the explicit
Kubernetes provider built from the kubeconfig (infra/providers.py), the Kubernetes service
account the pods run as (the identity the site's vault and store trust), the static address DNS
answers with, and how the workload finds the GPU nodes. Warm and full capacity are a replica
count on those nodes.

Exposure (`exposure`):
- loadBalancerAddress: a LoadBalancer Service annotated `metallb.io/loadBalancerIPs` with the
  configured address (MetalLB >= 0.13; the `metallb.universe.tf/` prefix and
  spec.loadBalancerIP are deprecated). The address must sit in one of MetalLB's IPAddressPools,
  else the Service stays pending and `pulumi up` fails on the bound-address check.
- externalIp: a ClusterIP Service with spec.externalIPs; kube-proxy answers on the address,
  which the site routes to a node. Clusters that enable the DenyServiceExternalIPs admission
  plugin refuse such a Service.
"""

from __future__ import annotations

from typing import cast

import pulumi
import pulumi_kubernetes as k8s

from components.common import WorkloadIdentity, type_token
from components.inference_cluster.args import (
    MODULE,
    NAMESPACE,
    SERVICE_ACCOUNT,
    InferenceClusterArgs,
    OnpremSite,
)
from components.inference_cluster.public_address import PublicAddress

METALLB_ADDRESS_ANNOTATION = "metallb.io/loadBalancerIPs"
"""MetalLB's current annotation for a requested address (docs: metallb.io/usage, >= v0.13)."""


def service_account_principal(namespace: str = NAMESPACE, service_account: str = SERVICE_ACCOUNT) -> str:
    """How Kubernetes names the pods' service account in tokens (the `sub` claim)."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def onprem_public_address(exposure: str, address: str) -> PublicAddress:
    """The site's static address, and how the Service is bound to it."""
    if exposure == "externalIp":
        return PublicAddress(
            addresses=pulumi.Output.from_input([address]),
            count=1,
            service_annotations={},
            external_ips=(address,),
        )
    return PublicAddress(
        addresses=pulumi.Output.from_input([address]),
        count=1,
        service_annotations={METALLB_ADDRESS_ANNOTATION: address},
    )


class OnpremInferenceCluster(pulumi.ComponentResource):
    """An existing cluster on a site, described (not created) by the stack; see the module doc."""

    identity: WorkloadIdentity
    """The pods' Kubernetes service account (`system:serviceaccount:<ns>:<sa>`): the site's vault
    and store trust its tokens; there is no cloud identity."""
    federation_ready: pulumi.Resource
    """This component: nothing is created, so trust in the cluster's tokens can be granted at once."""
    kubeconfig: pulumi.Output[str]
    """The site's kubeconfig (secret), as configured."""
    cluster_name: pulumi.Output[str]
    """The site's name (the stack's `region`)."""
    gpu_pool_names: pulumi.Output[list[str]]
    """No pool: the GPU node selector (`k=v,...`) that picks the site's GPU nodes."""
    oidc_issuer_url: pulumi.Output[str]
    """The site's service-account token issuer (serviceAccountIssuer), for federation."""
    k8s_provider: k8s.Provider
    """The provider infra/providers.py built from the kubeconfig; never a default provider."""
    gpu_zones: pulumi.Output[list[str]]
    """None: a site has no zones."""
    image_puller: pulumi.Output[str]
    """Empty: nodes pull from the site registry with their container runtime's own credentials."""
    public_address: PublicAddress
    """The site's static address and how the Service is bound to it (`exposure`)."""

    def __init__(
        self, name: str, args: InferenceClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "OnpremInferenceCluster"), name, None, opts)
        site = args.onprem
        assert site is not None  # InferenceClusterArgs refuses onprem without it
        self._kubeconfig(args, site)
        self._workload_identity()
        self._gpu_pool(site)
        self.public_address = onprem_public_address(site.exposure, site.exposure_address)
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "gpuNodes": self.gpu_pool_names,
                "exposure": site.exposure,
                "address": site.exposure_address,
            }
        )

    def _kubeconfig(self, args: InferenceClusterArgs, site: OnpremSite) -> None:
        """The configured kubeconfig and the provider built from it; the site's name and issuer."""
        self.k8s_provider = cast(k8s.Provider, args.placement.provider)
        self.kubeconfig = pulumi.Output.secret(site.kubeconfig)
        self.cluster_name = pulumi.Output.from_input(args.placement.region)
        # The issuer of an existing cluster's tokens is the site's setting (serviceAccountIssuer).
        self.oidc_issuer_url = pulumi.Output.from_input(site.service_account_issuer)

    def _workload_identity(self) -> None:
        """The pods' service account, as Kubernetes names it in tokens."""
        principal = pulumi.Output.from_input(service_account_principal())
        self.identity = WorkloadIdentity(
            cloud="onprem",
            principal=principal,
            name=principal,
            client_id=None,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
        )
        # Nothing is created, so trust in the cluster's tokens can be granted at once.
        self.federation_ready = self

    def _gpu_pool(self, site: OnpremSite) -> None:
        """No pool: the GPU nodes are the ones the selector matches; no zones, no pull identity."""
        selector = ",".join(f"{k}={v}" for k, v in sorted(site.gpu.node_selector.items()))
        self.gpu_pool_names = pulumi.Output.from_input([selector])
        self.gpu_zones = pulumi.Output.from_input(cast(list[str], []))
        # Nodes pull from the site registry with their container runtime's own credentials.
        self.image_puller = pulumi.Output.from_input("")
