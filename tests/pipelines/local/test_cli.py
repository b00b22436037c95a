"""run-local's argument handling: the --data layout check and the commands it registers."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pipelines.local.cli import add_commands, data_override


def test_data_folder_must_have_the_documented_layout(tmp_path: Path) -> None:
    (tmp_path / "subtitles").mkdir()
    with pytest.raises(
        SystemExit, match="missing transcripts/, locations/; the input folder holds subtitles/"
    ):
        data_override(tmp_path)
    with pytest.raises(SystemExit, match="no such folder"):
        data_override(tmp_path / "nope")
    (tmp_path / "transcripts").mkdir()
    (tmp_path / "locations").mkdir()
    assert data_override(tmp_path) == str(tmp_path.resolve())


def test_commands_and_flags_are_registered() -> None:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "run-local",
            "--data",
            "d",
            "--param",
            "A=1",
            "--param",
            "B=2",
            "--resume",
            "--no-cache",
            "--run-dir",
            "r",
        ]
    )
    assert (args.data, args.param, args.resume, args.no_cache, args.run_dir, args.env) == (
        "d",
        ["A=1", "B=2"],
        True,
        True,
        Path("r"),
        "local",
    )
    assert parser.parse_args(["serve-local", "--port", "9000"]).port == 9000
