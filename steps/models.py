"""What the step builders vary per model, in one table: a new model is one row here (and its names).

Each model's branch reads one input folder (its cache key and checkpoint path), runs one training
script whose `METRIC name=value` lines CloudWatch charts (docs/contracts.md), and one evaluation
script. The step names of each branch are in steps/names.py (MODEL_STEPS); the endpoint and the model
package group in model_registry (naming, settings).
"""

from __future__ import annotations

from dataclasses import dataclass

from model_registry.naming import MODELS


@dataclass(frozen=True)
class ModelSpec:
    """One model's row: its data folder, scripts, charted metrics and step descriptions."""

    data_folder: str  # the input folder its branch is built from (and keyed on)
    prepare_description: str
    train_script: str  # inside the code bundle, as `sagemaker_program`
    train_description: str
    training_metrics: tuple[str, ...]
    evaluate_script: str  # relative to containers/ (processing scripts run from the code mount)


MODEL_SPECS: dict[str, ModelSpec] = {
    "chatbot": ModelSpec(
        data_folder="transcripts",
        prepare_description="Chat pairs of the character's lines from the transcripts, split by episode",
        train_script="containers/training/train_chatbot.py",
        train_description="LoRA fine-tuning of the chat model on the character's lines (torchrun on GPUs)",
        training_metrics=("train_loss", "eval_loss", "learning_rate", "grad_norm"),
        evaluate_script="evaluation/evaluate_chatbot.py",
    ),
    "classifier": ModelSpec(
        data_folder="locations",
        prepare_description="Location texts and labels, split stratified by label",
        train_script="containers/training/train_classifier.py",
        train_description=(
            "Sequence classification of locations (class-weighted, early stopping on macro-F1)"
        ),
        training_metrics=("train_loss", "eval_loss", "eval_accuracy", "eval_macro_f1"),
        evaluate_script="evaluation/evaluate_classifier.py",
    ),
}
if set(MODEL_SPECS) != set(MODELS):  # import-time guard: the table and the registry's models agree
    raise RuntimeError(f"steps/models.py lists {sorted(MODEL_SPECS)}; model_registry.naming {sorted(MODELS)}")


def spec(model: str) -> ModelSpec:
    """The row of `model`; an unknown model names the known ones."""
    if model not in MODEL_SPECS:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(MODEL_SPECS)}")
    return MODEL_SPECS[model]
