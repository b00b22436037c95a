"""`make schedule / unschedule / list-schedules` under moto."""

from __future__ import annotations

import json

import pytest

from conf import load_config
from conf.schema import Config
from model_registry.scheduling import delete_schedule, ensure_schedule, list_schedules
from tests.model_registry.conftest import ACCOUNT, REGION

pytestmark = pytest.mark.aws

PIPELINE = "stranger-things-nlp-prod"
PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{PIPELINE}"
SCHEDULE = "stranger-things-nlp-prod-retrain"


@pytest.fixture(scope="module")
def prod_cfg() -> Config:
    return load_config("prod")


def create_pipeline(aws) -> None:
    aws.client("sagemaker").create_pipeline(
        PipelineName=PIPELINE,
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []}),
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/StrangerThingsNlpSageMakerExecution",
    )


def test_schedule_starts_the_pipeline_on_the_configured_cron(aws, prod_cfg: Config) -> None:
    create_pipeline(aws)
    made = ensure_schedule(prod_cfg, aws)

    schedule = aws.client("scheduler").get_schedule(Name=SCHEDULE)
    assert made["action"] == "created" and made["schedule"] == schedule["Arn"]
    assert schedule["ScheduleExpression"] == "cron(0 3 ? * MON *)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["State"] == "ENABLED"  # prod.yaml enables it
    assert schedule["Target"]["Arn"] == PIPELINE_ARN
    assert schedule["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"] == [
        {"Name": "InputDataUri", "Value": "s3://stranger-things-nlp-artifacts/stranger-things-nlp/data/raw"},
        {"Name": "ModelApprovalStatus", "Value": "PendingManualApproval"},
    ]

    iam = aws.client("iam")
    role = iam.get_role(RoleName="stranger-things-nlp-prod-scheduler")["Role"]
    assert schedule["Target"]["RoleArn"] == role["Arn"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "scheduler.amazonaws.com"
    }
    policy = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="start-retraining-pipeline")
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "StartRetrainingPipeline",
            "Effect": "Allow",
            "Action": ["sagemaker:StartPipelineExecution"],
            "Resource": PIPELINE_ARN,
        }
    ]


def test_schedule_again_updates_and_unschedule_deletes(aws, prod_cfg: Config) -> None:
    create_pipeline(aws)
    ensure_schedule(prod_cfg, aws)
    changed = load_config("prod", overrides={"schedule": {"cron": "cron(30 1 ? * SUN *)", "enabled": False}})
    again = ensure_schedule(changed, aws)

    assert again["action"] == "updated"
    assert list_schedules(changed, aws) == [
        {
            "name": SCHEDULE,
            "cron": "cron(30 1 ? * SUN *)",
            "timezone": "UTC",
            "state": "DISABLED",
            "target": PIPELINE_ARN,
        }
    ]
    assert delete_schedule(changed, aws) is True
    assert delete_schedule(changed, aws) is False
    assert list_schedules(changed, aws) == []


def test_schedule_needs_the_pipeline(aws, prod_cfg: Config) -> None:
    with pytest.raises(RuntimeError, match="run `make upsert-pipeline ENV=prod` first"):
        ensure_schedule(prod_cfg, aws)
