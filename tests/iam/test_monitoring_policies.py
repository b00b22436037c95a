"""IAM for the drift monitoring: what a scheduled monitoring run does is allowed, and nothing else.

The drift schedule (model_registry/monitoring_schedule.py) invokes the deploy handler once per endpoint
and window; the handler (model_registry/drift_run.py) lists the window's capture, writes a manifest and
starts the processing job. The accesses come from the very request a firing sends: the drift scheduler
role invokes the handler; the handler's calls are recorded under moto (tests/iam/recorder.py) and
checked against its policy; the job role reads the manifest, the capture files it lists, the served
version's baseline (the ComputeXBaseline output the definition writes) and the code bundle, writes its
results, pulls the processing image, writes its logs, uses the project key, and publishes its figures
into the monitoring namespace (cloudwatch:PutMetricData).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
import pytest

from conf import load_config
from conf.schema import Config
from model_registry import drift_run
from model_registry import monitoring_schedule as ms
from model_registry.endpoint_spec import data_capture_uri
from model_registry.iam_policies import deploy_handler_policy, drift_scheduler_policy
from model_registry.naming import MODELS, handler_function_name
from model_registry.settings import drift_schedule_access, handler_settings, monitoring_settings
from pipelines.definition import definition_json
from pipelines.iam import execution_role_policy
from pipelines.pipeline import resolve_images
from project.bundle import code_prefix
from tests.iam.definition_accesses import (
    Resolver,
    ecr_pull,
    job_logs,
    kms_use,
    s3_read,
    s3_write,
)
from tests.iam.policy_eval import Access, evaluate, unused_statements
from tests.iam.recorder import CallRecorder
from tests.model_registry.conftest import REGION

FIRED = {ms.EXECUTION_ID: "0f8fad5b-d9cb-469f-a165-70867728950e", ms.SCHEDULED_TIME: "2026-12-01T00:15:00Z"}
# The hours of a one-hour window fired at 00:15 on 1 December: 23:15-00:15 crosses midnight.
CAPTURED_HOURS = ("2026/11/30/23/", "2026/12/01/00/")
CODE_SHA = "0123456789ab"


def capture_uri(cfg: Config, model: str) -> str:
    settings = handler_settings(cfg)
    target = next(t for t in settings.targets.values() if t.model == model)
    return f"{data_capture_uri(settings, target)}/{target.endpoint_name}/AllTraffic/"


@cache
def baseline_folder(env: str, model: str) -> str:
    """The folder ComputeXBaseline writes, resolved from `env`'s definition (built once per test run)."""
    definition = json.loads(definition_json(load_config(env)))
    step = f"Compute{model.capitalize()}Baseline"
    return Resolver(definition)(
        {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"}
    )


def fired_event(cfg: Config, model: str) -> dict[str, Any]:
    """What the handler receives when `model`'s drift schedule fires, as in production: the served
    version's baseline is the folder ComputeXBaseline wrote (resolved from the definition)."""
    baseline = baseline_folder(cfg.env, model)
    monitoring = monitoring_settings(cfg)
    request = ms.schedule_request(
        monitoring,
        model,
        resolve_images(cfg).processing,
        cfg.project.role_arn,
        monitoring.scheduler_role_arn,
        code_prefix(cfg.project.bucket, cfg.project.prefix, CODE_SHA),
        capture_uri(cfg, model),
        baseline,
    )
    text = request["Target"]["Input"]
    for attribute, value in FIRED.items():
        text = text.replace(attribute, value)
    return json.loads(text)


def scheduler_accesses(cfg: Config) -> list[Access]:
    """The Scheduler invokes the schedule's target as the drift scheduler role."""
    target = monitoring_settings(cfg).handler_function_arn
    return [Access("scheduler", "lambda:InvokeFunction", target, source=m) for m in MODELS]


def handler_run_accesses(aws: boto3.session.Session, cfg: Config) -> list[Access]:
    """The handler's recorded calls for one firing of each model's schedule, over capture in both hours
    of the window (moto), plus the key uses those calls imply where the config names a key."""
    s3 = aws.client("s3")
    for model in MODELS:
        bucket, _, prefix = capture_uri(cfg, model).removeprefix("s3://").partition("/")
        for hour in CAPTURED_HOURS:
            s3.put_object(Bucket=bucket, Key=f"{prefix}{hour}10-00-abc.jsonl", Body=b"{}\n")
    session = boto3.session.Session(region_name=REGION)
    recorder = CallRecorder(session, "handler", REGION, cfg.project.account_id)
    out: list[Access] = []
    for model in MODELS:
        recorder.source = f"drift run ({model})"
        event = fired_event(cfg, model)
        result = drift_run.start_drift_job(session.client("s3"), session.client("sagemaker"), event)
        assert result["action"] == "started" and result["files"] == len(CAPTURED_HOURS)
        key = cfg.security.kms_key_id
        if key:  # CreateProcessingJob with the key (volume, output); PutObject into the SSE-KMS bucket
            region, account = cfg.project.region, cfg.project.account_id
            out += kms_use("handler", key, ("CreateGrant", "DescribeKey"), region, account, model)
            out += kms_use("handler", key, ("GenerateDataKey",), region, account, model)
    return recorder.accesses + out


def job_accesses(cfg: Config, event: dict[str, Any]) -> list[Access]:
    """The job role's accesses for one fired job: the manifest and what it lists, the other inputs."""
    region, account = cfg.project.region, cfg.project.account_id
    job = event["job"]
    name = job["ProcessingJobName"]
    out: list[Access] = []
    for item in job["ProcessingInputs"]:
        out += s3_read("job", item["S3Input"]["S3Uri"], region, account, name)
    bucket = event["capture_uri"].removeprefix("s3://").split("/")[0]
    prefix = event["capture_uri"].removeprefix(f"s3://{bucket}/")
    for hour in CAPTURED_HOURS:  # the objects the manifest lists
        out.append(Access("job", "s3:GetObject", f"arn:aws:s3:::{bucket}/{prefix}{hour}10-00-abc.jsonl"))
    for item in job["ProcessingOutputConfig"]["Outputs"]:
        out += s3_write("job", item["S3Output"]["S3Uri"], name)
    out += ecr_pull("job", job["AppSpecification"]["ImageUri"], name)
    out += job_logs("job", "ProcessingJobs", region, account, name)
    args = job["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--publish-metrics") + 1] == "true"
    namespace = (("cloudwatch:namespace", cfg.monitoring.metric_namespace),)
    out.append(Access("job", "cloudwatch:PutMetricData", "*", namespace, name))
    key = job["ProcessingOutputConfig"].get("KmsKeyId")
    if key:
        out += kms_use("job", key, ("Decrypt", "GenerateDataKey"), region, account, name)
    return out


def policies(cfg: Config) -> dict[str, dict[str, Any]]:
    settings = handler_settings(cfg)
    handler = deploy_handler_policy(
        cfg.project.region,
        cfg.project.account_id,
        [cfg.registry.chatbot_group, cfg.registry.classifier_group],
        [t.endpoint_name for t in settings.targets.values()],
        cfg.project.role_arn,
        handler_function_name(cfg.project.name, cfg.env),
        cfg.security.kms_key_id,
        **drift_schedule_access(cfg),
    )
    return {
        "scheduler": drift_scheduler_policy(monitoring_settings(cfg).handler_function_arn),
        "handler": handler,
        "job": execution_role_policy(cfg),
    }


def denied(policy: dict[str, Any], accesses: list[Access]) -> list[str]:
    return [str(a) for a in accesses if not evaluate(policy, a).allowed]


@pytest.mark.aws
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_access_of_a_scheduled_monitoring_run_is_allowed(env: str, aws) -> None:
    # Both models monitored: prod serves both on instances (dev's serverless classifier gets no
    # schedule, but its policy is the same shape).
    cfg = load_config(env)
    roles = policies(cfg)
    handler = handler_run_accesses(aws, cfg)
    actions = {a.action for a in handler}
    assert {"s3:ListBucket", "s3:PutObject", "sagemaker:CreateProcessingJob", "sagemaker:AddTags"} <= actions
    assert "iam:PassRole" in actions  # the job role, to SageMaker
    accesses = {
        "scheduler": scheduler_accesses(cfg),
        "handler": handler,
        "job": [a for model in MODELS for a in job_accesses(cfg, fired_event(cfg, model))],
    }
    for role, policy in roles.items():
        assert denied(policy, accesses[role]) == [], f"{env} {role} role lacks:\n" + "\n".join(
            denied(policy, accesses[role])
        )
    assert unused_statements(roles["scheduler"], accesses["scheduler"]) == []
    used = set(unused_statements(roles["handler"], [])) - set(unused_statements(roles["handler"], handler))
    drift = {"StartDriftMonitoringJobs", "ListDriftWindowCapture", "WriteDriftManifests"}
    assert drift | {"PassExecutionRoleToSageMaker"} <= used
    # prod encrypts with its key: the run exercises the grant and the manifest's data key (dev has none).
    assert ("EncryptDriftManifests" in used) == (env == "prod")


@pytest.mark.aws
@pytest.mark.parametrize("sid", ["ListDriftWindowCapture", "WriteDriftManifests", "StartDriftMonitoringJobs"])
def test_each_drift_statement_is_what_lets_the_run_through(sid: str, aws) -> None:
    """The check can fail: without one of the three statements, its calls are denied."""
    cfg = load_config("dev")
    policy = policies(cfg)["handler"]
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != sid]
    run = handler_run_accesses(aws, cfg)
    refused = {a.action for a in run if not evaluate(policy, a).allowed}
    expected = {
        "ListDriftWindowCapture": {"s3:ListBucket"},
        "WriteDriftManifests": {"s3:PutObject"},
        "StartDriftMonitoringJobs": {"sagemaker:CreateProcessingJob", "sagemaker:AddTags"},
    }
    assert refused == expected[sid]


def test_the_handler_lists_only_the_capture_and_writes_only_manifests() -> None:
    cfg = load_config("dev")
    handler = policies(cfg)["handler"]
    bucket = f"arn:aws:s3:::{cfg.project.bucket}"
    for forbidden in (
        Access("handler", "s3:ListBucket", bucket, (("s3:prefix", "stranger-things-nlp/data/raw/"),)),
        Access("handler", "s3:ListBucket", bucket),  # no prefix: the whole bucket
        Access("handler", "s3:PutObject", f"{bucket}/stranger-things-nlp/code/0123/bundle.tar.gz"),
        Access("handler", "s3:PutObject", f"{bucket}/stranger-things-nlp/dev/data-capture/x.jsonl"),
        Access(
            "handler",
            "sagemaker:CreateProcessingJob",
            f"arn:aws:sagemaker:{REGION}:{cfg.project.account_id}:processing-job/pipelines-x",
        ),
    ):
        assert not evaluate(handler, forbidden).allowed, forbidden


def test_the_drift_scheduler_may_only_invoke_the_handler() -> None:
    cfg = load_config("dev")
    scheduler = policies(cfg)["scheduler"]
    account = cfg.project.account_id
    sagemaker = f"arn:aws:sagemaker:{cfg.project.region}:{account}"
    for forbidden in (
        Access(
            "scheduler", "sagemaker:CreateProcessingJob", f"{sagemaker}:processing-job/dev-chatbot-drift-1"
        ),
        Access("scheduler", "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{account}:function:other"),
        Access(
            "scheduler",
            "iam:PassRole",
            cfg.project.role_arn,
            (("iam:PassedToService", "sagemaker.amazonaws.com"),),
        ),
    ):
        assert not evaluate(scheduler, forbidden).allowed, forbidden


def test_a_job_role_without_the_monitoring_namespace_cannot_publish() -> None:
    """The check can fail: the namespace condition is what lets the job publish its figures."""
    cfg = load_config("dev")
    policy = execution_role_policy(cfg)
    [metrics] = [s for s in policy["Statement"] if s["Sid"] == "JobMetricsOnlyInSageMakerNamespaces"]
    metrics["Condition"]["StringLike"]["cloudwatch:namespace"].remove(cfg.monitoring.metric_namespace)
    refused = [
        a.action
        for model in MODELS
        for a in job_accesses(cfg, fired_event(cfg, model))
        if a.principal == "job" and not evaluate(policy, a).allowed
    ]
    assert refused == ["cloudwatch:PutMetricData"] * len(MODELS)
