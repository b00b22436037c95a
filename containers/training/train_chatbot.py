"""Fine-tune a chat model with LoRA on one character's lines, the way it will be served.

    python containers/training/train_chatbot.py --model-id tiny:qwen2 --train <dir> --validation <dir> \
        --model-dir <dir> --output-data-dir <dir> --checkpoint-dir <dir> --max-steps 120 --pretrain-steps 300

Inside a SageMaker training job every path defaults to the container's (SM_CHANNEL_TRAIN, SM_MODEL_DIR,
/opt/ml/checkpoints, ...) and hyperparameters arrive as flags. Under torchrun it trains data-parallel.

Choices, and why:
- Plain transformers Trainer with our own collators rather than TRL's SFTTrainer: the loss mask (replies
  only, found from the chat template, see chat_data.py), padding-free packing and the tiny-model path are
  a few dozen lines here, and the job image needs one library less whose API moves quickly.
- Loss on assistant tokens only, with the tokenizer's own chat template, saved with the model: the
  endpoint renders prompts with exactly the template used in training.
- bf16 on GPU, fp32 on CPU; optional 4-bit QLoRA whose merge reloads the base in bf16 (never merging
  into 4-bit weights); checkpoints every save_steps into --checkpoint-dir and resume from the latest.
- With packing, batches hold a token budget, not a number of examples (--tokens-per-batch; by default
  per_device_batch_size x max_seq_length, the memory today's worst-case batch takes): chat replies are
  tens of tokens, so a budget of 4096 packs dozens of them into one row where 4 examples left the GPU idle
  (token_batches.py). Fewer, fuller steps: a derived budget is lowered (not below max_seq_length) so an
  epoch keeps MIN_STEPS_PER_EPOCH optimizer steps on a small corpus; the log states both.
- Gradient checkpointing `auto` (the default): on only when memory_estimate.py says the step would not
  fit the GPU without it (it costs a recomputed forward pass). SDPA attention; Liger's fused linear
  cross-entropy on GPU when liger-kernel is installed (--fused-kernels auto; the logits of a 150k vocabulary
  are the largest activation of a short-sequence step and never materialise).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch
from accelerate import PartialState
from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments, set_seed
from transformers.trainer_utils import get_last_checkpoint

from containers.common import tiny_models, tracking
from containers.common.cli import add_flag, add_job_paths, auto_or_bool, str_to_bool
from containers.common.io import setup_logging, write_json
from containers.inference import lmi_adapter
from containers.training import chat_model, memory_estimate, token_batches
from containers.training.chat_data import (
    FitStats,
    PackingCollator,
    PaddingCollator,
    encode_all,
    load_conversations,
)

LOG = logging.getLogger("train_chatbot")
INFERENCE_HANDLER = Path(__file__).resolve().parents[1] / "inference" / "chatbot.py"
INFERENCE_REQUIREMENTS = Path(__file__).resolve().parents[1] / "inference" / "requirements.txt"
CONFIG_FILE = "chatbot_config.json"
PACK_MULTIPLE = 64  # GPU: packed rows rounded up to a few repeated shapes (see PackingCollator)
MIN_STEPS_PER_EPOCH = 16  # a derived token budget is lowered to give an epoch this many optimizer steps


@dataclasses.dataclass(frozen=True)
class ChatbotArguments:
    """The script's arguments (hyperparameters and job paths), checked before any data is read."""

    model_id: str
    train: Path
    validation: Path
    model_dir: Path
    output_data_dir: Path
    checkpoint_dir: Path
    epochs: float = 2.0
    max_steps: int = -1
    learning_rate: float = 2e-4
    per_device_batch_size: int = 4
    gradient_accumulation_steps: int = 4
    max_seq_length: int = 1024
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    load_in_4bit: bool = False
    gradient_checkpointing: str = "auto"
    packing: bool = True
    tokens_per_batch: int = 0
    fused_kernels: str = "auto"
    merge: bool = True
    save_steps: int = 100
    pretrain_steps: int = 0
    pretrain_learning_rate: float = 3e-3
    pretrain_format: str = "dialogue"
    logging_steps: int = 10
    seed: int = 42

    def __post_init__(self) -> None:
        if not self.model_id.strip():
            raise ValueError("--model-id is empty: name a Hub id, a local folder or tiny:qwen2 / tiny:llama")
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ValueError(f"--epochs {self.epochs} with --max-steps {self.max_steps}: nothing would train")
        for flag, rate in (
            ("learning-rate", self.learning_rate),
            ("pretrain-learning-rate", self.pretrain_learning_rate),
        ):
            if not 0 < rate < 1:
                raise ValueError(f"--{flag} {rate} must be in (0, 1)")
        for flag, value in (
            ("per-device-batch-size", self.per_device_batch_size),
            ("gradient-accumulation-steps", self.gradient_accumulation_steps),
            ("max-seq-length", self.max_seq_length),
            ("lora-r", self.lora_r),
            ("lora-alpha", self.lora_alpha),
            ("save-steps", self.save_steps),
            ("logging-steps", self.logging_steps),
        ):
            if value < 1:
                raise ValueError(f"--{flag} {value} must be at least 1")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"--lora-dropout {self.lora_dropout} must be in [0, 1)")
        if self.tokens_per_batch < 0:
            raise ValueError(f"--tokens-per-batch {self.tokens_per_batch} is negative (0: derived)")
        if self.tokens_per_batch and not self.packing:
            raise ValueError("--tokens-per-batch needs --packing true (a token budget fills one packed row)")
        for flag, value in (
            ("gradient-checkpointing", self.gradient_checkpointing),
            ("fused-kernels", self.fused_kernels),
        ):
            if value not in ("auto", "true", "false"):
                raise ValueError(f"--{flag} {value!r}: use auto, true or false")
        if self.pretrain_steps < 0:
            raise ValueError(f"--pretrain-steps {self.pretrain_steps} is negative")
        if self.pretrain_format not in chat_model.WARMUP_FORMATS:
            known = ", ".join(chat_model.WARMUP_FORMATS)
            raise ValueError(f"--pretrain-format {self.pretrain_format!r}: use one of {known}")


def parse_args(argv: list[str] | None = None) -> ChatbotArguments:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_flag(
        parser,
        "model_id",
        default="Qwen/Qwen2.5-3B-Instruct",
        help="Hub id, local folder, or tiny:qwen2 / tiny:llama (offline)",
    )
    add_job_paths(parser)
    add_flag(parser, "epochs", type=float, default=2.0)
    add_flag(
        parser, "max_steps", type=int, default=-1, help="stop after this many optimizer steps (-1: epochs)"
    )
    add_flag(parser, "learning_rate", type=float, default=2e-4)
    add_flag(parser, "per_device_batch_size", type=int, default=4)
    add_flag(parser, "gradient_accumulation_steps", type=int, default=4)
    add_flag(parser, "max_seq_length", type=int, default=1024)
    add_flag(parser, "lora_r", type=int, default=16)
    add_flag(parser, "lora_alpha", type=int, default=32)
    add_flag(parser, "lora_dropout", type=float, default=0.05)
    add_flag(parser, "load_in_4bit", type=str_to_bool, default=False, help="QLoRA (GPU only): true/false")
    add_flag(
        parser,
        "gradient_checkpointing",
        type=auto_or_bool,
        default="auto",
        help="auto (on only when the memory estimate says the step does not fit the GPU), true or false",
    )
    add_flag(
        parser,
        "packing",
        type=str_to_bool,
        default=True,
        help="padding-free packing (true) or length-grouped padded batches (false)",
    )
    add_flag(
        parser,
        "tokens_per_batch",
        type=int,
        default=0,
        help="packing: tokens in one packed row per device and step (0: batch size x max_seq_length)",
    )
    add_flag(
        parser,
        "fused_kernels",
        type=auto_or_bool,
        default="auto",
        help="Liger fused linear cross-entropy: auto (on with a GPU and liger-kernel installed), true, false",
    )
    add_flag(parser, "merge", type=str_to_bool, default=True, help="also write merged/ (base + adapter)")
    add_flag(parser, "save_steps", type=int, default=100)
    add_flag(
        parser,
        "pretrain_steps",
        type=int,
        default=0,
        help="tiny models only (skipped, with a warning, for a Hub model): full-parameter warm-up steps",
    )
    add_flag(parser, "pretrain_learning_rate", type=float, default=3e-3)
    add_flag(
        parser,
        "pretrain_format",
        default="dialogue",
        choices=chat_model.WARMUP_FORMATS,
        help="tiny models only: warm-up text (see chat_model.encode_warmup)",
    )
    add_flag(parser, "logging_steps", type=int, default=10)
    add_flag(parser, "seed", type=int, default=42)
    return ChatbotArguments(**vars(parser.parse_args(argv)))


class MetricLogCallback(TrainerCallback):
    """Logs `METRIC name=value step=N` lines (SageMaker metric definitions parse them); keeps losses."""

    def __init__(self) -> None:
        self.history: list[dict[str, float]] = []

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **_: Any
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        for name, value in logs.items():
            if name in {"loss", "eval_loss", "learning_rate", "grad_norm"}:
                metric = "train_loss" if name == "loss" else name
                LOG.info("METRIC %s=%.6g step=%d", metric, value, state.global_step)
        self.history.append({"step": state.global_step, **{k: float(v) for k, v in logs.items()}})


def length_grouping(packing: bool) -> dict[str, Any]:
    """Length-grouped batches when not packing (less padding); the option's name moved in transformers 5.x."""
    fields = {field.name for field in dataclasses.fields(TrainingArguments)}
    if "train_sampling_strategy" in fields:
        return {"train_sampling_strategy": "random" if packing else "group_by_length"}
    return {"group_by_length": not packing}


def token_budget(args: ChatbotArguments, bf16: bool) -> int:
    """Tokens per packed row: the flag, or the memory of today's worst case (batch x max length);
    on GPU a whole number of PACK_MULTIPLE, so the rounded-up row stays within it."""
    budget = args.tokens_per_batch or args.per_device_batch_size * args.max_seq_length
    if bf16 and budget % PACK_MULTIPLE:
        budget += PACK_MULTIPLE - budget % PACK_MULTIPLE
    token_batches.check_budget(budget, args.max_seq_length, PACK_MULTIPLE if bf16 else None)
    return budget


def use_fused_kernels(setting: str) -> bool:
    """Liger's kernels: `auto` uses them where they run (CUDA, liger-kernel installed); `true` insists."""
    from transformers.utils import is_liger_kernel_available

    available = torch.cuda.is_available() and is_liger_kernel_available()
    if setting == "true" and not available:
        raise ValueError("--fused-kernels true needs a CUDA GPU and liger-kernel (pip install liger-kernel)")
    return setting != "false" and available


# Only the fused linear cross-entropy: it removes the largest activation (the logits); the other Liger
# kernels (RMSNorm, RoPE, SwiGLU) would patch modules that LoRA also wraps, for a few percent.
LIGER_CONFIG = {
    "fused_linear_cross_entropy": True,
    "cross_entropy": False,
    "rope": False,
    "rms_norm": False,
    "swiglu": False,
}


def checkpointing_choice(
    args: ChatbotArguments, base: Any, tokens: int, bf16: bool, fused: bool
) -> memory_estimate.CheckpointingChoice:
    """Gradient checkpointing as set, or from the memory estimate of one step of `tokens` tokens."""
    shape = memory_estimate.ModelShape.of(base.config, sum(p.numel() for p in base.parameters()))
    device_bytes = torch.cuda.get_device_properties(0).total_memory if torch.cuda.is_available() else None
    return memory_estimate.choose_gradient_checkpointing(
        args.gradient_checkpointing,
        shape,
        tokens,
        args.lora_r,
        device_bytes,
        bytes_per_element=2 if bf16 else 4,
        lora_dropout=args.lora_dropout > 0,
        fused_cross_entropy=fused,
    )


def training_arguments(
    args: ChatbotArguments, bf16: bool, batch_size: int | None = None, fused: bool = False
) -> TrainingArguments:
    """The Trainer's settings; `batch_size` 1 when each dataset item is a token-budget group."""
    batch_size = batch_size or args.per_device_batch_size
    return TrainingArguments(
        use_liger_kernel=fused,
        liger_kernel_config=LIGER_CONFIG if fused else None,
        **length_grouping(args.packing),
        output_dir=str(args.checkpoint_dir),
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=0,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        bf16=bf16,
        use_cpu=not torch.cuda.is_available(),
        logging_steps=args.logging_steps,
        eval_strategy="steps",
        eval_steps=args.save_steps,
        save_strategy="steps",
        save_steps=args.save_steps,
        save_total_limit=2,
        seed=args.seed,
        data_seed=args.seed,
        remove_unused_columns=False,
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,
        report_to="none",
        disable_tqdm=True,
    )


def load_base(args: ChatbotArguments, conversations: list, tiny_folder: Path) -> tuple[Any, Any, list[float]]:
    """The base model and tokenizer: built and warmed up for tiny references, loaded otherwise."""
    if tiny_models.is_tiny(args.model_id):
        kind = tiny_models.tiny_kind(args.model_id, tiny_models.TINY_CAUSAL_KINDS)
        # Under torchrun the main process builds and saves the tiny base first; the others then load it.
        with PartialState().main_process_first():
            tokenizer, model, losses = chat_model.prepare_tiny_base(
                kind,
                conversations,
                args.pretrain_steps,
                args.pretrain_learning_rate,
                args.per_device_batch_size,
                args.max_seq_length,
                args.seed,
                tiny_folder,
                args.pretrain_format,
            )
        if args.load_in_4bit:  # QLoRA on the warmed-up tiny base, as on a Hub base
            model = chat_model.load_causal_lm(tiny_folder, load_in_4bit=True)
        return tokenizer, model, losses
    if args.pretrain_steps:
        # Ignored, not refused: `--param ChatbotModelId=<Hub id>` on the local config (pretrain_steps 300)
        # must train the Hub model as is; warming up a pretrained model would only undo its training.
        LOG.warning(
            "pretrain_steps=%d warms up tiny bases only; %s is pretrained, so it is skipped",
            args.pretrain_steps,
            args.model_id,
        )
    tokenizer = chat_model.load_tokenizer(args.model_id, tiny=False)
    return tokenizer, chat_model.load_causal_lm(args.model_id, args.load_in_4bit), []


def chatbot_config(args: ChatbotArguments, tokenizer: Any, conversations: list, tiny: bool) -> dict[str, Any]:
    """What the endpoint needs besides weights: their folders, template, default system prompt, caps."""
    systems = [m["content"] for m in conversations[0] if m["role"] == "system"]
    return {
        "base_model_id": args.model_id,
        "base_dir": "base" if tiny else None,
        "adapter_dir": "adapter",
        "merged_dir": "merged" if args.merge else None,
        "tokenizer_class": "PreTrainedTokenizerFast" if tiny else "AutoTokenizer",
        "chat_template": tokenizer.chat_template,
        "system_prompt": systems[0] if systems else None,
        "dtype": "bfloat16" if chat_model.use_bf16() else "float32",
        "max_input_tokens": args.max_seq_length,
        "max_new_tokens": 128,
    }


def save_serving_tokenizer(tokenizer: Any, folder: Path, system_prompt: str | None) -> None:
    """The tokenizer beside the merged weights, for an engine that serves merged/ alone (LMI/vLLM): its
    template also puts in the training system prompt when a conversation has none, as the handler does."""
    original = tokenizer.chat_template
    tokenizer.chat_template = lmi_adapter.template_with_default_system(original, system_prompt)
    try:
        tokenizer.save_pretrained(folder)
    finally:
        tokenizer.chat_template = original


def write_model_dir(
    args: ChatbotArguments, model: Any, tokenizer: Any, config: dict[str, Any], tiny_folder: Path
) -> None:
    """adapter/, merged/ (optional, with its own tokenizer), base/ (tiny), tokenizer + chat template, config,
    code/inference.py."""
    model_dir = args.model_dir
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(model_dir / "adapter")
    tokenizer.save_pretrained(model_dir)
    tiny = config["base_dir"] is not None
    if tiny:
        shutil.copytree(tiny_folder, model_dir / "base", dirs_exist_ok=True)
    if args.merge:
        LOG.info("merging the adapter into a %s reload of the base", config["dtype"])
        base_source = model_dir / "base" if tiny else args.model_id
        merged = chat_model.merge_adapter(base_source, model_dir / "adapter")
        merged.save_pretrained(model_dir / "merged")
        save_serving_tokenizer(tokenizer, model_dir / "merged", config["system_prompt"])
    write_json(model_dir / CONFIG_FILE, config)
    code = model_dir / "code"
    code.mkdir(exist_ok=True)
    shutil.copyfile(INFERENCE_HANDLER, code / "inference.py")
    shutil.copyfile(INFERENCE_REQUIREMENTS, code / "requirements.txt")


def summarize(
    world_size: int,
    callback: MetricLogCallback,
    pretrain_losses: list[float],
    resumed_from: int,
    result: Any,
    eval_metrics: dict[str, float],
    tokens: tuple[int, int],
) -> dict[str, Any]:
    """training_metrics.json: first/last losses, eval loss, throughput, where training resumed."""
    losses = [entry["loss"] for entry in callback.history if "loss" in entry]
    runtime = result.metrics.get("train_runtime", 0.0)
    return {
        "train_loss_first": losses[0] if losses else None,
        "train_loss_last": losses[-1] if losses else None,
        "train_loss_mean": result.metrics.get("train_loss"),
        "eval_loss": eval_metrics.get("eval_loss"),
        "global_step": result.global_step,
        "world_size": world_size,
        "resumed_from_step": resumed_from,
        "pretrain_loss_first": pretrain_losses[0] if pretrain_losses else None,
        "pretrain_loss_last": pretrain_losses[-1] if pretrain_losses else None,
        "train_runtime_s": runtime,
        "train_samples_per_second": result.metrics.get("train_samples_per_second"),
        "dataset_tokens": tokens[0],
        "dataset_reply_tokens": tokens[1],
        "log_history": callback.history,
    }


@dataclasses.dataclass(frozen=True)
class Batching:
    """How examples become steps: token-budget groups packed in one row, or batches of examples."""

    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    collator: Any
    batch_size: int  # Trainer items per device and step (1 group, or N examples)
    tokens_per_step: int  # the most tokens one device's micro-batch holds (what memory must hold)
    stats: token_batches.GroupStats | None = None

    def describe(self, items_per_second: float | None) -> dict[str, Any]:
        """Throughput in examples and tokens (the Trainer counts its items: groups, when grouped)."""
        if self.stats is None:
            return {"tokens_per_batch": None, "examples_per_batch": self.batch_size}
        rate = items_per_second or 0.0
        return {
            "tokens_per_batch": self.stats.budget,
            "examples_per_batch": round(self.stats.examples_per_group, 2),
            "batch_fill": round(self.stats.fill, 3),
            "train_samples_per_second": rate * self.stats.examples_per_group,
            "train_tokens_per_second": rate * self.stats.tokens / max(self.stats.groups, 1),
        }


def make_batching(
    args: ChatbotArguments, pad_token_id: int, bf16: bool, train: list[dict], validation: list[dict]
) -> Batching:
    """Token-budget groups when packing (token_batches.py), padded batches of examples otherwise."""
    if not args.packing:
        return Batching(
            train,
            validation,
            PaddingCollator(pad_token_id),
            args.per_device_batch_size,
            args.per_device_batch_size * args.max_seq_length,
        )
    budget = token_budget(args, bf16)
    rows_per_step = args.gradient_accumulation_steps * PartialState().num_processes
    if not args.tokens_per_batch:  # derived from the GPU's row, not asked for: keep enough updates
        tokens = sum(len(feature["input_ids"]) for feature in train)
        fitted = token_batches.fit_budget(
            budget,
            tokens,
            MIN_STEPS_PER_EPOCH * rows_per_step,
            args.max_seq_length,
            PACK_MULTIPLE if bf16 else None,
        )
        if fitted < budget:
            LOG.info(
                "token budget lowered from %d to %d: %d training tokens give an epoch %d optimizer steps",
                budget,
                fitted,
                tokens,
                MIN_STEPS_PER_EPOCH,
            )
        budget = fitted
    packer = PackingCollator(pad_token_id, pad_to_multiple_of=PACK_MULTIPLE if bf16 else None)
    groups = token_batches.group_features(train, budget, args.seed)
    stats = token_batches.group_stats(groups, budget)
    steps_per_epoch = max(1, stats.groups // rows_per_step)
    LOG.info(
        "token budget %d: %d examples in %d packed rows (%.1f examples a row, %.0f%% full); "
        "an epoch is ~%d optimizer steps",
        budget,
        stats.examples,
        stats.groups,
        stats.examples_per_group,
        100 * stats.fill,
        steps_per_epoch,
    )
    if steps_per_epoch < MIN_STEPS_PER_EPOCH:
        LOG.warning(
            "only ~%d optimizer steps an epoch (%d packed rows, accumulation %d): the fine-tuning may be too "
            "short; raise epochs, or lower gradient_accumulation_steps or tokens_per_batch",
            steps_per_epoch,
            stats.groups,
            args.gradient_accumulation_steps,
        )
    return Batching(
        groups,
        token_batches.group_features(validation, budget, args.seed),
        token_batches.GroupPackingCollator(packer),
        1,
        budget,
        stats,
    )


def main(args: ChatbotArguments) -> dict[str, Any]:
    """Train, save the model folder and write training_metrics.json; returns the metrics."""
    if os.environ.get("OMP_NUM_THREADS") == "1":
        torch.set_num_threads(1)
    set_seed(args.seed)
    tiny = tiny_models.is_tiny(args.model_id)
    train_conversations = load_conversations(args.train)
    validation_conversations = load_conversations(args.validation)
    LOG.info(
        "%d training and %d validation conversations", len(train_conversations), len(validation_conversations)
    )
    args.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    tiny_folder = args.checkpoint_dir / chat_model.TINY_BASE
    tokenizer, base, pretrain_losses = load_base(args, train_conversations, tiny_folder)
    fit = FitStats()
    train_features = encode_all(tokenizer, train_conversations, args.max_seq_length, fit)
    validation_features = encode_all(tokenizer, validation_conversations, args.max_seq_length, fit)
    if fit.prompts_trimmed or fit.replies_cut:
        LOG.warning(
            "max_seq_length %d: %d examples lost the start of their prompt, %d kept only their last tokens "
            "(system prompt and reply alone overflow); none dropped",
            args.max_seq_length,
            fit.prompts_trimmed,
            fit.replies_cut,
        )
    bf16 = chat_model.use_bf16()
    batching = make_batching(args, tokenizer.pad_token_id, bf16, train_features, validation_features)
    fused = use_fused_kernels(args.fused_kernels)
    checkpointing = checkpointing_choice(args, base, batching.tokens_per_step, bf16, fused)
    LOG.info("gradient checkpointing %s: %s", "on" if checkpointing.enabled else "off", checkpointing.reason)
    LOG.info("fused linear cross-entropy (Liger): %s", "on" if fused else "off")
    model = chat_model.add_lora(
        base, args.lora_r, args.lora_alpha, args.lora_dropout, checkpointing.enabled, args.load_in_4bit
    )
    callback = MetricLogCallback()
    trainer = Trainer(
        model=model,
        args=training_arguments(args, bf16, batching.batch_size, fused),
        data_collator=batching.collator,
        train_dataset=batching.train,
        eval_dataset=batching.validation,
        callbacks=[callback],
    )
    trainer.remove_callback(PrinterCallback)  # the METRIC lines above say the same, once
    last = get_last_checkpoint(str(args.checkpoint_dir))
    resumed_from = int(last.rsplit("-", 1)[-1]) if last else 0
    if last:
        LOG.info("resuming from %s (step %d)", last, resumed_from)
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    LOG.info("trained %d steps in %.1f s", result.global_step, time.perf_counter() - started)
    eval_metrics = trainer.evaluate()
    if not trainer.is_world_process_zero():
        return {}
    write_model_dir(
        args,
        trainer.model,
        tokenizer,
        chatbot_config(args, tokenizer, train_conversations, tiny),
        tiny_folder,
    )
    metrics = (
        summarize(
            trainer.args.world_size,
            callback,
            pretrain_losses,
            resumed_from,
            result,
            eval_metrics,
            chat_model.masked_token_count(train_features),
        )
        | batching.describe(result.metrics.get("train_samples_per_second"))
        | {
            "examples_prompt_trimmed": fit.prompts_trimmed,
            "examples_reply_cut": fit.replies_cut,
            "gradient_checkpointing": checkpointing.enabled,
            "gradient_checkpointing_reason": checkpointing.reason,
            "fused_kernels": fused,
        }
    )
    metrics["hyperparameters"] = tracking.hyperparameters(args)
    write_json(args.output_data_dir / "training_metrics.json", metrics)
    tracking.finish_training(args.output_data_dir, metrics, "chatbot")
    LOG.info("model folder written to %s", args.model_dir)
    return metrics


if __name__ == "__main__":
    setup_logging()
    main(parse_args())
