"""Statistics and constraints in Model Monitor's file forms, and the comparison that yields violations.

(Not named profile.py: the scripts run as files, and a profile.py beside them would shadow the standard
library's `profile`, which torch imports.)

statistics.json: `{"version": 0.0, "dataset": {"item_count"}, "features": [...]}`, a feature being
`{"name", "inferred_type": "Integral"|"Fractional"|"String", "numerical_statistics": {"common":
{"num_present", "num_missing"}, "mean", "sum", "std_dev", "min", "max", "distribution": {"histogram":
{"edges", "counts"}}}}` or `{"string_statistics": {"common", "distinct_count", "distribution":
{"categorical": {"buckets": [{"value", "count"}]}}}}`, as Model Monitor writes them (the histogram is ours:
Model Monitor's KLL sketch has no fixed bins to test on). Chatbot baselines add `reply_frequencies`
(counts of each distinct baseline reply), for the distinct-reply check.

constraints.json: `{"version": 0.0, "features": [{"name", "inferred_type", "completeness",
"num_constraints" | "string_constraints"}], "monitoring_config": {...}}` with our drift settings under
`monitoring_config.drift`. constraint_violations.json: `{"violations": [{"feature_name",
"constraint_check_type", "description"}]}`, the name and form the SageMaker SDK reads.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

import numpy as np

from containers.monitoring.drift import (
    DriftResult,
    DriftSettings,
    check_bins,
    check_distinct_rate,
    feature_histogram,
    window_counts,
)
from containers.monitoring.signals import CATEGORICAL, INPUT_FEATURES, OUTPUT_FEATURES

VERSION = 0.0
MAX_UNREADABLE = 0.01  # share of a window's capture lines that may fail to parse before it is a violation


def feature_names(model: str, with_outputs: bool = True) -> tuple[str, ...]:
    return INPUT_FEATURES + (OUTPUT_FEATURES[model] if with_outputs else ())


def _present(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [row[name] for row in rows if row.get(name) is not None]


def feature_statistics(name: str, rows: list[dict[str, Any]], histogram: dict[str, Any]) -> dict[str, Any]:
    values = _present(rows, name)
    common = {"num_present": len(values), "num_missing": len(rows) - len(values)}
    if name in CATEGORICAL:
        buckets = [{"value": v, "count": c} for v, c in sorted(Counter(map(str, values)).items())]
        return {
            "name": name,
            "inferred_type": "String",
            "string_statistics": {
                "common": common,
                "distinct_count": len(buckets),
                "distribution": {"categorical": {"buckets": buckets}},
            },
        }
    array = np.asarray(values, dtype=float) if values else np.zeros(0)
    integral = all(float(v).is_integer() for v in values)
    return {
        "name": name,
        "inferred_type": "Integral" if integral else "Fractional",
        "numerical_statistics": {
            "common": common,
            "mean": float(array.mean()) if values else 0.0,
            "sum": float(array.sum()),
            "std_dev": float(array.std()) if values else 0.0,
            "min": float(array.min()) if values else 0.0,
            "max": float(array.max()) if values else 0.0,
            "distribution": {"histogram": {**histogram, "counts": window_counts(histogram, values)}},
        },
    }


def histogram_of(feature: dict[str, Any]) -> dict[str, Any]:
    """A statistics.json feature's bins: {"edges"|"categories", "counts"}."""
    if "string_statistics" in feature:
        buckets = feature["string_statistics"]["distribution"]["categorical"]["buckets"]
        return {"categories": [b["value"] for b in buckets], "counts": [b["count"] for b in buckets] + [0]}
    return feature["numerical_statistics"]["distribution"]["histogram"]


def baseline_statistics(model: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """statistics.json of the baseline rows (features whose values are all missing are left out)."""
    features = []
    for name in feature_names(model):
        values = _present(rows, name)
        if not values:
            continue
        features.append(feature_statistics(name, rows, feature_histogram(values, name in CATEGORICAL)))
    statistics: dict[str, Any] = {
        "version": VERSION,
        "dataset": {"item_count": len(rows)},
        "features": features,
    }
    replies = _present(rows, "reply")
    if replies:
        statistics["reply_frequencies"] = sorted(Counter(replies).values(), reverse=True)
    return statistics


def baseline_constraints(statistics: dict[str, Any], settings: DriftSettings) -> dict[str, Any]:
    features = []
    for feature in statistics["features"]:
        entry: dict[str, Any] = {
            "name": feature["name"],
            "inferred_type": feature["inferred_type"],
            "completeness": 1.0,
        }
        if feature["inferred_type"] == "String":
            entry["string_constraints"] = {"domains": histogram_of(feature)["categories"]}
        else:
            entry["num_constraints"] = {"is_non_negative": True}
        features.append(entry)
    return {
        "version": VERSION,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "max_unreadable_fraction": MAX_UNREADABLE,
            "drift": asdict(settings),
        },
    }


def settings_from(constraints: dict[str, Any], **overrides: Any) -> DriftSettings:
    stored = dict(constraints.get("monitoring_config", {}).get("drift", {}))
    stored.update({k: v for k, v in overrides.items() if v is not None})
    return DriftSettings(**stored)


def violation(feature: str, check: str, description: str) -> dict[str, str]:
    return {"feature_name": feature, "constraint_check_type": check, "description": description}


def compare(
    baseline: dict[str, Any],
    constraints: dict[str, Any],
    rows: list[dict[str, Any]],
    unreadable: int,
    settings: DriftSettings,
) -> tuple[dict[str, Any], list[DriftResult], list[dict[str, str]]]:
    """(window statistics, drift results, violations) of a window's rows against the baseline."""
    violations: list[dict[str, str]] = []
    results: list[DriftResult] = []
    total = len(rows) + unreadable
    max_unreadable = constraints.get("monitoring_config", {}).get("max_unreadable_fraction", MAX_UNREADABLE)
    if total and unreadable / total > max_unreadable:
        violations.append(
            violation(
                "capture",
                "completeness_check",
                f"{unreadable} of {total} capture records could not be read (limit {max_unreadable:.0%}); "
                "see the job log for the first ones",
            )
        )
    features = []
    for feature in baseline["features"]:
        name, histogram = feature["name"], histogram_of(feature)
        window_feature = feature_statistics(name, rows, histogram)
        features.append(window_feature)
        if len(rows) < settings.min_window:
            continue
        values = _present(rows, name)
        if len(values) < len(rows):
            violations.append(
                violation(
                    name,
                    "completeness_check",
                    f"{len(rows) - len(values)} of {len(rows)} records lack {name}",
                )
            )
        if not values:
            continue
        result = check_bins(name, histogram["counts"], window_counts(histogram, values), settings)
        results.append(result)
        if result.drifted:
            violations.append(
                violation(name, "baseline_drift_check", result.detail + _shares(histogram, values))
            )
    replies = _present(rows, "reply")
    if baseline.get("reply_frequencies") and len(replies) >= settings.min_window:
        result = check_distinct_rate(baseline["reply_frequencies"], replies, settings)
        results.append(result)
        if result.drifted:
            violations.append(violation(result.feature, "baseline_drift_check", result.detail))
    statistics = {
        "version": VERSION,
        "dataset": {"item_count": len(rows), "unreadable_records": unreadable},
        "features": features,
        "drift": [asdict(r) for r in results],
    }
    return statistics, results, violations


def _shares(histogram: dict[str, Any], values: list[Any]) -> str:
    """For categorical features, the window's top values, so the message says what changed."""
    if "categories" not in histogram:
        return ""
    top = Counter(map(str, values)).most_common(3)
    return "; window: " + ", ".join(f"{v} {c / len(values):.0%}" for v, c in top)
