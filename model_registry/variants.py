"""A/B and shadow variants: a challenger version beside the live one, then promote or abort.

    {"request": "challenger-add", "group": G, "version": N, "weight": 0.1}     A/B: 10% of the traffic
    {"request": "challenger-add", "group": G, "version": N, "shadow": true}    shadow: a copy of each request
    {"request": "challenger-weight", "group": G, "weight": 0.5}                 move the split
    {"request": "challenger-abort", "group": G}                                 back to the live variant alone
    promote = approve the challenger (`python -m model_registry challenger promote G`): the approval
    event deploys it by the normal path, blue/green with the rollback alarms, as the only variant.

How the registry records a challenger, and why: it does not change its approval status. A challenger
stays PendingManualApproval while it takes part of the traffic; Approved keeps meaning "the version the
endpoint should serve" (deploy_logic: the endpoint serves the latest approved version), so approving it
IS the promotion and needs no second mechanism, and a rejected version can never be a challenger. Where
a challenger serves is read back from the endpoint itself (its endpoint config names the variant's model
and so the package), as the live version is: no tag on the package can disagree with the endpoint.

Names: the live variant keeps `naming.LIVE_VARIANT` across every deploy (guardrails need an unchanged
variant name, see naming.py); a challenger or shadow variant is named by its version (`v7`), and so are
its alarms, capture folder (`<endpoint>/v7/...`) and metrics (the VariantName dimension).

Pure request builders and the rules of a request (deployer-independent): the Lambda's SageMaker
carrying-out is model_registry/sagemaker_variants.py, the local one model_registry/local_variants.py.
Stdlib only: this module travels in the Lambda bundle.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from model_registry.deploy_logic import EndpointTarget, HandlerSettings, RolloutPolicy, VersionSource
from model_registry.deploy_requests import BadRequest
from model_registry.endpoint_spec import MAX_NAME, alarm_requests, endpoint_config_request, resource_name
from model_registry.naming import LIVE_VARIANT, challenger_variant
from model_registry.types import ApprovalStatus, ModelVersion

Mode = Literal["ab", "shadow"]
ADD = "challenger-add"
WEIGHT = "challenger-weight"
ABORT = "challenger-abort"
STATUS = "challenger-status"
REQUESTS = (ADD, WEIGHT, ABORT, STATUS)


class ChallengerError(ValueError):
    """A challenger request the endpoint's state refuses (no live version, one already there, ...)."""


@dataclass(frozen=True)
class VariantState:
    """One variant of an endpoint as it serves now."""

    name: str
    model_package_arn: str | None
    weight: float
    shadow: bool = False
    version: int | None = None


class VariantDeployer(Protocol):
    """What the challenger requests do to an endpoint (SageMaker, or the local endpoints table)."""

    def variants(self, endpoint_name: str) -> list[VariantState]: ...

    def add_challenger(
        self, target: EndpointTarget, live: ModelVersion, challenger: ModelVersion, mode: Mode, weight: float
    ) -> None: ...

    def set_weight(self, target: EndpointTarget, challenger: str, weight: float) -> None: ...

    def remove_challenger(self, target: EndpointTarget, live: ModelVersion) -> None: ...


# ---- requests ------------------------------------------------------------------------------------


def check_weight(weight: float) -> float:
    """A challenger's share of the traffic: strictly between 0 and 1 (0 is abort, 1 is promote)."""
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight < 1:
        raise BadRequest(
            f"weight {weight!r} must be a number strictly between 0 and 1 (the challenger's share of the "
            "traffic): use `abort` to remove it, `promote` to give it everything"
        )
    return float(weight)


def split(weight: float) -> tuple[float, float]:
    """(live, challenger) variant weights for a challenger share; SageMaker routes by weight / sum."""
    return round(1.0 - weight, 6), round(weight, 6)


def challenger_instance_count(target: EndpointTarget, mode: Mode, weight: float) -> int:
    """A shadow gets a copy of every request: the live fleet's size. An A/B challenger takes `weight`
    of it: that share of the fleet, at least one instance."""
    if mode == "shadow":
        return target.initial_instance_count
    return max(1, math.ceil(target.initial_instance_count * weight))


def challenger_config_name(
    target: EndpointTarget,
    live: ModelVersion,
    challenger: ModelVersion,
    mode: Mode,
    weight: float,
    settings: HandlerSettings,
) -> str:
    """`<endpoint>-v<live>-<ab|sh><challenger>-<hash6>`: deterministic, so a retried request reuses it,
    and under the handler role's `endpoint-config/<endpoint>-v*`."""
    fingerprint = json.dumps(
        [
            resource_name(target, live, settings),
            resource_name(target, challenger, settings),
            mode,
            weight,
        ]
    )
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:6]
    suffix = f"-v{live.version}-{'ab' if mode == 'ab' else 'sh'}{challenger.version}-{digest}"
    return target.endpoint_name[: MAX_NAME - len(suffix)].rstrip("-") + suffix


def challenger_config_request(
    name: str,
    target: EndpointTarget,
    live: ModelVersion,
    challenger: ModelVersion,
    mode: Mode,
    weight: float,
    settings: HandlerSettings,
) -> dict[str, Any]:
    """CreateEndpointConfig with the live variant and the challenger: a second production variant with
    its weight (A/B), or a shadow variant (ShadowProductionVariants). Capture as the live config's."""
    request = endpoint_config_request(name, target, live, settings)
    [live_variant] = request["ProductionVariants"]
    live_variant["ModelName"] = resource_name(target, live, settings)  # the live version's own model
    other = {
        "VariantName": challenger_variant(challenger.version),
        "ModelName": resource_name(target, challenger, settings),
        "InstanceType": target.instance_type,
        "InitialInstanceCount": challenger_instance_count(target, mode, weight),
    }
    if mode == "shadow":
        # The shadow copies the live variant's traffic; equal weights ask for a copy of every request.
        live_variant["InitialVariantWeight"] = 1.0
        other["InitialVariantWeight"] = 1.0
        request["ShadowProductionVariants"] = [other]
    else:
        live_variant["InitialVariantWeight"], other["InitialVariantWeight"] = split(weight)
        request["ProductionVariants"].append(other)
    return request


def weights_request(endpoint_name: str, challenger: str, weight: float) -> dict[str, Any]:
    """UpdateEndpointWeightsAndCapacities: the live/challenger split, no new fleet."""
    live_weight, challenger_weight = split(weight)
    return {
        "EndpointName": endpoint_name,
        "DesiredWeightsAndCapacities": [
            {"VariantName": LIVE_VARIANT, "DesiredWeight": live_weight},
            {"VariantName": challenger, "DesiredWeight": challenger_weight},
        ],
    }


def variant_alarm_requests(endpoint_name: str, variant: str, rollout: RolloutPolicy) -> list[dict[str, Any]]:
    """PutMetricAlarm requests of one variant: 5XX count and model latency, as the live variant's."""
    return alarm_requests(endpoint_name, rollout, variant=variant)


def choose_variant(weights: list[tuple[str, float]], draw: float) -> str:
    """The variant a request goes to, for a uniform `draw` in [0, 1): variant i takes the share
    weight_i / sum of weights, as SageMaker routes production variants."""
    total = sum(w for _, w in weights)
    if total <= 0:
        raise ValueError(f"no variant has a positive weight ({weights}): nothing can take the request")
    point = draw * total
    for name, weight in weights:
        if point < weight:
            return name
        point -= weight
    return next(name for name, weight in reversed(weights) if weight > 0)


# ---- what a request does -------------------------------------------------------------------------


def _target(settings: HandlerSettings, group: str) -> EndpointTarget:
    target = settings.targets.get(group)
    if target is None:
        raise BadRequest(
            f"group {group!r} is not one of this handler's ({', '.join(sorted(settings.targets))})"
        )
    return target


def _live(deployer: VariantDeployer, registry: VersionSource, target: EndpointTarget) -> ModelVersion:
    variants = {v.name: v for v in deployer.variants(target.endpoint_name)}
    live = variants.get(LIVE_VARIANT)
    if live is None or live.model_package_arn is None:
        raise ChallengerError(
            f"{target.endpoint_name} serves no approved version yet: approve one first, then add a challenger"
        )
    for found in registry.list_versions(target.group):
        if found.arn == live.model_package_arn:
            return found
    raise ChallengerError(
        f"{target.endpoint_name} serves {live.model_package_arn}, not a version of {target.group}"
    )


def current_challenger(deployer: VariantDeployer, endpoint_name: str) -> VariantState | None:
    return next((v for v in deployer.variants(endpoint_name) if v.name != LIVE_VARIANT), None)


def add(
    target: EndpointTarget,
    version: int,
    mode: Mode,
    weight: float,
    registry: VersionSource,
    deployer: VariantDeployer,
) -> dict[str, Any]:
    """Put `version` beside the live version; refused unless it is PendingManualApproval (see module)."""
    if target.serverless is not None:
        # The challenger configs here are instance-backed variants; a serverless endpoint's variants need
        # a ServerlessConfig each (and the serverless canary of serverless.py): not built yet.
        raise ChallengerError(
            f"{target.endpoint_name} is serverless: A/B and shadow variants are built for instance-backed "
            "endpoints only; approve the version to replace the live one instead"
        )
    challenger = registry.get(target.group, version)
    if challenger.status != ApprovalStatus.PENDING:
        hint = "approve a newer one" if challenger.status == ApprovalStatus.APPROVED else "register a new one"
        raise ChallengerError(
            f"{target.group} v{version} is {challenger.status}: a challenger is a version under review "
            f"(PendingManualApproval); {hint}"
        )
    live = _live(deployer, registry, target)
    existing = current_challenger(deployer, target.endpoint_name)
    if existing is not None:
        raise ChallengerError(
            f"{target.endpoint_name} already has challenger {existing.name}: promote or abort it first"
        )
    deployer.add_challenger(target, live, challenger, mode, weight)
    return {
        "action": "challenger-added",
        "endpoint_name": target.endpoint_name,
        "live_version": str(live.version),
        "challenger_version": str(version),
        "variant": challenger_variant(version),
        "mode": mode,
        "weight": f"{weight:g}",
    }


def handle_variant_request(
    event: dict[str, Any], settings: HandlerSettings, registry: VersionSource, deployer: VariantDeployer
) -> dict[str, Any]:
    """Serve one challenger request (module docstring); returns flat strings, as the Lambda's outputs."""
    kind = event.get("request")
    if kind not in REQUESTS:
        raise BadRequest(f"unknown request {kind!r}: expected one of {', '.join(REQUESTS)}")
    group = event.get("group")
    if not isinstance(group, str) or not group:
        raise BadRequest(f"{kind!r} request lacks 'group' (a non-empty string)")
    target = _target(settings, group)
    if kind == ADD:
        version = event.get("version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise BadRequest(f"{ADD!r} request lacks 'version' (an integer)")
        shadow = bool(event.get("shadow", False))
        if shadow and "weight" in event:
            raise BadRequest("a shadow takes a copy of every request: give either 'shadow' or 'weight'")
        weight = 1.0 if shadow else check_weight(event.get("weight", 0.1))
        return add(target, version, "shadow" if shadow else "ab", weight, registry, deployer)
    if kind == STATUS:
        variants = deployer.variants(target.endpoint_name)
        return {"endpoint_name": target.endpoint_name, "variants": json.dumps([v.__dict__ for v in variants])}
    existing = current_challenger(deployer, target.endpoint_name)
    if existing is None:
        raise ChallengerError(f"{target.endpoint_name} has no challenger: add one first")
    if kind == WEIGHT:
        if existing.shadow:
            raise ChallengerError(f"{existing.name} is a shadow: it takes no share of the traffic to move")
        weight = check_weight(event.get("weight"))
        deployer.set_weight(target, existing.name, weight)
        return {
            "action": "weight-set",
            "endpoint_name": target.endpoint_name,
            "variant": existing.name,
            "weight": f"{weight:g}",
        }
    if kind == ABORT:
        live = _live(deployer, registry, target)
        deployer.remove_challenger(target, live)
        return {
            "action": "challenger-removed",
            "endpoint_name": target.endpoint_name,
            "variant": existing.name,
            "live_version": str(live.version),
        }
    raise BadRequest(f"unknown request {kind!r}: expected one of {', '.join(REQUESTS)}")
