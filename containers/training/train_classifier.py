"""Train the location classifier: DistilBERT sequence classification with class-weighted loss.

    python containers/training/train_classifier.py --model-id tiny:distilbert --train <dir> \
        --validation <dir> --model-dir <dir> --output-data-dir <dir> --checkpoint-dir <dir> --epochs 30

Inside a SageMaker training job every path defaults to the container's. The label map comes from the
train channel's label_map.json (PrepareLocationData writes it). Seeded; evaluates every epoch, keeps the
best model by validation macro-F1 and stops after `early_stopping_patience` epochs without a gain.
Checkpoints go to --checkpoint-dir, and a restarted job resumes from the latest one.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import torch
from transformers import (
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

from containers.common import tiny_models, tracking
from containers.common.cli import add_flag, add_job_paths
from containers.common.errors import run_main
from containers.common.io import setup_logging, write_json
from containers.training.classifier_data import LABEL_MAP, check_trainable, load_examples, load_label_map

LOG = logging.getLogger("train_classifier")
INFERENCE_DIR = Path(__file__).resolve().parents[1] / "inference"
CONFIG_FILE = "classifier_config.json"
TINY_TOKENIZER = "tiny_tokenizer"


@dataclass(frozen=True)
class ClassifierArguments:
    """The script's arguments (hyperparameters and job paths), checked before any data is read."""

    model_id: str
    train: Path
    validation: Path
    model_dir: Path
    output_data_dir: Path
    checkpoint_dir: Path
    epochs: float = 5.0
    learning_rate: float = 5e-5
    per_device_batch_size: int = 16
    max_seq_length: int = 256
    early_stopping_patience: int = 2
    seed: int = 42

    def __post_init__(self) -> None:
        if not self.model_id.strip():
            raise ValueError("--model-id is empty: name a Hub id, a local folder or tiny:distilbert")
        if self.epochs <= 0:
            raise ValueError(f"--epochs {self.epochs} must be positive")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"--learning-rate {self.learning_rate} must be in (0, 1)")
        for flag, value in (
            ("per-device-batch-size", self.per_device_batch_size),
            ("max-seq-length", self.max_seq_length),
        ):
            if value < 1:
                raise ValueError(f"--{flag} {value} must be at least 1")
        if self.early_stopping_patience < 0:
            raise ValueError(f"--early-stopping-patience {self.early_stopping_patience} is negative")


def parse_args(argv: list[str] | None = None) -> ClassifierArguments:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_flag(
        parser,
        "model_id",
        default="distilbert/distilbert-base-uncased",
        help="Hub id, local folder, or tiny:distilbert (offline)",
    )
    add_job_paths(parser)
    add_flag(parser, "epochs", type=float, default=5.0)
    add_flag(parser, "learning_rate", type=float, default=5e-5)
    add_flag(parser, "per_device_batch_size", type=int, default=16)
    add_flag(parser, "max_seq_length", type=int, default=256)
    add_flag(parser, "early_stopping_patience", type=int, default=2)
    add_flag(parser, "seed", type=int, default=42)
    return ClassifierArguments(**vars(parser.parse_args(argv)))


def class_weights(labels: list[int], num_classes: int) -> torch.Tensor:
    """Inverse-frequency weights n / (k * count), so every class weighs the same in the loss in total.

    A class absent from training gets weight 1 (it cannot be learned, but must not divide by zero).
    """
    counts = Counter(labels)
    n, k = len(labels), num_classes
    return torch.tensor([n / (k * counts[c]) if counts[c] else 1.0 for c in range(k)], dtype=torch.float32)


def classification_metrics(predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(labels, predictions)),
        "macro_f1": float(f1_score(labels, predictions, average="macro", zero_division=0)),
    }


def compute_metrics(eval_prediction: Any) -> dict[str, float]:
    logits, labels = eval_prediction.predictions, eval_prediction.label_ids
    return classification_metrics(np.argmax(logits, axis=-1), labels)


class WeightedLossTrainer(Trainer):
    """Trainer whose loss is cross-entropy weighted by class (imbalanced locations)."""

    def __init__(self, *args: Any, weights: torch.Tensor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.weights = weights

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = torch.nn.functional.cross_entropy(
            outputs.logits, labels, weight=self.weights.to(outputs.logits.device)
        )
        return (loss, outputs) if return_outputs else loss


class MetricLogCallback(TrainerCallback):
    """`METRIC name=value step=N` lines for SageMaker metric definitions."""

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **_: Any
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        for name in ("loss", "eval_loss", "eval_accuracy", "eval_macro_f1"):
            if name in logs:
                LOG.info(
                    "METRIC %s=%.6g step=%d",
                    "train_loss" if name == "loss" else name,
                    logs[name],
                    state.global_step,
                )


def load_model_and_tokenizer(args: ClassifierArguments, texts: list[str], label2id: dict[str, int]) -> tuple:
    """A tiny DistilBERT with a tokenizer trained on the texts (kept for restarts), or a Hub/folder model."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedTokenizerFast

    if tiny_models.is_tiny(args.model_id):
        tiny_models.tiny_kind(args.model_id, ["distilbert"])
        folder = args.checkpoint_dir / TINY_TOKENIZER
        if (folder / "tokenizer.json").is_file():
            tokenizer = PreTrainedTokenizerFast.from_pretrained(str(folder))
        else:
            tokenizer = tiny_models.train_wordpiece_tokenizer(texts)
            tokenizer.save_pretrained(folder)
        model = tiny_models.build_tiny_distilbert(
            tokenizer, label2id, max_positions=args.max_seq_length, seed=args.seed
        )
        return model, tokenizer
    tokenizer = AutoTokenizer.from_pretrained(args.model_id)
    model = AutoModelForSequenceClassification.from_pretrained(
        args.model_id,
        num_labels=len(label2id),
        label2id=label2id,
        id2label={index: label for label, index in label2id.items()},
    )
    return model, tokenizer


def encode(
    tokenizer: Any, rows: list[dict[str, str]], label2id: dict[str, int], max_length: int
) -> list[dict]:
    encoded = tokenizer([row["text"] for row in rows], truncation=True, max_length=max_length)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": label2id[row["label"]]}
        for ids, mask, row in zip(encoded["input_ids"], encoded["attention_mask"], rows, strict=True)
    ]


def training_arguments(args: ClassifierArguments) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(args.checkpoint_dir),
        num_train_epochs=args.epochs,
        learning_rate=args.learning_rate,
        per_device_train_batch_size=args.per_device_batch_size,
        per_device_eval_batch_size=max(args.per_device_batch_size, 64),
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="macro_f1",
        greater_is_better=True,
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        use_cpu=not torch.cuda.is_available(),
        seed=args.seed,
        data_seed=args.seed,
        save_only_model=False,
        report_to="none",
        disable_tqdm=True,
    )


def write_model_dir(
    args: ClassifierArguments, trainer: Trainer, tokenizer: Any, label2id: dict[str, int]
) -> None:
    """Weights + tokenizer at the top level, label_map.json, classifier_config.json, code/inference.py."""
    trainer.save_model(str(args.model_dir))
    tokenizer.save_pretrained(args.model_dir)
    write_json(
        args.model_dir / LABEL_MAP,
        {"label2id": label2id, "id2label": {str(i): label for label, i in label2id.items()}},
    )
    write_json(
        args.model_dir / CONFIG_FILE,
        {
            "base_model_id": args.model_id,
            "tokenizer_class": "PreTrainedTokenizerFast"
            if tiny_models.is_tiny(args.model_id)
            else "AutoTokenizer",
            "max_input_tokens": args.max_seq_length,
        },
    )
    code = args.model_dir / "code"
    code.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(INFERENCE_DIR / "classifier.py", code / "inference.py")
    shutil.copyfile(INFERENCE_DIR / "requirements.txt", code / "requirements.txt")


def main(args: ClassifierArguments) -> dict[str, Any]:
    """Train, keep the best epoch by validation macro-F1, write the model folder and training_metrics.json."""
    if os.environ.get("OMP_NUM_THREADS") == "1":
        torch.set_num_threads(1)
    set_seed(args.seed)
    train_rows, validation_rows = load_examples(args.train), load_examples(args.validation)
    check_trainable(args.train, train_rows)
    label2id = load_label_map(args.train, train_rows)
    LOG.info(
        "%d training and %d validation texts, %d labels", len(train_rows), len(validation_rows), len(label2id)
    )
    args.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    model, tokenizer = load_model_and_tokenizer(args, [row["text"] for row in train_rows], label2id)
    train_features = encode(tokenizer, train_rows, label2id, args.max_seq_length)
    validation_features = encode(tokenizer, validation_rows, label2id, args.max_seq_length)
    weights = class_weights([f["labels"] for f in train_features], len(label2id))
    trainer = WeightedLossTrainer(
        model=model,
        args=training_arguments(args),
        train_dataset=train_features,
        eval_dataset=validation_features,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
        weights=weights,
        callbacks=[
            EarlyStoppingCallback(early_stopping_patience=args.early_stopping_patience),
            MetricLogCallback(),
        ],
    )
    trainer.remove_callback(PrinterCallback)
    last = get_last_checkpoint(str(args.checkpoint_dir))
    if last:
        LOG.info("resuming from %s", last)
    result = trainer.train(resume_from_checkpoint=last)
    best = trainer.evaluate()
    LOG.info(
        "best validation macro-F1 %.4f accuracy %.4f (%s)",
        best["eval_macro_f1"],
        best["eval_accuracy"],
        trainer.state.best_model_checkpoint,
    )
    if not trainer.is_world_process_zero():
        return {}
    write_model_dir(args, trainer, tokenizer, label2id)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    metrics = {
        "train_loss_first": losses[0] if losses else None,
        "train_loss_last": losses[-1] if losses else None,
        "best_validation_macro_f1": best["eval_macro_f1"],
        "best_validation_accuracy": best["eval_accuracy"],
        "epochs_run": trainer.state.epoch,
        "global_step": result.global_step,
        "class_weights": weights.tolist(),
        "log_history": trainer.state.log_history,
    }
    metrics["hyperparameters"] = tracking.hyperparameters(args)
    write_json(args.output_data_dir / "training_metrics.json", metrics)
    tracking.finish_training(args.output_data_dir, metrics, "classifier")
    return metrics


if __name__ == "__main__":
    setup_logging()
    # A training job reads its failure reason from /opt/ml/output/failure (not a processing job's
    # message file): https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html
    run_main(main, parse_args, LOG, message_file=Path("/opt/ml/output/failure"))
