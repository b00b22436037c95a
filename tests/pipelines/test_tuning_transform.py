"""The Tuning and Transform steps in the definition: where config puts them, what they request, and that
botocore's SageMaker model accepts them (and refuses broken ones)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from conf import ConfigError, load_config
from pipelines.validation import validate_definition
from steps import names
from tests.pipelines.conftest import steps_by_name

BEST_JOB = {"Get": "Steps.TuneLocationClassifier.BestTrainingJob.TrainingJobName"}


def build(env: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    from pipelines.definition import definition_json

    return json.loads(definition_json(load_config(env, overrides=overrides)))


def test_dev_trains_without_tuning_and_local_tunes_the_classifier(definitions: dict[str, Any]) -> None:
    dev, local = steps_by_name(definitions["dev"]), steps_by_name(definitions["local"])
    assert names.TUNE_CLASSIFIER not in dev and dev[names.TRAIN_CLASSIFIER]["Type"] == "Training"
    assert names.TRAIN_CLASSIFIER not in local and local[names.TUNE_CLASSIFIER]["Type"] == "Tuning"
    assert local[names.TRAIN_CHATBOT]["Type"] == "Training"  # the chatbot is not tuned locally
    assert not any(p["Name"].endswith("WarmStartTuningJob") for p in definitions["local"]["Parameters"])


def test_tuning_request_comes_from_config_and_the_training_request(definitions: dict[str, Any]) -> None:
    cfg = load_config("local").classifier
    tune = steps_by_name(definitions["local"])[names.TUNE_CLASSIFIER]
    config = tune["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "eval_macro_f1"}
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2}
    assert config["TrainingJobEarlyStoppingType"] == "Auto"
    assert config["RandomSeed"] == cfg.hyperparameters.seed
    assert config["ParameterRanges"] == {
        "ContinuousParameterRanges": [
            {"Name": "learning_rate", "MinValue": "0.0003", "MaxValue": "0.003", "ScalingType": "Logarithmic"}
        ],
        "CategoricalParameterRanges": [{"Name": "per_device_batch_size", "Values": ["8", "16", "32"]}],
    }
    job = tune["Arguments"]["TrainingJobDefinition"]
    static = job["StaticHyperParameters"]
    assert "learning_rate" not in static and "per_device_batch_size" not in static  # tuned, not static
    assert static["epochs"] == {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.ClassifierEpochs"}]}}
    assert static["sagemaker_program"] == "containers/training/train_classifier.py"
    # The objective is read from the script's METRIC lines, through the job's MetricDefinitions.
    metric_names = [d["Name"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]]
    assert "eval_macro_f1" in metric_names
    assert "CheckpointConfig" not in job  # trials would share one checkpoint URI (steps/tune.py)
    assert "WarmStartConfig" not in tune["Arguments"]
    assert tune["CacheConfig"]["Enabled"] is True and tune["RetryPolicies"]


def test_steps_after_tuning_read_the_best_training_jobs_model(definitions: dict[str, Any]) -> None:
    steps = steps_by_name(definitions["local"])
    output = steps[names.TUNE_CLASSIFIER]["Arguments"]["TrainingJobDefinition"]["OutputDataConfig"]
    # A fixed prefix, not per execution: TrainingJobDefinition is part of the tuning step's cache key.
    assert output["S3OutputPath"] == (
        "s3://stranger-things-nlp-artifacts/stranger-things-nlp/local/tuning/TuneLocationClassifier/model"
    )
    best_model = {
        "Std:Join": {"On": "/", "Values": [output["S3OutputPath"], BEST_JOB, "output", "model.tar.gz"]}
    }
    evaluate = steps[names.EVALUATE_CLASSIFIER]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    register = steps[names.REGISTER_CLASSIFIER]["Arguments"]["InferenceSpecification"]["Containers"][0]
    found = steps[names.MODEL_STEPS["classifier"]["find"]]["Arguments"]["model_data_url"]
    batch = steps[names.CREATE_CLASSIFIER_BATCH_MODEL]["Arguments"]["PrimaryContainer"]["ModelDataUrl"]
    assert evaluate == register["ModelDataUrl"] == found == batch == best_model


def test_warm_start_from_config_is_a_parameter_of_the_run() -> None:
    definition = build(
        "local",
        {
            "classifier": {
                "tuning": {"warm_start_from": "earlier-tuning", "warm_start_type": "TransferLearning"}
            }
        },
    )
    [parameter] = [p for p in definition["Parameters"] if p["Name"] == "ClassifierWarmStartTuningJob"]
    assert parameter["DefaultValue"] == "earlier-tuning"
    tune = steps_by_name(definition)[names.TUNE_CLASSIFIER]["Arguments"]
    assert tune["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [
            {"HyperParameterTuningJobName": {"Get": "Parameters.ClassifierWarmStartTuningJob"}}
        ],
        "WarmStartType": "TransferLearning",
    }
    assert validate_definition(definition) == []


def test_an_objective_that_is_no_metric_line_is_refused() -> None:
    from steps.tune import TuningConfigError

    with pytest.raises(TuningConfigError, match=r"'eval_f1' is not a METRIC line .*eval_macro_f1"):
        build("local", {"classifier": {"tuning": {"objective": {"metric": "eval_f1"}}}})


@pytest.mark.parametrize(
    ("tuning", "expected"),
    [
        ({"ranges": {"learning_rat": {"kind": "continuous", "min": 0.1, "max": 0.2}}}, "not hyperparameters"),
        ({"max_jobs": 2, "max_parallel_jobs": 3}, "max_parallel_jobs .3. exceeds max_jobs .2."),
        (
            {"ranges": {"epochs": {"kind": "continuous", "min": 0, "max": 3, "scaling": "Logarithmic"}}},
            "min > 0",
        ),
        ({"ranges": {"epochs": {"kind": "continuous", "min": 3, "max": 3}}}, "must be below max"),
        ({"strategy": "Genetic"}, "strategy"),
        ({"warm_start_from": "has spaces"}, "warm_start_from"),
        ({"max_trials": 3}, "unknown key"),
    ],
)
def test_bad_tuning_config_is_refused_naming_the_key(tuning: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_config("local", overrides={"classifier": {"tuning": tuning}})


def test_the_transform_classifies_every_cue_as_json_lines(definitions: dict[str, Any]) -> None:
    for env in ("dev", "prod", "local"):
        steps = steps_by_name(definitions[env])
        transform = steps[names.CLASSIFY_SUBTITLE_LINES]["Arguments"]
        assert transform["ModelName"] == {"Get": f"Steps.{names.CREATE_CLASSIFIER_BATCH_MODEL}.ModelName"}
        assert steps[names.CREATE_CLASSIFIER_BATCH_MODEL]["DependsOn"] == [names.REGISTER_CLASSIFIER]
        assert (transform["BatchStrategy"], transform["MaxPayloadInMB"]) == ("MultiRecord", 1)
        source = transform["TransformInput"]
        assert (source["ContentType"], source["SplitType"]) == ("application/jsonlines", "Line")
        # PrepareSubtitleLines' cues.jsonl (one file per episode over every cleaning shard), not its
        # selection.json.
        lines = f"Steps.{names.PREPARE_SUBTITLE_LINES}.ProcessingOutputConfig.Outputs['lines'].S3Output.S3Uri"
        assert source["DataSource"]["S3DataSource"]["S3Uri"]["Std:Join"]["Values"] == [{"Get": lines}, "cues"]
        output = transform["TransformOutput"]
        assert (output["Accept"], output["AssembleWith"]) == ("application/jsonlines", "Line")
    prod = steps_by_name(definitions["prod"])[names.CLASSIFY_SUBTITLE_LINES]["Arguments"]
    assert prod["TransformOutput"]["KmsKeyId"] == prod["TransformResources"]["VolumeKmsKeyId"]


def test_a_transform_on_local_nvme_storage_gets_no_volume_key() -> None:
    """prod encrypts volumes; ml.g5 has local NVMe storage, where AWS refuses a volume key."""
    from pipelines.service_rules import RuleContext, check_service_rules

    overrides = {"classifier": {"transform": {"instance_type": "ml.g5.xlarge"}}}
    definition = build("prod", overrides)
    transform = steps_by_name(definition)[names.CLASSIFY_SUBTITLE_LINES]["Arguments"]
    assert transform["TransformResources"] == {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1}
    assert transform["TransformOutput"]["KmsKeyId"]  # the output is still encrypted
    cfg = load_config("prod", overrides=overrides)
    assert [str(v) for v in check_service_rules(definition, RuleContext.of(cfg))] == []


def test_the_transform_is_left_out_when_config_disables_it() -> None:
    steps = steps_by_name(build("dev", {"classifier": {"transform": {"enabled": False}}}))
    assert names.CLASSIFY_SUBTITLE_LINES not in steps and names.CREATE_CLASSIFIER_BATCH_MODEL not in steps
    assert names.PREPARE_SUBTITLE_LINES not in steps  # its only reader is the transform


def _broken(definition: dict[str, Any], step: str, path: list[str], value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(definition)
    node = steps_by_name(broken)[step]["Arguments"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return broken


@pytest.mark.parametrize(
    ("step", "path", "value", "expected"),
    [
        (
            names.TUNE_CLASSIFIER,
            ["HyperParameterTuningJobConfig", "Strategy"],
            "Genetic",
            "not a valid HyperParameterTuningJobStrategyType",
        ),
        (
            names.TUNE_CLASSIFIER,
            ["HyperParameterTuningJobConfig", "ResourceLimits", "MaxParallelTrainingJobs"],
            0,
            "Invalid value for parameter",
        ),
        (
            names.TUNE_CLASSIFIER,
            ["TrainingJobDefinition", "AlgorithmSpecification", "EnableSageMakerMetricsTimeSeries"],
            True,
            "Unknown parameter",
        ),
        (
            names.CLASSIFY_SUBTITLE_LINES,
            ["TransformInput", "SplitType"],
            "Paragraph",
            "not a valid SplitType",
        ),
        (names.CLASSIFY_SUBTITLE_LINES, ["BatchStrategy"], "Many", "not a valid BatchStrategy"),
    ],
)
def test_broken_tuning_and_transform_requests_are_reported(
    definitions: dict[str, Any], step: str, path: list[str], value: Any, expected: str
) -> None:
    problems = [str(p) for p in validate_definition(_broken(definitions["local"], step, path, value))]
    assert any(step in p and expected in p for p in problems), problems


def test_the_pipeline_role_may_run_every_job_type_the_definition_holds(definitions: dict[str, Any]) -> None:
    """The pipeline role (what upsert passes) creates the jobs; the job role only runs inside them."""
    from pipelines.iam import pipeline_role_policy
    from pipelines.validation import OPERATIONS

    policy = pipeline_role_policy(load_config("local"))["Statement"]
    jobs = next(s for s in policy if s["Sid"] == "PipelineJobs")
    batch_model = next(s for s in policy if s["Sid"] == "BatchTransformModel")
    assert "sagemaker:CreateModel" in batch_model["Action"]  # CreateClassifierBatchModel
    kinds = {"Processing", "Training", "Tuning", "Transform"}
    used = {s["Type"] for s in steps_by_name(definitions["local"]).values()} & kinds
    assert used == kinds
    for kind in used:
        assert f"sagemaker:{OPERATIONS[kind]}" in jobs["Action"]
    assert "sagemaker:ListTrainingJobsForHyperParameterTuningJob" in jobs["Action"]  # TrainingJobSummaries
    arn = "arn:aws:sagemaker:us-east-1:123456789012"
    for resource in ("hyper-parameter-tuning-job", "transform-job", "training-job"):
        assert f"{arn}:{resource}/pipelines-*" in jobs["Resource"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_tuning_and_transform_break_no_service_rule(env: str) -> None:
    """The service rules beyond shapes (pipelines/service_rules.py: cache keys without execution
    variables, no checkpoints shared by trials, volume keys only where a volume exists...), with the
    classifier's and the chatbot's tuning enabled in an AWS environment."""
    from pipelines.service_rules import RuleContext, check_service_rules

    tuning = {"tuning": {"enabled": True}}
    cfg = load_config(env, overrides={"classifier": tuning, "chatbot": tuning})
    from pipelines.definition import definition_json

    definition = json.loads(definition_json(cfg))
    assert {names.TUNE_CHATBOT, names.TUNE_CLASSIFIER} <= set(steps_by_name(definition))
    assert [str(v) for v in check_service_rules(definition, RuleContext.of(cfg))] == []
    assert validate_definition(definition) == []
