"""The inference cluster and workload on a site's existing cluster (cloud: onprem), under mocks."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from components.inference_cluster import KUBERNETES_VERSION, InferenceClusterArgsError
from components.inference_cluster.edge_proxy import EDGE_PROXY_IMAGE
from components.inference_cluster.onprem import METALLB_ADDRESS_ANNOTATION
from components.inference_cluster.onprem_workload import relocate
from infra.config import ConfigError
from infra.onprem import OnpremNotReadyError, distinct_site, missing_parts
from infra.program import build
from offline.harness import ProgramError, ProgramRun, run_stack
from tests.components.inference_cluster_support import (
    container,
    k8s_object,
    kubernetes_objects,
    manifest,
    pod_spec,
)
from tests.components.onprem_support import STORE, site_run
from tests.support import SITE_IMAGE, SITE_REGISTRY, pair_secrets, primary_overrides, standby_overrides


def test_nothing_is_created_in_the_cluster_beyond_the_workload() -> None:
    run = site_run()
    custom = {r.type for r in run.resources if r.custom}
    # No cloud cluster, node pool, static address or cloud identity: the cluster exists.
    cloud_compute = ("aws:eks/", "aws:ec2/", "aws:iam/", "gcp:container/", "gcp:compute/", "azure-native:")
    assert not [t for t in custom if t.startswith(cloud_compute)], custom
    assert {r.name for r in run.of_type("pulumi:providers:kubernetes")} == {"onprem-own"}
    cluster = run.one("inference-failover:inference_cluster:OnpremInferenceCluster")
    assert run.children_of(cluster.urn) == []


def test_kubernetes_provider_comes_from_the_configured_kubeconfig_and_context() -> None:
    provider = site_run().one("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "fra-dc1"
    assert provider.inputs["kubeconfig"].endswith("tests/data/onprem-kubeconfig.yaml")
    assert provider.inputs["enableServerSideApply"] in (True, "true")
    objects = kubernetes_objects(site_run())
    assert objects and all(r.provider.startswith(provider.urn) for r in objects)


def test_secret_kubeconfig_goes_to_the_provider_as_a_secret() -> None:
    text = Path(primary_overrides("onprem")["kubeconfigPath"]).read_text()
    secrets = {**pair_secrets("onprem", "aws"), "kubeconfig": text}
    overrides = {**primary_overrides("onprem", "aws"), "kubeconfigPath": None, "kubeContext": None}
    run = run_stack("primary", overrides, secrets)
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == text and "kubeconfig" in provider.secret_inputs


def test_outputs_describe_the_site() -> None:
    out = site_run().outputs
    assert out["clusterName"] == "fra-dc1"
    assert out["gpuPoolNames"] == ["nvidia.com/gpu.present=true"]
    assert out["workloadIdentity"] == "system:serviceaccount:inference:inference-server"
    assert out["endpointHost"] == "203.0.113.10" and out["endpointAddresses"] == ["203.0.113.10"]
    assert out["servingImage"].startswith("registry.site.internal:5000/vllm/vllm-openai")


def test_pods_land_on_the_configured_gpu_nodes_with_the_configured_resource() -> None:
    run = site_run(
        (("gpuResourceName", "nvidia.com/mig-3g.40gb"), ("gpuTaint", "dedicated=inference:NoExecute"))
    )
    spec = pod_spec(run)
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "inference", "effect": "NoExecute"}
    ]
    server = container(run, "server")
    assert server["resources"]["limits"] == {"nvidia.com/mig-3g.40gb": "1"}
    assert server["resources"]["requests"]["nvidia.com/mig-3g.40gb"] == "1"
    assert "nvidia.com/gpu" not in server["resources"]["requests"]


def test_untainted_gpu_nodes_need_no_toleration() -> None:
    assert pod_spec(site_run((("gpuTaint", None),))).get("tolerations") in (None, [])


def test_warm_and_full_capacity_are_replica_counts_on_existing_nodes() -> None:
    full = k8s_object(site_run(), "Deployment")["spec"]["replicas"]
    warm = k8s_object(site_run((("capacity", "warm"),)), "Deployment")["spec"]["replicas"]
    assert (full, warm) == (2, 1)


def test_load_balancer_address_asks_metallb_for_the_static_address() -> None:
    service = k8s_object(site_run(), "Service")
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["metadata"]["annotations"][METALLB_ADDRESS_ANNOTATION] == "203.0.113.10"
    # Not the deprecated forms (metallb.universe.tf/*, spec.loadBalancerIP).
    assert "loadBalancerIP" not in service["spec"]
    assert not [a for a in service["metadata"]["annotations"] if a.startswith("metallb.universe.tf/")]
    assert [p["port"] for p in service["spec"]["ports"]] == [443]


def test_external_ip_exposure_is_a_cluster_ip_service_on_the_address() -> None:
    run = site_run((("exposure", "externalIp"),))
    service = k8s_object(run, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["externalIPs"] == ["203.0.113.10"]
    assert METALLB_ADDRESS_ANNOTATION not in (service["metadata"].get("annotations") or {})
    assert run.outputs["endpointHost"] == "203.0.113.10"


def test_every_image_comes_from_the_site_registry_by_digest() -> None:
    run = site_run()
    spec = pod_spec(run)
    images = [c["image"] for c in spec["containers"] + spec["initContainers"]]
    assert all(i.startswith(f"{SITE_REGISTRY}/") and "@sha256:" in i for i in images), images
    assert container(run, "edge")["image"] == relocate(EDGE_PROXY_IMAGE, SITE_REGISTRY)
    assert container(run, "edge")["image"].split("@")[1] == EDGE_PROXY_IMAGE.split("@")[1]
    assert container(run, "fetch-model")["image"] == SITE_IMAGE  # the init container needs no CLI image


def test_relocate_keeps_path_and_digest() -> None:
    digest = "@sha256:" + "a" * 64
    assert (
        relocate(f"docker.io/nginxinc/nginx:1{digest}", "r.site:5000")
        == f"r.site:5000/nginxinc/nginx:1{digest}"
    )
    assert relocate(f"vllm/vllm-openai:v1{digest}", "r.site") == f"r.site/vllm/vllm-openai:v1{digest}"


def test_no_cloud_identity_or_cloud_cli_on_a_site() -> None:
    run = site_run()
    script = container(run, "fetch-model")["args"][0]
    assert not [cli for cli in ("aws ", "gcloud ", "az ") if cli in script]
    assert pod_spec(run)["automountServiceAccountToken"] is False
    account = k8s_object(run, "ServiceAccount")
    assert not (account["metadata"].get("annotations") or {})  # the service account is the identity


def test_server_streams_the_model_from_the_site_store_path_style() -> None:
    server = container(site_run(), "server")
    env = {e["name"]: e.get("value") for e in server["env"]}
    assert env["AWS_ENDPOINT_URL"] == STORE and env["RUNAI_STREAMER_S3_USE_VIRTUAL_ADDRESSING"] == "0"
    assert env["HF_HUB_OFFLINE"] == "1" and env["AWS_EC2_METADATA_DISABLED"] == "true"
    script = server["args"][0]
    assert (
        "s3://primary-models-fra-dc1/models/llama-3.1-8b-instruct/" in script
        and "--load-format runai_streamer" in script
    )
    assert script.index("AWS_ACCESS_KEY_ID") < script.index("exec vllm")


def test_network_policy_admits_the_site_store_and_vault_ports_only() -> None:
    policy = k8s_object(site_run(), "NetworkPolicy")
    rules = policy["spec"]["egress"]
    site_rule = rules[1]
    assert sorted(p["port"] for p in site_rule["ports"]) == [8200, 8333]
    assert site_rule["to"][0]["ipBlock"] == {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16", "127.0.0.0/8"]}
    assert rules[0]["ports"][0]["port"] == 53
    # The vault reader's own rule (vault_secrets.vault_egress): its port, to its address if an IP.
    assert [p["port"] for p in rules[2]["ports"]] == [8200] and len(rules) == 3


@pytest.mark.parametrize("extra", [(), (("exposure", "externalIp"), ("gpuTaint", None))])
def test_every_site_object_validates_against_the_kubernetes_schema(extra: tuple) -> None:
    run = site_run(extra)
    kinds = set()
    for resource in kubernetes_objects(run):
        body = manifest(resource)
        kinds.add(body["kind"])
        kubernetes_validate.validate(json.loads(json.dumps(body)), KUBERNETES_VERSION, strict=True)
    assert {
        "Namespace",
        "ServiceAccount",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
    } <= kinds


def test_cluster_args_refuse_a_site_without_its_description() -> None:
    from components.common import Placement
    from components.inference_cluster import InferenceClusterArgs

    class _P:  # any provider object; validation runs before it is used
        pass

    with pytest.raises(InferenceClusterArgsError, match="onprem is required on onprem"):
        InferenceClusterArgs(
            placement=Placement(cloud="onprem", region="fra-dc1", provider=_P(), stack="primary"),  # type: ignore[arg-type]
            gpu_type="l40s",
            gpu_machine_type="onprem:l40s",
            gpu_accelerator=None,
            gpus_per_node=1,
            gpu_node_count=1,
            gpu_max_node_count=1,
        )


# --- Program ------------------------------------------------------------------------------------


def test_program_refuses_missing_onprem_parts_before_creating_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        "infra.onprem.importlib.util.find_spec",
        lambda name: None if name == "components.audit.onprem" else real(name),
    )
    caught: list[Exception] = []

    def program(cfg, secrets):  # type: ignore[no-untyped-def]
        try:
            return build(cfg, secrets)
        except OnpremNotReadyError as exc:
            caught.append(exc)
            return {}

    overrides = primary_overrides("onprem", "aws")
    run: ProgramRun = run_stack("primary", overrides, pair_secrets("onprem", "aws"), program=program)
    assert missing_parts(run.config) == [
        "the write-once audit store on the site's S3-compatible store (components/audit/onprem.py)"
    ]
    assert run.resources == []
    (error,) = caught
    assert "not complete yet" in str(error) and "Nothing was created" in str(error)


def test_standby_site_must_differ_from_the_primary_site() -> None:
    import pulumi

    def program(cfg, secrets):  # type: ignore[no-untyped-def]
        return {"region": distinct_site(cfg, pulumi.StackReference(cfg.primary_stack))}

    overrides = {**standby_overrides("onprem", "onprem"), "region": "fra-dc1", "kubeContext": "fra-dc1"}
    ref = "acme/inference-failover/primary"
    with pytest.raises(ProgramError, match="must name another site than the primary's"):
        run_stack(
            "standby",
            overrides,
            pair_secrets("onprem", "onprem"),
            stack_outputs={ref: {"region": "fra-dc1"}},
            program=program,
        )
    run = run_stack(
        "standby",
        standby_overrides("onprem", "onprem"),
        pair_secrets("onprem", "onprem"),
        stack_outputs={ref: {"region": "fra-dc1"}},
        program=program,
    )
    assert run.outputs["region"] == "ams-dc2"


def test_config_errors_still_come_first_on_a_site() -> None:
    with pytest.raises(ConfigError):
        run_stack(
            "primary", {**primary_overrides("onprem", "aws"), "gpuTaint": "x"}, pair_secrets("onprem", "aws")
        )
