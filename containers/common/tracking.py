"""Experiment tracking: loss curves beside each run's metrics, and MLflow runs made from an output folder.

    python containers/common/tracking.py --output-dir <a job's output folder> --experiment <name> \
        [--run-name NAME] [--tracking-uri URI]     # log a finished job's outputs (after the fact)

Every training job writes training_metrics.json (its parameters and log_history) and loss_curves.png to
its output folder, every evaluation job evaluation.json: the files are the record. MLflow gets them
from that folder, in one of two ways:
- a job that can reach the tracking server (MLFLOW_TRACKING_URI set: in dev/prod the ARN of SageMaker
  managed MLflow, read by the sagemaker-mlflow plugin; the job's role needs sagemaker-mlflow:* actions on
  it) logs its own folder when it ends (`log_outputs`);
- a job with network isolation cannot reach any server: it only writes the folder, and the folder is
  logged after the run from outside (this script, or `make mlflow-ui` for local runs, which logs every
  run folder under .local/runs into .local/mlflow once and starts the UI).
Only mlflow-skinny is needed in a job image (the client); the local UI uses the full mlflow package.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from containers.common.io import read_json

LOG = logging.getLogger("tracking")
TRACKING_ENV = "MLFLOW_TRACKING_URI"
LOSS_CURVES = "loss_curves.png"
RECORD_FILES = ("training_metrics.json", "evaluation.json", LOSS_CURVES, "samples.jsonl")


def loss_curves(log_history: list[dict[str, Any]], path: Path, title: str) -> Path | None:
    """Training and validation loss by step as a PNG; None (and nothing written) without any loss."""
    train = [(e["step"], e["loss"]) for e in log_history if "loss" in e and "step" in e]
    evaluation = [(e["step"], e["eval_loss"]) for e in log_history if "eval_loss" in e and "step" in e]
    if not train and not evaluation:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    for points, label, style in ((train, "training loss", "-"), (evaluation, "validation loss", "o-")):
        if points:
            steps, values = zip(*points, strict=True)
            axes.plot(steps, values, style, label=label)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _flat_numbers(data: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a metrics file, dotted names ('classifier_metrics.accuracy.value')."""
    out: dict[str, float] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out[name] = float(value)
        elif isinstance(value, dict):
            out.update(_flat_numbers(value, name + "."))
    return out


def run_record(output_dir: Path) -> dict[str, Any]:
    """What an output folder says about its job: params, per-step metrics, final metrics, artifacts."""
    params: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    final: dict[str, float] = {}
    training = output_dir / "training_metrics.json"
    if training.is_file():
        data = read_json(training)
        params = {k: v for k, v in data.get("hyperparameters", {}).items()}
        history = list(data.get("log_history", []))
        final.update({k: v for k, v in _flat_numbers(data).items() if not k.startswith("hyperparameters.")})
    evaluation = output_dir / "evaluation.json"
    if evaluation.is_file():
        report = read_json(evaluation)
        for key, value in report.items():
            if key.endswith("_metrics") and isinstance(value, dict):
                final.update(
                    {
                        name: float(v["value"])
                        for name, v in value.items()
                        if isinstance(v, dict) and isinstance(v.get("value"), int | float)
                    }
                )
    artifacts = [output_dir / name for name in RECORD_FILES if (output_dir / name).is_file()]
    if not artifacts:
        raise FileNotFoundError(
            f"{output_dir} holds none of {', '.join(RECORD_FILES)}: is it a job's output?"
        )
    return {"params": params, "history": history, "final": final, "artifacts": artifacts}


# MLflow's defaults (7 retries, backoff factor 2, 120 s timeout) hold a job several minutes per call when
# the server is down; a job whose model is written gives up in seconds instead (a job's own setting wins).
HTTP_RETRY_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def _mlflow() -> Any:
    """mlflow, imported with its usage telemetry off (a job must not call home; the tests block it)
    and with short HTTP retries (HTTP_RETRY_DEFAULTS)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    for key, value in HTTP_RETRY_DEFAULTS.items():
        os.environ.setdefault(key, value)
    import mlflow  # mlflow-skinny in the job images; only jobs that track import it

    return mlflow


def log_outputs(
    output_dir: Path,
    experiment: str,
    run_name: str,
    tracking_uri: str | None = None,
    tags: dict[str, str] | None = None,
    artifact_location: str | None = None,
) -> str:
    """One MLflow run from a job's output folder; returns the run id.

    `artifact_location` is used when the experiment does not exist yet (a local store keeps its
    artifacts beside its database; a tracking server chooses its own).
    """
    mlflow = _mlflow()
    record = run_record(output_dir)
    exported = os.environ.get(TRACKING_ENV)
    try:
        return _log_run(mlflow, record, experiment, run_name, tracking_uri, tags, artifact_location)
    finally:  # set_tracking_uri also exports MLFLOW_TRACKING_URI: processes started later must not inherit it
        if exported is None:
            os.environ.pop(TRACKING_ENV, None)
        else:
            os.environ[TRACKING_ENV] = exported


def _log_run(
    mlflow: Any,
    record: dict[str, Any],
    experiment: str,
    run_name: str,
    tracking_uri: str | None,
    tags: dict[str, str] | None,
    artifact_location: str | None,
) -> str:
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    experiment_id = (
        found.experiment_id
        if found
        else mlflow.create_experiment(experiment, artifact_location=artifact_location)
    )
    with mlflow.start_run(run_name=run_name, tags=tags or {}, experiment_id=experiment_id) as run:
        if record["params"]:
            mlflow.log_params({k: str(v)[:500] for k, v in record["params"].items()})
        for entry in record["history"]:
            step = int(entry.get("step", 0))
            numbers = {k: float(v) for k, v in entry.items() if k != "step" and isinstance(v, int | float)}
            if numbers:
                mlflow.log_metrics(numbers, step=step)
        if record["final"]:
            mlflow.log_metrics({f"final.{k}": v for k, v in record["final"].items()})
        for path in record["artifacts"]:
            mlflow.log_artifact(str(path))
    LOG.info("MLflow run %s (%s) in experiment %s", run.info.run_id, run_name, experiment)
    return run.info.run_id


def job_name() -> str:
    """The SageMaker job's name where the platform says it (training: TRAINING_JOB_NAME), else ''."""
    return os.environ.get("TRAINING_JOB_NAME", "") or os.environ.get("PROCESSING_JOB_NAME", "")


def track_if_configured(output_dir: Path, experiment: str, run_name: str) -> str | None:
    """Log the folder when MLFLOW_TRACKING_URI is set (the job can reach the server); else do nothing.

    A tracking server that fails must not fail a job whose model is already written: the error is
    logged, and the folder can be logged later with this script.
    """
    uri = os.environ.get(TRACKING_ENV)
    if not uri:  # also the case in a network-isolated job: the folder is logged after the run
        LOG.info("MLflow off (%s unset): outputs stay in %s", TRACKING_ENV, output_dir)
        return None
    try:
        return log_outputs(output_dir, experiment, job_name() or run_name, uri, {"job": job_name()})
    except Exception:  # outer boundary: the job's result is on disk whatever MLflow does
        LOG.exception(
            "MLflow logging to %s failed; log %s later with containers/common/tracking.py", uri, output_dir
        )
        return None


def hyperparameters(args: Any) -> dict[str, Any]:
    """A script's arguments dataclass without its paths: what MLflow records as the run's params."""
    import dataclasses

    return {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(args)
        if not isinstance(getattr(args, f.name), Path | None)
    }


def experiment_name(model: str) -> str:
    """MLFLOW_EXPERIMENT_NAME when the job is given one, else one experiment per model."""
    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or f"stranger-things-nlp-{model}"


def finish_training(output_dir: Path, metrics: dict[str, Any], model: str) -> None:
    """After training_metrics.json: the loss curves beside it, then MLflow when configured."""
    loss_curves(metrics.get("log_history", []), output_dir / LOSS_CURVES, f"{model}: loss by step")
    track_if_configured(output_dir, experiment_name(model), f"train-{model}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--run-name", default=None)
    parser.add_argument("--tracking-uri", default=os.environ.get(TRACKING_ENV))
    return parser.parse_args(argv)


if __name__ == "__main__":
    from containers.common.io import setup_logging

    setup_logging()
    options = parse_args()
    log_outputs(
        options.output_dir,
        options.experiment,
        options.run_name or options.output_dir.name,
        options.tracking_uri,
    )
