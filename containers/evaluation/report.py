"""The project's one evaluation-report schema (SageMaker model-quality layout).

    {"<problem>_metrics": {"<metric>": {"value": 12.3}, ...}, "metadata": {...}}

Written by the evaluation scripts, read by the pipeline's quality gates (JsonGet paths come from
`json_path` below, never from literals) and by the registry's ModelMetrics. Pure stdlib: the pipeline
side imports it without pulling in torch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPORT_FILE = "evaluation.json"


@dataclass(frozen=True)
class ReportSpec:
    """What one model's report holds: its problem key and the metrics it must carry."""

    model: str
    problem_key: str
    metrics: tuple[str, ...]
    higher_is_better: bool = True


SPECS: dict[str, ReportSpec] = {
    "chatbot": ReportSpec("chatbot", "chatbot_metrics", ("bleu", "chrf")),
    "classifier": ReportSpec(
        "classifier", "multiclass_classification_metrics", ("accuracy", "macro_f1", "weighted_f1")
    ),
}


def spec(model: str) -> ReportSpec:
    try:
        return SPECS[model]
    except KeyError:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(SPECS)}") from None


def json_path(model: str, metric: str) -> str:
    """The JsonGet path of one metric's value, e.g. 'chatbot_metrics.bleu.value'."""
    report = spec(model)
    if metric not in report.metrics:
        raise ValueError(f"{model} reports {', '.join(report.metrics)}; not {metric!r}")
    return f"{report.problem_key}.{metric}.value"


def build_report(
    model: str,
    metrics: dict[str, float],
    metadata: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble a report; `extra` adds non-scalar entries (e.g. confusion_matrix) under the problem key."""
    report_spec = spec(model)
    missing = [m for m in report_spec.metrics if m not in metrics]
    if missing:
        raise ValueError(f"{model} report is missing metrics: {', '.join(missing)}")
    body: dict[str, Any] = {name: {"value": float(value)} for name, value in metrics.items()}
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
    for name in report_spec.metrics:
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
