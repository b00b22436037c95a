"""`make smoke-aws ENV=dev [KEEP=1]`: prove a real account end to end, cheaply, and clean up.

1. preflight: credentials (and their account), region, bucket (owned by the account), the job and
   pipeline roles, the deploy handler function (the Lambda steps invoke it), every image the smoke
   variant runs in ECR, and the account's SageMaker quotas for its instance types;
2. upsert a smoke variant, `<project>-<env>-smoke`: the environment's config with a CPU overlay (every
   job on CPU instance types) and the tiny models of conf/local.yaml, registering as
   PendingManualApproval (so the smoke run never changes what the environment's endpoints serve);
3. start it and follow it step by step to the end;
4. print the instance-hours of its jobs and an estimated cost (on-demand list prices, `PRICE_PER_HOUR`);
5. delete what it made (the smoke pipeline, the model versions it registered) unless `--keep`.

The smoke registers into the environment's groups (the deploy handler serves only those): a version
it leaves with --keep is PendingManualApproval and goes live only if someone approves it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conf import CONF_DIR, load_config
from conf.schema import Config
from model_registry.naming import handler_function_name, pipeline_name
from project.images import image_spec, missing_images

LOG = logging.getLogger(__name__)

CPU_INSTANCE = "ml.m5.xlarge"
TERMINAL = {"Succeeded", "Failed", "Stopped"}
# On-demand list prices, USD per instance-hour, us-east-1 (SageMaker pricing page, 2025): an estimate.
PRICE_PER_HOUR = {
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m5.2xlarge": 0.461,
    "ml.c5.xlarge": 0.204,
    "ml.g5.xlarge": 1.408,
    "ml.g5.2xlarge": 1.515,
    "ml.g5.12xlarge": 7.09,
}
# What the smoke takes from conf/local.yaml for each model: the tiny models and their settings.
LOCAL_MODEL_KEYS = ("model_id", "hyperparameters", "gate", "evaluation_max_new_tokens")


class SmokeError(RuntimeError):
    """The smoke run cannot go on; the message says what to fix."""


def smoke_overlay(conf_dir: Path = CONF_DIR) -> dict[str, Any]:
    """The CPU + tiny-model overlay: local.yaml's model settings, every job on a CPU instance type."""
    local = yaml.safe_load((conf_dir / "local.yaml").read_text(encoding="utf-8")) or {}
    overlay: dict[str, Any] = {
        "processing": {"instance_type": CPU_INSTANCE},
        "registry": {"approval_status": "PendingManualApproval"},
    }
    for model in ("chatbot", "classifier"):
        section = {k: v for k, v in (local.get(model) or {}).items() if k in LOCAL_MODEL_KEYS}
        section["training"] = {"instance_type": CPU_INSTANCE, "instance_count": 1}
        section["spot"] = {"enabled": False}
        section["serving"] = {"instance_type": CPU_INSTANCE, "allowed_instance_types": [CPU_INSTANCE]}
        overlay[model] = section
    if "themes" in local:
        overlay["themes"] = local["themes"]
    return overlay


def smoke_config(env: str, conf_dir: Path = CONF_DIR, for_aws: bool = False) -> Config:
    """The environment's config with the smoke overlay; `for_aws` refuses base.yaml's placeholder
    account and bucket (conf/refusals.py), as every command that calls AWS does."""
    return load_config(env, conf_dir=conf_dir, overrides=smoke_overlay(conf_dir), for_aws=for_aws)


def smoke_pipeline_name(cfg: Config) -> str:
    return f"{pipeline_name(cfg.project.name, cfg.env)}-smoke"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def _error(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    err = response.get("Error", {})
    return f"{err.get('Code', type(exc).__name__)}: {err.get('Message', exc)}"


def smoke_images(cfg: Config) -> list[str]:
    """Every image the smoke variant runs (all CPU)."""
    roles = ("processing", "training", "inference")
    return sorted({image_spec(cfg, role, CPU_INSTANCE).uri for role in roles})


def quota_names(cfg: Config) -> dict[str, int]:
    """Service Quotas names of the instance types the smoke uses, and how many instances it needs."""
    return {
        f"{cfg.processing.instance_type} for processing job usage": cfg.processing.instance_count,
        f"{CPU_INSTANCE} for training job usage": 1,
    }


def preflight(cfg: Config, session: Any) -> list[Check]:
    """Everything the smoke run needs, checked before anything is created."""
    checks: list[Check] = []
    region = session.region_name
    checks.append(
        Check(
            "region",
            region == cfg.project.region,
            f"{region or 'unset'} (conf project.region is {cfg.project.region})",
        )
    )
    try:
        identity = session.client("sts").get_caller_identity()
        account = identity["Account"]
        checks.append(
            Check(
                "credentials",
                account == cfg.project.account_id,
                f"{identity['Arn']} in account {account} (conf project.account_id {cfg.project.account_id})",
            )
        )
    except Exception as exc:
        checks.append(Check("credentials", False, f"{_error(exc)}: configure AWS credentials"))
        return checks  # nothing else can be checked without them
    try:
        session.client("s3").head_bucket(
            Bucket=cfg.project.bucket, ExpectedBucketOwner=cfg.project.account_id
        )
        checks.append(Check("bucket", True, f"s3://{cfg.project.bucket} (owned by {cfg.project.account_id})"))
    except Exception as exc:
        checks.append(Check("bucket", False, f"s3://{cfg.project.bucket}: {_error(exc)} (make deploy-infra)"))
    iam = session.client("iam")
    for what, name in (
        ("job role", cfg.project.role_name),
        ("pipeline role", cfg.project.pipeline_role_name),
    ):
        try:
            iam.get_role(RoleName=name)
            checks.append(Check(what, True, name))
        except Exception as exc:
            checks.append(Check(what, False, f"{name}: {_error(exc)} (make deploy-infra)"))
    function = handler_function_name(cfg.project.name, cfg.env)
    try:
        session.client("lambda").get_function(FunctionName=function)
        checks.append(Check("deploy handler", True, function))
    except Exception as exc:
        checks.append(Check("deploy handler", False, f"{function}: {_error(exc)} (make deploy-infra)"))
    checks += _image_checks(cfg, session)
    checks += _quota_checks(cfg, session)
    return checks


def _image_checks(cfg: Config, session: Any) -> list[Check]:
    """One check per image the smoke runs: ECR holds it (the same check `upsert` refuses on)."""
    images = smoke_images(cfg)
    try:
        missing = missing_images(session.client("ecr"), images)
    except Exception as exc:  # preflight reports every problem, then stops: this one is ECR's access
        return [Check("image", False, f"cannot read ECR: {_error(exc)}")]
    return [
        Check("image", False, f"{uri}: {missing[uri]} (make build-containers)")
        if uri in missing
        else Check("image", True, uri)
        for uri in images
    ]


def read_quotas(session: Any) -> dict[str, float]:
    """The account's SageMaker quotas by name (Service Quotas; moto 5.2.5 does not implement it)."""
    pages = session.client("service-quotas").get_paginator("list_service_quotas")
    return {
        q["QuotaName"]: q["Value"] for page in pages.paginate(ServiceCode="sagemaker") for q in page["Quotas"]
    }


def _quota_checks(cfg: Config, session: Any) -> list[Check]:
    wanted = quota_names(cfg)
    try:
        quotas = read_quotas(session)
    except Exception as exc:
        return [Check("quotas", False, f"cannot read SageMaker quotas: {_error(exc)}")]
    checks = []
    for name, needed in wanted.items():
        value = quotas.get(name)
        ok = value is not None and value >= needed
        shown = "not listed" if value is None else f"{value:g}"
        checks.append(
            Check("quota", ok, f"{name}: {shown} (needs {needed}; Service Quotas console to raise)")
        )
    return checks


def upsert_smoke(cfg: Config, session: Any, root: Path | None = None) -> str:
    """Upload the code bundle and create or update the smoke pipeline; returns its ARN."""
    from pipelines.definition import definition_json
    from project.bundle import REPO_ROOT, upload_bundle

    upload_bundle(session.client("s3"), cfg.project.bucket, cfg.project.prefix, root or REPO_ROOT)
    definition = definition_json(cfg, root or REPO_ROOT)
    sm = session.client("sagemaker")
    request = {
        "PipelineName": smoke_pipeline_name(cfg),
        "PipelineDefinition": definition,
        "RoleArn": cfg.project.pipeline_role_arn,
        "PipelineDescription": f"smoke of {pipeline_name(cfg.project.name, cfg.env)}: CPU, tiny models",
    }
    try:
        return sm.create_pipeline(**request, Tags=[{"Key": "purpose", "Value": "smoke"}])["PipelineArn"]
    except sm.exceptions.ResourceInUse:
        return sm.update_pipeline(**request)["PipelineArn"]


@dataclass
class FollowResult:
    status: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    steps_listed: bool = True  # False where the service (moto) cannot list the steps


def list_steps(sm: Any, execution_arn: str) -> list[dict[str, Any]] | None:
    """The execution's steps, oldest first; None where ListPipelineExecutionSteps is not implemented
    (moto 5.2.5 raises NotImplementedError for it)."""
    try:
        pages = sm.get_paginator("list_pipeline_execution_steps").paginate(
            PipelineExecutionArn=execution_arn, SortOrder="Ascending"
        )
        return [step for page in pages for step in page["PipelineExecutionSteps"]]
    except NotImplementedError:
        return None


def follow(
    sm: Any,
    execution_arn: str,
    say: Callable[[str], None],
    poll_s: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    max_polls: int | None = None,
) -> FollowResult:
    """Poll the execution until it ends, saying each step's status change as it happens."""
    seen: dict[str, str] = {}
    listed = True
    polls = 0
    while True:
        status = sm.describe_pipeline_execution(PipelineExecutionArn=execution_arn)["PipelineExecutionStatus"]
        steps = list_steps(sm, execution_arn) if listed else None
        if steps is None:
            if listed:
                say("its steps cannot be listed here (no ListPipelineExecutionSteps): following its status")
            listed, steps = False, []
            if seen.get("") != status:
                seen[""] = status
                say(f"execution: {status}")
        for step in steps:
            name, step_status = step["StepName"], step["StepStatus"]
            if seen.get(name) != step_status:
                seen[name] = step_status
                reason = f" - {step['FailureReason']}" if step.get("FailureReason") else ""
                say(f"{name}: {step_status}{reason}")
        polls += 1
        if status in TERMINAL or (max_polls is not None and polls >= max_polls):
            if listed:
                say(f"execution: {status}")
            return FollowResult(status, steps, steps_listed=listed)
        sleep(poll_s)


@dataclass(frozen=True)
class JobUsage:
    step: str
    instance_type: str
    instance_count: int
    seconds: float

    @property
    def instance_hours(self) -> float:
        return self.instance_count * self.seconds / 3600

    @property
    def cost_usd(self) -> float | None:
        price = PRICE_PER_HOUR.get(self.instance_type)
        return None if price is None else price * self.instance_hours


def job_usage(sm: Any, steps: list[dict[str, Any]]) -> list[JobUsage]:
    """Instance-hours of the execution's jobs (training: billable seconds; processing: wall time)."""
    usage: list[JobUsage] = []
    for step in steps:
        metadata = step.get("Metadata", {})
        if "TrainingJob" in metadata:
            job = sm.describe_training_job(TrainingJobName=metadata["TrainingJob"]["Arn"].split("/")[-1])
            resources = job["ResourceConfig"]
            seconds = float(job.get("BillableTimeInSeconds") or job.get("TrainingTimeInSeconds") or 0)
            usage.append(
                JobUsage(step["StepName"], resources["InstanceType"], resources["InstanceCount"], seconds)
            )
        elif "ProcessingJob" in metadata:
            job = sm.describe_processing_job(
                ProcessingJobName=metadata["ProcessingJob"]["Arn"].split("/")[-1]
            )
            cluster = job["ProcessingResources"]["ClusterConfig"]
            start, end = job.get("ProcessingStartTime"), job.get("ProcessingEndTime")
            seconds = (end - start).total_seconds() if start and end else 0.0
            usage.append(
                JobUsage(step["StepName"], cluster["InstanceType"], cluster["InstanceCount"], seconds)
            )
    return usage


def cost_lines(usage: list[JobUsage]) -> list[str]:
    lines = [
        f"{u.step}: {u.instance_count} x {u.instance_type}, {u.instance_hours:.3f} instance-h" for u in usage
    ]
    hours = sum(u.instance_hours for u in usage)
    priced = [u.cost_usd for u in usage if u.cost_usd is not None]
    unpriced = sorted({u.instance_type for u in usage if u.cost_usd is None})
    total = f"~${sum(priced):.2f} (on-demand list prices, us-east-1)"
    if unpriced:
        total += f"; no price for {', '.join(unpriced)}"
    lines.append(f"total: {hours:.3f} instance-hours, estimated {total}")
    return lines


def registered_packages(steps: list[dict[str, Any]]) -> list[str]:
    return [s["Metadata"]["RegisterModel"]["Arn"] for s in steps if "RegisterModel" in s.get("Metadata", {})]


def cleanup(cfg: Config, session: Any, steps: list[dict[str, Any]], say: Callable[[str], None]) -> None:
    """Delete the model versions the smoke registered and the smoke pipeline."""
    sm = session.client("sagemaker")
    for arn in registered_packages(steps):
        sm.delete_model_package(ModelPackageName=arn)
        say(f"deleted {arn}")
    sm.delete_pipeline(PipelineName=smoke_pipeline_name(cfg), ClientRequestToken=uuid.uuid4().hex)
    say(f"deleted pipeline {smoke_pipeline_name(cfg)}")


def run_smoke(
    cfg: Config,
    session: Any,
    say: Callable[[str], None],
    keep: bool = False,
    poll_s: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """The whole smoke run; returns the process exit code (0: the execution succeeded)."""
    checks = preflight(cfg, session)
    for check in checks:
        say(str(check))
    failed = [c for c in checks if not c.ok]
    if failed:
        say(f"preflight: {len(failed)} problem(s); nothing was created")
        return 2
    arn = upsert_smoke(cfg, session)
    say(f"upserted {arn}")
    sm = session.client("sagemaker")
    execution = sm.start_pipeline_execution(
        PipelineName=smoke_pipeline_name(cfg), PipelineExecutionDisplayName="smoke"
    )["PipelineExecutionArn"]
    say(f"started {execution}")
    result = follow(sm, execution, say, poll_s=poll_s, sleep=sleep)
    for line in cost_lines(job_usage(sm, result.steps)):
        say(line)
    if keep:
        say(f"kept {smoke_pipeline_name(cfg)} and its registered versions (KEEP=1)")
    else:
        cleanup(cfg, session, result.steps, say)
    if not result.steps_listed:
        say("the step-by-step view needs SageMaker itself (this endpoint cannot list steps)")
    return 0 if result.status == "Succeeded" else 1
