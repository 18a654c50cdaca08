"""Does the model fit the GPU shape? The memory vLLM needs, decided before anything is created.

vLLM sizes its KV cache at start-up: it takes total GPU memory x gpuMemoryUtilization, subtracts
the weights, the activation peak of a profiling forward pass and memory outside PyTorch (CUDA
context, NCCL buffers), and gives the rest to the KV cache. It refuses to start when that cache
cannot hold one sequence of maxModelLen tokens (vllm/v1/core/kv_cache_utils.py,
check_enough_kv_cache_memory). This module does the same arithmetic per GPU of a
tensor-parallel group:

    budget   = GPU memory (CUDA-visible) x gpuMemoryUtilization
    weights  = parameters x bytes per weight / tensorParallelSize
    overhead = activation peak + non-torch memory                  (see OVERHEAD_SOURCE)
    KV cache = budget - weights - overhead
    fits     = KV cache >= 2 x layers x KV heads per GPU x head dim x 2 bytes x maxModelLen

Concurrency assumed: one full-length sequence, because that is the line between "starts" and
"refuses to start". The plan prints how many full-length sequences the cache holds, which is the
throughput question, not the start question. CUDA graphs are captured after the KV cache is
allocated, out of the (1 - gpuMemoryUtilization) headroom, so they are not in the budget.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from infra.catalog import CUDA_RESERVED_MIB, GPU_SHAPES, Cloud, GpuShape, gpu_memory_gib
from infra.models import MODELS, SPEC_FIELDS, ModelSpec

ACTIVATION_PEAK_GIB: Final = 1.26
NON_TORCH_GIB: Final = 1.79
NON_TORCH_TENSOR_PARALLEL_GIB: Final = 3.58
OVERHEAD_SOURCE: Final = (
    "vLLM's memory profiling of Llama-3-8B (github.com/vllm-project/vllm/pull/10511, 2024-12-14): "
    "PyTorch activation peak 1.26 GiB; non-torch memory 1.79 GiB at TP 1, 3.58 GiB at TP 2 (NCCL)"
)
DEFAULT_GPU_MEMORY_UTILIZATION: Final = 0.9
"""vLLM's own default for --gpu-memory-utilization."""
LENGTH_STEP: Final = 1024
"""Suggested maxModelLen values are rounded down to whole KiB-tokens."""

Problem = tuple[str, object, str, str]
"""(key, value given, what is expected, how to fix it), as infra.config reports problems."""


@dataclass(frozen=True)
class FitEstimate:
    """Memory of one GPU of the tensor-parallel group, in GiB."""

    gpu_gib: float
    budget_gib: float
    weights_gib: float
    overhead_gib: float
    kv_cache_gib: float
    kv_tokens: int
    """Tokens the KV cache holds (0 when weights and overhead alone exceed the budget)."""
    max_model_len: int

    @property
    def fits(self) -> bool:
        return self.kv_tokens >= self.max_model_len

    @property
    def full_length_sequences(self) -> int:
        return self.kv_tokens // self.max_model_len

    def describe(self) -> str:
        return (
            f"per GPU: budget {self.budget_gib:.1f} GiB = weights {self.weights_gib:.1f} + overhead "
            f"{self.overhead_gib:.1f} + KV cache {max(self.kv_cache_gib, 0):.1f} GiB "
            f"({self.kv_tokens} tokens)"
        )


@dataclass(frozen=True)
class ServingSettings:
    """What the model server is started with, and why it fits."""

    model: ModelSpec
    max_model_len: int
    gpu_memory_utilization: float
    tensor_parallel_size: int
    estimate: FitEstimate


def declared_gpu_gib(nvidia_smi_gib: float) -> float:
    """CUDA-visible memory of a GPU whose nvidia-smi memory.total is `nvidia_smi_gib` GiB."""
    return (nvidia_smi_gib * 1024 - CUDA_RESERVED_MIB) / 1024


def estimate(
    spec: ModelSpec, gpu_gib: float, utilization: float, tensor_parallel: int, max_model_len: int
) -> FitEstimate:
    budget = gpu_gib * utilization
    weights = spec.weights_gib / tensor_parallel
    overhead = ACTIVATION_PEAK_GIB + (
        NON_TORCH_GIB if tensor_parallel == 1 else NON_TORCH_TENSOR_PARALLEL_GIB
    )
    kv = budget - weights - overhead
    tokens = int(kv * 2**30 // spec.kv_bytes_per_token(tensor_parallel)) if kv > 0 else 0
    return FitEstimate(gpu_gib, budget, weights, overhead, kv, tokens, max_model_len)


def valid_tensor_parallel(spec: ModelSpec, size: int) -> bool:
    """vLLM shards attention heads evenly; KV heads are split or replicated evenly."""
    heads_ok = spec.attention_heads % size == 0
    kv_ok = spec.kv_heads % size == 0 or size % spec.kv_heads == 0
    return heads_ok and kv_ok


def largest_length(fit: FitEstimate, spec: ModelSpec) -> int:
    """The largest maxModelLen (a multiple of LENGTH_STEP, within the trained context) that fits."""
    return min(spec.context_length, fit.kv_tokens // LENGTH_STEP * LENGTH_STEP)


def smallest_shape(
    cloud: Cloud, spec: ModelSpec, utilization: float, max_model_len: int
) -> tuple[str, GpuShape, int] | None:
    """The cloud's GPU shape with the least total GPU memory that fits, and its tensor parallelism."""
    found: list[tuple[float, int, str, GpuShape, int]] = []
    for gpu_type, shapes in GPU_SHAPES[cloud].items():
        for shape in shapes:
            sizes = [n for n in range(shape.gpu_count, 0, -1) if valid_tensor_parallel(spec, n)]
            gib = gpu_memory_gib(gpu_type, shape)
            for size in sizes:
                if estimate(spec, gib, utilization, size, max_model_len).fits:
                    found.append((gib * shape.gpu_count, shape.gpu_count, gpu_type, shape, size))
                    break
    if not found:
        return None
    _, _, gpu_type, shape, size = min(found, key=lambda f: (f[0], f[1]))
    return gpu_type, shape, size


def _model_spec(
    raw: Mapping[str, str], stack: str, model_name: str | None
) -> tuple[ModelSpec | None, list[Problem]]:
    """The catalogue entry named by modelSpec (or modelName), or the numbers modelSpec declares."""
    value = (raw.get("modelSpec") or "").strip()
    names = ", ".join(MODELS)
    declare = (
        f"declare it in Pulumi.{stack}.yaml as modelSpec: {{{', '.join(SPEC_FIELDS)}}} "
        "(from the model's config.json)"
    )
    parsed: object
    if not value:
        if model_name is None:
            return None, []
        parsed = model_name
        problem: Problem = (
            "modelSpec",
            None,
            f"set, because modelName {model_name!r} is not in the model catalogue ({names})",
            f"set modelSpec to a catalogue name, or {declare}",
        )
    else:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        problem = ("modelSpec", parsed, f"a catalogue model ({names}) or an object", declare)
    if isinstance(parsed, str):
        spec = MODELS.get(parsed.lower())
        return (spec, []) if spec else (None, [problem])
    if not isinstance(parsed, dict):
        return None, [problem]
    try:
        return ModelSpec.from_config(model_name or "model", parsed), []
    except ValueError as exc:
        return None, [("modelSpec", parsed, f"a valid model description: {exc}", declare)]


def _number(
    raw: Mapping[str, str], key: str, kind: type, low: float, high: float
) -> tuple[object, Problem | None]:
    value = raw.get(key)
    if value is None or value.strip() == "":
        return None, None
    try:
        number = kind(value)
    except ValueError:
        return None, (key, value, f"a number between {low} and {high}", "")
    if not low <= number <= high:
        return None, (key, number, f"between {low} and {high}", "")
    return number, None


def read_serving(
    raw: Mapping[str, str],
    stack: str,
    *,
    cloud: Cloud | None,
    gpu_type: str | None,
    shape: GpuShape | None,
    model_name: str | None,
    gpu_gib: float | None = None,
) -> tuple[ServingSettings | None, list[Problem]]:
    """maxModelLen, gpuMemoryUtilization, tensorParallelSize and modelSpec, checked against the shape.

    `gpu_gib` (onprem gpuMemoryGiB) is one GPU's memory as nvidia-smi reports it, in GiB; it
    replaces the catalogue's figure for the shape."""
    spec, problems = _model_spec(raw, stack, model_name)
    length, bad_length = _number(raw, "maxModelLen", int, 16, 10_000_000)
    utilization, bad_util = _number(raw, "gpuMemoryUtilization", float, 0.01, 1.0)
    tensor_parallel, bad_tp = _number(raw, "tensorParallelSize", int, 1, 8)
    problems += [p for p in (bad_length, bad_util, bad_tp) if p is not None]
    if spec is None or problems or cloud is None or gpu_type is None or shape is None:
        return None, problems
    util = float(utilization) if utilization is not None else DEFAULT_GPU_MEMORY_UTILIZATION  # type: ignore[arg-type]
    max_len = int(length) if length is not None else spec.context_length  # type: ignore[call-overload]
    gpus = shape.gpu_count
    if max_len > spec.context_length:
        problems.append(
            (
                "maxModelLen",
                max_len,
                f"at most {spec.context_length}, the context {spec.name} was trained for "
                "(max_position_embeddings); vLLM refuses longer ones",
                f"set maxModelLen to {spec.context_length} or less in Pulumi.{stack}.yaml",
            )
        )
        return None, problems
    gib = gpu_memory_gib(gpu_type, shape) if gpu_gib is None else declared_gpu_gib(gpu_gib)
    size, tp_problems = _tensor_parallel(
        stack, spec, tensor_parallel, gpus, fits_one_gpu=estimate(spec, gib, util, 1, max_len).fits
    )
    if size is None:
        return None, problems + tp_problems
    fit = estimate(spec, gib, util, size, max_len)
    if not fit.fits:
        problems.append(
            _does_not_fit(
                stack=stack,
                cloud=cloud,
                gpu_type=gpu_type,
                shape=shape,
                spec=spec,
                util=util,
                size=size,
                fit=fit,
            )
        )
        return None, problems
    return ServingSettings(spec, max_len, util, size, fit), []


def _tensor_parallel(
    stack: str, spec: ModelSpec, requested: object, gpus: int, *, fits_one_gpu: bool
) -> tuple[int | None, list[Problem]]:
    """The requested tensor parallelism if vLLM accepts it, else the default: 1 when the model fits
    one GPU, otherwise the most GPUs of the node that split the attention heads evenly."""
    valid = [n for n in range(1, gpus + 1) if valid_tensor_parallel(spec, n)]
    if requested is None:
        return (1 if fits_one_gpu else max(valid)), []
    size = int(requested)  # type: ignore[call-overload]
    if size > gpus:
        return None, [
            (
                "tensorParallelSize",
                size,
                f"at most gpuCountPerNode ({gpus}): a replica runs on one node",
                f"lower tensorParallelSize or raise gpuCountPerNode in Pulumi.{stack}.yaml",
            )
        ]
    if size not in valid:
        choices = ", ".join(map(str, valid))
        return None, [
            (
                "tensorParallelSize",
                size,
                f"a divisor of {spec.name}'s {spec.attention_heads} attention heads that also splits "
                f"its {spec.kv_heads} KV heads evenly: one of {choices}",
                f"set tensorParallelSize to one of {choices} in Pulumi.{stack}.yaml",
            )
        ]
    return size, []


def _does_not_fit(
    *,
    stack: str,
    cloud: Cloud,
    gpu_type: str,
    shape: GpuShape,
    spec: ModelSpec,
    util: float,
    size: int,
    fit: FitEstimate,
) -> Problem:
    where = f"{shape.gpu_count}x {gpu_type} ({shape.machine_type}, tensorParallelSize {size})"
    bigger = smallest_shape(cloud, spec, util, fit.max_model_len) if cloud in GPU_SHAPES else None
    move = (
        f"use gpuType {bigger[0]} with gpuCountPerNode {bigger[1].gpu_count} ({bigger[1].machine_type}"
        f", tensorParallelSize {bigger[2]}), the smallest {cloud} shape that fits maxModelLen "
        f"{fit.max_model_len}"
        if bigger
        else (
            "the site's GPU nodes are what they are: raise gpuCountPerNode if the nodes carry more "
            "GPUs, or pick a smaller model"
            if cloud == "onprem"
            else f"no {cloud} GPU shape in infra/catalog.py fits it; pick a smaller model"
        )
    )
    longest = largest_length(fit, spec)
    if longest >= LENGTH_STEP:
        return (
            "maxModelLen",
            fit.max_model_len,
            f"a context whose KV cache fits {where}: at most {longest} tokens "
            f"({fit.describe()}; vLLM refuses to start without room for one full-length sequence)",
            f"set maxModelLen to {longest} or less in Pulumi.{stack}.yaml, or {move}",
        )
    return (
        "gpuType",
        gpu_type,
        f"a GPU shape that holds {spec.name} ({spec.weights_gib:.1f} GiB of weights): {where} does not "
        f"({fit.describe()})",
        move,
    )
