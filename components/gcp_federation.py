"""Keyless GCP access for one Kubernetes service account of a cluster outside GKE's own project:
a workload identity pool whose OIDC provider trusts the cluster's issuer for exactly one subject.

Used by cross-cloud replication (object_store/replication_gcp.py: the standby cluster reads the
primary's bucket) and by cert-manager's Cloud DNS access (inference_cluster/cert_manager_dns.py:
DNS-01 in one managed zone). The caller grants `principal` the least it needs on the one
resource (direct resource access: no service account, no key), and mounts `credential_config`
next to the projected token whose audience is `token_audience`.

Pool and provider IDs (4-32 lowercase letters, digits and dashes) carry the stack instance's
suffix: GCP soft-deletes both for 30 days and reserves their IDs, so a destroyed and re-created
stack must not ask for the same IDs again (components/naming.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_gcp as gcp

from components.common import physical_name
from components.naming import with_suffix

WIF_ID_MAX: Final = 32
"""Workload identity pool and provider IDs: 4-32 lowercase letters, digits and dashes."""
DISPLAY_NAME_MAX: Final = 32


@dataclass(frozen=True)
class FederatedSubject:
    """The pool and provider trusting one Kubernetes subject, and how that subject signs in."""

    pool: gcp.iam.WorkloadIdentityPool
    provider: gcp.iam.WorkloadIdentityPoolProvider
    principal: pulumi.Output[str]
    """`principal://.../subject/<subject>`: the member to grant roles to."""
    provider_path: pulumi.Output[str]
    """projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>."""

    @property
    def token_audience(self) -> pulumi.Output[str]:
        """`aud` of the projected Kubernetes token: the provider's default allowed audience."""
        return self.provider_path.apply(lambda path: f"https://iam.googleapis.com/{path}")

    def credential_config(self, token_file: str) -> pulumi.Output[str]:
        """Google external-account credential file (no secret in it: it points at the token file)."""
        return self.provider_path.apply(
            lambda path: json.dumps(
                {
                    "type": "external_account",
                    "audience": f"//iam.googleapis.com/{path}",
                    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                    "token_url": "https://sts.googleapis.com/v1/token",
                    "credential_source": {"file": token_file, "format": {"type": "text"}},
                },
                indent=2,
            )
        )


@dataclass(frozen=True)
class PoolNames:
    """What the pool and its provider are called: IDs `<stack>-<id>-<suffix>`, display names
    `<stack> <label>` (each cut to 32 characters)."""

    pool_id: str
    pool_label: str
    provider_id: str
    provider_label: str
    description: str


def federate_subject(
    name: str,
    *,
    stack: str,
    names: PoolNames,
    project: pulumi.Input[str],
    project_number: pulumi.Input[str],
    issuer_url: pulumi.Input[str],
    subject: str,
    name_suffix: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions,
) -> FederatedSubject:
    """Pool and provider (both named `name`) trusting `issuer_url` for `subject` only."""
    pool_id = with_suffix(physical_name(stack, names.pool_id), name_suffix, max_length=WIF_ID_MAX)
    provider_id = with_suffix(physical_name(stack, names.provider_id), name_suffix, max_length=WIF_ID_MAX)
    pool = gcp.iam.WorkloadIdentityPool(
        name,
        gcp.iam.WorkloadIdentityPoolArgs(
            workload_identity_pool_id=pool_id,
            project=project,
            display_name=f"{stack} {names.pool_label}"[:DISPLAY_NAME_MAX],
            description=names.description,
        ),
        opts=opts,
    )
    provider = gcp.iam.WorkloadIdentityPoolProvider(
        name,
        gcp.iam.WorkloadIdentityPoolProviderArgs(
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=provider_id,
            project=project,
            display_name=f"{stack} {names.provider_label}"[:DISPLAY_NAME_MAX],
            attribute_mapping={"google.subject": "assertion.sub"},
            attribute_condition=f"assertion.sub == '{subject}'",
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=issuer_url),
        ),
        opts=opts,
    )
    pool_path = pulumi.Output.format(
        "projects/{0}/locations/global/workloadIdentityPools/{1}", project_number, pool_id
    )
    return FederatedSubject(
        pool=pool,
        provider=provider,
        principal=pulumi.Output.format("principal://iam.googleapis.com/{0}/subject/{1}", pool_path, subject),
        provider_path=pulumi.Output.format("{0}/providers/{1}", pool_path, provider_id),
    )
