"""The model fits the GPU shape, or the config says why not (before anything is created)."""

from __future__ import annotations

import json

import pytest

from infra.catalog import CLOUDS, GPU_MEMORY_MIB, GPU_SHAPES, gpu_memory_gib, shape_for
from infra.fit import estimate, largest_length, smallest_shape, valid_tensor_parallel
from infra.models import MODELS, ModelSpec
from tests.infra.test_config import parse, problems

LLAMA_8B = MODELS["llama-3.1-8b-instruct"]


def test_every_gpu_shape_has_its_measured_memory() -> None:
    # Without an entry the fit check would fall back to the marketed size, which vLLM never sees.
    for cloud in CLOUDS:
        for gpu_type, shapes in GPU_SHAPES[cloud].items():
            for shape in shapes:
                assert (gpu_type, shape.gpu_memory_gib) in GPU_MEMORY_MIB, (cloud, shape)


def test_kv_cache_per_token_follows_the_published_architecture() -> None:
    # 2 (K and V) x 32 layers x 8 KV heads x 128 dims x 2 bytes = 128 KiB per token.
    assert LLAMA_8B.kv_bytes_per_token() == 131072
    # Two GPUs split the 8 KV heads; eight GPUs of a 4-KV-head model replicate them.
    assert LLAMA_8B.kv_bytes_per_token(2) == 65536
    assert MODELS["qwen2.5-7b-instruct"].kv_bytes_per_token(8) == 2 * 28 * 1 * 128 * 2
    assert round(LLAMA_8B.weights_gib, 2) == 14.96  # vLLM logs "model weights take 14.96GiB"


def test_shipped_stacks_start_with_a_context_that_fits_one_l4() -> None:
    for stack in ("primary", "standby"):
        serving = parse(stack).serving
        assert serving is not None
        assert (serving.model, serving.max_model_len, serving.tensor_parallel_size) == (LLAMA_8B, 8192, 1)
        assert serving.gpu_memory_utilization == 0.9
        fit = serving.estimate
        assert fit.fits and fit.full_length_sequences >= 1
        assert fit.weights_gib + fit.overhead_gib + fit.kv_cache_gib == pytest.approx(fit.budget_gib)


def test_the_models_trained_context_on_one_l4_is_refused_naming_the_largest_that_fits() -> None:
    # The blocker of issue 9: unset maxModelLen means vLLM's default, the 131k trained context.
    (found,) = problems("primary", maxModelLen=None)
    shape = shape_for("aws", "l4", 1)
    assert shape is not None
    fit = estimate(LLAMA_8B, gpu_memory_gib("l4", shape), 0.9, 1, 131072)
    longest = largest_length(fit, LLAMA_8B)
    assert 8192 <= longest < 131072 and longest % 1024 == 0
    assert found.startswith(
        f"stack config 'maxModelLen' must be a context whose KV cache fits 1x l4 (g6.2xlarge, "
        f"tensorParallelSize 1): at most {longest} tokens"
    )
    assert "(got 131072)" in found
    assert f"set maxModelLen to {longest} or less in Pulumi.primary.yaml" in found
    # The other way out: the smallest aws shape with room for the whole context.
    assert "or use gpuType " in found and "the smallest aws shape that fits maxModelLen 131072" in found


def test_fails_on_max_model_len_above_the_trained_context() -> None:
    (found,) = problems("standby", modelName="mistral-7b-instruct-v0.3", maxModelLen=65536)
    assert found == (
        "stack config 'maxModelLen' must be at most 32768, the context mistral-7b-instruct-v0.3 was "
        "trained for (max_position_embeddings); vLLM refuses longer ones (got 65536): "
        "set maxModelLen to 32768 or less in Pulumi.standby.yaml"
    )


def test_fails_on_a_model_that_cannot_fit_and_names_the_smallest_shape_that_does() -> None:
    (found,) = problems("primary", modelName="llama-3.1-70b-instruct")
    assert found.startswith(
        "stack config 'gpuType' must be a GPU shape that holds llama-3.1-70b-instruct (131.5 GiB of "
        "weights): 1x l4 (g6.2xlarge, tensorParallelSize 1) does not"
    )
    assert found.endswith(
        "use gpuType l40s with gpuCountPerNode 4 (g6e.12xlarge, tensorParallelSize 4), the smallest "
        "aws shape that fits maxModelLen 8192"
    )
    # And that shape does start it.
    assert parse("primary", modelName="llama-3.1-70b-instruct", gpuType="l40s", gpuCountPerNode=4).serving


def test_fails_when_no_shape_of_the_cloud_holds_the_model() -> None:
    spec = {
        "parametersBillion": 405,
        "layers": 126,
        "attentionHeads": 128,
        "kvHeads": 8,
        "headDim": 128,
        "contextLength": 131072,
    }
    (found,) = problems("primary", modelName="llama-3.1-405b", modelSpec=spec)
    assert found.startswith("stack config 'gpuType' must be a GPU shape that holds llama-3.1-405b")
    assert found.endswith("no aws GPU shape in infra/catalog.py fits it; pick a smaller model")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"gpuCountPerNode": 4, "tensorParallelSize": 3},
            "stack config 'tensorParallelSize' must be a divisor of llama-3.1-8b-instruct's 32 attention "
            "heads that also splits its 8 KV heads evenly: one of 1, 2, 4 (got 3): "
            "set tensorParallelSize to one of 1, 2, 4 in Pulumi.primary.yaml",
        ),
        (
            {"tensorParallelSize": 2},
            "stack config 'tensorParallelSize' must be at most gpuCountPerNode (1): a replica runs on one "
            "node (got 2): lower tensorParallelSize or raise gpuCountPerNode in Pulumi.primary.yaml",
        ),
        ({"tensorParallelSize": 0}, "stack config 'tensorParallelSize' must be between 1 and 8 (got 0)"),
        ({"gpuMemoryUtilization": 1.5}, "stack config 'gpuMemoryUtilization' must be between 0.01 and 1.0"),
        ({"gpuMemoryUtilization": "most"}, "stack config 'gpuMemoryUtilization' must be a number"),
        ({"maxModelLen": "long"}, "stack config 'maxModelLen' must be a number between 16 and"),
    ],
)
def test_fails_on_bad_serving_settings(overrides: dict[str, object], expected: str) -> None:
    (found,) = problems("primary", **overrides)
    assert found.startswith(expected), found


def test_qwen_tensor_parallelism_must_divide_28_heads() -> None:
    assert [n for n in range(1, 9) if valid_tensor_parallel(MODELS["qwen2.5-7b-instruct"], n)] == [1, 2, 4]
    (found,) = problems(
        "primary", modelName="qwen2.5-7b-instruct", gpuType="l4", gpuCountPerNode=8, tensorParallelSize=8
    )
    assert "one of 1, 2, 4 (got 8)" in found


def test_lower_memory_share_can_make_the_model_not_fit() -> None:
    (found,) = problems("primary", gpuMemoryUtilization=0.5)
    assert found.startswith("stack config 'gpuType' must be a GPU shape that holds llama-3.1-8b-instruct")
    assert "budget 11.0 GiB" in found


def test_tensor_parallelism_defaults_to_one_gpu_when_the_model_fits_it() -> None:
    four_l4 = parse("primary", gpuCountPerNode=4)
    assert four_l4.serving is not None and four_l4.serving.tensor_parallel_size == 1
    assert any("leaves 3 of the node's 4 GPUs idle" in w for w in four_l4.warnings)
    # 8B bf16 (15 GiB) does not fit one 16 GB T4: the default shards it over the node's GPUs.
    # (A narrowed Kubernetes API range: the shipped 0.0.0.0/0 warns on its own.)
    two_t4 = parse("standby", gpuType="t4", gpuCountPerNode=2, kubernetesApiAllowedCidrs='["203.0.113.0/24"]')
    assert two_t4.serving is not None and two_t4.serving.tensor_parallel_size == 2
    assert not two_t4.warnings


def test_a_model_outside_the_catalogue_declares_its_numbers() -> None:
    spec = {
        "parametersBillion": 3.82,
        "layers": 32,
        "attentionHeads": 32,
        "kvHeads": 32,
        "headDim": 96,
        "contextLength": 4096,
        "dtype": "bfloat16",
    }
    cfg = parse("standby", modelName="phi-3-mini-4k-instruct", modelSpec=spec, maxModelLen=4096)
    assert cfg.serving is not None
    assert cfg.serving.model == ModelSpec(
        "phi-3-mini-4k-instruct", 3.82, 32, 32, 32, 96, 4096, source="stack config modelSpec"
    )
    # The catalogue can also be named explicitly when the served name differs.
    named = parse("standby", modelName="chat", modelSpec="qwen2.5-7b-instruct")
    assert named.serving is not None and named.serving.model is MODELS["qwen2.5-7b-instruct"]


def test_fails_on_unknown_model_without_a_spec() -> None:
    (found,) = problems("primary", modelName="my-finetune")
    assert found.startswith(
        "stack config 'modelSpec' must be set, because modelName 'my-finetune' is not in the model "
        "catalogue (llama-3.1-8b-instruct, "
    )
    assert "parametersBillion, layers, attentionHeads, kvHeads, headDim, contextLength, dtype" in found


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"parametersBillion": 7, "layers": 32},
            "missing field(s) attentionHeads, kvHeads, headDim, contextLength",
        ),
        (
            {
                **dict.fromkeys(("layers", "attentionHeads", "kvHeads", "headDim", "contextLength"), 8),
                "parametersBillion": -1,
            },
            "parametersBillion must be a positive number (got -1)",
        ),
        ({"parametersBillion": 7, "layer": 32}, "unknown field(s) layer"),
        ("llama-4", "a catalogue model (llama-3.1-8b-instruct"),
    ],
)
def test_fails_on_bad_model_spec(spec: object, expected: str) -> None:
    (found,) = problems("primary", modelName="custom", modelSpec=spec)
    assert found.startswith("stack config 'modelSpec' must be ") and expected in found, found


def test_every_catalogue_model_has_a_source_and_a_consistent_shape() -> None:
    for name, spec in MODELS.items():
        assert spec.name == name and "config.json" in spec.source
        assert spec.attention_heads % spec.kv_heads == 0
        assert spec.context_length in (8192, 32768, 131072)
    # The smallest shape search agrees with the fit estimate it reports.
    for cloud in CLOUDS:
        found = smallest_shape(cloud, LLAMA_8B, 0.9, 8192)
        assert found is not None
        gpu_type, shape, size = found
        assert estimate(LLAMA_8B, gpu_memory_gib(gpu_type, shape), 0.9, size, 8192).fits


def test_model_spec_object_reaches_the_config_as_pulumi_passes_it() -> None:
    # Pulumi hands structured config to the program as JSON text.
    spec = {
        "parametersBillion": 1.24,
        "layers": 16,
        "attentionHeads": 32,
        "kvHeads": 8,
        "headDim": 64,
        "contextLength": 131072,
    }
    cfg = parse("primary", modelName="tiny", modelSpec=json.dumps(spec), maxModelLen=131072)
    assert cfg.serving is not None and cfg.serving.max_model_len == 131072
