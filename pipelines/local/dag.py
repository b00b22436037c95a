"""The definition JSON as a DAG: steps flattened out of Condition branches, edges, order, parameters.

A Condition step nests its branch steps (`IfSteps`, `ElseSteps`) inside its Arguments; everything else
is a top-level step. Edges come from `DependsOn`, from every `Get: Steps.X...` in a step's Arguments
and conditions, and from a branch step to the Condition step that owns it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.local.expressions import references


class DefinitionError(ValueError):
    """The definition cannot run locally: the message names the step and what is wrong."""


@dataclass
class StepNode:
    """One step of the definition, with what the scheduler needs to know about it."""

    name: str
    type: str
    definition: dict[str, Any]
    upstream: set[str] = field(default_factory=set)
    # (condition step, "if" | "else") when this step is a branch of a Condition step.
    branch: tuple[str, str] | None = None

    @property
    def arguments(self) -> dict[str, Any]:
        return self.definition.get("Arguments", {})

    @property
    def cache_enabled(self) -> bool:
        return bool(self.definition.get("CacheConfig", {}).get("Enabled", False))


@dataclass
class Dag:
    """Steps in a deterministic topological order (definition order breaks ties)."""

    steps: dict[str, StepNode]
    order: list[str]

    def downstream(self, name: str) -> set[str]:
        """Every step that depends on `name`, directly or not."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for node in self.steps.values():
                if current in node.upstream and node.name not in found:
                    found.add(node.name)
                    frontier.append(node.name)
        return found


def load_definition(path: Path) -> dict[str, Any]:
    """Read a definition JSON file (what `python -m pipelines definition` writes)."""
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DefinitionError(f"{path}: no such definition file") from None
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(definition, dict) or "Steps" not in definition:
        raise DefinitionError(f"{path}: not a pipeline definition (no 'Steps')")
    return definition


def _flatten(steps: list[dict[str, Any]], out: dict[str, StepNode], branch: tuple[str, str] | None) -> None:
    for step in steps:
        name, kind = step.get("Name"), step.get("Type")
        if not isinstance(name, str) or not name:
            raise DefinitionError(f"a step has no Name: {json.dumps(step)[:200]}")
        if name in out:
            raise DefinitionError(f"step name {name!r} appears twice")
        node = StepNode(name=name, type=str(kind), definition=step, branch=branch)
        out[name] = node
        if kind == "Condition":
            arguments = step.get("Arguments", {})
            _flatten(arguments.get("IfSteps", []), out, (name, "if"))
            _flatten(arguments.get("ElseSteps", []), out, (name, "else"))


def _own_expressions(node: StepNode) -> Any:
    """What a step reads: its Arguments (a Condition step: only its Conditions) and property files."""
    if node.type == "Condition":
        return node.arguments.get("Conditions", [])
    return node.arguments


def build_dag(definition: Mapping[str, Any]) -> Dag:
    """Flatten the steps, collect their edges and order them; refuse unknown references and cycles."""
    steps: dict[str, StepNode] = {}
    _flatten(list(definition.get("Steps", [])), steps, None)
    for node in steps.values():
        wanted = set(node.definition.get("DependsOn", [])) | set(references(_own_expressions(node)))
        if node.branch is not None:
            wanted.add(node.branch[0])
        wanted.discard(node.name)
        missing = sorted(wanted - steps.keys())
        if missing:
            raise DefinitionError(f"step {node.name!r} refers to unknown step(s): {', '.join(missing)}")
        node.upstream = wanted
    return Dag(steps=steps, order=_topological_order(steps))


def _topological_order(steps: dict[str, StepNode]) -> list[str]:
    position = {name: i for i, name in enumerate(steps)}
    remaining = {name: set(node.upstream) for name, node in steps.items()}
    order: list[str] = []
    while remaining:
        ready = sorted((n for n, up in remaining.items() if not up), key=position.__getitem__)
        if not ready:
            raise DefinitionError(f"the steps form a cycle: {', '.join(sorted(remaining))}")
        for name in ready:
            order.append(name)
            del remaining[name]
        for upstream in remaining.values():
            upstream.difference_update(ready)
    return order


# -- parameters -------------------------------------------------------------------------------------


def _convert(name: str, kind: str, text: str) -> Any:
    try:
        if kind == "Integer":
            return int(text)
        if kind == "Float":
            return float(text)
    except ValueError:
        raise DefinitionError(f"parameter {name} is {kind}: {text!r} is not one") from None
    if kind == "Boolean":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise DefinitionError(f"parameter {name} is Boolean: use true or false, not {text!r}")
        return lowered == "true"
    return text


def resolve_parameters(definition: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Parameter defaults with `overrides` (strings from the command line) converted to each type."""
    declared = {p["Name"]: p for p in definition.get("Parameters", [])}
    unknown = sorted(set(overrides) - declared.keys())
    if unknown:
        raise DefinitionError(
            f"unknown parameter(s) {', '.join(unknown)}; the definition has: {', '.join(sorted(declared))}"
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        kind = spec.get("Type", "String")
        if name in overrides:
            value = _convert(name, kind, overrides[name])
        elif "DefaultValue" in spec:
            value = spec["DefaultValue"]
        else:
            raise DefinitionError(f"parameter {name} has no default: pass --param {name}=VALUE")
        allowed = spec.get("EnumValues")
        if allowed and value not in allowed:
            raise DefinitionError(f"parameter {name} must be one of {', '.join(allowed)}, not {value!r}")
        values[name] = value
    return values


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """['A=1', 'B=x'] -> {'A': '1', 'B': 'x'}; a pair without '=' is an error that says what to write."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise DefinitionError(f"--param {pair!r}: write Name=value")
        result[name.strip()] = value
    return result
