"""Model catalogue: the numbers that decide whether a model fits a GPU shape.

Each entry comes from the model's published `config.json` on Hugging Face (num_hidden_layers,
num_attention_heads, num_key_value_heads, head_dim or hidden_size / num_attention_heads,
max_position_embeddings, torch_dtype) and the parameter count on its model card. A model that is
not here declares the same numbers in the stack config as `modelSpec` (see `ModelSpec.from_config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

READ_ON: Final = "2026-12-02"

DTYPE_BYTES: Final[dict[str, float]] = {"bfloat16": 2, "float16": 2, "fp8": 1}
"""Bytes per weight as vLLM serves them. float32 checkpoints (some Gemma 2 uploads) are served in
16 bit by vLLM's dtype "auto", so they are declared as bfloat16 here."""
KV_BYTES: Final = 2
"""Bytes per KV-cache element: vLLM's kv_cache_dtype "auto" is the 16-bit activation dtype, also
for fp8 weights."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    parameters_billion: float
    layers: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    context_length: int
    """max_position_embeddings: the longest context the model was trained (or scaled) for."""
    dtype: str = "bfloat16"
    source: str = ""
    """Where the numbers come from, and when they were read."""

    @property
    def weights_gib(self) -> float:
        return self.parameters_billion * 1e9 * DTYPE_BYTES[self.dtype] / 2**30

    def kv_bytes_per_token(self, tensor_parallel: int = 1) -> int:
        """K and V for one token across all layers, on one GPU of a tensor-parallel group.

        vLLM splits KV heads across the group and replicates them when the group is larger
        than the number of KV heads (each GPU keeps at least one)."""
        heads = max(1, self.kv_heads // tensor_parallel)
        return 2 * self.layers * heads * self.head_dim * KV_BYTES

    @classmethod
    def from_config(cls, name: str, value: Mapping[str, object]) -> ModelSpec:
        """A spec from the stack's `modelSpec` object; raises ValueError naming the bad field."""
        unknown = sorted(set(value) - set(SPEC_FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; fields are {', '.join(SPEC_FIELDS)}")
        missing = [f for f in SPEC_FIELDS if f != "dtype" and f not in value]
        if missing:
            raise ValueError(f"missing field(s) {', '.join(missing)}")
        numbers: dict[str, int | float] = {}
        for key, attr in SPEC_FIELDS.items():
            if key == "dtype":
                continue
            raw = value[key]
            if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
                raise ValueError(f"{key} must be a positive number (got {raw!r})")
            if key != "parametersBillion" and not float(raw).is_integer():
                raise ValueError(f"{key} must be a whole number (got {raw!r})")
            numbers[attr] = float(raw) if key == "parametersBillion" else int(raw)
        dtype = str(value.get("dtype", "bfloat16"))
        if dtype not in DTYPE_BYTES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPE_BYTES)} (got {dtype!r})")
        return cls(name=name, dtype=dtype, source="stack config modelSpec", **numbers)  # type: ignore[arg-type]


SPEC_FIELDS: Final[dict[str, str]] = {
    "parametersBillion": "parameters_billion",
    "layers": "layers",
    "attentionHeads": "attention_heads",
    "kvHeads": "kv_heads",
    "headDim": "head_dim",
    "contextLength": "context_length",
    "dtype": "dtype",
}
"""`modelSpec` object keys -> ModelSpec fields."""


def _hf(repo: str) -> str:
    return f"huggingface.co/{repo} config.json + model card, read {READ_ON}"


# name -> spec. Names are what `modelName` usually is (the served name); `modelSpec: <name>`
# picks an entry explicitly when the served name differs.
MODELS: Final[dict[str, ModelSpec]] = {
    spec.name: spec
    for spec in (
        ModelSpec("llama-3.1-8b-instruct", 8.03, 32, 32, 8, 128, 131072,
                  source=_hf("meta-llama/Llama-3.1-8B-Instruct")),
        ModelSpec("llama-3.1-70b-instruct", 70.6, 80, 64, 8, 128, 131072,
                  source=_hf("meta-llama/Llama-3.1-70B-Instruct")),
        ModelSpec("llama-3.2-1b-instruct", 1.24, 16, 32, 8, 64, 131072,
                  source=_hf("meta-llama/Llama-3.2-1B-Instruct")),
        ModelSpec("llama-3.2-3b-instruct", 3.21, 28, 24, 8, 128, 131072,
                  source=_hf("meta-llama/Llama-3.2-3B-Instruct")),
        ModelSpec("llama-3.3-70b-instruct", 70.6, 80, 64, 8, 128, 131072,
                  source=_hf("meta-llama/Llama-3.3-70B-Instruct")),
        ModelSpec("mistral-7b-instruct-v0.3", 7.25, 32, 32, 8, 128, 32768,
                  source=_hf("mistralai/Mistral-7B-Instruct-v0.3")),
        ModelSpec("qwen2.5-7b-instruct", 7.61, 28, 28, 4, 128, 32768,
                  source=_hf("Qwen/Qwen2.5-7B-Instruct")),
        ModelSpec("qwen2.5-72b-instruct", 72.7, 80, 64, 8, 128, 32768,
                  source=_hf("Qwen/Qwen2.5-72B-Instruct")),
        # Gemma 2 alternates sliding-window (4096) and global layers; the KV estimate counts every
        # layer at full length, which over-states its KV cache (a safe error for a fit check).
        ModelSpec("gemma-2-9b-it", 9.24, 42, 16, 8, 256, 8192, source=_hf("google/gemma-2-9b-it")),
        ModelSpec("gemma-2-27b-it", 27.2, 46, 32, 16, 128, 8192, source=_hf("google/gemma-2-27b-it")),
    )
}  # fmt: skip
