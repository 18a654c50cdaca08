"""AKS: Entra ID-only cluster with the OIDC issuer and workload identity, Cilium network policy,
a system pool and a tainted NC-family GPU agent pool."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pulumi
import pulumi_azure_native as azure_native
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


def _principal_of(identity: containerservice.outputs.ManagedClusterIdentityResponse | None) -> str:
    if identity is None or not identity.principal_id:
        raise RuntimeError(
            "AKS reported no system-assigned identity for the cluster: it is needed to attach the "
            "static public IP; check `az aks show --query identity`"
        )
    return identity.principal_id


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


class AksInferenceCluster(pulumi.ComponentResource):
    """AKS cluster with workload identity and a GPU agent pool; see InferenceClusterArgs."""

    def __init__(
        self, name: str, args: InferenceClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "AksInferenceCluster"), name, None, opts)
        placement = args.placement
        group = placement.azure_resource_group
        assert group is not None  # validated by InferenceClusterArgs
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        base = base_name(name, placement)
        tags = dict(placement.tags)
        client = azure_native.authorization.get_client_config_output(opts=invoke)

        cluster_name = short_name(base, "aks", 63)
        cluster = _create(
            containerservice.ManagedCluster,
            f"{name}-cluster",
            containerservice.ManagedClusterArgs(
                resource_group_name=group,
                resource_name=cluster_name,
                location=placement.region,
                dns_prefix=short_name(base, "aks", 54),
                kubernetes_version=args.kubernetes_version,
                identity=containerservice.ManagedClusterIdentityArgs(
                    type=containerservice.ResourceIdentityType.SYSTEM_ASSIGNED
                ),
                sku=containerservice.ManagedClusterSKUArgs(name="Base", tier="Standard"),
                agent_pool_profiles=[
                    containerservice.ManagedClusterAgentPoolProfileArgs(
                        name=SYSTEM_POOL,
                        mode="System",
                        os_type="Linux",
                        os_sku="Ubuntu",
                        type="VirtualMachineScaleSets",
                        vm_size=args.system_machine_type or SYSTEM_VM_SIZE,
                        count=args.system_node_count,
                        os_disk_size_gb=SYSTEM_DISK_GB,
                        enable_node_public_ip=False,
                        node_labels={POOL_LABEL: SYSTEM_POOL},
                        tags=tags,
                    )
                ],
                # Entra ID only: no static admin credentials exist to leak.
                aad_profile=containerservice.ManagedClusterAADProfileArgs(
                    managed=True, enable_azure_rbac=True, tenant_id=client.tenant_id
                ),
                disable_local_accounts=True,
                enable_rbac=True,
                oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
                security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                    workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(
                        enabled=True
                    )
                ),
                # Cilium enforces NetworkPolicy (the workload's ingress/egress rules).
                network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                    network_plugin="azure",
                    network_plugin_mode="overlay",
                    network_dataplane="cilium",
                    network_policy="cilium",
                    load_balancer_sku="standard",
                    outbound_type="loadBalancer",
                ),
                api_server_access_profile=(
                    containerservice.ManagedClusterAPIServerAccessProfileArgs(
                        authorized_ip_ranges=list(args.api_allowed_cidrs)
                    )
                    if args.api_allowed_cidrs
                    else None
                ),
                auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                    upgrade_channel="patch", node_os_upgrade_channel="NodeImage"
                ),
                tags=tags,
            ),
            # AKS has no deletion-protection flag; Pulumi's protect refuses to delete it instead.
            opts=child.merge(pulumi.ResourceOptions(protect=args.deletion_protection)),
        )

        # Zones where this subscription may run the VM size (Compute SKUs, at plan time).
        gpu_zones = aks_gpu_zones(args, client.subscription_id)
        gpu_pool = _create(
            containerservice.AgentPool,
            f"{name}-gpu",
            containerservice.AgentPoolArgs(
                resource_group_name=group,
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
                gpu_profile=containerservice.GPUProfileArgs(driver="Install"),
                node_labels={POOL_LABEL: GPU_POOL, GPU_TYPE_LABEL: args.gpu_type},
                node_taints=[f"{GPU_TAINT_KEY}={GPU_TAINT_VALUE}:NoSchedule"],
                # One GPU node at a time, no surge node that needs spare GPU quota.
                upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(
                    max_surge="0", max_unavailable="1"
                ),
                tags=tags,
            ),
            # The autoscaler owns the live count between min and max; `pulumi up` must not
            # scale a busy pool back down to the floor.
            opts=child.merge(pulumi.ResourceOptions(ignore_changes=["count"])),
        )

        issuer_url = cluster.oidc_issuer_profile.apply(_issuer_of)
        identity = _create(
            azure_native.managedidentity.UserAssignedIdentity,
            f"{name}-workload",
            azure_native.managedidentity.UserAssignedIdentityArgs(
                resource_group_name=group,
                resource_name=short_name(base, "workload", 128),
                location=placement.region,
                tags=tags,
            ),
            opts=child,
        )
        _create(
            azure_native.managedidentity.FederatedIdentityCredential,
            f"{name}-workload",
            azure_native.managedidentity.FederatedIdentityCredentialArgs(
                resource_group_name=group,
                resource_name=identity.name,
                federated_identity_credential_resource_name=short_name(base, SERVICE_ACCOUNT, 120),
                issuer=issuer_url,
                subject=f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
                audiences=[WORKLOAD_IDENTITY_AUDIENCE],
            ),
            opts=child,
        )
        deployer_admin = azure_native.authorization.RoleAssignment(
            f"{name}-deployer-admin",
            azure_native.authorization.RoleAssignmentArgs(
                principal_id=client.object_id,
                role_definition_id=client.subscription_id.apply(
                    lambda sub: (
                        f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/"
                        f"{AKS_RBAC_CLUSTER_ADMIN_ROLE}"
                    )
                ),
                scope=cluster.id,
                description="Deployer applies the inference workload via Entra ID (local accounts are off).",
            ),
            opts=child,
        )

        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=group, resource_name=cluster.name, format="exec", opts=invoke
        )
        kubeconfig = credentials.kubeconfigs.apply(lambda configs: azure_cli_kubeconfig(configs[0].value))
        # The cluster-admin assignment takes minutes to propagate: hand the kubeconfig on only once
        # an authorised API call works, so the first `pulumi up` does not fail with 403s.
        kubeconfig = pulumi.Output.all(kubeconfig, deployer_admin.id).apply(
            lambda a: wait_for_api_access(a[0], what=f"AKS cluster {cluster_name}")
        )

        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(kubeconfig)
        self.cluster_name: pulumi.Output[str] = cluster.name
        self.gpu_pool_names: pulumi.Output[list[str]] = pulumi.Output.all(gpu_pool.name).apply(list)
        self.gpu_zones: pulumi.Output[list[str]] = gpu_zones
        self.oidc_issuer_url: pulumi.Output[str] = issuer_url
        self.identity = WorkloadIdentity(
            cloud="azure",
            principal=identity.principal_id,
            name=identity.id,
            client_id=identity.client_id,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
        )
        self.image_puller: pulumi.Output[str] = cluster.identity_profile.apply(_kubelet_object_id)
        self.k8s_provider = kubernetes_provider(name, self.kubeconfig, self, [gpu_pool, deployer_admin])
        # The OIDC issuer that federated credentials name exists once the cluster does.
        self.federation_ready: pulumi.Resource = cluster
        self.device_plugin = nvidia_device_plugin(name, self, self.k8s_provider)
        # Static public address: a Standard public IP in the stack's resource group.
        self.public_address: PublicAddress = azure_address.static_address(
            name,
            opts=child,
            base=base,
            resource_group=group,
            location=placement.region,
            subscription_id=client.subscription_id,
            cluster_principal_id=cluster.identity.apply(_principal_of),
            tags=tags,
            protect=args.deletion_protection,
        )
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "gpuPoolNames": self.gpu_pool_names,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "workloadClientId": identity.client_id,
            }
        )
