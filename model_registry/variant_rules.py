"""What SageMaker refuses in a multi-variant or shadow request, beyond botocore's shapes.

botocore's service model gives members, types, lengths and ranges (a weight's minimum of 0 among them;
tests/model_registry/test_variants.py validates every request against it). These are the documented rules
it cannot express, one function each with its source, checked by the deployers before a request is sent
(`check`) and made to fire by a mutation each in the tests. Stdlib only (Lambda bundle).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

API = "https://docs.aws.amazon.com/sagemaker/latest/APIReference"
DG = "https://docs.aws.amazon.com/sagemaker/latest/dg"
SRC_WEIGHT_RATIO = (
    f"{API}/API_ProductionVariant.html (InitialVariantWeight: traffic = weight / sum of weights)"
)
SRC_SHADOW_ONE_EACH = (
    f"{API}/API_CreateEndpointConfig.html (ShadowProductionVariants: 'you can only specify one variant for "
    "ProductionVariants and one variant for ShadowProductionVariants')"
)
SRC_UNIQUE_NAMES = (
    f"{API}/API_CreateEndpointConfig.html, {API}/API_UpdateEndpointWeightsAndCapacities.html (a variant "
    "is addressed by its name: two of one name are refused, 'non-unique within the request')"
)
SRC_KEEP_LIVE_NAME = (
    f"{DG}/deployment-guardrails-exclusions.html ('your new endpoint configuration must have the same "
    "variant name as the old endpoint configuration')"
)
SRC_WEIGHTS_NAME_VARIANTS = (
    f"{API}/API_UpdateEndpointWeightsAndCapacities.html (DesiredWeightsAndCapacities: variants of the "
    "endpoint; a name not in its config is a ValidationException)"
)
SRC_SHADOW_TAKES_NO_WEIGHTS = (
    f"{DG}/model-shadow-deployment.html (the shadow receives a copy of the production variant's "
    "requests; its responses are not returned, so it has no share of the traffic to set)"
)


class VariantRuleError(ValueError):
    """A request SageMaker would refuse; the message names the rule's source."""


def _variants(request: dict[str, Any], key: str = "ProductionVariants") -> list[dict[str, Any]]:
    return list(request.get(key) or [])


def rule_some_weight_positive(request: dict[str, Any], current: dict[str, Any] | None) -> list[str]:
    """Traffic goes to a production variant in proportion to its weight: all zero routes nothing."""
    weights = [v.get("InitialVariantWeight", 1.0) for v in _variants(request)]
    weights += [w.get("DesiredWeight", 0.0) for w in _variants(request, "DesiredWeightsAndCapacities")]
    if current is not None and "DesiredWeightsAndCapacities" in request:
        named = {w["VariantName"] for w in request["DesiredWeightsAndCapacities"]}
        weights += [v.get("CurrentWeight", 1.0) for v in _variants(current) if v["VariantName"] not in named]
    if weights and not any(w > 0 for w in weights):
        return [f"every production variant weight is 0: no variant would take a request ({SRC_WEIGHT_RATIO})"]
    return []


def rule_shadow_one_of_each(request: dict[str, Any], current: dict[str, Any] | None) -> list[str]:
    shadows = _variants(request, "ShadowProductionVariants")
    if shadows and (len(shadows) != 1 or len(_variants(request)) != 1):
        return [
            f"{len(_variants(request))} production and {len(shadows)} shadow variants: with a shadow, "
            "exactly "
            f"one of each ({SRC_SHADOW_ONE_EACH})"
        ]
    return []


def rule_unique_variant_names(request: dict[str, Any], current: dict[str, Any] | None) -> list[str]:
    names = [
        v["VariantName"]
        for key in ("ProductionVariants", "ShadowProductionVariants", "DesiredWeightsAndCapacities")
        for v in _variants(request, key)
    ]
    twice = sorted({n for n in names if names.count(n) > 1})
    return [f"variant name(s) {', '.join(twice)} used twice ({SRC_UNIQUE_NAMES})"] if twice else []


def rule_guarded_update_keeps_live_name(request: dict[str, Any], current: dict[str, Any] | None) -> list[str]:
    """An UpdateEndpoint with DeploymentConfig (guardrails) to a config that drops the live variant."""
    if current is None or "DeploymentConfig" not in request or "new_config" not in request:
        return []
    old = {v["VariantName"] for v in _variants(current)}
    new = {v["VariantName"] for v in _variants(request["new_config"])}
    if old and not old & new:
        return [
            f"a guarded update from variants {sorted(old)} to {sorted(new)} keeps none of their names "
            f"({SRC_KEEP_LIVE_NAME})"
        ]
    return []


def rule_weights_name_endpoint_variants(request: dict[str, Any], current: dict[str, Any] | None) -> list[str]:
    if current is None or "DesiredWeightsAndCapacities" not in request:
        return []
    production = {v["VariantName"] for v in _variants(current)}
    shadows = {v["VariantName"] for v in _variants(current, "ShadowProductionVariants")}
    problems = []
    for wanted in _variants(request, "DesiredWeightsAndCapacities"):
        name = wanted["VariantName"]
        if name in shadows:
            problems.append(
                f"{name} is a shadow variant: it has no weight to set ({SRC_SHADOW_TAKES_NO_WEIGHTS})"
            )
        elif name not in production:
            problems.append(f"{name} is not a variant of the endpoint ({SRC_WEIGHTS_NAME_VARIANTS})")
    return problems


RULES: tuple[Callable[[dict[str, Any], dict[str, Any] | None], list[str]], ...] = (
    rule_some_weight_positive,
    rule_shadow_one_of_each,
    rule_unique_variant_names,
    rule_guarded_update_keeps_live_name,
    rule_weights_name_endpoint_variants,
)


def violations(request: dict[str, Any], current: dict[str, Any] | None = None) -> list[str]:
    """Every rule's findings for a request. `current` is what the endpoint serves now (its
    DescribeEndpoint answer, or the endpoint config for an update); an UpdateEndpoint is checked as
    the request plus `new_config`, the config it moves to."""
    return [problem for rule in RULES for problem in rule(request, current)]


def check(request: dict[str, Any], current: dict[str, Any] | None = None) -> None:
    """Raise VariantRuleError when SageMaker would refuse the request."""
    found = violations(request, current)
    if found:
        raise VariantRuleError("; ".join(found))
