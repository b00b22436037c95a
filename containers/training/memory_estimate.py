"""Will LoRA training fit the GPU without gradient checkpointing? An estimate from the model's shape.

Gradient checkpointing trades ~30% more compute (one more forward pass of every layer) for activation
memory. It is worth it only when the activations would not fit, so the script asks this estimate first
(`--gradient-checkpointing auto`) and turns it on only then.

The estimate counts, for one micro-batch of T tokens:
- weights: every parameter in the compute dtype (2 bytes in bf16; 4 in fp32);
- LoRA state: adapter weights in fp32 (peft keeps adapters in fp32), their gradients and Adam's two
  moments: 16 bytes per trainable parameter;
- activations saved for backward, per token and layer, in the compute dtype (`layer_activation_elements`,
  measured on tiny models). SDPA/flash attention keeps no T x T scores (the packed block-diagonal mask,
  T x T booleans shared by all layers, is left out: 16 MiB at 4096 tokens). With checkpointing only
  each layer's input is kept, plus one layer's full activations while it is recomputed;
- logits: T x vocab in the compute dtype, their fp32 copy for the loss, and the loss's saved fp32
  softmax; a fused linear cross-entropy (Liger) never materialises them (counted as zero);
- a fixed allowance for the CUDA context, the allocator's fragmentation and workspace.
It is checked against saved-tensor bytes measured on tiny models (tests/containers/training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 2**30
CUDA_OVERHEAD_BYTES = int(1.5 * GIB)  # context (~0.5 GiB), cuBLAS/SDPA workspaces, allocator slack
HEADROOM = 0.9  # use at most this fraction of the device's memory for the estimate
CHECKPOINTING_CHOICES = ("auto", "true", "false")


@dataclass(frozen=True)
class ModelShape:
    """What the estimate needs to know about a decoder-only transformer."""

    parameters: int
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int

    @classmethod
    def of(cls, config: Any, parameters: int) -> ModelShape:
        """From a transformers config (Llama/Qwen2 field names) and the model's parameter count."""
        heads = config.num_attention_heads
        return cls(
            parameters=parameters,
            layers=config.num_hidden_layers,
            hidden=config.hidden_size,
            intermediate=config.intermediate_size,
            heads=heads,
            kv_heads=getattr(config, "num_key_value_heads", None) or heads,
            vocab=config.vocab_size,
        )

    @property
    def kv_width(self) -> int:
        return self.hidden * self.kv_heads // self.heads

    def lora_parameters(self, rank: int) -> int:
        """Trainable parameters of LoRA rank `rank` on every linear layer of every block."""
        h, kv, i = self.hidden, self.kv_width, self.intermediate
        shapes = [(h, h), (h, kv), (h, kv), (h, h), (h, i), (h, i), (i, h)]  # q k v o gate up down
        return self.layers * rank * sum(fan_in + fan_out for fan_in, fan_out in shapes)


def layer_activation_elements(shape: ModelShape, lora_dropout: bool) -> float:
    """Elements autograd keeps per token for one decoder layer (no checkpointing, SDPA attention).

    Where they come from: the two RMSNorms keep their input, scale and output; attention keeps q, k, v,
    their rotary copies and its output; the gated MLP keeps gate, up, activation and product (4 x I).
    LoRA dropout adds a dropped copy (and a mask) of each adapted linear's input. The coefficients are
    measured, not only counted: saved-tensor bytes of tiny LoRA Qwen2 models (hidden 128-384,
    intermediate 384-768, kv = hidden/2, fp32 on CPU), taken as the difference between 4 and 2 layers,
    grow by 4.4 per unit of I and by 10.5-15 per unit of h (more at 512 tokens than at 1024: CPU
    attention keeps extra per-head work), and dropout adds exactly 10 h + I. The h coefficient sits in
    the middle of that range (12 h at kv = h/2); tests keep the coefficients within 25% of autograd.
    """
    h, kv, i = shape.hidden, shape.kv_width, shape.intermediate
    elements = 8 * h + 8 * kv + 4.5 * i
    if lora_dropout:
        elements += 10 * h + 1 * i
    return elements


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes of each part of a training step's peak, and their sum."""

    weights: int
    lora_state: int
    activations: int
    logits: int
    overhead: int

    @property
    def total(self) -> int:
        return self.weights + self.lora_state + self.activations + self.logits + self.overhead

    def describe(self) -> str:
        parts = ("weights", "lora_state", "activations", "logits", "overhead")
        inner = ", ".join(f"{name} {getattr(self, name) / GIB:.2f}" for name in parts)
        return f"{self.total / GIB:.2f} GiB ({inner})"


def estimate_training_memory(
    shape: ModelShape,
    tokens: int,
    checkpointing: bool,
    lora_rank: int,
    bytes_per_element: int = 2,
    lora_dropout: bool = True,
    fused_cross_entropy: bool = False,
    overhead: int = CUDA_OVERHEAD_BYTES,
) -> MemoryEstimate:
    """Peak memory of one LoRA training step on `tokens` tokens (see the module docstring)."""
    if tokens < 1:
        raise ValueError(f"tokens {tokens} must be at least 1")
    per_layer = int(layer_activation_elements(shape, lora_dropout) * tokens * bytes_per_element)
    if checkpointing:
        activations = shape.layers * shape.hidden * tokens * bytes_per_element + per_layer
    else:
        activations = shape.layers * per_layer
    logits = 0 if fused_cross_entropy else tokens * shape.vocab * (bytes_per_element + 4 + 4)
    return MemoryEstimate(
        weights=shape.parameters * bytes_per_element,
        lora_state=16 * shape.lora_parameters(lora_rank),
        activations=activations,
        logits=logits,
        overhead=overhead,
    )


@dataclass(frozen=True)
class CheckpointingChoice:
    """Whether to checkpoint, and why (the log line says it)."""

    enabled: bool
    reason: str


def choose_gradient_checkpointing(
    setting: str,
    shape: ModelShape,
    tokens: int,
    lora_rank: int,
    device_bytes: int | None,
    bytes_per_element: int = 2,
    lora_dropout: bool = True,
    fused_cross_entropy: bool = False,
) -> CheckpointingChoice:
    """`true`/`false` as asked; `auto`: off when the step fits HEADROOM of the device without it.

    `device_bytes` None means no GPU: activations live in host memory, where recomputing them only
    costs time, so `auto` leaves checkpointing off.
    """
    if setting not in CHECKPOINTING_CHOICES:
        raise ValueError(f"gradient checkpointing {setting!r}: use one of {', '.join(CHECKPOINTING_CHOICES)}")
    if setting != "auto":
        return CheckpointingChoice(setting == "true", f"set to {setting}")
    if device_bytes is None:
        return CheckpointingChoice(False, "auto: no GPU, host memory holds the activations")
    kwargs = {
        "lora_rank": lora_rank,
        "bytes_per_element": bytes_per_element,
        "lora_dropout": lora_dropout,
        "fused_cross_entropy": fused_cross_entropy,
    }
    plain = estimate_training_memory(shape, tokens, checkpointing=False, **kwargs)
    budget = HEADROOM * device_bytes
    if plain.total <= budget:
        return CheckpointingChoice(
            False,
            f"auto: {tokens} tokens a step need ~{plain.describe()} without it, within "
            f"{budget / GIB:.1f} GiB of the GPU",
        )
    saved = estimate_training_memory(shape, tokens, checkpointing=True, **kwargs)
    return CheckpointingChoice(
        True,
        f"auto: {tokens} tokens a step need ~{plain.total / GIB:.1f} GiB without it (over "
        f"{budget / GIB:.1f} GiB); with it ~{saved.describe()}",
    )
