"""Static public addresses: created by the stack, bound to the Service, answered and probed by DNS.

All 18 combinations (6 ordered cloud pairs x 3 DNS authorities) run the real program on the
shipped stack files; every record and health check must target the addresses the stack itself
reserved (Elastic IPs / reserved GCP address / Azure public IP), never the Service status.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from components.inference_cluster import aws_lb
from infra import outputs
from offline.harness import ProgramError, ProgramRun, Registered
from tests.components.inference_cluster_support import k8s_object
from tests.support import COMBINATION_IDS, COMBINATIONS, combination, pair

EIP = "aws:ec2/eip:Eip"
GCP_ADDRESS = "gcp:compute/address:Address"
AZURE_UAMI = "azure-native:managedidentity:UserAssignedIdentity"
AZURE_PIP = "azure-native:network:PublicIPAddress"
SERVICE = "kubernetes:core/v1:Service"
RELEASE = "kubernetes:helm.sh/v3:Release"
ROUTE53_CHECK = "aws:route53/healthCheck:HealthCheck"


def load_balancer_eips(run: ProgramRun) -> list[Registered]:
    eips = [r for r in run.of_type(EIP) if f"{run.config.role}-lb-" in r.name]
    return sorted(eips, key=lambda r: int(r.name.rsplit("-", 1)[1]))


def static_addresses(run: ProgramRun) -> list[str]:
    """The addresses the stack reserved, read from the address resources themselves."""
    cloud = run.config.cloud
    if cloud == "aws":
        return [r.outputs["publicIp"] for r in load_balancer_eips(run)]
    if cloud == "gcp":
        return [run.one(GCP_ADDRESS).outputs["address"]]
    return [run.one(AZURE_PIP).outputs["ipAddress"]]


def address_probes(run: ProgramRun) -> list[Registered]:
    """The stack's per-address Route 53 probes in address order (<role>-health, -health-1, ...)."""
    probes = [c for c in run.of_type(ROUTE53_CHECK) if c.inputs["type"] != "CALCULATED"]
    return sorted(probes, key=lambda c: int(c.name.rsplit("-", 1)[1]) if c.name[-1].isdigit() else 0)


def _dns_targets(run: ProgramRun, authority: str, peer: ProgramRun | None) -> None:
    """Assert every DNS resource of `run` targets static addresses (peer: the primary's run)."""
    own = static_addresses(run)
    if authority == "aws":
        assert [c.inputs["ipAddress"] for c in address_probes(run)] == own  # one probe per address
        for record in run.of_type("aws:route53/record:Record"):
            if "aliases" in record.inputs:  # the primary's service record aliases the pool name
                assert record.inputs["aliases"][0]["name"].startswith("api-pool.")
            else:
                assert (record.inputs["type"], record.inputs["records"]) == ("A", own)
    elif authority == "azure":
        assert run.one("azure-native:trafficmanager:Endpoint").inputs["target"] == own[0]
    elif run.config.role == "standby":
        assert peer is not None
        policy = run.one("gcp:dns/recordSet:RecordSet").inputs["routingPolicy"]["primaryBackup"]
        assert policy["primary"]["externalEndpoints"] == static_addresses(peer)
        assert policy["backupGeos"][0]["healthCheckedTargets"]["externalEndpoints"] == own
    else:
        assert not run.of_type("gcp:dns/recordSet:RecordSet")  # the standby owns the record set


@pytest.mark.parametrize(("primary", "standby", "authority"), COMBINATIONS, ids=COMBINATION_IDS)
def test_every_pair_and_authority_plans_with_dns_on_the_static_addresses(
    primary: str, standby: str, authority: str
) -> None:
    runs = combination(primary, standby, authority)
    for run, peer in zip(runs, (None, runs[0]), strict=True):
        own = static_addresses(run)
        assert own and all(ipaddress.IPv4Address(ip).is_global for ip in own)
        assert run.outputs[outputs.ENDPOINT_HOST] == own[0]
        assert run.outputs[outputs.ENDPOINT_ADDRESSES] == own
        descriptor = run.outputs[outputs.DNS]
        assert (descriptor["provider"], descriptor["endpoint"]) == (authority, own[0])
        assert descriptor["endpointAddresses"] == own
        _dns_targets(run, authority, peer)
        assert not [w for w in run.warnings if "Output object at" in w]


def test_aws_nlb_gets_one_elastic_ip_per_public_subnet_through_the_controller() -> None:
    run = pair("aws", "gcp")[0]
    annotations = k8s_object(run, "Service")["metadata"]["annotations"]
    eips = load_balancer_eips(run)
    subnets = sorted(
        (r for r in run.of_type("aws:ec2/subnet:Subnet") if "-public-" in r.name), key=lambda r: r.name
    )
    assert len(eips) == len(subnets) == 3
    allocations = annotations["service.beta.kubernetes.io/aws-load-balancer-eip-allocations"].split(",")
    named = annotations["service.beta.kubernetes.io/aws-load-balancer-subnets"].split(",")
    assert allocations == [r.outputs["allocationId"] for r in eips]
    assert named == [r.outputs["id"] for r in subnets]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert (
        "load_balancing.cross_zone.enabled=true"
        in annotations["service.beta.kubernetes.io/aws-load-balancer-attributes"]
    )
    assert k8s_object(run, "Service")["spec"]["loadBalancerClass"] == "service.k8s.aws/nlb"


def test_eip_count_must_match_the_subnets_one_per_zone() -> None:
    with pytest.raises(RuntimeError, match="one Elastic IP per subnet"):
        aws_lb.eip_annotations(["eipalloc-1"], ["subnet-1", "subnet-2"], ["use1-az1", "use1-az2"])
    with pytest.raises(RuntimeError, match="different availability zones"):
        aws_lb.eip_annotations(["eipalloc-1", "eipalloc-2"], ["subnet-1", "subnet-2"], ["us-east-1a"] * 2)


def test_gke_service_names_the_reserved_regional_address() -> None:
    run = pair("gcp", "aws")[0]
    address = run.one(GCP_ADDRESS)
    assert address.inputs["addressType"] == "EXTERNAL"
    assert address.inputs["networkTier"] == "PREMIUM"
    assert address.inputs["region"] == run.config.region  # regional: a passthrough NLB needs it
    service = k8s_object(run, "Service")
    assert (
        service["metadata"]["annotations"]["networking.gke.io/load-balancer-ip-addresses"]
        == (address.inputs["name"])
    )
    assert service["spec"]["loadBalancerClass"] == "networking.gke.io/l4-regional-external"
    assert "loadBalancerIP" not in service["spec"]  # deprecated in Kubernetes
    # Created once the Compute Engine API is on.
    apis = {r.urn for r in run.of_type("gcp:projects/service:Service")}
    assert apis & set(address.dependencies)


def test_aks_service_names_the_static_public_ip_aks_may_use() -> None:
    run = pair("azure", "gcp")[0]
    pip = run.one(AZURE_PIP)
    assert pip.inputs["sku"] == {"name": "Standard", "tier": "Regional"}
    assert pip.inputs["publicIPAllocationMethod"] == "Static"
    annotations = k8s_object(run, "Service")["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/azure-pip-name"] == pip.inputs["publicIpAddressName"]
    group = annotations["service.beta.kubernetes.io/azure-load-balancer-resource-group"]
    assert group == pip.inputs["resourceGroupName"]
    # The AKS control-plane identity (user-assigned, for KMS) may attach it: Network Contributor
    # on exactly that group (its other Network Contributor grant is on the node subnet).
    cluster = run.one("azure-native:containerservice:ManagedCluster")
    (identity,) = cluster.inputs["identity"]["userAssignedIdentities"]
    control_plane = next(r for r in run.of_type(AZURE_UAMI) if r.outputs["id"] == identity)
    (grant,) = [
        r
        for r in run.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["roleDefinitionId"].endswith("4d97b98b-1d4f-4787-a291-c67834d212e7")
        and r.inputs["scope"].endswith(f"/resourceGroups/{group}")
    ]
    assert grant.inputs["principalId"] == control_plane.outputs["principalId"]


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_addresses_outlive_the_service_and_dns_never_waits_for_it(cloud: str) -> None:
    """The addresses belong to the cluster (not the workload) and are protected; the Service
    waits for them; DNS reads them directly, so a re-created Service changes no record."""
    run = pair(cloud, "gcp" if cloud != "gcp" else "aws")[0]
    address_types = {"aws": EIP, "gcp": GCP_ADDRESS, "azure": AZURE_PIP}
    addresses = [r for r in run.of_type(address_types[cloud]) if "-nat-" not in r.name]
    cluster_component = next(r for r in run.resources if r.type.endswith("InferenceCluster"))
    assert all(r.parent == cluster_component.urn for r in addresses)
    assert addresses and all(r.protect for r in addresses)
    service = next(r for r in run.of_type(SERVICE) if r.inputs["spec"]["type"] == "LoadBalancer")
    assert {r.urn for r in addresses} <= set(service.dependencies)
    # An existing Service without the class is replaced (the field is immutable), name freed first.
    assert service.replace_on_changes == ("spec.loadBalancerClass",)
    assert service.delete_before_replace
    for record in (r for r in run.resources if r.parent.endswith("FailoverRecord::primary") and r.custom):
        assert service.urn not in record.dependencies


def test_load_balancer_controller_is_the_pinned_chart_with_its_own_least_privilege_role() -> None:
    run = pair("aws", "gcp")[0]
    # The EKS cluster also installs the Cluster Autoscaler and cert-manager; this is the controller's.
    (release,) = [r for r in run.of_type(RELEASE) if r.name.endswith("-lb-controller")]
    assert (release.inputs["chart"], release.inputs["version"]) == ("aws-load-balancer-controller", "3.5.0")
    assert release.inputs["repositoryOpts"]["repo"] == "https://aws.github.io/eks-charts"
    values = release.inputs["values"]
    cluster = run.one("aws:eks/cluster:Cluster")
    vpc = run.one("aws:ec2/vpc:Vpc")
    # No metadata-service lookups (IMDS hop limit 1): region and VPC are given.
    assert (values["clusterName"], values["region"], values["vpcId"]) == (
        cluster.inputs["name"],
        "us-east-1",
        vpc.outputs["id"],
    )
    tag, _, digest = values["image"]["tag"].partition("@")
    assert (
        tag == "v3.5.0"
        and digest == "sha256:298acdff5a571731276aaea3d5cc450a264e4ad710a5bddf3e518f68a3f9f6cb"
    )
    role = next(r for r in run.of_type("aws:iam/role:Role") if r.name.endswith("-lb-controller"))
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:aws-load-balancer-controller" in trust.values()
    # The Service's webhook fails closed until the controller runs: the Service waits for it.
    service = next(r for r in run.of_type(SERVICE) if r.inputs["spec"]["type"] == "LoadBalancer")
    assert release.urn in service.dependencies


def _statements(run: ProgramRun) -> list[dict[str, Any]]:
    policy = next(
        r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-lb-controller")
    )
    return list(json.loads(policy.inputs["policy"])["Statement"])


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


ALB_ONLY_SERVICES = ("wafv2", "waf-regional", "shield", "cognito-idp", "acm")


def test_load_balancer_controller_policy_is_scoped_to_this_cluster_and_nlbs() -> None:
    run = pair("aws", "gcp")[0]
    cluster_name = run.one("aws:eks/cluster:Cluster").inputs["name"]
    statements = _statements(run)
    actions = [a for s in statements for a in _as_list(s["Action"])]
    assert not [a for a in actions if a.endswith("*")]
    assert not [a for a in actions if a.split(":")[0] in ALB_ONLY_SERVICES]
    for statement in statements:
        mutating = [
            a
            for a in _as_list(statement["Action"])
            if a.split(":")[1].startswith(("Delete", "Modify", "Set", "Create"))
        ]
        if mutating and statement["Resource"] == "*":
            # Only security-group creation (tagged at creation) and the service-linked role.
            assert set(mutating) <= {"ec2:CreateSecurityGroup", "iam:CreateServiceLinkedRole"}
        for resource in _as_list(statement["Resource"]):
            assert resource == "*" or ":us-east-1:123456789012:" in resource
        tag_condition = json.dumps(statement.get("Condition", {}))
        if "elbv2.k8s.aws/cluster" in tag_condition:
            assert cluster_name in tag_condition


def test_a_failing_dns_check_never_shows_internal_output_text() -> None:
    from offline.harness import run_pair
    from tests.support import AUTHORITY_OVERRIDES, TEST_SECRETS, primary_overrides, standby_overrides

    extra = AUTHORITY_OVERRIDES["gcp"]
    with pytest.raises(ProgramError) as caught:
        run_pair(
            {**primary_overrides("aws"), **extra},
            {**standby_overrides("aws", "gcp"), **extra, "dnsTtlSeconds": 60},
            TEST_SECRETS,
        )
    from pulumi.runtime.settings import SETTINGS

    SETTINGS.outputs.clear()
    message = str(caught.value)
    assert "stack config 'dnsTtlSeconds' must be the same as in the primary stack 'primary' (30)" in message
    assert "Output object at" not in message and "While processing input" not in message


def test_an_ephemeral_load_balancer_address_fails_the_apply_naming_both() -> None:
    """GKE/AKS must put the reserved address on the load balancer; anything else is an error."""
    import pulumi_kubernetes as k8s

    from components.inference_cluster.workload import check_bound_address

    def status(ip: str) -> k8s.core.v1.outputs.ServiceStatus:
        ingress = k8s.core.v1.outputs.LoadBalancerIngress(ip=ip)
        return k8s.core.v1.outputs.ServiceStatus(
            load_balancer=k8s.core.v1.outputs.LoadBalancerStatus(ingress=[ingress])
        )

    assert check_bound_address(["34.1.2.3"], status("34.1.2.3"), "gcp") == "34.1.2.3"
    with pytest.raises(
        RuntimeError, match=r"got load balancer address 35\.9\.9\.9 but DNS points at .*34\.1\.2\.3"
    ):
        check_bound_address(["34.1.2.3"], status("35.9.9.9"), "gcp")


@pytest.mark.parametrize("cloud", ["gcp", "azure"])
def test_the_mocked_cloud_puts_the_reserved_address_on_the_load_balancer(cloud: str) -> None:
    run = pair(cloud, "aws")[0]
    service = next(r for r in run.of_type(SERVICE) if r.inputs["spec"]["type"] == "LoadBalancer")
    (ingress,) = service.outputs["status"]["loadBalancer"]["ingress"]
    assert ingress["ip"] == static_addresses(run)[0]


def test_route53_keeps_an_aws_stack_healthy_while_any_elastic_ip_answers() -> None:
    """One AZ's NLB node down must not fail the whole stack over: a CALCULATED check over one
    probe per Elastic IP, healthy at one passing child, is what the records carry."""
    run = combination("aws", "gcp", "aws")[0]
    checks = run.of_type(ROUTE53_CHECK)
    (any_address,) = [c for c in checks if c.inputs["type"] == "CALCULATED"]
    probes = address_probes(run)
    assert any_address.inputs["childHealthThreshold"] == 1
    assert any_address.inputs["childHealthchecks"] == [c.outputs["id"] for c in probes]
    assert [c.inputs["ipAddress"] for c in probes] == static_addresses(run)
    assert all(c.inputs["fqdn"] == "api.example.com" for c in probes)  # the Host header
    pool = next(
        r for r in run.of_type("aws:route53/record:Record") if r.inputs["name"].startswith("api-pool.")
    )
    assert pool.inputs["healthCheckId"] == any_address.outputs["id"]
    # A one-address stack keeps its single probe on the records.
    gcp_side = combination("aws", "gcp", "aws")[1]
    (single,) = gcp_side.of_type(ROUTE53_CHECK)
    assert single.inputs["ipAddress"] == static_addresses(gcp_side)[0]


def test_load_balancer_controller_may_only_tag_load_balancers_of_this_cluster() -> None:
    run = pair("aws", "gcp")[0]
    cluster_name = run.one("aws:eks/cluster:Cluster").inputs["name"]
    for statement in _statements(run):
        tagging = {"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"} & set(
            _as_list(statement["Action"])
        )
        on_balancers = [
            r for r in _as_list(statement["Resource"]) if ":loadbalancer/" in r or ":targetgroup/" in r
        ]
        if tagging and on_balancers:
            assert cluster_name in json.dumps(statement["Condition"])
