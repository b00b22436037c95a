"""The memory estimate behind `--gradient-checkpointing auto`: its coefficients, and the choice it makes."""

from __future__ import annotations

import pytest
import torch

from containers.training import memory_estimate
from containers.training.memory_estimate import ModelShape

torch.set_num_threads(1)
GIB = 2**30
# Qwen2.5-3B's architecture (its config.json) and parameter count.
QWEN_3B = ModelShape(
    3_085_938_688, layers=36, hidden=2048, intermediate=11008, heads=16, kv_heads=2, vocab=151936
)


def saved_bytes_per_layer(hidden: int, intermediate: int, dropout: float, tokens: int = 512) -> float:
    """Bytes autograd keeps for one decoder layer of a tiny LoRA Qwen2 (4 layers minus 2), fp32."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Qwen2Config

    def saved(layers: int) -> int:
        config = Qwen2Config(
            vocab_size=256,
            hidden_size=hidden,
            intermediate_size=intermediate,
            num_hidden_layers=layers,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=tokens,
            tie_word_embeddings=True,
        )
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
        model.config.use_cache = False
        lora = LoraConfig(r=8, lora_alpha=16, lora_dropout=dropout, target_modules="all-linear")
        model = get_peft_model(model, lora).train()
        storages: dict[tuple[int, int], int] = {}

        def keep(tensor: torch.Tensor) -> torch.Tensor:
            storage = tensor.untyped_storage()
            storages[(storage.data_ptr(), storage.nbytes())] = storage.nbytes()
            return tensor

        ids = torch.randint(8, 256, (1, tokens))
        positions = torch.arange(tokens).remainder(128)[None]  # four packed examples of 128 tokens
        with torch.autograd.graph.saved_tensors_hooks(keep, lambda tensor: tensor):
            model(input_ids=ids, labels=ids, position_ids=positions)
        return sum(storages.values())

    return (saved(4) - saved(2)) / 2


@pytest.mark.parametrize("dropout", [0.0, 0.05])
def test_activation_coefficients_match_what_autograd_keeps(dropout: float) -> None:
    """The per-layer growth with hidden and intermediate size, measured on shapes other than the fit's."""
    tokens, h, i = 512, 192, 512
    base = saved_bytes_per_layer(h, i, dropout, tokens)
    wider_mlp = saved_bytes_per_layer(h, 2 * i, dropout, tokens)
    wider_model = saved_bytes_per_layer(2 * h, i, dropout, tokens)

    def estimate(hidden: int, intermediate: int) -> float:
        shape = ModelShape(0, 1, hidden, intermediate, 4, 2, 256)
        return memory_estimate.layer_activation_elements(shape, dropout > 0) * tokens * 4

    assert estimate(h, 2 * i) - estimate(h, i) == pytest.approx(wider_mlp - base, rel=0.15)
    # CPU attention adds a token-count-dependent part per unit of h (10.5-15 elements measured): 25%.
    assert estimate(2 * h, i) - estimate(h, i) == pytest.approx(wider_model - base, rel=0.25)
    # The whole layer: the part the formula leaves out (CPU attention's mask work) stays small.
    assert estimate(h, i) == pytest.approx(base, rel=0.3)


def test_lora_parameter_count_is_peft_s() -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, LlamaConfig

    config = LlamaConfig(
        vocab_size=128,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    model = AutoModelForCausalLM.from_config(config)
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear"))
    trainable, _ = peft_model.get_nb_trainable_parameters()
    assert ModelShape.of(config, 0).lora_parameters(4) == trainable


def test_checkpointing_and_fused_loss_shrink_the_estimate() -> None:
    plain = memory_estimate.estimate_training_memory(QWEN_3B, 4096, checkpointing=False, lora_rank=16)
    saved = memory_estimate.estimate_training_memory(QWEN_3B, 4096, checkpointing=True, lora_rank=16)
    fused = memory_estimate.estimate_training_memory(
        QWEN_3B, 4096, checkpointing=True, lora_rank=16, fused_cross_entropy=True
    )
    assert saved.activations < plain.activations / 10
    assert fused.logits == 0 < saved.logits == 4096 * 151936 * 10
    assert plain.weights == 2 * QWEN_3B.parameters
    # The last H100 run measured a 15.8 GiB peak (reserved) for this case with checkpointing (README).
    assert 13 * GIB < saved.total < 17 * GIB
    with pytest.raises(ValueError, match="tokens 0 must be at least 1"):
        memory_estimate.estimate_training_memory(QWEN_3B, 0, checkpointing=False, lora_rank=16)


def test_auto_checkpoints_only_when_the_step_would_not_fit() -> None:
    choose = memory_estimate.choose_gradient_checkpointing
    a10g, h100 = 22 * GIB, 80 * GIB
    on_a10g = choose("auto", QWEN_3B, 4096, 16, a10g)
    assert on_a10g.enabled and "over 19.8 GiB" in on_a10g.reason
    on_h100 = choose("auto", QWEN_3B, 4096, 16, h100)
    assert not on_h100.enabled and "within 72.0 GiB" in on_h100.reason
    assert not choose("auto", QWEN_3B, 1024, 16, a10g, fused_cross_entropy=True).enabled
    assert not choose("auto", QWEN_3B, 4096, 16, None).enabled  # CPU: host memory
    assert choose("true", QWEN_3B, 16, 16, h100).enabled
    assert not choose("false", QWEN_3B, 10**6, 16, a10g).enabled
    with pytest.raises(ValueError, match="'sometimes': use one of auto, true, false"):
        choose("sometimes", QWEN_3B, 16, 16, h100)
