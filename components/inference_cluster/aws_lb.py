"""EKS: Elastic IPs for the inference NLB and the AWS Load Balancer Controller that attaches them.

The in-tree AWS cloud provider cannot give an NLB static addresses; the AWS Load Balancer
Controller can (`service.beta.kubernetes.io/aws-load-balancer-eip-allocations`). So the stack
allocates one Elastic IP per public subnet (the controller requires exactly as many allocations
as load balancer subnets, one subnet per AZ), names the subnets explicitly in the Service (no tag
discovery, so the count always matches), and installs the controller from its official chart.

Real-cloud behaviour this encodes:
- The controller reads its VPC id and region from the instance metadata service by default.
  Nodes allow IMDSv2 with one hop only (pods cannot borrow the node role), so both are passed
  as chart values instead.
- Its mutating webhook for Services fails closed (`failurePolicy: Fail`): a Service created while
  the controller is not running is refused. The workload's Service waits for the Helm release,
  which waits for the controller's pods.
- Cross-zone load balancing is on: every Elastic IP reaches every ready replica, whichever AZ its
  GPU node is in (with it off, an AZ without a replica would black-hole its address).
- On `pulumi destroy` the Service goes first (it depends on the release and the EIPs), the
  controller deletes the NLB, then the EIPs are released.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.inference_cluster.public_address import PublicAddress
from components.inference_cluster.shared import short_name

CHART: Final = "aws-load-balancer-controller"
CHART_REPO: Final = "https://aws.github.io/eks-charts"
CHART_VERSION: Final = "3.5.0"
"""Pinned chart (controller v3.5.0, git tag v3.5.0 of kubernetes-sigs/aws-load-balancer-controller)."""
CONTROLLER_IMAGE: Final = "public.ecr.aws/eks/aws-load-balancer-controller"
CONTROLLER_TAG: Final = "v3.5.0"
CONTROLLER_DIGEST: Final = "sha256:298acdff5a571731276aaea3d5cc450a264e4ad710a5bddf3e518f68a3f9f6cb"
"""The multi-arch index of controller v3.5.0, as stated in several public repositories (Helm values,
a Makefile, a mirror script). The chart renders `<repository>:<tag>`, so the digest rides in the tag."""
NAMESPACE: Final = "kube-system"
SERVICE_ACCOUNT: Final = "aws-load-balancer-controller"
LOAD_BALANCER_CLASS: Final = "service.k8s.aws/nlb"
CLUSTER_TAG: Final = "elbv2.k8s.aws/cluster"
"""Tag the controller puts on every load balancer, target group and security group it creates
(value: the cluster name); the IAM policy only lets it change resources carrying this cluster's."""


_ELB = "arn:${partition}:elasticloadbalancing:${region}:${account}"
_SG = "arn:${partition}:ec2:${region}:${account}:security-group/*"
_VPC = "arn:${partition}:ec2:${region}:${account}:vpc/${vpc}"
"""A statement naming the VPC is on '*' instead while the VPC id is not known."""
_OURS = {"StringEquals": {f"aws:ResourceTag/{CLUSTER_TAG}": "${cluster}"}}
_TAGGING_OURS = {"StringEquals": {f"aws:RequestTag/{CLUSTER_TAG}": "${cluster}"}}
_NLB_AND_GROUPS = [f"{_ELB}:loadbalancer/net/*/*", f"{_ELB}:targetgroup/*/*"]

CONTROLLER_POLICY: Final[dict[str, Any]] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        },
        {
            # Read-only discovery, as documented (these cannot be scoped to resources, and
            # trimming read-only calls the controller may make buys nothing but risk).
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeAccountAttributes",
                "ec2:DescribeAddresses",
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeInternetGateways",
                "ec2:DescribeVpcs",
                "ec2:DescribeVpcPeeringConnections",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeInstances",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeTags",
                "ec2:DescribeCoipPools",
                "ec2:DescribeIpamPools",
                "ec2:DescribeRouteTables",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeListenerCertificates",
                "elasticloadbalancing:DescribeSSLPolicies",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTrustStores",
                "elasticloadbalancing:DescribeListenerAttributes",
                "elasticloadbalancing:DescribeCapacityReservation",
            ],
            "Resource": "*",
        },
        {
            # The two discovery calls that take resource ARNs, scoped to them.
            "Effect": "Allow",
            "Action": "ec2:GetSecurityGroupsForVpc",
            "Resource": _VPC,
        },
        {
            "Effect": "Allow",
            "Action": "ec2:GetCoipPoolUsage",
            "Resource": "arn:${partition}:ec2:${region}:${account}:coip-pool/*",
        },
        {
            # The NLB's own security group: created tagged with this cluster, then only ours;
            # only in this cluster's VPC when it is known (a write on '*' otherwise).
            "Effect": "Allow",
            "Action": "ec2:CreateSecurityGroup",
            "Resource": [_VPC, _SG],
        },
        {
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": _SG,
            "Condition": {
                "StringEquals": {
                    "ec2:CreateAction": "CreateSecurityGroup",
                    f"aws:RequestTag/{CLUSTER_TAG}": "${cluster}",
                }
            },
        },
        {
            "Effect": "Allow",
            "Action": ["ec2:CreateTags", "ec2:DeleteTags", "ec2:DeleteSecurityGroup"],
            "Resource": _SG,
            "Condition": _OURS,
        },
        {
            # Ingress rules on the NLB's group and, for pod targets, on the node/pod groups
            # (which the controller does not own, so this one cannot be tag-conditioned).
            "Effect": "Allow",
            "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            "Resource": _SG,
        },
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateTargetGroup",
            ],
            "Resource": _NLB_AND_GROUPS,
            "Condition": _TAGGING_OURS,
        },
        {
            "Effect": "Allow",
            "Action": "elasticloadbalancing:AddTags",
            "Resource": _NLB_AND_GROUPS,
            "Condition": {
                "StringEquals": {
                    "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"],
                    f"aws:RequestTag/{CLUSTER_TAG}": "${cluster}",
                }
            },
        },
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyCapacityReservation",
            ],
            "Resource": _NLB_AND_GROUPS,
            "Condition": _OURS,
        },
        {
            # Listeners of our NLBs (listener ARNs carry no tags of their own at creation).
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyListenerAttributes",
            ],
            "Resource": [f"{_ELB}:loadbalancer/net/*/*", f"{_ELB}:listener/net/*/*/*"],
        },
        {
            # Tags on listeners only; load balancers and target groups are tagged above.
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            "Resource": f"{_ELB}:listener/net/*/*/*",
        },
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            "Resource": f"{_ELB}:targetgroup/*/*",
        },
    ],
}
"""The controller's documented IAM policy (docs/install/iam_policy.json, v3.5.0), reduced, with
`${partition}`, `${region}`, `${account}`, `${cluster}` and `${vpc}` for controller_policy to fill.

Reductions, each safe for a controller that only serves `type: LoadBalancer` Services (NLB) and
never Ingresses (ALB): no WAF, Shield, Cognito, ACM or IAM server-certificate actions and no
listener-rule actions (ALB features; the chart values switch them off too); resources are NLBs
and target groups in this account and region only; every create, tag, modify and delete is
conditioned on this cluster's `elbv2.k8s.aws/cluster` tag (the document accepts any cluster's
tag), so two clusters in one account cannot touch each other's load balancers.
"""


def controller_policy(
    partition: str, region: str, account: str, cluster_name: str, vpc_id: str | None = None
) -> dict[str, Any]:
    """CONTROLLER_POLICY for this cluster; statements naming the VPC are on '*' while it is unknown."""
    names = {"partition": partition, "region": region, "account": account, "cluster": cluster_name}
    names["vpc"] = vpc_id or ""
    statements = [
        statement
        if vpc_id or "${vpc}" not in json.dumps(statement["Resource"])
        else {**statement, "Resource": "*"}
        for statement in CONTROLLER_POLICY["Statement"]
    ]
    return _filled({**CONTROLLER_POLICY, "Statement": statements}, names)


def _filled(value: Any, names: dict[str, str]) -> Any:
    """`value` with every `${name}` in its strings (keys too) replaced."""
    if isinstance(value, dict):
        return {_filled(k, names): _filled(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, names) for v in value]
    if isinstance(value, str):
        return string.Template(value).substitute(names)
    return value


def controller_values(
    cluster_name: str, region: str, vpc_id: str, role_arn: str, node_selector: dict[str, str]
) -> dict[str, Any]:
    """Chart values: NLB-only controller, identity by IRSA, no metadata-service lookups."""
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": 2,
        "image": {"repository": CONTROLLER_IMAGE, "tag": f"{CONTROLLER_TAG}@{CONTROLLER_DIGEST}"},
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
        "nodeSelector": node_selector,
        # Services only: no IngressClass, and the ALB-only integrations the IAM policy omits.
        "createIngressClassResource": False,
        "enableShield": False,
        "enableWaf": False,
        "enableWafv2": False,
        "defaultTargetType": "ip",
        "podDisruptionBudget": {"maxUnavailable": 1},
    }


def eip_annotations(
    allocation_ids: Sequence[str], subnet_ids: Sequence[str], zones: Sequence[str]
) -> dict[str, str]:
    """The Service annotations that make the controller build an internet-facing NLB on exactly
    these subnets with exactly these Elastic IPs (one per subnet, same count by construction).

    Raises RuntimeError (a ValueError would reach the user wrapped in Pulumi's Output text) when
    the controller would reject the NLB: a count mismatch, or two subnets in one AZ.
    """
    if len(allocation_ids) != len(subnet_ids) or not subnet_ids:
        raise RuntimeError(
            f"the NLB needs one Elastic IP per subnet (got {len(allocation_ids)} allocations for "
            f"{len(subnet_ids)} subnets): the controller rejects a mismatch"
        )
    if len(set(zones)) != len(zones):
        raise RuntimeError(
            f"the NLB's public subnets must be in different availability zones (got {', '.join(zones)}): "
            "an NLB takes one subnet per AZ; the region offers fewer zones than the stack's subnets"
        )
    return {
        "service.beta.kubernetes.io/aws-load-balancer-subnets": ",".join(subnet_ids),
        "service.beta.kubernetes.io/aws-load-balancer-eip-allocations": ",".join(allocation_ids),
    }


def static_address(
    name: str,
    *,
    parent: pulumi.Resource,
    provider: pulumi.ProviderResource,
    k8s_provider: k8s.Provider,
    base: str,
    region: str,
    cluster_name: pulumi.Output[str],
    vpc_id: pulumi.Output[str],
    public_subnet_ids: Sequence[pulumi.Output[str]],
    public_subnet_zones: Sequence[pulumi.Output[str]],
    controller_trust_policy: pulumi.Output[str],
    node_selector: dict[str, str],
    tags: dict[str, str],
    protect: bool,
) -> PublicAddress:
    """One Elastic IP per public subnet, the controller's IRSA role and the controller itself."""
    child = pulumi.ResourceOptions(parent=parent, provider=provider)
    eips = [
        aws.ec2.Eip(
            f"{name}-lb-{i}",
            aws.ec2.EipArgs(domain="vpc", tags={**tags, "Name": f"{base}-lb-{i}"}),
            # DNS records point here: losing an address would strand them.
            opts=child.merge(pulumi.ResourceOptions(protect=protect)),
        )
        for i in range(len(public_subnet_ids))
    ]
    release = _controller(
        name,
        parent=parent,
        provider=provider,
        k8s_provider=k8s_provider,
        base=base,
        region=region,
        cluster_name=cluster_name,
        vpc_id=vpc_id,
        trust_policy=controller_trust_policy,
        node_selector=node_selector,
    )
    annotations = pulumi.Output.all(
        pulumi.Output.all(*[e.allocation_id for e in eips]),
        pulumi.Output.all(*public_subnet_ids),
        pulumi.Output.all(*public_subnet_zones),
    ).apply(lambda a: eip_annotations(a[0], a[1], a[2]))
    keys = (
        "service.beta.kubernetes.io/aws-load-balancer-subnets",
        "service.beta.kubernetes.io/aws-load-balancer-eip-allocations",
    )

    def annotation(key: str) -> pulumi.Output[str]:
        return annotations.apply(lambda a: a[key])

    return PublicAddress(
        count=len(eips),
        addresses=pulumi.Output.all(*[e.public_ip for e in eips]).apply(list),
        service_annotations={key: annotation(key) for key in keys},
        load_balancer_class=LOAD_BALANCER_CLASS,
        ready=(release, *eips),
    )


def _controller(
    name: str,
    *,
    parent: pulumi.Resource,
    provider: pulumi.ProviderResource,
    k8s_provider: k8s.Provider,
    base: str,
    region: str,
    cluster_name: pulumi.Output[str],
    vpc_id: pulumi.Output[str],
    trust_policy: pulumi.Output[str],
    node_selector: dict[str, str],
) -> k8s.helm.v3.Release:
    """The controller's IRSA role with controller_policy, and the pinned chart, awaited."""
    child = pulumi.ResourceOptions(parent=parent, provider=provider)
    invoke = pulumi.InvokeOutputOptions(parent=parent, provider=provider)
    role = aws.iam.Role(
        f"{name}-lb-controller",
        aws.iam.RoleArgs(
            name=short_name(base, "lb-controller", 64),
            description=f"IRSA role of {NAMESPACE}/{SERVICE_ACCOUNT} (AWS Load Balancer Controller)",
            assume_role_policy=trust_policy,
        ),
        opts=child,
    )
    identity = aws.get_caller_identity_output(opts=invoke)
    partition = aws.get_partition_output(opts=invoke)
    policy = aws.iam.RolePolicy(
        f"{name}-lb-controller",
        aws.iam.RolePolicyArgs(
            role=role.name,
            policy=pulumi.Output.all(partition.partition, identity.account_id, cluster_name, vpc_id).apply(
                lambda a: json.dumps(controller_policy(a[0], region, a[1], a[2], a[3]))
            ),
        ),
        opts=child,
    )
    return k8s.helm.v3.Release(
        f"{name}-lb-controller",
        k8s.helm.v3.ReleaseArgs(
            name=SERVICE_ACCOUNT,
            chart=CHART,
            version=CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPO),
            namespace=NAMESPACE,
            values=pulumi.Output.all(cluster_name, vpc_id, role.arn).apply(
                lambda a: controller_values(a[0], region, a[1], a[2], node_selector)
            ),
            # Wait for the controller's pods: its Service webhook fails closed until they run.
            skip_await=False,
            atomic=True,
            timeout=600,
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=k8s_provider, depends_on=[policy]),
    )
