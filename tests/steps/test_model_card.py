"""The ModelCard of RegisterChatbot / RegisterClassifier: resolved as a run resolves it, it is a valid
model card (the SDK's schema shapes, botocore's request shape) carrying the run's own figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conf import load_config
from containers.evaluation import report
from model_registry.cards import metric_figures, parse_content, render_card
from pipelines.local.expressions import Scope, resolve
from steps import names
from steps.parameters import gate_parameter_name
from tests.pipelines.conftest import definition_text, steps_by_name

FINGERPRINT = "ab" * 32
FIGURES = {
    "chatbot": {
        "bleu": 7.25,
        "chrf": 31.5,
        "base_chrf": 20.25,
        "distinct_replies": 12,
        "distinct_references": 16,
    },
    "classifier": {
        "accuracy": 0.8125,
        "macro_f1": 0.71875,
        "weighted_f1": 0.796875,
        "majority_class_accuracy": 0.5,
    },
}


def _report(model: str, folder: Path) -> Path:
    figures = dict(FIGURES[model])
    for metric in report.spec(model).metrics:  # metrics a newer schema adds: a distinct figure each
        figures.setdefault(metric, 0.5 + len(figures) / 64)
    path = folder / f"{model}-evaluation.json"
    path.write_text(json.dumps(report.build_report(model, figures, {"rows": 40})), encoding="utf-8")
    return path


def _scope(definition: dict[str, Any], tmp_path: Path, model: str) -> tuple[Scope, Path]:
    fingerprint = tmp_path / "fingerprint.json"
    folders = {name: {"sha256": FINGERPRINT} for name in ("transcripts", "locations", "subtitles")}
    fingerprint.write_text(json.dumps({"folders": folders}), encoding="utf-8")
    report_path = _report(model, tmp_path)
    steps = steps_by_name(definition)
    train, evaluate = names.MODEL_STEPS[model]["train"], names.MODEL_STEPS[model]["evaluate"]
    assert train in steps and evaluate in steps
    evaluation_output = {"OutputName": "evaluation", "S3Output": {"S3Uri": "s3://bucket/run-7/evaluation"}}
    baseline_output = {"OutputName": "baseline", "S3Output": {"S3Uri": "s3://bucket/run-7/baseline"}}
    scope = Scope(
        parameters={p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]},
        execution={"PipelineExecutionId": "run-7", "PipelineExecutionArn": "arn:run-7"},
        steps={
            train: {"ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/run-7/model.tar.gz"}},
            evaluate: {"ProcessingOutputConfig": {"Outputs": [evaluation_output]}},
            # RegisterX also names the drift baseline (DriftCheckBaselines), resolved with the rest.
            f"Compute{model.capitalize()}Baseline": {
                "ProcessingOutputConfig": {"Outputs": [baseline_output]}
            },
        },
        property_files={
            names.FINGERPRINT_DATA: {"FingerprintFile": fingerprint},
            evaluate: {f"{model.capitalize()}EvaluationReport": report_path},
        },
    )
    return scope, report_path


@pytest.fixture(scope="module")
def definitions() -> dict[str, dict[str, Any]]:
    return {"dev": json.loads(definition_text("dev"))}


@pytest.mark.parametrize("model", ["chatbot", "classifier"])
def test_card_resolves_to_a_valid_card_with_the_runs_figures(
    definitions: dict[str, dict[str, Any]], tmp_path: Path, model: str
) -> None:
    from botocore.session import get_session
    from botocore.validate import ParamValidator
    from sagemaker.core.shapes.model_card_shapes import ModelCardContent

    definition = definitions["dev"]
    register = steps_by_name(definition)[names.MODEL_STEPS[model]["register"]]
    scope, report_path = _scope(definition, tmp_path, model)
    request = resolve(register["Arguments"], scope)
    text = request["ModelCard"]["ModelCardContent"]
    content = parse_content(text)

    # The model card JSON schema (the SDK's shapes are generated from it): every key we wrote is known.
    checked = ModelCardContent.model_validate(content).model_dump(mode="json", exclude_unset=True)
    assert checked == content
    # botocore's CreateModelPackage request shape, ModelCard included.
    shape = get_session().get_service_model("sagemaker").operation_model("CreateModelPackage").input_shape
    errors = ParamValidator().validate(
        {"ModelPackageGroupName": "g", "ModelCard": request["ModelCard"]}, shape
    )
    assert not errors.has_errors(), errors.generate_report()

    written = json.loads(report_path.read_text(encoding="utf-8"))
    expected = {m: report.read_metric(written, model, m) for m in report.spec(model).figures}
    assert metric_figures(content) == expected  # measured figures, baselines and lifts alike
    lift = "chrf_lift" if model == "chatbot" else "accuracy_lift"
    assert expected[lift] == (11.25 if model == "chatbot" else 0.3125)
    evaluation = content["evaluation_details"][0]
    assert (
        evaluation["metadata"][f"{'transcripts' if model == 'chatbot' else 'locations'}_sha256"]
        == FINGERPRINT
    )
    assert evaluation["metadata"]["evaluation_report"] == "s3://bucket/run-7/evaluation/evaluation.json"
    assert evaluation["metadata"]["pipeline_execution"] == "run-7"
    assert "after passing its quality gate" in evaluation["evaluation_observation"]
    minimums = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    figure = next(iter(getattr(load_config("dev"), model).gate))
    minimum = minimums[gate_parameter_name(model, figure)]
    assert f"{figure} >= {minimum}" in evaluation["metadata"]["gate_rule"]
    hyper = content["training_details"]["training_job_details"]["user_provided_hyper_parameters"]
    assert {"name": "seed", "value": "42"} in hyper and not any(
        h["name"].startswith("sagemaker_") for h in hyper
    )
    assert content["model_overview"]["model_artifact"] == ["s3://bucket/run-7/model.tar.gz"]

    text_card = render_card(content, f"{model} v3")
    for section in (
        "## Intended use",
        "## Training data and hyperparameters",
        "## Evaluation",
        "## Limitations",
    ):
        assert section in text_card
    first = report.spec(model).metrics[0]
    assert f"{first:<22} {expected[first]:.4g}" in text_card
