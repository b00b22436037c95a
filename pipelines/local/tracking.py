"""`make mlflow-ui`: every local run's training and evaluation outputs as MLflow runs in .local/mlflow.

    python -m pipelines mlflow-sync [--home .local]      # then: mlflow ui (the Makefile target does both)

Local jobs do not talk to MLflow while they run (several jobs at once would race to create one SQLite
store, and a run should not wait on it); like network-isolated jobs in SageMaker they leave their
record in their output folder (training_metrics.json, loss_curves.png, evaluation.json), and this logs
each folder once, tagged with its run and step, into a SQLite store the MLflow UI reads. Logging the
same folders again adds nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from containers.common import tracking
from steps.names import MODEL_STEPS

LOG = logging.getLogger("pipelines.local.tracking")
# Where each job kind leaves its record in a local run's step folder (the container paths, mapped).
OUTPUT_FOLDERS = {"train": "opt_ml/output/data", "evaluate": "opt_ml/processing/output/evaluation"}


def store_uri(home: Path) -> str:
    return f"sqlite:///{(home / 'mlflow' / 'mlflow.db').resolve()}"


def artifact_root(home: Path) -> str:
    return (home / "mlflow" / "artifacts").resolve().as_uri()


def job_folders(home: Path) -> list[tuple[str, str, str, Path]]:
    """(run id, step, model, output folder) of every training and evaluation job in home/runs."""
    found = []
    for run in sorted((home / "runs").glob("*/")):
        for model, steps in MODEL_STEPS.items():
            for kind, folder in OUTPUT_FOLDERS.items():
                output = run / "steps" / steps[kind] / folder
                if output.is_dir() and any((output / name).is_file() for name in tracking.RECORD_FILES):
                    found.append((run.name, steps[kind], model, output))
    return found


def sync_runs(home: Path) -> int:
    """Log the job folders not logged yet; returns how many were logged."""
    mlflow = tracking._mlflow()
    uri = store_uri(home)
    (home / "mlflow").mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    logged = 0
    for run_id, step, model, output in job_folders(home):
        experiment = tracking.experiment_name(model)
        found = mlflow.get_experiment_by_name(experiment)
        if found is not None:
            done = mlflow.search_runs(
                [found.experiment_id],
                filter_string=f"tags.local_run = '{run_id}' and tags.step = '{step}'",
                output_format="list",
            )
            if done:
                continue
        tracking.log_outputs(
            output,
            experiment,
            f"{step} {run_id}",
            uri,
            {"local_run": run_id, "step": step},
            artifact_root(home),
        )
        logged += 1
    LOG.info("%d job folder(s) logged to %s", logged, uri)
    return logged
