"""Get, Std:Join, Std:JsonGet and conditions, on hand-written expressions with exact results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.local.expressions import (
    Scope,
    UnresolvedReference,
    evaluate_condition,
    parse_path,
    references,
    resolve,
)

STEP_PROPERTIES = {
    "Prepare": {
        "ProcessingOutputConfig": {
            "Outputs": [
                {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/run/train"}},
                {"OutputName": "test", "S3Output": {"S3Uri": "s3://b/run/test"}},
            ]
        }
    },
    "Train": {
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/run/model.tar.gz"},
        "FinalMetricDataList": [{"MetricName": "loss", "Value": 0.5}],
    },
}


@pytest.fixture
def scope(tmp_path: Path) -> Scope:
    report = tmp_path / "evaluation.json"
    report.write_text(
        json.dumps({"chatbot_metrics": {"bleu": {"value": 12.5}}, "list": [{"x": 1}, {"x": 2}]})
    )
    return Scope(
        parameters={"Threshold": 10.0, "Name": "tiny", "Flag": True},
        execution={"PipelineExecutionId": "exec-1"},
        steps=STEP_PROPERTIES,
        property_files={"Evaluate": {"Report": report}},
        read_uri=lambda uri: tmp_path / uri.rsplit("/", 1)[-1],
    )


def json_get(path: str) -> dict:
    return {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.Report"}, "Path": path}}


def test_parse_path_splits_names_keys_and_indexes() -> None:
    assert parse_path("Outputs['train'].S3Output.S3Uri") == ["Outputs", "train", "S3Output", "S3Uri"]
    assert parse_path('a["b c"][0].d[-1]') == ["a", "b c", 0, "d", -1]
    with pytest.raises(UnresolvedReference, match=r"cannot parse path 'a\.\.b'"):
        parse_path("a..b")


def test_get_reads_parameters_execution_and_step_properties(scope: Scope) -> None:
    value = {
        "p": {"Get": "Parameters.Threshold"},
        "e": {"Get": "Execution.PipelineExecutionId"},
        "o": {"Get": "Steps.Prepare.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"},
        "m": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
        "f": {"Get": "Steps.Train.FinalMetricDataList['loss'].Value"},
        "i": {"Get": "Steps.Prepare.ProcessingOutputConfig.Outputs[0].OutputName"},
    }
    assert resolve(value, scope) == {
        "p": 10.0,
        "e": "exec-1",
        "o": "s3://b/run/test",
        "m": "s3://b/run/model.tar.gz",
        "f": 0.5,
        "i": "train",
    }


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("Parameters.Nope", "the definition has no parameter 'Nope'"),
        ("Execution.Nope", "unknown execution variable 'Nope'"),
        ("Steps.Missing.X", "step 'Missing' has not produced properties"),
        ("Steps.Prepare.ProcessingOutputConfig.Outputs['valid'].S3Output.S3Uri", "no record named 'valid'"),
        ("Steps.Train.ModelArtifacts.S3Uri", "no 'S3Uri' here"),
        ("Other.X", "unknown reference root 'Other'"),
    ],
)
def test_unresolvable_get_names_what_is_missing(scope: Scope, reference: str, message: str) -> None:
    with pytest.raises(UnresolvedReference, match=message):
        resolve({"Get": reference}, scope)


def test_join_prints_values_as_the_service_does(scope: Scope) -> None:
    join = {
        "Std:Join": {
            "On": "/",
            "Values": [
                "s3://b",
                {"Get": "Execution.PipelineExecutionId"},
                {"Get": "Parameters.Threshold"},
                {"Get": "Parameters.Flag"},
                3,
            ],
        }
    }
    assert resolve(join, scope) == "s3://b/exec-1/10.0/true/3"


def test_json_get_reads_property_files_and_s3_uris(scope: Scope) -> None:
    assert resolve(json_get("chatbot_metrics.bleu.value"), scope) == 12.5
    assert resolve(json_get("list[1].x"), scope) == 2
    by_uri = {"Std:JsonGet": {"S3Uri": "s3://b/run/evaluation.json", "Path": "chatbot_metrics.bleu.value"}}
    assert resolve(by_uri, scope) == 12.5
    with pytest.raises(UnresolvedReference, match="no 'rouge' here"):
        resolve(json_get("chatbot_metrics.rouge.value"), scope)
    missing = {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.Other"}, "Path": "a"}}
    with pytest.raises(UnresolvedReference, match="step 'Evaluate' has no property file 'Other'"):
        resolve(missing, scope)


def test_comparisons_read_numbers_and_report_their_operands(scope: Scope) -> None:
    gate = {
        "Type": "GreaterThanOrEqualTo",
        "LeftValue": json_get("chatbot_metrics.bleu.value"),
        "RightValue": {"Get": "Parameters.Threshold"},
    }
    outcome = evaluate_condition(gate, scope)
    assert (outcome.text, outcome.value) == ("chatbot_metrics.bleu.value = 12.5 >= 10.0", True)
    assert evaluate_condition({**gate, "Type": "LessThan"}, scope).value is False
    assert evaluate_condition({"Type": "Equals", "LeftValue": "10", "RightValue": 10}, scope).value is True
    assert (
        evaluate_condition({"Type": "GreaterThan", "LeftValue": 10, "RightValue": 10}, scope).value is False
    )


def test_in_not_and_or_conditions(scope: Scope) -> None:
    is_tiny = {"Type": "In", "QueryValue": {"Get": "Parameters.Name"}, "Values": ["tiny", "small"]}
    assert evaluate_condition(is_tiny, scope).value is True
    assert evaluate_condition({"Type": "Not", "Condition": is_tiny}, scope).value is False
    false = {"Type": "LessThan", "LeftValue": 2, "RightValue": 1}
    assert evaluate_condition({"Type": "Or", "Conditions": [false, is_tiny]}, scope).value is True
    with pytest.raises(UnresolvedReference, match="unsupported condition type 'Between'"):
        evaluate_condition({"Type": "Between"}, scope)


def test_incomparable_operands_are_an_error(scope: Scope) -> None:
    with pytest.raises(UnresolvedReference, match="cannot compare 'abc' with 3"):
        evaluate_condition({"Type": "LessThan", "LeftValue": "abc", "RightValue": 3}, scope)


def test_references_lists_the_steps_an_expression_reads() -> None:
    value = {
        "a": [
            {"Get": "Steps.A.X"},
            {"Std:Join": {"Values": [{"Get": "Steps.B.Y"}, {"Get": "Parameters.P"}]}},
        ],
        "b": json_get("x"),
    }
    assert sorted(set(references(value))) == ["A", "B", "Evaluate"]
