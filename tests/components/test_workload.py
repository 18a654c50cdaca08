"""The inference workload's Kubernetes objects, from the real program on the shipped stack files."""

from __future__ import annotations

import ipaddress
import json
from functools import cache

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from components.inference_cluster import KUBERNETES_VERSION, NAMESPACE, POOL_LABEL, SERVICE_ACCOUNT
from components.inference_cluster.args import GPU_POOL, GPU_TAINT_KEY, InferenceClusterArgsError
from components.inference_cluster.edge_proxy import key_digest
from components.inference_cluster.workload import MODEL_ROOT, SECRETS_DIR, parse_model_uri
from infra import outputs
from infra.config import ConfigError
from offline.harness import run_stack
from tests.components.inference_cluster_support import (
    STACK_IDS,
    STACKS,
    all_runs,
    container,
    k8s_object,
    kubernetes_objects,
    manifest,
    pod_spec,
    stack_run,
    warm_variant,
)
from tests.support import CLOUDS, PAIR_IDS, PAIRS, primary_overrides

STARTUP_BUDGET_SECONDS = 30 * 60
SUBJECT = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"


def _env(c: dict) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in c.get("env", [])}


@cache
def _validated_manifests() -> dict[str, str]:
    """Every Kubernetes object of every pair, deduplicated, mapped to its validation error (or '')."""
    results: dict[str, str] = {}
    for run in [*all_runs(), *(warm_variant(cloud) for cloud in CLOUDS)]:
        for resource in kubernetes_objects(run):
            # The Helm release is not an object; cert-manager's custom resources are validated
            # against the pinned chart's CRD schemas in test_cert_manager.py.
            if resource.type.startswith("kubernetes:helm.sh/") or str(
                resource.inputs.get("apiVersion", "")
            ).startswith("cert-manager.io/"):
                continue
            body = json.dumps(manifest(resource), sort_keys=True)
            if body in results:
                continue
            try:
                kubernetes_validate.validate(json.loads(body), KUBERNETES_VERSION, strict=True)
                results[body] = ""
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                results[body] = f"{resource.type} {resource.name}: {path}: {exc.message}"
    return results


def test_every_kubernetes_object_validates_against_the_kubernetes_schema() -> None:
    results = _validated_manifests()
    kinds = {json.loads(body)["kind"] for body in results}
    # The whole workload is there (plus whatever else the stacks run in the cluster).
    assert {
        "Namespace",
        "ServiceAccount",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
    } <= kinds
    assert "DaemonSet" in kinds  # the NVIDIA device plugin on EKS and AKS
    assert [error for error in results.values() if error] == []


def test_schema_validation_rejects_an_unknown_field() -> None:
    # Guards the test above: strict validation does fail on a misspelt field.
    deployment = next(json.loads(body) for body in _validated_manifests() if '"kind": "Deployment"' in body)
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_server_runs_the_pinned_image_on_whole_gpu_nodes(primary: str, standby: str, role: str) -> None:
    run = stack_run(primary, standby, role)
    server = container(run, "server")
    # The configured digest, from the stack's own registry (tests/components/test_image_registry.py).
    assert server["image"] == run.outputs[outputs.SERVING_IMAGE]
    assert server["image"].endswith(run.config.serving_image.split("@", 1)[1])
    gpus = str(run.config.gpu.gpus_per_node)
    assert server["resources"]["limits"]["nvidia.com/gpu"] == gpus
    assert server["resources"]["requests"]["nvidia.com/gpu"] == gpus
    spec = pod_spec(run)
    assert spec["nodeSelector"] == {POOL_LABEL: GPU_POOL}
    assert {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert f"--tensor-parallel-size {run.config.serving.tensor_parallel_size}" in server["args"][0]  # type: ignore[union-attr]


def test_gpus_per_node_sets_the_gpu_limit_and_tensor_parallelism() -> None:
    run = warm_variant("gcp")
    assert run.config.gpu.gpus_per_node == 2
    server = container(run, "server")
    assert server["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert "--tensor-parallel-size 2" in server["args"][0]


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_probes_allow_a_slow_model_load_then_watch_health(primary: str, standby: str, role: str) -> None:
    server = container(stack_run(primary, standby, role), "server")
    # The server listens on 127.0.0.1 only: the kubelet probes /health through the edge (TLS).
    assert "ports" not in server
    assert "--host 127.0.0.1" in server["args"][0] and "0.0.0.0" not in server["args"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"] == {"path": "/health", "port": 8443, "scheme": "HTTPS"}
    startup = server["startupProbe"]
    assert startup["failureThreshold"] * startup["periodSeconds"] >= STARTUP_BUDGET_SECONDS
    # Liveness must not kill a healthy server for one slow answer.
    live = server["livenessProbe"]
    assert live["failureThreshold"] * live["periodSeconds"] >= 60


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_rollout_waits_for_the_model_and_never_needs_a_spare_gpu_node(
    primary: str, standby: str, role: str
) -> None:
    run = stack_run(primary, standby, role)
    spec = k8s_object(run, "Deployment")["spec"]
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    startup = container(run, "server")["startupProbe"]
    assert spec["progressDeadlineSeconds"] > startup["failureThreshold"] * startup["periodSeconds"]


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_model_is_read_from_the_stacks_own_bucket_never_a_hub(primary: str, standby: str, role: str) -> None:
    run = stack_run(primary, standby, role)
    model_uri = run.outputs[outputs.MODEL_URI]
    scheme = {"aws": "s3://", "gcp": "gs://", "azure": "https://"}[run.config.cloud]
    assert model_uri.startswith(scheme) and model_uri.endswith(run.config.model_path)
    script = container(run, "fetch-model")["args"][0]
    server = container(run, "server")
    command = server["args"][0]
    assert f"--served-model-name {run.config.model_name}" in command
    assert _env(server)["HF_HUB_OFFLINE"] == "1"
    assert _env(server)["TRANSFORMERS_OFFLINE"] == "1"
    everything = json.dumps([manifest(r) for r in kubernetes_objects(run)]).lower()
    assert "huggingface.co" not in everything and "hf_token" not in everything
    volumes = {v["name"] for v in pod_spec(run)["volumes"]}
    if run.config.cloud in ("aws", "gcp"):
        # Streamed: vLLM reads the safetensors from the bucket; nothing is copied first.
        assert f"vllm serve {model_uri} " in command
        assert "--load-format runai_streamer" in command
        assert model_uri not in script and " sync " not in script and "rsync" not in script
        assert "model" not in volumes
        assert all(m["mountPath"] != MODEL_ROOT for m in server["volumeMounts"])
    else:
        # Azure keeps the copy: the shipped vLLM's streamer has no az:// support.
        account = model_uri.removeprefix("https://").split(".")[0]
        assert f"--account-name {account}" in script and model_uri.split("/", 3)[3] in script
        assert f"vllm serve {MODEL_ROOT}/" in command and "runai_streamer" not in command
        (model_mount,) = [m for m in server["volumeMounts"] if m["mountPath"] == MODEL_ROOT]
        assert model_mount["readOnly"] is True  # the init container is the only writer


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_server_starts_with_the_validated_context_memory_share_and_parallelism(
    primary: str, standby: str, role: str
) -> None:
    run = stack_run(primary, standby, role)
    serving = run.config.serving
    assert serving is not None and serving.estimate.fits
    flags = container(run, "server")["args"][0].split()
    assert flags[flags.index("--max-model-len") + 1] == str(serving.max_model_len)
    assert flags[flags.index("--gpu-memory-utilization") + 1] == f"{serving.gpu_memory_utilization:g}"
    assert flags[flags.index("--tensor-parallel-size") + 1] == str(serving.tensor_parallel_size)


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_secrets_are_read_with_the_workload_identity_into_memory(
    primary: str, standby: str, role: str
) -> None:
    run = stack_run(primary, standby, role)
    refs = run.outputs[outputs.SECRET_IDS]
    script = container(run, "fetch-model")["args"][0]
    assert "apiKey" in refs  # the vault holds the key ...
    for name, ref in refs.items():
        if name in ("apiKey", "apiKeyNext"):
            # ... but no pod copies it: the edge checks digests, the server needs none.
            assert f"{SECRETS_DIR}/{name}" not in script
            continue
        assert ref in script or ref.split("/")[-1] in script
        assert f"{SECRETS_DIR}/{name}" in script
    (volume,) = [v for v in pod_spec(run)["volumes"] if v["name"] == "secrets"]
    assert volume["emptyDir"]["medium"] == "Memory"
    server = container(run, "server")
    assert "apiKey" not in server["args"][0] and "VLLM_API_KEY" not in server["args"][0]
    # The key never sits in any object; the edge's Secret holds only its SHA-256 digest.
    everything = json.dumps([manifest(r) for r in kubernetes_objects(run)])
    assert "test-api-key-value" not in everything
    keys = k8s_object(run, "Secret", "inference-edge-api-keys")
    assert keys["stringData"] == {"api-key-sha256": key_digest("test-api-key-value") + "\n"}


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_service_account_is_bound_to_the_cloud_identity(primary: str, standby: str, role: str) -> None:
    run = stack_run(primary, standby, role)
    account = k8s_object(run, "ServiceAccount", SERVICE_ACCOUNT)
    assert account["metadata"]["namespace"] == NAMESPACE
    assert account["automountServiceAccountToken"] is False
    spec = pod_spec(run)
    assert spec["serviceAccountName"] == SERVICE_ACCOUNT
    annotations = account["metadata"]["annotations"]
    principal = run.outputs[outputs.WORKLOAD_IDENTITY]
    if run.config.cloud == "aws":
        assert annotations == {"eks.amazonaws.com/role-arn": principal}
        assert principal.startswith("arn:aws:iam::") and ":role/" in principal
    elif run.config.cloud == "gcp":
        assert annotations == {"iam.gke.io/gcp-service-account": principal}
        assert principal.endswith(f"@{run.config.gcp_project}.iam.gserviceaccount.com")
    else:
        (identity,) = [
            r
            for r in run.of_type("azure-native:managedidentity:UserAssignedIdentity")
            if r.outputs["principalId"] == principal
        ]
        assert annotations == {"azure.workload.identity/client-id": identity.outputs["clientId"]}
        pod_labels = k8s_object(run, "Deployment")["spec"]["template"]["metadata"]["labels"]
        assert pod_labels["azure.workload.identity/use"] == "true"


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_endpoint_is_the_load_balancer_on_the_health_check_port(
    primary: str, standby: str, role: str
) -> None:
    run = stack_run(primary, standby, role)
    service = k8s_object(run, "Service")
    assert service["spec"]["type"] == "LoadBalancer"
    # HTTPS alone: no port 80, not even a redirect.
    (port,) = service["spec"]["ports"]
    assert (port["name"], port["port"], port["targetPort"]) == ("https", 443, "https")
    assert port["port"] == run.config.dns.health_check_port
    edge = container(run, "edge")
    # The Service publishes https alone; the metrics port is for the in-cluster collector only.
    assert edge["ports"] == [
        {"name": "https", "containerPort": 8443, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9464, "protocol": "TCP"},
    ]
    # Every cloud: the stack's static IPv4 address (an AWS Elastic IP, not the NLB's host name).
    host = run.outputs[outputs.ENDPOINT_HOST]
    ipaddress.IPv4Address(host)
    assert host == run.outputs[outputs.ENDPOINT_ADDRESSES][0]
    assert run.outputs[outputs.ENDPOINT_URL] == f"https://{host}:443"
    selector = service["spec"]["selector"]
    pod_labels = k8s_object(run, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_disruption_budget_never_blocks_node_drains_even_with_one_replica(
    primary: str, standby: str, role: str
) -> None:
    run = stack_run(primary, standby, role)
    replicas = k8s_object(run, "Deployment")["spec"]["replicas"]
    budget = k8s_object(run, "PodDisruptionBudget")["spec"]
    assert "minAvailable" not in budget
    allowed = budget["maxUnavailable"]
    # Evictions the budget allows when every replica is healthy; 0 would block drains forever.
    assert isinstance(allowed, int) and 1 <= allowed <= max(1, replicas - 1)
    assert budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    pod_labels = k8s_object(run, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert budget["selector"]["matchLabels"].items() <= pod_labels.items()


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_network_policy_admits_only_the_server_port_and_dns_https_egress(
    primary: str, standby: str, role: str
) -> None:
    run = stack_run(primary, standby, role)
    policy = k8s_object(run, "NetworkPolicy")["spec"]
    server_port = container(run, "edge")["ports"][0]["containerPort"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert [[p["port"] for p in rule["ports"]] for rule in policy["ingress"]] == [[server_port]]
    egress_ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    allowed = {(53, "UDP"), (53, "TCP"), (443, "TCP")}
    if run.config.cloud == "gcp":
        # Only the node-local GKE metadata server, for Workload Identity tokens.
        metadata = [rule for rule in policy["egress"] if rule["ports"][0]["port"] in (80, 988)]
        assert {peer["ipBlock"]["cidr"] for rule in metadata for peer in rule["to"]} <= {
            "169.254.169.254/32",
            "169.254.169.252/32",
        }
        allowed |= {(80, "TCP"), (988, "TCP")}
    assert egress_ports == allowed
    pod_labels = k8s_object(run, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_pods_meet_the_restricted_pod_security_standard(primary: str, standby: str, role: str) -> None:
    run = stack_run(primary, standby, role)
    namespace = k8s_object(run, "Namespace", NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    spec = pod_spec(run)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    for c in spec["containers"] + spec["initContainers"]:
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert all("hostPath" not in v for v in spec["volumes"])


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_fetch_image_is_the_pinned_cli_of_the_stacks_cloud(primary: str, standby: str) -> None:
    for run, cloud in (
        (stack_run(primary, standby, "primary"), primary),
        (stack_run(primary, standby, "standby"), standby),
    ):
        image = container(run, "fetch-model")["image"]
        assert {"aws": "aws-cli", "gcp": "google-cloud-cli", "azure": "azure-cli"}[cloud] in image
        reference, _, digest = image.partition("@sha256:")
        assert len(digest) == 64 and all(c in "0123456789abcdef" for c in digest), image
        tag = reference.rsplit(":", 1)[1]
        assert tag and tag != "latest" and tag[0].isdigit()


def test_workload_refuses_to_run_without_its_api_key_secret() -> None:
    overrides = {**primary_overrides("aws"), "secretNames": ["hfReadToken"]}
    with pytest.raises(ConfigError) as caught:
        run_stack("primary", overrides, secrets={"hfReadToken": "placeholder", "dockerHubAccessToken": "t"})
    message = str(caught.value)
    # Caught by the config check, before anything is created.
    assert "stack config 'secretNames' must be a list that contains apiKey" in message
    assert "hfReadToken" in message and "add apiKey to secretNames" in message


@pytest.mark.parametrize(
    ("cloud", "uri"),
    [
        ("aws", "gs://primary-models/models/llama/"),
        ("aws", "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"),
        ("gcp", "s3://standby-models/models/llama/"),
        ("azure", "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/"),
        ("gcp", "gs://standby-models/../other/"),
    ],
)
def test_model_uri_must_be_a_bucket_on_the_workloads_own_cloud(cloud: str, uri: str) -> None:
    with pytest.raises(InferenceClusterArgsError) as caught:
        parse_model_uri(cloud, uri)  # type: ignore[arg-type]
    assert repr(uri) in str(caught.value)
    assert "never pulled from a public hub" in str(caught.value)


def test_azure_model_is_served_from_where_the_blob_download_puts_it() -> None:
    source = parse_model_uri(
        "azure", "https://acmemodels.blob.core.windows.net/models/llama-3.1-8b-instruct/"
    )
    assert (source.location, source.container, source.prefix) == (
        "acmemodels",
        "models",
        "llama-3.1-8b-instruct/",
    )
    assert source.local_dir == f"{MODEL_ROOT}/model/llama-3.1-8b-instruct"
    assert parse_model_uri("aws", "s3://b-1/models/x").uri == "s3://b-1/models/x/"


def test_warm_and_full_differ_only_in_replicas_and_pool_size() -> None:
    # The workload itself does not change shape between warm and full: a cutover is a scale-up.
    warm = k8s_object(warm_variant("aws"), "Deployment")["spec"]
    full = k8s_object(stack_run("aws", "gcp", "primary"), "Deployment")["spec"]
    assert (warm["replicas"], full["replicas"]) == (1, stack_run("aws", "gcp", "primary").config.replicas)
    assert warm["strategy"] == full["strategy"]
    assert warm["progressDeadlineSeconds"] == full["progressDeadlineSeconds"]
