"""The retraining schedule as the Scheduler API takes it (the operations stack declares the same; see
tests/infra/test_policies.py), accepted by moto's Scheduler, and read back by `make list-schedules`."""

from __future__ import annotations

import pytest

from conf import load_config
from conf.schema import Config
from model_registry.iam_policies import scheduler_policy
from model_registry.scheduling import list_schedules, pipeline_arn, schedule_request
from tests.model_registry.conftest import ACCOUNT, REGION

pytestmark = pytest.mark.aws

PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/stranger-things-nlp-prod"
SCHEDULE = "stranger-things-nlp-prod-retrain"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/stranger-things-nlp-prod-scheduler"


@pytest.fixture(scope="module")
def prod_cfg() -> Config:
    return load_config("prod")


def test_schedule_starts_the_pipeline_on_the_configured_cron(prod_cfg: Config) -> None:
    request = schedule_request(prod_cfg, ROLE_ARN)

    assert request["Name"] == SCHEDULE
    assert request["ScheduleExpression"] == "cron(0 3 ? * MON *)"
    assert request["ScheduleExpressionTimezone"] == "UTC"
    assert request["State"] == "ENABLED"  # prod.yaml enables it
    assert request["Target"]["Arn"] == pipeline_arn(prod_cfg) == PIPELINE_ARN
    assert request["Target"]["RoleArn"] == ROLE_ARN
    assert request["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"] == [
        {"Name": "InputDataUri", "Value": "s3://stranger-things-nlp-artifacts/stranger-things-nlp/data/raw"},
        {"Name": "ModelApprovalStatus", "Value": "PendingManualApproval"},
    ]
    assert scheduler_policy(PIPELINE_ARN)["Statement"] == [
        {
            "Sid": "StartRetrainingPipeline",
            "Effect": "Allow",
            "Action": ["sagemaker:StartPipelineExecution"],
            "Resource": PIPELINE_ARN,
        }
    ]


def test_a_disabled_schedule_is_kept_but_disabled() -> None:
    cfg = load_config("prod", overrides={"schedule": {"enabled": False}})
    assert schedule_request(cfg, ROLE_ARN)["State"] == "DISABLED"


def test_list_schedules_reads_back_what_the_scheduler_holds(aws, prod_cfg: Config) -> None:
    changed = load_config("prod", overrides={"schedule": {"cron": "cron(30 1 ? * SUN *)", "enabled": False}})
    aws.client("scheduler").create_schedule(**schedule_request(changed, ROLE_ARN))

    assert list_schedules(prod_cfg, aws) == [
        {
            "name": SCHEDULE,
            "cron": "cron(30 1 ? * SUN *)",
            "timezone": "UTC",
            "state": "DISABLED",
            "target": PIPELINE_ARN,
        }
    ]
