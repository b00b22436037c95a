"""TuneChatbot and TuneLocationClassifier: a Bayesian tuning job in place of the training step.

When `<model>.tuning.enabled`, the model's branch trains through CreateHyperParameterTuningJob instead
of CreateTrainingJob. The training job definition is the training step's own request (same image,
channels, resources, environment), with the tuned hyperparameters moved from the static ones to
ranges from config. The objective is one of the METRIC lines the script prints, which SageMaker reads
through the definition's MetricDefinitions; `tuning_request` refuses an objective with no such line.

Downstream steps read the best training job's model (`model_artifacts`): a trial's artifacts are at
`<S3OutputPath>/<training job name>/output/model.tar.gz` (S3OutputPath: `trials_output`), and the
tuning step exposes the best trial's name as `BestTrainingJob.TrainingJobName`
(DescribeHyperParameterTuningJob; the SDK's own `TuningStep.get_top_model_s3_uri` builds the same path
from `TrainingJobSummaries[k].TrainingJobName`).

Choices, and why:
- No CheckpointConfig in the trials: every trial shares one definition, so one checkpoint URI, and the
  service does not document keeping trials apart in it; a trial resuming another trial's checkpoint
  would mix hyperparameters. Spot trials still run (an interruption restarts the trial).
- Warm start only when config names a parent (`tuning.warm_start_from`): the service rejects an empty
  parent name and a static definition cannot drop WarmStartConfig per run, so the parameter
  <Model>WarmStartTuningJob (default: the configured parent) exists only then.
- RandomSeed is the model's training seed: the same config proposes the same trials.
"""

from __future__ import annotations

from typing import Any

from sagemaker.core.workflow.functions import Join
from sagemaker.mlops.workflow.steps import StepTypeEnum

from conf.schema import CategoricalRange, ContinuousRange, IntegerRange, TuningConfig
from steps import names
from steps.context import StepContext
from steps.models import spec
from steps.request_step import RequestStep
from steps.train import training_request

MODEL_OUTPUT = "model"


class TuningConfigError(ValueError):
    """The tuning config cannot become a valid tuning job (the message says which key to change)."""


def tuning_config(ctx: StepContext, model: str) -> TuningConfig | None:
    """The model's tuning config when tuning is enabled, else None."""
    tuning: TuningConfig | None = getattr(ctx.cfg, model).tuning
    return tuning if tuning is not None and tuning.enabled else None


def parameter_ranges(tuning: TuningConfig) -> dict[str, list[dict[str, Any]]]:
    """ParameterRanges of CreateHyperParameterTuningJob, sorted by name (a stable definition)."""
    ranges: dict[str, list[dict[str, Any]]] = {
        "ContinuousParameterRanges": [],
        "IntegerParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    for name, bounds in sorted(tuning.ranges.items()):
        if isinstance(bounds, ContinuousRange | IntegerRange):
            key = "Continuous" if isinstance(bounds, ContinuousRange) else "Integer"
            ranges[f"{key}ParameterRanges"].append(
                {
                    "Name": name,
                    "MinValue": str(bounds.min),
                    "MaxValue": str(bounds.max),
                    "ScalingType": bounds.scaling,
                }
            )
        elif isinstance(bounds, CategoricalRange):
            ranges["CategoricalParameterRanges"].append({"Name": name, "Values": list(bounds.values)})
    return {key: value for key, value in ranges.items() if value}


def trials_output(ctx: StepContext, step_name: str) -> str:
    """Where the trials write: one fixed prefix, not per execution. TrainingJobDefinition is part of the
    tuning step's cache key (an execution id in it would never hit), and every trial writes under its
    own, unique training job name: `<prefix>/<training job name>/output/model.tar.gz`."""
    return f"{ctx.env_root}/tuning/{step_name}/{MODEL_OUTPUT}"


def training_job_definition(
    ctx: StepContext, model: str, prepare_step: RequestStep, tuning: TuningConfig
) -> dict[str, Any]:
    """The training step's request as a HyperParameterTrainingJobDefinition."""
    request = training_request(ctx, model, prepare_step)
    request.pop("CheckpointConfig", None)  # see the module docstring
    request["AlgorithmSpecification"].pop("EnableSageMakerMetricsTimeSeries", None)  # not in this shape
    request["OutputDataConfig"]["S3OutputPath"] = trials_output(ctx, names.MODEL_STEPS[model]["tune"])
    hyperparameters = request.pop("HyperParameters")
    request["StaticHyperParameters"] = {k: v for k, v in hyperparameters.items() if k not in tuning.ranges}
    return request


def tuning_request(
    ctx: StepContext, model: str, prepare_step: RequestStep, tuning: TuningConfig
) -> dict[str, Any]:
    """The CreateHyperParameterTuningJob request (minus the job name, which the pipeline assigns)."""
    metrics = spec(model).training_metrics
    if tuning.objective.metric not in metrics:
        raise TuningConfigError(
            f"{model}.tuning.objective.metric {tuning.objective.metric!r} is not a METRIC line of "
            f"{spec(model).train_script}; use one of {', '.join(metrics)}"
        )
    request: dict[str, Any] = {
        "HyperParameterTuningJobConfig": {
            "Strategy": tuning.strategy,
            "HyperParameterTuningJobObjective": {
                "Type": tuning.objective.type,
                "MetricName": tuning.objective.metric,
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": tuning.max_jobs,
                "MaxParallelTrainingJobs": tuning.max_parallel_jobs,
            },
            "ParameterRanges": parameter_ranges(tuning),
            "TrainingJobEarlyStoppingType": tuning.early_stopping,
            "RandomSeed": getattr(ctx.cfg, model).hyperparameters.seed,
        },
        "TrainingJobDefinition": training_job_definition(ctx, model, prepare_step, tuning),
    }
    warm_start = ctx.params.warm_start_of(model)
    if warm_start is not None:
        request["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": warm_start}],
            "WarmStartType": tuning.warm_start_type,
        }
    return request


def build_tune_step(ctx: StepContext, model: str, prepare_step: RequestStep) -> RequestStep:
    """The tuning step of `model`, cached and retried like the training step it replaces."""
    tuning = tuning_config(ctx, model)
    if tuning is None:
        raise TuningConfigError(f"{model}.tuning.enabled is false: build the training step instead")
    return RequestStep(
        names.MODEL_STEPS[model]["tune"],
        StepTypeEnum.TUNING,
        tuning_request(ctx, model, prepare_step, tuning),
        description=(
            f"{tuning.strategy} tuning of the {model} ({tuning.max_jobs} trials, "
            f"{tuning.objective.type.lower()} {tuning.objective.metric})"
        ),
        cache_config=ctx.cache_config(),
        retry_policies=ctx.job_retry_policies(),
    )


def model_artifacts(ctx: StepContext, step: RequestStep) -> Any:
    """The S3 URI of the model a training or tuning step made (a tuning step: its best trial's)."""
    if step.step_type is StepTypeEnum.TRAINING:
        return step.properties.ModelArtifacts.S3ModelArtifacts
    if step.step_type is StepTypeEnum.TUNING:
        return Join(
            on="/",
            values=[
                trials_output(ctx, step.name),
                step.properties.BestTrainingJob.TrainingJobName,
                "output",
                "model.tar.gz",
            ],
        )
    raise ValueError(f"{step.name} is a {step.step_type.value} step: no model artifacts")
