"""Validate a definition's step Arguments against botocore's SageMaker service model, enums included.

SageMaker only checks the JSON when a step runs; this checks it offline. Each step's Arguments are the
request of one API call (Processing -> CreateProcessingJob, ...). Pipeline expressions are replaced
first: a Parameter by its default (so instance types and approval statuses are checked too), a Join
whose parts are all known by the joined string, anything else (a step property, a JsonGet, an
execution variable) by a placeholder of the type the shape expects. botocore's ParamValidator then
checks names, types, required members, lengths and ranges; it ignores enums, so `enum_errors` does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

OPERATIONS = {
    "Processing": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "Tuning": "CreateHyperParameterTuningJob",
    "Transform": "CreateTransformJob",
    "RegisterModel": "CreateModelPackage",
    "Model": "CreateModel",
    "EndpointConfig": "CreateEndpointConfig",
    "Endpoint": "CreateEndpoint",
}
# Members the pipeline fills in itself when it calls the API (a step definition must leave them out).
PIPELINE_ASSIGNED = {
    "CreateProcessingJob": {"ProcessingJobName": "pipelines-placeholder"},
    "CreateTrainingJob": {"TrainingJobName": "pipelines-placeholder"},
    "CreateHyperParameterTuningJob": {"HyperParameterTuningJobName": "pipelines-placeholder"},
    "CreateTransformJob": {"TransformJobName": "pipelines-placeholder"},
    "CreateModel": {"ModelName": "pipelines-placeholder"},
}
UNKNOWN = object()  # an expression whose value is only known at run time
STEP_REF = re.compile(r"^Steps\.([A-Za-z0-9-]+)\.")


@dataclass(frozen=True)
class StepProblem:
    step: str
    operation: str
    message: str

    def __str__(self) -> str:
        return f"{self.step} ({self.operation}): {self.message}"


def flatten_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in steps:
        out.append(step)
        if step["Type"] == "Condition":
            out += flatten_steps(
                step["Arguments"].get("IfSteps", []) + step["Arguments"].get("ElseSteps", [])
            )
    return out


def _is_expression(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in {"Get", "Std:Join", "Std:JsonGet"}
    )


def evaluate(value: Any, defaults: dict[str, Any]) -> Any:
    """The value an expression has when every Parameter takes its default, or UNKNOWN."""
    if not _is_expression(value):
        return value
    kind, body = next(iter(value.items()))
    if kind == "Get" and body.startswith("Parameters."):
        return defaults.get(body.removeprefix("Parameters."), UNKNOWN)
    if kind == "Std:Join":
        parts = [evaluate(part, defaults) for part in body["Values"]]
        if any(part is UNKNOWN for part in parts):
            return UNKNOWN
        return body["On"].join(str(part) for part in parts)
    return UNKNOWN


def _placeholder(shape: Any) -> Any:
    kind = shape.type_name
    if kind == "string":
        return (
            shape.enum[0] if shape.enum else "s3://placeholder/key" if "Uri" in shape.name else "placeholder"
        )
    return {"integer": 1, "long": 1, "float": 1.0, "double": 1.0, "boolean": True}.get(kind, "placeholder")


def substitute(
    value: Any, shape: Any, defaults: dict[str, Any], unknown_enums: list[str], path: str = ""
) -> Any:
    """A copy of `value` with expressions replaced (see module docstring), walking `shape` alongside."""
    if _is_expression(value):
        resolved = evaluate(value, defaults)
        if resolved is UNKNOWN:
            if shape is not None and getattr(shape, "enum", None):
                unknown_enums.append(path)
            return _placeholder(shape) if shape is not None else "placeholder"
        if shape is not None and shape.type_name in {"integer", "long"} and isinstance(resolved, str):
            return int(resolved)
        return resolved
    if isinstance(value, dict):
        if shape is not None and shape.type_name == "map":
            return {
                k: substitute(v, shape.value, defaults, unknown_enums, f"{path}.{k}")
                for k, v in value.items()
            }
        members = shape.members if shape is not None and shape.type_name == "structure" else {}
        return {
            k: substitute(v, members.get(k), defaults, unknown_enums, f"{path}.{k}".lstrip("."))
            for k, v in value.items()
        }
    if isinstance(value, list):
        member = shape.member if shape is not None and shape.type_name == "list" else None
        return [substitute(v, member, defaults, unknown_enums, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def enum_errors(value: Any, shape: Any, path: str = "") -> list[str]:
    """Every string whose shape is an enum and whose value is not one of it."""
    if shape is None:
        return []
    if shape.type_name == "string" and shape.enum and isinstance(value, str) and value not in shape.enum:
        return [f"{path or shape.name}: {value!r} is not a valid {shape.name}"]
    errors: list[str] = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                errors += enum_errors(item, shape.members[key], f"{path}.{key}".lstrip("."))
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            errors += enum_errors(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            errors += enum_errors(item, shape.value, f"{path}.{key}")
    return errors


def reference_errors(definition: dict[str, Any]) -> list[str]:
    """`Get`s of Parameters and Steps that the definition does not declare."""
    parameters = {p["Name"] for p in definition.get("Parameters", [])}
    steps = {s["Name"] for s in flatten_steps(definition["Steps"])}
    errors: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            get = node.get("Get")
            if isinstance(get, str):
                if get.startswith("Parameters.") and get.removeprefix("Parameters.") not in parameters:
                    errors.append(f"{where}: undeclared parameter in {get!r}")
                match = STEP_REF.match(get)
                if match and match.group(1) not in steps:
                    errors.append(f"{where}: unknown step in {get!r}")
            for value in node.values():
                walk(value, where)
        elif isinstance(node, list):
            for value in node:
                walk(value, where)

    for step in flatten_steps(definition["Steps"]):
        walk(step.get("Arguments", {}), step["Name"])
    return errors


def validate_definition(definition: dict[str, Any]) -> list[StepProblem]:
    """Every problem found in the definition's API steps; an empty list means all steps are valid."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker")
    defaults = {p["Name"]: p.get("DefaultValue", UNKNOWN) for p in definition.get("Parameters", [])}
    from pipelines.fail_steps import gate_outcome_problems, stranding_problems
    from steps.names import MODEL_STEPS

    problems = [StepProblem("<definition>", "-", message) for message in reference_errors(definition)]
    problems += [StepProblem("<definition>", "Fail", message) for message in stranding_problems(definition)]
    gates = [m["gate"] for m in MODEL_STEPS.values()]
    if {s["Name"] for s in flatten_steps(definition["Steps"])} >= set(gates):
        problems += [
            StepProblem("<definition>", "Fail", message)
            for message in gate_outcome_problems(definition, gates)
        ]
    for step in flatten_steps(definition["Steps"]):
        operation = OPERATIONS.get(step["Type"])
        if operation is None:
            continue
        shape = model.operation_model(operation).input_shape
        unknown_enums: list[str] = []
        request = {
            **PIPELINE_ASSIGNED.get(operation, {}),
            **substitute(step["Arguments"], shape, defaults, unknown_enums),
        }
        report = ParamValidator().validate(request, shape)
        if report.has_errors():
            problems.append(StepProblem(step["Name"], operation, report.generate_report()))
        problems += [StepProblem(step["Name"], operation, error) for error in enum_errors(request, shape)]
        problems += [
            StepProblem(
                step["Name"], operation, f"{path}: an enum set by a run-time expression cannot be checked"
            )
            for path in unknown_enums
        ]
    return problems
