"""Keyless DNS-01 access for cert-manager at each DNS authority (the table in cert_manager.py).

Every function trusts one cluster's OIDC issuer for exactly the cert-manager controller's
service account and grants the least the DNS-01 challenge needs on the one zone. Resources are
created with the DNS authority's explicit provider (the stack's own provider for that cloud).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi

from components.aws_federation import STS_AUDIENCE, web_identity_trust
from components.azure_federation import AUTHORITY_HOST, TOKEN_EXCHANGE_AUDIENCE
from components.common import Cloud, physical_name
from components.inference_cluster.cert_manager import CREDENTIALS_DIR, SUBJECT, TOKEN_FILE, DnsAccess

DNS_ZONE_CONTRIBUTOR: Final = "befefa01-2a29-4197-83a8-272ff33ce314"
"""Azure built-in role 'DNS Zone Contributor'."""
GCP_DNS_ROLE: Final = "roles/dns.admin"
"""Granted on the one managed zone only (Cloud DNS managed-zone IAM), not on the project."""


@dataclass(frozen=True)
class DnsTarget:
    """Where the zone is and who is asking."""

    cloud: Cloud
    provider: pulumi.ProviderResource
    stack: str
    zone: str
    issuer_url: pulumi.Output[str]
    """OIDC issuer of the cluster cert-manager runs in."""
    gcp_project: str | None = None
    gcp_managed_zone: str | None = None
    azure_resource_group: str | None = None
    azure_location: str = "eastus"
    aws_oidc_provider_arn: pulumi.Input[str] | None = None
    """An IAM OIDC provider that already exists for `issuer_url` in the zone's account (EKS IRSA's,
    or the replication's on a standby). IAM allows one per issuer URL: creating a second fails
    with EntityAlreadyExists on the first `pulumi up`. None creates one."""
    after: Sequence[pulumi.Resource] = ()
    """Resources the trust waits for (the cluster's federation_ready)."""
    gcp_apis: Any = None
    """gcp only: the stack's GcpApis for the zone's project (components.gcp_apis)."""
    name_suffix: pulumi.Input[str] | None = None
    """gcp only: the stack's random suffix (`Placement.name_suffix`) on the workload identity pool
    and provider IDs. GCP soft-deletes both for 30 days and reserves their IDs, so a destroyed and
    re-created stack must not ask for the same IDs again."""


def dns_access(parent: pulumi.Resource, name: str, target: DnsTarget) -> DnsAccess:
    builders = {"aws": _route53, "gcp": _cloud_dns, "azure": _azure_dns}
    return builders[target.cloud](parent, name, target)


def route53_policy(zone_id: str) -> str:
    """TXT records named _acme-challenge.* in one zone, and reading change status: nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ChallengeRecords",
                    "Effect": "Allow",
                    "Action": "route53:ChangeResourceRecordSets",
                    "Resource": f"arn:aws:route53:::hostedzone/{zone_id}",
                    "Condition": {
                        "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]},
                        "ForAllValues:StringLike": {
                            "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"]
                        },
                    },
                },
                {
                    "Sid": "ReadZone",
                    "Effect": "Allow",
                    "Action": "route53:ListResourceRecordSets",
                    "Resource": f"arn:aws:route53:::hostedzone/{zone_id}",
                },
                {
                    "Sid": "ChangeStatus",
                    "Effect": "Allow",
                    "Action": "route53:GetChange",
                    "Resource": "arn:aws:route53:::change/*",
                },
            ],
        }
    )


def _route53(parent: pulumi.Resource, name: str, target: DnsTarget) -> DnsAccess:
    import pulumi_aws as aws

    opts = pulumi.ResourceOptions(parent=parent, provider=target.provider, depends_on=list(target.after))
    resources: list[pulumi.Resource] = []
    if target.aws_oidc_provider_arn is not None:
        provider_arn = pulumi.Output.from_input(target.aws_oidc_provider_arn)
    else:
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-dns01-oidc",
            aws.iam.OpenIdConnectProviderArgs(url=target.issuer_url, client_id_lists=[STS_AUDIENCE]),
            opts=opts,
        )
        resources.append(oidc)
        provider_arn = oidc.arn
    trust = pulumi.Output.all(provider_arn, target.issuer_url).apply(
        lambda parts: web_identity_trust(parts[0], parts[1], SUBJECT)
    )
    role = aws.iam.Role(
        f"{name}-dns01",
        aws.iam.RoleArgs(
            description=f"cert-manager of stack {target.stack} answers ACME DNS-01 in {target.zone}",
            assume_role_policy=trust,
            max_session_duration=3600,
        ),
        opts=opts,
    )
    invoke = pulumi.InvokeOutputOptions(parent=parent, provider=target.provider)
    zone = aws.route53.get_zone_output(name=target.zone, private_zone=False, opts=invoke)
    policy = aws.iam.RolePolicy(
        f"{name}-dns01",
        aws.iam.RolePolicyArgs(role=role.id, policy=zone.zone_id.apply(route53_policy)),
        opts=opts,
    )
    resources += [role, policy]
    return DnsAccess(
        solver=zone.zone_id.apply(
            lambda zone_id: {"route53": {"region": "us-east-1", "hostedZoneID": zone_id}}
        ),
        env={
            "AWS_ROLE_ARN": role.arn,
            "AWS_WEB_IDENTITY_TOKEN_FILE": TOKEN_FILE,
            "AWS_REGION": "us-east-1",
            "AWS_STS_REGIONAL_ENDPOINTS": "regional",
        },
        token_audience=STS_AUDIENCE,
        files={},
        resources=resources,
    )


def _cloud_dns(parent: pulumi.Resource, name: str, target: DnsTarget) -> DnsAccess:
    import pulumi_gcp as gcp

    from components.gcp_apis import apis_of
    from components.gcp_federation import PoolNames, federate_subject

    project = target.gcp_project or ""
    managed_zone = target.gcp_managed_zone or target.zone.replace(".", "-")
    # IAM for the pool, STS for the token exchange, Cloud DNS for the zone's IAM and records.
    apis = apis_of(target.gcp_apis, target.stack, "cert-manager's Cloud DNS access").enable(
        "iam", "sts", "dns"
    )
    opts = pulumi.ResourceOptions(parent=parent, provider=target.provider, depends_on=[*target.after, *apis])
    invoke = pulumi.InvokeOutputOptions(parent=parent, provider=target.provider)
    federated = federate_subject(
        f"{name}-dns01",
        stack=target.stack,
        names=PoolNames(
            pool_id="dns01",
            pool_label="ACME DNS-01",
            provider_id="cert-manager",
            provider_label="cert-manager",
            description=f"cert-manager of stack {target.stack} answers ACME DNS-01 in {target.zone}",
        ),
        project=project,
        project_number=gcp.organizations.get_project_output(project_id=project, opts=invoke).number,
        issuer_url=target.issuer_url,
        subject=SUBJECT,
        name_suffix=target.name_suffix,
        opts=opts,
    )
    binding = gcp.dns.DnsManagedZoneIamMember(
        f"{name}-dns01",
        gcp.dns.DnsManagedZoneIamMemberArgs(
            project=project, managed_zone=managed_zone, role=GCP_DNS_ROLE, member=federated.principal
        ),
        opts=opts.merge(pulumi.ResourceOptions(depends_on=[federated.provider])),
    )
    return DnsAccess(
        solver={"cloudDNS": {"project": project, "hostedZoneName": managed_zone}},
        env={"GOOGLE_APPLICATION_CREDENTIALS": f"{CREDENTIALS_DIR}/gcp-credentials.json"},
        token_audience=federated.token_audience,
        files={"gcp-credentials.json": federated.credential_config(TOKEN_FILE)},
        resources=[federated.pool, federated.provider, binding],
    )


def _azure_dns(parent: pulumi.Resource, name: str, target: DnsTarget) -> DnsAccess:
    import pulumi_azure_native as azure_native

    from components.azure_federation import RoleGrant, federated_identity

    group = target.azure_resource_group or ""
    invoke = pulumi.InvokeOutputOptions(parent=parent, provider=target.provider)
    subscription = azure_native.authorization.get_client_config_output(opts=invoke).subscription_id
    zone_id = subscription.apply(
        lambda s: (
            f"/subscriptions/{s}/resourceGroups/{group}/providers/Microsoft.Network/dnsZones/{target.zone}"
        )
    )
    federated = federated_identity(
        f"{name}-dns01",
        identity_name=physical_name(target.stack, "cert-manager-dns01", max_length=128),
        credential_name="cert-manager",
        resource_group=group,
        location=target.azure_location,
        issuer=target.issuer_url,
        subject=SUBJECT,
        grant=RoleGrant(
            scope=zone_id,
            role_definition_id=subscription.apply(
                lambda s: (
                    f"/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{DNS_ZONE_CONTRIBUTOR}"
                )
            ),
            description=f"cert-manager of stack {target.stack} answers ACME DNS-01 in {target.zone}",
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=target.provider, depends_on=list(target.after)),
    )
    solver = pulumi.Output.all(subscription, federated.client_id, federated.tenant_id).apply(
        lambda a: {
            "azureDNS": {
                "subscriptionID": a[0],
                "resourceGroupName": group,
                "hostedZoneName": target.zone,
                "environment": "AzurePublicCloud",
                "managedIdentity": {"clientID": a[1], "tenantID": a[2]},
            }
        }
    )
    return DnsAccess(
        solver=solver,
        env={
            "AZURE_CLIENT_ID": federated.client_id,
            "AZURE_TENANT_ID": federated.tenant_id,
            "AZURE_FEDERATED_TOKEN_FILE": TOKEN_FILE,
            "AZURE_AUTHORITY_HOST": AUTHORITY_HOST,
        },
        token_audience=TOKEN_EXCHANGE_AUDIENCE,
        files={},
        resources=[federated.identity, federated.credential, federated.assignment],
    )
