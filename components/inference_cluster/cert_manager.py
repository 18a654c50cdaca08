"""cert-manager: the edge's certificate from an ACME CA, DNS-01 at the stack's DNS authority, keyless.

Installed from its official chart at a pinned version (`CHART_VERSION`, CRDs included), with one
ClusterIssuer (`ISSUER_NAME`) that answers the DNS-01 challenge in the zone of the service name,
and one Certificate per stack for that name (created by the workload, `certificate_spec`). Each
stack has its own certificate, account key and DNS identity, so renewal never depends on the
other stack's cloud; only on the DNS authority, which must be up for the service name anyway.

How the controller reaches the DNS authority without a stored key: a projected service-account
token of the cert-manager controller (audience per authority) is exchanged for cloud credentials
at the authority, which trusts this cluster's OIDC issuer for exactly the subject
`system:serviceaccount:cert-manager:cert-manager` (cert_manager_dns.py):

| authority | trust at the authority                                  | controller environment         |
|-----------|---------------------------------------------------------|--------------------------------|
| aws       | IAM OIDC provider for the cluster issuer (reused: EKS   | AWS_ROLE_ARN +                 |
|           | IRSA's own, or the replication's on a standby) + a role | AWS_WEB_IDENTITY_TOKEN_FILE    |
|           | with TXT-only changes on the zone                       |                                |
| gcp       | workload identity pool + OIDC provider for the issuer;  | GOOGLE_APPLICATION_CREDENTIALS |
|           | roles/dns.admin on the managed zone for that principal  | (external_account config)      |
| azure     | user-assigned identity with a federated credential for  | AZURE_CLIENT_ID / TENANT_ID /  |
|           | the issuer; DNS Zone Contributor on the zone            | FEDERATED_TOKEN_FILE           |

The same mechanism serves the same-cloud case (EKS + Route 53, GKE + Cloud DNS, AKS + Azure
DNS) and every cross-cloud one, so there is one code path per authority, not nine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pulumi
import pulumi_kubernetes as k8s

from components.common import Cloud, type_token
from components.inference_cluster.args import MODULE, InferenceClusterArgsError

if TYPE_CHECKING:
    from components.inference_cluster.cert_manager_dns import DnsTarget

CHART: Final = "cert-manager"
CHART_REPOSITORY: Final = "https://charts.jetstack.io"
CHART_VERSION: Final = "v1.21.1"
"""The CRD schemas of this version are checked into tests/data/cert-manager/ and validate our objects."""
IMAGE_DIGESTS: Final = {
    "image": "sha256:416a2d76870d996460e62bd7f521bf14fa017be9e3e904aab92163a331fcb61a",
    "cainjector": "sha256:ccf6b919ec0500745a47a910118f834f9636d0aac1ff221245cd2557ed8c7c98",
    "webhook": "sha256:d8b3961b51c8c7320633f8208dc46bf88aa13804d0f7cbe48a096b2c523cee42",
    "startupapicheck": "sha256:d8ab6416e6e7303a86fa0a8daa82c94a8001f21c9d78eb2e7db20534e5d07ae8",
}
"""The chart's images (quay.io/jetstack/cert-manager-{controller,cainjector,webhook,startupapicheck}
v1.21.1) pinned by digest; the chart renders `image:tag@digest` and pulls by the digest. The ACME
HTTP-01 solver image is never started (DNS-01 only)."""
NAMESPACE: Final = "cert-manager"
CONTROLLER_SERVICE_ACCOUNT: Final = "cert-manager"
SUBJECT: Final = f"system:serviceaccount:{NAMESPACE}:{CONTROLLER_SERVICE_ACCOUNT}"
"""The one Kubernetes identity every DNS authority trusts (the controller's)."""
API_VERSION: Final = "cert-manager.io/v1"
ISSUER_NAME: Final = "inference-acme"
ACCOUNT_KEY_SECRET: Final = "inference-acme-account-key"
LETS_ENCRYPT: Final = "https://acme-v02.api.letsencrypt.org/directory"
TOKEN_DIR: Final = "/var/run/secrets/dns01"
TOKEN_FILE: Final = f"{TOKEN_DIR}/token"
CREDENTIALS_DIR: Final = "/etc/dns01"
TOKEN_EXPIRATION_SECONDS: Final = 3600
CERTIFICATE_DURATION: Final = "2160h"
"""90 days (what Let's Encrypt issues)."""
RENEW_BEFORE: Final = "720h"
"""Renew 30 days before expiry: a failing renewal has weeks to be noticed."""


def certificate_spec(dns_name: str, secret_name: str, issuer: str) -> dict[str, Any]:
    """A Certificate for the service name, ECDSA P-256 with a fresh key on every renewal."""
    return {
        "secretName": secret_name,
        "commonName": dns_name,
        "dnsNames": [dns_name],
        "duration": CERTIFICATE_DURATION,
        "renewBefore": RENEW_BEFORE,
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "usages": ["server auth", "digital signature"],
        "issuerRef": {"name": issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
    }


def cluster_issuer_spec(server: str, zone: str, dns01: Mapping[str, Any]) -> dict[str, Any]:
    """ACME with one DNS-01 solver, used only for names in the stack's zone."""
    return {
        "acme": {
            "server": server,
            "privateKeySecretRef": {"name": ACCOUNT_KEY_SECRET},
            "solvers": [{"selector": {"dnsZones": [zone]}, "dns01": dict(dns01)}],
        }
    }


@dataclass(frozen=True)
class DnsAccess:
    """What a DNS authority's keyless access gives the controller (cert_manager_dns.py)."""

    solver: pulumi.Input[Mapping[str, Any]]
    """The `dns01` block of the ClusterIssuer."""
    env: Mapping[str, pulumi.Input[str]]
    """Environment of the controller that points the cloud SDK at the projected token."""
    token_audience: pulumi.Input[str]
    files: Mapping[str, pulumi.Input[str]]
    """Non-secret files mounted under CREDENTIALS_DIR (the GCP external-account config)."""
    resources: list[pulumi.Resource]
    """The trust and grants; the issuer waits for them."""


def helm_values(access_env: Mapping[str, Any], audience: Any, with_files: bool) -> dict[str, Any]:
    """Chart values: CRDs with the chart (kept on uninstall), the projected token, the env."""
    volumes: list[dict[str, Any]] = [
        {
            "name": "dns01-token",
            "projected": {
                "sources": [
                    {
                        "serviceAccountToken": {
                            "audience": audience,
                            "expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                            "path": "token",
                        }
                    }
                ]
            },
        }
    ]
    mounts: list[dict[str, Any]] = [{"name": "dns01-token", "mountPath": TOKEN_DIR, "readOnly": True}]
    if with_files:
        volumes.append({"name": "dns01-credentials", "configMap": {"name": "dns01-credentials"}})
        mounts.append({"name": "dns01-credentials", "mountPath": CREDENTIALS_DIR, "readOnly": True})
    return {
        **chart_values(),
        "extraEnv": [{"name": k, "value": v} for k, v in sorted(access_env.items())],
        "volumes": volumes,
        "volumeMounts": mounts,
        # Challenges are checked against public resolvers, not the cluster's (split horizon).
        "dns01RecursiveNameservers": "8.8.8.8:53,1.1.1.1:53",
        "dns01RecursiveNameserversOnly": True,
    }


OCI_CHART_PATH: Final = "jetstack/charts/cert-manager"
"""Where Jetstack publishes the chart as an OCI artifact (oci://quay.io/jetstack/charts/cert-manager);
a site mirrors it to the same path in its registry."""


def oci_chart(registry: str) -> str:
    """The chart in a registry's OCI mirror (`helm pull` / `crane copy` keep the path)."""
    return f"oci://{registry}/{OCI_CHART_PATH}"


def chart_values() -> dict[str, Any]:
    """What every install of the chart sets: images by digest, CRDs kept on uninstall."""
    digest = {"image": {"digest": IMAGE_DIGESTS["image"]}}
    return {
        **digest,
        **{part: {"image": {"digest": IMAGE_DIGESTS[part]}} for part in ("cainjector", "startupapicheck")},
        "webhook": {"image": {"digest": IMAGE_DIGESTS["webhook"]}},
        "crds": {"enabled": True, "keep": True},
        "global": {"leaderElection": {"namespace": NAMESPACE}},
        "serviceAccount": {"name": CONTROLLER_SERVICE_ACCOUNT},
    }


@dataclass(frozen=True)
class CertManagerArgs:
    """cert-manager with an ACME ClusterIssuer for the stack's zone, keyless at the DNS authority."""

    k8s_provider: k8s.Provider
    cluster_cloud: Cloud
    dns_cloud: Cloud
    zone: str
    """The DNS zone the service name is in (`dnsZone`)."""
    dns: DnsTarget
    """The DNS authority and this cluster's issuer; the keyless trust is created from it
    (cert_manager_dns.dns_access), with the authority's provider, under this component."""
    acme_server: str = LETS_ENCRYPT
    """ACME directory; Let's Encrypt production unless set (`acmeServer`, e.g. its staging URL)."""

    def __post_init__(self) -> None:
        if not self.acme_server.startswith("https://"):
            raise InferenceClusterArgsError(
                "CertManagerArgs",
                [f"acme_server must be an https:// ACME directory URL (got {self.acme_server!r})"],
            )


class CertManager(pulumi.ComponentResource):
    """Namespace, the pinned chart, the DNS-01 credentials config and the ClusterIssuer."""

    issuer_name: str
    """The ClusterIssuer the workload's Certificate names (`ISSUER_NAME`)."""
    ready: list[pulumi.Resource]
    """The chart release and the ClusterIssuer: a Certificate created before them is rejected."""

    def __init__(self, name: str, args: CertManagerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "CertManager"), name, None, opts)
        from components.inference_cluster.cert_manager_dns import dns_access

        self._stem = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        access = dns_access(self, name, args.dns)
        namespace = self._namespace()
        credentials = self._dns01_credentials(access, namespace)
        release = self._release(access, [namespace, *credentials])
        issuer = self._cluster_issuer(access, release)
        self.issuer_name = ISSUER_NAME
        self.ready = [release, issuer]
        self.register_outputs({"issuer": ISSUER_NAME, "chartVersion": CHART_VERSION})

    def _namespace(self) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(
            f"{self._stem}-cert-manager-namespace",
            k8s.core.v1.NamespaceInitArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=NAMESPACE,
                    labels={
                        "app.kubernetes.io/part-of": "inference-failover",
                        "pod-security.kubernetes.io/enforce": "restricted",
                    },
                )
            ),
            opts=self._child,
        )

    def _dns01_credentials(
        self, access: DnsAccess, namespace: k8s.core.v1.Namespace
    ) -> list[k8s.core.v1.ConfigMap]:
        """The non-secret files the controller's cloud SDK reads (gcp: external-account config)."""
        if not access.files:
            return []
        files = k8s.core.v1.ConfigMap(
            f"{self._stem}-dns01-credentials",
            k8s.core.v1.ConfigMapInitArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(name="dns01-credentials", namespace=NAMESPACE),
                data=dict(access.files),
            ),
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=[namespace])),
        )
        return [files]

    def _release(self, access: DnsAccess, depends: list[pulumi.Resource]) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(
            f"{self._stem}-cert-manager",
            k8s.helm.v3.ReleaseArgs(
                name="cert-manager",
                chart=CHART,
                version=CHART_VERSION,
                namespace=NAMESPACE,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
                values=pulumi.Output.all(
                    pulumi.Output.from_input(access.token_audience),
                    pulumi.Output.all(**dict(access.env)),
                ).apply(lambda a: helm_values(a[1], a[0], bool(access.files))),
                # Wait for the webhook: an issuer created before it answers is rejected.
                skip_await=False,
                atomic=True,
                timeout=600,
            ),
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=depends)),
        )

    def _cluster_issuer(
        self, access: DnsAccess, release: k8s.helm.v3.Release
    ) -> k8s.apiextensions.CustomResource:
        """ACME with DNS-01 in the stack's zone, through the authority's keyless access."""
        args = self._args
        return k8s.apiextensions.CustomResource(
            f"{self._stem}-cluster-issuer",
            api_version=API_VERSION,
            kind="ClusterIssuer",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ISSUER_NAME),
            spec=pulumi.Output.from_input(access.solver).apply(
                lambda solver: cluster_issuer_spec(args.acme_server, args.zone, solver)
            ),
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=[release, *access.resources])),
        )
