"""Tuning steps locally: the trials of a CreateHyperParameterTuningJob as cached training jobs.

SageMaker's Bayesian strategy is not published; locally, Optuna's TPE sampler (a Bayesian method: it
models good and bad regions of the space from the trials so far) proposes the hyperparameters, seeded
with the request's RandomSeed. Trials run in rounds of at most min(MaxParallelTrainingJobs, --workers)
at once, and each round's results are told to the sampler in trial order, so the same request over the
same data proposes the same trials, and a rerun hits the step cache trial by trial.

Each trial is the training job of `TrainingJobDefinition` with its hyperparameters (the static ones plus
the proposed values), run by `job_steps.run_training` under its own step name (`<Step>-001`, ...). Its
objective is the last value of the objective metric in its log (the definition's MetricDefinitions), as
SageMaker reads it. The step then reports what DescribeHyperParameterTuningJob and
ListTrainingJobsForHyperParameterTuningJob report: `BestTrainingJob` (its TrainingJobName locates the
best model: `<S3OutputPath>/<name>/output/model.tar.gz`) and `TrainingJobSummaries`, best first.

Warm start (WarmStartConfig) reads the parents' trials from `<home>/tuning/<job name>.json`, which every
local tuning step writes, and gives them to the sampler before the first proposal. Early stopping is
not applied locally (TrainingJobEarlyStoppingType is accepted; every trial runs to its end).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipelines.local.handlers import Outcome, StepCall, StepKind, arn
from pipelines.local.job_steps import TRAINING_DESTINATIONS, run_training
from pipelines.local.state import CACHED, FAILED, SUCCEEDED

LOG = logging.getLogger(__name__)
TRIAL_KIND = StepKind("Training", run_training, is_job=True, destinations=TRAINING_DESTINATIONS)


class TuningError(ValueError):
    """A tuning request the local runner cannot run (the message says what to change)."""


def search_space(ranges: dict[str, Any]) -> dict[str, Any]:
    """Optuna distributions of ParameterRanges (Logarithmic scaling: a log-uniform distribution)."""
    import optuna

    space: dict[str, Any] = {}
    for item in ranges.get("ContinuousParameterRanges", []):
        low, high, scaling = float(item["MinValue"]), float(item["MaxValue"]), item.get("ScalingType", "Auto")
        if scaling == "ReverseLogarithmic":
            raise TuningError(f"{item['Name']}: ReverseLogarithmic scaling does not run locally")
        space[item["Name"]] = optuna.distributions.FloatDistribution(low, high, log=scaling == "Logarithmic")
    for item in ranges.get("IntegerParameterRanges", []):
        low, high = int(item["MinValue"]), int(item["MaxValue"])
        space[item["Name"]] = optuna.distributions.IntDistribution(
            low, high, log=item.get("ScalingType") == "Logarithmic"
        )
    for item in ranges.get("CategoricalParameterRanges", []):
        space[item["Name"]] = optuna.distributions.CategoricalDistribution([str(v) for v in item["Values"]])
    if not space:
        raise TuningError("ParameterRanges is empty: a tuning job needs at least one range")
    return space


def _plain(value: Any) -> str:
    """A hyperparameter as the service passes it: a string (floats in short repr)."""
    return repr(value) if isinstance(value, float) else str(value)


def trial_args(definition: dict[str, Any], tuned: dict[str, Any], job_name: str) -> dict[str, Any]:
    """The CreateTrainingJob arguments of one trial: the definition with its hyperparameters.

    Each trial gets a checkpoint folder of its own under its output: in a container /opt/ml/checkpoints
    is the job's own local folder, and locally it must be mapped (`--checkpoint_dir`), or the script
    would write to the real /opt/ml; a shared one would let a trial resume another trial's state.
    """
    args = {k: v for k, v in definition.items() if k not in ("StaticHyperParameters", "DefinitionName")}
    args["HyperParameters"] = {
        **(definition.get("StaticHyperParameters") or {}),
        **{name: _plain(value) for name, value in tuned.items()},
    }
    output = str(definition["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
    args["CheckpointConfig"] = {
        "S3Uri": f"{output}/{job_name}/checkpoints",
        "LocalPath": (definition.get("CheckpointConfig") or {}).get("LocalPath", "/opt/ml/checkpoints"),
    }
    return args


@dataclasses.dataclass
class Trial:
    number: int
    name: str  # the trial's step name, <Step>-001
    job_name: str
    hyperparameters: dict[str, Any]
    outcome: Outcome
    objective: float | None

    def summary(self, metric: str) -> dict[str, Any]:
        """A HyperParameterTrainingJobSummary of the trial."""
        summary: dict[str, Any] = {
            "TrainingJobName": self.job_name,
            "TrainingJobArn": arn("training-job", self.job_name),
            "TrainingJobStatus": "Completed" if self.objective is not None else "Failed",
            "TunedHyperParameters": {k: _plain(v) for k, v in self.hyperparameters.items()},
            "ObjectiveStatus": "Succeeded" if self.objective is not None else "Failed",
        }
        if self.objective is not None:
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "MetricName": metric,
                "Value": self.objective,
            }
        else:
            summary["FailureReason"] = self.outcome.message
        return summary


def _run_trial(
    call: StepCall, number: int, definition: dict[str, Any], tuned: dict[str, Any], metric: str
) -> Trial:
    name = f"{call.name}-{number:03d}"
    trial_call = dataclasses.replace(
        call, name=name, kind=TRIAL_KIND, log_path=call.log_path.with_name(f"{name}.log")
    )
    trial_call = dataclasses.replace(trial_call, args=trial_args(definition, tuned, trial_call.job_name))
    try:
        outcome = run_training(trial_call)
    except Exception as exc:  # a trial that cannot start fails alone, as a failed training job would
        outcome = Outcome(FAILED, message=f"{type(exc).__name__}: {exc}")
    value = outcome.metrics.get(metric) if outcome.status in (SUCCEEDED, CACHED) else None
    objective = value if value is not None and math.isfinite(value) else None
    return Trial(number, name, trial_call.job_name, tuned, outcome, objective)


def _warm_start(study: Any, args: dict[str, Any], space: dict[str, Any], tuning_dir: Path) -> int:
    """Give the sampler the trials of the parent tuning jobs; returns how many."""
    import optuna

    warm = args.get("WarmStartConfig")
    if not warm:
        return 0
    added = 0
    for parent in warm.get("ParentHyperParameterTuningJobs", []):
        name = str(parent["HyperParameterTuningJobName"])
        record = tuning_dir / f"{name}.json"
        if not record.is_file():
            raise TuningError(
                f"warm start: no local tuning job {name!r} (looked for {record}); name one that ran in "
                "this home folder (its TuneX step's HyperParameterTuningJobName), or leave the parameter out"
            )
        for trial in json.loads(record.read_text(encoding="utf-8"))["trials"]:
            params = {k: v for k, v in trial["hyperparameters"].items() if k in space}
            if trial["objective"] is None or set(params) != set(space):
                continue  # a failed trial, or one over other ranges, tells the sampler nothing here
            study.add_trial(
                optuna.trial.create_trial(
                    params=params,
                    distributions={k: space[k] for k in params},
                    value=trial["objective"],
                )
            )
            added += 1
    return added


def run_tuning(call: StepCall) -> Outcome:
    """Run the trials of a tuning request; the step's properties name the best training job."""
    import optuna

    args = call.args
    config = args["HyperParameterTuningJobConfig"]
    definition = args["TrainingJobDefinition"]
    objective = config["HyperParameterTuningJobObjective"]
    metric, direction = str(objective["MetricName"]), str(objective["Type"]).lower()
    limits = config["ResourceLimits"]
    max_jobs = int(limits["MaxNumberOfTrainingJobs"])
    parallel = max(1, min(int(limits["MaxParallelTrainingJobs"]), call.services.workers))
    space = search_space(config["ParameterRanges"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(
        seed=int(config.get("RandomSeed", 0)), n_startup_trials=max(1, min(10, max_jobs // 3))
    )
    study = optuna.create_study(direction=direction, sampler=sampler)
    tuning_dir = call.services.tuning_dir
    warm = _warm_start(study, args, space, tuning_dir)
    trials: list[Trial] = []
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        while len(trials) < max_jobs and not call.services.jobs.stopping:  # a stopped run starts no trial
            asked = [study.ask(space) for _ in range(min(parallel, max_jobs - len(trials)))]
            futures = [
                pool.submit(_run_trial, call, len(trials) + i + 1, definition, dict(t.params), metric)
                for i, t in enumerate(asked)
            ]
            for asked_trial, future in zip(asked, futures, strict=True):
                trial = future.result()
                trials.append(trial)
                if trial.objective is None:
                    study.tell(asked_trial, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(asked_trial, trial.objective)
    return _outcome(call, trials, metric, direction, warm, tuning_dir)


def _outcome(
    call: StepCall, trials: list[Trial], metric: str, direction: str, warm: int, tuning_dir: Path
) -> Outcome:
    done = [t for t in trials if t.objective is not None]
    job_name = call.job_name
    _write_log(call.log_path, trials, metric, warm)
    _record(tuning_dir / f"{job_name}.json", trials, metric, direction)
    if not done:
        first = trials[0].outcome.message if trials else "no trial ran"
        return Outcome(FAILED, message=f"every trial failed ({len(trials)}); the first: {first}")
    ranked = sorted(done, key=lambda t: t.objective or 0.0, reverse=direction == "maximize")
    best = ranked[0]
    properties = {
        **call.args,
        "HyperParameterTuningJobName": job_name,
        "HyperParameterTuningJobArn": arn("hyper-parameter-tuning-job", job_name),
        "HyperParameterTuningJobStatus": "Completed",
        "BestTrainingJob": best.summary(metric),
        "TrainingJobSummaries": [t.summary(metric) for t in ranked]
        + [t.summary(metric) for t in trials if t.objective is None],
        "TrainingJobStatusCounters": {"Completed": len(done), "NonRetryableError": len(trials) - len(done)},
    }
    hits = [t.outcome.cache for t in trials]
    cache = "hit" if all(h == "hit" for h in hits) else ("off" if all(h == "off" for h in hits) else "miss")
    tuned = ", ".join(f"{k}={_plain(v)}" for k, v in sorted(best.hyperparameters.items()))
    return Outcome(
        CACHED if cache == "hit" else SUCCEEDED,
        cache,
        properties,
        metrics=dict(best.outcome.metrics),
        message=f"best of {len(trials)} trials: {best.name} ({metric}={best.objective:.4g}; {tuned})",
    )


def _write_log(log_path: Path, trials: list[Trial], metric: str, warm: int) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"[local runner] tuning: {len(trials)} trials (TPE), {warm} warm-start trials from parents"]
    for t in trials:
        value = "failed" if t.objective is None else f"{metric}={t.objective:.6g}"
        lines.append(f"  {t.name} {t.job_name} cache={t.outcome.cache} {value} {t.hyperparameters}")
    log_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _record(path: Path, trials: list[Trial], metric: str, direction: str) -> None:
    """The trials of this tuning job, for a later warm start from it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "metric": metric,
        "direction": direction,
        "trials": [{"hyperparameters": t.hyperparameters, "objective": t.objective} for t in trials],
    }
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
