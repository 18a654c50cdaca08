"""AKS: Entra ID-only cluster with the OIDC issuer and workload identity, Cilium network policy,
a system pool and a tainted NC-family GPU agent pool."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s
import yaml

from components.common import WorkloadIdentity, type_token
from components.inference_cluster import azure_address
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
from components.inference_cluster.azure_security import (
    ClusterPrerequisites,
    audit_logs,
    cluster_identity,
    cluster_prerequisites,
    kms_profile,
)
from components.inference_cluster.placement import aks_gpu_zones
from components.inference_cluster.public_address import PublicAddress
from components.inference_cluster.readiness import wait_for_api_access
from components.inference_cluster.shared import (
    base_name,
    kubernetes_provider,
    nvidia_device_plugin,
    short_name,
)

containerservice = azure_native.containerservice

SYSTEM_VM_SIZE = "Standard_D4ds_v5"
SYSTEM_DISK_GB = 128
# Built-in "Azure Kubernetes Service RBAC Cluster Admin": lets the deployer apply the workload
# through Entra ID, since local (static-token) accounts are disabled.
AKS_RBAC_CLUSTER_ADMIN_ROLE = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange"


_R = TypeVar("_R", bound=pulumi.CustomResource)


def _create(kind: Callable[..., _R], name: str, args: object, opts: pulumi.ResourceOptions) -> _R:
    """Create an azure-native resource from its typed Args.

    For resources with a `resource_name` input (ManagedCluster, AgentPool, identities), the SDK
    passes `Args.__dict__` next to the Pulumi resource name and the two `resource_name`s collide
    (TypeError). The typed Args are still built (and type-checked); they are handed over as
    keywords, with the input renamed to the SDK's `resource_name_`.
    """
    props = dict(vars(args))
    if "resource_name" in props:
        props["resource_name_"] = props.pop("resource_name")
    return kind(name, opts=opts, **props)


def _issuer_of(profile: containerservice.outputs.ManagedClusterOIDCIssuerProfileResponse | None) -> str:
    if profile is None or not profile.issuer_url:
        raise ValueError(
            "AKS reported no OIDC issuer URL although oidcIssuerProfile.enabled is set: "
            "check the cluster's provisioning state with `az aks show --query oidcIssuerProfile`"
        )
    return profile.issuer_url


def _kubelet_object_id(
    profile: Mapping[str, containerservice.outputs.UserAssignedIdentityManagedClusterResponse] | None,
) -> str:
    kubelet = (profile or {}).get("kubeletidentity")
    if kubelet is None or not kubelet.object_id:
        raise RuntimeError(
            "AKS reported no kubelet identity (identityProfile.kubeletidentity.objectId): the nodes "
            "cannot be granted AcrPull; check `az aks show --query identityProfile`"
        )
    return kubelet.object_id


def azure_cli_kubeconfig(kubeconfig_b64: str) -> str:
    """AKS's exec kubeconfig, switched to kubelogin's non-interactive Azure CLI login.

    The API returns `--login devicecode`, which would hang `pulumi up` waiting for a browser.
    """
    try:
        config: dict[str, Any] = yaml.safe_load(base64.b64decode(kubeconfig_b64))
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"AKS returned a kubeconfig that is not base64 YAML: {exc}") from exc
    for user in config.get("users") or []:
        exec_config = (user.get("user") or {}).get("exec")
        if not exec_config:
            continue
        args = list(exec_config.get("args") or [])
        if "--login" in args:
            args[args.index("--login") + 1] = "azurecli"
        else:
            args += ["--login", "azurecli"]
        exec_config["args"] = args
        exec_config["interactiveMode"] = "Never"
        exec_config.setdefault(
            "installHint", "Install kubelogin (az aks install-cli) and sign in with `az login`."
        )
    return yaml.safe_dump(config, sort_keys=False)


def _network_profile() -> containerservice.ContainerServiceNetworkProfileArgs:
    """Azure CNI overlay with Cilium, which enforces NetworkPolicy (the workload's rules)."""
    return containerservice.ContainerServiceNetworkProfileArgs(
        network_plugin="azure",
        network_plugin_mode="overlay",
        network_dataplane="cilium",
        network_policy="cilium",
        load_balancer_sku="standard",
        outbound_type="loadBalancer",
    )


def _api_access(cidrs: tuple[str, ...]) -> containerservice.ManagedClusterAPIServerAccessProfileArgs | None:
    """The API server admits only these networks; None (no list) leaves it open to Entra ID sign-in."""
    if not cidrs:
        return None
    return containerservice.ManagedClusterAPIServerAccessProfileArgs(authorized_ip_ranges=list(cidrs))


class AksInferenceCluster(pulumi.ComponentResource):
    """AKS cluster with workload identity and a GPU agent pool; see InferenceClusterArgs."""

    kubeconfig: pulumi.Output[str]
    """Secret kubeconfig whose exec plugin is kubelogin with the Azure CLI login (no static token);
    handed on only once the deployer's cluster-admin assignment works."""
    node_subnet_id: pulumi.Output[str]
    """Subnet of every node (service endpoints on): vault and store firewalls admit it."""
    cluster_name: pulumi.Output[str]
    """Name of the AKS cluster."""
    gpu_pool_names: pulumi.Output[list[str]]
    """The GPU agent pool's name (one pool over the GPU zones)."""
    gpu_zones: pulumi.Output[list[str]]
    """Availability zones of the GPU pool: where the subscription may run the VM size (or `gpu_zones`)."""
    oidc_issuer_url: pulumi.Output[str]
    """The cluster's OIDC issuer, for keyless federation into other clouds."""
    identity: WorkloadIdentity
    """The inference pods' user-assigned identity, federated only with NAMESPACE/SERVICE_ACCOUNT."""
    image_puller: pulumi.Output[str]
    """Object id of the kubelet identity, which pulls images: the stack's registry grants it AcrPull."""
    k8s_provider: k8s.Provider
    """Explicit Kubernetes provider built from `kubeconfig`; it waits for the GPU pool and the
    deployer's admin assignment."""
    federation_ready: pulumi.Resource
    """The cluster: the OIDC issuer that federated credentials name exists once it does."""
    device_plugin: k8s.apps.v1.DaemonSet
    """The NVIDIA device plugin on the GPU nodes (AKS installs only the driver)."""
    public_address: PublicAddress
    """Static public address: a Standard public IP in the stack's resource group."""

    def __init__(
        self, name: str, args: InferenceClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "AksInferenceCluster"), name, None, opts)
        group = args.placement.azure_resource_group
        assert group is not None  # validated by InferenceClusterArgs
        self._stem = name
        self._args = args
        self._group = group
        self._child = pulumi.ResourceOptions(parent=self, provider=args.placement.provider)
        self._invoke = pulumi.InvokeOutputOptions(parent=self, provider=args.placement.provider)
        self._base = base_name(name, args.placement)
        self._aks_name = short_name(self._base, "aks", 63)
        self._client = azure_native.authorization.get_client_config_output(opts=self._invoke)
        pre = self._prerequisites()
        cluster = self._control_plane(pre)
        self._audit_logs(cluster)
        gpu_pool = self._gpu_pool(cluster, pre)
        identity = self._workload_identity()
        deployer_admin = self._deployer_access(cluster)
        self._kubeconfig(cluster, deployer_admin)
        self.k8s_provider = kubernetes_provider(name, self.kubeconfig, self, [gpu_pool, deployer_admin])
        self.device_plugin = nvidia_device_plugin(name, self, self.k8s_provider)
        self._public_address(pre)
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "gpuPoolNames": self.gpu_pool_names,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "workloadClientId": identity.client_id,
            }
        )

    def _prerequisites(self) -> ClusterPrerequisites:
        """What the other clouds' `_network` and `_secrets_key` make: the node network, and the
        control plane's identity with its KMS key and subnet grants (azure_security.py)."""
        pre = cluster_prerequisites(
            self._stem,
            base=self._base,
            placement=self._args.placement,
            client=self._client,
            child=self._child,
            deletion_protection=self._args.deletion_protection,
        )
        self.node_subnet_id = pre.node_subnet_id
        return pre

    def _system_pool(self, pre: ClusterPrerequisites) -> containerservice.ManagedClusterAgentPoolProfileArgs:
        """The System-mode pool, inline in the cluster (AKS creates a cluster with one)."""
        args = self._args
        return containerservice.ManagedClusterAgentPoolProfileArgs(
            name=SYSTEM_POOL,
            mode="System",
            os_type="Linux",
            os_sku="Ubuntu",
            type="VirtualMachineScaleSets",
            vm_size=args.system_machine_type or SYSTEM_VM_SIZE,
            count=args.system_node_count,
            os_disk_size_gb=SYSTEM_DISK_GB,
            enable_node_public_ip=False,
            vnet_subnet_id=pre.node_subnet_id,
            node_labels={POOL_LABEL: SYSTEM_POOL},
            tags=dict(args.placement.tags),
        )

    def _control_plane(self, pre: ClusterPrerequisites) -> containerservice.ManagedCluster:
        """Entra ID only (no local accounts), OIDC issuer and workload identity, Secrets under our
        key, managed Prometheus metrics, patch upgrades."""
        args, tags = self._args, dict(self._args.placement.tags)
        cluster = _create(
            containerservice.ManagedCluster,
            f"{self._stem}-cluster",
            containerservice.ManagedClusterArgs(
                resource_group_name=self._group,
                resource_name=self._aks_name,
                location=args.placement.region,
                dns_prefix=short_name(self._base, "aks", 54),
                kubernetes_version=args.kubernetes_version,
                identity=cluster_identity(pre),
                sku=containerservice.ManagedClusterSKUArgs(name="Base", tier="Standard"),
                agent_pool_profiles=[self._system_pool(pre)],
                # Entra ID only: no static admin credentials exist to leak.
                aad_profile=containerservice.ManagedClusterAADProfileArgs(
                    managed=True, enable_azure_rbac=True, tenant_id=self._client.tenant_id
                ),
                disable_local_accounts=True,
                enable_rbac=True,
                oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
                security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                    workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(
                        enabled=True
                    ),
                    azure_key_vault_kms=kms_profile(pre),
                ),
                network_profile=_network_profile(),
                api_server_access_profile=_api_access(args.api_allowed_cidrs),
                # Managed Prometheus metrics add-on (ama-metrics); its DCR association is in
                # components/observability/azure.py (issue 11).
                azure_monitor_profile=containerservice.ManagedClusterAzureMonitorProfileArgs(
                    metrics=containerservice.ManagedClusterAzureMonitorProfileMetricsArgs(enabled=True)
                ),
                auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                    upgrade_channel="patch", node_os_upgrade_channel="NodeImage"
                ),
                tags=tags,
            ),
            # AKS has no deletion-protection flag; Pulumi's protect refuses to delete it instead.
            # KMS and the custom subnet are checked at creation: the identity's grants come first.
            opts=self._child.merge(
                pulumi.ResourceOptions(protect=args.deletion_protection, depends_on=pre.grants)
            ),
        )
        self.cluster_name = cluster.name
        self.oidc_issuer_url = cluster.oidc_issuer_profile.apply(_issuer_of)
        self.image_puller = cluster.identity_profile.apply(_kubelet_object_id)
        # The OIDC issuer that federated credentials name exists once the cluster does.
        self.federation_ready = cluster
        return cluster

    def _audit_logs(self, cluster: containerservice.ManagedCluster) -> None:
        """kube-audit and guard logs to the stack's workspace (azure_security.py)."""
        audit_logs(
            self._stem,
            base=self._base,
            placement=self._args.placement,
            cluster=cluster,
            cluster_id=cluster.id,
            child=self._child,
        )

    def _gpu_pool(
        self, cluster: containerservice.ManagedCluster, pre: ClusterPrerequisites
    ) -> containerservice.AgentPool:
        """Tainted, autoscaled GPU agent pool (AKS installs the driver) in the zones the
        subscription may run the VM size in (Compute SKUs, at plan time)."""
        args = self._args
        gpu_zones = aks_gpu_zones(args, self._client.subscription_id)
        pool = _create(
            containerservice.AgentPool,
            f"{self._stem}-gpu",
            containerservice.AgentPoolArgs(
                resource_group_name=self._group,
                resource_name=cluster.name,
                agent_pool_name=GPU_POOL,
                mode="User",
                os_type="Linux",
                os_sku="Ubuntu",
                type="VirtualMachineScaleSets",
                vm_size=args.gpu_machine_type,
                count=args.gpu_node_count,
                enable_auto_scaling=True,
                # Bounds never change with capacity (see GPU_NODE_FLOOR).
                min_count=GPU_NODE_FLOOR,
                max_count=args.gpu_max_node_count,
                availability_zones=gpu_zones,
                os_disk_size_gb=args.gpu_node_disk_size_gib,
                enable_node_public_ip=False,
                vnet_subnet_id=pre.node_subnet_id,
                gpu_profile=containerservice.GPUProfileArgs(driver="Install"),
                node_labels={POOL_LABEL: GPU_POOL, GPU_TYPE_LABEL: args.gpu_type},
                node_taints=[f"{GPU_TAINT_KEY}={GPU_TAINT_VALUE}:NoSchedule"],
                # One GPU node at a time, no surge node that needs spare GPU quota.
                upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(
                    max_surge="0", max_unavailable="1"
                ),
                tags=dict(args.placement.tags),
            ),
            # The autoscaler owns the live count between min and max; `pulumi up` must not
            # scale a busy pool back down to the floor.
            opts=self._child.merge(pulumi.ResourceOptions(ignore_changes=["count"])),
        )
        self.gpu_pool_names = pulumi.Output.all(pool.name).apply(list)
        self.gpu_zones = gpu_zones
        return pool

    def _workload_identity(self) -> azure_native.managedidentity.UserAssignedIdentity:
        """The inference pods' identity, federated with the inference service account only."""
        name, base = self._stem, self._base
        identity = _create(
            azure_native.managedidentity.UserAssignedIdentity,
            f"{name}-workload",
            azure_native.managedidentity.UserAssignedIdentityArgs(
                resource_group_name=self._group,
                resource_name=short_name(base, "workload", 128),
                location=self._args.placement.region,
                tags=dict(self._args.placement.tags),
            ),
            opts=self._child,
        )
        _create(
            azure_native.managedidentity.FederatedIdentityCredential,
            f"{name}-workload",
            azure_native.managedidentity.FederatedIdentityCredentialArgs(
                resource_group_name=self._group,
                resource_name=identity.name,
                federated_identity_credential_resource_name=short_name(base, SERVICE_ACCOUNT, 120),
                issuer=self.oidc_issuer_url,
                subject=f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
                audiences=[WORKLOAD_IDENTITY_AUDIENCE],
            ),
            opts=self._child,
        )
        self.identity = WorkloadIdentity(
            cloud="azure",
            principal=identity.principal_id,
            name=identity.id,
            client_id=identity.client_id,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
        )
        return identity

    def _deployer_access(
        self, cluster: containerservice.ManagedCluster
    ) -> azure_native.authorization.RoleAssignment:
        """The deployer's cluster-admin role on this cluster, through Entra ID (local accounts are off)."""
        return azure_native.authorization.RoleAssignment(
            f"{self._stem}-deployer-admin",
            azure_native.authorization.RoleAssignmentArgs(
                principal_id=self._client.object_id,
                role_definition_id=self._client.subscription_id.apply(
                    lambda sub: (
                        f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/"
                        f"{AKS_RBAC_CLUSTER_ADMIN_ROLE}"
                    )
                ),
                scope=cluster.id,
                description="Deployer applies the inference workload via Entra ID (local accounts are off).",
            ),
            opts=self._child,
        )

    def _kubeconfig(
        self,
        cluster: containerservice.ManagedCluster,
        deployer_admin: azure_native.authorization.RoleAssignment,
    ) -> None:
        """AKS's exec kubeconfig with kubelogin's Azure CLI login, once the admin role works."""
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=self._group, resource_name=cluster.name, format="exec", opts=self._invoke
        )
        kubeconfig = credentials.kubeconfigs.apply(lambda configs: azure_cli_kubeconfig(configs[0].value))
        # The cluster-admin assignment takes minutes to propagate: hand the kubeconfig on only once
        # an authorised API call works, so the first `pulumi up` does not fail with 403s.
        what = f"AKS cluster {self._aks_name}"
        kubeconfig = pulumi.Output.all(kubeconfig, deployer_admin.id).apply(
            lambda a: wait_for_api_access(a[0], what=what)
        )
        self.kubeconfig = pulumi.Output.secret(kubeconfig)

    def _public_address(self, pre: ClusterPrerequisites) -> None:
        """A Standard public IP in the stack's resource group."""
        self.public_address = azure_address.static_address(
            self._stem,
            opts=self._child,
            base=self._base,
            resource_group=self._group,
            location=self._args.placement.region,
            subscription_id=self._client.subscription_id,
            # The control plane runs as the user-assigned identity (KMS needs it, azure_security.py).
            cluster_principal_id=pre.identity.principal_id,
            tags=dict(self._args.placement.tags),
            protect=self._args.deletion_protection,
        )
