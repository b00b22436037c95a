"""Loss curves in each training run's folder, and MLflow runs made from a job's output folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from containers.common import tracking

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_training_writes_its_loss_curves_and_hyperparameters(classifier_run: dict[str, Any]) -> None:
    output = classifier_run["run"] / "output"
    assert (output / tracking.LOSS_CURVES).read_bytes()[:8] == PNG_MAGIC
    recorded = json.loads((output / "training_metrics.json").read_text())["hyperparameters"]
    assert recorded["learning_rate"] == 0.001 and recorded["model_id"] == "tiny:distilbert"
    assert not any(isinstance(v, str) and v.startswith("/") for v in recorded.values())  # no paths


def test_no_curves_without_a_loss(tmp_path: Path) -> None:
    assert tracking.loss_curves([{"step": 1, "eval_accuracy": 0.5}], tmp_path / "x.png", "t") is None
    assert not (tmp_path / "x.png").exists()


def test_a_job_folder_becomes_an_mlflow_run_with_params_steps_and_artifacts(
    classifier_run: dict[str, Any], tmp_path: Path
) -> None:
    output = classifier_run["run"] / "output"
    history = json.loads((output / "training_metrics.json").read_text())["log_history"]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = tracking.log_outputs(
        output, "tests", "train-classifier", uri, {"step": "Train"}, (tmp_path / "a").as_uri()
    )

    mlflow = tracking._mlflow()
    client = mlflow.MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.data.params["learning_rate"] == "0.001" and run.data.tags["step"] == "Train"
    losses = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in losses] == [
        (e["step"], pytest.approx(e["loss"])) for e in history if "loss" in e
    ]
    assert {a.path for a in client.list_artifacts(run_id)} >= {"training_metrics.json", tracking.LOSS_CURVES}


def test_without_a_tracking_uri_nothing_is_logged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    assert tracking.track_if_configured(tmp_path, "tests", "x") is None


def test_a_folder_without_a_record_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"holds none of training_metrics\.json"):
        tracking.run_record(tmp_path)


def test_mlflow_http_retries_are_short_unless_the_job_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """A down tracking server costs a job seconds, not MLflow's default minutes of retries per call."""
    for key in tracking.HTTP_RETRY_DEFAULTS:  # set, then delete: the undo removes what _mlflow() sets
        monkeypatch.setenv(key, "0")
        monkeypatch.delenv(key)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")  # the job's own setting wins
    tracking._mlflow()
    from mlflow.environment_variables import (
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
        MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        MLFLOW_HTTP_REQUEST_TIMEOUT,
    )

    assert (MLFLOW_HTTP_REQUEST_MAX_RETRIES.get(), MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.get()) == (3, 1)
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 5
