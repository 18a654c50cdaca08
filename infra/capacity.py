"""Time to full capacity from warm: the real RTO of a warm standby, estimated term by term.

A cutover scales the standby from one GPU node and one replica to `nodeCount` / `replicas`. The
new nodes come up in parallel, so the time until the last replica serves is one path:

    node provisioning  (instance launch, join, GPU driver, device plugin)
  + image pull         (the serving image from the stack's own registry; streamed on GKE)
  + model load         (weights streamed from the bucket, or copied then read on Azure,
                        plus vLLM's engine start: torch.compile and CUDA graph capture)

Each figure is a (low, high) range with its source. Where the source is an assumption it says so:
the quarterly drill measures the real values (runbooks/quarterly-drill.md) and they go into
MEASURED, which then replaces the estimate in `python -m infra.plan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from infra.catalog import Cloud
from infra.config import StackConfig

READ_ON: Final = "2026-12-02"


@dataclass(frozen=True)
class Figure:
    low: float
    high: float
    source: str


# --- Catalogue (seconds, or rates), each with its source -----------------------------------------
NODE_PROVISIONING_SECONDS: Final[dict[Cloud, Figure]] = {
    "aws": Figure(
        180,
        600,
        "GPU node provisioning 1-10 min (ARCHITECTURE.md public-doc figures); the AL2023 NVIDIA AMI "
        "ships the driver, so EKS nodes sit in the faster half",
    ),
    "gcp": Figure(
        240,
        900,
        "1-10 min node launch plus GKE's driver installation; cluster-autoscaler notes a GPU node can "
        "take up to 15 min to report the GPU allocatable (kubernetes/autoscaler utils/gpu/gpu.go)",
    ),
    "azure": Figure(
        300,
        900,
        "1-10 min node launch plus the AKS GPU driver install (gpuProfile.driver Install); same 15 min "
        "ceiling as GKE (kubernetes/autoscaler utils/gpu/gpu.go)",
    ),
    # On-prem target (issue 12): warm -> full is a replica count on GPU nodes that already run.
    "onprem": Figure(
        0,
        0,
        "onprem: the site's GPU nodes exist (gpuNodeSelector); nothing is launched, the new replicas "
        "only wait for the scheduler, provided maxNodeCount nodes are free for them",
    ),
}
IMAGE_SIZE_GB: Final = Figure(
    12, 12, "vllm/vllm-openai ~12 GB as pulled around v0.11.0 (github.com/vllm-project/vllm/issues/27154)"
)
IMAGE_PULL_MB_PER_S: Final = Figure(
    50,
    200,
    f"assumption, measure in the drill: in-region registry pull, bound by containerd's layer "
    f"decompression (read {READ_ON})",
)
IMAGE_STREAMING_SECONDS: Final = Figure(
    10,
    60,
    "GKE image streaming starts the container before the image is local: 'minutes to seconds' "
    "(cloud.google.com/kubernetes-engine/docs/how-to/image-streaming); range is an assumption",
)
STREAM_GIB_PER_S: Final = Figure(
    0.5,
    2.0,
    "Run:ai Model Streamer from object storage; NVIDIA's benchmark loads Llama-3-8B in 7.5-14.3 s "
    "from EBS (developer.nvidia.com/blog/reducing-cold-start-latency-for-llm-inference-with-nvidia-"
    "runai-model-streamer); S3/GCS rate is an assumption, measure in the drill",
)
COPY_GIB_PER_S: Final = Figure(
    0.2, 0.6, "assumption, measure in the drill: az storage blob download-batch, 8 connections"
)
DISK_LOAD_GIB_PER_S: Final = Figure(
    0.3,
    1.0,
    "vLLM's default safetensors loader from local disk: 15 GiB in 48 s on gp3 (NVIDIA benchmark above)",
)
ENGINE_START_SECONDS: Final = Figure(
    30,
    150,
    "assumption, measure in the drill: vLLM engine start after the weights (profiling run, "
    "torch.compile with an empty cache, CUDA graph capture)",
)

MEASURED: Final[dict[Cloud, dict[str, tuple[float, str]]]] = {}
"""Drill results, cloud -> term -> (seconds, 'YYYY-MM-DD drill'): they replace the estimate."""


@dataclass(frozen=True)
class Term:
    name: str
    low_seconds: float
    high_seconds: float
    source: str


def _measured(cloud: Cloud, name: str, estimate: Term) -> Term:
    found = MEASURED.get(cloud, {}).get(name)
    if found is None:
        return estimate
    seconds, when = found
    return Term(name, seconds, seconds, f"measured: {when}")


def time_to_full_capacity(cfg: StackConfig) -> list[Term]:
    """Node provisioning, image pull and model load for this stack, each with its source."""
    cloud = cfg.cloud
    node = NODE_PROVISIONING_SECONDS[cloud]
    if cloud == "gcp":
        pull = Term(
            "image pull",
            IMAGE_STREAMING_SECONDS.low,
            IMAGE_STREAMING_SECONDS.high,
            IMAGE_STREAMING_SECONDS.source,
        )
    else:
        mb = IMAGE_SIZE_GB.low * 1000
        pull = Term(
            "image pull",
            mb / IMAGE_PULL_MB_PER_S.high,
            mb / IMAGE_PULL_MB_PER_S.low,
            f"{IMAGE_SIZE_GB.low:g} GB image ({IMAGE_SIZE_GB.source}) at {IMAGE_PULL_MB_PER_S.low:g}-"
            f"{IMAGE_PULL_MB_PER_S.high:g} MB/s ({IMAGE_PULL_MB_PER_S.source})",
        )
    assert cfg.serving is not None
    gib = cfg.serving.model.weights_gib
    engine = ENGINE_START_SECONDS
    if cloud in ("aws", "gcp", "onprem"):
        rate = STREAM_GIB_PER_S
        low, high = gib / rate.high, gib / rate.low
        store = "the site's S3-compatible store" if cloud == "onprem" else "the bucket"
        how = f"{gib:.1f} GiB streamed from {store} at {rate.low:g}-{rate.high:g} GiB/s ({rate.source})"
    else:
        copy, disk = COPY_GIB_PER_S, DISK_LOAD_GIB_PER_S
        low = gib / copy.high + gib / disk.high
        high = gib / copy.low + gib / disk.low
        how = (
            f"{gib:.1f} GiB copied from Blob Storage at {copy.low:g}-{copy.high:g} GiB/s ({copy.source}), "
            f"then read from disk at {disk.low:g}-{disk.high:g} GiB/s ({disk.source})"
        )
    load = Term(
        "model load",
        low + engine.low,
        high + engine.high,
        f"{how}; plus {engine.low:g}-{engine.high:g} s engine start ({engine.source})",
    )
    return [
        _measured(cloud, "node provisioning", Term("node provisioning", node.low, node.high, node.source)),
        _measured(cloud, "image pull", pull),
        _measured(cloud, "model load", load),
    ]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def render_estimate(cfg: StackConfig) -> str:
    terms = time_to_full_capacity(cfg)
    low = sum(t.low_seconds for t in terms)
    high = sum(t.high_seconds for t in terms)
    lines = [
        f"Time to full capacity from warm ({cfg.cloud}: 1 -> {cfg.gpu.node_count} GPU nodes, "
        f"1 -> {cfg.replicas} replicas; new nodes start in parallel): {_minutes(low)}-{_minutes(high)} min",
    ]
    for term in terms:
        span = f"{_minutes(term.low_seconds):>5}-{_minutes(term.high_seconds):<5}"
        lines.append(f"  {term.name:<18} {span} min  {term.source}")
    lines.append("  Measure the real figures in the quarterly drill (runbooks/quarterly-drill.md).")
    if cfg.serving is not None:
        fit = cfg.serving.estimate
        lines.append(
            f"Model fit: {cfg.serving.model.name}, maxModelLen {cfg.serving.max_model_len}, "
            f"tensorParallelSize {cfg.serving.tensor_parallel_size}, gpuMemoryUtilization "
            f"{cfg.serving.gpu_memory_utilization:g}; {fit.describe()}; "
            f"KV cache holds {fit.full_length_sequences} full-length sequence(s) at once"
        )
    return "\n".join(lines) + "\n"
