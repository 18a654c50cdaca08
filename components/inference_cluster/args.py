"""Neutral arguments of the inference cluster and its workload, shared by every cloud module.

The names that tie the cluster to the workload (namespace, service account, GPU node label and
taint) live here, so the identity the cluster binds and the pods the workload runs always agree.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.common import Cloud, Placement, WorkloadIdentity
from components.inference_cluster.public_address import PublicAddress
from components.problems import ArgProblem, ArgsValueError, Problem
from components.vault_login import VaultLogin

MODULE: Final = "inference_cluster"

KUBERNETES_VERSION: Final = "1.35"
"""Minor version of every cluster; the workload's manifests are validated against this schema."""

NAMESPACE: Final = "inference"
"""Namespace of the inference workload; the cloud identity trusts only its service account."""
SERVICE_ACCOUNT: Final = "inference-server"
"""ServiceAccount the inference pods run as, bound to the cloud identity."""

POOL_LABEL: Final = "inference-failover/pool"
"""Node label naming the pool a node belongs to; the workload selects `POOL_LABEL=gpu`."""
GPU_POOL: Final = "gpu"
SYSTEM_POOL: Final = "system"
GPU_TYPE_LABEL: Final = "inference-failover/gpu-type"
"""Node label carrying the neutral GPU name (l4, a100-80gb, ...) for operators and selectors."""
GPU_NODE_FLOOR: Final = 1
"""Autoscaling floor of every GPU pool, warm or full: one node with the model loaded. The bounds
(floor, `gpu_max_node_count`) never change with capacity: EKS and AKS refuse a floor above the
pool's last applied size (the live size is ignored so the autoscaler owns it), so a cut-over
changes replicas and the autoscaler adds the nodes they need."""
GPU_TAINT_KEY: Final = "nvidia.com/gpu"
GPU_TAINT_VALUE: Final = "present"
"""GPU nodes carry `nvidia.com/gpu=present:NoSchedule`, so only pods that tolerate it land there."""

NVIDIA_DEVICE_PLUGIN_IMAGE: Final = (
    "nvcr.io/nvidia/k8s-device-plugin:v0.18.2"
    "@sha256:b5788e29e7ae5272de8de863ebe386d6611e608421a6ecc5b4e7d5952aba637f"
)
"""EKS and AKS install the driver but not the device plugin that advertises `nvidia.com/gpu`.
Pinned by digest (the tag stays for readers and update bots); digest of v0.18.2 as pinned in
public manifests, recorded 2026-12-02: verify with `crane digest nvcr.io/nvidia/k8s-device-plugin:v0.18.2`."""

_K8S_MINOR = re.compile(r"^1\.\d{2}$")
_DIGEST_PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class GpuScheduling:
    """How the inference pods land on GPU nodes: labels to select, the taint to tolerate, the
    extended resource to request. The clouds' pools use CLOUD_GPU_SCHEDULING; an on-prem cluster's
    nodes are described by its stack config (gpuNodeSelector, gpuTaint, gpuResourceName)."""

    node_selector: Mapping[str, str]
    taint_key: str | None
    """Key of the GPU nodes' taint; None: the nodes carry none and nothing is tolerated."""
    taint_value: str = ""
    """Value of the taint; empty: tolerate any value (operator Exists)."""
    taint_effect: str = "NoSchedule"
    resource_name: str = "nvidia.com/gpu"
    """Extended resource requested per replica (limit = request = GPUs per replica)."""


CLOUD_GPU_SCHEDULING: Final = GpuScheduling(
    node_selector={POOL_LABEL: GPU_POOL}, taint_key=GPU_TAINT_KEY, taint_value="", taint_effect="NoSchedule"
)


@dataclass(frozen=True)
class OnpremSite:
    """An existing cluster on a site (cloud: onprem): its GPU nodes and how clients reach it."""

    gpu: GpuScheduling
    exposure: str
    """loadBalancerAddress: a LoadBalancer Service asking MetalLB for `exposure_address`;
    externalIp: a ClusterIP Service with `exposure_address` in spec.externalIPs."""
    exposure_address: str
    """Static IPv4 address DNS answers with; the site routes it to the nodes."""
    kubeconfig: pulumi.Input[str] = ""
    """Secret kubeconfig (or the kubeconfig path) the provider uses; exported as `kubeconfig`."""
    service_account_issuer: str = ""
    """Issuer of the cluster's service-account tokens (`oidc_issuer_url`); empty: none is trusted
    anywhere (a primary site; replication into a standby logs in with these tokens)."""


class InferenceClusterArgsError(ArgsValueError):
    """Every problem found in one InferenceClusterArgs / InferenceWorkloadArgs (or the Args of a
    workload part: InternalCaArgs, CertManagerArgs), reported at once with its code."""


@dataclass(frozen=True)
class InferenceClusterArgs:
    """A managed Kubernetes cluster with a tainted GPU pool and a CPU system pool.

    Secure defaults: private (no public IP) nodes, workload identity / IRSA, cloud-IAM-only API
    authentication, encrypted node disks and Kubernetes secrets, deletion protection.
    """

    placement: Placement
    """Cloud, region and the explicit provider every child resource uses."""
    gpu_type: str
    """Neutral GPU name from infra.catalog (t4, l4, a100-80gb, ...); labels the GPU nodes."""
    gpu_machine_type: str
    """Instance type / machine type / VM size of the GPU nodes (g6.xlarge, g2-standard-8, ...)."""
    gpu_accelerator: str | None
    """GCP only, required there: the guest accelerator attached to each node (nvidia-l4, ...).
    Ignored on aws and azure, where the instance type carries the GPUs."""
    gpus_per_node: int
    """GPUs each GPU node carries (1-8); one inference replica takes a whole node."""
    gpu_node_count: int
    """GPU nodes started when the pool is created (the program passes 1 for warm capacity,
    nodeCount for full). Afterwards the cloud's autoscaler owns the live size between
    GPU_NODE_FLOOR and `gpu_max_node_count`, and `pulumi up` never resets it."""
    gpu_max_node_count: int
    """Autoscaling ceiling of the GPU pool; at least `gpu_node_count`. On EKS the Cluster
    Autoscaler this component installs scales up to it."""
    kubernetes_version: str = KUBERNETES_VERSION
    """Kubernetes minor version (`1.35`); patch versions follow the cloud's upgrade channel."""
    system_node_count: int = 2
    """CPU nodes for cluster add-ons (CoreDNS, device plugin, metrics). On gcp the cluster is
    regional and the system pool runs one node per zone of the region instead."""
    system_machine_type: str | None = None
    """CPU node size; None picks m6i.large / e2-standard-4 / Standard_D4ds_v5."""
    gpu_node_disk_size_gib: int = 300
    """Boot disk of each GPU node: holds the serving image and the model copy (encrypted)."""
    api_allowed_cidrs: tuple[str, ...] = ()
    """CIDRs that may reach the Kubernetes API endpoint. Empty (default): any address, but every
    request still needs cloud IAM credentials; the deployer (CI, a laptop) runs outside the VPC,
    so the endpoint cannot be private-only. Set your CI egress ranges to narrow it."""
    deletion_protection: bool = True
    """Cluster deletion protection on (EKS/GKE flag; `protect` on AKS). Set False for throwaway
    test stacks, then `pulumi destroy` works in one step."""
    # Placement (GPU-aware zones).
    gpu_zones: tuple[str, ...] = ()
    """Zones of the GPU pool: aws zone IDs (use1-az1), gcp zone names (us-central1-a), azure
    zone numbers (1). Empty (default): up to three zones where the cloud offers the GPU shape,
    asked at plan time; when set, each must be such a zone or the preview fails."""

    # On-prem target (issue 12): the existing cluster's GPU nodes and exposure.
    onprem: OnpremSite | None = None
    """Required on onprem (and only there): the cluster exists, the stack describes it."""

    def __post_init__(self) -> None:
        problems = [*_onprem_problems(self), *_gpu_pool_problems(self), *_cluster_problems(self)]
        if problems:
            raise InferenceClusterArgsError("InferenceClusterArgs", problems)


def _gpu_pool_problems(args: InferenceClusterArgs) -> list[Problem | str]:
    """The GPU pool: distinct zones, positive counts, at most 8 GPUs a node, a machine type."""
    problems: list[Problem | str] = []
    if len(set(args.gpu_zones)) != len(args.gpu_zones):
        problems.append(ArgProblem("gpu_zones", list(args.gpu_zones), "repeat a zone", verb="must not"))
    for field_name in ("gpus_per_node", "gpu_node_count", "gpu_max_node_count", "system_node_count"):
        value = getattr(args, field_name)
        if value < 1:
            problems.append(ArgProblem(field_name, value, "at least 1", "pass a positive count"))
    if args.gpus_per_node > 8:
        problems.append(ArgProblem("gpus_per_node", args.gpus_per_node, "at most 8", "no node sells more"))
    if args.gpu_max_node_count < args.gpu_node_count:
        problems.append(
            ArgProblem(
                "gpu_max_node_count",
                args.gpu_max_node_count,
                f"at least gpu_node_count ({args.gpu_node_count})",
                "raise maxNodeCount in the stack config",
            )
        )
    if not args.gpu_machine_type:
        problems.append(
            ArgProblem(
                "gpu_machine_type",
                args.gpu_machine_type,
                "set",
                "pick a shape from infra.catalog",
                shown="''",
            )
        )
    return problems


def _cluster_problems(args: InferenceClusterArgs) -> list[Problem | str]:
    """The cloud's requirements, the Kubernetes minor version, the node disk and the API CIDRs."""
    problems: list[Problem | str] = []
    cloud = args.placement.cloud
    if cloud == "gcp":
        if not args.gpu_accelerator:
            problems.append(
                ArgProblem(
                    "gpu_accelerator",
                    args.gpu_accelerator,
                    "required on gcp",
                    "pass the catalogue shape's accelerator, e.g. nvidia-l4 for g2-standard-8",
                    verb="is",
                    shown=repr(args.gpu_accelerator),
                )
            )
        if not args.placement.gcp_project:
            problems.append(
                ArgProblem("placement.gcp_project", None, "required on gcp", "set gcpProject", verb="is")
            )
    if cloud == "azure" and args.placement.azure_resource_group is None:
        problems.append(
            ArgProblem(
                "placement.azure_resource_group",
                None,
                "required on azure",
                "use Providers.placement('azure'), which creates the stack's resource group",
                verb="is",
            )
        )
    if not _K8S_MINOR.match(args.kubernetes_version):
        problems.append(
            ArgProblem(
                "kubernetes_version",
                args.kubernetes_version,
                f"a minor version such as {KUBERNETES_VERSION}",
                "patch versions are managed by the cloud",
            )
        )
    if args.gpu_node_disk_size_gib < 100:
        problems.append(
            ArgProblem(
                "gpu_node_disk_size_gib",
                args.gpu_node_disk_size_gib,
                "at least 100",
                "the serving image and the model copy live on it",
            )
        )
    for cidr in args.api_allowed_cidrs:
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            problems.append(
                ArgProblem("api_allowed_cidrs", cidr, "a CIDR such as 203.0.113.0/24", verb="entry must be")
            )
    return problems


def _onprem_problems(args: InferenceClusterArgs) -> list[Problem | str]:
    onprem, cloud = args.onprem, args.placement.cloud
    if cloud != "onprem":
        return (
            [ArgProblem("onprem", onprem, f"unset on {cloud}", shown=str(onprem))]
            if onprem is not None
            else []
        )
    if onprem is None:
        return [
            ArgProblem(
                "onprem",
                None,
                "required on onprem",
                "pass the site's OnpremSite (GPU nodes, exposure)",
                verb="is",
                shown="None",
            )
        ]
    problems: list[Problem | str] = []
    if onprem.exposure not in ("loadBalancerAddress", "externalIp"):
        problems.append(ArgProblem("onprem.exposure", onprem.exposure, "loadBalancerAddress or externalIp"))
    try:
        ipaddress.IPv4Address(onprem.exposure_address)
    except ValueError:
        problems.append(ArgProblem("onprem.exposure_address", onprem.exposure_address, "an IPv4 address"))
    if not onprem.gpu.node_selector:
        problems.append(
            ArgProblem(
                "onprem.gpu.node_selector",
                onprem.gpu.node_selector,
                "the GPU nodes",
                "set gpuNodeSelector",
                verb="must select",
                shown="{}",
            )
        )
    return problems


class InferenceCluster(Protocol):
    """What every cloud's cluster component exposes (EKS, GKE, AKS and an on-prem site alike).

    Each class declares these as annotated class attributes with its own docstrings, set by
    the constructor's named steps (`_control_plane`, `_gpu_pool`, `_workload_identity`, ...)."""

    identity: WorkloadIdentity
    """Cloud identity of the inference pods (IRSA role / GCP service account / Azure UAMI; on-prem:
    the Kubernetes service account)."""
    federation_ready: pulumi.Resource
    """Created once trust in the cluster's tokens can be granted (EKS OIDC provider, GKE
    cluster and its Workload Identity pool, AKS cluster and its issuer); grants that federate
    this cluster's service accounts depend on it."""
    kubeconfig: pulumi.Output[str]
    """Secret kubeconfig using the cloud CLI's exec credential plugin (no static tokens)."""
    cluster_name: pulumi.Output[str]
    """Name of the Kubernetes cluster (on-prem: the site's name)."""
    gpu_pool_names: pulumi.Output[list[str]]
    """The GPU node pool's name (on-prem: the node selector of the site's GPU nodes)."""
    oidc_issuer_url: pulumi.Output[str]
    """Issuer of the cluster's service-account tokens, for keyless federation into other clouds."""
    k8s_provider: k8s.Provider
    """Explicit Kubernetes provider built from `kubeconfig`; reuse it for in-cluster objects."""
    gpu_zones: pulumi.Output[list[str]]
    """Zones the GPU pool uses, chosen where the cloud offers the GPU shape (or `gpu_zones`)."""
    image_puller: pulumi.Output[str]
    """The identity the GPU nodes pull images with (aws: node IAM role name; gcp: node service
    account email; azure: kubelet identity object id), for the stack's image registry grant."""
    public_address: PublicAddress
    """The stack's static public addresses (EIPs / reserved address / public IP) and how the
    inference Service binds to them; DNS points at these."""


@dataclass(frozen=True)
class InferenceWorkloadArgs:
    """An OpenAI-compatible server (vLLM) on the GPU pool, behind a LoadBalancer Service.

    The model is read from the stack's own bucket as the workload identity: streamed by the server
    on aws and gcp, copied by an init container first on azure; the server never reaches a public
    model hub (HF_HUB_OFFLINE=1).
    """

    cloud: Cloud
    """Cloud of the cluster: picks the identity annotation, the fetch image and LB annotations."""
    k8s_provider: k8s.Provider
    """The cluster's explicit Kubernetes provider (InferenceCluster.k8s_provider)."""
    identity: WorkloadIdentity
    """Cloud identity the pods run as; its namespace and service account are created here."""
    image: pulumi.Input[str]
    """Serving image pinned by @sha256 digest, normally the stack's registry copy
    (ImageRegistry.image); a plain string is checked here, an Output by its producer."""
    model_name: str
    """Name the server exposes on /v1/models (`--served-model-name`)."""
    model_uri: pulumi.Input[str]
    """The stack's own copy of the model: s3://bucket/prefix/, gs://bucket/prefix/ or
    https://<account>.blob.core.windows.net/<container>/prefix/; must match `cloud`."""
    replicas: int
    """Server replicas (the program passes 1 for warm capacity). Each takes a whole GPU node."""
    gpus_per_replica: int
    """GPUs per replica: the `nvidia.com/gpu` limit and vLLM's tensor-parallel size."""
    secret_refs: pulumi.Input[Mapping[str, str]]
    """Secret config name -> cloud secret reference (Secrets Manager ARN,
    projects/<p>/secrets/<id>, https://<vault>.vault.azure.net/secrets/<name>). Each is read
    with the workload identity into an in-memory volume as a file named after the config name."""
    api_key_secret: str | None = "apiKey"
    """Secret (a key of `secret_refs`) that must be in the vault: the API key. The edge proxy,
    not the server, checks it (see `api_key_digests`); None skips the vault check."""
    server_port: int = 8000
    """Container port of the server; NetworkPolicy admits ingress to this port only."""
    service_port: int = 443
    """Load balancer port (HTTPS, the only listener); keep it equal to healthCheckPort."""
    model_volume_size_gib: int = 150
    """Size limit of the pod-local volume the model is copied into (also the pod's
    ephemeral-storage request, so the scheduler picks a node with room for it)."""
    model_load_budget_seconds: int = 2400
    """How long the server may take to load the model before the startup probe gives up."""
    model_download_budget_seconds: int = 1800
    """Time allowed for copying the model from the bucket; with the load budget it bounds the
    Deployment's progress deadline and how long `pulumi up` waits for readiness."""
    cpu_request_millicores: int = 2000
    memory_request_gib: int = 8
    """Memory request of the server. No limit: a replica owns its GPU node (taint + one GPU
    request per node), and an OOM kill mid-load costs a full reload."""
    fetch_image: str | None = None
    """Image of the init containers that copy the model and secrets; None picks the pinned
    cloud CLI (aws-cli / google-cloud-cli / azure-cli). Must be pinned like `image`."""
    extra_server_args: tuple[str, ...] = ()
    """Extra vLLM flags, e.g. ("--enable-prefix-caching",)."""
    tensor_parallel_size: int | None = None
    """GPUs the model is sharded over (--tensor-parallel-size); None: all `gpus_per_replica`."""
    max_model_len: int | None = None
    """Longest sequence the server accepts (--max-model-len); None: the model's trained context,
    which vLLM refuses when its KV cache does not fit (infra/fit.py checks it)."""
    gpu_memory_utilization: float | None = None
    """Share of GPU memory vLLM may use (--gpu-memory-utilization); None: vLLM's 0.9."""
    wait_for_ready: bool = True
    """`pulumi up` waits until every replica has copied and loaded the model and is ready (up
    to the download + load budgets). Set False when the bucket is filled after the deploy (a
    first standby deploy waiting for replication); readiness is then left to health checks."""
    load_balancer_source_cidrs: tuple[str, ...] = ()
    """Client CIDRs the load balancer admits. Empty (default): any address, since clients and
    the DNS health checkers are on the internet; /v1 is guarded by the API key."""
    health_checker_cidrs: pulumi.Input[Sequence[str]] = ()
    """The DNS authority's health-checker ranges (components.dns.health_checkers), added to
    `load_balancer_source_cidrs` when that is set so /health stays probeable; unused when it is
    empty (any address is admitted then)."""
    health_checker_annotations: Mapping[str, str] | None = None
    """Service annotations admitting the health checkers by name (AKS service tags); applied
    only together with `load_balancer_source_cidrs`."""
    # Static public address (issue 9, item 2).
    public_address: PublicAddress | None = None
    """The cluster's static addresses (InferenceCluster.public_address): the Service is bound to
    them and `endpoint_host` is the first of them, known without waiting for the Service. None:
    an ephemeral load balancer address read from the Service status."""

    # Edge (TLS and API key in front of the server): see edge_proxy.py and cert_manager.py.
    service_name: str = ""
    """The name clients use (`dnsRecord`.`dnsZone`); the edge serves a certificate for it. Required."""
    api_key_digests: pulumi.Input[str] | None = None
    """Content of the edge's key file: one SHA-256 hex digest per valid key (apiKey, apiKeyNext;
    `edge_proxy.render_key_digests`). Held in a Kubernetes Secret the proxy mounts, so a rotation
    reaches running pods without a restart. Required: no key means nothing but /health answers."""
    tls_source: str = "acme"
    """acme: `certificate_issuer` issues the certificate through cert-manager into a Secret;
    provided: the init container copies `tls_certificate_secret` / `tls_key_secret` from the vault."""
    certificate_issuer: str | None = None
    """acme only: the cert-manager ClusterIssuer (CertManager.issuer_name). Required for acme."""
    provided_certificate_sha256: pulumi.Input[str] | None = None
    """provided only: digest of the PEM chain, put on the pod template so a replaced certificate
    rolls the pods (the init container reads the vault only at pod start)."""
    tls_certificate_secret: str = "tlsCertificateChain"
    tls_key_secret: str = "tlsPrivateKey"
    """provided only: names (keys of `secret_refs`) of the PEM chain and key in the vault."""
    # On-prem target (issue 12): GPU node description and the site's endpoints.
    gpu_scheduling: GpuScheduling = CLOUD_GPU_SCHEDULING
    """Node selector, toleration and GPU resource of the pods; the clouds' GPU pools by default."""
    model_endpoint: str | None = None
    """onprem only: https:// URL of the S3-compatible store `model_uri` (s3://) lives in."""
    egress_ports: tuple[int, ...] = (443,)
    """onprem only: TCP ports of the site's store and vault the pods may reach (any address but
    link-local and loopback: site services have private addresses)."""
    mirror_registry: str | None = None
    """onprem only: the site registry (imageRegistry); the edge proxy image is pulled from it at
    the same path and digest, so nodes never reach a public registry."""
    # OpenBao / Vault (issue 12): components/inference_cluster/vault_secrets.py.
    vault_login: VaultLogin | None = None
    """onprem (required there): how the read-secrets init container logs in to the stack's
    OpenBao / Vault (SecretsVault.workload_login); unused on the clouds (cloud identity)."""

    def __post_init__(self) -> None:
        problems = [
            *_edge_problems(self),
            *_onprem_workload_problems(self),
            *_server_problems(self),
            *_service_problems(self),
        ]
        if problems:
            raise InferenceClusterArgsError("InferenceWorkloadArgs", problems)


def _onprem_workload_problems(args: InferenceWorkloadArgs) -> list[Problem | str]:
    if args.cloud != "onprem":
        extra = [
            name
            for name, value in (
                ("model_endpoint", args.model_endpoint),
                ("mirror_registry", args.mirror_registry),
            )
            if value is not None
        ]
        return [
            ArgProblem(
                name,
                getattr(args, name),
                "for onprem only",
                "remove it",
                verb="is",
                shown=f"it on {args.cloud}",
            )
            for name in extra
        ]
    problems: list[Problem | str] = []
    if not (args.model_endpoint or "").startswith("https://"):
        problems.append(
            ArgProblem(
                "model_endpoint",
                args.model_endpoint,
                "the https:// URL of the site's S3-compatible store on onprem",
                "pass the model store's endpoint",
                shown=repr(args.model_endpoint),
            )
        )
    if not args.mirror_registry:
        problems.append(
            ArgProblem(
                "mirror_registry",
                args.mirror_registry,
                "required on onprem",
                "pass imageRegistry",
                verb="is",
                shown="nothing",
            )
        )
    if not args.egress_ports or not all(1 <= port <= 65535 for port in args.egress_ports):
        problems.append(
            ArgProblem("egress_ports", args.egress_ports, "TCP ports 1-65535", shown=str(args.egress_ports))
        )
    return problems


def _server_problems(args: InferenceWorkloadArgs) -> list[Problem | str]:
    """The model server: images pinned, replica and GPU counts, model length, memory share, name."""
    problems: list[Problem | str] = []
    if isinstance(args.image, str) and not _DIGEST_PINNED.search(args.image):
        problems.append(ArgProblem("image", args.image, "pinned by digest, <image>@sha256:<64 hex>"))
    if args.fetch_image is not None and not _is_pinned(args.fetch_image):
        problems.append(ArgProblem("fetch_image", args.fetch_image, "pinned to a version tag or digest"))
    if args.replicas < 1:
        problems.append(ArgProblem("replicas", args.replicas, "at least 1", "warm capacity runs one"))
    if not 1 <= args.gpus_per_replica <= 8:
        problems.append(ArgProblem("gpus_per_replica", args.gpus_per_replica, "between 1 and 8"))
    if args.tensor_parallel_size is not None and not 1 <= args.tensor_parallel_size <= args.gpus_per_replica:
        problems.append(
            ArgProblem(
                "tensor_parallel_size",
                args.tensor_parallel_size,
                f"between 1 and gpus_per_replica ({args.gpus_per_replica})",
            )
        )
    if args.max_model_len is not None and args.max_model_len < 1:
        problems.append(ArgProblem("max_model_len", args.max_model_len, "a positive token count"))
    if args.gpu_memory_utilization is not None and not 0 < args.gpu_memory_utilization <= 1:
        problems.append(
            ArgProblem("gpu_memory_utilization", args.gpu_memory_utilization, "greater than 0 and at most 1")
        )
    if not args.model_name.strip():
        problems.append(
            ArgProblem("model_name", args.model_name, "set", "it is what clients pass as `model`", shown="''")
        )
    return problems


def _service_problems(args: InferenceWorkloadArgs) -> list[Problem | str]:
    """Ports, rollout budgets, the model volume, client CIDRs and the identity's cloud."""
    problems: list[Problem | str] = []
    for field_name in ("server_port", "service_port"):
        port = getattr(args, field_name)
        if not 1 <= port <= 65535:
            problems.append(ArgProblem(field_name, port, "a TCP port 1-65535"))
    if args.model_load_budget_seconds < 60 or args.model_download_budget_seconds < 60:
        budgets = (args.model_load_budget_seconds, args.model_download_budget_seconds)
        problems.append(
            ArgProblem(
                "model_load_budget_seconds and model_download_budget_seconds",
                budgets,
                "at least 60",
                shown=f"{budgets[0]}, {budgets[1]}",
            )
        )
    if args.model_volume_size_gib < 1:
        problems.append(ArgProblem("model_volume_size_gib", args.model_volume_size_gib, "at least 1"))
    for cidr in args.load_balancer_source_cidrs:
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            problems.append(ArgProblem("load_balancer_source_cidrs", cidr, "a CIDR", verb="entry must be"))
    if args.identity.cloud != args.cloud:
        problems.append(
            f"identity is a {args.identity.cloud} identity but the workload runs on {args.cloud}: "
            "pass the cluster's own identity (InferenceCluster.identity)"
        )
    return problems


def _edge_problems(args: InferenceWorkloadArgs) -> list[Problem | str]:
    problems: list[Problem | str] = []
    if not args.service_name:
        problems.append(
            ArgProblem(
                "service_name",
                args.service_name,
                "the service's DNS name, e.g. api.example.com",
                "the edge serves a certificate for it",
                shown="''",
            )
        )
    if args.api_key_digests is None:
        problems.append(
            ArgProblem(
                "api_key_digests",
                None,
                "set",
                "pass edge_proxy.render_key_digests([apiKey, apiKeyNext])",
                shown="None",
            )
        )
    if args.tls_source not in ("acme", "provided", "internal-ca"):
        problems.append(ArgProblem("tls_source", args.tls_source, "acme, provided or internal-ca"))
    if args.tls_source in ("acme", "internal-ca") and not args.certificate_issuer:
        problems.append(
            ArgProblem(
                "certificate_issuer",
                args.certificate_issuer,
                f"required with tls_source {args.tls_source}",
                "pass the issuer name of CertManager or InternalCa, or use tls_source provided",
                verb="is",
                shown="nothing",
            )
        )
    if (args.cloud == "onprem") != (args.vault_login is not None):
        problems.append(
            "vault_login is required on onprem and unused on the clouds "
            f"(cloud {args.cloud}, got {'a login' if args.vault_login else 'None'}): "
            "pass SecretsVault.workload_login"
        )
    if args.service_port != 443:
        problems.append(ArgProblem("service_port", args.service_port, "443", "the edge serves HTTPS only"))
    return problems


def _is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] not in ("", "latest")
