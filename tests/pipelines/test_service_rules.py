"""The documented service rules hold on dev and prod, and each rule fires on a definition that breaks it.

Every mutation starts from the environment's real definition and changes one thing; the test asserts the
rule it targets reports that step (and, where the mutation cannot break anything else, nothing more).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.service_rules import (
    RuleContext,
    check_service_rules,
    device_of_image,
    override_violations,
)
from tests.pipelines.conftest import steps_by_name

EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}


def context(env: str) -> RuleContext:
    return RuleContext(
        bucket="stranger-things-nlp-artifacts",
        prefix="stranger-things-nlp",
        pipeline_name=f"stranger-things-nlp-{env}",
    )


def new_violations(
    definitions: dict[str, Any], env: str, mutated: dict[str, Any] | None = None, **overrides: Any
) -> list[tuple[str, str]]:
    """(rule, step) of each violation the mutation (or the overrides) adds to the env's definition."""
    ctx = context(env)
    if mutated is None:
        return [(v.rule, v.step) for v in override_violations(definitions[env], ctx, overrides)]
    before = {str(v) for v in check_service_rules(definitions[env], ctx)}
    return [(v.rule, v.step) for v in check_service_rules(mutated, ctx) if str(v) not in before]


def mutate(definitions: dict[str, Any], env: str, step: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A deep copy of the env's definition and the Arguments of `step` in it, to change in place."""
    copied = copy.deepcopy(definitions[env])
    return copied, steps_by_name(copied)[step]["Arguments"]


LEGACY = Path(__file__).parent / "golden" / "legacy-endpoint-steps-dev.json"


@pytest.fixture
def legacy(definitions: dict[str, Any]) -> dict[str, Any]:
    """The dev definition plus the Model/EndpointConfig/Endpoint steps it had before one deployer: the
    pipeline no longer builds endpoints (issue 11), but the rules still guard a definition that does."""
    with_endpoints = copy.deepcopy(definitions["dev"])
    legacy_steps = json.loads(LEGACY.read_text(encoding="utf-8"))
    with_endpoints["Parameters"] += legacy_steps["Parameters"]
    with_endpoints["Steps"] += legacy_steps["Steps"]
    return {"dev": with_endpoints}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_dev_and_prod_break_no_documented_rule(definitions: dict[str, Any], env: str) -> None:
    assert [str(v) for v in check_service_rules(definitions[env], context(env))] == []


def test_a_volume_key_on_an_nvme_instance_type_fires(definitions: dict[str, Any]) -> None:
    broken, args = mutate(definitions, "prod", "CleanSubtitles")
    assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"]  # prod encrypts CPU volumes
    args["ProcessingResources"]["ClusterConfig"]["InstanceType"] = "ml.r5d.large"  # local NVMe, CPU
    assert new_violations(definitions, "prod", broken) == [("volume-kms-key-needs-ebs", "CleanSubtitles")]


def test_a_volume_key_on_an_nvme_transform_fires(definitions: dict[str, Any]) -> None:
    broken, args = mutate(definitions, "prod", "ClassifySubtitleLines")
    assert args["TransformResources"]["VolumeKmsKeyId"]  # prod encrypts the CPU transform's volume
    args["TransformResources"]["InstanceType"] = "ml.g4dn.xlarge"  # local NVMe
    found = new_violations(definitions, "prod", broken)
    assert found == [("volume-kms-key-needs-ebs", "ClassifySubtitleLines")]


def test_an_nvme_override_of_a_step_with_a_volume_key_fires(definitions: dict[str, Any]) -> None:
    # prod builds its processing steps for ml.m5.xlarge with a volume key; ml.r5d has NVMe storage.
    found = new_violations(definitions, "prod", ProcessingInstanceType="ml.r5d.large")
    assert ("volume-kms-key-needs-ebs", "CleanSubtitles") in found
    assert {rule for rule, _ in found} == {"volume-kms-key-needs-ebs"}


def test_an_alias_as_training_volume_key_fires(definitions: dict[str, Any]) -> None:
    broken, args = mutate(definitions, "prod", "TrainLocationClassifier")
    args["ResourceConfig"]["InstanceType"] = "ml.m5.xlarge"  # takes a volume: only the format is wrong
    args["AlgorithmSpecification"]["TrainingImage"] = args["AlgorithmSpecification"]["TrainingImage"].replace(
        ":gpu-", ":cpu-"
    )
    args["ResourceConfig"]["VolumeKmsKeyId"] = "alias/stranger-things-nlp"
    assert ("training-volume-key-format", "TrainLocationClassifier") in new_violations(
        definitions, "prod", broken
    )


def test_a_retry_policy_on_an_endpoint_step_fires(definitions: dict[str, Any]) -> None:
    broken = copy.deepcopy(definitions["dev"])
    steps_by_name(broken)["DeployChatbot"]["RetryPolicies"] = [
        {"ExceptionType": ["Step.THROTTLING"], "IntervalSeconds": 5, "BackoffRate": 2.0, "MaxAttempts": 3}
    ]
    assert new_violations(definitions, "dev", broken) == [("retry-policy-step-type", "DeployChatbot")]


def test_an_execution_variable_in_a_cache_key_fires(definitions: dict[str, Any]) -> None:
    broken, args = mutate(definitions, "dev", "CleanSubtitles")
    args["Environment"]["RUN"] = EXECUTION_ID
    assert new_violations(definitions, "dev", broken) == [("cache-key-execution-variable", "CleanSubtitles")]


def test_a_name_too_long_once_the_execution_id_is_joined_fires(legacy: dict[str, Any]) -> None:
    definitions = legacy
    broken, args = mutate(definitions, "dev", "ChatbotEndpointConfig")
    # 51 characters fit the 63 of EndpointConfigName alone; with "-" and a 12-character execution id, 64.
    args["EndpointConfigName"] = {"Std:Join": {"On": "-", "Values": ["e" * 51, EXECUTION_ID]}}
    # The Endpoint step reads the same name (a step property resolved from the config step's request).
    assert new_violations(definitions, "dev", broken) == [
        ("string-limit", "ChatbotEndpointConfig"),
        ("string-limit", "DeployChatbotEndpoint"),
    ]
    args["EndpointConfigName"]["Std:Join"]["Values"][0] = "e" * 50
    assert new_violations(definitions, "dev", broken) == []


def test_a_name_outside_its_pattern_fires(legacy: dict[str, Any]) -> None:
    definitions = legacy
    broken, args = mutate(definitions, "dev", "DeployChatbotEndpoint")
    args["EndpointName"] = "stranger_things_chatbot"
    assert new_violations(definitions, "dev", broken) == [("string-pattern", "DeployChatbotEndpoint")]


def test_an_enum_parameter_is_checked_at_its_longest_member(definitions: dict[str, Any]) -> None:
    broken, args = mutate(definitions, "dev", "RegisterChatbot")
    # ModelPackageDescription allows 1024 characters: with the longest approval status appended, 1025.
    args["ModelPackageDescription"] = {
        "Std:Join": {"On": "", "Values": ["d" * (1025 - 21), {"Get": "Parameters.ModelApprovalStatus"}]}
    }
    assert new_violations(definitions, "dev", broken) == [("string-limit", "RegisterChatbot")]


def test_spot_max_wait_below_max_runtime_fires(definitions: dict[str, Any]) -> None:
    broken, args = mutate(definitions, "dev", "TrainChatbot")
    assert args["EnableManagedSpotTraining"] is True
    stopping = args["StoppingCondition"]
    stopping["MaxWaitTimeInSeconds"] = stopping["MaxRuntimeInSeconds"] - 1
    assert new_violations(definitions, "dev", broken) == [("spot-max-wait", "TrainChatbot")]


def test_max_wait_without_spot_fires(definitions: dict[str, Any]) -> None:
    broken, args = mutate(definitions, "dev", "TrainChatbot")
    del args["EnableManagedSpotTraining"]
    assert new_violations(definitions, "dev", broken) == [("spot-max-wait", "TrainChatbot")]


def test_data_capture_outside_the_project_fires(legacy: dict[str, Any]) -> None:
    definitions = legacy
    broken, args = mutate(definitions, "dev", "ClassifierEndpointConfig")
    args["DataCaptureConfig"]["DestinationS3Uri"] = "s3://someone-elses-bucket/capture"
    assert new_violations(definitions, "dev", broken) == [
        ("data-capture-destination", "ClassifierEndpointConfig")
    ]


def test_an_instance_type_the_job_kind_does_not_take_fires(definitions: dict[str, Any]) -> None:
    # ml.inf2.xlarge serves endpoints but cannot run a processing job.
    found = new_violations(definitions, "dev", ProcessingInstanceType="ml.inf2.xlarge")
    assert ("instance-type-for-job-kind", "CleanSubtitles") in found
    assert all(rule == "instance-type-for-job-kind" for rule, _ in found)


def test_a_cpu_override_for_a_gpu_image_fires(definitions: dict[str, Any]) -> None:
    assert new_violations(definitions, "dev", ChatbotTrainingInstanceType="ml.m5.xlarge") == [
        ("image-device", "TrainChatbot")
    ]


def test_a_gpu_override_for_a_cpu_image_fires(legacy: dict[str, Any]) -> None:
    definitions = legacy
    found = new_violations(definitions, "dev", ClassifierEndpointInstanceType="ml.g5.xlarge")
    assert ("image-device", "ClassifierEndpointConfig") in found


def test_an_endpoint_type_the_package_does_not_register_fires(legacy: dict[str, Any]) -> None:
    definitions = legacy
    assert new_violations(definitions, "dev", ChatbotEndpointInstanceType="ml.g6.xlarge") == [
        ("serving-type-registered", "ChatbotEndpointConfig")
    ]


def test_overrides_within_the_definition_add_nothing(definitions: dict[str, Any]) -> None:
    assert (
        new_violations(
            definitions,
            "dev",
            ChatbotEvaluationInstanceType="ml.g5.2xlarge",
            ChatbotTrainingInstanceType="ml.g5.12xlarge",
            ProcessingInstanceType="ml.c5.2xlarge",
        )
        == []
    )


def test_two_training_jobs_on_one_checkpoint_prefix_fire(definitions: dict[str, Any]) -> None:
    broken = copy.deepcopy(definitions["dev"])
    steps = steps_by_name(broken)
    steps["TrainLocationClassifier"]["Arguments"]["CheckpointConfig"] = copy.deepcopy(
        steps["TrainChatbot"]["Arguments"]["CheckpointConfig"]
    )
    assert ("checkpoint-prefix", "TrainLocationClassifier") in new_violations(definitions, "dev", broken)


def test_a_checkpoint_prefix_missing_a_run_time_input_fires(definitions: dict[str, Any]) -> None:
    broken, args = mutate(definitions, "dev", "TrainChatbot")
    values = args["CheckpointConfig"]["S3Uri"]["Std:Join"]["Values"]
    values.remove({"Get": "Parameters.ChatbotMaxSteps"})
    assert new_violations(definitions, "dev", broken) == [("checkpoint-prefix", "TrainChatbot")]


def test_a_checkpoint_prefix_with_a_stale_digest_fires(definitions: dict[str, Any]) -> None:
    broken, args = mutate(definitions, "dev", "TrainChatbot")
    args["HyperParameters"]["lora_r"] = "64"  # a new LoRA rank must not resume the old rank's run
    assert new_violations(definitions, "dev", broken) == [("checkpoint-prefix", "TrainChatbot")]


def test_a_tuning_job_with_one_checkpoint_prefix_for_all_trials_fires(definitions: dict[str, Any]) -> None:
    broken = copy.deepcopy(definitions["dev"])
    training = steps_by_name(broken)["TrainChatbot"]["Arguments"]
    broken["Steps"].append(
        {
            "Name": "TuneChatbot",
            "Type": "Tuning",
            "Arguments": {
                "HyperParameterTuningJobConfig": {"Strategy": "Bayesian"},
                "TrainingJobDefinition": {
                    key: training[key]
                    for key in ("AlgorithmSpecification", "RoleArn", "ResourceConfig", "StoppingCondition")
                }
                | {"CheckpointConfig": training["CheckpointConfig"], "EnableManagedSpotTraining": True},
            },
        }
    )
    assert new_violations(definitions, "dev", broken) == [("checkpoint-prefix", "TuneChatbot")]


@pytest.mark.parametrize(
    ("uri", "device"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/stranger-things-nlp-training:gpu-de86a27a0122", "gpu"),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/stranger-things-nlp-inference:cpu-0123456789ab",
            "cpu",
        ),
        ("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-gpu-py312", "gpu"),
        ("localhost:5000/my-image", None),
    ],
)
def test_image_device_from_its_tag(uri: str, device: str | None) -> None:
    assert device_of_image(uri) == device


CAPTURE = "s3://stranger-things-nlp-artifacts/stranger-things-nlp/dev/data-capture/classifier"


def serverless_classifier(definitions: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The legacy classifier EndpointConfig step made serverless the way AWS takes it (no instances, no
    capture): the starting point each serverless mutation breaks in one way."""
    copied, args = mutate(definitions, "dev", "ClassifierEndpointConfig")
    [variant] = args["ProductionVariants"]
    del variant["InstanceType"], variant["InitialInstanceCount"], args["DataCaptureConfig"]
    variant["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    return copied, args


def test_a_serverless_endpoint_config_aws_takes_breaks_nothing(legacy: dict[str, Any]) -> None:
    ok, _ = serverless_classifier(legacy)
    assert new_violations(legacy, "dev", ok) == []


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            lambda a, m: a["ProductionVariants"][0]["ServerlessConfig"].update(MemorySizeInMB=3000),
            "MemorySizeInMB",
        ),
        (
            lambda a, m: a["ProductionVariants"][0]["ServerlessConfig"].update(MaxConcurrency=500),
            "MaxConcurrency",
        ),
        (lambda a, m: a["ProductionVariants"][0].update(InstanceType="ml.m5.xlarge"), "InstanceType"),
        (
            lambda a, m: a.update(DataCaptureConfig={"EnableCapture": True, "DestinationS3Uri": CAPTURE}),
            "DataCaptureConfig",
        ),
        (lambda a, m: m.update(EnableNetworkIsolation=True), "EnableNetworkIsolation"),
        (
            lambda a, m: m["PrimaryContainer"].update(
                Image=m["PrimaryContainer"]["Image"].replace(":cpu-", ":gpu-")
            ),
            "GPU",
        ),
    ],
)
def test_each_serverless_endpoint_rule_fires(legacy: dict[str, Any], change: Any, says: str) -> None:
    broken, args = serverless_classifier(legacy)
    model = steps_by_name(broken)["CreateClassifierModel"]["Arguments"]
    change(args, model)
    found = [v for v in check_service_rules(broken, context("dev")) if v.step == "ClassifierEndpointConfig"]
    assert [v.rule for v in found if says in v.message] == ["serverless-endpoint"], [str(v) for v in found]
    assert all(v.source.startswith("https://") for v in found)
