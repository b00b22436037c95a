"""Step-builder helpers: the request step's guards, devices, parameters, hyperparameter strings."""

from __future__ import annotations

import pytest

from conf import load_config
from model_registry.naming import MODELS
from project.bundle import REPO_ROOT
from project.images import device_of, image_spec
from steps.context import DATA_FOLDERS
from steps.models import MODEL_SPECS, spec
from steps.parameters import build_parameters
from steps.request_step import RequestStep
from steps.train import _plain, metric_definitions


def test_request_step_guards() -> None:
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.retry import StepExceptionTypeEnum, StepRetryPolicy
    from sagemaker.mlops.workflow.steps import StepTypeEnum

    retry = StepRetryPolicy(exception_types=[StepExceptionTypeEnum.THROTTLING])
    with pytest.raises(ValueError, match="Deploy: Endpoint steps cannot have retry policies"):
        RequestStep("Deploy", StepTypeEnum.ENDPOINT, {}, retry_policies=[retry])
    with pytest.raises(ValueError, match="Train: only Processing steps write property files"):
        RequestStep("Train", StepTypeEnum.TRAINING, {}, property_files=[PropertyFile("F", "o", "f.json")])
    with pytest.raises(ValueError, match="does not support step type Lambda"):
        RequestStep("L", StepTypeEnum.LAMBDA, {})
    step = RequestStep("Model", StepTypeEnum.CREATE_MODEL, {"ExecutionRoleArn": "arn"})
    assert step.to_request() == {"Name": "Model", "Type": "Model", "Arguments": {"ExecutionRoleArn": "arn"}}
    assert step.properties.ModelName.expr == {"Get": "Steps.Model.ModelName"}


def test_device_of_instance_types() -> None:
    assert [device_of(t) for t in ("ml.g5.2xlarge", "ml.p4d.24xlarge", "ml.m5.xlarge", "ml.c5.large")] == [
        "gpu", "gpu", "cpu", "cpu",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not an instance type"):
        device_of("g5.xlarge")


def test_configured_image_uri_wins() -> None:
    cfg = load_config(
        "dev", overrides={"images": {"training_uri": "111.dkr.ecr.us-east-1.amazonaws.com/mine:1"}}
    )
    spec = image_spec(cfg, "training", "ml.g5.xlarge")
    assert (spec.uri, spec.project_built, spec.device) == (
        "111.dkr.ecr.us-east-1.amazonaws.com/mine:1",
        False,
        "gpu",
    )
    assert spec.base == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-gpu-py312"


def test_parameters_per_model() -> None:
    params = build_parameters(load_config("local"))
    names = [p.name for p in params.all()]
    cfg = load_config("local")
    assert len(names) == len(set(names)) == 16 + len(cfg.chatbot.gate) + len(cfg.classifier.gate)
    classifier = params.for_model("classifier")
    minimums = {figure: (p.name, p.default_value) for figure, p in classifier.gate_minimums.items()}
    assert minimums == {
        "accuracy_lift": ("ClassifierMinAccuracyLift", cfg.classifier.gate["accuracy_lift"]),
        "macro_f1": ("ClassifierMinMacroF1", cfg.classifier.gate["macro_f1"]),
    }
    assert classifier.model_id.default_value == "tiny:distilbert"


def test_hyperparameter_strings_and_metric_regexes() -> None:
    import re

    assert [_plain(True), _plain(False), _plain(0.0002), _plain(8)] == ["true", "false", "0.0002", "8"]
    regex = {d["Name"]: d["Regex"] for d in metric_definitions("classifier")}["eval_macro_f1"]
    line = "2026-01-01 00:00:00,000 INFO train_classifier: METRIC eval_macro_f1=0.8125 step=40"
    assert re.search(regex, line).group(1) == "0.8125"
    assert re.search(regex, "METRIC eval_macro_f1=1e-05 step=3").group(1) == "1e-05"


def test_every_model_has_one_row_naming_scripts_that_exist() -> None:
    assert tuple(MODEL_SPECS) == MODELS
    for model in MODELS:
        row = spec(model)
        assert row.data_folder in DATA_FOLDERS
        assert (REPO_ROOT / row.train_script).is_file()
        assert (REPO_ROOT / "containers" / row.evaluate_script).is_file()
    with pytest.raises(ValueError, match="unknown model 'tagger'; known: chatbot, classifier"):
        spec("tagger")


def test_a_gate_figure_the_report_does_not_carry_is_refused_when_the_gate_is_built() -> None:
    cfg = load_config("local")
    chatbot = cfg.chatbot.model_copy(update={"gate": {"bleuu": 5.0}})
    with pytest.raises(ValueError, match=r"chatbot reports .*chrf_lift.*; the gate cannot read 'bleuu'"):
        build_parameters(cfg.model_copy(update={"chatbot": chatbot}))
