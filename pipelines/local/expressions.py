"""Evaluate the pipeline definition's expressions: `Get`, `Std:Join`, `Std:JsonGet` and conditions.

The definition JSON (Version 2020-12-01) writes every run-time value as an expression:

    {"Get": "Parameters.ChatbotMinChrf"}
    {"Get": "Execution.PipelineExecutionId"}
    {"Get": "Steps.CleanSubtitles.ProcessingOutputConfig.Outputs['cleaned'].S3Output.S3Uri"}
    {"Std:Join": {"On": "/", "Values": ["s3://bucket", {"Get": "Execution.PipelineExecutionId"}]}}
    {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.EvaluateChatbot.PropertyFiles.ChatbotReport"},
                     "Path": "chatbot_metrics.bleu.value"}}

`resolve` turns a value holding such expressions into plain JSON, given a `Scope` that knows the
parameters, the execution variables, each finished step's properties (shaped like the SageMaker
Describe* response) and where property files live on disk. A reference that does not resolve raises
`UnresolvedReference` naming it: one that fails here would fail in SageMaker as well.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class UnresolvedReference(ValueError):
    """A `Get`, `Std:JsonGet` or property path that names something that does not exist."""


# Keys by which the definition indexes a list of records: Outputs['cleaned'], FinalMetricDataList['x'].
_LIST_KEY_FIELDS = ("OutputName", "InputName", "ChannelName", "MetricName", "VariantName", "Name", "Key")
_TOKEN = re.compile(r"""\.?([A-Za-z_][A-Za-z0-9_\-]*)|\[\s*(?:'([^']*)'|"([^"]*)"|(-?\d+))\s*\]""")


@dataclass
class Scope:
    """What expressions may read while a run is in progress."""

    parameters: dict[str, Any]
    execution: dict[str, str]
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    property_files: dict[str, dict[str, Path]] = field(default_factory=dict)
    read_uri: Callable[[str], Path] | None = None


def parse_path(path: str) -> list[str | int]:
    """Split a property or JSON path into keys: "a.b['c'][0]" -> ['a', 'b', 'c', 0]."""
    tokens: list[str | int] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if match is None or match.end() == position:
            raise UnresolvedReference(f"cannot parse path {path!r} at character {position}")
        name, single, double, index = match.groups()
        if name is not None:
            tokens.append(name)
        elif index is not None:
            tokens.append(int(index))
        else:
            tokens.append(single if single is not None else double)
        position = match.end()
    return tokens


def walk(node: Any, path: list[str | int], where: str) -> Any:
    """Follow `path` into dicts and lists; a string key on a list picks the record with that name."""
    for key in path:
        if (isinstance(node, dict) and not isinstance(key, int) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node)
        ):
            node = node[key]
        elif isinstance(node, list) and isinstance(key, str):
            matches = [item for item in node if isinstance(item, dict) and _record_key(item) == key]
            if not matches:
                raise UnresolvedReference(f"{where}: no record named {key!r}")
            node = matches[0]
        else:
            raise UnresolvedReference(f"{where}: no {key!r} here")
    return node


def _record_key(item: dict[str, Any]) -> Any:
    for name in _LIST_KEY_FIELDS:
        if name in item:
            return item[name]
    return None


def resolve_get(reference: str, scope: Scope) -> Any:
    """The value of one `{"Get": reference}`."""
    head, _, rest = reference.partition(".")
    if head == "Parameters":
        if rest not in scope.parameters:
            raise UnresolvedReference(f"{reference}: the definition has no parameter {rest!r}")
        return scope.parameters[rest]
    if head == "Execution":
        if rest not in scope.execution:
            raise UnresolvedReference(f"{reference}: unknown execution variable {rest!r}")
        return scope.execution[rest]
    if head == "Steps":
        step, _, path = rest.partition(".")
        if step not in scope.steps:
            raise UnresolvedReference(f"{reference}: step {step!r} has not produced properties")
        if path.startswith("PropertyFiles."):
            raise UnresolvedReference(f"{reference}: a property file is read through Std:JsonGet only")
        return walk(scope.steps[step], parse_path(path), reference)
    raise UnresolvedReference(f"{reference}: unknown reference root {head!r}")


def join_value(value: Any) -> str:
    """How Std:Join prints one value (booleans as JSON does, numbers as written)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise UnresolvedReference(f"Std:Join cannot join a {type(value).__name__}: {value!r}")
    return str(value)


def _property_file_path(expr: Any, scope: Scope) -> Path:
    reference = expr.get("Get") if isinstance(expr, dict) else None
    match = re.fullmatch(r"Steps\.([^.]+)\.PropertyFiles\.(.+)", reference or "")
    if match is None:
        raise UnresolvedReference(
            f"Std:JsonGet PropertyFile must be a Get of Steps.X.PropertyFiles.Y: {expr!r}"
        )
    step, name = match.groups()
    files = scope.property_files.get(step, {})
    if name not in files:
        raise UnresolvedReference(f"{reference}: step {step!r} has no property file {name!r}")
    return files[name]


def json_get(spec: dict[str, Any], scope: Scope) -> Any:
    """Read `Path` from the JSON file a PropertyFile (or an S3Uri) points at."""
    if "PropertyFile" in spec:
        file = _property_file_path(spec["PropertyFile"], scope)
    elif "S3Uri" in spec:
        if scope.read_uri is None:
            raise UnresolvedReference("Std:JsonGet with S3Uri needs a way to read URIs")
        file = scope.read_uri(str(resolve(spec["S3Uri"], scope)))
    else:
        raise UnresolvedReference(f"Std:JsonGet needs PropertyFile or S3Uri: {spec!r}")
    if not file.is_file():
        raise UnresolvedReference(f"Std:JsonGet: the step did not write {file}")
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UnresolvedReference(f"Std:JsonGet: {file} is not valid JSON: {exc.msg}") from exc
    path = spec.get("Path")
    if not isinstance(path, str):
        raise UnresolvedReference(f"Std:JsonGet Path must be a string, not {path!r}")
    return walk(document, parse_path(path), f"{file.name}:{path}")


def resolve(value: Any, scope: Scope) -> Any:
    """A copy of `value` with every expression replaced by its value."""
    if isinstance(value, list):
        return [resolve(item, scope) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"}:
        return resolve_get(value["Get"], scope)
    if set(value) == {"Std:Join"}:
        spec = value["Std:Join"]
        return str(spec.get("On", "")).join(join_value(resolve(v, scope)) for v in spec.get("Values", []))
    if set(value) == {"Std:JsonGet"}:
        return json_get(value["Std:JsonGet"], scope)
    return {key: resolve(item, scope) for key, item in value.items()}


def references(value: Any) -> Iterator[str]:
    """Names of the steps an expression reads from (its implicit upstream steps)."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
    elif isinstance(value, dict):
        get = value.get("Get")
        if isinstance(get, str) and get.startswith("Steps."):
            yield get.split(".", 2)[1]
        for item in value.values():
            yield from references(item)


# -- conditions -------------------------------------------------------------------------------------

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}
_SYMBOLS = {
    "Equals": "==",
    "GreaterThan": ">",
    "GreaterThanOrEqualTo": ">=",
    "LessThan": "<",
    "LessThanOrEqualTo": "<=",
}


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Numbers compare as numbers; a numeric string against a number is read as a number."""

    def number(value: Any) -> float | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return None
        return None

    if isinstance(left, bool) or isinstance(right, bool):
        return left, right
    if isinstance(left, int | float) or isinstance(right, int | float):
        a, b = number(left), number(right)
        if a is not None and b is not None:
            return a, b
    return left, right


@dataclass(frozen=True)
class ConditionOutcome:
    """One evaluated condition, kept for the summary: 'chatbot bleu 12.3 >= 1.0 -> true'."""

    text: str
    value: bool


def evaluate_condition(condition: dict[str, Any], scope: Scope) -> ConditionOutcome:
    """Evaluate one condition of a Condition step (comparisons, In, Not, Or)."""
    kind = condition.get("Type")
    if kind in _COMPARISONS:
        left = resolve(condition.get("LeftValue"), scope)
        right = resolve(condition.get("RightValue"), scope)
        a, b = _comparable(left, right)
        try:
            result = bool(_COMPARISONS[kind](a, b))
        except TypeError as exc:
            raise UnresolvedReference(f"{kind}: cannot compare {left!r} with {right!r}") from exc
        text = f"{_describe(condition.get('LeftValue'))} = {_show(left)} {_SYMBOLS[kind]} {_show(right)}"
        return ConditionOutcome(text, result)
    if kind == "In":
        query = resolve(condition.get("QueryValue"), scope)
        values = [resolve(v, scope) for v in condition.get("Values", [])]
        return ConditionOutcome(f"{query!r} in {values!r}", query in values)
    if kind == "Not":
        inner = evaluate_condition(condition["Condition"], scope)
        return ConditionOutcome(f"not ({inner.text})", not inner.value)
    if kind == "Or":
        parts = [evaluate_condition(c, scope) for c in condition.get("Conditions", [])]
        return ConditionOutcome(" or ".join(f"({p.text})" for p in parts), any(p.value for p in parts))
    raise UnresolvedReference(f"unsupported condition type {kind!r}")


def _show(value: Any) -> str:
    """An operand as the summary prints it: floats to 4 decimals (12.3456 rather than 12.345612937)."""
    if isinstance(value, float):
        return repr(round(value, 4))
    return repr(value)


def _describe(expr: Any) -> str:
    """A short human name for a condition operand: the JsonGet path or the Get reference."""
    if isinstance(expr, dict):
        if "Std:JsonGet" in expr:
            return str(expr["Std:JsonGet"].get("Path"))
        if "Get" in expr:
            return str(expr["Get"])
    return "value"
