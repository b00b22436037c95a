"""Score the location classifier on the held-out split: accuracy, macro-F1, per-class precision and recall.

    python containers/evaluation/evaluate_classifier.py --model-dir <model folder or model.tar.gz folder> \
        --test <classifier_test dir> --output-dir <dir>

Predictions come from the serving handler's own code (containers/inference/classifier.py). The report
(evaluation.json) also carries the confusion matrix and the majority-class accuracy on the same texts,
the baseline a useful classifier must beat; the schema derives `accuracy_lift` over it for the gate.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch

from containers.common import tracking
from containers.common.cli import add_flag
from containers.common.errors import run_main
from containers.common.io import resolve_model_dir, setup_logging
from containers.evaluation import report
from containers.inference.classifier import classify, load_classifier
from containers.training.classifier_data import load_examples

LOG = logging.getLogger("evaluate_classifier")


@dataclass(frozen=True)
class EvaluateArguments:
    """The script's arguments, checked before the model or the test split is loaded."""

    model_dir: Path
    test: Path
    output_dir: Path
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"--batch-size {self.batch_size} must be at least 1")


def parse_args(argv: list[str] | None = None) -> EvaluateArguments:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_flag(parser, "model_dir", type=Path, default=Path("/opt/ml/processing/input/model"))
    add_flag(parser, "test", type=Path, default=Path("/opt/ml/processing/input/test"))
    add_flag(parser, "output_dir", type=Path, default=Path("/opt/ml/processing/output/evaluation"))
    add_flag(parser, "batch_size", type=int, default=64)
    return EvaluateArguments(**vars(parser.parse_args(argv)))


def predict_all(bundle: dict[str, Any], texts: list[str], batch_size: int) -> list[str]:
    labels: list[str] = []
    for start in range(0, len(texts), batch_size):
        probabilities = classify(bundle, texts[start : start + batch_size])
        labels.extend(bundle["labels"][int(i)] for i in probabilities.argmax(dim=-1))
    return labels


def classification_report(truth: list[str], predicted: list[str], labels: list[str]) -> tuple[dict, dict]:
    """(scalar metrics, extra entries: per-class precision/recall/support and the confusion matrix)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    precision, recall, _, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    majority = Counter(truth).most_common(1)[0][1] / len(truth)
    metrics = {
        "accuracy": accuracy_score(truth, predicted),
        "macro_f1": f1_score(truth, predicted, labels=labels, average="macro", zero_division=0),
        "weighted_f1": f1_score(truth, predicted, labels=labels, average="weighted", zero_division=0),
        "majority_class_accuracy": majority,
    }
    extra = {
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "support": int(s)}
            for label, p, r, s in zip(labels, precision, recall, support, strict=True)
        },
        "confusion_matrix": {
            "labels": labels,
            "matrix": confusion_matrix(truth, predicted, labels=labels).tolist(),
        },
    }
    return metrics, extra


def main(args: EvaluateArguments) -> dict[str, Any]:
    """Write evaluation.json to --output-dir; returns the report."""
    if os.environ.get("OMP_NUM_THREADS") == "1":
        torch.set_num_threads(1)
    rows = load_examples(args.test)
    with tempfile.TemporaryDirectory() as scratch:
        bundle = load_classifier(resolve_model_dir(args.model_dir, Path(scratch) / "model"))
    unknown = sorted({row["label"] for row in rows} - set(bundle["labels"]))
    if unknown:
        raise ValueError(f"test labels {unknown} are unknown to the model; were the splits made together?")
    predicted = predict_all(bundle, [row["text"] for row in rows], args.batch_size)
    metrics, extra = classification_report([row["label"] for row in rows], predicted, bundle["labels"])
    result = report.build_report("classifier", metrics, {"test_texts": len(rows)}, extra)
    report.write_report("classifier", result, args.output_dir)
    tracking.track_if_configured(
        args.output_dir, tracking.experiment_name("classifier"), "evaluate-classifier"
    )
    LOG.info(
        "accuracy %.4f macro-F1 %.4f (majority class %.4f, lift %.4f) on %d texts",
        metrics["accuracy"],
        metrics["macro_f1"],
        metrics["majority_class_accuracy"],
        report.read_metric(result, "classifier", "accuracy_lift"),
        len(rows),
    )
    for name in report.spec("classifier").figures:
        LOG.info("METRIC %s=%.4f step=0", name, report.read_metric(result, "classifier", name))
    return result


if __name__ == "__main__":
    setup_logging()
    run_main(main, parse_args, LOG)
