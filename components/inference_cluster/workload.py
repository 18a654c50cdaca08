"""The inference workload: an OpenAI-compatible server (vLLM) on the GPU pool, behind the edge.

One pod = one init container that reads the secrets from this stack's vault with the workload
identity, then the server on 127.0.0.1 only, and the edge proxy (edge_proxy.py) that terminates
TLS for the service name on the pod's address, checks the API key and passes only the OpenAI
routes. On AWS and GCP the server streams the weights straight from the stack's bucket (Run:ai
Model Streamer, same identity); on Azure the init container copies the model to the node first
and the server reads that copy. Nothing is pulled from a public model hub: the bucket is the only
source (HF_HUB_OFFLINE=1 makes sure of it).
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from components.common import Cloud, type_token
from components.inference_cluster import cert_manager, edge_proxy, onprem_workload, vault_secrets
from components.inference_cluster.args import (
    MODULE,
    GpuScheduling,
    InferenceClusterArgsError,
    InferenceWorkloadArgs,
)
from components.k8s_egress import cloud_api_egress
from components.observability.args import METRICS_PORT_NAME

SERVER_NAME: Final = "inference-server"
MODEL_ROOT: Final = "/models"
SECRETS_DIR: Final = "/run/secrets/inference"
HEALTH_PATH: Final = "/health"
STARTUP_PERIOD_SECONDS: Final = 10
USER_ID: Final = 10001
"""Above the range host accounts use (checkov CKV_K8S_40); the image needs no particular user."""
SHM_SIZE: Final = "8Gi"
"""/dev/shm for NCCL between tensor-parallel workers; memory-backed."""
SERVER_TMP_SIZE: Final = "20Gi"
"""Compile caches (torch inductor, triton) on a writable volume; the root filesystem is read-only."""

FETCH_IMAGES: Final[dict[Cloud, str]] = {
    # 2.31.30 (no published digest for 2.31.39 was found): digest as pinned in public scripts
    # (`aws_cli_image=...2.31.30@sha256:6c93...` in four Renovate-style shell scripts).
    "aws": (
        "public.ecr.aws/aws-cli/aws-cli:2.31.30"
        "@sha256:6c9314d8dd18bcfd11c509e00ea39016c4fb978e42e86df1e4dfd17038b10b78"
    ),
    # 562.0.0-slim (gcloud core: `gcloud storage`, `gcloud secrets`): digest as pinned in two public
    # Dockerfiles (`FROM ...google-cloud-cli:562.0.0-slim@sha256:0da2...`). No digest was found for
    # 540.0.0-stable.
    "gcp": (
        "gcr.io/google.com/cloudsdktool/google-cloud-cli:562.0.0-slim"
        "@sha256:0da2de42ae51cd6092b5caf7c96d25003659fd15548760eb4c50c2623e7bf9c2"
    ),
    # 2.73.0: digest as pinned in one public Dockerfile (`FROM mcr.microsoft.com/azure-cli:2.73.0@...`).
    # No digest was found for 2.75.0; re-check with `docker buildx imagetools inspect` on bump.
    "azure": (
        "mcr.microsoft.com/azure-cli:2.73.0"
        "@sha256:eedd1fb2d6628c6a6f30c5e0cd31b2fd789151514fa0ab645ff440682e5586b7"
    ),
}
"""Cloud CLIs pinned by digest (tag kept for humans) that read the model bucket and the vault as the
workload identity."""

STREAMING_CLOUDS: Final[frozenset[Cloud]] = frozenset({"aws", "gcp", "onprem"})
"""Clouds whose bucket vLLM streams the weights from (--load-format runai_streamer, s3:// and gs://
in the vllm/vllm-openai image's Run:ai Model Streamer). Azure Blob (az://) arrived in later vLLM
releases than the shipped image; there the init container still copies the model first."""

_FETCH_ENV: Final[dict[Cloud, dict[str, str]]] = {
    "aws": {"AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "10", "AWS_RETRY_MODE": "adaptive"},
    "gcp": {"CLOUDSDK_CONFIG": "/tmp/gcloud", "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"},
    "azure": {"AZURE_CONFIG_DIR": "/tmp/azure", "AZURE_CORE_COLLECT_TELEMETRY": "false"},
}

# Everything that could make the server or its libraries reach a hub or phone home.
_OFFLINE_ENV: Final = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}

_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<prefix>.*)$")
_GS_URI = re.compile(r"^gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/(?P<prefix>.*)$")
_BLOB_URI = re.compile(
    r"^https://(?P<account>[a-z0-9]{3,24})\.blob\.core\.windows\.net/(?P<container>[a-z0-9-]{3,63})/(?P<prefix>.*)$"
)
_AWS_SECRET = re.compile(r"^arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z0-9-]+):\d{12}:secret:.+$")
_GCP_SECRET = re.compile(
    r"^projects/(?P<project>[^/]+)/secrets/(?P<secret>[^/]+)(/versions/(?P<version>[^/]+))?$"
)
_AZURE_SECRET = re.compile(
    r"^https://[a-z0-9-]{3,24}\.vault\.azure\.net/secrets/[A-Za-z0-9-]{1,127}(/[0-9a-f]{32})?$"
)
_SECRET_FILE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")

_URI_SHAPES: Final[dict[Cloud, str]] = {
    "aws": "s3://<bucket>/<prefix>/",
    "gcp": "gs://<bucket>/<prefix>/",
    "azure": "https://<account>.blob.core.windows.net/<container>/<prefix>/",
    "onprem": "s3://<bucket>/<prefix>/ in the site's S3-compatible store",
}
_SECRET_SHAPES: Final[dict[Cloud, str]] = {
    "aws": "a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)",
    "gcp": "projects/<project>/secrets/<id>",
    "azure": "https://<vault>.vault.azure.net/secrets/<name>",
    "onprem": "the KV v2 read URL https://<vault>/v1/<mount>/data/<path>",
}


@dataclass(frozen=True)
class ModelSource:
    """Where the model lives in the stack's bucket, and where the pod serves it from."""

    cloud: Cloud
    uri: str
    """Normalised: always ends in '/'."""
    prefix: str
    location: str
    """aws/gcp: bucket; azure: storage account."""
    container: str | None = None
    """azure only: blob container."""

    @property
    def streams(self) -> bool:
        """The server reads the weights straight from the bucket; nothing is copied first."""
        return self.cloud in STREAMING_CLOUDS

    @property
    def serve_from(self) -> str:
        """What `vllm serve` is given: the bucket URI when streaming, else the local copy."""
        return self.uri if self.streams else self.local_dir

    @property
    def local_dir(self) -> str:
        # `az storage blob download-batch` keeps the blob path under the destination.
        if self.cloud == "azure" and self.prefix:
            return f"{MODEL_ROOT}/model/{self.prefix.rstrip('/')}"
        return f"{MODEL_ROOT}/model"


def parse_model_uri(cloud: Cloud, uri: str) -> ModelSource:
    """Check that `uri` is a bucket on the workload's own cloud (never a model hub)."""
    normalised = uri if uri.endswith("/") else f"{uri}/"
    pattern = {"aws": _S3_URI, "gcp": _GS_URI, "azure": _BLOB_URI, "onprem": _S3_URI}[cloud]
    match = pattern.match(normalised)
    if match is None or ".." in match["prefix"].split("/"):
        raise InferenceClusterArgsError(
            "InferenceWorkloadArgs",
            [
                f"model_uri must be this stack's {cloud} bucket, {_URI_SHAPES[cloud]} (got {uri!r}): "
                "copy the model into the stack's own model bucket; it is never pulled from a public hub"
            ],
        )
    if cloud == "azure":
        return ModelSource(cloud, normalised, match["prefix"], match["account"], match["container"])
    return ModelSource(cloud, normalised, match["prefix"], match["bucket"])


def _secret_command(cloud: Cloud, name: str, ref: str, target_file: str | None = None) -> str:
    target = shlex.quote(target_file or f"{SECRETS_DIR}/{name}")
    if cloud == "aws":
        match = _AWS_SECRET.match(ref)
        if match:
            return (
                f"aws secretsmanager get-secret-value --region {shlex.quote(match['region'])} "
                f"--secret-id {shlex.quote(ref)} --query SecretString --output text > {target}"
            )
    elif cloud == "gcp":
        match = _GCP_SECRET.match(ref)
        if match:
            return (
                f"gcloud secrets versions access {shlex.quote(match['version'] or 'latest')} "
                f"--secret={shlex.quote(match['secret'])} --project={shlex.quote(match['project'])} "
                f"> {target}"
            )
    else:
        match = _AZURE_SECRET.match(ref)
        if match:
            return f"az keyvault secret show --id {shlex.quote(ref)} --query value --output tsv > {target}"
    raise InferenceClusterArgsError(
        "InferenceWorkloadArgs",
        [
            f"secret_refs[{name!r}] must be {_SECRET_SHAPES[cloud]} (got {ref!r}): "
            "pass the vault component's secret_refs"
        ],
    )


def fetch_script(
    source: ModelSource,
    secret_refs: Mapping[str, str],
    api_key_secret: str | None,
    edge_files: Mapping[str, str] | None = None,
    skip: Sequence[str] = (),
) -> str:
    """Shell run by the init container: read the secrets, then copy the model, as the workload identity.

    Where the server streams the weights from the bucket (`source.streams`) only the secrets are
    read here. The copy is a sync, so a restarted pod on the same node resumes instead of starting over; a
    missing config.json fails the pod (and Kubernetes retries), e.g. while the standby's bucket
    is still being filled by replication.

    `edge_files` (secret name -> file) go to the edge proxy's own volume instead of the server's
    (the TLS key never reaches the server); `skip` names are not copied at all (the API keys: the
    edge reads their digests from a Kubernetes Secret, the server needs none).
    """
    problems = _secret_ref_problems(secret_refs, api_key_secret)
    if problems:
        raise InferenceClusterArgsError("InferenceWorkloadArgs", problems)

    cloud = source.cloud
    lines = ["set -eu", "umask 077"]
    if cloud == "azure":
        lines.append(
            'az login --service-principal --username "$AZURE_CLIENT_ID" --tenant "$AZURE_TENANT_ID" '
            '--federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --allow-no-subscriptions --output none'
        )
    edge_files = edge_files or {}
    # onprem: the secrets come from OpenBao / Vault in a container of their own (vault_secrets.py).
    lines += [
        _secret_command(cloud, name, ref, edge_files.get(name))
        for name, ref in sorted(secret_refs.items())
        if name not in skip and cloud != "onprem"
    ]
    if not source.streams:
        lines += _copy_commands(source)
    return "\n".join(lines) + "\n"


def _secret_ref_problems(secret_refs: Mapping[str, str], api_key_secret: str | None) -> list[str]:
    problems = [
        f"secret_refs key {name!r} must be a config key name (letters, digits, - and _)"
        for name in secret_refs
        if not _SECRET_FILE.match(name)
    ]
    if api_key_secret is not None and api_key_secret not in secret_refs:
        problems.append(
            f"secret_refs must contain the API key secret {api_key_secret!r} (got {sorted(secret_refs)}): "
            f"add {api_key_secret} to secretNames and set it with "
            f"`pulumi config set --secret {api_key_secret} <value>`"
        )
    return problems


def _copy_commands(source: ModelSource) -> list[str]:
    """Sync the model to the node (where the server does not stream it); fail without config.json."""
    model_dir = shlex.quote(f"{MODEL_ROOT}/model")
    lines = [f"mkdir -p {model_dir}"]
    if source.cloud == "aws":
        lines.append(f"aws s3 sync {shlex.quote(source.uri)} {model_dir} --only-show-errors --no-progress")
    elif source.cloud == "gcp":
        lines.append(f"gcloud storage rsync --recursive {shlex.quote(source.uri)} {model_dir}")
    else:
        lines.append(
            f"az storage blob download-batch --auth-mode login --account-name {shlex.quote(source.location)} "
            f"--source {shlex.quote(source.container or '')} --pattern {shlex.quote(source.prefix + '*')} "
            f"--destination {model_dir} --overwrite true --max-connections 8 --output none"
        )
    config = shlex.quote(f"{source.local_dir}/config.json")
    missing = f"no model at {source.uri} (config.json missing): copy the model into this stack's bucket"
    lines.append(f"test -s {config} || {{ echo {shlex.quote(missing)} >&2; exit 1; }}")
    return lines


def _server_prelude(args: InferenceWorkloadArgs) -> list[str]:
    """onprem: the store's key pair, which the init container read from the vault."""
    return onprem_workload.s3_exports(SECRETS_DIR) if args.cloud == "onprem" else []


def _tolerations(gpu: GpuScheduling) -> list[k8s.core.v1.TolerationArgs]:
    if gpu.taint_key is None:
        return []
    if gpu.taint_value:
        return [
            k8s.core.v1.TolerationArgs(
                key=gpu.taint_key, operator="Equal", value=gpu.taint_value, effect=gpu.taint_effect
            )
        ]
    return [k8s.core.v1.TolerationArgs(key=gpu.taint_key, operator="Exists", effect=gpu.taint_effect)]


def server_script(
    *,
    model_dir: str,
    model_name: str,
    port: int,
    tensor_parallel: int,
    extra_args: Sequence[str],
    stream: bool = False,
    max_model_len: int | None = None,
    gpu_memory_utilization: float | None = None,
    prelude: Sequence[str] = (),
) -> str:
    """Start vLLM on the local model copy, or streaming it from the bucket URI in `model_dir`
    (`stream`), on 127.0.0.1 only: the edge proxy in the same pod is the only way in, and it
    checks the API key (so the server needs none)."""
    lines = ["set -eu", *prelude]
    command = [
        "vllm",
        "serve",
        model_dir,
        "--served-model-name",
        model_name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--tensor-parallel-size",
        str(tensor_parallel),
    ]
    if max_model_len is not None:
        command += ["--max-model-len", str(max_model_len)]
    if gpu_memory_utilization is not None:
        command += ["--gpu-memory-utilization", f"{gpu_memory_utilization:g}"]
    if stream:
        # Run:ai Model Streamer: safetensors read from S3/GCS in parallel straight into GPU
        # memory, with the pod's cloud identity (IRSA / GKE Workload Identity).
        command += ["--load-format", "runai_streamer"]
    command += list(extra_args)
    lines.append("exec " + " ".join(shlex.quote(part) for part in command))
    return "\n".join(lines) + "\n"


def load_balancer_annotations(cloud: Cloud) -> dict[str, str]:
    """Internet-facing L4 load balancer (TCP 443 passed through to the edge, which terminates
    TLS) whose own health check probes the edge's /health over HTTPS.

    aws: an NLB built by the AWS Load Balancer Controller (`external`), targeting pod IPs, with
    cross-zone load balancing so every Elastic IP reaches every replica.
    """
    if cloud == "aws":
        return {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
            "service.beta.kubernetes.io/aws-load-balancer-attributes": (
                "load_balancing.cross_zone.enabled=true"
            ),
            "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol": "https",
            "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "traffic-port",
            "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path": HEALTH_PATH,
        }
    if cloud == "azure":
        return {
            "service.beta.kubernetes.io/azure-load-balancer-health-probe-protocol": "https",
            "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": HEALTH_PATH,
        }
    return {}


def source_ranges(args: InferenceWorkloadArgs) -> pulumi.Output[list[str]] | None:
    """The clients' CIDRs plus the DNS health checkers', or None (any address) when unrestricted."""
    if not args.load_balancer_source_cidrs:
        return None
    clients = set(args.load_balancer_source_cidrs)
    return pulumi.Output.from_input(args.health_checker_cidrs).apply(lambda hc: sorted(clients | set(hc)))


def source_annotations(args: InferenceWorkloadArgs) -> dict[str, str]:
    return dict(args.health_checker_annotations or {}) if args.load_balancer_source_cidrs else {}


def lb_host(status: k8s.core.v1.outputs.ServiceStatus | None, service: str) -> str:
    """Hostname (AWS NLB) or IP (GCP, Azure) of the Service's load balancer."""
    ingress = status.load_balancer.ingress if status and status.load_balancer else None
    if not ingress:
        raise RuntimeError(
            f"Service {service} has no load balancer address: check `kubectl describe service {service}` "
            "for cloud load balancer errors (quota, subnet tags)"
        )
    host = ingress[0].hostname or ingress[0].ip
    if not host:
        raise RuntimeError(
            f"Service {service} load balancer ingress has neither hostname nor ip: {ingress[0]}"
        )
    return host


def service_await_annotations(
    cloud: Cloud, wait_for_ready: bool, *, has_load_balancer: bool
) -> dict[str, str]:
    """What `pulumi up` waits for on the Service.

    pulumi-kubernetes' default Service await also waits until no endpoint is "not ready", i.e.
    until the model has loaded, and fails after 10 minutes. With waitForModel false (the
    default; an empty bucket on a first deploy) that would fail the apply, so the Service waits
    only for its load balancer address (`pulumi.com/waitFor`, which takes precedence over the
    default await from pulumi-kubernetes 4.18.4), or for nothing when there is no load balancer
    (externalIPs).
    """
    if wait_for_ready:
        return {}
    if not has_load_balancer:
        return {"pulumi.com/skipAwait": "true"}
    # An NLB (aws) reports a host name, every other load balancer an IP.
    field = "hostname" if cloud == "aws" else "ip"
    return {"pulumi.com/waitFor": f"jsonpath={{.status.loadBalancer.ingress[0].{field}}}"}


def check_bound_address(
    addresses: Sequence[str], status: k8s.core.v1.outputs.ServiceStatus | None, cloud: Cloud
) -> str:
    """The load balancer's address, which must be the reserved one DNS points at."""
    actual = lb_host(status, SERVER_NAME)
    if actual not in addresses:
        raise RuntimeError(
            f"Service {SERVER_NAME} got load balancer address {actual} but DNS points at the stack's "
            f"static address {', '.join(addresses)} ({cloud}): check `kubectl describe service "
            f"{SERVER_NAME} -n inference` for why the reserved address was not used"
        )
    return actual


def _first_address(addresses: Sequence[str], cloud: Cloud) -> str:
    if not addresses or not addresses[0]:
        # RuntimeError, not ValueError: Pulumi would prefix a ValueError with an Output's repr.
        raise RuntimeError(
            f"the {cloud} static public address has no IP yet (got {list(addresses)}): check the "
            "address resource in the cluster component (Elastic IP / reserved address / public IP)"
        )
    return addresses[0]


def _empty_dir(name: str, size: str, memory: bool = False) -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(
        name=name,
        empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory" if memory else None, size_limit=size),
    )


def _env(values: Mapping[str, str]) -> list[k8s.core.v1.EnvVarArgs]:
    return [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in values.items()]


def _locked_down() -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
    )


def _health_probe(period: int, timeout: int, failures: int) -> k8s.core.v1.ProbeArgs:
    # Through the edge (the server listens on 127.0.0.1, out of the kubelet's reach); the kubelet
    # does not verify the certificate. /health needs no key.
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=HEALTH_PATH, port=edge_proxy.LISTEN_PORT, scheme="HTTPS"),
        period_seconds=period,
        timeout_seconds=timeout,
        failure_threshold=failures,
    )


def _rollout_seconds(args: InferenceWorkloadArgs) -> int:
    """How long a rollout may take: the model copy and load budgets, plus five minutes."""
    return args.model_download_budget_seconds + args.model_load_budget_seconds + 300


def _rollout_timeouts(args: InferenceWorkloadArgs) -> pulumi.CustomTimeouts:
    """One timeout for the Deployment and the Service that waits for it."""
    minutes = f"{_rollout_seconds(args) // 60}m"
    return pulumi.CustomTimeouts(create=minutes, update=minutes)


def _account_annotations(args: InferenceWorkloadArgs) -> dict[str, pulumi.Input[str]]:
    """The cloud identity the ServiceAccount is bound to, as the cloud's webhook reads it."""
    identity = args.identity
    if args.cloud == "onprem":
        return {}  # the Kubernetes service account is the identity (the site's vault trusts it)
    if args.cloud == "aws":
        return {"eks.amazonaws.com/role-arn": identity.principal}
    if args.cloud == "gcp":
        return {"iam.gke.io/gcp-service-account": identity.principal}
    if identity.client_id is None:
        raise InferenceClusterArgsError(
            "InferenceWorkloadArgs",
            ["identity.client_id is required on azure: pass the AKS cluster's identity"],
        )
    return {"azure.workload.identity/client-id": identity.client_id}


@dataclass(frozen=True)
class _PodSecrets:
    """What the pod reads from the vault, and where it goes."""

    refs: pulumi.Output[dict[str, str]]
    """Secret config name -> the vault's reference to it."""
    edge_files: Mapping[str, str]
    """provided TLS: secret name -> file in the edge's volume (the key never reaches the server)."""
    reader: vault_secrets.VaultReader | None
    """onprem: the init container reading OpenBao / Vault (None on the clouds: the fetcher reads)."""


class InferenceWorkload(pulumi.ComponentResource):
    """Namespace, ServiceAccount, Deployment, LoadBalancer Service, PodDisruptionBudget and
    NetworkPolicy of the inference server; see InferenceWorkloadArgs."""

    endpoint_host: pulumi.Output[str]
    """Where clients and DNS reach the Service: the first static address when the cluster reserved
    one, else the load balancer's host name (aws NLB) or IP."""
    endpoint_addresses: pulumi.Output[list[str]]
    """Every address clients may reach the Service on (static: all of them; else the one)."""
    endpoint_url: pulumi.Output[str]
    """`https://<endpoint_host>:<service port>`."""
    namespace: k8s.core.v1.Namespace
    """The workload's namespace (Pod Security `restricted`)."""
    deployment: k8s.apps.v1.Deployment
    """The inference pods: init containers, the model server and the edge proxy."""
    service: k8s.core.v1.Service
    """The HTTPS Service in front of the edge (load balancer, or external IPs on a site)."""

    def __init__(
        self, name: str, args: InferenceWorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "InferenceWorkload"), name, None, opts)
        self._stem = name
        self._args = args
        self._selector = {"app.kubernetes.io/name": SERVER_NAME, "app.kubernetes.io/instance": name}
        self._labels = {
            **self._selector,
            "app.kubernetes.io/part-of": "inference-failover",
            "app.kubernetes.io/managed-by": "pulumi",
        }
        self._child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        self.namespace = self._namespace()
        self._in_namespace = self._child.merge(pulumi.ResourceOptions(depends_on=[self.namespace]))
        service_account = self._service_account()
        edge_config = edge_proxy.pod_config(args.service_name, args.server_port, args.tls_source)
        secrets = self._secrets(edge_config)
        edge = self._edge_proxy(edge_config)
        self.deployment = self._model_server(service_account, edge_config, edge, secrets)
        self.service = self._service()
        budget = self._disruption_budget()
        network_policy = self._network_policy()
        bound = self._endpoint()
        self.register_outputs(
            {
                "endpointHost": self.endpoint_host,
                "boundAddress": bound,
                "endpointUrl": self.endpoint_url,
                "namespace": args.identity.namespace,
                "deployment": self.deployment.metadata.name,
                "podDisruptionBudget": budget.metadata.name,
                "networkPolicy": network_policy.metadata.name,
            }
        )

    def _metadata(self, name: str, **more: Any) -> k8s.meta.v1.ObjectMetaArgs:
        """Metadata of an object in the workload's namespace, with the common labels."""
        return k8s.meta.v1.ObjectMetaArgs(
            name=name, namespace=self._args.identity.namespace, labels=dict(self._labels), **more
        )

    def _namespace(self) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(
            f"{self._stem}-namespace",
            k8s.core.v1.NamespaceInitArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=self._args.identity.namespace,
                    labels={
                        "app.kubernetes.io/part-of": "inference-failover",
                        "pod-security.kubernetes.io/enforce": "restricted",
                        "pod-security.kubernetes.io/enforce-version": "latest",
                    },
                )
            ),
            opts=self._child,
        )

    def _service_account(self) -> k8s.core.v1.ServiceAccount:
        """The pods' Kubernetes identity, bound to the cloud identity (IRSA, GKE / AKS workload identity)."""
        return k8s.core.v1.ServiceAccount(
            f"{self._stem}-service-account",
            k8s.core.v1.ServiceAccountInitArgs(
                metadata=self._metadata(
                    self._args.identity.service_account, annotations=_account_annotations(self._args)
                ),
                automount_service_account_token=False,
            ),
            opts=self._in_namespace,
        )

    def _secrets(self, edge_config: edge_proxy.EdgeProxyConfig) -> _PodSecrets:
        """The vault references, which of them go to the edge's volume, and (onprem) the reader."""
        args = self._args
        refs = pulumi.Output.from_input(args.secret_refs).apply(dict)
        edge_files = (
            {
                args.tls_certificate_secret: edge_config.cert_file,
                args.tls_key_secret: edge_config.key_file,
            }
            if args.tls_source == "provided"
            else {}
        )
        reader = _vault_reader(
            self._stem, args, refs=refs, edge_files=edge_files, labels=self._labels, opts=self._in_namespace
        )
        return _PodSecrets(refs=refs, edge_files=edge_files, reader=reader)

    def _edge_proxy(self, config: edge_proxy.EdgeProxyConfig) -> _Edge:
        """ConfigMap (nginx.conf, njs), Secret (key digests), the certificate (acme) and the proxy
        container with its volumes."""
        args = self._args
        config_map = k8s.core.v1.ConfigMap(
            f"{self._stem}-edge-config",
            k8s.core.v1.ConfigMapInitArgs(
                metadata=self._metadata(edge_proxy.EDGE_CONFIG_NAME),
                data=edge_proxy.config_files(config),
                immutable=False,
            ),
            opts=self._in_namespace,
        )
        keys = k8s.core.v1.Secret(
            f"{self._stem}-edge-api-keys",
            k8s.core.v1.SecretInitArgs(
                metadata=self._metadata(edge_proxy.EDGE_KEYS_NAME),
                type="Opaque",
                string_data={
                    edge_proxy.KEY_DIGESTS_FILE: pulumi.Output.secret(
                        pulumi.Output.from_input(args.api_key_digests or "")
                    )
                },
            ),
            opts=self._in_namespace,
        )
        tls = self._edge_tls()
        volumes = [
            k8s.core.v1.VolumeArgs(
                name="edge-config",
                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=edge_proxy.EDGE_CONFIG_NAME),
            ),
            k8s.core.v1.VolumeArgs(
                name="edge-keys",
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=edge_proxy.EDGE_KEYS_NAME, default_mode=0o440
                ),
            ),
            _empty_dir("edge-tmp", "64Mi"),
            # The request counters, rewritten on every answer: memory, not the node's disk.
            _empty_dir("edge-counters", "1Mi", memory=True),
            tls.volume,
        ]
        return _Edge(
            container=_edge_container(args, config, tls.mount),
            volumes=volumes,
            resources=[config_map, keys, *tls.resources],
        )

    def _edge_tls(self) -> _EdgeTls:
        """acme and internal-ca: the Certificate cert-manager writes into a Secret, mounted.
        provided: the memory volume the init container writes the vault's PEM chain and key into."""
        args = self._args
        if args.tls_source not in ("acme", "internal-ca"):
            return _EdgeTls(
                # Written by the init container from the vault; memory-backed, never on a disk.
                volume=_empty_dir("edge-tls", "1Mi", memory=True),
                mount=k8s.core.v1.VolumeMountArgs(
                    name="edge-tls", mount_path=edge_proxy.PROVIDED_TLS_DIR, read_only=True
                ),
                resources=[],
            )
        certificate = k8s.apiextensions.CustomResource(
            f"{self._stem}-certificate",
            api_version=cert_manager.API_VERSION,
            kind="Certificate",
            metadata=self._metadata(edge_proxy.TLS_SECRET_NAME),
            spec=cert_manager.certificate_spec(
                args.service_name, edge_proxy.TLS_SECRET_NAME, args.certificate_issuer or ""
            ),
            opts=self._in_namespace,
        )
        return _EdgeTls(
            volume=k8s.core.v1.VolumeArgs(
                name="edge-tls",
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=edge_proxy.TLS_SECRET_NAME, default_mode=0o440
                ),
            ),
            mount=k8s.core.v1.VolumeMountArgs(name="edge-tls", mount_path=edge_proxy.TLS_DIR, read_only=True),
            resources=[certificate],
        )

    def _model_server(
        self,
        service_account: k8s.core.v1.ServiceAccount,
        edge_config: edge_proxy.EdgeProxyConfig,
        edge: _Edge,
        secrets: _PodSecrets,
    ) -> k8s.apps.v1.Deployment:
        """The Deployment: (onprem) the vault reader and the model fetcher as init containers, then
        the model server and the edge proxy; replaced in place, never surged."""
        args = self._args
        fetch, serve = _scripts(args, secrets)
        reader = secrets.reader
        pod = k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(
                labels=_pod_labels(args, self._labels), annotations=_pod_annotations(args, edge_config)
            ),
            spec=self._pod_spec(
                init_containers=[*([reader.container] if reader else []), _fetch_container(args, fetch)],
                containers=[_server_container(args, serve), edge.container],
                volumes=_pod_volumes(args, edge, reader),
            ),
        )
        return k8s.apps.v1.Deployment(
            f"{self._stem}-server",
            k8s.apps.v1.DeploymentInitArgs(
                metadata=self._metadata(
                    SERVER_NAME,
                    annotations={"pulumi.com/skipAwait": "true"} if not args.wait_for_ready else {},
                ),
                spec=k8s.apps.v1.DeploymentSpecArgs(
                    replicas=args.replicas,
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
                    # Without this, Kubernetes declares the rollout failed after 10 minutes,
                    # long before a large model is copied and loaded.
                    progress_deadline_seconds=_rollout_seconds(args),
                    # Replace in place, never surge: a surge replica needs a spare GPU node the
                    # pool (one node when warm) does not have.
                    strategy=k8s.apps.v1.DeploymentStrategyArgs(
                        type="RollingUpdate",
                        rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                            max_surge=0, max_unavailable=1
                        ),
                    ),
                    template=pod,
                ),
            ),
            opts=self._in_namespace.merge(
                pulumi.ResourceOptions(
                    depends_on=[service_account, *edge.resources, *(reader.resources if reader else [])],
                    custom_timeouts=_rollout_timeouts(args),
                )
            ),
        )

    def _pod_spec(
        self,
        *,
        init_containers: list[k8s.core.v1.ContainerArgs],
        containers: list[k8s.core.v1.ContainerArgs],
        volumes: list[k8s.core.v1.VolumeArgs],
    ) -> k8s.core.v1.PodSpecArgs:
        """On the GPU pool, spread over zones, as a non-root user with the runtime's seccomp profile."""
        args = self._args
        return k8s.core.v1.PodSpecArgs(
            service_account_name=args.identity.service_account,
            # The cloud identity comes from the projected token / metadata server;
            # the server never needs the Kubernetes API.
            automount_service_account_token=False,
            node_selector=dict(args.gpu_scheduling.node_selector),
            tolerations=_tolerations(args.gpu_scheduling),
            topology_spread_constraints=[
                k8s.core.v1.TopologySpreadConstraintArgs(
                    max_skew=1,
                    topology_key="topology.kubernetes.io/zone",
                    when_unsatisfiable="ScheduleAnyway",
                    label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
                )
            ],
            security_context=k8s.core.v1.PodSecurityContextArgs(
                run_as_non_root=True,
                run_as_user=USER_ID,
                run_as_group=USER_ID,
                fs_group=USER_ID,
                seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
            ),
            termination_grace_period_seconds=60,
            init_containers=init_containers,
            containers=containers,
            volumes=volumes,
        )

    def _service(self) -> k8s.core.v1.Service:
        """HTTPS only, to the edge: a load balancer (on the static address when the cluster
        reserved one), or kube-proxy on the site's external IPs."""
        args = self._args
        address = args.public_address
        external_ips = _external_ips(args)
        return k8s.core.v1.Service(
            f"{self._stem}-service",
            k8s.core.v1.ServiceInitArgs(
                metadata=self._metadata(
                    SERVER_NAME,
                    annotations={
                        **load_balancer_annotations(args.cloud),
                        **(dict(address.service_annotations) if address else {}),
                        **source_annotations(args),
                        **service_await_annotations(
                            args.cloud, args.wait_for_ready, has_load_balancer=not external_ips
                        ),
                    },
                ),
                spec=k8s.core.v1.ServiceSpecArgs(
                    # onprem externalIp: kube-proxy answers on the address; no load balancer exists.
                    type="ClusterIP" if external_ips else "LoadBalancer",
                    external_ips=external_ips or None,
                    load_balancer_class=address.load_balancer_class if address else None,
                    selector=self._selector,
                    external_traffic_policy="Cluster",
                    load_balancer_source_ranges=None if external_ips else source_ranges(args),
                    # HTTPS only: no port 80, not even a redirect (API clients do not follow
                    # redirects on POST).
                    ports=[
                        k8s.core.v1.ServicePortArgs(
                            name="https", port=args.service_port, target_port="https", protocol="TCP"
                        )
                    ],
                ),
            ),
            opts=self._in_namespace.merge(
                pulumi.ResourceOptions(
                    depends_on=list(address.ready) if address else [],
                    # loadBalancerClass is immutable: a change (e.g. a stack created before static
                    # addresses) replaces the Service; its fixed name means delete first.
                    replace_on_changes=["spec.loadBalancerClass"],
                    delete_before_replace=True,
                    # Waiting for ready endpoints takes as long as the Deployment's rollout, not
                    # the provider's default 10 minutes.
                    custom_timeouts=_rollout_timeouts(args) if args.wait_for_ready else None,
                )
            ),
        )

    def _disruption_budget(self) -> k8s.policy.v1.PodDisruptionBudget:
        # maxUnavailable 1 (not minAvailable = replicas, not maxUnavailable 0): with one warm
        # replica anything stricter blocks every node drain, so node upgrades and repairs would
        # hang forever. With N replicas it still keeps N-1 serving. AlwaysAllow lets a pod that
        # never became ready (model still loading, bad node) be evicted too.
        return k8s.policy.v1.PodDisruptionBudget(
            f"{self._stem}-pdb",
            k8s.policy.v1.PodDisruptionBudgetInitArgs(
                metadata=self._metadata(SERVER_NAME),
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                    max_unavailable=1,
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
                    unhealthy_pod_eviction_policy="AlwaysAllow",
                ),
            ),
            opts=self._in_namespace,
        )

    def _network_policy(self) -> k8s.networking.v1.NetworkPolicy:
        """In: the edge's port only. Out: see _egress_rules."""
        return k8s.networking.v1.NetworkPolicy(
            f"{self._stem}-network-policy",
            k8s.networking.v1.NetworkPolicyInitArgs(
                metadata=self._metadata(SERVER_NAME),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
                    policy_types=["Ingress", "Egress"],
                    ingress=[
                        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                            ports=[
                                k8s.networking.v1.NetworkPolicyPortArgs(
                                    port=edge_proxy.LISTEN_PORT, protocol="TCP"
                                )
                            ]
                        )
                    ],
                    egress=_egress_rules(self._args),
                ),
            ),
            opts=self._in_namespace,
        )

    def _endpoint(self) -> pulumi.Output[str] | None:
        """Sets endpoint_host, endpoint_addresses and endpoint_url. Returns the address the load
        balancer is bound to where it is checked against the static one (gcp, azure), else None."""
        args = self._args
        address = args.public_address
        if address is None:
            self.endpoint_host = self.service.status.apply(lambda status: lb_host(status, SERVER_NAME))
            self.endpoint_addresses = self.endpoint_host.apply(lambda host: [host])
        else:
            # The static address, known before the Service exists and kept across its re-creation.
            self.endpoint_addresses = address.addresses
            self.endpoint_host = address.addresses.apply(lambda ips: _first_address(ips, args.cloud))
        self.endpoint_url = self.endpoint_host.apply(lambda host: f"https://{host}:{args.service_port}")
        # An NLB reports its host name, not its Elastic IPs; an external IP has no LB status.
        if address is None or args.cloud == "aws" or _external_ips(args):
            return None
        # Fails the apply if the cloud put another address on the load balancer than the
        # one DNS answers (an unsupported annotation, the address used elsewhere).
        addresses = address.addresses
        # Chained, not Output.all: `status` is typed (ServiceStatus) only through its own apply.
        return self.service.status.apply(
            lambda status: addresses.apply(lambda ips: check_bound_address(ips, status, args.cloud))
        )


def _external_ips(args: InferenceWorkloadArgs) -> list[str]:
    """onprem externalIp: the addresses kube-proxy answers on (no load balancer)."""
    return list(args.public_address.external_ips) if args.public_address else []


def _scripts(
    args: InferenceWorkloadArgs, secrets: _PodSecrets
) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """The init container's fetch script and the server's start script, both from the model URI."""
    source = pulumi.Output.from_input(args.model_uri).apply(lambda uri: parse_model_uri(args.cloud, uri))
    fetch = pulumi.Output.all(source, secrets.refs).apply(
        lambda a: fetch_script(
            a[0], a[1], args.api_key_secret, secrets.edge_files, skip=edge_proxy.API_KEY_SECRETS
        )
    )
    serve = source.apply(
        lambda s: server_script(
            model_dir=s.serve_from,
            model_name=args.model_name,
            port=args.server_port,
            tensor_parallel=args.tensor_parallel_size or args.gpus_per_replica,
            extra_args=args.extra_server_args,
            stream=s.streams,
            max_model_len=args.max_model_len,
            gpu_memory_utilization=args.gpu_memory_utilization,
            prelude=_server_prelude(args),
        )
    )
    return fetch, serve


def _pod_labels(args: InferenceWorkloadArgs, labels: Mapping[str, str]) -> dict[str, str]:
    pod_labels = dict(labels)
    if args.cloud == "azure":
        # The AKS workload identity webhook injects the federated token only into labelled pods.
        pod_labels["azure.workload.identity/use"] = "true"
    return pod_labels


def _pod_annotations(
    args: InferenceWorkloadArgs, edge_config: edge_proxy.EdgeProxyConfig
) -> dict[str, pulumi.Input[str]]:
    """Digests of what the pods read only at start, so a change rolls them."""
    annotations: dict[str, pulumi.Input[str]] = {
        "inference-failover/edge-config-sha256": edge_proxy.config_digest(edge_config)
    }
    if args.tls_source == "provided" and args.provided_certificate_sha256 is not None:
        annotations["inference-failover/tls-certificate-sha256"] = args.provided_certificate_sha256
    return annotations


def _pod_volumes(
    args: InferenceWorkloadArgs, edge: _Edge, reader: vault_secrets.VaultReader | None
) -> list[k8s.core.v1.VolumeArgs]:
    copies = args.cloud not in STREAMING_CLOUDS
    return [
        *edge.volumes,
        *(reader.volumes if reader else []),
        *([_empty_dir("model", f"{args.model_volume_size_gib}Gi")] if copies else []),
        _empty_dir("secrets", "1Mi", memory=True),
        _empty_dir("server-tmp", SERVER_TMP_SIZE),
        _empty_dir("fetch-tmp", "1Gi"),
        _empty_dir("shm", SHM_SIZE, memory=True),
    ]


def _server_container(args: InferenceWorkloadArgs, serve: pulumi.Output[str]) -> k8s.core.v1.ContainerArgs:
    """vLLM on 127.0.0.1 with the replica's GPUs; probed through the edge."""
    copies = args.cloud not in STREAMING_CLOUDS
    gpu = str(args.gpus_per_replica)
    startup_failures = math.ceil(args.model_load_budget_seconds / STARTUP_PERIOD_SECONDS)
    return k8s.core.v1.ContainerArgs(
        name="server",
        image=args.image,
        command=["/bin/sh", "-ec"],
        args=[serve],
        env=_env(
            {
                **_OFFLINE_ENV,
                "HOME": "/tmp",
                "USER": "vllm",
                "XDG_CACHE_HOME": "/tmp/.cache",
                **(onprem_workload.streamer_env(args.model_endpoint or "") if args.cloud == "onprem" else {}),
            }
        ),
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={
                "cpu": f"{args.cpu_request_millicores}m",
                "memory": f"{args.memory_request_gib}Gi",
                "ephemeral-storage": f"{args.model_volume_size_gib}Gi" if copies else SERVER_TMP_SIZE,
                args.gpu_scheduling.resource_name: gpu,
            },
            limits={args.gpu_scheduling.resource_name: gpu},
        ),
        # Startup allows the full model load; liveness/readiness only start after it passes.
        startup_probe=_health_probe(STARTUP_PERIOD_SECONDS, 5, startup_failures),
        readiness_probe=_health_probe(10, 5, 3),
        liveness_probe=_health_probe(15, 10, 4),
        # Let the load balancer stop sending new requests before the server stops.
        lifecycle=k8s.core.v1.LifecycleArgs(
            pre_stop=k8s.core.v1.LifecycleHandlerArgs(
                exec_=k8s.core.v1.ExecActionArgs(command=["/bin/sh", "-c", "sleep 10"])
            )
        ),
        security_context=_locked_down(),
        volume_mounts=[
            *(
                [k8s.core.v1.VolumeMountArgs(name="model", mount_path=MODEL_ROOT, read_only=True)]
                if copies
                else []
            ),
            k8s.core.v1.VolumeMountArgs(name="secrets", mount_path=SECRETS_DIR, read_only=True),
            k8s.core.v1.VolumeMountArgs(name="server-tmp", mount_path="/tmp"),
            k8s.core.v1.VolumeMountArgs(name="shm", mount_path="/dev/shm"),
        ],
    )


def _fetch_container(args: InferenceWorkloadArgs, fetch: pulumi.Output[str]) -> k8s.core.v1.ContainerArgs:
    """The init container that reads the secrets and (where the server does not stream) copies the
    model, as the workload identity."""
    copies = args.cloud not in STREAMING_CLOUDS
    return k8s.core.v1.ContainerArgs(
        name="fetch-model",
        # onprem: the serving image (python3 reads the vault); nothing else to mirror.
        image=args.fetch_image or FETCH_IMAGES.get(args.cloud) or args.image,
        command=["/bin/sh", "-ec"],
        args=[fetch],
        env=_env({"HOME": "/tmp", **_FETCH_ENV.get(args.cloud, {})}),
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "1", "memory": "2Gi"}, limits={"memory": "4Gi"}
        ),
        security_context=_locked_down(),
        volume_mounts=[
            *([k8s.core.v1.VolumeMountArgs(name="model", mount_path=MODEL_ROOT)] if copies else []),
            k8s.core.v1.VolumeMountArgs(name="secrets", mount_path=SECRETS_DIR),
            # Separate scratch space: the CLI's token cache never reaches the server's /tmp.
            k8s.core.v1.VolumeMountArgs(name="fetch-tmp", mount_path="/tmp"),
            *(
                [k8s.core.v1.VolumeMountArgs(name="edge-tls", mount_path=edge_proxy.PROVIDED_TLS_DIR)]
                if args.tls_source == "provided"
                else []
            ),
        ],
    )


def _egress_rules(args: InferenceWorkloadArgs) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    """DNS to the cluster DNS only, HTTPS to public addresses (bucket, vault, STS / Entra ID), the
    GKE metadata server on gcp (components/k8s_egress.py); a site's own ports; the site's vault."""
    egress = (
        onprem_workload.site_egress(args.egress_ports)
        if args.cloud == "onprem"
        else cloud_api_egress(args.cloud)
    )
    if args.vault_login is not None:
        egress.append(vault_secrets.vault_egress(args.vault_login.address))
    return egress


def _vault_reader(
    name: str,
    args: InferenceWorkloadArgs,
    *,
    refs: pulumi.Output[dict[str, str]],
    edge_files: Mapping[str, str],
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> vault_secrets.VaultReader | None:
    """onprem: the init container reading the secrets from OpenBao / Vault (None on the clouds)."""
    login = args.vault_login
    if login is None:
        return None
    script = pulumi.Output.all(refs, login.role).apply(
        lambda a: vault_secrets.secrets_script(
            address=login.address,
            auth_path=login.auth_path,
            role=str(a[1]),
            secret_refs=a[0],
            targets={n: edge_files.get(n) or f"{SECRETS_DIR}/{n}" for n in a[0]},
            skip=edge_proxy.API_KEY_SECRETS,
            paths=vault_secrets.VaultPaths(ca_file=vault_secrets.CA_FILE if login.ca_certificate else None),
        )
    )
    mounts = [k8s.core.v1.VolumeMountArgs(name="secrets", mount_path=SECRETS_DIR)]
    if args.tls_source == "provided":
        mounts.append(k8s.core.v1.VolumeMountArgs(name="edge-tls", mount_path=edge_proxy.PROVIDED_TLS_DIR))
    return vault_secrets.vault_reader(
        name,
        login,
        script,
        mounts,
        namespace=args.identity.namespace,
        labels=labels,
        security_context=_locked_down(),
        opts=opts,
        # onprem: from the site registry at the same path and digest.
        image=onprem_workload.relocate(vault_secrets.OPENBAO_IMAGE, args.mirror_registry)
        if args.mirror_registry
        else vault_secrets.OPENBAO_IMAGE,
    )


@dataclass(frozen=True)
class _Edge:
    container: k8s.core.v1.ContainerArgs
    volumes: list[k8s.core.v1.VolumeArgs]
    resources: list[pulumi.Resource]


@dataclass(frozen=True)
class _EdgeTls:
    """Where the edge's certificate comes from: its volume, mount and (acme) the Certificate."""

    volume: k8s.core.v1.VolumeArgs
    mount: k8s.core.v1.VolumeMountArgs
    resources: list[pulumi.Resource]


def _edge_container(
    args: InferenceWorkloadArgs, config: edge_proxy.EdgeProxyConfig, tls: k8s.core.v1.VolumeMountArgs
) -> k8s.core.v1.ContainerArgs:
    """NGINX terminating TLS on the pod's address; metrics on a port the Service never publishes."""
    return k8s.core.v1.ContainerArgs(
        name="edge",
        image=(
            onprem_workload.relocate(edge_proxy.EDGE_PROXY_IMAGE, args.mirror_registry)
            if args.mirror_registry
            else edge_proxy.EDGE_PROXY_IMAGE
        ),
        command=["/bin/sh", "-ec"],
        args=[edge_proxy.proxy_command(config)],
        ports=[
            k8s.core.v1.ContainerPortArgs(
                name="https", container_port=edge_proxy.LISTEN_PORT, protocol="TCP"
            ),
            # Scraped by the collector (components/observability): the Service never publishes it.
            k8s.core.v1.ContainerPortArgs(
                name=METRICS_PORT_NAME, container_port=config.metrics_port, protocol="TCP"
            ),
        ],
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "250m", "memory": "128Mi"}, limits={"memory": "512Mi"}
        ),
        readiness_probe=_health_probe(10, 5, 3),
        liveness_probe=k8s.core.v1.ProbeArgs(
            tcp_socket=k8s.core.v1.TCPSocketActionArgs(port=edge_proxy.LISTEN_PORT),
            period_seconds=15,
            failure_threshold=4,
        ),
        security_context=_locked_down(),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name="edge-config", mount_path=edge_proxy.CONFIG_DIR, read_only=True),
            k8s.core.v1.VolumeMountArgs(name="edge-keys", mount_path=edge_proxy.KEYS_DIR, read_only=True),
            k8s.core.v1.VolumeMountArgs(name="edge-tmp", mount_path="/tmp"),
            k8s.core.v1.VolumeMountArgs(name="edge-counters", mount_path=config.counters_dir),
            tls,
        ],
    )
