"""The stack's edge: API key digests for the proxy and, with tlsCertificate: acme, cert-manager
with keyless DNS-01 access at the stack's DNS authority (which may be on another cloud)."""

from __future__ import annotations

import hashlib
from typing import Any, cast

import pulumi

from components.common import Cloud
from components.inference_cluster import InferenceCluster
from components.inference_cluster.cert_manager import CertManager, CertManagerArgs
from components.inference_cluster.cert_manager_dns import DnsTarget
from components.inference_cluster.edge_proxy import API_KEY_SECRETS, render_key_digests
from infra.config import StackConfig
from infra.providers import Providers


def edge_key_digests(secrets: dict[str, pulumi.Output[str]]) -> pulumi.Output[str]:
    """SHA-256 digests of apiKey and, during a rotation, apiKeyNext (a secret output)."""
    keys = [secrets[name] for name in API_KEY_SECRETS if name in secrets]
    return pulumi.Output.secret(pulumi.Output.all(*keys).apply(render_key_digests))


def provided_certificate_sha256(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> Any:
    """SHA-256 of the provided PEM chain (None with acme): a new certificate rolls the pods."""
    if cfg.edge.tls_source != "provided":
        return None
    return secrets["tlsCertificateChain"].apply(lambda pem: hashlib.sha256(pem.encode()).hexdigest())


def edge_certificate_issuer(
    name: str, cfg: StackConfig, providers: Providers, cluster: InferenceCluster, replication: Any
) -> CertManager | None:
    """cert-manager and its ClusterIssuer (tlsCertificate: acme), else None."""
    if cfg.edge.tls_source != "acme":
        return None
    # parse_config refuses acme with a self-hosted authority (powerdns): DNS-01 needs a cloud's.
    dns_cloud = cast(Cloud, cfg.dns.provider)
    placement = providers.placement(dns_cloud)
    oidc_arn: pulumi.Input[str] | None = None
    after: list[pulumi.Resource] = [cluster.federation_ready]
    if dns_cloud == "aws" and cfg.cloud == "aws":
        # EKS registered the issuer for IRSA already: trust that provider.
        import pulumi_aws as aws

        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(provider=placement.provider)
        ).account_id
        oidc_arn = pulumi.Output.all(account, cluster.oidc_issuer_url).apply(
            lambda a: f"arn:aws:iam::{a[0]}:oidc-provider/{a[1].removeprefix('https://').rstrip('/')}"
        )
    elif dns_cloud == "aws" and getattr(replication, "aws_oidc_provider", None) is not None:
        # The standby's replication registered this cluster's issuer in the same account.
        provider_resource = replication.aws_oidc_provider
        oidc_arn = provider_resource.arn
        after.append(provider_resource)
    target = DnsTarget(
        cloud=dns_cloud,
        provider=placement.provider,
        stack=cfg.stack,
        zone=cfg.dns.zone,
        issuer_url=cluster.oidc_issuer_url,
        gcp_project=placement.gcp_project or cfg.gcp_project,
        gcp_managed_zone=cfg.dns.gcp_managed_zone,
        azure_resource_group=cfg.dns.azure_resource_group,
        azure_location=placement.region,
        aws_oidc_provider_arn=oidc_arn,
        after=after,
        gcp_apis=placement.gcp_apis,
        name_suffix=placement.name_suffix,
    )
    return CertManager(
        name,
        CertManagerArgs(
            k8s_provider=cluster.k8s_provider,
            cluster_cloud=cfg.cloud,
            dns_cloud=dns_cloud,
            zone=cfg.dns.zone,
            dns=target,
            acme_server=cfg.edge.acme_server,
        ),
    )
