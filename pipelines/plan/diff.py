"""A semantic diff of two definitions, per step: parameters, images, code, hyperparameters, instance
types, conditions; what a reviewer asks of an upsert, not a JSON text diff."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.local.dag import build_dag
from pipelines.plan.cache_plan import _leaves, describe_change


def _parameters(definition: Mapping[str, Any]) -> dict[str, Any]:
    return {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}


def diff_definitions(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """One line per change; an empty list when the definitions mean the same."""
    if old is None:
        return [f"+ new pipeline: {len(build_dag(new).steps)} steps, {len(_parameters(new))} parameters"]
    lines: list[str] = []
    before, after = _parameters(old), _parameters(new)
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            lines.append(f"+ parameter {name} = {after[name]!r}")
        elif name not in after:
            lines.append(f"- parameter {name}")
        elif before[name] != after[name]:
            lines.append(f"~ parameter {name}: {before[name]!r} -> {after[name]!r}")
    old_steps, new_steps = build_dag(old).steps, build_dag(new).steps
    for name in [*new_steps, *(n for n in old_steps if n not in new_steps)]:
        if name not in old_steps:
            lines.append(f"+ step {name} ({new_steps[name].type})")
            continue
        if name not in new_steps:
            lines.append(f"- step {name} ({old_steps[name].type})")
            continue
        was, now = {}, {}
        _leaves(_own(old_steps[name].definition), "", was)
        _leaves(_own(new_steps[name].definition), "", now)
        for path in sorted(was.keys() | now.keys()):
            if was.get(path) != now.get(path):
                where = path.removeprefix("Arguments.")
                lines.append(f"~ {name}: " + describe_change(where, was.get(path), now.get(path)))
    return lines


def _own(step: Mapping[str, Any]) -> dict[str, Any]:
    """What the step itself says (nested branch steps are compared as steps of their own)."""
    arguments = dict(step.get("Arguments", {}))
    for branch in ("IfSteps", "ElseSteps"):
        if branch in arguments:
            arguments[branch] = sorted(s["Name"] for s in arguments[branch])
    return {key: value for key, value in {**step, "Arguments": arguments}.items() if key != "Name"}
