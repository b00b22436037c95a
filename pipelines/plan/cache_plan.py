"""Which steps of the next execution hit the cache, which recompute, and why.

A step's cache key is its arguments (SageMaker: "Default cache key attributes by pipeline step type",
https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html) without where it writes
(`StepKind.destinations`, the same table the local runner's key uses) plus, through its Environment,
the fingerprint of each input folder it reads (DATA_FINGERPRINT_<FOLDER>, filled from FingerprintData's
property file). The plan compares that key material, per step, for the next execution (the definition,
its parameters, the data as it is now) with the previous one's, and reports the leaves that differ.

An argument read from an upstream step (`Get: Steps.X...`) cannot be known before X runs. On SageMaker
a recomputed X writes under the new execution id, so the step downstream gets new arguments and
recomputes too; the plan says so ("upstream X recomputes"). The local runner keys on the content of
those outputs instead, so locally such a step may still hit when X's outputs come out identical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelines.local.cache import without_destinations
from pipelines.local.dag import Dag, StepNode, build_dag
from pipelines.local.step_types import STEP_KINDS

HIT, RECOMPUTE, RUNS, NO_JOB = "hit", "recompute", "runs", "-"
FINGERPRINT_PATH = re.compile(r"^folders\.([A-Za-z0-9_-]+)\.sha256$")
CODE_URI = re.compile(r"/code/([0-9a-f]{12})/")
FINGERPRINT_ENV = "DATA_FINGERPRINT_"


@dataclass(frozen=True)
class Execution:
    """What one execution's cache keys are computed from.

    `fingerprints` maps a data folder to its SHA-256 (None: not known, e.g. no record of the last run's);
    `completed` names the steps whose results exist to be reused (None: assume every step's do);
    `durations` are the steps' durations in seconds, where known (for the cost estimate).
    """

    definition: Mapping[str, Any]
    parameters: Mapping[str, Any]
    fingerprints: Mapping[str, str] | None
    completed: frozenset[str] | None = None
    durations: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StepPlan:
    name: str
    type: str
    status: str  # hit | recompute | runs (not cached: every execution) | - (no job)
    reasons: tuple[str, ...] = ()
    instance_type: str | None = None
    instance_count: int = 1
    spot: bool = False


class _Ref(str):
    """A value only known at run time (a property of another step): compared by its expression."""


def _resolve(value: Any, parameters: Mapping[str, Any], fingerprints: Mapping[str, str] | None) -> Any:
    if isinstance(value, list):
        return [_resolve(item, parameters, fingerprints) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"} and isinstance(value["Get"], str):
        reference = value["Get"]
        if reference.startswith("Parameters."):
            return parameters.get(reference.removeprefix("Parameters."), _Ref(f"<{reference}>"))
        return _Ref(f"<{reference}>")
    if set(value) == {"Std:Join"}:
        spec = value["Std:Join"]
        parts = [_resolve(item, parameters, fingerprints) for item in spec.get("Values", [])]
        if any(isinstance(part, _Ref) for part in parts):
            return _Ref("<join " + json.dumps(parts, default=str) + ">")
        return str(spec.get("On", "")).join(_text(part) for part in parts)
    if set(value) == {"Std:JsonGet"}:
        path = str(value["Std:JsonGet"].get("Path", ""))
        match = FINGERPRINT_PATH.match(path)
        if match:
            folder = match.group(1)
            if fingerprints is None or folder not in fingerprints:
                return _Ref(f"<unknown fingerprint of {folder}>")
            return fingerprints[folder]
        return _Ref("<" + json.dumps(value, sort_keys=True) + ">")
    return {key: _resolve(item, parameters, fingerprints) for key, item in value.items()}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _leaves(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _leaves(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            label = item.get("InputName") or item.get("ChannelName") if isinstance(item, dict) else None
            _leaves(item, f"{prefix}[{label if label else index}]", out)
    else:
        out[prefix] = value


def key_material(node: StepNode, run: Execution) -> dict[str, Any]:
    """The leaves of the step's cache key for `run`: dotted path -> resolved value (or a _Ref)."""
    kind = STEP_KINDS.get(node.type)
    args = without_destinations(node.arguments, kind.destinations if kind else ())
    leaves: dict[str, Any] = {}
    _leaves(_resolve(args, run.parameters, run.fingerprints), "", leaves)
    return leaves


def describe_change(path: str, before: Any, after: Any) -> str:
    """One reason, in the words of what changed: code, data folder, image, hyperparameter, argument."""
    if path.startswith("Environment." + FINGERPRINT_ENV):
        folder = path.removeprefix("Environment." + FINGERPRINT_ENV).lower()
        if isinstance(before, _Ref) or isinstance(after, _Ref):
            return f"data {folder}/: fingerprint not known for the previous run"
        return f"data {folder}/ changed ({str(before)[:8]} -> {str(after)[:8]})"
    old_code, new_code = CODE_URI.search(str(before)), CODE_URI.search(str(after))
    if old_code and new_code and old_code.group(1) != new_code.group(1):
        return f"code changed ({old_code.group(1)} -> {new_code.group(1)})"
    if path.endswith(("ImageUri", "TrainingImage")):
        return f"image {_show(before)} -> {_show(after)}"
    if path.endswith(("InstanceType", "InstanceCount")):
        return f"instances {path.rsplit('.', 1)[-1]} {_show(before)} -> {_show(after)}"
    if path.startswith("Conditions"):
        return f"condition {path} {_show(before)} -> {_show(after)}"
    if path.startswith("HyperParameters."):
        return f"hyperparameter {path.removeprefix('HyperParameters.')} {_show(before)} -> {_show(after)}"
    return f"{path} {_show(before)} -> {_show(after)}"


def _show(value: Any) -> str:
    text = "(none)" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resources(leaves: Mapping[str, Any], node: StepNode) -> tuple[str | None, int, bool]:
    prefix = "ProcessingResources.ClusterConfig." if node.type == "Processing" else "ResourceConfig."
    kind = leaves.get(prefix + "InstanceType")
    count = leaves.get(prefix + "InstanceCount", 1)
    spot = bool(leaves.get("EnableManagedSpotTraining", False))
    return (
        kind if isinstance(kind, str) and not isinstance(kind, _Ref) else None,
        int(count) if isinstance(count, int | float | str) and str(count).isdigit() else 1,
        spot,
    )


def plan_execution(current: Execution, previous: Execution | None) -> list[StepPlan]:
    """A StepPlan per step of `current`'s definition, in run order (see the module docstring)."""
    dag = build_dag(current.definition)
    before: Dag | None = build_dag(previous.definition) if previous is not None else None
    plans: dict[str, StepPlan] = {}
    for name in dag.order:
        node = dag.steps[name]
        kind = STEP_KINDS.get(node.type)
        leaves = key_material(node, current)
        instance, count, spot = _resources(leaves, node)
        if kind is None or not kind.is_job:
            plans[name] = StepPlan(name, node.type, NO_JOB)
            continue
        status, reasons = _judge(node, leaves, current, previous, before, plans)
        plans[name] = StepPlan(name, node.type, status, tuple(reasons), instance, count, spot)
    return [plans[name] for name in dag.order]


def _judge(
    node: StepNode,
    leaves: Mapping[str, Any],
    current: Execution,
    previous: Execution | None,
    before: Dag | None,
    plans: Mapping[str, StepPlan],
) -> tuple[str, list[str]]:
    if not node.cache_enabled:
        return RUNS, ["not cached: runs every execution"]
    if previous is None or before is None or node.name not in before.steps:
        return RECOMPUTE, ["no previous run of this step"]
    if previous.completed is not None and node.name not in previous.completed:
        return RECOMPUTE, ["the previous run has no result of this step to reuse"]
    old = key_material(before.steps[node.name], previous)
    reasons = []
    for path in sorted(set(leaves) | set(old)):
        after, was = leaves.get(path), old.get(path)
        if isinstance(after, _Ref) and isinstance(was, _Ref) and not path.startswith("Environment."):
            continue  # a property of an upstream step: the upstream's own plan decides
        if after != was:
            reasons.append(describe_change(path, was, after))
    text = json.dumps(leaves, default=str)
    for upstream in sorted(node.upstream):
        upstream_plan = plans.get(upstream)
        if upstream_plan and upstream_plan.status in (RECOMPUTE, RUNS) and f"<Steps.{upstream}." in text:
            reasons.append(f"upstream {upstream} recomputes")
    unique = list(dict.fromkeys(reasons))
    return (RECOMPUTE, unique) if unique else (HIT, ["same code, arguments and data"])
