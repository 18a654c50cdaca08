"""EKS: a VPC over three AZs with private node subnets, IRSA, a CPU system node group and a
tainted NVIDIA GPU node group."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

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
from components.inference_cluster.aws_security import (
    AUDIT_LOG_RETENTION_DAYS,
    cluster_key_policy,
    control_plane_log_group_name,
    flow_log_group_name,
    lock_default_security_group,
    log_group_arn,
    vpc_flow_logs,
)
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


def _key_use_policy(key_arn: str) -> str:
    """What the control plane may do with the secrets key (envelope encryption of Secrets)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                    "Resource": key_arn,
                }
            ],
        }
    )


def _account_and_partition(invoke: pulumi.InvokeOutputOptions) -> pulumi.Output[list[str]]:
    """[account id, partition] of the stack's AWS provider (for key policies and log group ARNs)."""
    account = aws.get_caller_identity_output(opts=invoke)
    partition = aws.get_partition_output(opts=invoke)
    return pulumi.Output.all(account.account_id, partition.partition)


@dataclass(frozen=True)
class _Network:
    """The VPC over AZ_COUNT zones: private subnets for nodes, public ones for NAT and the NLB."""

    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    private_subnets: list[aws.ec2.Subnet]
    zone_plan: pulumi.Output[EksZonePlan]


@dataclass(frozen=True)
class _ControlPlane:
    """The EKS cluster and the IAM OIDC provider of its service-account token issuer (IRSA)."""

    cluster: aws.eks.Cluster
    oidc: aws.iam.OpenIdConnectProvider
    issuer_url: pulumi.Output[str]

    def trust(self, namespace: str, service_account: str) -> pulumi.Output[str]:
        """A role trust policy for exactly one service account of this cluster."""
        return pulumi.Output.all(self.oidc.arn, self.issuer_url).apply(
            lambda a: irsa_trust_policy(a[0], a[1], namespace, service_account)
        )


@dataclass(frozen=True)
class _NodeIdentity:
    """The IAM role every node runs as, and its managed policies (node groups wait for them)."""

    role: aws.iam.Role
    policies: list[aws.iam.RolePolicyAttachment]


class EksInferenceCluster(pulumi.ComponentResource):
    """EKS cluster with IRSA, a system node group and a GPU node group; see InferenceClusterArgs."""

    kubeconfig: pulumi.Output[str]
    """Secret kubeconfig whose exec plugin runs `aws eks get-token` (no static token)."""
    cluster_name: pulumi.Output[str]
    """Name of the EKS cluster."""
    gpu_pool_names: pulumi.Output[list[str]]
    """The GPU managed node group's name (one group over the GPU zones' subnets)."""
    oidc_issuer_url: pulumi.Output[str]
    """The cluster's service-account token issuer (IRSA), for keyless federation into other clouds."""
    gpu_zones: pulumi.Output[list[str]]
    """Zone IDs the GPU node group's subnets are in: where EC2 offers the GPU type (or `gpu_zones`)."""
    identity: WorkloadIdentity
    """The inference pods' IRSA role, trusted only for NAMESPACE/SERVICE_ACCOUNT of this cluster."""
    image_puller: pulumi.Output[str]
    """Name of the node IAM role, which pulls images: the stack's ECR repository grants it pulls."""
    k8s_provider: k8s.Provider
    """Explicit Kubernetes provider built from `kubeconfig`; it waits for both node groups."""
    federation_ready: pulumi.Resource
    """The IAM OIDC provider: IAM accepts trust policies naming the issuer only once it exists."""
    autoscaler: k8s.helm.v3.Release
    """The cluster autoscaler (Helm release, IRSA role), which owns both node groups' live size."""
    device_plugin: k8s.apps.v1.DaemonSet
    """The NVIDIA device plugin on the GPU nodes (the AL2023 NVIDIA AMI ships only the driver)."""
    public_address: PublicAddress
    """Static public addresses: Elastic IPs on an NLB built by the AWS Load Balancer Controller."""

    def __init__(
        self, name: str, args: InferenceClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "EksInferenceCluster"), name, None, opts)
        self._stem = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.placement.provider)
        self._invoke = pulumi.InvokeOutputOptions(parent=self, provider=args.placement.provider)
        self._base = base_name(name, args.placement)
        self._eks_name = short_name(self._base, "eks", 100)
        self._account_partition = _account_and_partition(self._invoke)
        network = self._network()
        key = self._secrets_key()
        logs = self._audit_logs(network, key)
        control_plane = self._control_plane(network, key, logs)
        workload_role = self._workload_identity(control_plane)
        nodes = self._node_identity()
        ready_for_nodes: list[pulumi.Resource] = [*nodes.policies, self._network_policy(control_plane)]
        system_pool = self._system_pool(control_plane, network, nodes, ready_for_nodes)
        gpu_pool = self._gpu_pool(control_plane, network, nodes, ready_for_nodes)
        self._kubeconfig(control_plane)
        self.k8s_provider = kubernetes_provider(name, self.kubeconfig, self, [system_pool, gpu_pool])
        self._autoscaler(control_plane, system_pool)
        self.device_plugin = nvidia_device_plugin(name, self, self.k8s_provider)
        self._public_address(network, control_plane)
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "gpuPoolNames": self.gpu_pool_names,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "workloadRoleArn": workload_role.arn,
            }
        )

    def _network(self) -> _Network:
        """Subnets over zone IDs where EC2 offers the GPU type and EKS accepts subnets (zone names
        differ per account); one NAT gateway per AZ."""
        name, base, child = self._stem, self._base, self._child
        zone_plan = eks_zone_plan(
            self._args,
            AZ_COUNT,
            pulumi.InvokeOutputOptions(parent=self, provider=self._args.placement.provider),
        )
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            aws.ec2.VpcArgs(
                cidr_block=VPC_CIDR, enable_dns_hostnames=True, enable_dns_support=True, tags={"Name": base}
            ),
            opts=child,
        )
        lock_default_security_group(name, vpc, child)
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
        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        for i in range(AZ_COUNT):
            zone_id = zone_plan.apply(_zone_picker(i))
            public, nat = self._public_subnet(i, vpc, zone_id, public_routes, igw)
            public_subnets.append(public)
            private_subnets.append(self._private_subnet(i, vpc, zone_id, nat))
        return _Network(vpc, public_subnets, private_subnets, zone_plan)

    def _public_subnet(
        self,
        i: int,
        vpc: aws.ec2.Vpc,
        zone_id: pulumi.Output[str],
        routes: aws.ec2.RouteTable,
        igw: aws.ec2.InternetGateway,
    ) -> tuple[aws.ec2.Subnet, aws.ec2.NatGateway]:
        """Zone `i`'s public subnet (NAT, internet-facing load balancers) and its NAT gateway."""
        name, base, child = self._stem, self._base, self._child
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
            aws.ec2.RouteTableAssociationArgs(subnet_id=public.id, route_table_id=routes.id),
            opts=child,
        )
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
        return public, nat

    def _private_subnet(
        self, i: int, vpc: aws.ec2.Vpc, zone_id: pulumi.Output[str], nat: aws.ec2.NatGateway
    ) -> aws.ec2.Subnet:
        """Zone `i`'s private subnet (nodes, internal load balancers), egress through its NAT."""
        name, base, child = self._stem, self._base, self._child
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
        routes = aws.ec2.RouteTable(
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
            aws.ec2.RouteTableAssociationArgs(subnet_id=private.id, route_table_id=routes.id),
            opts=child,
        )
        return private

    def _secrets_key(self) -> aws.kms.Key:
        """Customer-managed key for Secrets (envelope encryption) and the cluster's log groups."""
        region, eks_name = self._args.placement.region, self._eks_name
        log_groups = [control_plane_log_group_name(eks_name), flow_log_group_name(eks_name)]
        return aws.kms.Key(
            f"{self._stem}-secrets",
            aws.kms.KeyArgs(
                description=f"Envelope encryption of Kubernetes secrets in {self._base}",
                enable_key_rotation=True,
                rotation_period_in_days=90,
                deletion_window_in_days=30,
                policy=self._account_partition.apply(
                    lambda a: cluster_key_policy(a[0], region, a[1], log_groups)
                ),
            ),
            opts=self._child,
        )

    def _audit_logs(self, network: _Network, key: aws.kms.Key) -> aws.cloudwatch.LogGroup:
        """Control-plane logs and VPC flow logs, in log groups the stack owns (retention, key)."""
        region, eks_name = self._args.placement.region, self._eks_name
        # EKS writes control-plane logs here; created first so retention and the key are ours.
        logs = aws.cloudwatch.LogGroup(
            f"{self._stem}-control-plane",
            aws.cloudwatch.LogGroupArgs(
                name=control_plane_log_group_name(eks_name),
                retention_in_days=AUDIT_LOG_RETENTION_DAYS,
                kms_key_id=key.arn,
            ),
            opts=self._child,
        )
        vpc_flow_logs(
            self._stem,
            cluster_name=eks_name,
            vpc=network.vpc,
            key=key,
            log_group_arn_of=self._account_partition.apply(
                lambda a: log_group_arn(a[1], region, a[0], flow_log_group_name(eks_name))
            ),
            child=self._child,
        )
        return logs

    def _control_plane_role(self, key: aws.kms.Key) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """The role EKS runs the control plane as, and the grants the cluster must wait for."""
        name, child = self._stem, self._child
        role = aws.iam.Role(
            f"{name}-cluster",
            aws.iam.RoleArgs(
                name=short_name(self._base, "cluster", 64),
                assume_role_policy=_service_trust("eks.amazonaws.com"),
            ),
            opts=child,
        )
        managed = aws.iam.RolePolicyAttachment(
            f"{name}-cluster",
            aws.iam.RolePolicyAttachmentArgs(
                role=role.name, policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
            ),
            opts=child,
        )
        key_use = aws.iam.RolePolicy(
            f"{name}-cluster-kms",
            aws.iam.RolePolicyArgs(role=role.name, policy=key.arn.apply(_key_use_policy)),
            opts=child,
        )
        return role, [managed, key_use]

    def _control_plane(
        self, network: _Network, key: aws.kms.Key, logs: aws.cloudwatch.LogGroup
    ) -> _ControlPlane:
        """The EKS cluster (private nodes, API access by IAM only, Secrets under our key) and the
        IAM OIDC provider of its issuer."""
        args = self._args
        role, grants = self._control_plane_role(key)
        cluster = aws.eks.Cluster(
            f"{self._stem}-cluster",
            aws.eks.ClusterArgs(
                name=self._eks_name,
                version=args.kubernetes_version,
                role_arn=role.arn,
                vpc_config=aws.eks.ClusterVpcConfigArgs(
                    subnet_ids=[s.id for s in network.private_subnets],
                    endpoint_private_access=True,
                    endpoint_public_access=True,
                    public_access_cidrs=list(args.api_allowed_cidrs) or None,
                ),
                access_config=aws.eks.ClusterAccessConfigArgs(
                    authentication_mode="API",
                    bootstrap_cluster_creator_admin_permissions=True,
                ),
                encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                    provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn),
                    resources=["secrets"],
                ),
                enabled_cluster_log_types=["api", "audit", "authenticator", "controllerManager", "scheduler"],
                upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
                deletion_protection=args.deletion_protection,
            ),
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=[*grants, logs])),
        )
        issuer_url: pulumi.Output[str] = cluster.identities.apply(_issuer_of)
        oidc = aws.iam.OpenIdConnectProvider(
            f"{self._stem}-oidc",
            aws.iam.OpenIdConnectProviderArgs(url=issuer_url, client_id_lists=["sts.amazonaws.com"]),
            opts=self._child,
        )
        self.cluster_name = cluster.name
        self.oidc_issuer_url = issuer_url
        # IAM accepts trust policies naming the issuer only once its OIDC provider exists.
        self.federation_ready = oidc
        return _ControlPlane(cluster, oidc, issuer_url)

    def _workload_identity(self, control_plane: _ControlPlane) -> aws.iam.Role:
        """The inference pods' identity: trusted only for this cluster's inference service account."""
        role = aws.iam.Role(
            f"{self._stem}-workload",
            aws.iam.RoleArgs(
                name=short_name(self._base, "workload", 64),
                description=f"IRSA role of {NAMESPACE}/{SERVICE_ACCOUNT} in {self._eks_name}",
                assume_role_policy=control_plane.trust(NAMESPACE, SERVICE_ACCOUNT),
            ),
            opts=self._child,
        )
        self.identity = WorkloadIdentity(
            cloud="aws",
            principal=role.arn,
            name=role.name,
            client_id=None,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
        )
        return role

    def _network_policy(self, control_plane: _ControlPlane) -> aws.eks.Addon:
        """The VPC CNI add-on with NetworkPolicy enforcement, off by default; the workload relies on it."""
        return aws.eks.Addon(
            f"{self._stem}-vpc-cni",
            aws.eks.AddonArgs(
                cluster_name=control_plane.cluster.name,
                addon_name="vpc-cni",
                configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
            ),
            opts=self._child,
        )

    def _node_identity(self) -> _NodeIdentity:
        """The node role: worker, CNI and image-pull policies only (pods use IRSA, not this)."""
        name, child = self._stem, self._child
        role = aws.iam.Role(
            f"{name}-nodes",
            aws.iam.RoleArgs(
                name=short_name(self._base, "nodes", 64),
                assume_role_policy=_service_trust("ec2.amazonaws.com"),
            ),
            opts=child,
        )
        policies = [
            aws.iam.RolePolicyAttachment(
                f"{name}-nodes-{policy.lower().replace('_', '-')}",
                aws.iam.RolePolicyAttachmentArgs(
                    role=role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}"
                ),
                opts=child,
            )
            for policy in _NODE_POLICIES
        ]
        self.image_puller = role.name
        return _NodeIdentity(role, policies)

    def _launch_template(self, kind: str, disk_gib: int) -> aws.ec2.LaunchTemplate:
        """Encrypted gp3 root disk, IMDSv2 with one hop, tags on instances and volumes."""
        tags = dict(self._args.placement.tags)
        return aws.ec2.LaunchTemplate(
            f"{self._stem}-{kind}",
            aws.ec2.LaunchTemplateArgs(
                description=f"{kind} nodes of {self._eks_name}",
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
                        resource_type=kind_of, tags={**tags, "Name": f"{self._eks_name}-{kind}"}
                    )
                    for kind_of in ("instance", "volume")
                ],
            ),
            opts=self._child,
        )

    def _sized_by_autoscaler(self, ready_for_nodes: list[pulumi.Resource]) -> pulumi.ResourceOptions:
        # The cluster autoscaler owns the live size; a later `pulumi up` must not reset it. Any
        # scaling change still sends the last applied desired size, which EKS refuses outside
        # [min, max]: so the bounds never change with capacity (GPU_NODE_FLOOR).
        return self._child.merge(
            pulumi.ResourceOptions(depends_on=ready_for_nodes, ignore_changes=[DESIRED_SIZE])
        )

    def _system_pool(
        self,
        control_plane: _ControlPlane,
        network: _Network,
        nodes: _NodeIdentity,
        ready_for_nodes: list[pulumi.Resource],
    ) -> aws.eks.NodeGroup:
        """On-demand CPU nodes for cluster add-ons (autoscaler, LB controller, DNS) in every AZ."""
        args = self._args
        template = self._launch_template(SYSTEM_POOL, SYSTEM_DISK_GIB)
        return aws.eks.NodeGroup(
            f"{self._stem}-system",
            aws.eks.NodeGroupArgs(
                cluster_name=control_plane.cluster.name,
                node_group_name=short_name(self._base, SYSTEM_POOL, 63),
                node_role_arn=nodes.role.arn,
                subnet_ids=[s.id for s in network.private_subnets],
                ami_type="AL2023_x86_64_STANDARD",
                capacity_type="ON_DEMAND",
                instance_types=[args.system_machine_type or SYSTEM_INSTANCE_TYPE],
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    desired_size=args.system_node_count,
                    min_size=args.system_node_count,
                    max_size=args.system_node_count + 1,
                ),
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=template.id, version=template.latest_version.apply(str)
                ),
                labels={POOL_LABEL: SYSTEM_POOL},
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            ),
            opts=self._sized_by_autoscaler(ready_for_nodes),
        )

    def _gpu_pool(
        self,
        control_plane: _ControlPlane,
        network: _Network,
        nodes: _NodeIdentity,
        ready_for_nodes: list[pulumi.Resource],
    ) -> aws.eks.NodeGroup:
        """Tainted on-demand GPU nodes in the private subnets of the zones that offer the type."""
        args = self._args
        template = self._launch_template(GPU_POOL, args.gpu_node_disk_size_gib)
        pool = aws.eks.NodeGroup(
            f"{self._stem}-gpu",
            aws.eks.NodeGroupArgs(
                cluster_name=control_plane.cluster.name,
                node_group_name=short_name(self._base, GPU_POOL, 63),
                node_role_arn=nodes.role.arn,
                subnet_ids=gpu_subnets(network.private_subnets, network.zone_plan),
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
                    id=template.id, version=template.latest_version.apply(str)
                ),
                labels={POOL_LABEL: GPU_POOL, GPU_TYPE_LABEL: args.gpu_type},
                taints=[
                    aws.eks.NodeGroupTaintArgs(key=GPU_TAINT_KEY, value=GPU_TAINT_VALUE, effect="NO_SCHEDULE")
                ],
                # One GPU node at a time: a surge node needs GPU capacity the region may not have.
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            ),
            opts=self._sized_by_autoscaler(ready_for_nodes),
        )
        self.gpu_pool_names = pulumi.Output.all(pool.node_group_name).apply(list)
        self.gpu_zones = network.zone_plan.apply(lambda plan: list(plan.gpu_zone_ids))
        return pool

    def _kubeconfig(self, control_plane: _ControlPlane) -> None:
        """An exec kubeconfig: tokens come from the deployer's AWS CLI session, never the state."""
        cluster, region = control_plane.cluster, self._args.placement.region
        ca_data = cluster.certificate_authority.apply(lambda ca: ca.data or "")
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
        self.kubeconfig = pulumi.Output.secret(kubeconfig)

    def _autoscaler(self, control_plane: _ControlPlane, system_pool: aws.eks.NodeGroup) -> None:
        """The cluster autoscaler on the system nodes, with its own IRSA role."""
        self.autoscaler = eks_cluster_autoscaler(
            self._stem,
            parent=self,
            aws_provider=self._args.placement.provider,
            k8s_provider=self.k8s_provider,
            cluster_name=control_plane.cluster.name,
            region=self._args.placement.region,
            role_name=short_name(self._base, "autoscaler", 64),
            trust_policy=control_plane.trust(AUTOSCALER_NAMESPACE, AUTOSCALER_SERVICE_ACCOUNT),
            depends_on=[system_pool],
        )

    def _public_address(self, network: _Network, control_plane: _ControlPlane) -> None:
        """Elastic IPs, one per public subnet, on an NLB built by the AWS Load Balancer Controller."""
        self.public_address = aws_lb.static_address(
            self._stem,
            parent=self,
            provider=self._args.placement.provider,
            k8s_provider=self.k8s_provider,
            base=self._base,
            region=self._args.placement.region,
            cluster_name=control_plane.cluster.name,
            vpc_id=network.vpc.id,
            public_subnet_ids=[s.id for s in network.public_subnets],
            public_subnet_zones=[s.availability_zone for s in network.public_subnets],
            controller_trust_policy=control_plane.trust(aws_lb.NAMESPACE, aws_lb.SERVICE_ACCOUNT),
            node_selector={POOL_LABEL: SYSTEM_POOL},
            tags=dict(self._args.placement.tags),
            protect=self._args.deletion_protection,
        )
