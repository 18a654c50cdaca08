"""AWS side of cross-cloud replication: keyless IAM roles that read or write an S3 model bucket.

Read side (the primary's bucket, created with the standby's `source_provider`): an IAM role whose
only permissions are s3:ListBucket/GetBucketLocation on the bucket, s3:GetObject on its objects
and kms:Decrypt on its key, assumable either by Google's Storage Transfer Service agent
(web identity from accounts.google.com, pinned to the agent's subject id) or by exactly one
Kubernetes service account of the standby cluster (an IAM OIDC provider for that cluster's
issuer). Write side (the standby's own bucket): an IRSA role for the replication service account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from components.aws_federation import STS_AUDIENCE, issuer_host, web_identity_trust
from components.object_store.args import BUCKET_ARN, KMS_KEY_ARN

GOOGLE_ISSUER: Final = "accounts.google.com"
READ_ACTIONS: Final = ("s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "kms:Decrypt")
"""Everything the read side may do; asserted by the tests."""


def read_policy(bucket_arn: pulumi.Input[str], kms_key_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """Read-only on one bucket and decrypt with its key; no wildcard bucket, no write action."""
    arn = pulumi.Output.from_input(bucket_arn)
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ListModelBucket",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                    "Resource": arn,
                },
                {
                    "Sid": "ReadModelObjects",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": arn.apply(lambda a: f"{a}/*"),
                },
                {
                    "Sid": "DecryptModelObjects",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": kms_key_arn,
                },
            ],
        }
    )


def _read_role(
    parent: pulumi.Resource,
    name: str,
    *,
    source: pulumi.Output[Mapping[str, Any]],
    provider: pulumi.ProviderResource,
    trust: pulumi.Output[str],
    description: str,
    extra_depends_on: list[pulumi.Resource] | None = None,
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=extra_depends_on or [])
    role = aws.iam.Role(
        f"{name}-source-read",
        aws.iam.RoleArgs(description=description, assume_role_policy=trust, max_session_duration=3600),
        opts=opts,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-source-read",
        aws.iam.RolePolicyArgs(
            role=role.id,
            policy=read_policy(source.apply(lambda d: d[BUCKET_ARN]), source.apply(lambda d: d[KMS_KEY_ARN])),
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
    return role, policy


def read_role_for_transfer_service(
    parent: pulumi.Resource,
    name: str,
    *,
    source: pulumi.Output[Mapping[str, Any]],
    provider: pulumi.ProviderResource,
    agent_subject_id: pulumi.Output[str],
    stack: str,
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """A role Storage Transfer Service assumes with its Google identity token (no access key)."""
    trust = pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": GOOGLE_ISSUER},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{GOOGLE_ISSUER}:sub": agent_subject_id}},
                }
            ],
        }
    )
    return _read_role(
        parent,
        name,
        source=source,
        provider=provider,
        trust=trust,
        description=f"Storage Transfer Service of stack {stack} reads the model bucket (read-only)",
    )


def read_role_for_cluster(
    parent: pulumi.Resource,
    name: str,
    *,
    source: pulumi.Output[Mapping[str, Any]],
    provider: pulumi.ProviderResource,
    issuer_url: pulumi.Output[str],
    subject: str,
    stack: str,
) -> tuple[aws.iam.Role, aws.iam.RolePolicy, aws.iam.OpenIdConnectProvider]:
    """A role one service account of the standby cluster assumes with its projected token."""
    oidc = aws.iam.OpenIdConnectProvider(
        f"{name}-standby-cluster",
        aws.iam.OpenIdConnectProviderArgs(url=issuer_url, client_id_lists=[STS_AUDIENCE]),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
    trust = pulumi.Output.all(oidc.arn, issuer_url).apply(
        lambda parts: web_identity_trust(parts[0], parts[1], subject)
    )
    role, policy = _read_role(
        parent,
        name,
        source=source,
        provider=provider,
        trust=trust,
        description=f"Model replication CronJob of stack {stack} reads the model bucket (read-only)",
    )
    return role, policy, oidc


def write_role_for_cluster(
    parent: pulumi.Resource,
    name: str,
    *,
    account_id: pulumi.Output[str],
    bucket_arn: pulumi.Output[str],
    kms_key_arn: pulumi.Output[str],
    provider: pulumi.ProviderResource,
    issuer_url: pulumi.Output[str],
    subject: str,
    stack: str,
    after: Sequence[pulumi.Resource] = (),
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """IRSA role of the replication service account: write into the standby's own bucket only.

    Trusts the EKS cluster's IAM OIDC provider, which the inference cluster component registers
    for IRSA; its ARN follows from the account and the issuer.
    """
    trust = pulumi.Output.all(account_id, issuer_url).apply(
        lambda parts: web_identity_trust(
            f"arn:aws:iam::{parts[0]}:oidc-provider/{issuer_host(parts[1])}", parts[1], subject
        )
    )
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    trust_opts = opts.merge(pulumi.ResourceOptions(depends_on=list(after)))
    role = aws.iam.Role(
        f"{name}-target-write",
        aws.iam.RoleArgs(
            description=f"Model replication CronJob of stack {stack} writes its own model bucket",
            assume_role_policy=trust,
            max_session_duration=3600,
        ),
        opts=trust_opts,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-target-write",
        aws.iam.RolePolicyArgs(
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ListModelBucket",
                            "Effect": "Allow",
                            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                            "Resource": bucket_arn,
                        },
                        {
                            "Sid": "WriteModelObjects",
                            "Effect": "Allow",
                            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                            "Resource": bucket_arn.apply(lambda a: f"{a}/*"),
                        },
                        {
                            "Sid": "EncryptModelObjects",
                            "Effect": "Allow",
                            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                            "Resource": kms_key_arn,
                        },
                    ],
                }
            ),
        ),
        opts=opts,
    )
    return role, policy
