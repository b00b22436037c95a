"""AWS Lambda entry point of the approval -> deploy handler.

Deployed by the operations stack (`make deploy-infra ENV=...`; handler
`model_registry.lambda_handler.handler`), invoked by its EventBridge rules on "SageMaker Model Package
State Change". The settings arrive as JSON in the DEPLOY_HANDLER_SETTINGS environment variable. All
decisions are in `deploy_logic`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from typing import Any

import boto3

from model_registry.deploy_logic import HandlerSettings, handle
from model_registry.deploy_requests import handle_request, is_direct_request
from model_registry.drift_run import DRIFT_RUN, start_drift_job
from model_registry.sagemaker_backend import SageMakerRegistry
from model_registry.sagemaker_deploy import SageMakerDeployer
from model_registry.sagemaker_variants import SageMakerVariants
from model_registry.variants import REQUESTS as VARIANT_REQUESTS
from model_registry.variants import handle_variant_request

SETTINGS_ENV = "DEPLOY_HANDLER_SETTINGS"
TIMEOUT_S = 900  # the Lambda's timeout (its maximum): the operations stack's HandlerTimeoutSeconds
# Wait for a busy endpoint for most of the timeout, leaving time to deploy once it settles.
BUSY_WAIT_S = TIMEOUT_S - 120
# A serverless update is waited for (then invoked once, model_registry/serverless.py) within what is left:
# an event's invocation may have waited for a busy endpoint first; a pipeline step's Lambda step waits
# at most 10 minutes for its answer.
CANARY_WAIT_S = {"event": 600.0, "request": 420.0}

logging.getLogger().setLevel(logging.INFO)  # the Lambda runtime installs the handler; we set the level


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Deploy, roll back or ignore, per `deploy_logic.handle`; returns the decision (in the logs too).

    A direct request from a pipeline step (`{"request": "reconcile" | "find", ...}`) is served by
    `deploy_requests.handle_request` instead and returns the step's outputs; a challenger request of
    the registry CLI (`{"request": "challenger-add" | ..., ...}`) by `variants.handle_variant_request`;
    a drift schedule's firing (`{"request": "drift-run", ...}`) by `drift_run.start_drift_job`.

    An exception (endpoint busy, nothing to roll back to) fails the invocation, so Lambda retries it
    and the Errors metric shows it.
    """
    sagemaker = boto3.client("sagemaker")
    if event.get("request") == DRIFT_RUN:  # the job is in the event: no settings, no registry
        return start_drift_job(boto3.client("s3"), sagemaker, event)
    settings = HandlerSettings.from_json(os.environ[SETTINGS_ENV])
    runtime = boto3.client("sagemaker-runtime")
    scheduler = boto3.client("scheduler")  # the endpoints' drift schedules (monitoring_schedule.py)
    registry = SageMakerRegistry(sagemaker)
    if is_direct_request(event):
        # A pipeline Lambda step waits at most 10 minutes: never wait for a busy endpoint here.
        deployer = SageMakerDeployer(
            sagemaker,
            settings,
            registry,
            busy_wait_s=0,
            runtime_client=runtime,
            canary_wait_s=CANARY_WAIT_S["request"],
            scheduler_client=scheduler,
        )
        if event.get("request") in VARIANT_REQUESTS:  # challenger add/weight/abort (the registry CLI)
            return handle_variant_request(event, settings, registry, SageMakerVariants(deployer))
        return handle_request(event, settings, registry, deployer)
    deployer = SageMakerDeployer(
        sagemaker,
        settings,
        registry,
        busy_wait_s=BUSY_WAIT_S,
        runtime_client=runtime,
        canary_wait_s=CANARY_WAIT_S["event"],
        scheduler_client=scheduler,
    )
    decision = handle(event, settings, registry, deployer)
    return asdict(decision)
