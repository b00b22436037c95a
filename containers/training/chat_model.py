"""Loading, warming up, adapting and saving the chat model: the parts of train_chatbot.py that touch weights.

A Hub id or folder loads as is (bf16 on GPU, optionally 4-bit); a `tiny:<kind>` reference builds a small
model and tokenizer from the training texts and warms the base up with full-parameter training first
(LoRA on a random base learns nothing). Both are saved in `<checkpoint-dir>/tiny_base` so a restarted job
resumes on the very same base. After that every model takes the same path.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from containers.common import tiny_models
from containers.training.chat_data import IGNORE_INDEX, PaddingCollator

LOG = logging.getLogger(__name__)
TINY_BASE = "tiny_base"
LORA_TARGETS = "all-linear"
WARMUP_FORMATS = ("plain", "dialogue", "swapped", "chat")
ATTENTION = "sdpa"


def use_bf16() -> bool:
    """bf16 where the GPU supports it; fp32 on CPU (bf16 matmuls on CPU are slow and imprecise)."""
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def load_tokenizer(source: str | Path, tiny: bool) -> Any:
    """The tokenizer of a Hub id or folder; tiny tokenizers load with their exact class.

    AutoTokenizer would rebuild a tiny qwen2 tokenizer as Qwen2Tokenizer with Qwen's own regex, so the
    ids would change between training and serving.
    """
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    tokenizer = (PreTrainedTokenizerFast if tiny else AutoTokenizer).from_pretrained(str(source))
    if tokenizer.pad_token is None:
        # Llama has no pad token; padding positions are masked out, so any existing token serves.
        tokenizer.pad_token = tokenizer.eos_token
    if not tokenizer.chat_template:
        raise ValueError(
            f"{source} has no chat template; use an instruct model (e.g. Qwen/Qwen2.5-3B-Instruct)"
        )
    return tokenizer


def load_causal_lm(source: str | Path, load_in_4bit: bool = False) -> Any:
    """A causal LM in the training dtype; 4-bit NF4 (QLoRA) needs a GPU and bitsandbytes."""
    from transformers import AutoModelForCausalLM

    # SDPA: PyTorch's fused attention (flash / memory-efficient kernels on GPU), never a T x T score matrix;
    # with packed rows transformers gives it the block-diagonal mask found from the position ids.
    kwargs: dict[str, Any] = {
        "dtype": torch.bfloat16 if use_bf16() else torch.float32,
        "attn_implementation": ATTENTION,
    }
    if load_in_4bit:
        if not torch.cuda.is_available():
            raise ValueError("load_in_4bit needs a CUDA GPU; set load_in_4bit=false on CPU")
        from transformers import BitsAndBytesConfig  # bitsandbytes itself is imported by transformers here

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_use_double_quant=True,
        )
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    return AutoModelForCausalLM.from_pretrained(str(source), **kwargs)


def pretrain_steps(
    model: Any,
    features: Sequence[dict],
    steps: int,
    learning_rate: float,
    batch_size: int,
    seed: int,
    pad_token_id: int,
) -> list[float]:
    """Full-parameter language modelling on every token of the corpus: gives a tiny base something to adapt.

    Batches are padded, not packed: a packed row of a whole batch gets one (L x L) attention mask, and on
    CPU that quadratic cost dominated (batch 32: 6x the time of batch 8); padded short rows cost linear.
    Returns the loss of each step.
    """
    rng = random.Random(seed)
    collate = PaddingCollator(pad_token_id)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps))
    )
    model.train()
    losses = []
    order: list[int] = []
    for step in range(steps):
        if len(order) < batch_size:
            order.extend(rng.sample(range(len(features)), len(features)))
        batch = collate(
            [
                {"input_ids": f["input_ids"], "labels": f["input_ids"]}
                for f in (features[order.pop()] for _ in range(batch_size))
            ]
        )
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if (step + 1) % 50 == 0 or step + 1 == steps:
            LOG.info("pretrain step %d/%d loss %.4f", step + 1, steps, losses[-1])
    model.eval()
    return losses


def encode_plain(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[dict[str, list[int]]]:
    """Plain text lines (no chat template) ending in EOS: the `plain` warm-up corpus of a tiny base."""
    features = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][: max_length - 1]
        features.append({"input_ids": [*ids, tokenizer.eos_token_id]})
    return features


def swap_roles(messages: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """The conversation with user and assistant exchanged: the character's lines become the prompts."""
    other = {"user": "assistant", "assistant": "user"}
    return [{"role": other.get(m["role"], m["role"]), "content": m["content"]} for m in messages]


def other_speakers_dialogue(conversations: Sequence[list[dict[str, str]]]) -> list[list[dict[str, str]]]:
    """Chat exchanges between the *other* speakers: each prompt answered by the next conversation's prompt.

    The prompts are the lines said to the character, in transcript order; pairing each with the next one
    gives generic dialogue of the show in the chat template (with the run's system prompt), without a
    single reply of the character as assistant text.
    """
    prompts = [[m for m in c if m["role"] != "assistant"] for c in conversations]
    return [
        [*first, {"role": "assistant", "content": second[-1]["content"]}]
        for first, second in itertools.pairwise(prompts)
        if first and second and first[-1]["role"] == "user"
    ]


def encode_text(tokenizer: Any, text: str, max_length: int) -> dict[str, list[int]]:
    """One rendered text as token ids (its last `max_length`), every token a label."""
    return {"input_ids": tokenizer(text, add_special_tokens=False)["input_ids"][-max_length:]}


def encode_warmup(
    tokenizer: Any, conversations: Sequence[list[dict[str, str]]], fmt: str, max_length: int
) -> list[dict[str, list[int]]]:
    """The warm-up corpus of a tiny base, every token a label, in one of WARMUP_FORMATS.

    - plain: each message as a plain line: the base knows the words but not the chat format, and
      answers a prompt by continuing text (measured: the LoRA stage then collapses to one reply).
    - swapped: every conversation in the chat template with the roles exchanged. Like a real instruct
      model, the base knows the template and the show's language, and answers, but as the *other*
      speakers do (questions, long lines); the mapping prompt -> this character's reply is left for
      LoRA to learn, so the base-vs-LoRA comparison still measures the fine-tuning.
    - chat: the conversations as trained (the base already learns the task; an upper bound).
    """
    plain = encode_plain(tokenizer, [m["content"] for c in conversations for m in c], max_length)
    if fmt == "plain":
        return plain
    if fmt == "dialogue":
        return plain + [
            encode_text(tokenizer, tokenizer.apply_chat_template(turns, tokenize=False), max_length)
            for turns in other_speakers_dialogue(conversations)
        ]
    if fmt not in WARMUP_FORMATS:
        raise ValueError(f"unknown pretrain format {fmt!r}; choose one of {', '.join(WARMUP_FORMATS)}")
    features = []
    for messages in conversations:
        turns = swap_roles(messages) if fmt == "swapped" else messages
        text = tokenizer.apply_chat_template(turns, tokenize=False)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][-max_length:]
        features.append({"input_ids": ids})
    return features


def prepare_tiny_base(
    kind: str,
    conversations: Sequence[list[dict[str, str]]],
    steps: int,
    learning_rate: float,
    batch_size: int,
    max_length: int,
    seed: int,
    folder: Path,
    fmt: str = "dialogue",
) -> tuple[Any, Any, list[float]]:
    """Build (or reload after a restart) the tiny tokenizer and warmed-up base kept in `folder`."""
    if (folder / "config.json").is_file():
        LOG.info("reusing the tiny base in %s (restarted job)", folder)
        return load_tokenizer(folder, tiny=True), load_causal_lm(folder), []
    # Role names go in with the texts, so the template's "system"/"user"/"assistant" become single tokens
    # (about a fifth fewer tokens per example, which is that much faster training on CPU).
    tokenizer = tiny_models.build_tiny_chat_tokenizer(
        text for c in conversations for m in c for text in (m["role"], m["content"])
    )
    model = tiny_models.build_tiny_causal_lm(kind, tokenizer, seed=seed)
    features = encode_warmup(tokenizer, conversations, fmt, max_length)
    losses = (
        pretrain_steps(model, features, steps, learning_rate, batch_size, seed, tokenizer.pad_token_id)
        if steps
        else []
    )
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return tokenizer, model, losses


def add_lora(
    model: Any, r: int, alpha: int, dropout: float, gradient_checkpointing: bool, quantized: bool
) -> Any:
    """Wrap `model` with LoRA adapters on every linear layer of the blocks."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    model.config.use_cache = False  # a KV cache during training would also disable the packed-sequence mask
    if quantized:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
    elif gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    config = LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=LORA_TARGETS, task_type="CAUSAL_LM"
    )
    peft_model = get_peft_model(model, config)
    trainable, total = peft_model.get_nb_trainable_parameters()
    LOG.info(
        "LoRA r=%d: %d trainable of %d parameters (%.2f%%)", r, trainable, total, 100 * trainable / total
    )
    return peft_model


def merge_adapter(base_source: str | Path, adapter_dir: Path) -> Any:
    """Reload the base in the training dtype (never 4-bit) and fold the saved adapter into it."""
    from peft import PeftModel

    base = load_causal_lm(base_source, load_in_4bit=False)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.config.use_cache = True
    return merged


def masked_token_count(features: Sequence[dict]) -> tuple[int, int]:
    """(all tokens, reply tokens) of the encoded features: what a throughput figure counts."""
    total = sum(len(f["input_ids"]) for f in features)
    replies = sum(sum(1 for label in f["labels"] if label != IGNORE_INDEX) for f in features)
    return total, replies
