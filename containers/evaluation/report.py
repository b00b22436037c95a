"""The project's one evaluation-report schema (SageMaker model-quality layout).

    {"<problem>_metrics": {"<metric>": {"value": 12.3}, ...}, "metadata": {...}}

Written by the evaluation scripts, read by the pipeline's quality gates (JsonGet paths come from
`json_path` below, never from literals) and by the registry's ModelMetrics. Pure stdlib: the pipeline
side imports it without pulling in torch.

Pipeline conditions compare, they do no arithmetic, so a gate that compares a model with a baseline reads a
figure derived here from the measured ones (`Derived`): the classifier's `accuracy_lift` over the
majority class of the same split, the chatbot's `chrf_lift` over its own base on the same prompts and its
`distinct_reply_ratio` against the references' own diversity. The chatbot's headline metric is chrF, not
BLEU: a character's lines are often one or two words ("Yes.", "Mouth breather."), which have no 4-gram,
so corpus BLEU is 0 for them even when they match; chrF (character n-grams) still credits them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPORT_FILE = "evaluation.json"


@dataclass(frozen=True)
class Derived:
    """A figure computed from measured ones, so that a gate (which compares, never computes) can read it."""

    inputs: tuple[str, ...]
    compute: Callable[..., float]
    meaning: str


@dataclass(frozen=True)
class ReportSpec:
    """What one model's report holds: its problem key, the measured metrics and the derived figures."""

    model: str
    problem_key: str
    metrics: tuple[str, ...]
    derived: dict[str, Derived] = field(default_factory=dict)
    higher_is_better: bool = True

    @property
    def figures(self) -> tuple[str, ...]:
        """Every scalar in the report: what a gate or ModelMetrics may read."""
        return (*self.metrics, *self.derived)


def _ratio(numerator: float, denominator: float) -> float:
    if denominator <= 0:
        raise ValueError(f"cannot divide by {denominator}: the references hold no distinct reply")
    return numerator / denominator


SPECS: dict[str, ReportSpec] = {
    "chatbot": ReportSpec(
        "chatbot",
        "chatbot_metrics",
        (
            "bleu",
            "chrf",
            "base_bleu",
            "base_chrf",
            "distinct_replies",
            "base_distinct_replies",
            "distinct_references",
        ),
        {
            "chrf_lift": Derived(
                ("chrf", "base_chrf"),
                lambda chrf, base: chrf - base,
                "chrF of the fine-tuned model minus its base's on the same prompts (the base does not pass)",
            ),
            "distinct_reply_ratio": Derived(
                ("distinct_replies", "distinct_references"),
                _ratio,
                "distinct replies / distinct references: 1.0 is as varied as the character; a model that "
                "answers everything alike scores 1/distinct_references, however short the real lines are",
            ),
        },
    ),
    "classifier": ReportSpec(
        "classifier",
        "multiclass_classification_metrics",
        ("accuracy", "macro_f1", "weighted_f1", "majority_class_accuracy"),
        {
            "accuracy_lift": Derived(
                ("accuracy", "majority_class_accuracy"),
                lambda accuracy, majority: accuracy - majority,
                "accuracy minus that of always answering the test split's most frequent label",
            ),
        },
    ),
}


def spec(model: str) -> ReportSpec:
    try:
        return SPECS[model]
    except KeyError:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(SPECS)}") from None


def json_path(model: str, metric: str) -> str:
    """The JsonGet path of one figure's value, e.g. 'chatbot_metrics.chrf_lift.value'."""
    report = spec(model)
    if metric not in report.figures:
        raise ValueError(f"{model} reports {', '.join(report.figures)}; not {metric!r}")
    return f"{report.problem_key}.{metric}.value"


def derive(model: str, metrics: dict[str, float]) -> dict[str, float]:
    """The derived figures of `model` from its measured metrics (the one place they are defined)."""
    return {
        name: float(figure.compute(*(float(metrics[i]) for i in figure.inputs)))
        for name, figure in spec(model).derived.items()
    }


def build_report(
    model: str,
    metrics: dict[str, float],
    metadata: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble a report with its derived figures; `extra` adds non-scalar entries (e.g. confusion_matrix).

    Derived figures are computed here, never passed in, so every report means the same by them.
    """
    report_spec = spec(model)
    missing = [m for m in report_spec.metrics if m not in metrics]
    if missing:
        raise ValueError(f"{model} report is missing metrics: {', '.join(missing)}")
    given = sorted(set(metrics) & set(report_spec.derived))
    if given:
        raise ValueError(f"{', '.join(given)} are derived by the schema; do not pass them")
    body: dict[str, Any] = {name: {"value": float(value)} for name, value in metrics.items()}
    body.update({name: {"value": value} for name, value in derive(model, metrics).items()})
    body.update(extra or {})
    report = {report_spec.problem_key: body, "metadata": dict(metadata or {})}
    validate_report(model, report)
    return report


def validate_report(model: str, report: dict[str, Any]) -> None:
    """Raise ValueError unless `report` follows the schema for `model`."""
    report_spec = spec(model)
    body = report.get(report_spec.problem_key)
    if not isinstance(body, dict):
        raise ValueError(f"{model} report needs a {report_spec.problem_key!r} mapping")
    for name in report_spec.figures:
        entry = body.get(name)
        if not isinstance(entry, dict) or "value" not in entry:
            raise ValueError(f"{model} report: {report_spec.problem_key}.{name} needs a 'value'")
        value = entry["value"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{model} report: {json_path(model, name)} is {value!r}, not a finite number")


def write_report(model: str, report: dict[str, Any], output_dir: Path) -> Path:
    validate_report(model, report)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / REPORT_FILE
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_metric(report: dict[str, Any], model: str, metric: str) -> float:
    node: Any = report
    for part in json_path(model, metric).split("."):
        node = node[part]
    return float(node)


def check_gate(model: str, minimums: dict[str, float]) -> dict[str, float]:
    """Validate a gate's `{figure: minimum}`: known figures, and every lift above 0.

    A lift minimum of 0 or below would let the baseline itself (the majority class, the untrained base)
    through, which is what the lift is there to stop.
    """
    if not minimums:
        raise ValueError(f"the {model} gate needs at least one figure and its minimum")
    figures = spec(model).figures
    for name, minimum in minimums.items():
        if name not in figures:
            raise ValueError(f"{model} reports {', '.join(figures)}; the gate cannot read {name!r}")
        if name.endswith("_lift") and minimum <= 0:
            raise ValueError(f"{name} minimum is {minimum}; it must be above 0 or the baseline itself passes")
    return dict(minimums)


def gate_failures(model: str, report: dict[str, Any], minimums: dict[str, float]) -> list[str]:
    """Each comparison of the gate that fails, as 'figure = value, below minimum' (empty: the gate passes).

    The same comparison the pipeline's ConditionStep makes (every figure >= its minimum).
    """
    failures = []
    for name, minimum in check_gate(model, minimums).items():
        value = read_metric(report, model, name)
        if not value >= minimum:
            failures.append(f"{name} = {value:.4g}, below {minimum:g}")
    return failures
