"""EKS: a VPC over three AZs with private node subnets, IRSA, a CPU system node group and a
tainted NVIDIA GPU node group."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pulumi
import pulumi_aws as aws

from components.common import WorkloadIdentity, type_token
from components.inference_cluster import aws_lb
from components.inference_cluster.args import (
    GPU_NODE_FLOOR,
    GPU_POOL,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    GPU_TYPE_LABEL,
    MODULE,
    NAMESPACE,
    POOL_LABEL,
    SERVICE_ACCOUNT,
    SYSTEM_POOL,
    InferenceClusterArgs,
)
from components.inference_cluster.autoscaler import NAMESPACE as AUTOSCALER_NAMESPACE
from components.inference_cluster.autoscaler import SERVICE_ACCOUNT as AUTOSCALER_SERVICE_ACCOUNT
from components.inference_cluster.autoscaler import eks_cluster_autoscaler
from components.inference_cluster.placement import EksZonePlan, eks_zone_plan, gpu_subnets
from components.inference_cluster.public_address import PublicAddress
from components.inference_cluster.shared import (
    base_name,
    exec_kubeconfig,
    kubernetes_provider,
    nvidia_device_plugin,
    short_name,
)

# Three zones so one AZ outage (or one AZ out of GPU capacity) leaves the pool schedulable.
# Zones come from components.inference_cluster.placement: where the GPU type is offered, by zone
# ID; where fewer are usable, subnets wrap around onto the zones there are.
AZ_COUNT = 3
VPC_CIDR = "10.0.0.0/16"
PRIVATE_CIDRS = ("10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18")
PUBLIC_CIDRS = ("10.0.192.0/20", "10.0.208.0/20", "10.0.224.0/20")
SYSTEM_INSTANCE_TYPE = "m6i.large"
SYSTEM_DISK_GIB = 50
DESIRED_SIZE = "scalingConfig.desiredSize"

_NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    # Pull only (what the EKS node role docs name), not ReadOnly's describe/list of every repository;
    # the pull-through cache's import rights are granted under the stack's prefix alone.
    "AmazonEC2ContainerRegistryPullOnly",
)


def _service_trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def irsa_trust_policy(provider_arn: str, issuer_url: str, namespace: str, service_account: str) -> str:
    """Trust exactly one Kubernetes service account of this cluster, for STS tokens only."""
    issuer = issuer_url.removeprefix("https://")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
    )


def _zone_picker(index: int) -> Callable[[EksZonePlan], str]:
    return lambda plan: plan.subnet_zone_ids[index]


def _issuer_of(identities: Sequence[aws.eks.outputs.ClusterIdentity]) -> str:
    oidcs = identities[0].oidcs if identities else None
    issuer = oidcs[0].issuer if oidcs else None
    if not issuer:
        raise ValueError(
            "EKS reported no OIDC issuer for the cluster (identities[0].oidcs[0].issuer): IRSA needs it; "
            "check `aws eks describe-cluster --query cluster.identity`"
        )
    return issuer


class EksInferenceCluster(pulumi.ComponentResource):
    """EKS cluster with IRSA, a system node group and a GPU node group; see InferenceClusterArgs."""

    def __init__(
        self, name: str, args: InferenceClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "EksInferenceCluster"), name, None, opts)
        placement = args.placement
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        base = base_name(name, placement)
        tags = dict(placement.tags)

        # Network: private subnets for nodes, public subnets only for NAT and internet-facing LBs.
        # Zone IDs where EC2 offers the GPU type and EKS accepts subnets (names differ per account).
        zone_plan = eks_zone_plan(
            args, AZ_COUNT, pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        )
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            aws.ec2.VpcArgs(
                cidr_block=VPC_CIDR, enable_dns_hostnames=True, enable_dns_support=True, tags={"Name": base}
            ),
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", aws.ec2.InternetGatewayArgs(vpc_id=vpc.id, tags={"Name": base}), opts=child
        )
        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            aws.ec2.RouteTableArgs(
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
                tags={"Name": f"{base}-public"},
            ),
            opts=child,
        )
        private_subnets: list[aws.ec2.Subnet] = []
        public_subnets: list[aws.ec2.Subnet] = []
        for i in range(AZ_COUNT):
            zone_id = zone_plan.apply(_zone_picker(i))
            public = aws.ec2.Subnet(
                f"{name}-public-{i}",
                aws.ec2.SubnetArgs(
                    vpc_id=vpc.id,
                    cidr_block=PUBLIC_CIDRS[i],
                    availability_zone_id=zone_id,
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{base}-public-{i}", "kubernetes.io/role/elb": "1"},
                ),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}",
                aws.ec2.RouteTableAssociationArgs(subnet_id=public.id, route_table_id=public_routes.id),
                opts=child,
            )
            public_subnets.append(public)
            # One NAT gateway per AZ: an AZ outage must not cut the other AZs' nodes off the
            # registry and the cloud APIs (model bucket, secrets).
            nat_ip = aws.ec2.Eip(
                f"{name}-nat-{i}", aws.ec2.EipArgs(domain="vpc", tags={"Name": f"{base}-nat-{i}"}), opts=child
            )
            nat = aws.ec2.NatGateway(
                f"{name}-nat-{i}",
                aws.ec2.NatGatewayArgs(
                    allocation_id=nat_ip.id, subnet_id=public.id, tags={"Name": f"{base}-{i}"}
                ),
                opts=child.merge(pulumi.ResourceOptions(depends_on=[igw])),
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{i}",
                aws.ec2.SubnetArgs(
                    vpc_id=vpc.id,
                    cidr_block=PRIVATE_CIDRS[i],
                    availability_zone_id=zone_id,
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{base}-private-{i}", "kubernetes.io/role/internal-elb": "1"},
                ),
                opts=child,
            )
            private_routes = aws.ec2.RouteTable(
                f"{name}-private-{i}",
                aws.ec2.RouteTableArgs(
                    vpc_id=vpc.id,
                    routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                    tags={"Name": f"{base}-private-{i}"},
                ),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}",
                aws.ec2.RouteTableAssociationArgs(subnet_id=private.id, route_table_id=private_routes.id),
                opts=child,
            )
            private_subnets.append(private)
        private_ids = [s.id for s in private_subnets]
        gpu_subnet_ids = gpu_subnets(private_subnets, zone_plan)

        # Control plane.
        cluster_role = aws.iam.Role(
            f"{name}-cluster",
            aws.iam.RoleArgs(
                name=short_name(base, "cluster", 64), assume_role_policy=_service_trust("eks.amazonaws.com")
            ),
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster",
            aws.iam.RolePolicyAttachmentArgs(
                role=cluster_role.name, policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
            ),
            opts=child,
        )
        secrets_key = aws.kms.Key(
            f"{name}-secrets",
            aws.kms.KeyArgs(
                description=f"Envelope encryption of Kubernetes secrets in {base}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
            ),
            opts=child,
        )
        secrets_key_use = aws.iam.RolePolicy(
            f"{name}-cluster-kms",
            aws.iam.RolePolicyArgs(
                role=cluster_role.name,
                policy=secrets_key.arn.apply(
                    lambda arn: json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": [
                                        "kms:Encrypt",
                                        "kms:Decrypt",
                                        "kms:ListGrants",
                                        "kms:DescribeKey",
                                    ],
                                    "Resource": arn,
                                }
                            ],
                        }
                    )
                ),
            ),
            opts=child,
        )
        cluster_name = short_name(base, "eks", 100)
        # EKS writes control-plane logs here; created first so retention is ours, not "forever".
        logs = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            aws.cloudwatch.LogGroupArgs(name=f"/aws/eks/{cluster_name}/cluster", retention_in_days=90),
            opts=child,
        )
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            aws.eks.ClusterArgs(
                name=cluster_name,
                version=args.kubernetes_version,
                role_arn=cluster_role.arn,
                vpc_config=aws.eks.ClusterVpcConfigArgs(
                    subnet_ids=private_ids,
                    endpoint_private_access=True,
                    endpoint_public_access=True,
                    public_access_cidrs=list(args.api_allowed_cidrs) or None,
                ),
                access_config=aws.eks.ClusterAccessConfigArgs(
                    authentication_mode="API",
                    bootstrap_cluster_creator_admin_permissions=True,
                ),
                encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                    provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
                    resources=["secrets"],
                ),
                enabled_cluster_log_types=["api", "audit", "authenticator"],
                upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
                deletion_protection=args.deletion_protection,
            ),
            opts=child.merge(pulumi.ResourceOptions(depends_on=[cluster_policy, secrets_key_use, logs])),
        )
        issuer_url: pulumi.Output[str] = cluster.identities.apply(_issuer_of)
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            aws.iam.OpenIdConnectProviderArgs(url=issuer_url, client_id_lists=["sts.amazonaws.com"]),
            opts=child,
        )

        # The inference pods' identity: trusted only for this cluster's inference service account.
        workload_role = aws.iam.Role(
            f"{name}-workload",
            aws.iam.RoleArgs(
                name=short_name(base, "workload", 64),
                description=f"IRSA role of {NAMESPACE}/{SERVICE_ACCOUNT} in {cluster_name}",
                assume_role_policy=pulumi.Output.all(oidc.arn, issuer_url).apply(
                    lambda a: irsa_trust_policy(a[0], a[1], NAMESPACE, SERVICE_ACCOUNT)
                ),
            ),
            opts=child,
        )

        # NetworkPolicy enforcement is off in the VPC CNI by default; the workload relies on it.
        cni = aws.eks.Addon(
            f"{name}-vpc-cni",
            aws.eks.AddonArgs(
                cluster_name=cluster.name,
                addon_name="vpc-cni",
                configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
            ),
            opts=child,
        )

        # Nodes.
        node_role = aws.iam.Role(
            f"{name}-nodes",
            aws.iam.RoleArgs(
                name=short_name(base, "nodes", 64), assume_role_policy=_service_trust("ec2.amazonaws.com")
            ),
            opts=child,
        )
        node_policies = [
            aws.iam.RolePolicyAttachment(
                f"{name}-nodes-{policy.lower().replace('_', '-')}",
                aws.iam.RolePolicyAttachmentArgs(
                    role=node_role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}"
                ),
                opts=child,
            )
            for policy in _NODE_POLICIES
        ]

        def launch_template(kind: str, disk_gib: int) -> aws.ec2.LaunchTemplate:
            return aws.ec2.LaunchTemplate(
                f"{name}-{kind}",
                aws.ec2.LaunchTemplateArgs(
                    description=f"{kind} nodes of {cluster_name}",
                    update_default_version=True,
                    block_device_mappings=[
                        aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                            device_name="/dev/xvda",
                            ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                                volume_size=disk_gib,
                                volume_type="gp3",
                                encrypted="true",
                                delete_on_termination="true",
                            ),
                        )
                    ],
                    # IMDSv2 only, one hop: pods cannot borrow the node role; they use IRSA.
                    metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                        http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
                    ),
                    tag_specifications=[
                        aws.ec2.LaunchTemplateTagSpecificationArgs(
                            resource_type=kind_of, tags={**tags, "Name": f"{cluster_name}-{kind}"}
                        )
                        for kind_of in ("instance", "volume")
                    ],
                ),
                opts=child,
            )

        system_template = launch_template(SYSTEM_POOL, SYSTEM_DISK_GIB)
        gpu_template = launch_template(GPU_POOL, args.gpu_node_disk_size_gib)
        node_deps: list[pulumi.Resource] = [*node_policies, cni]
        system_pool = aws.eks.NodeGroup(
            f"{name}-system",
            aws.eks.NodeGroupArgs(
                cluster_name=cluster.name,
                node_group_name=short_name(base, SYSTEM_POOL, 63),
                node_role_arn=node_role.arn,
                subnet_ids=private_ids,
                ami_type="AL2023_x86_64_STANDARD",
                capacity_type="ON_DEMAND",
                instance_types=[args.system_machine_type or SYSTEM_INSTANCE_TYPE],
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    desired_size=args.system_node_count,
                    min_size=args.system_node_count,
                    max_size=args.system_node_count + 1,
                ),
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=system_template.id, version=system_template.latest_version.apply(str)
                ),
                labels={POOL_LABEL: SYSTEM_POOL},
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            ),
            # The cluster autoscaler owns the live size; a later `pulumi up` must not reset it. Any
            # scaling change still sends the last applied desired size, which EKS refuses outside
            # [min, max]: so the bounds never change with capacity (GPU_NODE_FLOOR).
            opts=child.merge(pulumi.ResourceOptions(depends_on=node_deps, ignore_changes=[DESIRED_SIZE])),
        )
        gpu_pool = aws.eks.NodeGroup(
            f"{name}-gpu",
            aws.eks.NodeGroupArgs(
                cluster_name=cluster.name,
                node_group_name=short_name(base, GPU_POOL, 63),
                node_role_arn=node_role.arn,
                subnet_ids=gpu_subnet_ids,
                # AL2023 with the NVIDIA driver and container toolkit; the device plugin is ours.
                ami_type="AL2023_x86_64_NVIDIA",
                capacity_type="ON_DEMAND",
                instance_types=[args.gpu_machine_type],
                # Desired is the size at creation only (ignored afterwards); the bounds never
                # change with capacity, see GPU_NODE_FLOOR.
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    desired_size=args.gpu_node_count,
                    min_size=GPU_NODE_FLOOR,
                    max_size=args.gpu_max_node_count,
                ),
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=gpu_template.id, version=gpu_template.latest_version.apply(str)
                ),
                labels={POOL_LABEL: GPU_POOL, GPU_TYPE_LABEL: args.gpu_type},
                taints=[
                    aws.eks.NodeGroupTaintArgs(key=GPU_TAINT_KEY, value=GPU_TAINT_VALUE, effect="NO_SCHEDULE")
                ],
                # One GPU node at a time: a surge node needs GPU capacity the region may not have.
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            ),
            # The cluster autoscaler owns the live size; a later `pulumi up` must not reset it. Any
            # scaling change still sends the last applied desired size, which EKS refuses outside
            # [min, max]: so the bounds never change with capacity (GPU_NODE_FLOOR).
            opts=child.merge(pulumi.ResourceOptions(depends_on=node_deps, ignore_changes=[DESIRED_SIZE])),
        )

        ca_data = cluster.certificate_authority.apply(lambda ca: ca.data or "")
        region = placement.region
        kubeconfig = pulumi.Output.all(cluster.name, cluster.endpoint, ca_data).apply(
            lambda a: exec_kubeconfig(
                cluster=a[0],
                server=a[1],
                ca_data_b64=a[2],
                command="aws",
                args=["eks", "get-token", "--cluster-name", a[0], "--region", region, "--output", "json"],
                install_hint="Install the AWS CLI v2 and sign in to the stack's account (aws sso login).",
            )
        )

        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(kubeconfig)
        self.cluster_name: pulumi.Output[str] = cluster.name
        self.gpu_pool_names: pulumi.Output[list[str]] = pulumi.Output.all(gpu_pool.node_group_name).apply(
            list
        )
        self.oidc_issuer_url: pulumi.Output[str] = issuer_url
        self.gpu_zones: pulumi.Output[list[str]] = zone_plan.apply(lambda plan: list(plan.gpu_zone_ids))
        self.identity = WorkloadIdentity(
            cloud="aws",
            principal=workload_role.arn,
            name=workload_role.name,
            client_id=None,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
        )
        self.image_puller: pulumi.Output[str] = node_role.name
        self.k8s_provider = kubernetes_provider(name, self.kubeconfig, self, [system_pool, gpu_pool])
        self.autoscaler = eks_cluster_autoscaler(
            name,
            parent=self,
            aws_provider=placement.provider,
            k8s_provider=self.k8s_provider,
            cluster_name=cluster.name,
            region=region,
            role_name=short_name(base, "autoscaler", 64),
            trust_policy=pulumi.Output.all(oidc.arn, issuer_url).apply(
                lambda a: irsa_trust_policy(a[0], a[1], AUTOSCALER_NAMESPACE, AUTOSCALER_SERVICE_ACCOUNT)
            ),
            depends_on=[system_pool],
        )
        # IAM accepts trust policies naming the issuer only once its OIDC provider exists.
        self.federation_ready: pulumi.Resource = oidc
        self.device_plugin = nvidia_device_plugin(name, self, self.k8s_provider)
        # Static public addresses: Elastic IPs on an NLB built by the AWS Load Balancer Controller.
        self.public_address: PublicAddress = aws_lb.static_address(
            name,
            parent=self,
            provider=placement.provider,
            k8s_provider=self.k8s_provider,
            base=base,
            region=region,
            cluster_name=cluster.name,
            vpc_id=vpc.id,
            public_subnet_ids=[s.id for s in public_subnets],
            public_subnet_zones=[s.availability_zone for s in public_subnets],
            controller_trust_policy=pulumi.Output.all(oidc.arn, issuer_url).apply(
                lambda a: irsa_trust_policy(a[0], a[1], aws_lb.NAMESPACE, aws_lb.SERVICE_ACCOUNT)
            ),
            node_selector={POOL_LABEL: SYSTEM_POOL},
            tags=tags,
            protect=args.deletion_protection,
        )
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "gpuPoolNames": self.gpu_pool_names,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "workloadRoleArn": workload_role.arn,
            }
        )
