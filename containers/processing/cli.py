"""Argparse helpers shared by the processing scripts.

SageMaker passes hyperparameters as `--snake_case value`, people type `--kebab-case value`: every flag
accepts both spellings. Booleans are the strings `true`/`false`, as the SageMaker toolkit writes them.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_flag(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> argparse.Action:
    """Add `--some-flag` together with its `--some_flag` spelling (one destination)."""
    if not name.startswith("--"):
        raise ValueError(f"flag {name!r} must start with --")
    kebab = "--" + name[2:].replace("_", "-")
    snake = "--" + name[2:].replace("-", "_")
    names = [kebab] if kebab == snake else [kebab, snake]
    kwargs.setdefault("dest", name[2:].replace("-", "_"))
    return parser.add_argument(*names, **kwargs)


def str_to_bool(value: str | bool) -> bool:
    """'true'/'false' (any case, also 1/0, yes/no) to bool; anything else is an argparse error."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")
