"""Where a training job keeps its checkpoints: a prefix keyed on exactly what keys its cache entry.

SageMaker syncs the whole checkpoint prefix down to /opt/ml/checkpoints when a job starts, and the
scripts resume from what they find there. So the prefix decides which runs resume each other:
- A spot restart, a retried job, a RetryPipelineExecution of a failed run, and a later run with the very
  same inputs must find the checkpoints (that last one is what a cache hit would have returned anyway).
- A run with any other input (data, code, image, any hyperparameter, a Parameter override) must not.

Keying on the execution id would do the first part but not the second, and it cannot be done: a
Training step's CheckpointConfig is part of its cache key (docs: pipelines-default-keys), so an
execution id there would make the step miss the cache on every run. Instead the prefix carries the
step's cache key itself: a digest of the static part of the cache-key attributes (their JSON, with
Parameters and JsonGets as references) and each run-time value (Parameter, JsonGet) those attributes
read. pipelines/service_rules.py checks a definition against the same two functions.

These functions read JSON (the definition) and SDK objects alike: an SDK pipeline variable is read
through its `.expr`, the JSON it becomes in the definition. No SDK import here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# A Training step's cache-key attributes (docs: pipelines-default-keys), less CheckpointConfig itself.
TRAINING_CACHE_KEY = (
    "AlgorithmSpecification",
    "DebugHookConfig",
    "DebugRuleConfigurations",
    "Environment",
    "HyperParameters",
    "InputDataConfig",
)
DIGEST_CHARS = 12


def as_json(value: Any) -> Any:
    """`value` as it appears in the definition: pipeline variables become their expressions."""
    if hasattr(value, "expr"):
        return value.expr
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    return value


def _run_time_nodes(value: Any) -> list[tuple[Any, Any]]:
    """(expression JSON, original object) of each Parameter and JsonGet in `value`, in order."""
    found: list[tuple[Any, Any]] = []
    expr = as_json(value)
    if isinstance(expr, dict) and len(expr) == 1:
        kind, body = next(iter(expr.items()))
        if kind == "Std:JsonGet" or (kind == "Get" and str(body).startswith("Parameters.")):
            return [(expr, value)]
        if kind == "Std:Join":
            parts = value.values if hasattr(value, "expr") else body["Values"]
            return [node for part in parts for node in _run_time_nodes(part)]
        if kind == "Get":
            return []
    if isinstance(value, dict):
        found = [node for item in value.values() for node in _run_time_nodes(item)]
    elif isinstance(value, list | tuple):
        found = [node for item in value for node in _run_time_nodes(item)]
    return found


def _unique(nodes: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    seen: set[str] = set()
    unique = []
    for expr, original in nodes:
        key = json.dumps(expr, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append((expr, original))
    return unique


def run_time_inputs(request: dict[str, Any]) -> list[Any]:
    """The expressions (Parameters, JsonGets) of the request's cache key, as JSON, in a stable order."""
    nodes = [node for name in TRAINING_CACHE_KEY for node in _run_time_nodes(request.get(name))]
    return [expr for expr, _ in _unique(nodes)]


def run_time_objects(request: dict[str, Any]) -> list[Any]:
    """The same as run_time_inputs, as the objects the request holds (SDK variables when built)."""
    nodes = [node for name in TRAINING_CACHE_KEY for node in _run_time_nodes(request.get(name))]
    return [original for _, original in _unique(nodes)]


def checkpoint_digest(request: dict[str, Any]) -> str:
    """SHA-256 (first 12 hex) of the static cache key: the cache-key attributes' JSON, sorted."""
    static = {name: as_json(request[name]) for name in TRAINING_CACHE_KEY if name in request}
    text = json.dumps(static, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DIGEST_CHARS]
