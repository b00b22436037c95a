"""Scheduled retraining: an EventBridge Scheduler schedule that starts the environment's pipeline.

    make schedule ENV=prod      # create or update (cron and timezone from cfg.schedule)
    make unschedule ENV=prod    # delete
    make list-schedules         # the project's schedules

The schedule's role may only start that pipeline. Scheduled runs register their models as
PendingManualApproval whatever the environment's default: nobody watches an unattended retrain, so a
reviewer decides what goes live. `cfg.schedule.enabled: false` keeps the schedule but DISABLED.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from conf.schema import Config
from model_registry.iam_policies import scheduler_policy, trust_policy
from model_registry.iam_roles import ensure_role
from model_registry.naming import pipeline_name, schedule_name, scheduler_role_name
from model_registry.types import ApprovalStatus

SCHEDULE_GROUP = "default"
POLICY_NAME = "start-retraining-pipeline"
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
    """CreateSchedule/UpdateSchedule arguments (both take the full definition)."""
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


def ensure_schedule(cfg: Config, session: Any) -> dict[str, Any]:
    """Create or update the role and the schedule; the pipeline must exist (make upsert-pipeline)."""
    name = pipeline_name(cfg.project.name, cfg.env)
    try:
        session.client("sagemaker").describe_pipeline(PipelineName=name)
    except ClientError as error:
        raise RuntimeError(
            f"pipeline {name!r} not found: run `make upsert-pipeline ENV={cfg.env}` first"
        ) from error
    role_arn = ensure_role(
        session.client("iam"),
        scheduler_role_name(cfg.project.name, cfg.env),
        trust_policy("scheduler.amazonaws.com", cfg.project.account_id),
        POLICY_NAME,
        scheduler_policy(pipeline_arn(cfg)),
        {**cfg.project.tags, "environment": cfg.env},
    )
    scheduler = session.client("scheduler")
    request = schedule_request(cfg, role_arn)
    try:
        scheduler.get_schedule(Name=request["Name"], GroupName=SCHEDULE_GROUP)
        action = "updated"
        arn = scheduler.update_schedule(**request)["ScheduleArn"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        action = "created"
        arn = scheduler.create_schedule(**request)["ScheduleArn"]
    return {
        "action": action,
        "schedule": arn,
        "cron": cfg.schedule.cron,
        "timezone": cfg.schedule.timezone,
        "state": request["State"],
        "pipeline": pipeline_arn(cfg),
        "role": role_arn,
        "parameters": schedule_parameters(cfg),
    }


def delete_schedule(cfg: Config, session: Any) -> bool:
    """Delete the schedule; False when there was none. The role stays (cheap; reused on re-schedule)."""
    try:
        session.client("scheduler").delete_schedule(
            Name=schedule_name(cfg.project.name, cfg.env), GroupName=SCHEDULE_GROUP
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True


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
