"""A/B and shadow requests: botocore's shapes, the documented rules (each made to fire), the weighted
choice's statistics, and what a challenger request refuses."""

from __future__ import annotations

import copy
import math
import random
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from model_registry import variant_rules
from model_registry.deploy_logic import EndpointTarget, HandlerSettings, RolloutPolicy
from model_registry.deploy_requests import BadRequest
from model_registry.endpoint_spec import deployment_config, endpoint_config_request, resource_name
from model_registry.naming import LIVE_VARIANT, challenger_variant, variant_alarm_names
from model_registry.types import ModelVersion
from model_registry.variants import (
    ABORT,
    ADD,
    WEIGHT,
    ChallengerError,
    VariantState,
    challenger_config_name,
    challenger_config_request,
    challenger_instance_count,
    choose_variant,
    handle_variant_request,
    variant_alarm_requests,
    weights_request,
)

GROUP = "stranger-things-classifier"
TARGET = EndpointTarget(GROUP, "stranger-things-nlp-dev-classifier", "ml.m5.xlarge", 4, 100, "classifier")
SETTINGS = HandlerSettings(
    targets={GROUP: TARGET},
    execution_role_arn="arn:aws:iam::123456789012:role/Exec",
    data_capture_s3_uri="s3://bkt/p/dev/data-capture",
    kms_key_id="alias/stranger-things-nlp",
)
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/stranger-things-classifier/{}"


def version(n: int, status: str = "PendingManualApproval") -> ModelVersion:
    return ModelVersion(GROUP, n, ARN.format(n), status, f"s3://bkt/m{n}.tar.gz")


LIVE, CHALLENGER = version(3, "Approved"), version(4)


def shape_errors(service: str, operation: str, request: dict[str, Any]) -> str:
    model = botocore.session.get_session().get_service_model(service)
    report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
    return report.generate_report() if report.has_errors() else ""


def ab_config(weight: float = 0.1) -> dict[str, Any]:
    name = challenger_config_name(TARGET, LIVE, CHALLENGER, "ab", weight, SETTINGS)
    return challenger_config_request(name, TARGET, LIVE, CHALLENGER, "ab", weight, SETTINGS)


def shadow_config() -> dict[str, Any]:
    name = challenger_config_name(TARGET, LIVE, CHALLENGER, "shadow", 1.0, SETTINGS)
    return challenger_config_request(name, TARGET, LIVE, CHALLENGER, "shadow", 1.0, SETTINGS)


# ---- the requests --------------------------------------------------------------------------------


def test_ab_config_has_both_variants_weighted_and_the_live_name_kept() -> None:
    config = ab_config(0.1)
    assert shape_errors("sagemaker", "CreateEndpointConfig", config) == ""
    live, other = config["ProductionVariants"]
    assert (live["VariantName"], live["ModelName"], live["InitialVariantWeight"]) == (
        LIVE_VARIANT,
        resource_name(TARGET, LIVE, SETTINGS),
        0.9,
    )
    # The challenger's model is the one a normal deploy of v4 would make: a promotion reuses it.
    assert (other["VariantName"], other["ModelName"], other["InitialVariantWeight"]) == (
        "v4",
        resource_name(TARGET, CHALLENGER, SETTINGS),
        0.1,
    )
    assert other["InitialInstanceCount"] == 1  # 10% of a fleet of four, at least one instance
    assert "ShadowProductionVariants" not in config
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == "s3://bkt/p/dev/data-capture/classifier"
    assert config["EndpointConfigName"].startswith(f"{TARGET.endpoint_name}-v3-ab4-")
    assert len(config["EndpointConfigName"]) <= 63
    assert variant_rules.violations(config) == []


def test_shadow_config_copies_every_request_to_a_fleet_as_large() -> None:
    config = shadow_config()
    assert shape_errors("sagemaker", "CreateEndpointConfig", config) == ""
    [live] = config["ProductionVariants"]
    [shadow] = config["ShadowProductionVariants"]
    assert (live["VariantName"], shadow["VariantName"]) == (LIVE_VARIANT, "v4")
    assert live["InitialVariantWeight"] == shadow["InitialVariantWeight"] == 1.0
    assert shadow["InitialInstanceCount"] == TARGET.initial_instance_count == 4
    assert variant_rules.violations(config) == []


def test_instance_count_of_a_challenger_follows_its_share() -> None:
    assert [challenger_instance_count(TARGET, "ab", w) for w in (0.1, 0.25, 0.26, 0.9)] == [1, 1, 2, 4]


def test_config_names_are_deterministic_and_differ_by_mode_and_weight() -> None:
    names = {
        challenger_config_name(TARGET, LIVE, CHALLENGER, mode, w, SETTINGS)
        for mode, w in (("ab", 0.1), ("ab", 0.2), ("shadow", 1.0))
    }
    assert len(names) == 3
    assert challenger_config_name(TARGET, LIVE, CHALLENGER, "ab", 0.1, SETTINGS) in names
    long = EndpointTarget(GROUP, "e" * 60, "ml.m5.xlarge")
    assert len(challenger_config_name(long, LIVE, CHALLENGER, "ab", 0.1, SETTINGS)) == 63


def test_weights_request_and_update_request_fit_botocore() -> None:
    request = weights_request(TARGET.endpoint_name, "v4", 0.25)
    assert shape_errors("sagemaker", "UpdateEndpointWeightsAndCapacities", request) == ""
    assert request["DesiredWeightsAndCapacities"] == [
        {"VariantName": LIVE_VARIANT, "DesiredWeight": 0.75},
        {"VariantName": "v4", "DesiredWeight": 0.25},
    ]
    guard = deployment_config(RolloutPolicy(strategy="all_at_once"), TARGET.endpoint_name)
    update = {"EndpointName": TARGET.endpoint_name, "EndpointConfigName": "c", "DeploymentConfig": guard}
    assert shape_errors("sagemaker", "UpdateEndpoint", update) == ""


def test_each_variant_has_its_own_alarms_on_its_variant_dimension() -> None:
    for request in variant_alarm_requests(TARGET.endpoint_name, "v4", RolloutPolicy()):
        assert shape_errors("cloudwatch", "PutMetricAlarm", request) == ""
        assert {"Name": "VariantName", "Value": "v4"} in request["Dimensions"]
    names = [r["AlarmName"] for r in variant_alarm_requests(TARGET.endpoint_name, "v4", RolloutPolicy())]
    assert names == list(variant_alarm_names(TARGET.endpoint_name, "v4").values())
    assert names == [f"{TARGET.endpoint_name}-v4-5xx-errors", f"{TARGET.endpoint_name}-v4-model-latency"]
    live = variant_alarm_requests(TARGET.endpoint_name, LIVE_VARIANT, RolloutPolicy())
    assert [r["AlarmName"] for r in live] == [
        f"{TARGET.endpoint_name}-5xx-errors",
        f"{TARGET.endpoint_name}-model-latency",
    ]
    assert challenger_variant(7) == "v7" and challenger_variant(7) != LIVE_VARIANT


def test_botocore_refuses_a_negative_weight() -> None:
    config = ab_config()
    config["ProductionVariants"][1]["InitialVariantWeight"] = -0.1
    assert "InitialVariantWeight" in shape_errors("sagemaker", "CreateEndpointConfig", config)


# ---- the rules, each made to fire ------------------------------------------------------------------


def test_rule_all_weights_zero_fires() -> None:
    config = ab_config()
    for variant in config["ProductionVariants"]:
        variant["InitialVariantWeight"] = 0.0
    assert "every production variant weight is 0" in " ".join(variant_rules.violations(config))
    current = {
        "ProductionVariants": [{"VariantName": LIVE_VARIANT, "CurrentWeight": 0.0}, {"VariantName": "v4"}]
    }
    request = weights_request(TARGET.endpoint_name, "v4", 0.5)
    request["DesiredWeightsAndCapacities"][1]["DesiredWeight"] = 0.0
    request["DesiredWeightsAndCapacities"][0]["DesiredWeight"] = 0.0
    assert variant_rules.violations(request, current)
    assert variant_rules.violations(weights_request(TARGET.endpoint_name, "v4", 0.5), current) == []


def test_rule_shadow_needs_exactly_one_production_variant_fires() -> None:
    config = shadow_config()
    config["ProductionVariants"].append(
        copy.deepcopy(config["ShadowProductionVariants"][0]) | {"VariantName": "v5"}
    )
    assert "exactly one of each" in " ".join(variant_rules.violations(config))
    two_shadows = shadow_config()
    two_shadows["ShadowProductionVariants"].append(
        {**two_shadows["ShadowProductionVariants"][0], "VariantName": "v5"}
    )
    assert "exactly one of each" in " ".join(variant_rules.violations(two_shadows))


def test_rule_unique_names_fires() -> None:
    config = ab_config()
    config["ProductionVariants"][1]["VariantName"] = LIVE_VARIANT
    assert f"{LIVE_VARIANT} used twice" in " ".join(variant_rules.violations(config))


def test_rule_guarded_update_keeps_the_live_name_fires() -> None:
    current = ab_config()
    renamed = endpoint_config_request("c2", TARGET, CHALLENGER, SETTINGS)
    renamed["ProductionVariants"][0]["VariantName"] = "v4-only"
    guard = deployment_config(RolloutPolicy(), TARGET.endpoint_name)
    update = {"EndpointName": TARGET.endpoint_name, "EndpointConfigName": "c2", "DeploymentConfig": guard}
    assert "keeps none of their names" in " ".join(
        variant_rules.violations({**update, "new_config": renamed}, current)
    )
    kept = endpoint_config_request(
        "c3", TARGET, CHALLENGER, SETTINGS
    )  # promotion: the live name carries over
    assert variant_rules.violations({**update, "new_config": kept}, current) == []


def test_rule_weights_name_variants_of_the_endpoint_fires() -> None:
    current = ab_config()
    assert variant_rules.violations(weights_request(TARGET.endpoint_name, "v9", 0.5), current)
    shadowed = shadow_config()
    found = variant_rules.violations(weights_request(TARGET.endpoint_name, "v4", 0.5), shadowed)
    assert any("is a shadow variant" in f for f in found)
    with pytest.raises(variant_rules.VariantRuleError, match="not a variant of the endpoint"):
        variant_rules.check(weights_request(TARGET.endpoint_name, "v9", 0.5), current)


def test_every_rule_cites_its_source() -> None:
    sources = [v for k, v in vars(variant_rules).items() if k.startswith("SRC_")]
    assert len(sources) >= len(variant_rules.RULES)
    assert all(s.startswith("https://docs.aws.amazon.com/sagemaker/") for s in sources)


# ---- the weighted choice -----------------------------------------------------------------------------


def test_weighted_choice_splits_within_a_bernstein_bound() -> None:
    """N = 10,000 draws at p = 0.1: X ~ Binomial(N, p), mean 1000, variance N p (1 - p) = 900. Bernstein's
    inequality P(|X - mean| >= a) <= 2 exp(-a^2 / (2 (var + a / 3))) with a = 150 gives 2 exp(-11.25) < 3e-5:
    any seed passes but for odds of 1 in 30,000; the fixed seed makes the run repeatable."""
    n, p, a = 10_000, 0.1, 150
    assert 2 * math.exp(-(a**2) / (2 * (n * p * (1 - p) + a / 3))) < 3e-5
    rng = random.Random(20261130)
    picks = [choose_variant([(LIVE_VARIANT, 0.9), ("v4", 0.1)], rng.random()) for _ in range(n)]
    assert abs(picks.count("v4") - n * p) < a
    assert set(picks) == {LIVE_VARIANT, "v4"}


def test_weighted_choice_edges() -> None:
    assert choose_variant([(LIVE_VARIANT, 0.0), ("v4", 2.0)], 0.0) == "v4"
    assert choose_variant([(LIVE_VARIANT, 1.0), ("v4", 1.0)], 0.4999) == LIVE_VARIANT
    assert choose_variant([(LIVE_VARIANT, 1.0), ("v4", 1.0)], 0.5) == "v4"
    with pytest.raises(ValueError, match="no variant has a positive weight"):
        choose_variant([(LIVE_VARIANT, 0.0)], 0.3)


# ---- what a challenger request refuses ------------------------------------------------------------------


class Registry:
    def __init__(self, versions: list[ModelVersion]) -> None:
        self.versions = {v.version: v for v in versions}

    def get(self, group: str, n: int) -> ModelVersion:
        return self.versions[n]

    def list_versions(self, group: str, status: str | None = None) -> list[ModelVersion]:
        return [v for v in self.versions.values() if status is None or v.status == status]


class Endpoint:
    """A VariantDeployer that keeps the variants in a list."""

    def __init__(self, live: ModelVersion | None) -> None:
        self.states = [VariantState(LIVE_VARIANT, live.arn, 1.0)] if live else []
        self.calls: list[tuple[Any, ...]] = []

    def variants(self, endpoint_name: str) -> list[VariantState]:
        return list(self.states)

    def add_challenger(self, target, live, challenger, mode, weight) -> None:  # type: ignore[no-untyped-def]
        self.calls.append(("add", live.version, challenger.version, mode, weight))
        self.states.append(
            VariantState(challenger_variant(challenger.version), challenger.arn, weight, mode == "shadow")
        )

    def set_weight(self, target, challenger, weight) -> None:  # type: ignore[no-untyped-def]
        self.calls.append(("weight", challenger, weight))

    def remove_challenger(self, target, live) -> None:  # type: ignore[no-untyped-def]
        self.calls.append(("remove", live.version))
        self.states = self.states[:1]


def request(kind: str, **fields: Any) -> dict[str, Any]:
    return {"request": kind, "group": GROUP, **fields}


def test_add_weight_abort_on_a_live_endpoint() -> None:
    registry, endpoint = Registry([LIVE, CHALLENGER]), Endpoint(LIVE)
    out = handle_variant_request(request(ADD, version=4, weight=0.2), SETTINGS, registry, endpoint)
    assert out["variant"] == "v4" and out["mode"] == "ab" and out["live_version"] == "3"
    handle_variant_request(request(WEIGHT, weight=0.5), SETTINGS, registry, endpoint)
    handle_variant_request(request(ABORT), SETTINGS, registry, endpoint)
    assert endpoint.calls == [("add", 3, 4, "ab", 0.2), ("weight", "v4", 0.5), ("remove", 3)]


@pytest.mark.parametrize(
    ("event", "live", "error", "match"),
    [
        (
            request(ADD, version=3, weight=0.1),
            LIVE,
            ChallengerError,
            "is Approved: a challenger is a version under review",
        ),
        (request(ADD, version=4, weight=1.0), LIVE, BadRequest, "strictly between 0 and 1"),
        (request(ADD, version=4, weight=0), LIVE, BadRequest, "strictly between 0 and 1"),
        (request(ADD, version=4, shadow=True, weight=0.5), LIVE, BadRequest, "either 'shadow' or 'weight'"),
        (request(ADD, version=4), None, ChallengerError, "serves no approved version yet"),
        (request(WEIGHT, weight=0.5), LIVE, ChallengerError, "has no challenger"),
        (request(ABORT), LIVE, ChallengerError, "has no challenger"),
        (
            {"request": ADD, "group": "someone-else", "version": 1},
            LIVE,
            BadRequest,
            "not one of this handler's",
        ),
        (request("challenger-dance"), LIVE, BadRequest, "unknown request 'challenger-dance'"),
    ],
)
def test_refused_requests_say_what_to_do(event, live, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        handle_variant_request(
            event, SETTINGS, Registry([LIVE, CHALLENGER, version(5, "Rejected")]), Endpoint(live)
        )


def test_a_second_challenger_and_a_rejected_one_are_refused() -> None:
    registry, endpoint = Registry([LIVE, CHALLENGER, version(5), version(6, "Rejected")]), Endpoint(LIVE)
    handle_variant_request(request(ADD, version=4, shadow=True), SETTINGS, registry, endpoint)
    with pytest.raises(ChallengerError, match="already has challenger v4: promote or abort it first"):
        handle_variant_request(request(ADD, version=5), SETTINGS, registry, endpoint)
    with pytest.raises(ChallengerError, match="is a shadow: it takes no share"):
        handle_variant_request(request(WEIGHT, weight=0.3), SETTINGS, registry, endpoint)
    with pytest.raises(ChallengerError, match="is Rejected"):
        handle_variant_request(request(ADD, version=6), SETTINGS, registry, Endpoint(LIVE))


def test_a_serverless_endpoint_takes_no_challenger() -> None:
    import dataclasses

    serverless = dataclasses.replace(TARGET, serverless={"memory_size_mb": 2048, "max_concurrency": 5})
    settings = HandlerSettings(targets={GROUP: serverless})
    with pytest.raises(
        ChallengerError, match="is serverless: A/B and shadow variants are built for instance-backed"
    ):
        handle_variant_request(
            request(ADD, version=4), settings, Registry([LIVE, CHALLENGER]), Endpoint(LIVE)
        )
