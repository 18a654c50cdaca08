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

from components.common import Cloud, physical_name
from components.inference_cluster.cert_manager import CREDENTIALS_DIR, SUBJECT, TOKEN_FILE, DnsAccess
from components.naming import with_suffix

STS_AUDIENCE: Final = "sts.amazonaws.com"
AZURE_TOKEN_AUDIENCE: Final = "api://AzureADTokenExchange"
DNS_ZONE_CONTRIBUTOR: Final = "befefa01-2a29-4197-83a8-272ff33ce314"
"""Azure built-in role 'DNS Zone Contributor'."""
WIF_ID_MAX: Final = 32
"""Workload identity pool and provider IDs: 4-32 lowercase letters, digits and dashes."""
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


def _issuer_host(issuer_url: str) -> str:
    return issuer_url.removeprefix("https://").rstrip("/")


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
        lambda parts: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": parts[0]},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                f"{_issuer_host(parts[1])}:sub": SUBJECT,
                                f"{_issuer_host(parts[1])}:aud": STS_AUDIENCE,
                            }
                        },
                    }
                ],
            }
        )
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

    project = target.gcp_project or ""
    managed_zone = target.gcp_managed_zone or target.zone.replace(".", "-")
    # IAM for the pool, STS for the token exchange, Cloud DNS for the zone's IAM and records.
    apis = apis_of(target.gcp_apis, target.stack, "cert-manager's Cloud DNS access").enable(
        "iam", "sts", "dns"
    )
    opts = pulumi.ResourceOptions(parent=parent, provider=target.provider, depends_on=[*target.after, *apis])
    # 4-32 characters each; the suffix keeps a re-created stack clear of the soft-deleted IDs.
    pool_id = with_suffix(physical_name(target.stack, "dns01"), target.name_suffix, max_length=WIF_ID_MAX)
    provider_id = with_suffix(
        physical_name(target.stack, "cert-manager"), target.name_suffix, max_length=WIF_ID_MAX
    )
    pool = gcp.iam.WorkloadIdentityPool(
        f"{name}-dns01",
        gcp.iam.WorkloadIdentityPoolArgs(
            workload_identity_pool_id=pool_id,
            project=project,
            display_name=f"{target.stack} ACME DNS-01"[:32],
            description=f"cert-manager of stack {target.stack} answers ACME DNS-01 in {target.zone}",
        ),
        opts=opts,
    )
    pool_provider = gcp.iam.WorkloadIdentityPoolProvider(
        f"{name}-dns01",
        gcp.iam.WorkloadIdentityPoolProviderArgs(
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=provider_id,
            project=project,
            display_name=f"{target.stack} cert-manager"[:32],
            attribute_mapping={"google.subject": "assertion.sub"},
            attribute_condition=f"assertion.sub == '{SUBJECT}'",
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=target.issuer_url),
        ),
        opts=opts,
    )
    invoke = pulumi.InvokeOutputOptions(parent=parent, provider=target.provider)
    number = gcp.organizations.get_project_output(project_id=project, opts=invoke).number
    path = pulumi.Output.all(number, pool_id, provider_id).apply(
        lambda a: f"projects/{a[0]}/locations/global/workloadIdentityPools/{a[1]}/providers/{a[2]}"
    )
    principal = pulumi.Output.all(number, pool_id).apply(
        lambda a: (
            f"principal://iam.googleapis.com/projects/{a[0]}/locations/global/workloadIdentityPools/"
            f"{a[1]}/subject/{SUBJECT}"
        )
    )
    binding = gcp.dns.DnsManagedZoneIamMember(
        f"{name}-dns01",
        gcp.dns.DnsManagedZoneIamMemberArgs(
            project=project, managed_zone=managed_zone, role=GCP_DNS_ROLE, member=principal
        ),
        opts=opts.merge(pulumi.ResourceOptions(depends_on=[pool_provider])),
    )
    credentials = path.apply(
        lambda p: json.dumps(
            {
                "type": "external_account",
                "audience": f"//iam.googleapis.com/{p}",
                "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                "token_url": "https://sts.googleapis.com/v1/token",
                "credential_source": {"file": TOKEN_FILE, "format": {"type": "text"}},
            },
            indent=2,
        )
    )
    return DnsAccess(
        solver={"cloudDNS": {"project": project, "hostedZoneName": managed_zone}},
        env={"GOOGLE_APPLICATION_CREDENTIALS": f"{CREDENTIALS_DIR}/gcp-credentials.json"},
        token_audience=path.apply(lambda p: f"https://iam.googleapis.com/{p}"),
        files={"gcp-credentials.json": credentials},
        resources=[pool, pool_provider, binding],
    )


def _azure_dns(parent: pulumi.Resource, name: str, target: DnsTarget) -> DnsAccess:
    import pulumi_azure_native as azure_native

    group = target.azure_resource_group or ""
    opts = pulumi.ResourceOptions(parent=parent, provider=target.provider, depends_on=list(target.after))
    identity = azure_native.managedidentity.UserAssignedIdentity(
        f"{name}-dns01",
        resource_name_=physical_name(target.stack, "cert-manager-dns01", max_length=128),
        resource_group_name=group,
        location=target.azure_location,
        opts=opts,
    )
    credential = azure_native.managedidentity.FederatedIdentityCredential(
        f"{name}-dns01",
        federated_identity_credential_resource_name="cert-manager",
        resource_name_=identity.name,
        resource_group_name=group,
        issuer=target.issuer_url,
        subject=SUBJECT,
        audiences=[AZURE_TOKEN_AUDIENCE],
        opts=opts,
    )
    invoke = pulumi.InvokeOutputOptions(parent=parent, provider=target.provider)
    subscription = azure_native.authorization.get_client_config_output(opts=invoke).subscription_id
    zone_id = subscription.apply(
        lambda s: (
            f"/subscriptions/{s}/resourceGroups/{group}/providers/Microsoft.Network/dnsZones/{target.zone}"
        )
    )
    assignment = azure_native.authorization.RoleAssignment(
        f"{name}-dns01",
        azure_native.authorization.RoleAssignmentArgs(
            scope=zone_id,
            role_definition_id=subscription.apply(
                lambda s: (
                    f"/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{DNS_ZONE_CONTRIBUTOR}"
                )
            ),
            principal_id=identity.principal_id,
            principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
            description=f"cert-manager of stack {target.stack} answers ACME DNS-01 in {target.zone}",
        ),
        opts=opts,
    )
    solver = pulumi.Output.all(subscription, identity.client_id, identity.tenant_id).apply(
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
            "AZURE_CLIENT_ID": identity.client_id,
            "AZURE_TENANT_ID": identity.tenant_id,
            "AZURE_FEDERATED_TOKEN_FILE": TOKEN_FILE,
            "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/",
        },
        token_audience=AZURE_TOKEN_AUDIENCE,
        files={},
        resources=[identity, credential, assignment],
    )
