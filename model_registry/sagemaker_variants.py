"""Carries the challenger requests (model_registry/variants.py) out on a SageMaker endpoint.

- add: the challenger's model (the name a normal deploy of that version would give it, so a promotion
  reuses it), a config with both variants (or the live one and a shadow), the challenger's two alarms,
  then UpdateEndpoint (blue/green, all at once, rolled back by the live and the challenger alarms);
- weight: UpdateEndpointWeightsAndCapacities (no new fleet, the split moves in place);
- abort: UpdateEndpoint back to the live version's own config (it exists: the live version was deployed
  with it), then the challenger's alarms are deleted;
- promote is an approval: the normal deploy (sagemaker_deploy) builds the single-variant config and
  calls `drop_challenger_alarms`.
Every request is checked against model_registry/variant_rules.py first. Stdlib + boto3 (Lambda bundle).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from model_registry import variant_rules
from model_registry.deploy_logic import EndpointTarget
from model_registry.endpoint_spec import (
    deployment_config,
    endpoint_config_request,
    model_request,
    resource_name,
)
from model_registry.naming import LIVE_VARIANT, challenger_variant, variant_alarm_names
from model_registry.sagemaker_deploy import BUSY_STATES, EndpointBusy, SageMakerDeployer
from model_registry.types import ModelVersion
from model_registry.variants import (
    Mode,
    VariantState,
    challenger_config_name,
    challenger_config_request,
    variant_alarm_requests,
    weights_request,
)

LOG = logging.getLogger(__name__)


def _cloudwatch(deployer: SageMakerDeployer) -> Any:
    import boto3  # here: the SageMaker client's session and region, created only when alarms change

    return boto3.client("cloudwatch", region_name=deployer.sm.meta.region_name)


def drop_challenger_alarms(deployer: SageMakerDeployer, endpoint_name: str, old_config_name: str) -> None:
    """Delete the alarms of the variants `old_config_name` had beside the live one."""
    config = deployer._describe("describe_endpoint_config", EndpointConfigName=old_config_name) or {}
    others = [
        v["VariantName"]
        for key in ("ProductionVariants", "ShadowProductionVariants")
        for v in config.get(key) or []
        if v["VariantName"] != LIVE_VARIANT
    ]
    if others:
        names = [n for variant in others for n in variant_alarm_names(endpoint_name, variant).values()]
        _cloudwatch(deployer).delete_alarms(AlarmNames=names)
        LOG.info("%s: deleted the alarms of %s", endpoint_name, ", ".join(others))


class SageMakerVariants:
    """The VariantDeployer of SageMaker endpoints, over the deploy handler's SageMakerDeployer."""

    def __init__(self, deployer: SageMakerDeployer, cloudwatch: Any | None = None) -> None:
        self.deployer = deployer
        self.sm = deployer.sm
        self._cw = cloudwatch

    @property
    def cloudwatch(self) -> Any:
        if self._cw is None:
            self._cw = _cloudwatch(self.deployer)
        return self._cw

    def _endpoint(self, endpoint_name: str) -> dict[str, Any]:
        endpoint = self.deployer._settled_endpoint(endpoint_name)
        if endpoint is None:
            raise LookupError(f"{endpoint_name} does not exist: approve a version to create it")
        return endpoint

    def variants(self, endpoint_name: str) -> list[VariantState]:
        """The endpoint's variants: name, the package each serves, current weight, shadow or not."""
        endpoint = self.deployer._describe("describe_endpoint", EndpointName=endpoint_name)
        if endpoint is None:
            return []
        status = endpoint.get("EndpointStatus")
        if status in BUSY_STATES:  # mid-update, EndpointConfigName is still the old config: not an answer
            raise EndpointBusy(f"{endpoint_name} is {status}; ask again once it is InService")
        config = self.sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        weights = {v["VariantName"]: v.get("CurrentWeight") for v in endpoint.get("ProductionVariants") or []}
        found = []
        for key in ("ProductionVariants", "ShadowProductionVariants"):
            for variant in config.get(key) or []:
                name = variant["VariantName"]
                weight = weights.get(name)
                found.append(
                    VariantState(
                        name=name,
                        model_package_arn=self.deployer.model_package(endpoint_name, variant["ModelName"]),
                        weight=float(
                            weight if weight is not None else variant.get("InitialVariantWeight", 1.0)
                        ),
                        shadow=key == "ShadowProductionVariants",
                    )
                )
        return found

    def _ensure_model(self, target: EndpointTarget, version: ModelVersion) -> str:
        name = resource_name(target, version, self.deployer.settings)
        if self.deployer._describe("describe_model", ModelName=name) is None:
            self.sm.create_model(**model_request(name, version, self.deployer.settings))
            LOG.info("created model %s from %s", name, version.arn)
        return name

    def _update(
        self,
        target: EndpointTarget,
        config: dict[str, Any],
        current_config: dict[str, Any],
        extra_alarms: list[str],
    ) -> None:
        """UpdateEndpoint to `config`: blue/green all at once, rolled back by the live and `extra_alarms`."""
        rollout = replace(self.deployer.settings.rollout, strategy="all_at_once")
        guard = deployment_config(rollout, target.endpoint_name)
        guard["AutoRollbackConfiguration"]["Alarms"] += [{"AlarmName": name} for name in extra_alarms]
        request = {
            "EndpointName": target.endpoint_name,
            "EndpointConfigName": config["EndpointConfigName"],
            "DeploymentConfig": guard,
        }
        variant_rules.check({**request, "new_config": config}, current_config)
        self.sm.update_endpoint(**request)
        LOG.info("updating endpoint %s to %s", target.endpoint_name, config["EndpointConfigName"])

    def add_challenger(
        self, target: EndpointTarget, live: ModelVersion, challenger: ModelVersion, mode: Mode, weight: float
    ) -> None:
        settings = self.deployer.settings
        endpoint = self._endpoint(target.endpoint_name)
        current = self.sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        self._ensure_model(target, live)
        self._ensure_model(target, challenger)
        name = challenger_config_name(target, live, challenger, mode, weight, settings)
        config = challenger_config_request(name, target, live, challenger, mode, weight, settings)
        variant_rules.check(config)
        if self.deployer._describe("describe_endpoint_config", EndpointConfigName=name) is None:
            self.sm.create_endpoint_config(**config)
            LOG.info("created endpoint config %s (%s challenger v%s)", name, mode, challenger.version)
        variant = challenger_variant(challenger.version)
        for alarm in variant_alarm_requests(target.endpoint_name, variant, settings.rollout):
            self.cloudwatch.put_metric_alarm(**alarm)
        self._update(
            target, config, current, list(variant_alarm_names(target.endpoint_name, variant).values())
        )

    def set_weight(self, target: EndpointTarget, challenger: str, weight: float) -> None:
        endpoint = self._endpoint(target.endpoint_name)
        current = self.sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        request = weights_request(target.endpoint_name, challenger, weight)
        variant_rules.check(request, current)
        self.sm.update_endpoint_weights_and_capacities(**request)
        LOG.info("%s: %s takes %g of the traffic", target.endpoint_name, challenger, weight)

    def remove_challenger(self, target: EndpointTarget, live: ModelVersion) -> None:
        settings = self.deployer.settings
        endpoint = self._endpoint(target.endpoint_name)
        current_name = endpoint["EndpointConfigName"]
        current = self.sm.describe_endpoint_config(EndpointConfigName=current_name)
        name = resource_name(target, live, settings)
        config = endpoint_config_request(name, target, live, settings)
        if self.deployer._describe("describe_endpoint_config", EndpointConfigName=name) is None:
            self._ensure_model(target, live)
            self.sm.create_endpoint_config(**config)
        self._update(target, config, current, [])
        drop_challenger_alarms(self.deployer, target.endpoint_name, current_name)
