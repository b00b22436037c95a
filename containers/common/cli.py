"""Command-line helpers shared by every container script (processing, training, evaluation).

SageMaker passes hyperparameters as `--snake_case value` with plain string values; people type
`--kebab-case`. Every flag accepts both spellings, and booleans are the strings true/false, as the
SageMaker toolkit writes them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


def str_to_bool(value: str | bool) -> bool:
    """'true'/'false' (any case, also 1/0, yes/no) to bool; anything else is an argparse error."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def auto_or_bool(value: str | bool) -> str:
    """'auto', or true/false as str_to_bool reads them, normalised to 'auto' / 'true' / 'false'."""
    if str(value).strip().lower() == "auto":
        return "auto"
    try:
        return "true" if str_to_bool(value) else "false"
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected auto, true or false, got {value!r}") from None


def add_flag(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> argparse.Action:
    """Add `--some-flag` together with its `--some_flag` spelling (one destination, `some_flag`).

    `name` may be written with or without the leading `--`, in either spelling.
    """
    bare = name.removeprefix("--")
    if not bare or bare.startswith("-"):
        raise ValueError(f"flag {name!r} is not a long option such as --model-dir")
    dashed = "--" + bare.replace("_", "-")
    underscored = "--" + bare.replace("-", "_")
    flags = [dashed] if dashed == underscored else [dashed, underscored]
    kwargs.setdefault("dest", bare.replace("-", "_"))
    return parser.add_argument(*flags, **kwargs)


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
