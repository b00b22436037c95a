"""The container setup: the training toolkit's hyperparameter rules, script mode, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.local.container import (
    ScriptMode,
    checkpoint_folders,
    decode_hyperparameters,
    to_cmd_args,
)
from pipelines.local.processes import JobError
from pipelines.local.storage import RunStorage


def test_hyperparameters_follow_the_training_toolkit() -> None:
    raw = {"merge": "true", "lr": "0.001", "model_id": "tiny:qwen2", "epochs": "30", "name": '"quoted"'}
    decoded = decode_hyperparameters(raw)
    assert decoded == {"merge": True, "lr": 0.001, "model_id": "tiny:qwen2", "epochs": 30, "name": "quoted"}
    assert to_cmd_args(decoded) == [
        "--epochs",
        "30",
        "--lr",
        "0.001",
        "--merge",
        "True",
        "--model_id",
        "tiny:qwen2",
        "--name",
        "quoted",
    ]
    assert to_cmd_args({"x": 1, "map": {"k2": 2, "k1": 1}}) == ["--map", "k1=1,k2=2", "-x", "1"]


def test_training_runs_script_mode_only() -> None:
    script = ScriptMode.of(
        "T", {"sagemaker_program": "train.py", "sagemaker_submit_directory": "s3://b/c", "lr": "0.1"}
    )
    assert (script.program, script.submit_directory, script.hyperparameters) == (
        "train.py",
        "s3://b/c",
        {"lr": 0.1},
    )
    with pytest.raises(JobError, match="T: the local runner runs script-mode training only"):
        ScriptMode.of("T", {"lr": "0.1"})


def test_checkpoints_map_their_local_path_and_default_to_opt_ml_checkpoints(tmp_path: Path) -> None:
    storage = RunStorage(tmp_path / "run", tmp_path)
    root = tmp_path / "run" / "steps" / "T" / "opt_ml"
    assert checkpoint_folders("T", {"CheckpointConfig": {"S3Uri": "s3://b/ck"}}, storage) == [
        (root / "checkpoints", "s3://b/ck")
    ]
    mine = {"CheckpointConfig": {"S3Uri": "s3://b/ck", "LocalPath": "/opt/ml/mine"}}
    assert checkpoint_folders("T", mine, storage) == [(root / "mine", "s3://b/ck")]
    assert checkpoint_folders("T", {}, storage) == []
