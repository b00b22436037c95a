"""Experiment tracking in dev/prod: config names the tracking server, the pipeline and its jobs use it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conf import load_config
from pipelines.definition import definition_json
from pipelines.iam import MLFLOW_ACTIONS, execution_role_policy
from tests.pipelines.conftest import steps_by_name

ARN = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/stranger-things"
STORE = "s3://stranger-things-mlflow/artifacts"


def tracked(network_isolation: bool = False) -> Any:
    overrides: dict[str, Any] = {"mlflow": {"tracking_server_arn": ARN, "artifact_store_uri": STORE}}
    if network_isolation:  # an isolated job cannot download a Hub model either: models from S3
        overrides["security"] = {"network_isolation": True}
        for section in ("chatbot", "classifier", "themes"):
            overrides[section] = {"model_id": f"s3://stranger-things-nlp-artifacts/models/{section}/"}
        overrides["classifier"]["serving"] = {"serverless": None}  # a serverless endpoint cannot isolate
    return load_config("dev", overrides=overrides)


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return json.loads(definition_json(tracked()))


def test_the_pipeline_carries_mlflow_config_and_the_jobs_the_tracking_uri(definition: dict[str, Any]) -> None:
    assert definition["MlflowConfig"] == {
        "MlflowResourceArn": ARN,
        "MlflowExperimentName": "stranger-things-nlp-dev",
    }
    steps = steps_by_name(definition)
    for step, model in (("TrainChatbot", "chatbot"), ("EvaluateClassifier", "classifier")):
        environment = steps[step]["Arguments"]["Environment"]
        assert environment["MLFLOW_TRACKING_URI"] == ARN
        assert environment["MLFLOW_EXPERIMENT_NAME"] == f"stranger-things-nlp-dev-{model}"
    assert "MLFLOW_TRACKING_URI" not in steps["PrepareChatbotData"]["Arguments"].get("Environment", {})


def test_without_a_tracking_server_nothing_changes(definitions: dict[str, dict[str, Any]]) -> None:
    assert definitions["dev"].get("MlflowConfig") is None
    assert "MLFLOW_TRACKING_URI" not in json.dumps(definitions["dev"])


def test_network_isolated_jobs_get_no_tracking_uri() -> None:
    definition = json.loads(definition_json(tracked(network_isolation=True)))
    assert "MLFLOW_TRACKING_URI" not in json.dumps(definition["Steps"])  # they leave their output folder


def test_the_execution_role_may_log_to_that_server_only() -> None:
    by_sid = {s["Sid"]: s for s in execution_role_policy(tracked())["Statement"]}
    assert by_sid["ExperimentTracking"]["Resource"] == [ARN]
    assert by_sid["ExperimentTracking"]["Action"] == list(MLFLOW_ACTIONS)
    assert by_sid["ExperimentArtifacts"]["Resource"] == ["arn:aws:s3:::stranger-things-mlflow/artifacts/*"]
    assert "ExperimentTracking" not in {
        s["Sid"] for s in execution_role_policy(load_config("dev"))["Statement"]
    }


def test_a_malformed_tracking_server_arn_is_refused() -> None:
    with pytest.raises(ValueError, match="tracking_server_arn"):
        load_config("dev", overrides={"mlflow": {"tracking_server_arn": "stranger-things"}})
