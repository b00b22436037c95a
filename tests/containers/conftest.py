"""Shared fixtures for the container tests: datasets from data/sample, and one trained model of each kind.

The expensive parts (prepare_datasets.py on data/sample, one tiny chatbot and one tiny classifier trained at
conf/local.yaml-like settings) run once per session; tests read their outputs and never mutate them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.containers.fixtures import write_datasets

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"

# Tests that need CUDA: marked for the device machine and skipped where there is no GPU.
requires_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

torch.set_num_threads(1)  # tiny models: one thread is several times faster than two on a shared machine


@pytest.fixture(scope="session")
def sample_datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """prepare_datasets.py's real output on data/sample (the processing step's own main())."""
    from containers.processing import prepare_datasets

    out = tmp_path_factory.mktemp("datasets")
    prepare_datasets.main(
        prepare_datasets.parse_args(
            [
                "--transcripts-dir",
                str(SAMPLE / "transcripts"),
                "--locations-dir",
                str(SAMPLE / "locations"),
                "--output-dir",
                str(out),
            ]
        )
    )
    return out


@pytest.fixture(scope="session")
def hand_datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small hand-written datasets of tests/containers/fixtures.py, in the same format."""
    return write_datasets(tmp_path_factory.mktemp("hand"))


def chatbot_argv(data: Path, run: Path, **overrides: Any) -> list[str]:
    """train_chatbot flags at conf/local.yaml's tiny settings, with overrides."""
    settings = {
        "model_id": "tiny:qwen2",
        "max_steps": 160,
        "learning_rate": 0.006,
        "per_device_batch_size": 32,
        "gradient_accumulation_steps": 1,
        "max_seq_length": 128,
        "lora_r": 64,
        "lora_alpha": 64,
        "gradient_checkpointing": "false",
        "packing": "false",
        "save_steps": 80,
        "pretrain_steps": 300,
        "logging_steps": 10,
    }
    settings.update(overrides)
    argv = [
        "--train",
        str(data / "chatbot_train"),
        "--validation",
        str(data / "chatbot_validation"),
        "--model-dir",
        str(run / "model"),
        "--output-data-dir",
        str(run / "output"),
        "--checkpoint-dir",
        str(run / "checkpoints"),
    ]
    for key, value in settings.items():
        argv += [f"--{key}", str(value)]
    return argv


def classifier_argv(data: Path, run: Path, **overrides: Any) -> list[str]:
    """train_classifier flags at conf/local.yaml's tiny settings, with overrides."""
    settings = {
        "model_id": "tiny:distilbert",
        "epochs": 60,
        "learning_rate": 0.001,
        "per_device_batch_size": 8,
        "max_seq_length": 64,
        "early_stopping_patience": 5,
    }
    settings.update(overrides)
    argv = [
        "--train",
        str(data / "classifier_train"),
        "--validation",
        str(data / "classifier_validation"),
        "--model-dir",
        str(run / "model"),
        "--output-data-dir",
        str(run / "output"),
        "--checkpoint-dir",
        str(run / "checkpoints"),
    ]
    for key, value in settings.items():
        argv += [f"--{key}", str(value)]
    return argv


@pytest.fixture(scope="session")
def chatbot_run(sample_datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny Qwen2 chatbot trained on data/sample: {"run": folder, "metrics": training_metrics}."""
    from containers.training import train_chatbot

    run = tmp_path_factory.mktemp("chatbot")
    logging.getLogger().setLevel(logging.INFO)
    metrics = train_chatbot.main(train_chatbot.parse_args(chatbot_argv(sample_datasets, run)))
    return {"run": run, "metrics": metrics, "data": sample_datasets}


@pytest.fixture(scope="session")
def classifier_run(sample_datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny DistilBERT location classifier trained on data/sample."""
    from containers.training import train_classifier

    run = tmp_path_factory.mktemp("classifier")
    metrics = train_classifier.main(train_classifier.parse_args(classifier_argv(sample_datasets, run)))
    return {"run": run, "metrics": metrics, "data": sample_datasets}
