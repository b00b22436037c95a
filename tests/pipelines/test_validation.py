"""Every API step validates against botocore's SageMaker service model, enums included; bad ones do not."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipelines.validation import OPERATIONS, UNKNOWN, evaluate, validate_definition
from tests.pipelines.conftest import steps_by_name


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_every_step_is_a_valid_request(definitions: dict[str, Any], env: str) -> None:
    problems = validate_definition(definitions[env])
    assert [str(p) for p in problems] == []
    checked = [s for s in steps_by_name(definitions[env]).values() if s["Type"] in OPERATIONS]
    # 11 processing (2 are the drift baselines, 1 the batch transform's input), 2 training (local: 1
    # training, 1 tuning), 2 register, the batch model and its transform: the deploy steps are Lambda
    # steps (a request to the deploy handler, tested in tests/model_registry), not SageMaker API requests.
    assert len(checked) == 17


def _with(definition: dict[str, Any], step: str, path: list[str], value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(definition)
    node = steps_by_name(broken)[step]["Arguments"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return broken


@pytest.mark.parametrize(
    ("step", "path", "value", "expected"),
    [
        (
            "TrainChatbot",
            ["AlgorithmSpecification", "TrainingInputMode"],
            "Streaming",
            "not a valid TrainingInputMode",
        ),
        ("CleanSubtitles", ["ProcessingResources", "ClusterConfig", "VolumeSizeInGB"], "30", "Invalid type"),
        (
            "RegisterChatbot",
            ["InferenceSpecification", "SupportedRealtimeInferenceInstanceTypes"],
            ["ml.g5.huge"],
            "'ml.g5.huge' is not a valid ProductionVariantInstanceType",
        ),
        ("RegisterChatbot", ["ModelPackageGroupNameTypo"], "x", "Unknown parameter"),
    ],
)
def test_broken_steps_are_reported(
    definitions: dict[str, Any], step: str, path: list[str], value: Any, expected: str
) -> None:
    problems = [str(p) for p in validate_definition(_with(definitions["dev"], step, path, value))]
    assert any(step in p and expected in p for p in problems), problems


def test_parameter_defaults_are_checked_against_enums(definitions: dict[str, Any]) -> None:
    broken = copy.deepcopy(definitions["dev"])
    for param in broken["Parameters"]:
        if param["Name"] == "ChatbotTrainingInstanceType":
            param["DefaultValue"] = "ml.g5.mega"
    problems = [str(p) for p in validate_definition(broken)]
    assert problems == [
        "TrainChatbot (CreateTrainingJob): ResourceConfig.InstanceType: "
        "'ml.g5.mega' is not a valid TrainingInstanceType"
    ]


def test_undeclared_references_are_reported(definitions: dict[str, Any]) -> None:
    broken = _with(
        definitions["dev"],
        "DeployChatbot",
        ["group"],
        {"Get": "Steps.Nowhere.EndpointConfigName"},
    )
    assert "<definition> (-): DeployChatbot: unknown step in 'Steps.Nowhere.EndpointConfigName'" in [
        str(p) for p in validate_definition(broken)
    ]


def test_expression_evaluation() -> None:
    defaults = {"Uri": "s3://b/data", "Count": 2}
    join = {"Std:Join": {"On": "/", "Values": [{"Get": "Parameters.Uri"}, "subtitles"]}}
    assert evaluate(join, defaults) == "s3://b/data/subtitles"
    assert evaluate({"Get": "Parameters.Count"}, defaults) == 2
    assert evaluate({"Get": "Steps.A.ModelName"}, defaults) is UNKNOWN
    assert (
        evaluate(
            {"Std:Join": {"On": "-", "Values": ["a", {"Get": "Execution.PipelineExecutionId"}]}}, defaults
        )
        is UNKNOWN
    )
