"""GKE: a regional VPC-native cluster with private nodes, Workload Identity, Dataplane V2 and a
tainted GPU node pool whose driver GKE installs."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.common import WorkloadIdentity, type_token
from components.gcp_apis import apis_of
from components.inference_cluster import gcp_address
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
from components.inference_cluster.placement import (
    gke_gpu_zones,
    gke_initial_nodes_per_zone,
    gke_node_locations,
)
from components.inference_cluster.public_address import PublicAddress
from components.inference_cluster.shared import base_name, exec_kubeconfig, kubernetes_provider, short_name

NODES_CIDR = "10.10.0.0/20"
PODS_RANGE = ("pods", "10.64.0.0/14")
SERVICES_RANGE = ("services", "10.68.0.0/20")
CLUSTER_APIS = (
    "compute",
    "container",
    "iam",
    "iamcredentials",
    "cloudresourcemanager",
    "containerfilesystem",
)
"""VPC and nodes, GKE, service accounts, Workload Identity tokens, project-level IAM grants, image
streaming on the GPU pool."""
SYSTEM_MACHINE_TYPE = "e2-standard-4"
SYSTEM_DISK_GB = 50
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# Least privilege for nodes instead of the default compute service account (project Editor).
_NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/autoscaling.metricsWriter",
    # Image streaming with a non-default node service account (GKE image-streaming requirements);
    # image reads are granted on the stack's Artifact Registry repository, not project-wide.
    "roles/serviceusage.serviceUsageConsumer",
)


def gke_issuer_url(project: str, location: str, cluster: str) -> str:
    """Issuer of a GKE cluster's service-account tokens (its OIDC discovery document lives here)."""
    return f"https://container.googleapis.com/v1/projects/{project}/locations/{location}/clusters/{cluster}"


def _node_config(
    *,
    machine_type: str,
    disk_size_gb: int,
    service_account: pulumi.Input[str],
    labels: dict[str, str],
    resource_labels: dict[str, str],
    taints: list[gcp.container.NodePoolNodeConfigTaintArgs] | None = None,
    accelerators: list[gcp.container.NodePoolNodeConfigGuestAcceleratorArgs] | None = None,
    image_streaming: bool = False,
) -> gcp.container.NodePoolNodeConfigArgs:
    return gcp.container.NodePoolNodeConfigArgs(
        machine_type=machine_type,
        image_type="COS_CONTAINERD",
        disk_size_gb=disk_size_gb,
        disk_type="pd-balanced",
        service_account=service_account,
        oauth_scopes=[CLOUD_PLATFORM_SCOPE],
        labels=labels,
        resource_labels=resource_labels,
        taints=taints,
        guest_accelerators=accelerators,
        # Pods see the GKE metadata server (Workload Identity), never the node's credentials.
        workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
            mode="GKE_METADATA"
        ),
        shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_integrity_monitoring=True
        ),
        metadata={"disable-legacy-endpoints": "true"},
        # Image streaming: containers start while the (Artifact Registry) image streams in.
        gcfs_config=gcp.container.NodePoolNodeConfigGcfsConfigArgs(enabled=True) if image_streaming else None,
    )


class GkeInferenceCluster(pulumi.ComponentResource):
    """Regional GKE cluster with Workload Identity and a GPU node pool; see InferenceClusterArgs."""

    def __init__(
        self, name: str, args: InferenceClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "GkeInferenceCluster"), name, None, opts)
        placement = args.placement
        project = placement.gcp_project or ""  # validated by InferenceClusterArgs
        region = placement.region
        base = base_name(name, placement)
        labels = dict(placement.tags)

        # Every child waits for the APIs (enabled once per project by the stack's GcpApis).
        apis = apis_of(placement.gcp_apis, placement.stack, "the GKE cluster").enable(
            *CLUSTER_APIS,
            previously={
                api: pulumi.Alias(name=f"{name}-{api}-api", parent=self) for api in ("compute", "container")
            },
        )
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider, depends_on=apis)
        after_apis = child

        # Network: one regional subnet with secondary ranges (VPC-native), Cloud NAT for egress
        # from private nodes (image pulls, model bucket via Private Google Access).
        network = gcp.compute.Network(
            f"{name}-network",
            gcp.compute.NetworkArgs(
                name=short_name(base, "net", 63),
                project=project,
                auto_create_subnetworks=False,
                routing_mode="REGIONAL",
            ),
            opts=after_apis,
        )
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            gcp.compute.SubnetworkArgs(
                name=short_name(base, "nodes", 63),
                project=project,
                region=region,
                network=network.id,
                ip_cidr_range=NODES_CIDR,
                private_ip_google_access=True,
                secondary_ip_ranges=[
                    gcp.compute.SubnetworkSecondaryIpRangeArgs(
                        range_name=PODS_RANGE[0], ip_cidr_range=PODS_RANGE[1]
                    ),
                    gcp.compute.SubnetworkSecondaryIpRangeArgs(
                        range_name=SERVICES_RANGE[0], ip_cidr_range=SERVICES_RANGE[1]
                    ),
                ],
            ),
            opts=child,
        )
        router = gcp.compute.Router(
            f"{name}-router",
            gcp.compute.RouterArgs(
                name=short_name(base, "router", 63), project=project, region=region, network=network.id
            ),
            opts=child,
        )
        gcp.compute.RouterNat(
            f"{name}-nat",
            gcp.compute.RouterNatArgs(
                name=short_name(base, "nat", 63),
                project=project,
                region=region,
                router=router.name,
                nat_ip_allocate_option="AUTO_ONLY",
                source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
                log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            ),
            opts=child,
        )

        node_sa = gcp.serviceaccount.Account(
            f"{name}-nodes",
            gcp.serviceaccount.AccountArgs(
                account_id=short_name(base, "nodes", 30),
                display_name=f"GKE nodes of {base}",
                project=project,
            ),
            opts=after_apis,
        )
        node_member = pulumi.Output.concat("serviceAccount:", node_sa.email)
        node_roles = [
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.split('/')[1].replace('.', '-').lower()}",
                gcp.projects.IAMMemberArgs(project=project, role=role, member=node_member),
                opts=child,
            )
            for role in _NODE_ROLES
        ]

        cluster_name = short_name(base, "gke", 40)
        cluster = gcp.container.Cluster(
            f"{name}-cluster",
            gcp.container.ClusterArgs(
                name=cluster_name,
                project=project,
                location=region,
                network=network.id,
                subnetwork=subnet.id,
                networking_mode="VPC_NATIVE",
                ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                    cluster_secondary_range_name=PODS_RANGE[0],
                    services_secondary_range_name=SERVICES_RANGE[0],
                ),
                private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                    enable_private_nodes=True,
                    # The deployer runs outside the VPC; the endpoint still requires Google IAM.
                    enable_private_endpoint=False,
                ),
                master_authorized_networks_config=(
                    gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                        cidr_blocks=[
                            gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                                cidr_block=cidr, display_name=f"allowed-{i}"
                            )
                            for i, cidr in enumerate(args.api_allowed_cidrs)
                        ]
                    )
                    if args.api_allowed_cidrs
                    else None
                ),
                master_auth=gcp.container.ClusterMasterAuthArgs(
                    client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                        issue_client_certificate=False
                    )
                ),
                workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                    workload_pool=f"{project}.svc.id.goog"
                ),
                # Dataplane V2 enforces NetworkPolicy (the workload's ingress/egress rules).
                datapath_provider="ADVANCED_DATAPATH",
                release_channel=gcp.container.ClusterReleaseChannelArgs(channel="REGULAR"),
                min_master_version=args.kubernetes_version,
                enable_shielded_nodes=True,
                enable_legacy_abac=False,
                remove_default_node_pool=True,
                initial_node_count=1,
                deletion_protection=args.deletion_protection,
                resource_labels=labels,
            ),
            opts=after_apis,
        )

        system_pool = gcp.container.NodePool(
            f"{name}-system",
            gcp.container.NodePoolArgs(
                name=SYSTEM_POOL,
                project=project,
                location=region,
                cluster=cluster.id,
                # Per zone of the regional cluster: one small node in each zone.
                node_count=1,
                management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
                node_config=_node_config(
                    machine_type=args.system_machine_type or SYSTEM_MACHINE_TYPE,
                    disk_size_gb=SYSTEM_DISK_GB,
                    service_account=node_sa.email,
                    labels={POOL_LABEL: SYSTEM_POOL},
                    resource_labels=labels,
                ),
            ),
            opts=child.merge(pulumi.ResourceOptions(depends_on=node_roles)),
        )
        # Only zones whose machine types include the GPU shape (asked at plan time, after the
        # Compute API is on); one initial node per zone, so at most `max` zones.
        gpu_zones = gke_gpu_zones(
            args, pulumi.InvokeOutputOptions(parent=self, provider=placement.provider, depends_on=apis)
        )
        gpu_locations = gpu_zones.apply(lambda zones: gke_node_locations(zones, args.gpu_max_node_count))
        gpu_pool = gcp.container.NodePool(
            f"{name}-gpu",
            gcp.container.NodePoolArgs(
                name=GPU_POOL,
                project=project,
                location=region,
                cluster=cluster.id,
                node_locations=gpu_locations,
                # Per zone of node_locations: the pool starts warm (a node with the GPU is up
                # before the workload lands); afterwards the autoscaler owns the size.
                initial_node_count=gpu_locations.apply(
                    lambda zones: gke_initial_nodes_per_zone(
                        args.gpu_node_count, len(zones), args.gpu_max_node_count
                    )
                ),
                # Totals across the zones; ANY puts nodes wherever GPUs are available. The bounds
                # do not depend on capacity, so a cut-over changes replicas, not the pool.
                autoscaling=gcp.container.NodePoolAutoscalingArgs(
                    total_min_node_count=GPU_NODE_FLOOR,
                    total_max_node_count=args.gpu_max_node_count,
                    location_policy="ANY",
                ),
                management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
                # One GPU node at a time, no surge node that needs spare GPU capacity.
                upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(
                    strategy="SURGE", max_surge=0, max_unavailable=1
                ),
                node_config=_node_config(
                    machine_type=args.gpu_machine_type,
                    disk_size_gb=args.gpu_node_disk_size_gib,
                    service_account=node_sa.email,
                    labels={POOL_LABEL: GPU_POOL, GPU_TYPE_LABEL: args.gpu_type},
                    resource_labels=labels,
                    image_streaming=True,
                    taints=[
                        gcp.container.NodePoolNodeConfigTaintArgs(
                            key=GPU_TAINT_KEY, value=GPU_TAINT_VALUE, effect="NO_SCHEDULE"
                        )
                    ],
                    accelerators=[
                        gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                            type=args.gpu_accelerator or "",
                            count=args.gpus_per_node,
                            # GKE installs the driver (and runs its own device plugin).
                            gpu_driver_installation_config=(
                                gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                                    gpu_driver_version="LATEST"
                                )
                            ),
                        )
                    ],
                ),
            ),
            # initialNodeCount only applies at creation; changing it would replace the pool.
            opts=child.merge(
                pulumi.ResourceOptions(depends_on=node_roles, ignore_changes=["initialNodeCount"])
            ),
        )

        # The inference pods' identity, impersonable only by the inference service account.
        workload_sa = gcp.serviceaccount.Account(
            f"{name}-workload",
            gcp.serviceaccount.AccountArgs(
                account_id=short_name(base, "workload", 30),
                display_name=f"Inference pods of {base} ({NAMESPACE}/{SERVICE_ACCOUNT})",
                project=project,
            ),
            opts=after_apis,
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity",
            gcp.serviceaccount.IAMMemberArgs(
                service_account_id=workload_sa.name,
                role="roles/iam.workloadIdentityUser",
                member=f"serviceAccount:{project}.svc.id.goog[{NAMESPACE}/{SERVICE_ACCOUNT}]",
            ),
            # The workload pool exists once the cluster does.
            opts=child.merge(pulumi.ResourceOptions(depends_on=[cluster])),
        )

        ca_data = cluster.master_auth.apply(lambda auth: auth.cluster_ca_certificate or "")
        kubeconfig = pulumi.Output.all(cluster.name, cluster.endpoint, ca_data).apply(
            lambda a: exec_kubeconfig(
                cluster=a[0],
                server=f"https://{a[1]}",
                ca_data_b64=a[2],
                command="gke-gcloud-auth-plugin",
                args=[],
                install_hint="Install it: gcloud components install gke-gcloud-auth-plugin",
                provide_cluster_info=True,
            )
        )

        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(kubeconfig)
        self.cluster_name: pulumi.Output[str] = cluster.name
        self.gpu_pool_names: pulumi.Output[list[str]] = pulumi.Output.all(gpu_pool.name).apply(list)
        self.gpu_zones: pulumi.Output[list[str]] = gpu_locations
        self.oidc_issuer_url: pulumi.Output[str] = cluster.name.apply(
            lambda cluster_id: gke_issuer_url(project, region, cluster_id)
        )
        self.identity = WorkloadIdentity(
            cloud="gcp",
            principal=workload_sa.email,
            name=workload_sa.email,
            client_id=None,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
        )
        self.image_puller: pulumi.Output[str] = node_sa.email
        self.k8s_provider = kubernetes_provider(name, self.kubeconfig, self, [system_pool, gpu_pool])
        # <project>.svc.id.goog (the Workload Identity pool) exists once the cluster does.
        self.federation_ready: pulumi.Resource = cluster
        # Static public address: a reserved regional external IP the Service's NLB uses.
        self.public_address: PublicAddress = gcp_address.static_address(
            name,
            opts=after_apis,
            base=base,
            project=project,
            region=region,
            labels=labels,
            protect=args.deletion_protection,
        )
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "gpuPoolNames": self.gpu_pool_names,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "workloadServiceAccount": workload_sa.email,
            }
        )
