"""Private control planes, keys and logs, and hardened in-cluster objects, on the real program.

Runs come from the shipped stack files moved to each cloud (tests.support); variants change only
the keys a user would set (kubernetesApiAllowedCidrs, allowedClientCidrs, deployerCidrs,
dnsProvider). Ordering that a real first `pulumi up` needs is checked on the dependencies the
harness records (depends_on and input references).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from components.dns.health_checkers import AZURE_ALLOWED_SERVICE_TAGS_ANNOTATION
from components.inference_cluster.azure_security import KEY_VAULT_CRYPTO_USER_ROLE, NETWORK_CONTRIBUTOR_ROLE
from components.k8s_egress import NON_PUBLIC_IPV4
from components.object_store.azure_cmk import CRYPTO_SERVICE_ENCRYPTION_USER
from infra.config import ConfigError
from offline.harness import ProgramRun, Registered, run_stack
from offline.mock_outputs.network import GOOGLE_HEALTH_CHECKERS, ROUTE53_HEALTHCHECK_PREFIXES
from offline.mocks import GCP_PROJECT_NUMBER
from tests.components.inference_cluster_support import kubernetes_objects, manifest
from tests.infra.test_config import problems
from tests.support import PAIRS, PROFILES, TEST_SECRETS, pair

API = ["198.51.100.0/24", "192.0.2.10/32"]
CLIENTS = ["198.51.100.0/24"]
DEPLOYER = ["20.30.40.0/24", "52.1.2.3/32"]


@cache
def primary_on(cloud: str, **extra: Any) -> ProgramRun:
    return run_stack("primary", {**PROFILES[cloud], **extra}, TEST_SECRETS)


def _restricted(cloud: str) -> ProgramRun:
    return primary_on(cloud, kubernetesApiAllowedCidrs=json.dumps(API))


def one(run: ProgramRun, type_: str, name_part: str = "") -> Registered:
    found = [r for r in run.of_type(type_) if name_part in r.name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def depends(run: ProgramRun, resource: Registered, on: Registered) -> bool:
    return on.urn in resource.dependencies


def k8s(run: ProgramRun, kind: str, name: str) -> dict[str, Any]:
    found = [
        manifest(r)
        for r in kubernetes_objects(run)
        if r.inputs.get("kind") == kind and (r.inputs.get("metadata") or {}).get("name") == name
    ]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


# --- item 5: private control planes, restricted clients -----------------------------------------


@pytest.mark.parametrize("key", ["kubernetesApiAllowedCidrs", "allowedClientCidrs", "deployerCidrs"])
def test_fails_on_an_invalid_cidr_naming_key_value_and_fix(key: str) -> None:
    found = problems("primary", **{key: ["20.30.40.0/24", "10.0.0.300/8"]})
    assert found == [
        f"stack config '{key}' must be a list of CIDRs (network address / prefix length) (got "
        "'10.0.0.300/8'): write an address with a prefix length such as 203.0.113.0/24 or "
        "198.51.100.7/32 in Pulumi.primary.yaml"
    ]


def test_fails_on_host_bits_with_the_network_to_use_instead() -> None:
    (found,) = problems("primary", kubernetesApiAllowedCidrs=["198.51.100.7/24"])
    assert "(got '198.51.100.7/24'): use the network address 198.51.100.0/24" in found


def test_fails_on_a_cidr_string_instead_of_a_list_and_on_private_deployer_ranges() -> None:
    found = problems("primary", allowedClientCidrs="198.51.100.0/24", deployerCidrs=["10.1.0.0/16"])
    assert any("'allowedClientCidrs' must be a list of CIDRs (got '198.51.100.0/24')" in p for p in found)
    assert any("'deployerCidrs' must be public IPv4 CIDRs" in p and "'10.1.0.0/16'" in p for p in found)


def test_an_invalid_cidr_stops_the_run_before_any_resource_exists() -> None:
    with pytest.raises(ConfigError) as caught:
        run_stack("primary", {"kubernetesApiAllowedCidrs": ["nonsense"]}, TEST_SECRETS)
    assert [p.key for p in caught.value.problems] == ["kubernetesApiAllowedCidrs"]


def test_unset_api_allowlist_is_open_with_a_plan_warning_naming_the_key() -> None:
    run = primary_on("aws", kubernetesApiAllowedCidrs=None)
    assert any(w.startswith("kubernetesApiAllowedCidrs is unset:") for w in run.warnings)
    assert one(run, "aws:eks/cluster:Cluster").inputs["vpcConfig"].get("publicAccessCidrs") is None


def test_shipped_open_api_is_explicit_and_warned() -> None:
    run = pair("aws", "gcp")[0]
    assert one(run, "aws:eks/cluster:Cluster").inputs["vpcConfig"]["publicAccessCidrs"] == ["0.0.0.0/0"]
    assert any(w.startswith("kubernetesApiAllowedCidrs admits 0.0.0.0/0") for w in run.warnings)


def test_eks_public_endpoint_admits_only_the_allowlist_and_keeps_the_private_endpoint() -> None:
    vpc = one(_restricted("aws"), "aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert vpc["publicAccessCidrs"] == API
    assert vpc["endpointPrivateAccess"] is True


def test_gke_master_authorized_networks_are_the_allowlist_with_private_nodes() -> None:
    cluster = one(_restricted("gcp"), "gcp:container/cluster:Cluster").inputs
    assert [b["cidrBlock"] for b in cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"]] == API
    assert cluster["masterAuthorizedNetworksConfig"]["gcpPublicCidrsAccessEnabled"] is False
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True


def test_aks_authorized_ip_ranges_are_the_allowlist() -> None:
    cluster = one(_restricted("azure"), "azure-native:containerservice:ManagedCluster").inputs
    assert cluster["apiServerAccessProfile"]["authorizedIPRanges"] == API


@pytest.mark.parametrize(
    ("cloud", "authority", "checkers"),
    [("aws", "aws", ROUTE53_HEALTHCHECK_PREFIXES), ("gcp", "gcp", GOOGLE_HEALTH_CHECKERS)],
)
def test_restricted_load_balancer_admits_clients_and_the_dns_health_checkers(
    cloud: str, authority: str, checkers: tuple[str, ...]
) -> None:
    extra: dict[str, Any] = {"allowedClientCidrs": json.dumps(CLIENTS), "dnsProvider": authority}
    if authority == "gcp":
        extra |= {"healthCheckIntervalSeconds": 30}
    run = primary_on(cloud, **extra)
    ranges = k8s(run, "Service", "inference-server")["spec"]["loadBalancerSourceRanges"]
    assert ranges == sorted(set(CLIENTS) | set(checkers))


def test_aks_admits_traffic_manager_probes_by_service_tag() -> None:
    run = primary_on(
        "azure", allowedClientCidrs=json.dumps(CLIENTS), dnsProvider="azure", dnsResourceGroup="dns-rg"
    )
    service = k8s(run, "Service", "inference-server")
    assert service["spec"]["loadBalancerSourceRanges"] == CLIENTS
    assert service["metadata"]["annotations"][AZURE_ALLOWED_SERVICE_TAGS_ANNOTATION] == "AzureTrafficManager"


def test_unrestricted_service_has_no_source_ranges_and_no_service_tag() -> None:
    service = k8s(pair("azure", "aws")[0], "Service", "inference-server")
    assert "loadBalancerSourceRanges" not in service["spec"]
    assert AZURE_ALLOWED_SERVICE_TAGS_ANNOTATION not in service["metadata"].get("annotations", {})


def test_traffic_manager_with_a_restricted_non_azure_load_balancer_is_refused() -> None:
    (found,) = problems("primary", allowedClientCidrs=CLIENTS, dnsProvider="azure", dnsResourceGroup="dns-rg")
    assert found.startswith("stack config 'allowedClientCidrs' must be unset while dnsProvider is azure")
    assert "AzureTrafficManager" in found and "use dnsProvider aws or gcp" in found


# --- item 6: keys and logs ----------------------------------------------------------------------


def test_gke_secrets_are_encrypted_with_a_rotating_key_its_agent_holds_before_the_cluster() -> None:
    run = pair("gcp", "aws")[0]
    cluster = one(run, "gcp:container/cluster:Cluster")
    key = one(run, "gcp:kms/cryptoKey:CryptoKey", "etcd")
    grant = one(run, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "gke-agent")
    assert cluster.inputs["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": key.outputs["id"]}
    assert key.inputs["rotationPeriod"] == f"{90 * 24 * 3600}s"
    assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert grant.inputs["member"] == (
        f"serviceAccount:service-{GCP_PROJECT_NUMBER}@container-engine-robot.iam.gserviceaccount.com"
    )
    assert depends(run, cluster, grant)
    container_api = next(
        r
        for r in run.of_type("gcp:projects/service:Service")
        if r.inputs["service"] == "container.googleapis.com"
    )
    assert depends(run, grant, container_api)


def test_aks_etcd_kms_runs_as_a_user_assigned_identity_granted_before_the_cluster() -> None:
    run = pair("azure", "gcp")[0]
    cluster = one(run, "azure-native:containerservice:ManagedCluster")
    identity = one(run, "azure-native:managedidentity:UserAssignedIdentity", "control-plane")
    key = one(run, "azure-native:keyvault:Key", "etcd")
    assert cluster.inputs["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": [identity.outputs["id"]],
    }
    kms = cluster.inputs["securityProfile"]["azureKeyVaultKms"]
    assert kms == {
        "enabled": True,
        "keyId": key.outputs["keyUriWithVersion"],
        "keyVaultNetworkAccess": "Public",
    }
    node_subnet = one(run, "azure-native:network:VirtualNetwork").outputs["subnets"][0]["id"]
    kms_vault_id = one(run, "azure-native:keyvault:Vault", "kms").outputs["id"]
    grants = {
        r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]: r
        for r in run.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == identity.outputs["principalId"]
        and r.inputs["scope"] in (node_subnet, kms_vault_id)
    }
    assert set(grants) == {KEY_VAULT_CRYPTO_USER_ROLE, NETWORK_CONTRIBUTOR_ROLE}
    assert (
        grants[KEY_VAULT_CRYPTO_USER_ROLE].inputs["scope"]
        == one(run, "azure-native:keyvault:Vault", "kms").outputs["id"]
    )
    assert all(depends(run, cluster, g) for g in grants.values())
    actions = key.inputs["properties"]["rotationPolicy"]["lifetimeActions"]
    assert actions == [{"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P90D"}}]


def test_aks_audit_logs_go_to_log_analytics() -> None:
    run = pair("azure", "aws")[0]
    setting = one(run, "azure-native:monitor:DiagnosticSetting")
    cluster = one(run, "azure-native:containerservice:ManagedCluster")
    workspace = one(run, "azure-native:operationalinsights:Workspace")
    assert setting.inputs["resourceUri"] == cluster.outputs["id"]
    assert setting.inputs["workspaceId"] == workspace.outputs["id"]
    assert {(log["category"], log["enabled"]) for log in setting.inputs["logs"]} == {
        ("kube-audit", True),
        ("guard", True),
    }
    assert workspace.inputs["retentionInDays"] == 365


def test_aks_nodes_sit_in_the_subnet_with_key_vault_and_storage_service_endpoints() -> None:
    run = pair("azure", "aws")[0]
    vnet = one(run, "azure-native:network:VirtualNetwork")
    (subnet,) = vnet.outputs["subnets"]
    assert {e["service"] for e in subnet["serviceEndpoints"]} == {"Microsoft.KeyVault", "Microsoft.Storage"}
    cluster = one(run, "azure-native:containerservice:ManagedCluster")
    assert cluster.inputs["agentPoolProfiles"][0]["vnetSubnetID"] == subnet["id"]
    assert one(run, "azure-native:containerservice:AgentPool").inputs["vnetSubnetID"] == subnet["id"]


def test_eks_control_plane_logs_are_encrypted_with_the_cluster_key_before_the_cluster() -> None:
    run = pair("aws", "gcp")[0]
    cluster = one(run, "aws:eks/cluster:Cluster")
    logs = one(run, "aws:cloudwatch/logGroup:LogGroup", "control-plane")
    key = next(k for k in run.of_type("aws:kms/key:Key") if k.name.endswith("-secrets"))
    assert logs.inputs["kmsKeyId"] == key.outputs["arn"]
    assert (key.inputs["enableKeyRotation"], key.inputs["rotationPeriodInDays"]) == (True, 90)
    assert logs.inputs["name"] == f"/aws/eks/{cluster.inputs['name']}/cluster"
    assert depends(run, logs, key) and depends(run, cluster, logs)
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    service = statements["ControlPlaneLogs"]
    assert service["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert service["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == [
        f"arn:aws:logs:us-east-1:123456789012:log-group:{logs.inputs['name']}",
        f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc/{cluster.inputs['name']}/flow-logs",
    ]
    assert statements["AccountIamPolicies"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert set(cluster.inputs["enabledClusterLogTypes"]) >= {"api", "audit", "authenticator"}


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=[f"{p}-to-{s}" for p, s in PAIRS])
def test_every_customer_managed_key_rotates(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        for key in run.of_type("aws:kms/key:Key"):
            assert key.inputs["enableKeyRotation"] is True, key.name
        for key in run.of_type("gcp:kms/cryptoKey:CryptoKey"):
            assert key.inputs["rotationPeriod"], key.name
        for key in run.of_type("azure-native:keyvault:Key"):
            assert key.inputs["properties"]["rotationPolicy"]["lifetimeActions"], key.name


def test_key_vault_and_storage_admit_only_the_node_subnet_and_the_deployer() -> None:
    run = primary_on("azure", deployerCidrs=json.dumps(DEPLOYER))
    subnet = one(run, "azure-native:network:VirtualNetwork").outputs["subnets"][0]["id"]
    vault = one(run, "azure-native:keyvault:Vault", "primary-vault").inputs["properties"]
    assert vault["networkAcls"] == {
        "defaultAction": "Deny",
        "bypass": "None",
        "ipRules": [{"value": cidr} for cidr in DEPLOYER],
        "virtualNetworkRules": [{"id": subnet, "ignoreMissingVnetServiceEndpoint": False}],
    }
    account = one(run, "azure-native:storage:StorageAccount", "models").inputs
    rules = account["networkRuleSet"]
    assert (rules["defaultAction"], rules["bypass"]) == ("Deny", "None")
    # Storage takes single addresses for /32 (and refuses /31, /32 prefixes).
    assert [r["iPAddressOrRange"] for r in rules["ipRules"]] == ["20.30.40.0/24", "52.1.2.3"]
    assert rules["virtualNetworkRules"] == [{"virtualNetworkResourceId": subnet, "action": "Allow"}]
    assert not any("deployerCidrs is unset" in w for w in run.warnings)


def test_unset_deployer_ranges_warn_that_only_the_cluster_reaches_the_data_planes() -> None:
    run = pair("azure", "gcp")[0]
    assert any(w.startswith("deployerCidrs is unset:") for w in run.warnings)


def test_azure_model_store_is_encrypted_with_its_own_key_granted_before_the_account() -> None:
    run = pair("azure", "aws")[0]
    account = one(run, "azure-native:storage:StorageAccount", "models")
    identity = one(run, "azure-native:managedidentity:UserAssignedIdentity", "models-cmk")
    vault = one(run, "azure-native:keyvault:Vault", "models-cmk")
    encryption = account.inputs["encryption"]
    assert encryption["keySource"] == "Microsoft.Keyvault"
    assert encryption["keyVaultProperties"] == {
        "keyName": "models",
        "keyVaultUri": vault.outputs["properties"]["vaultUri"],
    }
    assert encryption["encryptionIdentity"] == {"encryptionUserAssignedIdentity": identity.outputs["id"]}
    assert encryption["requireInfrastructureEncryption"] is True
    grant = next(
        g
        for g in run.of_type("azure-native:authorization:RoleAssignment")
        if g.inputs["principalId"] == identity.outputs["principalId"]
    )
    assert grant.inputs["roleDefinitionId"].endswith(CRYPTO_SERVICE_ENCRYPTION_USER)
    assert depends(run, account, grant)
    assert vault.inputs["properties"]["enablePurgeProtection"] is True


def test_azure_audit_store_is_encrypted_with_its_own_key_granted_before_the_account() -> None:
    run = pair("azure", "aws")[0]
    account = one(run, "azure-native:storage:StorageAccount", "audit")
    identity = one(run, "azure-native:managedidentity:UserAssignedIdentity", "audit-cmk")
    vault = one(run, "azure-native:keyvault:Vault", "audit-cmk")
    key = one(run, "azure-native:keyvault:Key", "audit-cmk")
    encryption = account.inputs["encryption"]
    assert encryption["keySource"] == "Microsoft.Keyvault"
    assert encryption["keyVaultProperties"] == {
        "keyName": "audit",
        "keyVaultUri": vault.outputs["properties"]["vaultUri"],
    }
    assert key.inputs["keyName"] == "audit" and key.inputs["vaultName"] == vault.outputs["name"]
    assert encryption["encryptionIdentity"] == {"encryptionUserAssignedIdentity": identity.outputs["id"]}
    assert account.inputs["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": [identity.outputs["id"]],
    }
    assert encryption["requireInfrastructureEncryption"] is True
    # Version-level immutability stays on with the customer-managed key.
    assert account.inputs["immutableStorageWithVersioning"]["enabled"] is True
    grant = next(
        g
        for g in run.of_type("azure-native:authorization:RoleAssignment")
        if g.inputs["principalId"] == identity.outputs["principalId"]
    )
    assert grant.inputs["roleDefinitionId"].endswith(CRYPTO_SERVICE_ENCRYPTION_USER)
    assert grant.inputs["scope"] == vault.outputs["id"]
    assert depends(run, account, grant)
    properties = vault.inputs["properties"]
    assert properties["enablePurgeProtection"] is True and properties["enableSoftDelete"] is True
    # Its own vault and identity, apart from the model store's.
    models_vault = one(run, "azure-native:keyvault:Vault", "models-cmk")
    assert vault.outputs["name"] != models_vault.outputs["name"]
    # The retained (protected) account's records stay readable only while their key does.
    assert account.protect and vault.protect and key.protect


# --- item 7: what else runs in the clusters -----------------------------------------------------


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_device_plugin_is_locked_down_except_its_host_path(cloud: str) -> None:
    daemonset = k8s(pair(cloud, "gcp")[0], "DaemonSet", "nvidia-device-plugin")
    template = daemonset["spec"]["template"]
    spec = template["spec"]
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]} and context["privileged"] is False
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    assert "@sha256:" in container["image"]
    host_paths = [v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v]
    assert host_paths == ["/var/lib/kubelet/device-plugins"]
    assert template["metadata"]["annotations"]["inference-failover/runs-as-root"]


def _egress_peers(policy: dict[str, Any]) -> dict[tuple[int, str], list[dict[str, Any]]]:
    return {
        (p["port"], p["protocol"]): rule.get("to", []) for rule in policy["egress"] for p in rule["ports"]
    }


def _check_egress(policy: dict[str, Any], cloud: str) -> None:
    peers = _egress_peers(policy)
    kube_dns = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    assert peers[(53, "UDP")] == [kube_dns] and peers[(53, "TCP")] == [kube_dns]
    assert peers[(443, "TCP")] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(NON_PUBLIC_IPV4)}}]
    metadata = {k: v for k, v in peers.items() if k[0] in (80, 988)}
    if cloud == "gcp":
        assert metadata == {
            (80, "TCP"): [{"ipBlock": {"cidr": "169.254.169.254/32"}}],
            (988, "TCP"): [{"ipBlock": {"cidr": "169.254.169.252/32"}}],
        }
    else:
        assert metadata == {}, "IRSA / AKS workload identity need no instance metadata"
    assert set(peers) <= {(53, "UDP"), (53, "TCP"), (443, "TCP"), (80, "TCP"), (988, "TCP")}


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=[f"{p}-to-{s}" for p, s in PAIRS])
def test_inference_and_replication_egress_is_dns_public_https_and_gke_metadata(
    primary: str, standby: str
) -> None:
    primary_run, standby_run = pair(primary, standby)
    for run in (primary_run, standby_run):
        _check_egress(k8s(run, "NetworkPolicy", "inference-server")["spec"], run.config.cloud)
    if any(r.inputs.get("kind") == "CronJob" for r in kubernetes_objects(standby_run)):
        policy = k8s(standby_run, "NetworkPolicy", "model-replication")
        assert policy["metadata"]["namespace"] == "model-replication"
        assert policy["spec"]["podSelector"] == {} and policy["spec"]["ingress"] == []
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        _check_egress(policy["spec"], standby)


def test_offline_plan_shows_the_open_api_warning_naming_the_key() -> None:
    from infra.plan import plan_stack

    _, notes = plan_stack("primary")
    assert any(n.startswith("kubernetesApiAllowedCidrs admits 0.0.0.0/0") for n in notes)


@pytest.mark.parametrize(("primary", "standby"), [(p, s) for p, s in PAIRS if "azure" in (p, s)])
def test_every_azure_key_vault_gets_its_own_valid_global_name(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        names = [v.inputs["vaultName"] for v in run.of_type("azure-native:keyvault:Vault")]
        if run.config.cloud != "azure":
            assert names == []
            continue
        assert len(names) == len(set(names)) == 4  # secrets, AKS KMS, model-store key, audit-store key
        assert all(3 <= len(n) <= 24 and n.startswith("kv-") and "--" not in n for n in names)


def test_eks_vpc_flow_logs_go_to_an_encrypted_group_through_a_scoped_role() -> None:
    run = pair("aws", "azure")[0]
    flow = one(run, "aws:ec2/flowLog:FlowLog")
    group = one(run, "aws:cloudwatch/logGroup:LogGroup", "flow-logs")
    role = one(run, "aws:iam/role:Role", "flow-logs")
    write = one(run, "aws:iam/rolePolicy:RolePolicy", "flow-logs")
    key = next(k for k in run.of_type("aws:kms/key:Key") if k.name.endswith("-secrets"))
    assert flow.inputs["vpcId"] == one(run, "aws:ec2/vpc:Vpc").outputs["id"]
    assert (flow.inputs["trafficType"], flow.inputs["logDestination"]) == ("ALL", group.outputs["arn"])
    assert group.inputs["kmsKeyId"] == key.outputs["arn"] and group.inputs["retentionInDays"] == 365
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    (statement,) = json.loads(write.inputs["policy"])["Statement"]
    arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{group.inputs['name']}"
    assert statement["Resource"] == [arn, f"{arn}:*"]
    assert depends(run, flow, write)


def test_standby_reading_an_azure_primary_is_told_to_list_its_egress_in_the_primary_firewall() -> None:
    standby = pair("azure", "aws")[1]
    assert any(
        w.startswith("the primary's storage account (azure) denies public addresses")
        for w in standby.warnings
    )
    assert not any("primary's storage account" in w for w in pair("aws", "azure")[1].warnings)
