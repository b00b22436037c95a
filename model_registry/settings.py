"""From the project's typed config to the deploy handler's settings (kept out of the Lambda bundle).

The Lambda does not read YAML: `make deploy-infra` turns the config into HandlerSettings and the
operations stack ships them as one JSON environment variable (infra/parameters.py).
"""

from __future__ import annotations

from typing import Any

from conf.schema import Config
from model_registry.deploy_logic import EndpointTarget, HandlerSettings, RolloutPolicy
from model_registry.monitoring_schedule import MonitoringSettings, job_name_prefix, manifest_prefix
from model_registry.naming import (
    MODELS,
    drift_scheduler_role_name,
    endpoint_name,
    handler_function_name,
    monitoring_schedule_name,
)


def group_of(cfg: Config, model: str) -> str:
    """The model package group of 'chatbot' or 'classifier'."""
    groups = {"chatbot": cfg.registry.chatbot_group, "classifier": cfg.registry.classifier_group}
    if model not in groups:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(groups)}")
    return groups[model]


def model_of(cfg: Config, group: str) -> str:
    """'chatbot' or 'classifier' for one of the project's groups."""
    for model in MODELS:
        if group_of(cfg, model) == group:
            return model
    raise ValueError(f"{group!r} is not one of this project's groups ({', '.join(project_groups(cfg))})")


def project_groups(cfg: Config) -> list[str]:
    return [group_of(cfg, model) for model in MODELS]


def endpoint_targets(cfg: Config) -> dict[str, EndpointTarget]:
    """Group -> where and how it is served in `cfg.env`."""
    targets = {}
    for model in MODELS:
        serving = getattr(cfg, model).serving
        group = group_of(cfg, model)
        targets[group] = EndpointTarget(
            group=group,
            endpoint_name=endpoint_name(cfg.project.name, model, cfg.env),
            instance_type=serving.instance_type,
            initial_instance_count=serving.initial_instance_count,
            strategy=serving.rollout_strategy,
            step_percent=serving.step_percent,
            data_capture_percentage=serving.data_capture_percentage,
            model=model,
            serverless=serving.serverless.model_dump(exclude_none=True) if serving.serverless else None,
        )
    return targets


def max_concurrency(cfg: Config) -> dict[str, int]:
    """Endpoint name -> the MaxConcurrency of each serverless endpoint of `cfg.env` (serve-local throttles
    above it, as the serverless endpoint does)."""
    return {
        target.endpoint_name: target.serverless["max_concurrency"]
        for target in endpoint_targets(cfg).values()
        if target.serverless is not None
    }


def rollout_policy(cfg: Config) -> RolloutPolicy:
    """Waits and rollback alarms shared by the endpoints (each target carries its own strategy)."""
    deployment = cfg.deployment
    return RolloutPolicy(
        wait_interval_s=deployment.wait_interval_s,
        termination_wait_s=deployment.wait_interval_s,
        alarm_latency_ms=deployment.alarm_latency_ms,
        alarm_5xx_count=deployment.alarm_5xx_count,
    )


def monitoring_settings(cfg: Config) -> MonitoringSettings:
    """What every drift schedule of `cfg.env` shares: the job as the pipeline's processing jobs run
    (instance, volume, key, VPC, job role), and the drift scheduler role of the operations stack."""
    project, security = cfg.project, cfg.security
    return MonitoringSettings(
        project_name=project.name,
        env=cfg.env,
        bucket=project.bucket,
        prefix=project.prefix,
        region=project.region,
        job_role_arn=project.role_arn,
        scheduler_role_arn=f"arn:aws:iam::{project.account_id}:role/"
        + drift_scheduler_role_name(project.name, cfg.env),
        handler_function_arn=f"arn:aws:lambda:{project.region}:{project.account_id}:function:"
        + handler_function_name(project.name, cfg.env),
        cron=cfg.monitoring.cron,
        window_hours=cfg.monitoring.window_hours,
        alpha=cfg.monitoring.alpha,
        min_window=cfg.monitoring.min_window,
        instance_type=cfg.processing.instance_type,
        volume_size_gb=cfg.processing.volume_size_gb,
        tags=dict(project.tags),
        kms_key_id=security.kms_key_id,
        subnets=tuple(security.subnets),
        security_group_ids=tuple(security.security_group_ids),
    )


def drift_schedule_access(cfg: Config) -> dict[str, Any]:
    """deploy_handler_policy's drift arguments: the endpoints' schedules and the role they run as, and
    what a firing needs (model_registry/drift_run.py): the monitoring jobs' name prefixes, the bucket,
    the capture it lists (handler_settings' data capture root) and where it writes manifests."""
    monitoring = monitoring_settings(cfg)
    return {
        "drift_schedules": [monitoring_schedule_name(cfg.project.name, cfg.env, m) for m in MODELS],
        "drift_scheduler_role_arn": monitoring.scheduler_role_arn,
        "drift_job_prefixes": [job_name_prefix(cfg.env, m) for m in MODELS],
        "drift_bucket": cfg.project.bucket,
        "drift_capture_prefix": _capture_root(cfg).removeprefix(f"s3://{cfg.project.bucket}/"),
        "drift_manifest_prefix": manifest_prefix(monitoring),
    }


def _capture_root(cfg: Config) -> str:
    # The layout the pipeline's own endpoint configs use: <s3 root>/<env>/data-capture/<model>.
    return f"{cfg.project.s3_root.rstrip('/')}/{cfg.env}/data-capture"


def handler_settings(cfg: Config) -> HandlerSettings:
    """Everything the deploy handler needs for `cfg.env`."""
    return HandlerSettings(
        targets=endpoint_targets(cfg),
        rollout=rollout_policy(cfg),
        execution_role_arn=cfg.project.role_arn,
        data_capture_s3_uri=_capture_root(cfg),
        kms_key_id=cfg.security.kms_key_id,
        tags={**cfg.project.tags, "project": cfg.project.name, "environment": cfg.env},
        network_isolation=cfg.security.network_isolation,
        vpc_config=(
            {"SecurityGroupIds": list(cfg.security.security_group_ids), "Subnets": list(cfg.security.subnets)}
            if cfg.security.subnets
            else None
        ),
        monitoring=monitoring_settings(cfg),
    )
