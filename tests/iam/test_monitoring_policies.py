"""IAM for the drift monitoring: what a scheduled monitoring job does is allowed, and nothing else.

The drift schedule (model_registry/monitoring_schedule.py) starts one processing job per endpoint and
window through the Scheduler's universal target. The accesses are read off the very request a firing
sends: the drift scheduler role creates and tags the job and passes the job role; the job role reads
the endpoint's capture, the served version's baseline (the ComputeXBaseline output the definition
writes) and the code bundle, writes its results, pulls the processing image, writes its logs, uses the
project key, and publishes its figures into the monitoring namespace (cloudwatch:PutMetricData).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conf import load_config
from conf.schema import Config
from model_registry import monitoring_schedule as ms
from model_registry.endpoint_spec import data_capture_uri
from model_registry.iam_policies import drift_scheduler_policy
from model_registry.naming import MODELS
from model_registry.settings import handler_settings, monitoring_settings
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

FIRED = {ms.EXECUTION_ID: "0f8fad5b-d9cb-469f-a165-70867728950e", ms.SCHEDULED_TIME: "2026-11-30T04:15:00Z"}
SCHEDULER_ROLE = "arn:aws:iam::123456789012:role/stranger-things-nlp-drift-scheduler"
CODE_SHA = "0123456789ab"


def fired_job(cfg: Config, model: str) -> dict[str, Any]:
    """The CreateProcessingJob request a firing of `model`'s drift schedule sends, as in production:
    the served version's baseline is the folder ComputeXBaseline wrote (resolved from the definition)."""
    definition = json.loads(definition_json(cfg))
    step = f"Compute{model.capitalize()}Baseline"
    baseline = Resolver(definition)(
        {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"}
    )
    settings = handler_settings(cfg)
    target = next(t for t in settings.targets.values() if t.model == model)
    capture = f"{data_capture_uri(settings, target)}/{target.endpoint_name}/"
    request = ms.schedule_request(
        monitoring_settings(cfg),
        model,
        resolve_images(cfg).processing,
        cfg.project.role_arn,
        SCHEDULER_ROLE,
        code_prefix(cfg.project.bucket, cfg.project.prefix, CODE_SHA),
        capture,
        baseline,
    )
    text = request["Target"]["Input"]
    for attribute, value in FIRED.items():
        text = text.replace(attribute, value)
    return json.loads(text)


def monitoring_accesses(cfg: Config, job: dict[str, Any]) -> list[Access]:
    """The drift scheduler's and the job's accesses for one fired job."""
    region, account = cfg.project.region, cfg.project.account_id
    name = job["ProcessingJobName"]
    arn = f"arn:aws:sagemaker:{region}:{account}:processing-job/{name}"
    passed = (("iam:PassedToService", "sagemaker.amazonaws.com"),)
    out = [
        Access("scheduler", "sagemaker:CreateProcessingJob", arn, source=name),
        Access("scheduler", "sagemaker:AddTags", arn, source=name),  # the request carries Tags
        Access("scheduler", "iam:PassRole", job["RoleArn"], passed, name),
    ]
    for item in job["ProcessingInputs"]:
        out += s3_read("job", item["S3Input"]["S3Uri"], region, account, name)
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
        out += kms_use("scheduler", key, ("CreateGrant", "DescribeKey"), region, account, name)
        out += kms_use("job", key, ("Decrypt", "GenerateDataKey"), region, account, name)
    return out


def policies(cfg: Config) -> dict[str, dict[str, Any]]:
    prefixes = [ms.job_name_prefix(cfg.env, model) for model in MODELS]
    scheduler = drift_scheduler_policy(
        cfg.project.region, cfg.project.account_id, prefixes, cfg.project.role_arn, cfg.security.kms_key_id
    )
    return {"scheduler": scheduler, "job": execution_role_policy(cfg)}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_access_of_a_scheduled_monitoring_job_is_allowed(env: str) -> None:
    cfg = load_config(env)
    roles = policies(cfg)
    accesses = [a for model in MODELS for a in monitoring_accesses(cfg, fired_job(cfg, model))]
    for role, policy in roles.items():
        mine = [a for a in accesses if a.principal == role]
        denied = [str(a) for a in mine if not evaluate(policy, a).allowed]
        assert denied == [], f"{env} {role} role lacks:\n" + "\n".join(denied)
    # Every statement of the drift scheduler's policy is needed by some firing.
    assert unused_statements(roles["scheduler"], [a for a in accesses if a.principal == "scheduler"]) == []
    # prod encrypts with its key: the firing exercises the grant (dev has no key).
    assert any(a.action == "kms:CreateGrant" for a in accesses) == (env == "prod")


def test_the_drift_scheduler_starts_monitoring_jobs_only() -> None:
    cfg = load_config("dev")
    scheduler = policies(cfg)["scheduler"]
    sagemaker = f"arn:aws:sagemaker:{cfg.project.region}:{cfg.project.account_id}"
    for forbidden in (
        Access("scheduler", "sagemaker:CreateProcessingJob", f"{sagemaker}:processing-job/pipelines-x"),
        Access("scheduler", "sagemaker:CreateTrainingJob", f"{sagemaker}:training-job/dev-chatbot-drift-x"),
        Access(
            "scheduler", "sagemaker:StartPipelineExecution", f"{sagemaker}:pipeline/stranger-things-nlp-dev"
        ),
        Access(
            "scheduler",
            "iam:PassRole",
            f"arn:aws:iam::{cfg.project.account_id}:role/{cfg.project.pipeline_role_name}",
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
    denied = [
        a.action
        for model in MODELS
        for a in monitoring_accesses(cfg, fired_job(cfg, model))
        if a.principal == "job" and not evaluate(policy, a).allowed
    ]
    assert denied == ["cloudwatch:PutMetricData"] * len(MODELS)
