"""EKS key policy: the cluster's KMS key serves both Kubernetes secrets and control-plane logs.

CloudWatch Logs encrypts a log group with a KMS key only if the key policy lets the regional
Logs service principal use it, scoped by the encryption context to that one log group (IAM
policies cannot grant a service principal). The log group is created by us, with the key,
before the cluster: otherwise EKS creates an unencrypted one with infinite retention on first
enable of control-plane logging.
"""

from __future__ import annotations

import json
from typing import Final

import pulumi
import pulumi_aws as aws

AUDIT_LOG_RETENTION_DAYS: Final = 365
"""Control-plane (audit) logs are kept a year, what audit reviews usually ask for."""


def control_plane_log_group_name(cluster_name: str) -> str:
    return f"/aws/eks/{cluster_name}/cluster"


def cluster_key_policy(account_id: str, region: str, partition: str, log_group_name: str) -> str:
    """Account root (so IAM policies such as the cluster role's grant apply) + CloudWatch Logs
    for exactly the control-plane log group."""
    log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountIamPolicies",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "ControlPlaneLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": [
                        "kms:Encrypt*",
                        "kms:Decrypt*",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:Describe*",
                    ],
                    "Resource": "*",
                    "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
                },
            ],
        }
    )


def lock_default_security_group(name: str, vpc: aws.ec2.Vpc, child: pulumi.ResourceOptions) -> None:
    """Adopt the VPC's default security group and strip its rules: nothing here uses it (EKS
    attaches its own cluster security group), so nothing placed in it by mistake gets traffic."""
    aws.ec2.DefaultSecurityGroup(
        f"{name}-default-sg",
        aws.ec2.DefaultSecurityGroupArgs(
            vpc_id=vpc.id, ingress=[], egress=[], tags={"Name": f"{name}-default-locked"}
        ),
        opts=child,
    )
