"""The one set of argparse helpers every container script uses."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from containers.common.cli import add_flag, add_job_paths, str_to_bool


def test_a_flag_takes_both_spellings_whichever_is_registered() -> None:
    parser = argparse.ArgumentParser()
    add_flag(parser, "--min-reply-chars", type=int)
    add_flag(parser, "model_dir", type=Path)
    args = parser.parse_args(["--min_reply_chars", "3", "--model-dir", "/tmp/m"])
    assert (args.min_reply_chars, args.model_dir) == (3, Path("/tmp/m"))
    assert parser.parse_args(["--min-reply-chars", "4"]).min_reply_chars == 4


def test_a_flag_must_be_a_long_option() -> None:
    with pytest.raises(ValueError, match="not a long option"):
        add_flag(argparse.ArgumentParser(), "---x")


@pytest.mark.parametrize(("word", "value"), [("true", True), ("False", False), ("1", True), (" no ", False)])
def test_booleans_as_sagemaker_writes_them(word: str, value: bool) -> None:
    assert str_to_bool(word) is value


def test_anything_else_is_not_a_boolean() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected true or false, got 'maybe'"):
        str_to_bool("maybe")


def test_job_paths_default_to_the_sagemaker_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SM_CHANNEL_TRAIN", "/data/train")
    parser = argparse.ArgumentParser()
    add_job_paths(parser)
    args = parser.parse_args([])
    assert args.train == Path("/data/train")
    assert args.checkpoint_dir == Path("/opt/ml/checkpoints")
