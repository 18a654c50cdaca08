"""The real program on a site (cloud: onprem) paired with every cloud and another site, in both
roles, with every cloud DNS authority and the self-hosted one (PowerDNS), under mocks."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from components.inference_cluster import KUBERNETES_VERSION
from infra import outputs
from offline.harness import ProgramRun
from tests.components.inference_cluster_support import (
    container,
    k8s_object,
    kubernetes_objects,
    manifest,
    pod_spec,
)
from tests.support import (
    ONPREM_COMBINATION_IDS,
    ONPREM_COMBINATIONS,
    ONPREM_PAIR_IDS,
    ONPREM_PAIRS,
    SITE_REGISTRY,
    SITES,
    combination,
    pair,
)

CLOUD_PACKAGES = ("aws", "gcp", "azure-native")


def _images(value: Any, images: set[str], registries: set[str]) -> None:
    """Container images (strings) and Helm values' image registries anywhere in `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "image" and isinstance(item, str):
                images.add(item)
            elif key == "image" and isinstance(item, dict):
                registries.add(str(item.get("registry")))
            else:
                _images(item, images, registries)
    elif isinstance(value, list):
        for item in value:
            _images(item, images, registries)


def _sites(runs: tuple[ProgramRun, ProgramRun]) -> list[ProgramRun]:
    return [run for run in runs if run.config.cloud == "onprem"]


@pytest.mark.parametrize(("primary", "standby", "authority"), ONPREM_COMBINATIONS, ids=ONPREM_COMBINATION_IDS)
def test_every_pair_with_a_site_plans_in_both_roles_with_every_authority(
    primary: str, standby: str, authority: str
) -> None:
    runs = combination(primary, standby, authority)
    for run, role in zip(runs, ("primary", "standby"), strict=True):
        assert (run.config.role, run.outputs[outputs.ROLE]) == (role, role)
        assert run.outputs[outputs.CLOUD] == run.config.cloud
        assert run.outputs[outputs.DNS]  # the record at the authority
    for run in _sites(runs):
        address = SITES[run.config.role][1]
        assert run.outputs[outputs.ENDPOINT_ADDRESSES] == [address]
        assert run.outputs[outputs.REGION] == SITES[run.config.role][0]
        assert run.one("inference-failover:inference_cluster:OnpremInferenceCluster")
        # Nothing on a cloud but what the DNS authority (and, for a standby, the cloud primary's
        # read grants) need: no cluster, bucket or vault of a cloud.
        clouds = {r.type.split(":")[0] for r in run.resources if r.custom} & set(CLOUD_PACKAGES)
        allowed = {authority if authority != "azure" else "azure-native"}
        if run.config.is_standby and run.config.primary_cloud in ("aws", "gcp", "azure"):
            allowed.add(run.config.primary_cloud if run.config.primary_cloud != "azure" else "azure-native")
        # The site's S3-compatible store is driven through the aws provider pointed at its endpoint.
        allowed.add("aws")
        assert clouds <= allowed, clouds
    standby = runs[1]
    assert standby.outputs[outputs.REPLICATION]["source"]["cloud"] == primary


def test_two_sites_with_powerdns_touch_no_cloud_api() -> None:
    for run in combination("onprem", "onprem", "powerdns"):
        providers = {r.type for r in run.resources if r.type.startswith("pulumi:providers:")}
        # aws only as the S3 client of the site store (endpoint, path-style, no STS / account id).
        assert not [p for p in providers if p.endswith((":gcp", ":azure-native"))], providers
        for provider in run.of_type("pulumi:providers:aws"):
            assert provider.inputs["skipCredentialsValidation"] in (True, "true")
            endpoints = provider.inputs["endpoints"]  # provider inputs travel as JSON strings
            endpoints = json.loads(endpoints) if isinstance(endpoints, str) else endpoints
            assert endpoints[0]["s3"].startswith("https://s3.")


@pytest.mark.parametrize(("primary", "standby"), ONPREM_PAIRS, ids=ONPREM_PAIR_IDS)
def test_every_image_a_site_runs_comes_from_its_registry_by_digest(primary: str, standby: str) -> None:
    for run in _sites(pair(primary, standby)):
        images: set[str] = set()
        registries: set[str] = set()
        for resource in run.resources:
            if resource.type.startswith("kubernetes:"):
                _images(resource.inputs, images, registries)
        assert images and all(i.startswith(f"{SITE_REGISTRY}/") and "@sha256:" in i for i in images), images
        assert registries <= {SITE_REGISTRY}, registries


@pytest.mark.parametrize(("primary", "standby"), ONPREM_PAIRS, ids=ONPREM_PAIR_IDS)
def test_site_workload_streams_the_model_with_the_read_key_from_its_vault_path(
    primary: str, standby: str
) -> None:
    for run in _sites(pair(primary, standby)):
        site = run.config.region
        # The read-only key is read where the operator keeps it (no copy in the stack's path), and
        # the workload's policy grants exactly that path besides its own secrets.
        names = {r.inputs["name"] for r in run.of_type("vault:kv/secretV2:SecretV2")}
        assert f"{run.stack}/apiKey" in names and not [n for n in names if "s3" in n.lower()]
        (read_policy,) = [
            p for p in run.of_type("vault:index/policy:Policy") if p.name.endswith("-read-policy")
        ]
        assert f'path "inference-failover/data/s3/{site}/reader"' in read_policy.inputs["policy"]
        server = container(run, "server")
        env = {e["name"]: e.get("value") for e in server["env"]}
        assert env["AWS_ENDPOINT_URL"] == f"https://s3.{site}.internal:8333"
        assert "--load-format runai_streamer" in server["args"][0]
        assert server["args"][0].index("AWS_ACCESS_KEY_ID") < server["args"][0].index("exec vllm")
        script = container(run, "read-secrets")["args"][0]
        assert f"https://openbao.{site}.internal:8200" in script
        assert f"-field=access_key_id s3/{site}/reader > /run/secrets/inference/s3AccessKeyId" in script
        assert (
            f"-field=secret_access_key s3/{site}/reader > /run/secrets/inference/s3SecretAccessKey" in script
        )
        assert pod_spec(run)["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        policy = k8s_object(run, "NetworkPolicy")
        assert sorted(p["port"] for p in policy["spec"]["egress"][1]["ports"]) == [8200, 8333]


def test_every_object_a_site_creates_validates_against_the_kubernetes_schema() -> None:
    seen: set[str] = set()
    for primary, standby in ONPREM_PAIRS:
        for run in _sites(pair(primary, standby)):
            for resource in kubernetes_objects(run):
                if str(resource.inputs.get("apiVersion", "")).startswith("cert-manager.io/"):
                    continue  # validated against the pinned CRDs in test_internal_ca.py
                body = json.dumps(manifest(resource), sort_keys=True)
                if body in seen:
                    continue
                seen.add(body)
                kubernetes_validate.validate(json.loads(body), KUBERNETES_VERSION, strict=True)
    kinds = {json.loads(b)["kind"] for b in seen}
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "CronJob"} <= kinds


def test_replication_into_a_site_trusts_the_sites_service_account_issuer() -> None:
    _, standby = pair("onprem", "onprem")
    (backend,) = standby.of_type("vault:jwt/authBackend:AuthBackend")
    assert standby.config.s3_store is not None
    issuer = standby.config.s3_store.service_account_issuer
    assert backend.inputs["boundIssuer"] == issuer == "https://k8s.ams-dc2.example.com"
    assert standby.outputs[outputs.CLUSTER_NAME] == "ams-dc2"
    # The primary site's vault, reached by its own provider (address from the primary's outputs,
    # token from PRIMARY_VAULT_TOKEN_FILE: the standby site's VAULT_TOKEN is for its own vault).
    (peer,) = [p for p in standby.of_type("pulumi:providers:vault") if p.name == "primary-vault"]
    assert peer.inputs["address"] == "https://openbao.fra-dc1.internal:8200"
    assert backend.provider.startswith(peer.urn)


def test_cert_manager_chart_comes_from_the_site_registry() -> None:
    run = pair("onprem", "aws")[0]
    (release,) = run.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["chart"] == f"oci://{SITE_REGISTRY}/jetstack/charts/cert-manager"
    assert not release.inputs.get("repositoryOpts")
    # The cloud side keeps the public chart repository.
    (cloud_release,) = [
        r
        for r in pair("onprem", "aws")[1].of_type("kubernetes:helm.sh/v3:Release")
        if r.name.endswith("cert-manager")
    ]
    assert cloud_release.inputs["repositoryOpts"]["repo"] == "https://charts.jetstack.io"


def test_an_air_gapped_pair_of_sites_plans_with_nothing_from_the_internet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from offline.harness import run_pair
    from tests.support import (
        AUTHORITY_OVERRIDES,
        PRIMARY_VAULT_TOKEN,
        TEST_SECRETS,
        primary_overrides,
        standby_overrides,
    )

    gapped = {**AUTHORITY_OVERRIDES["powerdns"], "tlsCertificate": "internal-ca", "airGapped": True}
    monkeypatch.setenv("PRIMARY_VAULT_TOKEN_FILE", PRIMARY_VAULT_TOKEN)
    runs = run_pair(
        {**primary_overrides("onprem", "onprem"), **gapped},
        {**standby_overrides("onprem", "onprem"), **gapped},
        {**TEST_SECRETS, "powerdnsApiKey": "test-powerdns-api-key"},
    )
    for run in runs:
        assert run.config.onprem is not None and run.config.onprem.air_gapped
        urls = json.dumps([r.inputs for r in run.resources])
        for public in (
            "charts.jetstack.io",
            "docker.io",
            "quay.io",
            "nvcr.io",
            "letsencrypt",
            "amazonaws.com",
        ):
            assert public not in urls, public
        images: set[str] = set()
        registries: set[str] = set()
        for resource in run.resources:
            if resource.type.startswith("kubernetes:"):
                _images(resource.inputs, images, registries)
        assert all(i.startswith(f"{SITE_REGISTRY}/") for i in images) and registries <= {SITE_REGISTRY}


def test_inventory_names_the_site_vault_and_the_self_hosted_authority(tmp_path: Any) -> None:
    from cutover.inventory import rows
    from tests.infra.test_check import edit, project
    from tests.support import AUTHORITY_OVERRIDES, primary_overrides, standby_overrides

    root = project(tmp_path)
    # The API key sits in the file as `secure:` ciphertext, as `pulumi config set --secret` leaves it.
    powerdns = {
        **AUTHORITY_OVERRIDES["powerdns"],
        "tlsCertificate": "internal-ca",
        "powerdnsApiKey": {"secure": "v1:ciphertext"},
    }
    edit(root, "primary", **{**primary_overrides("onprem", "onprem"), **powerdns})
    edit(root, "standby", **{**standby_overrides("onprem", "onprem"), **powerdns})
    stacks = {"primary": "acme/inference-failover/primary", "standby": "acme/inference-failover/standby"}
    found = rows(root, stacks, {}, {})
    assert [(r["cloud"], r["region"]) for r in found] == [("onprem", "fra-dc1"), ("onprem", "ams-dc2")]
    assert found[0]["secrets_backend"].startswith("OpenBao / HashiCorp Vault on the site")
    assert found[0]["dns_authority"].startswith("PowerDNS")


def test_a_site_keeps_its_write_once_audit_store_on_its_own_store() -> None:
    run = pair("onprem", "aws")[0]
    audit = run.outputs[outputs.AUDIT_STORE]
    assert (audit["cloud"], audit["bucket"], audit["lock"]) == (
        "onprem",
        "primary-audit-fra-dc1",
        "s3-object-lock-compliance",
    )
    assert (
        audit["endpoint"]
        == run.outputs[outputs.MODEL_STORE]["endpoint"]
        == "https://s3.fra-dc1.internal:8333"
    )
    (bucket,) = [b for b in run.of_type("minio:index/s3Bucket:S3Bucket") if b.name.endswith("-audit")]
    assert bucket.inputs["objectLocking"] is True and bucket.protect


@pytest.mark.parametrize(("primary", "standby"), ONPREM_PAIRS, ids=ONPREM_PAIR_IDS)
def test_every_planned_resource_of_a_pair_with_a_site_passes_the_policy_pack(
    primary: str, standby: str
) -> None:
    from policy.rules import violations
    from tests.policy.test_policy import planned

    found = [
        f"{run.stack}: {rule}: {resource.type} {resource.name}: {message}"
        for run in pair(primary, standby)
        for rule, resource, message in violations(planned(run))
    ]
    # Known and left to the policy's owner: a site store's buckets (model and audit) are encrypted
    # with SSE-S3, the store's own key (SSE-KMS there needs the store's KMS: Ceph + Vault transit,
    # MinIO KES), and customer-managed-keys, a per-resource rule, cannot tell them from AWS buckets.
    site_sse = [
        f
        for f in found
        if "customer-managed-keys" in f
        and "S3 default encryption is not SSE-KMS" in f
        and f.endswith(
            (
                "-models-encryption: S3 default encryption is not SSE-KMS",
                "-audit-encryption: S3 default encryption is not SSE-KMS",
            )
        )
    ]
    assert [f for f in found if f not in site_sse] == []
    sites = sum(run.config.cloud == "onprem" for run in pair(primary, standby))
    assert len(site_sse) == 2 * sites
