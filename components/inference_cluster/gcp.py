"""GKE: a regional VPC-native cluster with private nodes, Workload Identity, Dataplane V2 and a
tainted GPU node pool whose driver GKE installs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

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
from components.inference_cluster.gcp_security import (
    SecretsEncryption,
    database_encryption,
    secrets_encryption_key,
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
    "monitoring",
)
"""VPC and nodes, GKE, service accounts, Workload Identity tokens, project-level IAM grants, image
streaming on the GPU pool, Managed Service for Prometheus (managed collection writes to Cloud
Monitoring)."""
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


def _authorized_networks(
    cidrs: tuple[str, ...],
) -> gcp.container.ClusterMasterAuthorizedNetworksConfigArgs | None:
    """The API endpoint admits only these networks; None (no list) leaves it open to Google IAM."""
    if not cidrs:
        return None
    return gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
        cidr_blocks=[
            gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                cidr_block=cidr, display_name=f"allowed-{i}"
            )
            for i, cidr in enumerate(cidrs)
        ],
        # Only the listed networks: not every Compute Engine address on Google Cloud.
        gcp_public_cidrs_access_enabled=False,
    )


def _gpus(accelerator: str, count: int) -> list[gcp.container.NodePoolNodeConfigGuestAcceleratorArgs]:
    """`count` GPUs of `accelerator` per node, with the driver GKE installs."""
    return [
        gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
            type=accelerator,
            count=count,
            # GKE installs the driver (and runs its own device plugin).
            gpu_driver_installation_config=(
                gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                    gpu_driver_version="LATEST"
                )
            ),
        )
    ]


@dataclass(frozen=True)
class _Network:
    """The VPC and its one regional node subnet (VPC-native: pods and services in its secondary ranges)."""

    network: gcp.compute.Network
    subnet: gcp.compute.Subnetwork


@dataclass(frozen=True)
class _NodeIdentity:
    """The service account every node runs as, and its project roles (node pools wait for them)."""

    account: gcp.serviceaccount.Account
    roles: list[gcp.projects.IAMMember]


class GkeInferenceCluster(pulumi.ComponentResource):
    """Regional GKE cluster with Workload Identity and a GPU node pool; see InferenceClusterArgs."""

    kubeconfig: pulumi.Output[str]
    """Secret kubeconfig whose exec plugin is gke-gcloud-auth-plugin (no static token)."""
    cluster_name: pulumi.Output[str]
    """Name of the GKE cluster."""
    gpu_pool_names: pulumi.Output[list[str]]
    """The GPU node pool's name (one pool over the GPU zones)."""
    gpu_zones: pulumi.Output[list[str]]
    """The GPU pool's node locations: zones whose machine types include the GPU shape (or `gpu_zones`)."""
    oidc_issuer_url: pulumi.Output[str]
    """The cluster's service-account token issuer, for keyless federation into other clouds."""
    identity: WorkloadIdentity
    """The inference pods' service account, impersonable only by NAMESPACE/SERVICE_ACCOUNT."""
    image_puller: pulumi.Output[str]
    """Email of the node service account, which pulls images: the stack's registry grants it reads."""
    k8s_provider: k8s.Provider
    """Explicit Kubernetes provider built from `kubeconfig`; it waits for both node pools."""
    federation_ready: pulumi.Resource
    """The cluster: <project>.svc.id.goog (the Workload Identity pool) exists once it does."""
    public_address: PublicAddress
    """Static public address: a reserved regional external IP the Service's NLB uses."""

    def __init__(
        self, name: str, args: InferenceClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "GkeInferenceCluster"), name, None, opts)
        self._stem = name
        self._args = args
        self._project = args.placement.gcp_project or ""  # validated by InferenceClusterArgs
        self._base = base_name(name, args.placement)
        self._apis = self._enable_apis()
        # Every child waits for the APIs (enabled once per project by the stack's GcpApis).
        self._child = pulumi.ResourceOptions(
            parent=self, provider=args.placement.provider, depends_on=self._apis
        )
        network = self._network()
        nodes = self._node_identity()
        key = self._secrets_key()
        cluster = self._control_plane(network, key)
        system_pool = self._system_pool(cluster, nodes)
        gpu_pool = self._gpu_pool(cluster, nodes)
        workload_sa = self._workload_identity(cluster)
        self._kubeconfig(cluster)
        self.k8s_provider = kubernetes_provider(name, self.kubeconfig, self, [system_pool, gpu_pool])
        self._public_address()
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "gpuPoolNames": self.gpu_pool_names,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "workloadServiceAccount": workload_sa.email,
            }
        )

    def _enable_apis(self) -> list[pulumi.Resource]:
        """CLUSTER_APIS, enabled once per project by the stack's GcpApis (older stacks' own kept)."""
        placement, name = self._args.placement, self._stem
        return apis_of(placement.gcp_apis, placement.stack, "the GKE cluster").enable(
            *CLUSTER_APIS,
            previously={
                api: pulumi.Alias(name=f"{name}-{api}-api", parent=self) for api in ("compute", "container")
            },
        )

    def _network(self) -> _Network:
        """One regional subnet with secondary ranges (VPC-native), Cloud NAT for egress from private
        nodes (image pulls, model bucket via Private Google Access)."""
        name, base, project, child = self._stem, self._base, self._project, self._child
        region = self._args.placement.region
        network = gcp.compute.Network(
            f"{name}-network",
            gcp.compute.NetworkArgs(
                name=short_name(base, "net", 63),
                project=project,
                auto_create_subnetworks=False,
                routing_mode="REGIONAL",
            ),
            opts=child,
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
                # Flow logs for incident review (half the flows, 5 s aggregation, with metadata).
                log_config=gcp.compute.SubnetworkLogConfigArgs(
                    aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
                ),
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
        self._nat(network)
        return _Network(network, subnet)

    def _nat(self, network: gcp.compute.Network) -> None:
        """A Cloud Router and Cloud NAT for every subnet range (errors logged)."""
        name, base, project, region = self._stem, self._base, self._project, self._args.placement.region
        router = gcp.compute.Router(
            f"{name}-router",
            gcp.compute.RouterArgs(
                name=short_name(base, "router", 63), project=project, region=region, network=network.id
            ),
            opts=self._child,
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
            opts=self._child,
        )

    def _node_identity(self) -> _NodeIdentity:
        """A node service account with _NODE_ROLES only, instead of the default compute account."""
        name, project = self._stem, self._project
        account = gcp.serviceaccount.Account(
            f"{name}-nodes",
            gcp.serviceaccount.AccountArgs(
                account_id=short_name(self._base, "nodes", 30),
                display_name=f"GKE nodes of {self._base}",
                project=project,
            ),
            opts=self._child,
        )
        member = pulumi.Output.concat("serviceAccount:", account.email)
        roles = [
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.split('/')[1].replace('.', '-').lower()}",
                gcp.projects.IAMMemberArgs(project=project, role=role, member=member),
                opts=self._child,
            )
            for role in _NODE_ROLES
        ]
        self.image_puller = account.email
        return _NodeIdentity(account, roles)

    def _secrets_key(self) -> SecretsEncryption:
        """Cloud KMS key for etcd's application-layer Secrets encryption, and GKE's use of it."""
        placement = self._args.placement
        return secrets_encryption_key(
            self._stem,
            project=self._project,
            region=placement.region,
            labels=dict(placement.tags),
            apis=apis_of(placement.gcp_apis, placement.stack, "the GKE cluster"),
            child=self._child,
            deletion_protection=self._args.deletion_protection,
        )

    def _control_plane(self, network: _Network, key: SecretsEncryption) -> gcp.container.Cluster:
        """Regional, private nodes, Workload Identity, Dataplane V2, Secrets under our key."""
        args, project, region = self._args, self._project, self._args.placement.region
        cluster = gcp.container.Cluster(
            f"{self._stem}-cluster",
            gcp.container.ClusterArgs(
                name=short_name(self._base, "gke", 40),
                project=project,
                location=region,
                network=network.network.id,
                subnetwork=network.subnet.id,
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
                master_authorized_networks_config=_authorized_networks(args.api_allowed_cidrs),
                master_auth=gcp.container.ClusterMasterAuthArgs(
                    client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                        issue_client_certificate=False
                    )
                ),
                database_encryption=database_encryption(key),
                workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                    workload_pool=f"{project}.svc.id.goog"
                ),
                # Dataplane V2 enforces NetworkPolicy (the workload's ingress/egress rules).
                datapath_provider="ADVANCED_DATAPATH",
                # Managed Service for Prometheus collects what PodMonitorings select (issue 11).
                monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                    managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(
                        enabled=True
                    )
                ),
                release_channel=gcp.container.ClusterReleaseChannelArgs(channel="REGULAR"),
                min_master_version=args.kubernetes_version,
                enable_shielded_nodes=True,
                enable_legacy_abac=False,
                remove_default_node_pool=True,
                initial_node_count=1,
                deletion_protection=args.deletion_protection,
                resource_labels=dict(args.placement.tags),
            ),
            # GKE refuses a key its service agent cannot use: the grant comes first.
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=[key.grant])),
        )
        self.cluster_name = cluster.name
        self.oidc_issuer_url = cluster.name.apply(
            lambda cluster_id: gke_issuer_url(project, region, cluster_id)
        )
        # <project>.svc.id.goog (the Workload Identity pool) exists once the cluster does.
        self.federation_ready = cluster
        return cluster

    def _system_pool(self, cluster: gcp.container.Cluster, nodes: _NodeIdentity) -> gcp.container.NodePool:
        """One small CPU node per zone of the regional cluster, for add-ons."""
        args = self._args
        return gcp.container.NodePool(
            f"{self._stem}-system",
            gcp.container.NodePoolArgs(
                name=SYSTEM_POOL,
                project=self._project,
                location=args.placement.region,
                cluster=cluster.id,
                # Per zone of the regional cluster: one small node in each zone.
                node_count=1,
                management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
                node_config=_node_config(
                    machine_type=args.system_machine_type or SYSTEM_MACHINE_TYPE,
                    disk_size_gb=SYSTEM_DISK_GB,
                    service_account=nodes.account.email,
                    labels={POOL_LABEL: SYSTEM_POOL},
                    resource_labels=dict(args.placement.tags),
                ),
            ),
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=nodes.roles)),
        )

    def _gpu_pool(self, cluster: gcp.container.Cluster, nodes: _NodeIdentity) -> gcp.container.NodePool:
        """Tainted, autoscaled GPU nodes in the zones that offer the shape; image streaming on."""
        args = self._args
        # Only zones whose machine types include the GPU shape (asked at plan time, after the
        # Compute API is on); one initial node per zone, so at most `max` zones.
        gpu_zones = gke_gpu_zones(
            args,
            pulumi.InvokeOutputOptions(parent=self, provider=args.placement.provider, depends_on=self._apis),
        )
        locations = gpu_zones.apply(lambda zones: gke_node_locations(zones, args.gpu_max_node_count))
        pool = gcp.container.NodePool(
            f"{self._stem}-gpu",
            gcp.container.NodePoolArgs(
                name=GPU_POOL,
                project=self._project,
                location=args.placement.region,
                cluster=cluster.id,
                node_locations=locations,
                # Per zone of node_locations: the pool starts warm (a node with the GPU is up
                # before the workload lands); afterwards the autoscaler owns the size.
                initial_node_count=locations.apply(
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
                    service_account=nodes.account.email,
                    labels={POOL_LABEL: GPU_POOL, GPU_TYPE_LABEL: args.gpu_type},
                    resource_labels=dict(args.placement.tags),
                    image_streaming=True,
                    taints=[
                        gcp.container.NodePoolNodeConfigTaintArgs(
                            key=GPU_TAINT_KEY, value=GPU_TAINT_VALUE, effect="NO_SCHEDULE"
                        )
                    ],
                    accelerators=_gpus(args.gpu_accelerator or "", args.gpus_per_node),
                ),
            ),
            # initialNodeCount only applies at creation; changing it would replace the pool.
            opts=self._child.merge(
                pulumi.ResourceOptions(depends_on=nodes.roles, ignore_changes=["initialNodeCount"])
            ),
        )
        self.gpu_pool_names = pulumi.Output.all(pool.name).apply(list)
        self.gpu_zones = locations
        return pool

    def _workload_identity(self, cluster: gcp.container.Cluster) -> gcp.serviceaccount.Account:
        """The inference pods' identity, impersonable only by the inference service account."""
        name, project = self._stem, self._project
        account = gcp.serviceaccount.Account(
            f"{name}-workload",
            gcp.serviceaccount.AccountArgs(
                account_id=short_name(self._base, "workload", 30),
                display_name=f"Inference pods of {self._base} ({NAMESPACE}/{SERVICE_ACCOUNT})",
                project=project,
            ),
            opts=self._child,
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity",
            gcp.serviceaccount.IAMMemberArgs(
                service_account_id=account.name,
                role="roles/iam.workloadIdentityUser",
                member=f"serviceAccount:{project}.svc.id.goog[{NAMESPACE}/{SERVICE_ACCOUNT}]",
            ),
            # The workload pool exists once the cluster does.
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=[cluster])),
        )
        self.identity = WorkloadIdentity(
            cloud="gcp",
            principal=account.email,
            name=account.email,
            client_id=None,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
        )
        return account

    def _kubeconfig(self, cluster: gcp.container.Cluster) -> None:
        """An exec kubeconfig: tokens come from the deployer's gcloud session, never the state."""
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
        self.kubeconfig = pulumi.Output.secret(kubeconfig)

    def _public_address(self) -> None:
        """A reserved regional external IP the Service's NLB uses."""
        self.public_address = gcp_address.static_address(
            self._stem,
            opts=self._child,
            base=self._base,
            project=self._project,
            region=self._args.placement.region,
            labels=dict(self._args.placement.tags),
            protect=self._args.deletion_protection,
        )
