"""cert-manager for the edge certificate: pinned chart, CRD-valid objects, keyless DNS-01 trust at
every DNS authority, including when the authority is on another cloud."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components.inference_cluster import cert_manager
from components.inference_cluster.cert_manager_dns import route53_policy
from offline.harness import ProgramRun, Registered
from tests.components.inference_cluster_support import manifest
from tests.components.test_dns import primary_run, scenario, standby_run
from tests.support import CLOUDS, PAIR_IDS, PAIRS, pair

CRD_DIR = Path(__file__).resolve().parents[1] / "data" / f"cert-manager-{cert_manager.CHART_VERSION}"
SUBJECT = "system:serviceaccount:cert-manager:cert-manager"
# Cloud DNS health-checks IPs only: an AWS stack (NLB host name) cannot use it yet.
CLOUD_DNS_PAIRS = [("gcp", "azure"), ("azure", "gcp")]
AZURE_DNS_PAIRS = [("aws", "gcp"), ("gcp", "azure"), ("azure", "aws")]


def _strict(schema: Any) -> Any:
    """The CRD's structural schema with unknown fields rejected (the API server prunes them
    silently, so a misspelt field would otherwise be lost without an error)."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


@cache
def crd_schema(kind: str) -> dict[str, Any]:
    plural = {"Certificate": "certificates", "ClusterIssuer": "clusterissuers"}[kind]
    data = json.loads((CRD_DIR / f"{plural}.json").read_text())
    assert data["kind"] == kind and data["group"] == "cert-manager.io"
    return _strict(data["versions"]["v1"])


def validate(obj: dict[str, Any]) -> None:
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    jsonschema.validate(body, crd_schema(obj["kind"]))


def custom_resources(run: ProgramRun, kind: str) -> list[dict[str, Any]]:
    return [
        manifest(r)
        for r in run.resources
        if r.type == "kubernetes:apiextensions.k8s.io:CustomResource" or r.inputs.get("kind") == kind
        if r.inputs.get("kind") == kind
    ]


def release(run: ProgramRun) -> Registered:
    (found,) = [
        r
        for r in run.resources
        if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs["chart"] == "cert-manager"
    ]
    return found


def all_authority_runs() -> list[ProgramRun]:
    runs: list[ProgramRun] = []
    for p, s in PAIRS:
        runs += list(pair(p, s))
    for authority, pairs in (("gcp", CLOUD_DNS_PAIRS), ("azure", AZURE_DNS_PAIRS)):
        for p, s in pairs:
            sc = scenario(authority, p, s)
            runs += [primary_run(sc), standby_run(sc)]
    return runs


def test_certificate_and_issuer_validate_against_the_pinned_crd_schemas() -> None:
    seen = 0
    for run in all_authority_runs():
        for kind in ("Certificate", "ClusterIssuer"):
            (obj,) = custom_resources(run, kind)
            assert obj["apiVersion"] == cert_manager.API_VERSION
            validate(obj)
            seen += 1
        jsonschema.validate(release(run).inputs["values"], _values_schema())
    assert seen == 2 * 2 * (len(PAIRS) + len(CLOUD_DNS_PAIRS) + len(AZURE_DNS_PAIRS))


def test_crd_validation_rejects_a_misspelt_field_and_a_bad_enum() -> None:
    (certificate,) = custom_resources(pair("aws", "gcp")[0], "Certificate")
    bad = copy.deepcopy(certificate)
    bad["spec"]["dnsName"] = bad["spec"].pop("dnsNames")
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
    bad = copy.deepcopy(certificate)
    bad["spec"]["privateKey"]["algorithm"] = "DSA"
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_each_stack_gets_its_own_certificate_for_the_service_name(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        (certificate,) = custom_resources(run, "Certificate")
        spec = certificate["spec"]
        assert spec["dnsNames"] == [run.config.dns.fqdn] == ["api.example.com"]
        assert certificate["metadata"]["namespace"] == "inference"
        assert spec["secretName"] == "inference-tls"
        assert spec["issuerRef"] == {
            "name": "inference-acme",
            "kind": "ClusterIssuer",
            "group": "cert-manager.io",
        }
        # The proxy mounts exactly that Secret.
        deployment = next(
            manifest(r)
            for r in run.resources
            if r.inputs.get("kind") == "Deployment" and r.inputs["metadata"]["name"] == "inference-server"
        )
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["edge-tls"]["secret"]["secretName"] == "inference-tls"


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_chart_is_the_official_one_at_the_pinned_version(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        inputs = release(run).inputs
        assert inputs["chart"] == "cert-manager"
        assert inputs["version"] == cert_manager.CHART_VERSION == CRD_DIR.name.removeprefix("cert-manager-")
        assert inputs["repositoryOpts"]["repo"] == "https://charts.jetstack.io"
        assert inputs["values"]["crds"] == {"enabled": True, "keep": True}
        # Every image the chart starts is pinned by digest.
        values = inputs["values"]
        for digest in (
            values["image"]["digest"],
            *(values[part]["image"]["digest"] for part in ("webhook", "cainjector", "startupapicheck")),
        ):
            assert digest.startswith("sha256:") and len(digest) == 71


def _issuer_solver(run: ProgramRun) -> dict[str, Any]:
    (issuer,) = custom_resources(run, "ClusterIssuer")
    acme = issuer["spec"]["acme"]
    assert acme["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    (solver,) = acme["solvers"]
    assert solver["selector"] == {"dnsZones": ["example.com"]}
    return dict(solver["dns01"])


def _env(run: ProgramRun) -> dict[str, str]:
    return {e["name"]: e["value"] for e in release(run).inputs["values"]["extraEnv"]}


def _audience(run: ProgramRun) -> str:
    (volume,) = [v for v in release(run).inputs["values"]["volumes"] if v["name"] == "dns01-token"]
    return str(volume["projected"]["sources"][0]["serviceAccountToken"]["audience"])


@pytest.mark.parametrize("cloud", CLOUDS)
def test_route53_dns01_is_a_role_trusting_this_clusters_issuer_for_cert_manager_only(cloud: str) -> None:
    primary, standby = pair(cloud, "gcp" if cloud != "gcp" else "azure")
    for run in (primary, standby):
        solver = _issuer_solver(run)
        assert set(solver) == {"route53"}
        assert solver["route53"]["hostedZoneID"]
        roles = [r for r in run.resources if r.type == "aws:iam/role:Role" and r.name.endswith("-dns01")]
        (role,) = roles
        trust = json.loads(role.inputs["assumeRolePolicy"])
        (statement,) = trust["Statement"]
        (condition,) = statement["Condition"].values()
        subs = [v for k, v in condition.items() if k.endswith(":sub")]
        assert subs == [SUBJECT]
        env = _env(run)
        assert env["AWS_ROLE_ARN"] == role.outputs["arn"]
        assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "/var/run/secrets/dns01/token"
        assert _audience(run) == "sts.amazonaws.com"
        # IAM allows one OIDC provider per issuer URL: never a second one for the same cluster.
        urls = [
            r.inputs["url"]
            for r in run.resources
            if r.type == "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
        ]
        assert len(urls) == len(set(urls))


def test_route53_policy_allows_only_acme_txt_records_in_the_one_zone() -> None:
    policy = json.loads(route53_policy("Z123"))
    actions = {s["Sid"]: s["Action"] for s in policy["Statement"]}
    assert actions == {
        "ChallengeRecords": "route53:ChangeResourceRecordSets",
        "ReadZone": "route53:ListResourceRecordSets",
        "ChangeStatus": "route53:GetChange",
    }
    change = policy["Statement"][0]
    assert change["Resource"] == "arn:aws:route53:::hostedzone/Z123"
    assert change["Condition"]["ForAllValues:StringEquals"] == {
        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]
    }
    assert all(s["Action"] != "*" and not s["Action"].endswith(":*") for s in policy["Statement"])


@pytest.mark.parametrize(("primary", "standby"), CLOUD_DNS_PAIRS)
def test_cloud_dns_dns01_federates_the_cluster_issuer_into_a_pool_bound_to_the_zone(
    primary: str, standby: str
) -> None:
    sc = scenario("gcp", primary, standby)
    for run in (primary_run(sc), standby_run(sc)):
        solver = _issuer_solver(run)
        assert solver == {"cloudDNS": {"project": "acme-inference-standby", "hostedZoneName": "example-com"}}
        (provider,) = [
            r
            for r in run.resources
            if r.type == "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
            and "dns01" in r.name
        ]
        assert provider.inputs["attributeCondition"] == f"assertion.sub == '{SUBJECT}'"
        (binding,) = [
            r for r in run.resources if r.type == "gcp:dns/dnsManagedZoneIamMember:DnsManagedZoneIamMember"
        ]
        assert binding.inputs["managedZone"] == "example-com"
        assert binding.inputs["role"] == "roles/dns.admin"
        assert binding.inputs["member"].endswith(f"/subject/{SUBJECT}")
        env = _env(run)
        assert env == {"GOOGLE_APPLICATION_CREDENTIALS": "/etc/dns01/gcp-credentials.json"}
        (config_map,) = [
            manifest(r)
            for r in run.resources
            if r.inputs.get("kind") == "ConfigMap" and r.inputs["metadata"]["name"] == "dns01-credentials"
        ]
        credentials = json.loads(config_map["data"]["gcp-credentials.json"])
        assert credentials["type"] == "external_account"
        assert credentials["credential_source"]["file"] == "/var/run/secrets/dns01/token"
        assert _audience(run) == "https:" + credentials["audience"]  # the provider's default audience


@pytest.mark.parametrize(("primary", "standby"), AZURE_DNS_PAIRS)
def test_azure_dns_dns01_is_a_federated_identity_with_dns_zone_contributor_on_the_zone(
    primary: str, standby: str
) -> None:
    sc = scenario("azure", primary, standby)
    for run in (primary_run(sc), standby_run(sc)):
        solver = _issuer_solver(run)["azureDNS"]
        assert solver["resourceGroupName"] == "dns-rg" and solver["hostedZoneName"] == "example.com"
        (credential,) = [
            r
            for r in run.resources
            if r.type == "azure-native:managedidentity:FederatedIdentityCredential" and "dns01" in r.name
        ]
        assert credential.inputs["subject"] == SUBJECT
        assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
        (assignment,) = [
            r
            for r in run.resources
            if r.type == "azure-native:authorization:RoleAssignment" and "dns01" in r.name
        ]
        assert assignment.inputs["scope"].endswith(
            "/resourceGroups/dns-rg/providers/Microsoft.Network/dnsZones/example.com"
        )
        assert assignment.inputs["roleDefinitionId"].endswith("befefa01-2a29-4197-83a8-272ff33ce314")
        env = _env(run)
        assert env["AZURE_FEDERATED_TOKEN_FILE"] == "/var/run/secrets/dns01/token"
        assert env["AZURE_CLIENT_ID"] == solver["managedIdentity"]["clientID"]
        assert _audience(run) == "api://AzureADTokenExchange"


def test_trust_uses_the_issuer_of_the_cluster_cert_manager_runs_in() -> None:
    # A GKE standby answering DNS-01 in Route 53: the AWS trust names the GKE issuer.
    standby = pair("aws", "gcp")[1]
    (role,) = [r for r in standby.resources if r.type == "aws:iam/role:Role" and r.name.endswith("-dns01")]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    (condition,) = statement["Condition"].values()
    assert any(k.startswith("container.googleapis.com/v1/projects/") for k in condition)


@pytest.mark.parametrize(
    ("authority", "primary", "standby"), [("aws", "gcp", "azure"), ("azure", "aws", "gcp")]
)
def test_dns01_trust_lives_under_cert_manager_on_the_authoritys_provider(
    authority: str, primary: str, standby: str
) -> None:
    run = primary_run(scenario(authority, primary, standby))
    (component,) = [r for r in run.resources if r.type == "inference-failover:inference_cluster:CertManager"]
    trust = [
        r for r in run.resources if "dns01" in r.name and r.custom and not r.type.startswith("kubernetes:")
    ]
    assert trust
    provider_type = {"aws": "pulumi:providers:aws", "azure": "pulumi:providers:azure-native"}[authority]
    for resource in trust:
        assert resource.parent == component.urn
        assert f"${provider_type}::" in resource.provider


def _values_schema() -> dict[str, Any]:
    # The chart's own values.schema.json (Helm applies it on install; unknown keys fail there).
    return dict(json.loads((CRD_DIR / "values.schema.json").read_text()))


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_chart_values_validate_against_the_charts_values_schema(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        jsonschema.validate(release(run).inputs["values"], _values_schema())


def test_chart_values_schema_rejects_a_misspelt_key() -> None:
    values = copy.deepcopy(release(pair("aws", "gcp")[0]).inputs["values"])
    values["extraEnvs"] = values.pop("extraEnv")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(values, _values_schema())
