"""The notebooks' workspace on its SageMaker side (moto)."""

from __future__ import annotations

import json

import pytest

from tests.model_registry.conftest import ACCOUNT, register_package
from workspace.sagemaker import SageMakerWorkspace, step_rows


@pytest.mark.aws
def test_sagemaker_workspace_starts_executions_and_reviews(aws, dev_cfg) -> None:
    ws = SageMakerWorkspace(dev_cfg, session=aws)
    aws.client("sagemaker").create_pipeline(
        PipelineName=ws.pipeline_name,
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []}),
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Exec",
    )
    with pytest.raises(LookupError, match="has no executions yet"):
        ws.latest_execution()
    started = ws.start_execution({"ChatbotEpochs": 1})
    assert ws.latest_execution() == started
    assert ws.execution_status(started) in ("Executing", "Succeeded")
    params = aws.client("sagemaker").list_pipeline_parameters_for_execution(PipelineExecutionArn=started)
    assert params["PipelineParameters"] == [{"Name": "ChatbotEpochs", "Value": "1"}]

    register_package(aws, dev_cfg.registry.chatbot_group, {"bleu": 7.0, "chrf": 30.0})
    result = ws.review(dev_cfg.registry.chatbot_group, 1, "Approved", "ok")
    assert result.decision is None  # on SageMaker the Lambda decides, on the event
    assert result.version.status == "Approved" and ws.registry.get(
        dev_cfg.registry.chatbot_group, 1
    ).metrics == {
        "bleu": 7.0,
        "chrf": 30.0,
    }


def test_step_rows_orders_started_steps_first() -> None:
    from datetime import UTC, datetime

    rows = step_rows(
        [
            {
                "StepName": "TrainChatbot",
                "StepStatus": "Executing",
                "StartTime": datetime(2026, 1, 1, 10, 5, tzinfo=UTC),
            },
            {"StepName": "DeployChatbot", "StepStatus": "NotStarted"},
            {
                "StepName": "CleanSubtitles",
                "StepStatus": "Succeeded",
                "StartTime": datetime(2026, 1, 1, 10, 0, tzinfo=UTC),
                "CacheHitResult": {"SourcePipelineExecutionArn": "arn:old"},
            },
            {
                "StepName": "Fail",
                "StepStatus": "Failed",
                "StartTime": datetime(2026, 1, 1, 10, 9, tzinfo=UTC),
                "FailureReason": "below threshold",
            },
        ]
    )
    assert [(r["name"], r["status"], r["cache"], r["message"]) for r in rows] == [
        ("CleanSubtitles", "Succeeded", "hit", ""),
        ("TrainChatbot", "Executing", "-", ""),
        ("Fail", "Failed", "-", "below threshold"),
        ("DeployChatbot", "NotStarted", "-", ""),
    ]
