"""tlsCertificate: internal-ca: the edge certificate from an internal CA, so a site without the
internet (no ACME) still serves HTTPS, renewed by cert-manager like the ACME one.

Two sources, both through the same pinned cert-manager chart and one ClusterIssuer
(`ISSUER_NAME`); the workload's Certificate is the same as with ACME (cert_manager.certificate_spec):

| internalCa | issuer                          | CA key                        | the stack creates          |
|------------|---------------------------------|-------------------------------|----------------------------|
| openbao    | cert-manager Vault issuer with  | in the vault's PKI mount; it  | a PKI role for the service |
|            | Kubernetes auth (bound tokens   | never leaves the vault        | name only, a sign-only     |
|            | of a dedicated account)         |                               | policy, an auth role       |
| provided   | cert-manager CA issuer          | a Secret in the cert-manager  | that Secret                |
|            |                                 | namespace                     |                            |

Why cert-manager signs rather than the stack (pulumi-vault's `pkisecret.SecretBackendCert`): a
certificate issued by `pulumi up` renews only on a later `pulumi up` and puts the private key
into the Pulumi state; cert-manager renews `RENEW_BEFORE` ahead of expiry on its own, keeps the
key in the cluster, and the edge reloads the renewed Secret without a restart.

openbao: the PKI mount and its issuer are the operator's (the organisation's internal CA, the
one its clients already trust, usually an intermediate): the stack adds a role to it but never
creates or deletes a CA, so both stacks of a pair can chain to the same root and a destroy never
invalidates a certificate other services use.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from components.common import TYPE_PREFIX, physical_name, type_token
from components.inference_cluster import cert_manager
from components.inference_cluster.args import MODULE, InferenceClusterArgsError

ISSUER_NAME: Final = "inference-internal-ca"
CA_SECRET_NAME: Final = "inference-internal-ca"
"""provided: the CA's certificate and key, in the cert-manager namespace."""
ISSUER_SERVICE_ACCOUNT: Final = "inference-vault-issuer"
"""openbao: the service account whose bound tokens cert-manager presents to the vault (its own
account never logs in), in the cert-manager namespace."""
CERTIFICATE_TTL_SECONDS: Final = 90 * 86_400
"""The PKI role's longest certificate: cert_manager.CERTIFICATE_DURATION (2160h)."""
VAULT_TOKEN_TTL_SECONDS: Final = 300
SOURCES: Final = ("openbao", "provided")


@dataclass(frozen=True)
class InternalCaVault:
    """internalCa: openbao: the stack's OpenBao / Vault and its existing PKI mount."""

    provider: pulumi.ProviderResource
    """The vault provider (OpenBaoSecretsVault.vault_provider)."""
    address: str
    pki_mount: str = "pki"
    kubernetes_auth_path: str = "kubernetes"
    ca_certificate: str | None = None
    """PEM of the CA of the vault's TLS certificate (the issuer's caBundle); None: system trust."""


@dataclass(frozen=True)
class InternalCaArgs:
    k8s_provider: k8s.Provider
    stack: str
    service_name: str
    """The only name the CA may sign for (`dnsRecord`.`dnsZone`)."""
    source: str
    """openbao or provided."""
    vault: InternalCaVault | None = None
    """openbao only (required there)."""
    ca_certificate: pulumi.Input[str] | None = None
    ca_private_key: pulumi.Input[str] | None = None
    """provided only (required there): the issuing CA's PEM certificate and unencrypted key."""
    image_registry: str | None = None
    """The site registry the chart's images are pulled from, at their upstream path and digest
    (`imageRegistry`; mirror them with `crane copy`); None: quay.io."""

    def __post_init__(self) -> None:
        problems = []
        if self.source not in SOURCES:
            problems.append(f"source must be openbao or provided (got {self.source!r}): set `internalCa`")
        if self.source == "openbao" and self.vault is None:
            problems.append("vault is required with source openbao (got None): set `vaultAddress`")
        if self.source == "provided" and (self.ca_certificate is None or self.ca_private_key is None):
            problems.append(
                "ca_certificate and ca_private_key are required with source provided: set the secrets "
                "internalCaCertificate and internalCaPrivateKey"
            )
        if not self.service_name:
            problems.append("service_name must be the service's DNS name (got '')")
        if problems:
            raise InferenceClusterArgsError("InternalCaArgs", problems)


def pki_role_name(stack: str) -> str:
    return physical_name(TYPE_PREFIX, stack, "edge")


def sign_policy(pki_mount: str, role: str) -> str:
    """HCL allowing exactly one thing: signing a CSR with the stack's PKI role."""
    return (
        f"# {TYPE_PREFIX}: cert-manager signs the edge certificate with role {role}, nothing else.\n"
        f'path "{pki_mount}/sign/{role}" {{\n  capabilities = ["create", "update"]\n}}\n'
    )


def vault_issuer_spec(vault: InternalCaVault, role: str, auth_role: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "server": vault.address,
        "path": f"{vault.pki_mount}/sign/{role}",
        "auth": {
            "kubernetes": {
                "mountPath": f"/v1/auth/{vault.kubernetes_auth_path}",
                "role": auth_role,
                # A bound token of the dedicated account, requested per login (no Secret with a
                # long-lived token); the vault's address is its audience, as for the workload.
                "serviceAccountRef": {"name": ISSUER_SERVICE_ACCOUNT, "audiences": [vault.address]},
            }
        },
    }
    if vault.ca_certificate:
        spec["caBundle"] = base64.b64encode(vault.ca_certificate.encode()).decode()
    return {"vault": spec}


def ca_issuer_spec() -> dict[str, Any]:
    return {"ca": {"secretName": CA_SECRET_NAME}}


def chart_values(image_registry: str | None) -> dict[str, Any]:
    """The pinned chart's values; on a site with its own registry, every image comes from it
    (same path and digest), so the nodes never reach quay.io."""
    values = cert_manager.chart_values()
    if image_registry:
        values["imageRegistry"] = image_registry
        # Each component's `image.registry` too: the per-image override every chart since v1.16 reads.
        for part in (values, *(values[c] for c in ("cainjector", "webhook", "startupapicheck"))):
            part["image"]["registry"] = image_registry
    return values


class InternalCa(pulumi.ComponentResource):
    """cert-manager (pinned chart) and the internal CA's ClusterIssuer; see the module docstring."""

    issuer_name: str
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: InternalCaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "InternalCa"), name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        namespace = k8s.core.v1.Namespace(
            f"{name}-cert-manager-namespace",
            k8s.core.v1.NamespaceInitArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=cert_manager.NAMESPACE,
                    labels={
                        "app.kubernetes.io/part-of": TYPE_PREFIX,
                        "pod-security.kubernetes.io/enforce": "restricted",
                    },
                )
            ),
            opts=child,
        )
        in_namespace = child.merge(pulumi.ResourceOptions(depends_on=[namespace]))
        release = k8s.helm.v3.Release(
            f"{name}-cert-manager",
            k8s.helm.v3.ReleaseArgs(
                name="cert-manager",
                # On a site: the chart from its registry's OCI mirror of quay.io/jetstack/charts, so
                # `pulumi up` there needs no internet either.
                chart=cert_manager.oci_chart(args.image_registry)
                if args.image_registry
                else cert_manager.CHART,
                version=cert_manager.CHART_VERSION,
                namespace=cert_manager.NAMESPACE,
                repository_opts=None
                if args.image_registry
                else k8s.helm.v3.RepositoryOptsArgs(repo=cert_manager.CHART_REPOSITORY),
                values=chart_values(args.image_registry),
                # Wait for the webhook: an issuer created before it answers is rejected.
                skip_await=False,
                atomic=True,
                timeout=600,
            ),
            opts=in_namespace,
        )
        if args.source == "openbao":
            assert args.vault is not None  # InternalCaArgs checks it
            spec: Any = vault_issuer_spec(
                args.vault, pki_role_name(args.stack), physical_name(TYPE_PREFIX, args.stack, "cert-manager")
            )
            access = self._vault_access(name, args, args.vault, in_namespace)
        else:
            spec = ca_issuer_spec()
            access = [
                k8s.core.v1.Secret(
                    f"{name}-internal-ca",
                    k8s.core.v1.SecretInitArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(
                            name=CA_SECRET_NAME, namespace=cert_manager.NAMESPACE
                        ),
                        type="kubernetes.io/tls",
                        string_data={
                            "tls.crt": pulumi.Output.secret(
                                pulumi.Output.from_input(args.ca_certificate or "")
                            ),
                            "tls.key": pulumi.Output.secret(
                                pulumi.Output.from_input(args.ca_private_key or "")
                            ),
                        },
                    ),
                    opts=in_namespace,
                )
            ]
        issuer = k8s.apiextensions.CustomResource(
            f"{name}-cluster-issuer",
            api_version=cert_manager.API_VERSION,
            kind="ClusterIssuer",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ISSUER_NAME),
            spec=spec,
            opts=child.merge(pulumi.ResourceOptions(depends_on=[release, *access])),
        )
        self.issuer_name = ISSUER_NAME
        self.ready = [release, issuer]
        self.register_outputs({"issuer": ISSUER_NAME, "source": args.source})

    def _vault_access(
        self, name: str, args: InternalCaArgs, vault_args: InternalCaVault, opts: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """The PKI role, its sign-only policy, the Kubernetes auth role and the RBAC that lets the
        cert-manager controller request tokens for the issuer's account (and no other)."""
        role, auth_role = self._vault_roles(name, args, vault_args)
        return [role, auth_role, *_token_request_rbac(name, opts)]

    def _vault_roles(
        self, name: str, args: InternalCaArgs, vault_args: InternalCaVault
    ) -> tuple[pulumi.Resource, pulumi.Resource]:
        """In the vault: the PKI role for the service name only, a sign-only policy, and the
        Kubernetes auth role that hands that policy to the issuer's account."""
        import pulumi_vault as vault

        in_vault = pulumi.ResourceOptions(parent=self, provider=vault_args.provider)
        role = vault.pkisecret.SecretBackendRole(
            f"{name}-pki-role",
            vault.pkisecret.SecretBackendRoleArgs(
                backend=vault_args.pki_mount,
                name=pki_role_name(args.stack),
                allowed_domains=[args.service_name],
                allow_bare_domains=True,
                allow_subdomains=False,
                allow_glob_domains=False,
                allow_wildcard_certificates=False,
                allow_any_name=False,
                allow_localhost=False,
                allow_ip_sans=False,
                enforce_hostnames=True,
                server_flag=True,
                client_flag=False,
                code_signing_flag=False,
                email_protection_flag=False,
                key_type="ec",
                key_bits=256,
                key_usages=["DigitalSignature"],
                ext_key_usages=["ServerAuth"],
                ttl=str(CERTIFICATE_TTL_SECONDS),
                max_ttl=str(CERTIFICATE_TTL_SECONDS),
            ),
            opts=in_vault,
        )
        policy = vault.Policy(
            f"{name}-pki-sign-policy",
            vault.PolicyArgs(
                name=physical_name(TYPE_PREFIX, args.stack, "edge-sign"),
                policy=sign_policy(vault_args.pki_mount, pki_role_name(args.stack)),
            ),
            opts=in_vault,
        )
        auth_role = vault.kubernetes.AuthBackendRole(
            f"{name}-issuer-login",
            vault.kubernetes.AuthBackendRoleArgs(
                backend=vault_args.kubernetes_auth_path,
                role_name=physical_name(TYPE_PREFIX, args.stack, "cert-manager"),
                bound_service_account_names=[ISSUER_SERVICE_ACCOUNT],
                bound_service_account_namespaces=[cert_manager.NAMESPACE],
                audience=vault_args.address,
                token_policies=[policy.name],
                token_no_default_policy=True,
                token_ttl=VAULT_TOKEN_TTL_SECONDS,
                token_max_ttl=VAULT_TOKEN_TTL_SECONDS,
                token_type="service",
            ),
            opts=in_vault,
        )
        return role, auth_role


def _token_request_rbac(name: str, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """The issuer's service account, and the RBAC that lets the cert-manager controller request
    tokens for it (and no other account)."""
    account = k8s.core.v1.ServiceAccount(
        f"{name}-vault-issuer",
        k8s.core.v1.ServiceAccountInitArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=ISSUER_SERVICE_ACCOUNT, namespace=cert_manager.NAMESPACE
            ),
            automount_service_account_token=False,
        ),
        opts=opts,
    )
    token_role = k8s.rbac.v1.Role(
        f"{name}-vault-issuer-token",
        k8s.rbac.v1.RoleInitArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=ISSUER_SERVICE_ACCOUNT, namespace=cert_manager.NAMESPACE
            ),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=[""],
                    resources=["serviceaccounts/token"],
                    resource_names=[ISSUER_SERVICE_ACCOUNT],
                    verbs=["create"],
                )
            ],
        ),
        opts=opts,
    )
    binding = k8s.rbac.v1.RoleBinding(
        f"{name}-vault-issuer-token",
        k8s.rbac.v1.RoleBindingInitArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=ISSUER_SERVICE_ACCOUNT, namespace=cert_manager.NAMESPACE
            ),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=ISSUER_SERVICE_ACCOUNT
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    kind="ServiceAccount",
                    name=cert_manager.CONTROLLER_SERVICE_ACCOUNT,
                    namespace=cert_manager.NAMESPACE,
                )
            ],
        ),
        opts=opts,
    )
    return [account, token_role, binding]
