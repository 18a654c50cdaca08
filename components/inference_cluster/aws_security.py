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


def flow_log_group_name(cluster_name: str) -> str:
    return f"/aws/vpc/{cluster_name}/flow-logs"


def log_group_arn(partition: str, region: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{name}"


def cluster_key_policy(account_id: str, region: str, partition: str, log_group_names: list[str]) -> str:
    """Account root (so IAM policies such as the cluster role's grant apply) + CloudWatch Logs
    for exactly the stack's log groups (control plane, VPC flow logs)."""
    arns = [log_group_arn(partition, region, account_id, n) for n in log_group_names]
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
                    "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": arns}},
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


def vpc_flow_logs(
    name: str,
    *,
    cluster_name: str,
    vpc: aws.ec2.Vpc,
    key: aws.kms.Key,
    log_group_arn_of: pulumi.Output[str],
    child: pulumi.ResourceOptions,
) -> aws.ec2.FlowLog:
    """Every flow of the VPC to a KMS-encrypted log group, delivered by a role only the VPC Flow
    Logs service of this account may assume, allowed to write to that one group."""
    group = aws.cloudwatch.LogGroup(
        f"{name}-flow-logs",
        aws.cloudwatch.LogGroupArgs(
            name=flow_log_group_name(cluster_name),
            retention_in_days=AUDIT_LOG_RETENTION_DAYS,
            kms_key_id=key.arn,
        ),
        opts=child,
    )
    account = log_group_arn_of.apply(lambda arn: arn.split(":")[4])
    role = aws.iam.Role(
        f"{name}-flow-logs",
        aws.iam.RoleArgs(
            assume_role_policy=account.apply(
                lambda account_id: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                            }
                        ],
                    }
                )
            ),
        ),
        opts=child,
    )
    write = aws.iam.RolePolicy(
        f"{name}-flow-logs",
        aws.iam.RolePolicyArgs(
            role=role.name,
            policy=log_group_arn_of.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                    "logs:DescribeLogStreams",
                                ],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ],
                    }
                )
            ),
        ),
        opts=child,
    )
    return aws.ec2.FlowLog(
        f"{name}-flow-logs",
        aws.ec2.FlowLogArgs(
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
        ),
        # Flow Logs checks that it can deliver when the flow log is created.
        opts=child.merge(pulumi.ResourceOptions(depends_on=[write])),
    )
