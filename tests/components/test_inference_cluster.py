"""The inference cluster on every cloud, from the real program on the shipped stack files."""

from __future__ import annotations

import json

import pytest
import yaml

from components.inference_cluster import (
    GPU_NODE_FLOOR,
    GPU_POOL,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    GPU_TYPE_LABEL,
    KUBERNETES_VERSION,
    NAMESPACE,
    POOL_LABEL,
    SERVICE_ACCOUNT,
)
from infra import outputs
from infra.catalog import shape_for
from offline.harness import ProgramRun
from tests.components.inference_cluster_support import (
    CLUSTER_TYPES,
    STACK_IDS,
    STACKS,
    VARIANTS,
    all_runs,
    cluster_component,
    descendants,
    full_primary,
    gpu_pool,
    k8s_object,
    node_labels,
    pool_size,
    pools,
    stack_run,
    start_size,
    taints,
    warm_variant,
)
from tests.support import CLOUDS, PAIR_IDS, PAIRS, pair

SUBJECT = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"


def _both_variants() -> list[ProgramRun]:
    return [run for cloud in CLOUDS for run in (full_primary(cloud), warm_variant(cloud))]


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_every_cloud_gets_its_own_managed_cluster_in_the_stack_region(
    primary: str, standby: str, role: str
) -> None:
    run = stack_run(primary, standby, role)
    cloud = run.config.cloud
    cluster = run.one(CLUSTER_TYPES[cloud])
    # The cluster is built by that cloud's component, not by some other cloud's.
    assert cluster_component(run).type.endswith(
        {"aws": "Eks", "gcp": "Gke", "azure": "Aks"}[cloud] + "InferenceCluster"
    )
    assert cluster.parent == cluster_component(run).urn
    version = {"aws": "version", "gcp": "minMasterVersion", "azure": "kubernetesVersion"}[cloud]
    assert cluster.inputs[version] == KUBERNETES_VERSION
    if cloud == "gcp":
        assert cluster.inputs["location"] == run.config.region
        assert cluster.inputs["project"] == run.config.gcp_project
    if cloud == "azure":
        assert cluster.inputs["location"] == run.config.region
    assert run.outputs[outputs.CLUSTER_NAME] == cluster.outputs["name"]
    # Nothing on another cloud runs the cluster: every cluster resource uses this cloud's provider.
    for resource in descendants(run, cluster_component(run).urn):
        if resource.custom and not resource.type.startswith(("kubernetes:", "pulumi:providers:kubernetes")):
            assert resource.type.startswith(("aws:", "gcp:", "azure-native:"))
            assert resource.type.split(":")[0] == {"aws": "aws", "gcp": "gcp", "azure": "azure-native"}[cloud]


@pytest.mark.parametrize("run", _both_variants(), ids=lambda r: f"{r.config.cloud}-{r.config.gpu.gpu_type}")
def test_gpu_pool_uses_configured_gpu_type_and_count(run: ProgramRun) -> None:
    cfg = run.config
    shape = shape_for(cfg.cloud, cfg.gpu.gpu_type, cfg.gpu.gpus_per_node)
    assert shape is not None
    pool = gpu_pool(run)
    assert node_labels(pool)[GPU_TYPE_LABEL] == cfg.gpu.gpu_type
    if cfg.cloud == "aws":
        assert pool.inputs["instanceTypes"] == [shape.machine_type]
        assert pool.inputs["amiType"] == "AL2023_x86_64_NVIDIA"
    elif cfg.cloud == "gcp":
        node = pool.inputs["nodeConfig"]
        assert node["machineType"] == shape.machine_type
        assert [(a["type"], a["count"]) for a in node["guestAccelerators"]] == [
            (shape.accelerator, cfg.gpu.gpus_per_node)
        ]
        # GKE installs the NVIDIA driver itself.
        assert node["guestAccelerators"][0]["gpuDriverInstallationConfig"]["gpuDriverVersion"] in (
            "DEFAULT",
            "LATEST",
        )
    else:
        assert pool.inputs["vmSize"] == shape.machine_type
        assert pool.inputs["gpuProfile"]["driver"] == "Install"
    assert run.outputs[outputs.GPU_POOL_NAMES] == [pool.outputs.get("nodeGroupName") or pool.outputs["name"]]


def test_variants_really_change_the_gpu_shape() -> None:
    # Guards the test above: each variant picks a different node size than the shipped file.
    for cloud in CLOUDS:
        assert full_primary(cloud).config.gpu.shape != warm_variant(cloud).config.gpu.shape
        assert warm_variant(cloud).config.gpu.gpu_type == VARIANTS[cloud]["gpuType"]


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_only_gpu_nodes_carry_the_gpu_taint(primary: str, standby: str, role: str) -> None:
    run = stack_run(primary, standby, role)
    assert taints(gpu_pool(run)) == {(GPU_TAINT_KEY, GPU_TAINT_VALUE, "NoSchedule")}
    others = [p for p in pools(run) if p is not gpu_pool(run)]
    for pool in others:
        assert taints(pool) == set()
        assert node_labels(pool)[POOL_LABEL] != GPU_POOL
    if run.config.cloud == "azure":
        (system,) = run.one(CLUSTER_TYPES["azure"]).inputs["agentPoolProfiles"]
        assert system["mode"] == "System" and not system.get("nodeTaints")
        assert "vmSize" in system and system["vmSize"].startswith("Standard_D")
    else:
        assert len(others) == 1, "a CPU system pool runs the cluster add-ons"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_warm_keeps_one_gpu_node_and_one_replica_full_runs_configured_counts(cloud: str) -> None:
    full, warm = full_primary(cloud), warm_variant(cloud)
    assert (full.config.capacity, warm.config.capacity) == ("full", "warm")
    # Same stack file, same nodeCount/maxNodeCount/replicas: only capacity differs in effect.
    assert (warm.config.gpu.node_count, warm.config.replicas) == (
        full.config.gpu.node_count,
        full.config.replicas,
    )
    # Both keep one GPU node as the autoscaling floor and may scale to maxNodeCount.
    for run in (full, warm):
        assert pool_size(gpu_pool(run)) == (GPU_NODE_FLOOR, run.config.gpu.max_node_count) == (1, 4)
    assert full.config.gpu.node_count > 1
    if cloud == "gcp":
        # initialNodeCount is per zone: one node in each GPU zone, trimmed to the floor by the
        # autoscaler when idle; never above the ceiling.
        assert start_size(gpu_pool(warm)) == len(gpu_pool(warm).inputs["nodeLocations"]) <= 4
        assert full.config.gpu.node_count <= start_size(gpu_pool(full)) <= 4
    else:
        assert start_size(gpu_pool(warm)) == 1
        assert start_size(gpu_pool(full)) == full.config.gpu.node_count
    assert k8s_object(full, "Deployment")["spec"]["replicas"] == full.config.replicas > 1
    assert k8s_object(warm, "Deployment")["spec"]["replicas"] == 1


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_shipped_standby_is_warm_and_primary_full(primary: str, standby: str) -> None:
    p, s = pair(primary, standby)
    assert pool_size(gpu_pool(s)) == pool_size(gpu_pool(p)) == (1, p.config.gpu.max_node_count)
    assert k8s_object(s, "Deployment")["spec"]["replicas"] == 1
    assert k8s_object(p, "Deployment")["spec"]["replicas"] == p.config.replicas
    if standby != "gcp":
        assert start_size(gpu_pool(s)) == 1


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_no_resource_uses_a_default_provider(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        for resource in run.resources:
            if not resource.custom or resource.type.startswith("pulumi:providers:"):
                continue
            assert resource.provider, f"{resource.type} {resource.name} has no provider reference"
            assert "::default" not in resource.provider, (
                f"{resource.type} {resource.name}: {resource.provider}"
            )


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_kubernetes_objects_use_the_clusters_own_provider(primary: str, standby: str, role: str) -> None:
    run = stack_run(primary, standby, role)
    component = cluster_component(run)
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.parent == component.urn
    k8s = [r for r in run.resources if r.type.startswith("kubernetes:")]
    assert k8s
    for resource in k8s:
        assert resource.provider.rsplit("::", 1)[0] == provider.urn, resource.name


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_kubeconfig_is_secret_and_carries_no_static_credentials(
    primary: str, standby: str, role: str
) -> None:
    run = stack_run(primary, standby, role)
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    assert "kubeconfig" in provider.secret_inputs
    config = yaml.safe_load(provider.inputs["kubeconfig"])
    (user,) = config["users"]
    expected = {"aws": "aws", "gcp": "gke-gcloud-auth-plugin", "azure": "kubelogin"}[run.config.cloud]
    assert user["user"]["exec"]["command"] == expected
    assert not {"token", "client-key-data", "password"} & set(user["user"])
    (cluster,) = config["clusters"]
    assert cluster["cluster"]["server"].startswith("https://")
    assert cluster["cluster"]["certificate-authority-data"]
    if run.config.cloud == "azure":
        # Non-interactive: a device-code prompt would hang `pulumi up`.
        args = user["user"]["exec"]["args"]
        assert args[args.index("--login") + 1] == "azurecli"


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_workload_identity_trusts_only_the_inference_service_account(
    primary: str, standby: str, role: str
) -> None:
    run = stack_run(primary, standby, role)
    cloud = run.config.cloud
    if cloud == "aws":
        cluster = run.one(CLUSTER_TYPES["aws"])
        issuer = cluster.outputs["identities"][0]["oidcs"][0]["issuer"].removeprefix("https://")
        (oidc,) = [
            r
            for r in run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
            if r.parent == cluster_component(run).urn
        ]
        assert oidc.inputs["url"] == f"https://{issuer}"
        assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]
        (role_,) = [
            r for r in run.of_type("aws:iam/role:Role") if r.outputs["arn"] == run.outputs["workloadIdentity"]
        ]
        (statement,) = json.loads(role_.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Federated": oidc.outputs["arn"]}
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Condition"] == {
            "StringEquals": {f"{issuer}:sub": SUBJECT, f"{issuer}:aud": "sts.amazonaws.com"}
        }
    elif cloud == "gcp":
        bindings = [
            r
            for r in run.of_type("gcp:serviceaccount/iAMMember:IAMMember")
            if r.inputs["role"] == "roles/iam.workloadIdentityUser"
            and run.outputs["workloadIdentity"] in r.inputs["serviceAccountId"]
        ]
        assert [b.inputs["member"] for b in bindings] == [
            f"serviceAccount:{run.config.gcp_project}.svc.id.goog[{NAMESPACE}/{SERVICE_ACCOUNT}]"
        ]
        cluster = run.one(CLUSTER_TYPES["gcp"])
        assert (
            cluster.inputs["workloadIdentityConfig"]["workloadPool"]
            == f"{run.config.gcp_project}.svc.id.goog"
        )
    else:
        cluster = run.one(CLUSTER_TYPES["azure"])
        assert cluster.inputs["oidcIssuerProfile"]["enabled"] is True
        assert cluster.inputs["securityProfile"]["workloadIdentity"]["enabled"] is True
        identity = [
            r
            for r in run.of_type("azure-native:managedidentity:UserAssignedIdentity")
            if r.outputs["principalId"] == run.outputs["workloadIdentity"]
        ]
        assert len(identity) == 1
        credentials = [
            r
            for r in run.of_type("azure-native:managedidentity:FederatedIdentityCredential")
            if r.inputs["resourceName"] == identity[0].outputs["name"]
        ]
        assert [(c.inputs["subject"], c.inputs["issuer"], c.inputs["audiences"]) for c in credentials] == [
            (SUBJECT, cluster.outputs["oidcIssuerProfile"]["issuerURL"], ["api://AzureADTokenExchange"])
        ]


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_nodes_are_private_and_secure_defaults_are_on(primary: str, standby: str, role: str) -> None:
    run = stack_run(primary, standby, role)
    cloud = run.config.cloud
    cluster = run.one(CLUSTER_TYPES[cloud])
    if cloud == "aws":
        assert cluster.inputs["deletionProtection"] is True
        assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
        assert cluster.inputs["vpcConfig"]["endpointPrivateAccess"] is True
        assert cluster.inputs["accessConfig"]["authenticationMode"] == "API"
        subnets = {s.outputs["id"]: s for s in run.of_type("aws:ec2/subnet:Subnet")}
        node_subnets = {sid for p in pools(run) for sid in p.inputs["subnetIds"]}
        assert node_subnets and node_subnets <= set(subnets)
        for sid in node_subnets:
            assert subnets[sid].inputs["mapPublicIpOnLaunch"] is False
            assert subnets[sid].inputs["tags"].get("kubernetes.io/role/internal-elb") == "1"
        # At least two AZs, so the control plane and the pool survive one AZ.
        assert len({subnets[sid].inputs["availabilityZoneId"] for sid in node_subnets}) >= 2
        for template in run.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
            (disk,) = template.inputs["blockDeviceMappings"]
            assert disk["ebs"]["encrypted"] == "true"
            assert template.inputs["metadataOptions"]["httpTokens"] == "required"
            assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    elif cloud == "gcp":
        assert cluster.inputs["deletionProtection"] is True
        assert cluster.inputs["privateClusterConfig"]["enablePrivateNodes"] is True
        assert cluster.inputs["networkingMode"] == "VPC_NATIVE"
        assert cluster.inputs["datapathProvider"] == "ADVANCED_DATAPATH"
        for pool in pools(run):
            node = pool.inputs["nodeConfig"]
            assert node["workloadMetadataConfig"]["mode"] == "GKE_METADATA"
            assert node["shieldedInstanceConfig"]["enableSecureBoot"] is True
            assert not node["serviceAccount"].startswith(f"{run.config.gcp_project}-compute@")
    else:
        assert cluster.inputs["disableLocalAccounts"] is True
        assert cluster.inputs["aadProfile"]["enableAzureRBAC"] is True
        assert cluster.inputs["networkProfile"]["networkPolicy"] == "cilium"
        assert all(p["enableNodePublicIP"] is False for p in cluster.inputs["agentPoolProfiles"])
        assert gpu_pool(run).inputs["enableNodePublicIP"] is False


def test_every_stack_run_registers_exactly_one_cluster() -> None:
    for run in all_runs():
        clusters = [r for r in run.resources if r.type in CLUSTER_TYPES.values()]
        assert len(clusters) == 1, [(r.type, r.name) for r in clusters]
