"""Metrics of a model version: read from an evaluation report, compared between two versions.

Stdlib only. The report layout is the project's one schema (containers/evaluation/report.py):
`{"<problem>_metrics": {"<metric>": {"value": x}}, "metadata": {...}}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from model_registry.types import ModelVersion


def metrics_from_report(report: dict[str, Any]) -> dict[str, float]:
    """Every `<problem>_metrics.<name>.value` number of a report, as {name: value}.

    Non-scalar entries (a confusion matrix) are skipped; a report without any metric raises ValueError.
    """
    found: dict[str, float] = {}
    for key, body in report.items():
        if not key.endswith("_metrics") or not isinstance(body, dict):
            continue
        for name, entry in body.items():
            value = entry.get("value") if isinstance(entry, dict) else None
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                found[name] = float(value)
    if not found:
        raise ValueError("the evaluation report holds no '<problem>_metrics.<name>.value' numbers")
    return found


@dataclass(frozen=True)
class MetricDelta:
    """One metric of two versions side by side; a value is None when that version lacks the metric."""

    metric: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


def compare(a: ModelVersion, b: ModelVersion) -> list[MetricDelta]:
    """The union of both versions' metrics, sorted by name, with b - a where both have it."""
    if a.group != b.group:
        raise ValueError(f"compare versions of one group, not {a.group!r} and {b.group!r}")
    names = sorted(set(a.metrics) | set(b.metrics))
    return [MetricDelta(name, a.metrics.get(name), b.metrics.get(name)) for name in names]
