"""Scheduled retraining: the EventBridge Scheduler schedule that starts the environment's pipeline.

The operations stack creates it and its role (`make deploy-infra`, infra/templates/operations.yaml);
this module holds what the schedule is, as the request the Scheduler API takes, which tests/infra
compares with the stack, and reads the live schedules back (`make list-schedules`).

The schedule's role may only start that pipeline. Scheduled runs register their models as
PendingManualApproval whatever the environment's default: nobody watches an unattended retrain, so a
reviewer decides what goes live. `cfg.schedule.enabled: false` keeps the schedule but DISABLED.
"""

from __future__ import annotations

from typing import Any

from conf.schema import Config
from model_registry.naming import pipeline_name, schedule_name
from model_registry.types import ApprovalStatus

SCHEDULE_GROUP = "default"
# Pipeline parameter names (steps/parameters.py); every other parameter keeps its default.
INPUT_PARAMETER = "InputDataUri"
APPROVAL_PARAMETER = "ModelApprovalStatus"


def pipeline_arn(cfg: Config) -> str:
    project = cfg.project
    name = pipeline_name(project.name, cfg.env)
    return f"arn:aws:sagemaker:{project.region}:{project.account_id}:pipeline/{name}"


def schedule_parameters(cfg: Config) -> list[dict[str, str]]:
    """The pipeline parameters each scheduled execution starts with."""
    return [
        {"Name": INPUT_PARAMETER, "Value": cfg.data.input_uri},
        {"Name": APPROVAL_PARAMETER, "Value": ApprovalStatus.PENDING.value},
    ]


def schedule_request(cfg: Config, role_arn: str) -> dict[str, Any]:
    """CreateSchedule arguments: what the operations stack's AWS::Scheduler::Schedule declares."""
    return {
        "Name": schedule_name(cfg.project.name, cfg.env),
        "GroupName": SCHEDULE_GROUP,
        "ScheduleExpression": cfg.schedule.cron,
        "ScheduleExpressionTimezone": cfg.schedule.timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED" if cfg.schedule.enabled else "DISABLED",
        "Description": f"Retrain {cfg.project.name} ({cfg.env}) on {cfg.schedule.cron}",
        "Target": {
            "Arn": pipeline_arn(cfg),
            "RoleArn": role_arn,
            "SageMakerPipelineParameters": {"PipelineParameterList": schedule_parameters(cfg)},
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
        },
    }


def list_schedules(cfg: Config, session: Any) -> list[dict[str, Any]]:
    """The project's schedules (any environment), with their cron, state and target pipeline."""
    scheduler = session.client("scheduler")
    found = []
    pages = scheduler.get_paginator("list_schedules").paginate(
        NamePrefix=cfg.project.name, GroupName=SCHEDULE_GROUP
    )
    for page in pages:
        for summary in page["Schedules"]:
            detail = scheduler.get_schedule(Name=summary["Name"], GroupName=SCHEDULE_GROUP)
            found.append(
                {
                    "name": detail["Name"],
                    "cron": detail["ScheduleExpression"],
                    "timezone": detail.get("ScheduleExpressionTimezone", "UTC"),
                    "state": detail.get("State", ""),
                    "target": detail["Target"]["Arn"],
                }
            )
    return found
