"""Carries the deploy handler's decisions out on SageMaker: model, endpoint config, blue/green update.

Used by the Lambda (`model_registry.lambda_handler`). What the endpoint serves is read back from
SageMaker itself (endpoint -> endpoint config -> model -> model package), so the handler needs no
state of its own. Stdlib + boto3 only (Lambda bundle).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from model_registry import monitoring_schedule, serverless
from model_registry.deploy_logic import EndpointTarget, HandlerSettings, VersionSource
from model_registry.deploy_requests import DeploymentState
from model_registry.endpoint_spec import (
    VARIANT_NAME,
    data_capture_uri,
    deployment_config,
    endpoint_config_request,
    model_request,
    resource_name,
    tag_list,
)
from model_registry.types import ModelVersion

LOG = logging.getLogger(__name__)

# An endpoint in these states cannot be updated now; raising lets EventBridge/Lambda retry later.
# (UpdateRollbackFailed is not here: that endpoint is in service and accepts an UpdateEndpoint.)
BUSY_STATES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
POLL_S = 20.0


class EndpointBusy(RuntimeError):
    """The endpoint is changing already; the event should be retried later."""


def is_not_found(error: ClientError) -> bool:
    """SageMaker answers a describe of a missing resource with ValidationException 'Could not find ...'."""
    err = error.response.get("Error", {})
    return err.get("Code") in ("ValidationException", "ResourceNotFound") and "Could not find" in err.get(
        "Message", ""
    )


def _refuse_failed(endpoint_name: str, endpoint: dict[str, Any]) -> None:
    if endpoint.get("EndpointStatus") == "Failed":
        raise RuntimeError(
            f"{endpoint_name} is Failed ({endpoint.get('FailureReason', 'no reason given')}): "
            "delete it, then approve again to recreate it"
        )


class SageMakerDeployer:
    """Creates or updates SageMaker endpoints from registered model packages."""

    def __init__(
        self,
        sagemaker_client: Any,
        settings: HandlerSettings,
        registry: VersionSource | None = None,
        busy_wait_s: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        runtime_client: Any = None,
        canary_wait_s: float = 0.0,
        scheduler_client: Any = None,
    ) -> None:
        self.sm = sagemaker_client
        self.settings = settings
        # Lets an endpoint the pipeline's own deploy step built (image + ModelDataUrl, no package)
        # be recognised as serving the package registered with that artifact.
        self.registry = registry
        # An endpoint being created or updated is waited for this long (the Lambda has minutes; a
        # blue/green update takes several), then EndpointBusy lets Lambda retry the event.
        self.busy_wait_s = busy_wait_s
        self.sleep = sleep
        # A serverless endpoint has no alarm-driven rollback: after switching it, the deployer invokes it
        # once (SageMaker Runtime) and goes back to the previous config on failure (model_registry/
        # serverless.py). The update is waited for at most `canary_wait_s`.
        self.runtime = runtime_client
        self.canary_wait_s = canary_wait_s
        # EventBridge Scheduler: each deploy points the endpoint's drift schedule at the version it
        # deploys (model_registry/monitoring_schedule.py); None: schedules are left alone.
        self.scheduler = scheduler_client

    def _settled_endpoint(self, endpoint_name: str) -> dict[str, Any] | None:
        """DescribeEndpoint once the endpoint is not changing; None when it does not exist."""
        waited = 0.0
        while True:
            endpoint = self._describe("describe_endpoint", EndpointName=endpoint_name)
            if endpoint is None or endpoint.get("EndpointStatus") not in BUSY_STATES:
                return endpoint
            if waited >= self.busy_wait_s:
                status = endpoint["EndpointStatus"]
                raise EndpointBusy(
                    f"{endpoint_name} is {status} after {waited:.0f} s; retry once it is InService"
                )
            LOG.info("%s is %s; waiting", endpoint_name, endpoint["EndpointStatus"])
            self.sleep(POLL_S)
            waited += POLL_S

    def _describe(self, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        try:
            return getattr(self.sm, operation)(**kwargs)
        except ClientError as error:
            if is_not_found(error):
                return None
            raise

    def live_package_arn(self, endpoint_name: str) -> str | None:
        """The model package the endpoint serves now; None when there is no endpoint."""
        endpoint = self._settled_endpoint(endpoint_name)
        if endpoint is None:
            return None
        _refuse_failed(endpoint_name, endpoint)
        return self._config_package(endpoint_name, endpoint["EndpointConfigName"])

    def deployment_state(self, endpoint_name: str) -> DeploymentState:
        """The endpoint's state now, without waiting: what it serves and, while busy, what it moves to.

        During an update DescribeEndpoint keeps the serving config in EndpointConfigName and names the
        new one in PendingDeploymentSummary (botocore's DescribeEndpointOutput); while Creating, the
        config being created is EndpointConfigName itself.
        """
        endpoint = self._describe("describe_endpoint", EndpointName=endpoint_name)
        if endpoint is None:
            return DeploymentState(exists=False)
        status = str(endpoint.get("EndpointStatus", ""))
        _refuse_failed(endpoint_name, endpoint)
        if status not in BUSY_STATES:
            return DeploymentState(
                True,
                serving=self._config_package(endpoint_name, endpoint["EndpointConfigName"]),
                status=status,
            )
        pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
        if status == "Creating":
            pending = endpoint["EndpointConfigName"]
        moving_to = self._config_package(endpoint_name, pending) if pending else None
        return DeploymentState(True, busy=True, moving_to=moving_to, status=status)

    def _config_package(self, endpoint_name: str, config_name: str) -> str | None:
        """The model package the config's live variant serves (a challenger beside it is not live)."""
        config = self.sm.describe_endpoint_config(EndpointConfigName=config_name)
        variants = config["ProductionVariants"]
        live = next((v for v in variants if v["VariantName"] == VARIANT_NAME), variants[0])
        return self.model_package(endpoint_name, live["ModelName"])

    def model_package(self, endpoint_name: str, model_name: str) -> str | None:
        """The model package a model serves (by ModelPackageName, else by its artifact)."""
        model = self.sm.describe_model(ModelName=model_name)
        containers = [model.get("PrimaryContainer") or {}, *model.get("Containers", [])]
        package = next((c["ModelPackageName"] for c in containers if c.get("ModelPackageName")), None)
        if package is not None:
            return package
        return self._package_by_artifact(
            endpoint_name, {c["ModelDataUrl"] for c in containers if c.get("ModelDataUrl")}
        )

    def _package_by_artifact(self, endpoint_name: str, artifacts: set[str]) -> str | None:
        """The newest registered version of the endpoint's group whose artifact the endpoint serves."""
        group = next((g for g, t in self.settings.targets.items() if t.endpoint_name == endpoint_name), None)
        if self.registry is None or group is None or not artifacts:
            return None
        matches = [v for v in self.registry.list_versions(group) if v.model_data_url in artifacts]
        return max(matches, key=lambda v: v.version).arn if matches else None

    def deploy(self, target: EndpointTarget, version: ModelVersion) -> None:
        """Serve `version` on the target endpoint (create it, or update it blue/green), then point the
        endpoint's drift schedule at it (a rollback is a deploy of the older version, so it does too).

        The schedule follows the deploy once it is started, not once the update completes: should the
        alarms roll the update back, a window or two is compared with the new version's baseline (the
        violations then say so) until the next approval or rejection points it back."""
        self._deploy_endpoint(target, version)
        self._sync_drift_schedule(target, version)

    def _sync_drift_schedule(self, target: EndpointTarget, version: ModelVersion) -> None:
        monitoring = self.settings.monitoring
        if self.scheduler is None or monitoring is None:
            return
        if target.serverless is not None:
            LOG.info("%s is serverless and captures nothing: no drift schedule", target.endpoint_name)
            return
        package = self.sm.describe_model_package(ModelPackageName=version.arn)
        # The live variant's folder (SageMaker captures to <destination>/<endpoint>/<variant>/...): the
        # traffic of the version whose baseline the schedule carries, no other variant's.
        capture = f"{data_capture_uri(self.settings, target)}/{target.endpoint_name}/{VARIANT_NAME}/"
        monitoring_schedule.sync_schedule(self.scheduler, monitoring, target.model, capture, package)

    def _deploy_endpoint(self, target: EndpointTarget, version: ModelVersion) -> None:
        name = resource_name(target, version, self.settings)
        if self._describe("describe_model", ModelName=name) is None:
            self.sm.create_model(**model_request(name, version, self.settings))
            LOG.info("created model %s from %s", name, version.arn)
        if self._describe("describe_endpoint_config", EndpointConfigName=name) is None:
            self.sm.create_endpoint_config(**endpoint_config_request(name, target, version, self.settings))
            LOG.info("created endpoint config %s", name)
        current = self._describe("describe_endpoint", EndpointName=target.endpoint_name)
        if current is None:
            self.sm.create_endpoint(
                EndpointName=target.endpoint_name,
                EndpointConfigName=name,
                Tags=tag_list(self.settings, version),
            )
            LOG.info("creating endpoint %s with %s", target.endpoint_name, name)
            self._serverless_canary(target, name, previous=None)
            return
        if target.serverless is not None:
            serving = self.sm.describe_endpoint_config(EndpointConfigName=current["EndpointConfigName"])
            serverless.refuse_conversion(target.endpoint_name, serving)
            # No DeploymentConfig: guardrail steps count instances, which a serverless variant has none of;
            # the update is blue/green all at once (SageMaker's default) and the canary below checks it.
            self.sm.update_endpoint(EndpointName=target.endpoint_name, EndpointConfigName=name)
            LOG.info("updating serverless endpoint %s to %s", target.endpoint_name, name)
            self._serverless_canary(target, name, previous=current["EndpointConfigName"])
            return
        rollout = replace(self.settings.rollout, strategy=target.strategy, step_percent=target.step_percent)
        self.sm.update_endpoint(
            EndpointName=target.endpoint_name,
            EndpointConfigName=name,
            DeploymentConfig=deployment_config(rollout, target.endpoint_name),
        )
        LOG.info("updating endpoint %s to %s (%s)", target.endpoint_name, name, rollout.strategy)
        # A challenger beside the live variant goes with this update (the new config has the live one
        # alone): its alarms go too. Imported here: sagemaker_variants builds on this module.
        from model_registry.sagemaker_variants import drop_challenger_alarms

        drop_challenger_alarms(self, target.endpoint_name, current["EndpointConfigName"])

    def _serverless_canary(self, target: EndpointTarget, name: str, previous: str | None) -> None:
        if target.serverless is None or self.runtime is None:
            return
        serverless.canary(
            self.sm,
            self.runtime,
            target.endpoint_name,
            target.model,
            name,
            previous,
            self.canary_wait_s,
            self.sleep,
        )
