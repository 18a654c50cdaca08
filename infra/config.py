"""Typed, validated stack configuration.

`parse_config` is a pure function from the stack's raw config (what `pulumi config` holds, keys
without the project namespace) to a frozen `StackConfig`. Every problem is collected and reported
at once, each naming the key, the value given, what is allowed and where to fix it, so a user
fixes a broken stack file in one round trip rather than one error per `pulumi up`.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, cast

from components.image_registry.args import cache_problem, needs_credentials, parse_image, uses_credentials
from components.problems import Problem, listing
from infra import config_observability, config_onprem, config_powerdns, config_s3store, config_vault, settings
from infra.catalog import (
    CLOUDS,
    GPU_SHAPES,
    REGIONS,
    Cloud,
    GpuShape,
    gpu_types,
    shape_for,
    zone_example,
    zone_in_region,
)
from infra.config_observability import AlertingSettings
from infra.config_onprem import OnpremSettings
from infra.config_powerdns import PowerDnsSettings
from infra.config_s3store import S3StoreSettings
from infra.fit import ServingSettings, read_serving
from infra.network_access import NetworkAccess, parse_network_access
from infra.ownership import OwnershipInputs, read_ownership

PROJECT: Final = "inference-failover"

Role = Literal["primary", "standby"]
Capacity = Literal["warm", "full"]
Routing = Literal["failover", "weighted"]
ROLES: Final = cast(tuple[Role, ...], settings.SETTINGS["role"].choices)
CAPACITIES: Final = cast(tuple[Capacity, ...], settings.SETTINGS["capacity"].choices)
ROUTINGS: Final = cast(tuple[Routing, ...], settings.SETTINGS["dnsRouting"].choices)
HEALTH_CHECK_INTERVALS: Final = (10, 30)

# Every key the program reads (infra/settings.py). Anything else under our namespace is a typo and is
# reported.
KNOWN_KEYS: Final = settings.KEYS
DnsProvider = Literal["aws", "gcp", "azure", "powerdns"]
DNS_PROVIDERS: Final[tuple[str, ...]] = settings.SETTINGS["dnsProvider"].choices
"""Where the service name can live: a cloud's DNS, or a self-hosted PowerDNS (not every cloud)."""
DOCKER_HUB_TOKEN: Final = "dockerHubAccessToken"
"""Secret config key: the Docker Hub access token the stack's image cache pulls with."""

_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_STACK_REF = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
SECRET_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9]{0,62}$")
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


@dataclass(frozen=True)
class ConfigProblem(Problem):
    """A problem with one stack config key; its code is the setting's (infra/settings.py)."""

    def __post_init__(self) -> None:
        if not self.code:
            object.__setattr__(self, "code", settings.code_for(self.key))


class ConfigError(ValueError):
    """All problems found in one stack's config, each listed with its code."""

    def __init__(self, stack: str, problems: list[ConfigProblem]) -> None:
        self.stack = stack
        self.problems = problems
        lines = listing(problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{len(problems)} {noun} in the config of stack '{stack}':\n{lines}")


@dataclass(frozen=True)
class GpuPool:
    gpu_type: str
    gpus_per_node: int
    shape: GpuShape
    node_count: int
    """GPU nodes at full capacity."""
    max_node_count: int
    zones: tuple[str, ...] = ()
    """gpuZones: explicit zones of the GPU pool; empty picks them from the cloud's offerings."""


@dataclass(frozen=True)
class DnsSettings:
    provider: DnsProvider
    """Cloud holding the DNS authority, or powerdns (self-hosted); independent of the stack's cloud."""
    zone: str
    record: str
    ttl_seconds: int
    routing: Routing
    weight: int
    """0-100: share of traffic this stack's record takes in weighted routing."""
    health_check_path: str
    health_check_port: int
    health_check_interval_seconds: int
    health_check_failure_threshold: int
    azure_resource_group: str | None
    """Azure only: resource group holding the zone; Traffic Manager lives there too."""
    gcp_managed_zone: str
    """GCP only: Cloud DNS managed-zone name; defaults to the zone with dots as dashes."""
    powerdns: PowerDnsSettings | None = None
    """powerdns only: the PowerDNS HTTP API (infra/config_powerdns.py)."""

    @property
    def fqdn(self) -> str:
        return f"{self.record}.{self.zone}"


TlsSource = Literal["acme", "provided", "internal-ca"]
TLS_SOURCES: Final = cast(tuple[TlsSource, ...], settings.SETTINGS["tlsCertificate"].choices)
LETS_ENCRYPT: Final = "https://acme-v02.api.letsencrypt.org/directory"
OFFLINE_SECRET_PLACEHOLDER: Final = "offline-plan-placeholder-secret"
"""What the offline plan puts in for a secret it cannot read (offline.harness.SECRET_PLACEHOLDER)."""


@dataclass(frozen=True)
class EdgeSettings:
    tls_source: TlsSource = "acme"
    """acme: cert-manager gets the certificate by DNS-01; provided: tlsCertificateChain/tlsPrivateKey;
    internal-ca: cert-manager gets it from the internal CA (StackConfig.internal_ca)."""
    acme_server: str = LETS_ENCRYPT
    has_next_key: bool = False
    """apiKeyNext is set: both keys are valid (a rotation in progress)."""

    @property
    def secret_names(self) -> tuple[str, ...]:
        """Secret config keys the edge adds to the vault."""
        names: tuple[str, ...] = ("apiKeyNext",) if self.has_next_key else ()
        if self.tls_source == "provided":
            names += ("tlsCertificateChain", "tlsPrivateKey")
        return names


@dataclass(frozen=True)
class StackConfig:
    stack: str
    cloud: Cloud
    role: Role
    region: str
    capacity: Capacity
    gcp_project: str | None
    gpu: GpuPool
    replicas: int
    """Inference replicas at full capacity (warm runs one)."""
    serving_image: str
    model_name: str
    model_path: str
    """Prefix inside this stack's model bucket, always ending in '/'."""
    secret_names: tuple[str, ...]
    dns: DnsSettings
    primary_stack: str | None
    primary_cloud: Cloud | None
    replication_interval_minutes: int
    replication_paused: bool = False
    wait_for_model: bool = False
    """`pulumi up` waits for every replica to load the model (needs the model in the bucket)."""
    """Standby only: copying from the primary is suspended (CronJob suspended / transfer job disabled)."""
    warnings: tuple[str, ...] = field(default=())
    network: NetworkAccess = field(default=NetworkAccess())
    """Source ranges of the Kubernetes API, the service and the Azure data planes."""
    alerting: AlertingSettings | None = None
    """Alert thresholds, notification targets and budget (infra/config_observability.py)."""
    ownership: OwnershipInputs | None = None
    """On-prem only: hardware, power and operations figures infra.cost prices (infra/ownership.py)."""
    rto_target_seconds: int | None = None
    """Automatic DNS failover must complete within this (None: no target); see infra/targets.py."""
    rpo_target_minutes: int | None = None
    """Standby only: model artefacts may lag the primary by at most this (None: no target)."""
    audit_retention_days: int = 365
    """Each audit record is write-once (object lock / locked retention / immutability) this long."""
    edge: EdgeSettings = field(default_factory=EdgeSettings)
    """TLS certificate source and API keys of the edge proxy."""
    serving: ServingSettings | None = None
    """Model, context length, memory share and tensor parallelism the server starts with (always
    set by parse_config; None only for configs built by hand)."""
    docker_hub_username: str | None = None
    """Upstream account of the image cache; its token is the secret `dockerHubAccessToken`."""
    onprem: OnpremSettings | None = None
    """cloud: onprem only: the existing cluster, its GPU nodes and exposure (infra/config_onprem.py)."""
    # Vault (issue 12): infra/config_vault.py.
    vault: config_vault.VaultSettings | None = None
    """cloud: onprem: the OpenBao / Vault holding the stack's secrets; None on the clouds."""
    internal_ca: config_vault.InternalCaSettings | None = None
    """tlsCertificate: internal-ca: who signs the edge certificate; None otherwise."""
    s3_store: S3StoreSettings | None = None
    """onprem only: the S3-compatible model store (infra/config_s3store.py)."""

    @property
    def is_standby(self) -> bool:
        return self.role == "standby"

    @property
    def effective_replicas(self) -> int:
        return 1 if self.capacity == "warm" else self.replicas

    @property
    def effective_node_count(self) -> int:
        return 1 if self.capacity == "warm" else self.gpu.node_count

    @property
    def effective_max_node_count(self) -> int:
        return 1 if self.capacity == "warm" else self.gpu.max_node_count

    @property
    def clouds_used(self) -> tuple[Cloud, ...]:
        """Clouds this stack needs a provider for, own cloud first."""
        used: list[Cloud] = [self.cloud]
        for other in (self.dns.provider, self.primary_cloud):
            if other is not None and other in CLOUDS and other not in used:
                used.append(other)
        return tuple(used)


class _Reader:
    """Reads raw string config, recording a problem instead of raising."""

    def __init__(self, raw: Mapping[str, str], stack: str, secret_keys: frozenset[str] = frozenset()) -> None:
        self.raw = raw
        self.stack = stack
        self.secret_keys = secret_keys
        self.problems: list[ConfigProblem] = []

    def where(self, key: str, example: str | None = None) -> str:
        if example is None:
            return f"set it in Pulumi.{self.stack}.yaml"
        return f"set it with `pulumi config set {key} {example} -s {self.stack}`"

    def problem(self, key: str, got: object, expected: str, fix: str | None = None) -> None:
        self.problems.append(ConfigProblem(key, got, expected, fix or self.where(key)))

    def text(self, key: str, *, required: bool = True, example: str | None = None) -> str | None:
        value = self.raw.get(key)
        if value is None or value.strip() == "":
            if required:
                self.problem(key, None, "set", self.where(key, example))
            return None
        return value.strip()

    def choice(self, key: str, allowed: tuple[str, ...], *, required: bool = True) -> str | None:
        value = self.text(key, required=required, example=allowed[0])
        if value is not None and value not in allowed:
            self.problem(key, value, f"one of {', '.join(allowed)}")
            return None
        return value

    def pick(self, key: str, *, required: bool = True) -> str | None:
        """One of the setting's choices (infra/settings.py)."""
        return self.choice(key, settings.SETTINGS[key].choices, required=required)

    def limited(self, key: str, *, default: int | None = None) -> int | None:
        """An integer within the setting's limits; unset: `default`, else the schema default."""
        setting = settings.SETTINGS[key]
        assert setting.low is not None, key
        fallback = cast(int | None, setting.default) if default is None else default
        return self.integer(key, low=setting.low, high=setting.high, default=fallback)

    def integer(
        self, key: str, *, low: int, high: int | None = None, default: int | None = None
    ) -> int | None:
        value = self.raw.get(key)
        if value is None or value.strip() == "":
            if default is None:
                self.problem(key, None, _range(low, high), self.where(key, str(low)))
            return default
        try:
            number = int(value)
        except ValueError:
            self.problem(key, value, f"an integer {_range(low, high)}")
            return None
        if number < low or (high is not None and number > high):
            self.problem(key, number, _range(low, high))
            return None
        return number

    def string_list(self, key: str, default: list[str]) -> list[str]:
        value = self.raw.get(key)
        if value is None:
            return default
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            self.problem(
                key, value, "a list of strings", f"write it as a YAML list in Pulumi.{self.stack}.yaml"
            )
            return default
        return items


def _range(low: int, high: int | None) -> str:
    return f"between {low} and {high}" if high is not None else f"at least {low}"


def _uses_account(image: str | None, cloud: Cloud | None) -> bool:
    try:
        return image is None or cloud is None or uses_credentials(cloud, image)
    except ValueError:
        return True  # a malformed image is reported by _image_supply


def _image_supply(
    r: _Reader, raw: Mapping[str, str], secret_keys: frozenset[str], image: str | None, cloud: Cloud | None
) -> str | None:
    """servingImage is pinned by digest and cacheable on this cloud; Docker Hub credentials where needed."""
    user = r.text("dockerHubUsername", required=False)
    if image is None:
        return user
    try:
        ref = parse_image(image)
    except ValueError as exc:
        r.problem(
            "servingImage",
            image,
            str(exc),
            f"append the digest, e.g. vllm/vllm-openai:v0.11.0@sha256:<digest> (`docker buildx imagetools "
            f"inspect <image>` prints it) in Pulumi.{r.stack}.yaml",
        )
        return user
    if cloud is None:
        return user
    why = cache_problem(cloud, ref)
    if why:
        r.problem("servingImage", image, why, "mirror the image to one of those registries")
        return user
    needs = needs_credentials(cloud, image)
    if needs and user is None:
        r.problem(
            "dockerHubUsername",
            None,
            "set on aws: ECR's pull-through cache only reaches Docker Hub with an account",
            r.where("dockerHubUsername", "<docker-hub-user>"),
        )
    if (
        needs or (user is not None and uses_credentials(cloud, image))
    ) and DOCKER_HUB_TOKEN not in secret_keys:
        shown = None if DOCKER_HUB_TOKEN not in raw else "<plain text>"
        r.problem(
            DOCKER_HUB_TOKEN,
            shown,
            "set as a secret (a Docker Hub access token for dockerHubUsername)",
            f"run `pulumi config set --secret {DOCKER_HUB_TOKEN} <token> -s {r.stack}`",
        )
    return user


@dataclass(frozen=True)
class _Core:
    """What the other steps depend on: where the stack runs, its role and its DNS authority."""

    cloud: Cloud | None
    role: Role | None
    region: str | None
    capacity: Capacity
    dns_provider: DnsProvider | None
    primary_cloud: Cloud | None
    onprem: OnpremSettings | None
    gcp_project: str | None


@dataclass(frozen=True)
class _Gpu:
    gpu_type: str | None
    gpus_per_node: int | None
    shape: GpuShape | None
    node_count: int | None
    max_nodes: int | None
    replicas: int | None
    zones: list[str]


@dataclass(frozen=True)
class _Workload:
    image: str | None
    docker_hub_user: str | None
    model_name: str | None
    model_path: str | None
    serving: ServingSettings | None


@dataclass(frozen=True)
class _Dns:
    zone: str | None
    record: str
    ttl: int | None
    routing: Routing
    weight: int | None
    hc_path: str
    hc_port: int | None
    hc_interval: int | None
    hc_threshold: int | None
    resource_group: str | None
    managed_zone: str


@dataclass(frozen=True)
class _Standby:
    primary_stack: str | None
    interval: int | None
    wait_for_model: bool
    paused: bool


@dataclass(frozen=True)
class _Extras:
    """Network access, alerting, ownership, PowerDNS, the S3 store and the operations targets."""

    network: NetworkAccess
    alerting: AlertingSettings | None
    ownership: OwnershipInputs | None
    powerdns: PowerDnsSettings | None
    s3_store: S3StoreSettings | None
    rto_target: int | None
    rpo_target: int | None
    audit_days: int | None


def parse_config(
    raw: Mapping[str, str],
    stack: str,
    secret_keys: frozenset[str] = frozenset(),
) -> StackConfig:
    """Validate `raw` (un-namespaced keys) for `stack`; raise ConfigError listing every problem.

    `secret_keys` are the un-namespaced keys that Pulumi holds as secrets; each of `secretNames`
    must be one, so a secret value never sits in a stack file in plain text. The steps read the
    settings in a fixed order, so the problems are always listed in the same order.
    """
    r = _Reader(raw, stack, secret_keys)
    warnings: list[str] = []
    core = _placement(r, warnings)
    gpu = _gpu_pool(r, core)
    workload = _workload(r, core, gpu, warnings)
    secret_names = _secret_names(r)
    _unknown_keys(r, secret_names)
    dns = _dns(r, core)
    standby = _standby(r, core)
    extras = _extras(r, core, warnings)
    if core.role == "primary" and dns.weight == 0:
        warnings.append("trafficWeight is 0 on the primary: it serves only when the standby is unhealthy")
    edge = _edge_settings(r, raw, secret_keys, secret_names, f"{dns.record}.{dns.zone}" if dns.zone else None)
    _air_gap(r, core, workload, edge)
    vault = config_vault.read_vault(r, core.cloud)
    internal_ca = config_vault.read_internal_ca(r, edge.tls_source, vault, secret_keys)

    if r.problems:
        raise ConfigError(stack, r.problems)
    return _assemble(
        stack,
        (core, gpu, workload, dns, standby, extras),
        secret_names=(*secret_names, *edge.secret_names, *config_vault.secrets_of(internal_ca)),
        warnings=tuple(warnings),
        edge=edge,
        vault=vault,
        internal_ca=internal_ca,
    )


def _placement(r: _Reader, warnings: list[str]) -> _Core:
    """cloud, role, region, capacity, the DNS authority, the primary's cloud, on-prem, gcpProject."""
    cloud = cast(Cloud | None, r.pick("cloud"))
    role = cast(Role | None, r.pick("role"))

    region = r.text("region", example={"gcp": "us-central1", "azure": "eastus"}.get(cloud or "", "us-east-1"))
    if cloud in REGIONS and region is not None and region not in REGIONS[cloud]:
        r.problem("region", region, f"a {cloud} region such as {', '.join(sorted(REGIONS[cloud])[:4])}, ...")

    capacity_raw = r.pick("capacity", required=False)
    capacity = cast(Capacity, capacity_raw or ("warm" if role == "standby" else "full"))

    dns_provider = cast(DnsProvider | None, r.pick("dnsProvider"))
    primary_cloud = cast(Cloud | None, r.pick("primaryCloud", required=role == "standby"))
    onprem = config_onprem.read(r, r.raw, r.secret_keys, cloud)
    if onprem is not None:
        warnings.append(config_onprem.OBSERVABILITY_NOTE)

    gcp_project = r.text("gcpProject", required="gcp" in (cloud, dns_provider), example="my-project")
    if gcp_project is not None and not _GCP_PROJECT.match(gcp_project):
        r.problem("gcpProject", gcp_project, "a GCP project id (6-30 lowercase letters, digits, dashes)")
    return _Core(cloud, role, region, capacity, dns_provider, primary_cloud, onprem, gcp_project)


def _gpu_pool(r: _Reader, core: _Core) -> _Gpu:
    """gpuType x gpuCountPerNode (or gpuInstanceType) as a node shape, the pool's sizes, its zones."""
    gpu_type = r.text("gpuType", example="l4")
    gpus_per_node = r.limited("gpuCountPerNode")
    override = r.text("gpuInstanceType", required=False)
    shape: GpuShape | None = None
    if core.onprem is not None and gpu_type is not None and gpus_per_node is not None:
        shape = config_onprem.onprem_shape(gpu_type, gpus_per_node, core.onprem.gpu_memory_gib)
    elif core.cloud is not None and gpu_type is not None:
        shape = _cloud_shape(r, core.cloud, gpu_type, gpus_per_node, override)
    node_count = r.limited("nodeCount")
    max_nodes = r.limited("maxNodeCount", default=node_count or 1)
    if node_count is not None and max_nodes is not None and max_nodes < node_count:
        r.problem("maxNodeCount", max_nodes, f"at least nodeCount ({node_count})")
    replicas = r.limited("replicas")
    if replicas is not None and max_nodes is not None and replicas > max_nodes:
        r.problem(
            "replicas",
            replicas,
            f"at most maxNodeCount ({max_nodes}): each replica takes a whole GPU node",
            f"lower replicas or raise maxNodeCount in Pulumi.{r.stack}.yaml",
        )
    zones = _gpu_zones(r, core)
    return _Gpu(gpu_type, gpus_per_node, shape, node_count, max_nodes, replicas, zones)


def _cloud_shape(
    r: _Reader, cloud: Cloud, gpu_type: str, gpus_per_node: int | None, override: str | None
) -> GpuShape | None:
    """The cloud's node size for the GPU (a problem on gpuType, gpuCountPerNode or gpuInstanceType)."""
    if gpu_type not in GPU_SHAPES[cloud]:
        offered = {c: ", ".join(gpu_types(c)) for c in CLOUDS}
        r.problem(
            "gpuType",
            gpu_type,
            f"a GPU {cloud} offers: {offered[cloud]}",
            f"pick one in Pulumi.{r.stack}.yaml (" + "; ".join(f"{c}: {offered[c]}" for c in CLOUDS) + ")",
        )
        return None
    if gpus_per_node is None:
        return None
    shape = shape_for(cloud, gpu_type, gpus_per_node, override)
    if shape is None:
        options = [s for s in GPU_SHAPES[cloud][gpu_type] if override in (None, s.machine_type)]
        key = "gpuInstanceType" if override and not options else "gpuCountPerNode"
        choices = ", ".join(f"{s.machine_type} ({s.gpu_count} GPU)" for s in GPU_SHAPES[cloud][gpu_type])
        r.problem(
            key,
            override if key == "gpuInstanceType" else gpus_per_node,
            f"a {gpu_type} node size {cloud} sells: {choices}",
        )
    return shape


def _gpu_zones(r: _Reader, core: _Core) -> list[str]:
    """Placement (GPU-aware zones): the form is checked here, the offering at plan time."""
    gpu_zones = r.string_list("gpuZones", [])
    cloud, region = core.cloud, core.region
    if cloud in REGIONS and region is not None and region in REGIONS[cloud]:
        outside = [z for z in gpu_zones if not zone_in_region(cloud, region, z)]
        kind = {"aws": "zone IDs", "gcp": "zone names", "azure": "zone numbers 1-3"}[cloud]
        if outside:
            r.problem(
                "gpuZones",
                outside,
                f"{kind} of {region} such as {zone_example(cloud, region)}",
                f"fix or remove them in Pulumi.{r.stack}.yaml (unset: chosen from where the GPU is offered)",
            )
        elif len(set(gpu_zones)) != len(gpu_zones):
            r.problem("gpuZones", gpu_zones, "distinct zones", f"remove the repeats in Pulumi.{r.stack}.yaml")
    return gpu_zones


def _workload(r: _Reader, core: _Core, gpu: _Gpu, warnings: list[str]) -> _Workload:
    """servingImage and its supply, modelName, modelPath, and the model's fit on the GPU."""
    cloud = core.cloud
    image = r.text("servingImage", example="vllm/vllm-openai:v0.11.0@sha256:<digest>")
    docker_hub_user = _image_supply(r, r.raw, r.secret_keys, image, cloud if core.onprem is None else None)
    if docker_hub_user is not None and not _uses_account(image, cloud):
        warnings.append(
            f"dockerHubUsername is not used here: the {cloud} registry cache pulls this image's digest once, "
            "anonymously"
        )
    model_name = r.text("modelName", example="llama-3.1-8b-instruct")
    model_path = _model_path(r)
    serving, fit_problems = read_serving(
        r.raw,
        r.stack,
        cloud=cloud,
        gpu_type=gpu.gpu_type,
        shape=gpu.shape,
        model_name=model_name,
        gpu_gib=core.onprem.gpu_memory_gib if core.onprem is not None else None,
    )
    for key, got, expected, fix in fit_problems:
        r.problem(key, got, expected, fix or None)
    shape = gpu.shape
    idle = shape.gpu_count - serving.tensor_parallel_size if serving and shape else 0
    if serving is not None and shape is not None and idle > 0:
        warnings.append(
            f"tensorParallelSize {serving.tensor_parallel_size} leaves {idle} of the node's "
            f"{shape.gpu_count} GPUs idle (a replica takes the whole node)"
        )
    return _Workload(image, docker_hub_user, model_name, model_path, serving)


def _model_path(r: _Reader) -> str | None:
    """modelPath: a relative prefix inside the stack's bucket, always ending in '/'."""
    model_path = r.text("modelPath", example="models/llama-3.1-8b-instruct/")
    if model_path is not None:
        if "://" in model_path or model_path.startswith("/") or ".." in model_path.split("/"):
            r.problem(
                "modelPath",
                model_path,
                "a relative prefix inside this stack's model bucket, e.g. models/<name>/",
                "copy the artefacts into the stack's bucket; the model is never pulled from a public hub",
            )
        elif not model_path.endswith("/"):
            model_path += "/"
    return model_path


def _secret_names(r: _Reader) -> list[str]:
    """secretNames: plain names that are no other setting, each set as a secret."""
    secret_names = r.string_list("secretNames", ["apiKey"])
    for name in secret_names:
        if not SECRET_NAME.match(name) or name in KNOWN_KEYS:
            r.problem(
                "secretNames", name, "config key names (letters and digits) that are not other settings"
            )
        elif name not in r.raw:
            r.problem(
                name, None, "set as a secret", f"run `pulumi config set --secret {name} <value> -s {r.stack}`"
            )
        elif name not in r.secret_keys:
            r.problem(
                name,
                "<plain text>",
                "a secret, not plain text",
                f"run `pulumi config set --secret {name} <value> -s {r.stack}` and remove the plain value",
            )
    return secret_names


def _unknown_keys(r: _Reader, secret_names: list[str]) -> None:
    """Anything under our namespace that is neither a setting nor a named secret is a typo."""
    for key in sorted(set(r.raw) - KNOWN_KEYS - set(secret_names)):
        shown = "<secret>" if key in r.secret_keys else r.raw[key]
        r.problems.append(
            ConfigProblem(
                key,
                shown,
                "a known key",
                f"remove it from Pulumi.{r.stack}.yaml (typo? known keys are in Pulumi.yaml)",
                code=settings.UNKNOWN_KEY,
            )
        )


def _dns(r: _Reader, core: _Core) -> _Dns:
    """The zone and record, TTL, routing, this stack's weight and the health check."""
    zone = r.text("dnsZone", example="example.com")
    if zone is not None:
        zone = zone.rstrip(".").lower()
        if not _DNS_NAME.match(zone):
            r.problem("dnsZone", zone, "a DNS zone name such as example.com")
    record = r.text("dnsRecord", required=False) or "api"
    if not _DNS_LABEL.match(record):
        r.problem("dnsRecord", record, "one DNS label (lowercase letters, digits, dashes)")
    ttl = r.limited("dnsTtlSeconds")
    routing = cast(Routing, r.pick("dnsRouting", required=False) or "failover")
    weight = r.limited("trafficWeight", default=100 if core.role == "primary" else 0)
    hc_path = r.text("healthCheckPath", required=False) or "/health"
    if not hc_path.startswith("/"):
        r.problem("healthCheckPath", hc_path, "an absolute HTTP path such as /health")
    hc_port = r.limited("healthCheckPort")
    hc_interval = r.limited("healthCheckIntervalSeconds")
    if hc_interval is not None and hc_interval not in HEALTH_CHECK_INTERVALS:
        r.problem(
            "healthCheckIntervalSeconds", hc_interval, "10 or 30 (what Route 53 and Traffic Manager support)"
        )
    hc_threshold = r.limited("healthCheckFailureThreshold")
    dns_rg = r.text("dnsResourceGroup", required=core.dns_provider == "azure", example="dns-rg")
    managed_zone = r.text("dnsManagedZone", required=False) or (zone or "").replace(".", "-")
    return _Dns(
        zone, record, ttl, routing, weight, hc_path, hc_port, hc_interval, hc_threshold, dns_rg, managed_zone
    )


def _standby(r: _Reader, core: _Core) -> _Standby:
    """Standby wiring: the primary's stack and cloud, the replication schedule, waitForModel."""
    role, stack = core.role, r.stack
    primary_stack = r.text(
        "primaryStack", required=role == "standby", example="acme/inference-failover/primary"
    )
    remove = f"remove it from Pulumi.{stack}.yaml"
    if primary_stack is not None:
        if role == "primary":
            r.problem("primaryStack", primary_stack, "unset on a primary stack", remove)
        elif not _STACK_REF.match(primary_stack):
            r.problem("primaryStack", primary_stack, "a fully qualified stack name org/project/stack")
    if role == "primary" and r.raw.get("primaryCloud"):
        r.problem("primaryCloud", r.raw["primaryCloud"], "unset on a primary stack", remove)
    primary_cloud, cloud = core.primary_cloud, core.cloud
    if role == "standby" and primary_cloud is not None and primary_cloud == cloud and core.onprem is None:
        r.problem(
            "primaryCloud",
            primary_cloud,
            f"a cloud other than this stack's ({cloud})",
            "a standby on the primary's own cloud shares its failure domain; pick another cloud",
        )
    interval = r.limited("replicationIntervalMinutes")
    wait_for_model = r.pick("waitForModel", required=False) == "true"
    paused = r.pick("replicationPaused", required=False) == "true"
    if paused and role == "primary":
        r.problem(
            "replicationPaused", True, "unset on a primary stack (replication runs in the standby)", remove
        )
    return _Standby(primary_stack, interval, wait_for_model, paused)


def _extras(r: _Reader, core: _Core, warnings: list[str]) -> _Extras:
    """Network access, alerting, ownership, PowerDNS, the S3 store, and the operations settings."""
    network = parse_network_access(
        r.raw,
        r.stack,
        cloud=core.cloud,
        dns_provider=core.dns_provider,
        primary_cloud=core.primary_cloud if core.role == "standby" else None,
        problem=r.problem,
        warnings=warnings,
    )
    alerting = config_observability.read_alerting(r, core.cloud)
    owned = read_ownership(r, core.cloud)
    powerdns = config_powerdns.read_powerdns(r, r.raw, r.secret_keys, core.dns_provider, warnings)
    s3_store = config_s3store.read_s3_store(r, core.cloud, core.role)
    warnings += config_s3store.warnings_for(s3_store)
    # Operations: recovery targets (checked against the config in infra/targets.py) and audit retention.
    rto_target = r.limited("rtoTargetSeconds", default=0) or None
    rpo_target = r.limited("rpoTargetMinutes", default=0) or None
    audit_days = r.limited("auditRetentionDays")
    if r.raw.get("apiKeyNext") is not None and "apiKeyNext" not in r.secret_keys:
        r.problem(
            "apiKeyNext",
            "<plain text>",
            "a secret, not plain text",
            f"run `pulumi config set --secret apiKeyNext <value> -s {r.stack}` and remove the plain value",
        )
    _canary_thresholds(r)
    return _Extras(network, alerting, owned, powerdns, s3_store, rto_target, rpo_target, audit_days)


def _canary_thresholds(r: _Reader) -> None:
    """Canary thresholds (cutover/canary.py): positive numbers, the error rate a percentage."""
    for key, high in (("canaryMaxErrorRatePercent", 100.0), ("canaryMaxP95LatencyMs", None)):
        threshold = r.raw.get(key)
        if threshold is None:
            continue
        try:
            number = float(threshold)
        except ValueError:
            number = float("nan")
        if not (0 < number < float("inf")) or (high is not None and number > high):
            limit = f" and at most {high:g}" if high is not None else ""
            r.problem(key, threshold, f"a number above 0{limit}")


def _air_gap(r: _Reader, core: _Core, workload: _Workload, edge: EdgeSettings) -> None:
    """An air-gapped site: every run-time dependency on the internet is a problem."""
    if core.onprem is None or not core.onprem.air_gapped:
        return
    air_gap = config_onprem.AirGapInputs(
        r.stack,
        workload.image,
        core.onprem.image_registry,
        edge.tls_source,
        core.dns_provider,
        core.primary_cloud,
        core.role,
        workload.model_path,
        r.raw,
    )
    for problem in config_onprem.air_gap_problems(air_gap):
        r.problem(*problem)


def _assemble(
    stack: str,
    steps: tuple[_Core, _Gpu, _Workload, _Dns, _Standby, _Extras],
    *,
    secret_names: tuple[str, ...],
    warnings: tuple[str, ...],
    edge: EdgeSettings,
    vault: config_vault.VaultSettings | None,
    internal_ca: config_vault.InternalCaSettings | None,
) -> StackConfig:
    """The StackConfig of a config without problems (every required value is set by now)."""
    core, gpu, workload, dns, standby, extras = steps
    cloud, role, region = core.cloud, core.role, core.region
    gpu_type, shape, image, serving = gpu.gpu_type, gpu.shape, workload.image, workload.serving
    model_name, model_path = workload.model_name, workload.model_path
    assert cloud and role and region and gpu_type and shape and image and model_name and model_path
    assert serving is not None and core.dns_provider and dns.zone
    assert gpu.gpus_per_node and gpu.node_count and gpu.max_nodes and gpu.replicas
    assert dns.ttl and dns.weight is not None and dns.hc_port and dns.hc_interval and dns.hc_threshold
    assert standby.interval
    return StackConfig(
        stack=stack,
        cloud=cloud,
        role=role,
        region=region,
        capacity=core.capacity,
        gcp_project=core.gcp_project,
        gpu=GpuPool(
            gpu_type, gpu.gpus_per_node, shape, gpu.node_count, gpu.max_nodes, zones=tuple(gpu.zones)
        ),
        replicas=gpu.replicas,
        serving_image=image,
        model_name=model_name,
        model_path=model_path,
        secret_names=tuple(dict.fromkeys(secret_names)),
        dns=DnsSettings(
            provider=core.dns_provider,
            zone=dns.zone,
            record=dns.record,
            ttl_seconds=dns.ttl,
            routing=dns.routing,
            weight=dns.weight,
            health_check_path=dns.hc_path,
            health_check_port=dns.hc_port,
            health_check_interval_seconds=dns.hc_interval,
            health_check_failure_threshold=dns.hc_threshold,
            azure_resource_group=dns.resource_group,
            gcp_managed_zone=dns.managed_zone,
            powerdns=extras.powerdns,
        ),
        primary_stack=standby.primary_stack if role == "standby" else None,
        primary_cloud=core.primary_cloud if role == "standby" else None,
        replication_interval_minutes=standby.interval,
        replication_paused=standby.paused,
        wait_for_model=standby.wait_for_model,
        warnings=warnings,
        network=extras.network,
        alerting=extras.alerting if core.onprem is None else None,
        rto_target_seconds=extras.rto_target,
        rpo_target_minutes=extras.rpo_target,
        audit_retention_days=extras.audit_days or 365,
        ownership=extras.ownership,
        serving=serving,
        docker_hub_username=workload.docker_hub_user,
        edge=edge,
        onprem=core.onprem,
        vault=vault,
        internal_ca=internal_ca,
        s3_store=extras.s3_store,
    )


# --- Edge: TLS certificate and API keys --------------------------------------------------------


def _edge_settings(
    r: _Reader, raw: Mapping[str, str], secret_keys: frozenset[str], secret_names: list[str], fqdn: str | None
) -> EdgeSettings:
    """TLS certificate source, ACME directory and API keys of the edge proxy."""
    source = cast(TlsSource, r.pick("tlsCertificate", required=False) or "acme")
    acme_server = r.text("acmeServer", required=False) or LETS_ENCRYPT
    if not acme_server.startswith("https://"):
        r.problem("acmeServer", acme_server, "an https:// ACME directory URL (default Let's Encrypt)")
    elif source == "provided" and raw.get("acmeServer"):
        r.problem(
            "acmeServer",
            acme_server,
            "unset with tlsCertificate: provided",
            f"remove it from Pulumi.{r.stack}.yaml",
        )
    _edge_health_check(r, raw)
    next_key = _edge_keys(r, raw, secret_keys, secret_names)
    if source == "provided":
        _provided_certificate(r, raw, fqdn)
    else:
        for key in ("tlsCertificateChain", "tlsPrivateKey"):
            if key in raw:
                r.problem(
                    key,
                    "<secret>",
                    f"unset with tlsCertificate: {source}",
                    f"set tlsCertificate: provided, or run `pulumi config rm {key} -s {r.stack}`",
                )
    return EdgeSettings(
        tls_source=source, acme_server=acme_server, has_next_key=bool(next_key and next_key.strip())
    )


def _edge_health_check(r: _Reader, raw: Mapping[str, str]) -> None:
    """The DNS health checks probe the edge's one unauthenticated route, /health on 443."""
    stack = r.stack
    # A value the general checks already refused (not a path, not an integer) is reported once.
    refused = {p.key for p in r.problems}
    path = (raw.get("healthCheckPath") or "/health").strip()
    if path != "/health" and "healthCheckPath" not in refused:
        r.problem(
            "healthCheckPath",
            path,
            "/health (the only route the edge answers without an API key)",
            f"remove healthCheckPath from Pulumi.{stack}.yaml",
        )
    port = (raw.get("healthCheckPort") or "443").strip()
    if port != "443" and "healthCheckPort" not in refused:
        r.problem(
            "healthCheckPort",
            port,
            "443 (the service listens on HTTPS 443 only; health checks probe /health over TLS)",
            f"remove healthCheckPort from Pulumi.{stack}.yaml",
        )


def _edge_keys(
    r: _Reader, raw: Mapping[str, str], secret_keys: frozenset[str], secret_names: list[str]
) -> str | None:
    """The certificate keys are secrets, apiKey is provisioned, apiKeyNext differs; returns apiKeyNext."""
    stack = r.stack
    secret_fix = "run `pulumi config set --secret {key} <value> -s " + stack + "`"
    for key in ("tlsCertificateChain", "tlsPrivateKey"):  # apiKeyNext: checked in _extras
        if key in raw and key not in secret_keys:
            r.problem(
                key,
                "<plain text>",
                "a secret, not plain text",
                secret_fix.format(key=key) + " and remove the plain value",
            )
    if "apiKey" not in secret_names:
        r.problem(
            "secretNames",
            secret_names,
            "a list that contains apiKey (the edge's API key)",
            f"add apiKey to secretNames in Pulumi.{stack}.yaml",
        )
    next_key = raw.get("apiKeyNext")
    if (
        next_key is not None
        and next_key.strip() != ""
        and next_key.strip() == (raw.get("apiKey") or "").strip()
    ):
        r.problem(
            "apiKeyNext",
            "<secret, equal to apiKey>",
            "a different key from apiKey (the next key of a rotation)",
            f"set a new random key with `pulumi config set --secret apiKeyNext <new key> -s {stack}`, "
            f"or remove it with `pulumi config rm apiKeyNext -s {stack}`",
        )
    return next_key


def _provided_certificate(r: _Reader, raw: Mapping[str, str], fqdn: str | None) -> None:
    """tlsCertificate: provided: both PEMs set, and the certificate usable for `fqdn` now."""
    stack = r.stack
    missing = [k for k in ("tlsCertificateChain", "tlsPrivateKey") if not (raw.get(k) or "").strip()]
    for key in missing:
        what = (
            "the PEM certificate chain (leaf first)"
            if key == "tlsCertificateChain"
            else "the PEM private key"
        )
        r.problem(
            key,
            None,
            f"set to {what} with tlsCertificate: provided",
            f"run `cat <file> | pulumi config set --secret {key} -s {stack}`, or use tlsCertificate: acme",
        )
    chain, key_pem = raw.get("tlsCertificateChain", ""), raw.get("tlsPrivateKey", "")
    # The offline plan puts the bare placeholder in, infra.check "<placeholder>:<key>".
    placeholder = any(str(v).startswith(OFFLINE_SECRET_PLACEHOLDER) for v in (chain, key_pem))
    if missing or placeholder or fqdn is None:
        return
    for problem in certificate_problems(chain, key_pem, fqdn):
        r.problem(
            "tlsCertificateChain",
            "<secret certificate>",
            problem,
            f"provide a certificate for {fqdn} with "
            f"`cat chain.pem | pulumi config set --secret tlsCertificateChain -s {stack}`, "
            "or use tlsCertificate: acme",
        )


def certificate_problems(
    chain_pem: str, key_pem: str, fqdn: str, now: datetime.datetime | None = None
) -> list[str]:
    """What is wrong with a provided certificate for `fqdn` (empty when it is usable)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certificates = x509.load_pem_x509_certificates(chain_pem.encode())
    except ValueError as exc:
        return [f"a PEM certificate chain (it does not parse: {exc})"]
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        return [f"paired with an unencrypted PEM private key in tlsPrivateKey (it does not load: {exc})"]
    leaf = certificates[0]
    problems = []
    now = now or datetime.datetime.now(datetime.UTC)
    if not leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc:
        problems.append(
            f"valid now (it is valid from {leaf.not_valid_before_utc:%Y-%m-%d} "
            f"to {leaf.not_valid_after_utc:%Y-%m-%d})"
        )
    try:
        names = leaf.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    if not any(_name_matches(pattern.lower(), fqdn) for pattern in names):
        problems.append(
            f"a certificate whose subject alternative names cover {fqdn} (it covers {names or 'none'})"
        )
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != leaf.public_key().public_bytes(
        serialization.Encoding.DER, public
    ):
        problems.append(
            "the certificate of the key in tlsPrivateKey (the leaf's public key does not match it)"
        )
    return problems


def _name_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def from_pulumi() -> StackConfig:
    """Read the running stack's config (inside a Pulumi program or under mocks)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    prefix = f"{PROJECT}:"
    raw: dict[str, str] = {}
    secret_keys: set[str] = set()
    # The language host (and our mocks harness) hand config over with set_all_config; older
    # hosts used the PULUMI_CONFIG environment variable. Read both, explicit config winning.
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    for full_key, value in everything.items():
        if full_key.startswith(prefix):
            key = full_key[len(prefix) :]
            raw[key] = value
            if runtime_config.is_config_secret(full_key):
                secret_keys.add(key)
    return parse_config(raw, pulumi.get_stack(), frozenset(secret_keys))
