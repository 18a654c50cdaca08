"""Mock outputs of the inference cluster capability: what EKS, GKE, AKS, their identities and a
LoadBalancer Service report once created."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pulumi
import yaml

from offline.mocks import ACCOUNT_ID, AZURE_SUBSCRIPTION, AZURE_TENANT, answers_call, outputs_for, stable_hex

Args = pulumi.runtime.MockResourceArgs

# A syntactically valid PEM body is enough for kubeconfigs; nothing verifies it offline.
_CA_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUMockInferenceFailoverCAxMDAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwprdWJl\n"
    "-----END CERTIFICATE-----\n"
)
CA_DATA = base64.b64encode(_CA_PEM.encode()).decode()
# The AKS AAD server application every exec kubeconfig targets.
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


def _guid(*parts: str) -> str:
    return str(uuid.UUID(stable_hex(*parts, length=32)))


def _region(args: Args, default: str) -> str:
    return str(args.inputs.get("region") or args.inputs.get("location") or default)


# --- AWS ----------------------------------------------------------------------------------------


@outputs_for("aws:eks/cluster:Cluster")
def _eks_cluster(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs.get("name") or args.name
    region = _region(args, "us-east-1")
    oidc_id = stable_hex("eks-oidc", name, length=32).upper()
    return {
        "id": name,
        "arn": f"arn:aws:eks:{region}:{ACCOUNT_ID}:cluster/{name}",
        "endpoint": f"https://{oidc_id}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": CA_DATA},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc_id}"}]}],
        "platformVersion": "eks.5",
        "status": "ACTIVE",
        "version": args.inputs.get("version", "1.35"),
    }


@outputs_for("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _oidc_provider(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    url = str(args.inputs.get("url", "")).removeprefix("https://")
    arn = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{url}"
    return {"id": arn, "arn": arn}


@outputs_for("aws:eks/nodeGroup:NodeGroup")
def _node_group(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    cluster = args.inputs.get("clusterName", "cluster")
    name = args.inputs.get("nodeGroupName") or args.name
    return {
        "id": f"{cluster}:{name}",
        "nodeGroupName": name,
        "arn": f"arn:aws:eks:us-east-1:{ACCOUNT_ID}:nodegroup/{cluster}/{name}/{_guid('ng', name)}",
        "status": "ACTIVE",
    }


@outputs_for("aws:ec2/launchTemplate:LaunchTemplate")
def _launch_template(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    template_id = f"lt-{stable_hex('lt', args.name, length=17)}"
    return {"id": template_id, "latestVersion": 1, "defaultVersion": 1}


# --- GCP ----------------------------------------------------------------------------------------


@outputs_for("gcp:container/cluster:Cluster")
def _gke_cluster(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    project = args.inputs.get("project", "mock-project")
    location = args.inputs.get("location", "us-central1")
    name = args.inputs.get("name") or args.name
    cluster_id = f"projects/{project}/locations/{location}/clusters/{name}"
    octets = [int(stable_hex("gke-ip", name, str(i), length=2), 16) for i in range(2)]
    return {
        "id": cluster_id,
        "selfLink": f"https://container.googleapis.com/v1/{cluster_id}",
        "endpoint": f"34.{octets[0]}.{octets[1]}.10",
        "masterAuth": {
            "clusterCaCertificate": CA_DATA,
            "clientCertificateConfig": {"issueClientCertificate": False},
        },
        "masterVersion": f"{args.inputs.get('minMasterVersion', '1.35')}.2-gke.1000000",
        "status": "RUNNING",
    }


@outputs_for("gcp:container/nodePool:NodePool")
def _gke_node_pool(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    cluster = str(args.inputs.get("cluster", ""))
    name = args.inputs.get("name") or args.name
    return {"id": f"{cluster}/nodePools/{name}", "name": name}


@outputs_for("gcp:serviceaccount/account:Account")
def _gcp_service_account(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    project = args.inputs.get("project", "mock-project")
    account_id = args.inputs.get("accountId") or args.name
    email = f"{account_id}@{project}.iam.gserviceaccount.com"
    return {
        "id": f"projects/{project}/serviceAccounts/{email}",
        "name": f"projects/{project}/serviceAccounts/{email}",
        "email": email,
        "member": f"serviceAccount:{email}",
        "uniqueId": str(int(stable_hex("sa", email, length=15), 16)),
    }


# --- Azure --------------------------------------------------------------------------------------


def _azure_id(args: Args, provider_path: str, name: str) -> str:
    group = args.inputs.get("resourceGroupName", "mock-rg")
    return f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{group}/providers/{provider_path}/{name}"


def _aks_identity(requested: dict[str, Any], name: str) -> dict[str, Any]:
    """What ARM answers: a user-assigned identity is echoed back as a map, a system-assigned one
    gets a principal."""
    if requested.get("type") == "UserAssigned":
        return {
            "type": "UserAssigned",
            "userAssignedIdentities": {
                uami: {"principalId": _guid("uami-principal", uami), "clientId": _guid("uami-client", uami)}
                for uami in requested.get("userAssignedIdentities", [])
            },
        }
    return {"type": "SystemAssigned", "principalId": _guid("aks-principal", name), "tenantId": AZURE_TENANT}


@outputs_for("azure-native:containerservice:ManagedCluster")
def _aks_cluster(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs.get("resourceName") or args.name
    location = args.inputs.get("location", "eastus")
    prefix = args.inputs.get("dnsPrefix", name)
    issuer_id = _guid("aks-oidc", name)
    return {
        "id": _azure_id(args, "Microsoft.ContainerService/managedClusters", name),
        "name": name,
        "fqdn": f"{prefix}-{stable_hex('aks', name, length=8)}.hcp.{location}.azmk8s.io",
        "oidcIssuerProfile": {
            "enabled": True,
            "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{AZURE_TENANT}/{issuer_id}/",
        },
        "identity": _aks_identity(args.inputs.get("identity") or {}, name),
        "identityProfile": {
            "kubeletidentity": {
                "clientId": _guid("aks-kubelet-client", name),
                "objectId": _guid("aks-kubelet-object", name),
                "resourceId": (
                    f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/MC_{name}/providers/"
                    f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool"
                ),
            }
        },
        "provisioningState": "Succeeded",
        "currentKubernetesVersion": f"{args.inputs.get('kubernetesVersion', '1.35')}.3",
    }


@outputs_for("azure-native:containerservice:AgentPool")
def _aks_agent_pool(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    cluster = args.inputs.get("resourceName", "cluster")
    name = args.inputs.get("agentPoolName") or args.name
    return {
        "id": _azure_id(args, f"Microsoft.ContainerService/managedClusters/{cluster}/agentPools", name),
        "name": name,
        "provisioningState": "Succeeded",
    }


@outputs_for("azure-native:managedidentity:UserAssignedIdentity")
def _user_assigned_identity(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs.get("resourceName") or args.name
    return {
        "id": _azure_id(args, "Microsoft.ManagedIdentity/userAssignedIdentities", name),
        "name": name,
        "principalId": _guid("uami-principal", name),
        "clientId": _guid("uami-client", name),
        "tenantId": AZURE_TENANT,
    }


@answers_call("azure-native:containerservice:listManagedClusterUserCredentials")
def _aks_user_credentials(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    """What AKS returns for format=exec on an Entra ID cluster: kubelogin in device-code mode."""
    name = args.args.get("resourceName", "cluster")
    server = f"https://{name}-{stable_hex('aks', name, length=8)}.hcp.eastus.azmk8s.io:443"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": CA_DATA}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"clusterUser_{name}"}}],
        "current-context": name,
        "users": [
            {
                "name": f"clusterUser_{name}",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": [
                            "get-token",
                            "--login",
                            "devicecode",
                            "--server-id",
                            AKS_SERVER_APP_ID,
                            "--environment",
                            "AzurePublicCloud",
                            "--tenant-id",
                            AZURE_TENANT,
                        ],
                        "provideClusterInfo": False,
                    }
                },
            }
        ],
    }
    value = base64.b64encode(yaml.safe_dump(config).encode()).decode()
    return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}


# --- Kubernetes ---------------------------------------------------------------------------------


@outputs_for("kubernetes:core/v1:Service")
def _service(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    spec = args.inputs.get("spec") or {}
    if spec.get("type") != "LoadBalancer":
        return {}
    metadata = args.inputs.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    name = str(metadata.get("name", args.name))
    digest = stable_hex("lb", args.name, length=16)
    if any(key.startswith("service.beta.kubernetes.io/aws-load-balancer") for key in annotations):
        # AWS load balancers are addressed by DNS name, never by IP.
        ingress = {"hostname": f"a{digest}-{stable_hex(name, length=16)}.elb.us-east-1.amazonaws.com"}
    else:
        # Azure public IPs come from 20.0.0.0/8 and similar, Google's from 34/35.x.
        first = (
            "20" if any(key.startswith("service.beta.kubernetes.io/azure") for key in annotations) else "34"
        )
        octets = [int(digest[i : i + 2], 16) for i in (0, 2)]
        ingress = {"ip": f"{first}.{octets[0]}.{octets[1]}.17"}
    # GKE and AKS put a reserved address named in the annotations on the forwarding rule / frontend.
    reserved = _reserved_ip(annotations)
    if reserved is not None:
        ingress = {"ip": reserved}
    # MetalLB (onprem) assigns the requested address from its pools (metallb.io/loadBalancerIPs).
    requested = str(annotations.get("metallb.io/loadBalancerIPs") or "").split(",")[0].strip()
    if requested:
        ingress = {"ip": requested, "ipMode": "VIP"}
    return {"status": {"loadBalancer": {"ingress": [ingress]}}}


# --- Static public addresses (EIPs, reserved GCP address, Azure public IP) ----------------------

# Reserved addresses by cloud and name, as the cloud resolves a name given in a Service annotation.
_RESERVED: dict[tuple[str, str], str] = {}


def _reserved_ip(annotations: dict[str, Any]) -> str | None:
    gke = str(annotations.get("networking.gke.io/load-balancer-ip-addresses") or "").split(",")[0].strip()
    if gke:
        return _RESERVED.get(("gcp", gke))
    aks = str(annotations.get("service.beta.kubernetes.io/azure-pip-name") or "")
    return _RESERVED.get(("azure", aks)) if aks else None


def _public_ipv4(first_octets: tuple[int, ...], *parts: str) -> str:
    """A stable public address inside a range the cloud really allocates from."""
    digest = stable_hex("public-ip", *parts, length=8)
    rest = [int(digest[i : i + 2], 16) for i in range(0, 8, 2)][: 4 - len(first_octets)]
    rest[-1] = max(1, min(rest[-1], 254))
    return ".".join(str(o) for o in (*first_octets, *rest))


@outputs_for("aws:ec2/eip:Eip")
def _eip(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    # EC2 allocates Elastic IPs from Amazon's pools, e.g. 3.208.0.0/12 and 54.144.0.0/12 in us-east-1.
    allocation = f"eipalloc-{stable_hex('eip', args.name, length=17)}"
    ip = _public_ipv4((54, 144 + int(stable_hex("eip16", args.name, length=1), 16) % 16), args.name)
    return {
        "id": allocation,
        "allocationId": allocation,
        "publicIp": ip,
        "publicDns": f"ec2-{ip.replace('.', '-')}.compute-1.amazonaws.com",
        "domain": "vpc",
        "publicIpv4Pool": "amazon",
    }


@outputs_for("gcp:compute/address:Address")
def _gcp_address(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    project = args.inputs.get("project", "mock-project")
    region = args.inputs.get("region", "us-central1")
    name = args.inputs.get("name") or args.name
    address_id = f"projects/{project}/regions/{region}/addresses/{name}"
    ip = _public_ipv4((34,), project, region, str(name))
    _RESERVED[("gcp", str(name))] = ip
    return {
        "id": address_id,
        "selfLink": f"https://www.googleapis.com/compute/v1/{address_id}",
        "address": ip,
        "addressType": args.inputs.get("addressType", "EXTERNAL"),
        "networkTier": args.inputs.get("networkTier", "PREMIUM"),
        "status": "RESERVED",
    }


@outputs_for("azure-native:network:PublicIPAddress")
def _azure_public_ip(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs.get("publicIpAddressName") or args.name
    ip = _public_ipv4((20,), str(name))
    _RESERVED[("azure", str(name))] = ip
    return {
        "id": _azure_id(args, "Microsoft.Network/publicIPAddresses", str(name)),
        "name": name,
        # Static allocation assigns the address at creation (dynamic would leave it empty).
        "ipAddress": ip,
        "provisioningState": "Succeeded",
    }


@outputs_for("kubernetes:helm.sh/v3:Release")
def _helm_release(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": {
            "name": args.inputs.get("name", args.name),
            "namespace": args.inputs.get("namespace", "default"),
            "chart": args.inputs.get("chart", ""),
            "version": args.inputs.get("version", ""),
            "status": "deployed",
            "revision": 1,
        }
    }
