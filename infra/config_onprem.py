"""Stack config of the on-prem target (issue 12): `cloud: onprem`, an existing Kubernetes cluster.

The stack deploys into a cluster it does not create: a kubeconfig (the secret `kubeconfig`, or
`kubeconfigPath` + `kubeContext`) reaches it, the config describes its GPU nodes (selector, taint,
resource name, GPU model or memory) and how the service is exposed (a MetalLB-style static
LoadBalancer address, or a Service external IP). `airGapped: true` refuses every dependency on
the internet at run time, listing them all at once.

infra/config.py calls `read` (every onprem key, on any stack) and `air_gap_problems` (once the
rest of the config is known); everything else here is pure and tested on its own.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, cast

import yaml

from infra import settings
from infra.catalog import GPU_SHAPES, GpuShape

if TYPE_CHECKING:
    from infra.config import _Reader

Exposure = Literal["loadBalancerAddress", "externalIp"]
EXPOSURES: Final[tuple[Exposure, ...]] = ("loadBalancerAddress", "externalIp")
TAINT_EFFECTS: Final = ("NoSchedule", "PreferNoSchedule", "NoExecute")
DEFAULT_GPU_RESOURCE: Final = "nvidia.com/gpu"
KUBECONFIG_SECRET: Final = "kubeconfig"
LETS_ENCRYPT_NAME: Final = "Let's Encrypt"
OFFLINE_PLACEHOLDER: Final = "offline-plan-placeholder-secret"
"""What the offline plan puts in for a secret it cannot read (offline.harness.SECRET_PLACEHOLDER)."""

# On-prem target (issue 12, core): cluster access, GPU nodes, exposure, local registry, air gap.
KEYS: Final = settings.area_keys("onprem")
"""The onprem settings (infra/settings.py)."""
ONPREM_ONLY: Final = KEYS - {"airGapped"}

_SITE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
# Kubernetes qualified names: an optional DNS-subdomain prefix, then a name of up to 63 characters.
_QUALIFIED = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_REGISTRY = re.compile(
    r"^(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)(:\d{1,5})?$"
)


@dataclass(frozen=True)
class GpuTaint:
    """`key=value:Effect` on the GPU nodes; the workload tolerates exactly this."""

    key: str
    value: str
    effect: str

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


@dataclass(frozen=True)
class OnpremSettings:
    """Everything the stack knows about the existing cluster and its site."""

    site: str
    """The stack's `region` on onprem: a short name of the site (names, labels, DNS comments)."""
    kubeconfig_path: str | None
    """kubeconfigPath: read by the Kubernetes provider at run time; None: the secret `kubeconfig`."""
    kube_context: str | None
    """kubeContext; None only with the secret kubeconfig (its current-context is used)."""
    gpu_node_selector: Mapping[str, str] = field(default_factory=dict)
    """Labels that select the GPU nodes (gpuNodeSelector)."""
    gpu_taint: GpuTaint | None = None
    """The taint the GPU nodes carry (gpuTaint); None: the nodes are not tainted."""
    gpu_resource_name: str = DEFAULT_GPU_RESOURCE
    """Extended resource the device plugin advertises (nvidia.com/gpu, or a MIG/shared name)."""
    gpu_memory_gib: float | None = None
    """gpuMemoryGiB: memory per GPU as nvidia-smi reports it (MiB / 1024); None: the catalogue's."""
    exposure: Exposure = "loadBalancerAddress"
    exposure_address: str = ""
    """The static IPv4 address clients and DNS reach the service on."""
    image_registry: str = ""
    """Host[:port] of the site's registry; every image the stack runs comes from it by digest."""
    air_gapped: bool = False


OBSERVABILITY_NOTE: Final = (
    "onprem: no metrics collection, alert rules or budget are deployed (they go to the clouds' managed "
    "Prometheus and budgets, which a site does not have); the server's metrics port stays closed by the "
    "NetworkPolicy. Watch the site with its own monitoring; the DNS health check still fails it over"
)


def catalogue_gpu_gib(gpu_type: str) -> int | None:
    """Marketed memory of a catalogue GPU (the smallest any cloud sells it with), or None."""
    sizes = [s.gpu_memory_gib for shapes in GPU_SHAPES.values() for s in shapes.get(gpu_type, ())]
    return min(sizes) if sizes else None


def catalogue_gpus() -> list[str]:
    return sorted({gpu for shapes in GPU_SHAPES.values() for gpu in shapes})


def onprem_shape(gpu_type: str, gpus_per_node: int, declared_gib: float | None) -> GpuShape | None:
    """The GPU nodes as a catalogue shape: `onprem:<gpu>` with the node's GPU count and memory."""
    gib = catalogue_gpu_gib(gpu_type)
    if declared_gib is not None:
        gib = round(declared_gib)
    if gib is None:
        return None
    return GpuShape(f"onprem:{gpu_type}", gpus_per_node, gib)


def kubeconfig_problem(text: str, context: str | None) -> str | None:  # noqa: PLR0911  one return per rule, in order
    """What is wrong with a kubeconfig for `context` (None: its current-context), or None."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return f"a kubeconfig in YAML (it does not parse: {str(exc).splitlines()[0]})"
    if not isinstance(doc, dict) or not isinstance(doc.get("contexts"), list):
        return "a kubeconfig with a `contexts` list (kind: Config)"

    def names(section: str) -> dict[str, dict[str, object]]:
        items = doc.get(section) or []
        return {
            str(i.get("name")): (i.get(section[:-1]) or {})
            for i in items
            if isinstance(i, dict) and isinstance(i.get(section[:-1]) or {}, dict)
        }

    contexts = names("contexts")
    wanted = context or doc.get("current-context")
    if not wanted:
        return f"a kubeconfig with a current-context, or set kubeContext to one of {sorted(contexts)}"
    if wanted not in contexts:
        return f"a kubeconfig with the context {wanted!r} (it has {sorted(contexts)})"
    ctx = contexts[str(wanted)]
    cluster = ctx.get("cluster")
    if cluster not in names("clusters"):
        return f"a kubeconfig whose context {wanted!r} names a cluster it defines (got {cluster!r})"
    server = str(names("clusters")[str(cluster)].get("server") or "")
    if not server.startswith("https://"):
        return f"a kubeconfig whose cluster {cluster!r} has an https:// server (got {server!r})"
    if ctx.get("user") not in names("users"):
        return f"a kubeconfig whose context {wanted!r} names a user it defines (got {ctx.get('user')!r})"
    return None


def parse_taint(value: str) -> GpuTaint | None:
    """`key[=value]:Effect`, as `kubectl taint` writes it; None when malformed."""
    head, colon, effect = value.rpartition(":")
    key, _, taint_value = head.partition("=")
    if not colon or effect not in TAINT_EFFECTS or not _QUALIFIED.match(key):
        return None
    if not _LABEL_VALUE.match(taint_value):
        return None
    return GpuTaint(key, taint_value, effect)


def read(
    r: _Reader, raw: Mapping[str, str], secret_keys: frozenset[str], cloud: str | None
) -> OnpremSettings | None:
    """The onprem keys: refused on a cloud stack, checked and returned on an onprem one."""
    if cloud != "onprem":
        _refuse_on_cloud(r, raw, secret_keys, cloud)
        return None
    site = (raw.get("region") or "").strip()
    if site and not _SITE.match(site):
        r.problem(
            "region",
            site,
            "on onprem, a site name of 1-32 lowercase letters, digits and dashes (e.g. fra-dc1)",
        )
    path, context = _cluster_access(r, raw, secret_keys)
    _refuse_cloud_keys(r, raw)
    selector = _selector(r, raw)
    taint = _taint(r)
    resource = r.text("gpuResourceName", required=False) or DEFAULT_GPU_RESOURCE
    if not _QUALIFIED.match(resource) or "/" not in resource or resource.startswith("kubernetes.io/"):
        r.problem(
            "gpuResourceName",
            resource,
            "an extended resource name such as nvidia.com/gpu (domain/name)",
            "copy it from the node's Allocatable in `kubectl describe node <gpu node>`",
        )
    memory = _gpu_memory(r, raw)
    exposure, address = _exposure(r, raw)
    registry = r.text("imageRegistry", example="registry.site.internal:5000") or ""
    if registry and not _REGISTRY.match(registry):
        r.problem("imageRegistry", registry, "a registry host[:port] such as registry.site.internal:5000")
    elif registry and (raw.get("airGapped") or "").strip() != "true":  # the air gap check lists it
        _image_on_registry(r, raw, registry)
    air_gapped = r.choice("airGapped", ("false", "true"), required=False) == "true"
    _site_requirements(r, raw, air_gapped)
    return OnpremSettings(
        site=site,
        kubeconfig_path=path,
        kube_context=context,
        gpu_node_selector=selector,
        gpu_taint=taint,
        gpu_resource_name=resource,
        gpu_memory_gib=memory,
        exposure=exposure,
        exposure_address=address,
        image_registry=registry,
        air_gapped=air_gapped,
    )


def _refuse_on_cloud(
    r: _Reader, raw: Mapping[str, str], secret_keys: frozenset[str], cloud: str | None
) -> None:
    """A cloud stack sets none of the onprem keys (airGapped: false is harmless)."""
    for key in sorted(k for k in KEYS if k in raw):
        if key == "airGapped" and raw[key].strip() in ("", "false"):
            continue
        shown = "<secret>" if key in secret_keys else raw[key]
        why = (
            f"a stack on {cloud} reaches the {cloud} APIs over the internet"
            if key == "airGapped"
            else "it describes an existing cluster"
        )
        r.problem(key, shown, "unset unless cloud is onprem", f"remove it from Pulumi.{r.stack}.yaml ({why})")


_CLOUD_ONLY: Final = {
    "gpuInstanceType": "the GPU nodes exist; describe them with gpuType or gpuMemoryGiB",
    "gpuZones": "the stack places no nodes; select them with gpuNodeSelector",
    "kubernetesApiAllowedCidrs": "the stack does not manage the existing cluster's API server",
    "dockerHubUsername": "images come from imageRegistry, never from Docker Hub",
}
"""Cloud settings an onprem stack refuses, and why."""


def _refuse_cloud_keys(r: _Reader, raw: Mapping[str, str]) -> None:
    """An onprem stack sets none of the cloud-only keys, nor a notification target or budget."""
    stack = r.stack
    for key, why in _CLOUD_ONLY.items():
        if key in raw:
            r.problem(key, raw[key], "unset on onprem", f"remove it from Pulumi.{stack}.yaml: {why}")
    # Thresholds have schema defaults and stay harmless; a notification target or budget would be
    # silently dropped, so they are refused.
    for key in sorted(k for k in ("alertNotify", "budgetMonthlyUsd", "gcpBillingAccount") if k in raw):
        if raw[key].strip() in ("", "[]"):
            continue
        r.problem(
            key,
            raw[key],
            "unset on onprem",
            f"remove it from Pulumi.{stack}.yaml: metrics, alerts and budgets go to the clouds' managed "
            "services, which an on-prem stack does not have; alert from the site's own Prometheus "
            "(rules: components/observability/rules.py)",
        )


def _taint(r: _Reader) -> GpuTaint | None:
    """gpuTaint as `kubectl taint` writes it (unset: the GPU nodes are not tainted)."""
    taint_raw = r.text("gpuTaint", required=False)
    if taint_raw is None:
        return None
    taint = parse_taint(taint_raw)
    if taint is None:
        r.problem(
            "gpuTaint",
            taint_raw,
            f"key[=value]:Effect with Effect one of {', '.join(TAINT_EFFECTS)} "
            "(as `kubectl taint` writes it)",
            f"copy it from `kubectl describe node <gpu node>` into Pulumi.{r.stack}.yaml, e.g. "
            "nvidia.com/gpu=present:NoSchedule",
        )
    return taint


def _exposure(r: _Reader, raw: Mapping[str, str]) -> tuple[Exposure, str]:
    """How clients reach the service: the exposure mode and its IPv4 address."""
    stack = r.stack
    exposure = cast(Exposure, r.choice("exposure", EXPOSURES) or "loadBalancerAddress")
    address = r.text("exposureAddress", example="203.0.113.10") or ""
    if address:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            ip = None
        if not isinstance(ip, ipaddress.IPv4Address):
            r.problem(
                "exposureAddress",
                address,
                "an IPv4 address (DNS answers A records with it)",
                f"set the address MetalLB announces (or the node's external IP) in Pulumi.{stack}.yaml",
            )
    _address_reachable(r, raw, address)
    if exposure == "externalIp" and (raw.get("allowedClientCidrs") or "").strip() not in ("", "[]"):
        r.problem(
            "allowedClientCidrs",
            raw["allowedClientCidrs"],
            "unset with exposure: externalIp (loadBalancerSourceRanges apply to LoadBalancer Services only)",
            "filter clients at the site's edge router, or use exposure: loadBalancerAddress "
            f"in Pulumi.{stack}.yaml",
        )
    return exposure, address


def _site_requirements(r: _Reader, raw: Mapping[str, str], air_gapped: bool) -> None:
    """A standby's read-only store key, and a certificate source the site can use."""
    stack = r.stack
    # A primary needs it for replication already (infra/config_s3store.py reports it there).
    if (raw.get("role") or "").strip() == "standby" and not (raw.get("s3ReadCredentialsPath") or "").strip():
        r.problem(
            "s3ReadCredentialsPath",
            None,
            "set on onprem: the inference pods stream the model with this read-only key (never the "
            "deployer's), copied into the stack's vault path",
            f"store a read-only key with `bao kv put -mount=<vaultKvMount> <path> access_key_id=... "
            f"secret_access_key=...` and run `pulumi config set s3ReadCredentialsPath <path> -s {stack}`",
        )
    if (raw.get("tlsCertificate") or "acme").strip() == "acme" and not air_gapped:  # air gap lists it
        r.problem(
            "tlsCertificate",
            "acme",
            "provided or internal-ca on onprem: ACME here needs keyless DNS-01 access from the site's "
            "cluster to the DNS authority, which only a cloud-managed cluster's token issuer gets",
            f"set tlsCertificate: internal-ca (or provided, with tlsCertificateChain and tlsPrivateKey) "
            f"in Pulumi.{stack}.yaml",
        )


def _cluster_access(
    r: _Reader, raw: Mapping[str, str], secret_keys: frozenset[str]
) -> tuple[str | None, str | None]:
    stack = r.stack
    secret = raw.get(KUBECONFIG_SECRET)
    path = r.text("kubeconfigPath", required=False)
    context = r.text("kubeContext", required=False)
    both = "set exactly one of kubeconfig (secret) and kubeconfigPath"
    if secret is not None and path is not None:
        r.problem(
            "kubeconfigPath",
            path,
            "unset when the secret kubeconfig is set",
            f"{both}: `pulumi config rm kubeconfigPath -s {stack}` "
            f"or `pulumi config rm kubeconfig -s {stack}`",
        )
        return None, context
    if secret is None and path is None:
        r.problem(
            "kubeconfig",
            None,
            "set on onprem (the existing cluster's kubeconfig), or kubeconfigPath with kubeContext",
            f'run `pulumi config set --secret kubeconfig "$(cat <file>)" -s {stack}`, or set '
            f"kubeconfigPath and kubeContext in Pulumi.{stack}.yaml",
        )
        return None, context
    if secret is not None:
        _secret_kubeconfig(r, secret, secret_keys, context)
        return None, context
    assert path is not None
    if context is None:
        r.problem(
            "kubeContext",
            None,
            "set with kubeconfigPath (a local file's current-context changes with "
            "`kubectl config use-context`)",
            r.where("kubeContext", "<context>"),
        )
    file = Path(os.path.expanduser(path))
    try:
        text = file.read_text()
    except OSError as exc:
        r.problem(
            "kubeconfigPath",
            path,
            f"a readable kubeconfig file ({exc.strerror or exc})",
            f"fix the path in Pulumi.{stack}.yaml (relative paths start at the project directory)",
        )
        return path, context
    if context is not None:
        why = kubeconfig_problem(text, context)
        if why is not None:
            key = "kubeContext" if "context" in why and "parse" not in why else "kubeconfigPath"
            r.problem(
                key,
                context if key == "kubeContext" else path,
                why,
                f"list the contexts with `kubectl --kubeconfig {path} config get-contexts` "
                f"and fix Pulumi.{stack}.yaml",
            )
    return path, context


def _secret_kubeconfig(r: _Reader, secret: str, secret_keys: frozenset[str], context: str | None) -> None:
    """The kubeconfig secret: held as a secret, and it parses with the context asked for."""
    stack = r.stack
    if KUBECONFIG_SECRET not in secret_keys:
        r.problem(
            "kubeconfig",
            "<plain text>",
            "a secret, not plain text (it holds the cluster's credentials)",
            f'run `pulumi config set --secret kubeconfig "$(cat <file>)" -s {stack}` '
            "and remove the plain value",
        )
    elif secret != OFFLINE_PLACEHOLDER:
        why = kubeconfig_problem(secret, context)
        if why is not None:
            key = "kubeContext" if context and "context" in why else "kubeconfig"
            r.problem(
                key,
                context if key == "kubeContext" else "<secret kubeconfig>",
                why,
                f"check it with `kubectl --kubeconfig <file> config get-contexts`, then set it again "
                f'with `pulumi config set --secret kubeconfig "$(cat <file>)" -s {stack}`',
            )


_SITE_ONLY_RANGES: Final = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
    )
)
"""Private, shared (CGNAT), loopback and link-local: no public health checker reaches them, and
Route 53 refuses health checks on them."""


def _address_reachable(r: _Reader, raw: Mapping[str, str], address: str) -> None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return
    dns = (raw.get("dnsProvider") or "").strip()
    if dns in ("aws", "gcp", "azure") and any(ip in net for net in _SITE_ONLY_RANGES):
        r.problem(
            "exposureAddress",
            address,
            f"a public address while dnsProvider is {dns}: its health checkers probe from the internet "
            "and cannot reach a private address",
            f"expose a public address, or use the site's own authority (dnsProvider: powerdns) in "
            f"Pulumi.{r.stack}.yaml",
        )


def _image_on_registry(r: _Reader, raw: Mapping[str, str], registry: str) -> None:
    from components.image_registry.args import parse_image

    image = (raw.get("servingImage") or "").strip()
    try:
        host = parse_image(image).host if image else registry
    except ValueError:
        return  # reported by infra/config.py (not pinned by digest)
    if host != registry:
        r.problem(
            "servingImage",
            image,
            f"an image on imageRegistry {registry}, pinned by digest "
            "(nodes pull nothing from public registries)",
            f"copy it with `crane copy {image} {registry}/<path>` (the digest stays the same) and set "
            f"servingImage to {registry}/<path>@sha256:<digest> in Pulumi.{r.stack}.yaml",
        )


def _selector(r: _Reader, raw: Mapping[str, str]) -> dict[str, str]:
    """gpuNodeSelector: a YAML list of `key=value` labels (as `kubectl label` writes them); a
    list, not a map, because stack files hold plain values and lists (infra/check.py)."""
    example = 'gpuNodeSelector: ["nvidia.com/gpu.present=true"]'
    if (raw.get("gpuNodeSelector") or "").strip() in ("", "[]"):
        r.problem(
            "gpuNodeSelector",
            None,
            "a list of key=value node labels that select the GPU nodes",
            f"set it in Pulumi.{r.stack}.yaml, e.g. {example} (`kubectl get nodes --show-labels`)",
        )
        return {}
    refused = len(r.problems)
    labels = r.string_list("gpuNodeSelector", [])
    if len(r.problems) > refused:
        return {}
    selector: dict[str, str] = {}
    for label in labels:
        key, equals, value = label.partition("=")
        if not equals or not _QUALIFIED.match(key) or not _LABEL_VALUE.match(value) or key in selector:
            r.problem(
                "gpuNodeSelector",
                label,
                "distinct key=value Kubernetes labels (a qualified key, a label value)",
                f"fix it in Pulumi.{r.stack}.yaml, e.g. {example}",
            )
            return {}
        selector[key] = value
    return selector


def _gpu_memory(r: _Reader, raw: Mapping[str, str]) -> float | None:
    value = raw.get("gpuMemoryGiB")
    gpu = (raw.get("gpuType") or "").strip()
    if value is None or not value.strip():
        if gpu and catalogue_gpu_gib(gpu) is None:
            r.problem(
                "gpuMemoryGiB",
                None,
                f"set, because gpuType {gpu!r} is not in the GPU catalogue ({', '.join(catalogue_gpus())})",
                f"declare the memory per GPU that `nvidia-smi --query-gpu=memory.total --format=csv` shows, "
                f"in GiB (MiB / 1024), e.g. gpuMemoryGiB: 48 in Pulumi.{r.stack}.yaml, "
                "or use a catalogue gpuType",
            )
        return None
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 1 <= number <= 1024:
        r.problem("gpuMemoryGiB", value, "a number of GiB between 1 and 1024 (memory of one GPU)")
        return None
    return number


# --- Air gap ---------------------------------------------------------------------------------

PUBLIC_MODEL_HOSTS: Final = (
    "huggingface.co",
    "hf.co",
    "modelscope.cn",
    "ollama.com",
    "amazonaws.com",
    "storage.googleapis.com",
    "blob.core.windows.net",
    "r2.cloudflarestorage.com",
)
"""Model hubs and public-cloud object stores: an endpoint under one of these reaches the internet."""


@dataclass(frozen=True)
class AirGapInputs:
    """What the air-gap check reads; built by infra/config.py once the whole config is parsed."""

    stack: str
    serving_image: str | None
    image_registry: str
    tls_source: str
    dns_provider: str | None
    primary_cloud: str | None
    role: str | None
    model_path: str | None
    raw: Mapping[str, str]


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0].lower()


def _public_host(host: str, hosts: tuple[str, ...]) -> bool:
    return any(host == h or host.endswith(f".{h}") for h in hosts)


def air_gap_problems(a: AirGapInputs) -> list[tuple[str, object, str, str]]:
    """Every run-time dependency on the internet an air-gapped stack would have, one per entry."""
    stack = a.stack
    found: list[tuple[str, object, str, str]] = []

    def refuse(key: str, got: object, dependency: str, fix: str) -> None:
        found.append((key, got, f"free of internet dependencies with airGapped: true ({dependency})", fix))

    image = a.serving_image or ""
    host = image.split("/", 1)[0] if "/" in image else "docker.io"
    if image and (not a.image_registry or host != a.image_registry or "@sha256:" not in image):
        refuse(
            "servingImage",
            image,
            "the image comes from a public registry, not from imageRegistry by digest",
            f"mirror it (`crane copy <image>@sha256:<digest> {a.image_registry or '<registry>'}/<path>`) and "
            f"set servingImage to {a.image_registry or '<imageRegistry>'}/<path>@sha256:<digest>",
        )
    if a.tls_source == "acme":
        refuse(
            "tlsCertificate",
            "acme",
            f"ACME reaches {a.raw.get('acmeServer') or LETS_ENCRYPT_NAME} and a public DNS authority",
            f"set tlsCertificate: internal-ca (or provided) in Pulumi.{stack}.yaml",
        )
    if a.dns_provider in ("aws", "gcp", "azure"):
        refuse(
            "dnsProvider",
            a.dns_provider,
            f"the {a.dns_provider} DNS authority and its health checkers live on the public internet",
            f"set dnsProvider: powerdns (a self-hosted authority) in Pulumi.{stack}.yaml",
        )
    if a.role == "standby" and a.primary_cloud in ("aws", "gcp", "azure"):
        refuse(
            "primaryCloud",
            a.primary_cloud,
            f"replication reads the primary's {a.primary_cloud} bucket over the internet",
            "pair an air-gapped standby with a primary on another on-prem site (primaryCloud: onprem), "
            "or unset airGapped",
        )
    for key in ("s3Endpoint", "auditS3Endpoint", "vaultAddress", "powerdnsApiUrl", "acmeServer"):
        value = (a.raw.get(key) or "").strip()
        if value and _public_host(_host(value), PUBLIC_MODEL_HOSTS):
            store = key in ("s3Endpoint", "auditS3Endpoint")
            what = "a model hub or public-cloud store" if store else "a public service"
            refuse(key, value, f"{_host(value)} is {what}", f"point {key} at a server inside the site")
    model_path = a.model_path or ""
    if "://" in model_path or _public_host(model_path.split("/", 1)[0].lower(), PUBLIC_MODEL_HOSTS):
        refuse(
            "modelPath",
            model_path,
            "it names a model hub; the model must come from the stack's own store",
            "copy the model into the site's store and set modelPath to its prefix there",
        )
    return found
