"""Names every part of the project agrees on: endpoints, the pipeline, rules, schedules, roles.

Stdlib only (the Lambda bundle imports it). One place, so the local runner, the pipeline's deploy steps,
the approval handler and the notebooks all point at the same endpoint.
"""

from __future__ import annotations

MODELS: tuple[str, ...] = ("chatbot", "classifier")


def endpoint_name(project_name: str, model: str, env: str) -> str:
    """The endpoint that serves `model` ('chatbot' or 'classifier') in `env`: `<project>-<env>-<model>`.

    The pipeline's own deploy steps (steps/deploy.py) use the same name, so the handler and the
    pipeline update one endpoint per environment and model.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
    return f"{project_name}-{env}-{model}"


def pipeline_name(project_name: str, env: str) -> str:
    """The SageMaker pipeline of `env`: `<project>-<env>`."""
    return f"{project_name}-{env}"


def alarm_names(endpoint: str) -> dict[str, str]:
    """The CloudWatch alarms that roll back a blue/green update of `endpoint`: 5XX errors and latency."""
    return {"5xx": f"{endpoint}-5xx-errors", "latency": f"{endpoint}-model-latency"}


def handler_function_name(project_name: str, env: str) -> str:
    """The approval -> deploy Lambda (also its role's name and its log group's suffix)."""
    return f"{project_name}-{env}-deploy-handler"


def handler_function_arn(region: str, account: str, project_name: str, env: str) -> str:
    """The deploy handler's ARN: what the pipeline's Lambda steps invoke (and its role may invoke)."""
    return f"arn:aws:lambda:{region}:{account}:function:{handler_function_name(project_name, env)}"


def approval_rule_names(project_name: str, env: str) -> dict[str, str]:
    """The EventBridge rules feeding the deploy handler: one for approvals, one for rejections."""
    return {
        "Approved": f"{project_name}-{env}-model-approved",
        "Rejected": f"{project_name}-{env}-model-rejected",
    }


def schedule_name(project_name: str, env: str) -> str:
    """The EventBridge Scheduler schedule that starts the retraining pipeline."""
    return f"{project_name}-{env}-retrain"


def scheduler_role_name(project_name: str, env: str) -> str:
    return f"{project_name}-{env}-scheduler"


def monitoring_schedule_name(project_name: str, env: str, model: str) -> str:
    """The drift monitoring of `model`'s endpoint: the job's MonitoringSchedule metric dimension, and
    the name of the schedule that starts it."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
    return f"{project_name}-{env}-{model}-drift"


def drift_scheduler_role_name(project_name: str, env: str) -> str:
    """The role the drift monitoring schedules start their jobs as (not the retraining scheduler's)."""
    return f"{project_name}-{env}-drift-scheduler"


def violations_alarm_name(endpoint: str) -> str:
    """The alarm on the drift monitoring's constraint violations of `endpoint`."""
    return f"{endpoint}-drift-violations"


def dashboard_name(project_name: str, env: str) -> str:
    return f"{project_name}-{env}"


# The production variant that serves the approved version. It keeps this name across every deploy:
# a blue/green update with deployment guardrails (canary/linear traffic shifting, alarm rollback) needs
# the new endpoint config to keep the old config's variant name
# (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html), so a name
# that changed with the version would quietly turn every deploy into all-at-once without rollback.
# The existing endpoints already call it AllTraffic; a challenger or shadow is named by its version.
LIVE_VARIANT = "AllTraffic"


def challenger_variant(version: int) -> str:
    """The variant of a challenger (A/B) or shadow version: `v<version>` (never LIVE_VARIANT)."""
    if version < 1:
        raise ValueError(f"model versions start at 1, not {version}")
    return f"v{version}"


def variant_alarm_names(endpoint: str, variant: str) -> dict[str, str]:
    """The alarms of one variant: the live variant's are the rollback alarms (`alarm_names`); a
    challenger's carry its variant name, so both are watched side by side."""
    if variant == LIVE_VARIANT:
        return alarm_names(endpoint)
    return {"5xx": f"{endpoint}-{variant}-5xx-errors", "latency": f"{endpoint}-{variant}-model-latency"}
