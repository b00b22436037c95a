"""Each stack's parameters, generated from the environment's config, so the stacks name what the code uses.

    python -m infra params --env dev      # writes build/infra/dev/<stack>.json (make infra-params)

Names come from the functions the code itself calls (model_registry.naming, project.images'
repositories, settings.handler_settings), never retyped here. The one deploy-time value that is not
config, the handler zip's key, is passed in by the deploy command after it uploads the zip.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from conf.schema import Config
from model_registry.endpoint_spec import alarm_requests
from model_registry.lambda_bundle import HANDLER, build_zip
from model_registry.lambda_handler import TIMEOUT_S
from model_registry.naming import (
    LIVE_VARIANT,
    MODELS,
    alarm_names,
    approval_rule_names,
    dashboard_name,
    drift_scheduler_role_name,
    endpoint_name,
    handler_function_name,
    monitoring_schedule_name,
    pipeline_name,
    schedule_name,
    scheduler_role_name,
    violations_alarm_name,
)
from model_registry.settings import handler_settings, rollout_policy
from project.images import repository

LOG = logging.getLogger(__name__)

STACKS: tuple[str, ...] = ("storage", "execution", "operations", "delivery")
HANDLER_KEY_PLACEHOLDER = "<uploaded by make deploy-infra>"


class InfraConfigError(ValueError):
    """The config asks for something the stacks cannot express; the message says what to change."""


def stack_name(cfg: Config, stack: str) -> str:
    """`<project>-<env>-<stack>`: the delivery role may change `<project>-<env>-*` stacks only."""
    if stack not in STACKS:
        raise ValueError(f"unknown stack {stack!r}; known: {', '.join(STACKS)}")
    return f"{cfg.project.name}-{cfg.env}-{stack}"


def kms_alias(cfg: Config) -> str:
    """The key's alias: the configured one when config names an alias, else alias/<project>-<env>."""
    key = cfg.security.kms_key_id
    return key if key and key.startswith("alias/") else f"alias/{cfg.project.name}-{cfg.env}"


def handler_code_key(cfg: Config, code: bytes | None = None) -> str:
    """Content-addressed key of the handler zip: same code, same key, no function update."""
    import hashlib

    digest = hashlib.sha256(code if code is not None else build_zip()).hexdigest()[:16]
    return f"{cfg.project.prefix.strip('/')}/infra/deploy-handler/{digest}.zip"


def _check_expressible(cfg: Config) -> None:
    prefix = cfg.project.prefix.strip("/")
    if not prefix:
        raise InfraConfigError("project.prefix is empty: the stacks scope the bucket to a prefix; set one")
    inside = f"s3://{cfg.project.bucket}/{prefix}/"
    if not f"{cfg.data.input_uri.rstrip('/')}/".startswith(inside):
        raise InfraConfigError(
            f"data.input_uri {cfg.data.input_uri!r} is outside {inside}: the execution stack grants the "
            "project's bucket prefix only; copy the data under it (or extend infra/templates/execution.yaml)"
        )


def _storage(cfg: Config) -> dict[str, str]:
    return {
        "ProjectName": cfg.project.name,
        "Environment": cfg.env,
        "BucketName": cfg.project.bucket,
        "Prefix": cfg.project.prefix.strip("/"),
        "KmsAliasName": kms_alias(cfg),
    }


def _execution(cfg: Config) -> dict[str, str]:
    region, account = cfg.project.region, cfg.project.account_id
    return {
        "ProjectName": cfg.project.name,
        "Environment": cfg.env,
        "StorageStack": stack_name(cfg, "storage"),
        "RoleName": cfg.project.role_name,
        "PipelineRoleName": cfg.project.pipeline_role_name,
        "Prefix": cfg.project.prefix.strip("/"),
        "ChatbotGroup": cfg.registry.chatbot_group,
        "ClassifierGroup": cfg.registry.classifier_group,
        "ProcessingRepository": repository(cfg, "processing"),
        "TrainingRepository": repository(cfg, "training"),
        "InferenceRepository": repository(cfg, "inference"),
        "SubnetArns": ",".join(f"arn:aws:ec2:{region}:{account}:subnet/{s}" for s in cfg.security.subnets),
        "SecurityGroupArns": ",".join(
            f"arn:aws:ec2:{region}:{account}:security-group/{g}" for g in cfg.security.security_group_ids
        ),
        # The job role's MLflow statements (pipelines/iam.py _mlflow_statements); empty: none.
        "MlflowTrackingServerArn": cfg.mlflow.tracking_server_arn or "",
        "MlflowArtifactObjects": _s3_objects(cfg.mlflow.artifact_store_uri or ""),
    }


def _s3_objects(uri: str) -> str:
    """`arn:aws:s3:::<bucket>/<prefix>/*` for an s3:// folder; empty for none."""
    if not uri:
        return ""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    return f"arn:aws:s3:::{bucket}/{prefix + '/' if prefix else ''}*"


def _mlflow_server(cfg: Config) -> dict[str, str]:
    """The tracking server the operations stack creates (conf mlflow.create_server), or none ("")."""
    mlflow = cfg.mlflow
    if not mlflow.create_server:
        return dict.fromkeys(
            (
                "MlflowTrackingServerName",
                "MlflowArtifactStoreUri",
                "MlflowArtifactBucket",
                "MlflowArtifactPrefix",
            ),
            "",
        ) | {"MlflowServerSize": "Small"}
    arn = mlflow.tracking_server_arn or ""
    home = f":sagemaker:{cfg.project.region}:{cfg.project.account_id}:mlflow-tracking-server/"
    if home not in arn:
        raise InfraConfigError(
            f"mlflow.tracking_server_arn {arn!r} is not in {cfg.project.region}/{cfg.project.account_id}: "
            "the stack creates the server in the project's account and region; fix the ARN, or set "
            "mlflow.create_server false for a server that exists elsewhere"
        )
    store = mlflow.artifact_store_uri or ""
    bucket, _, prefix = store.removeprefix("s3://").partition("/")
    if not prefix.strip("/"):
        raise InfraConfigError(
            f"mlflow.artifact_store_uri {store!r} is a whole bucket: give the server a folder "
            "(s3://<bucket>/<prefix>), the prefix its role is scoped to"
        )
    return {
        "MlflowTrackingServerName": arn.split(home, 1)[1],
        "MlflowArtifactStoreUri": store,
        "MlflowArtifactBucket": bucket,
        "MlflowArtifactPrefix": prefix.strip("/"),
        "MlflowServerSize": mlflow.server_size,
    }


def _operations(cfg: Config, code_key: str) -> dict[str, str]:
    project, env = cfg.project.name, cfg.env
    endpoints = {model: endpoint_name(project, model, env) for model in MODELS}
    alarms = {model: alarm_names(endpoint) for model, endpoint in endpoints.items()}
    rules = approval_rule_names(project, env)
    # The alarm thresholds as endpoint_spec computes them (ModelLatency is in microseconds).
    thresholds = {r["MetricName"]: r["Threshold"] for r in alarm_requests("x", rollout_policy(cfg))}
    return {
        "ProjectName": project,
        "Environment": env,
        "StorageStack": stack_name(cfg, "storage"),
        "ExecutionStack": stack_name(cfg, "execution"),
        "Prefix": cfg.project.prefix.strip("/"),
        "FunctionName": handler_function_name(project, env),
        "HandlerCodeKey": code_key,
        "HandlerEntryPoint": HANDLER,
        "HandlerTimeoutSeconds": str(TIMEOUT_S),
        "HandlerSettings": handler_settings(cfg).to_json(),
        "ChatbotGroup": cfg.registry.chatbot_group,
        "ClassifierGroup": cfg.registry.classifier_group,
        "ApprovedRuleName": rules["Approved"],
        "RejectedRuleName": rules["Rejected"],
        "ChatbotEndpoint": endpoints["chatbot"],
        "ClassifierEndpoint": endpoints["classifier"],
        "LiveVariantName": LIVE_VARIANT,
        "Chatbot5xxAlarmName": alarms["chatbot"]["5xx"],
        "ChatbotLatencyAlarmName": alarms["chatbot"]["latency"],
        "Classifier5xxAlarmName": alarms["classifier"]["5xx"],
        "ClassifierLatencyAlarmName": alarms["classifier"]["latency"],
        "Alarm5xxCount": f"{thresholds['Invocation5XXErrors']:g}",
        "AlarmLatencyMicroseconds": f"{thresholds['ModelLatency']:g}",
        "PipelineName": pipeline_name(project, env),
        "ScheduleName": schedule_name(project, env),
        "SchedulerRoleName": scheduler_role_name(project, env),
        "ScheduleExpression": cfg.schedule.cron,
        "ScheduleTimezone": cfg.schedule.timezone,
        "ScheduleState": "ENABLED" if cfg.schedule.enabled else "DISABLED",
        "InputDataUri": cfg.data.input_uri,
        # Drift monitoring: the dashboard and the violations alarms (model_registry/dashboard.py).
        "DashboardName": dashboard_name(project, env),
        "MonitoringNamespace": cfg.monitoring.metric_namespace,
        "MonitoringPeriodSeconds": str(3600 * cfg.monitoring.window_hours),
        "ChatbotDriftScheduleName": monitoring_schedule_name(project, env, "chatbot"),
        "ClassifierDriftScheduleName": monitoring_schedule_name(project, env, "classifier"),
        "DriftSchedulerRoleName": drift_scheduler_role_name(project, env),
        "ChatbotViolationsAlarmName": violations_alarm_name(endpoints["chatbot"]),
        "ClassifierViolationsAlarmName": violations_alarm_name(endpoints["classifier"]),
        **_mlflow_server(cfg),
    }


def _delivery(cfg: Config) -> dict[str, str]:
    if not cfg.delivery.github_repository:
        raise InfraConfigError(
            f"delivery.github_repository is not set in conf/{cfg.env}.yaml: set it to owner/name "
            "to let that repository's workflows deploy"
        )
    return {
        "ProjectName": cfg.project.name,
        "Environment": cfg.env,
        "StorageStack": stack_name(cfg, "storage"),
        "ExecutionStack": stack_name(cfg, "execution"),
        "GitHubRepository": cfg.delivery.github_repository,
        "Prefix": cfg.project.prefix.strip("/"),
        "PipelineName": pipeline_name(cfg.project.name, cfg.env),
    }


def stack_parameters(cfg: Config, stack: str, code_key: str = HANDLER_KEY_PLACEHOLDER) -> dict[str, str]:
    """Parameter name -> value of `stack` for `cfg.env` (every value a string, as CloudFormation takes)."""
    _check_expressible(cfg)
    if stack == "storage":
        return _storage(cfg)
    if stack == "execution":
        return _execution(cfg)
    if stack == "operations":
        return _operations(cfg, code_key)
    if stack == "delivery":
        return _delivery(cfg)
    raise ValueError(f"unknown stack {stack!r}; known: {', '.join(STACKS)}")


def as_cloudformation(parameters: dict[str, str]) -> list[dict[str, str]]:
    """The CreateChangeSet form (also the `aws cloudformation` CLI's parameter file form)."""
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]


def write_parameter_files(cfg: Config, out_dir: Path) -> list[Path]:
    """build/infra/<env>/<stack>.json for review; the delivery stack only when it is configured."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stack in STACKS:
        if stack == "delivery" and not cfg.delivery.github_repository:
            LOG.info("delivery.github_repository unset: no parameters for the delivery stack")
            continue
        path = out_dir / f"{stack}.json"
        path.write_text(json.dumps(as_cloudformation(stack_parameters(cfg, stack)), indent=2) + "\n")
        written.append(path)
    return written
