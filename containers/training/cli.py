"""Command-line helpers shared by the training and evaluation scripts.

SageMaker passes hyperparameters as `--snake_case value` with plain string values; people type
`--kebab-case`. Every flag accepts both spellings, and booleans are the strings true/false.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


def str2bool(value: str | bool) -> bool:
    """'true'/'false' (as SageMaker sends booleans) to bool; anything else is an error that says so."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def add_flag(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> None:
    """Register `--name-with-dashes` and `--name_with_underscores` as one option."""
    dashed = "--" + name.replace("_", "-")
    underscored = "--" + name.replace("-", "_")
    flags = [dashed] if dashed == underscored else [dashed, underscored]
    parser.add_argument(*flags, dest=name.replace("-", "_"), **kwargs)


def env_path(variable: str, default: str) -> Path:
    """A path from a SageMaker environment variable, or the container default when it is unset."""
    return Path(os.environ.get(variable, default))


def add_job_paths(parser: argparse.ArgumentParser) -> None:
    """The paths every training script takes, defaulting to what SageMaker sets in the container."""
    add_flag(parser, "train", type=Path, default=env_path("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    add_flag(
        parser,
        "validation",
        type=Path,
        default=env_path("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"),
    )
    add_flag(parser, "model_dir", type=Path, default=env_path("SM_MODEL_DIR", "/opt/ml/model"))
    add_flag(
        parser, "output_data_dir", type=Path, default=env_path("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")
    )
    add_flag(parser, "checkpoint_dir", type=Path, default=Path("/opt/ml/checkpoints"))
