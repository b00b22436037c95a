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


def test_missing_folder_found_under_another_case_is_named_with_the_rename(tmp_path: Path) -> None:
    for name in ("Subtitles", "TRANSCRIPTS", "locations"):
        (tmp_path / name).mkdir()
    (tmp_path / "Locations.txt").write_text("a file, not a folder", encoding="utf-8")
    with pytest.raises(SystemExit) as raised:
        data_override(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"--data {tmp_path}: missing subtitles/, transcripts/; ")
    assert message.endswith(
        "; rename Subtitles/ to subtitles/, TRANSCRIPTS/ to transcripts/ "
        "(folder names are case-sensitive, as S3 keys are)"
    )


def test_no_case_hint_when_nothing_close_is_there(tmp_path: Path) -> None:
    (tmp_path / "subs").mkdir()
    with pytest.raises(SystemExit) as raised:
        data_override(tmp_path)
    assert "rename" not in str(raised.value)


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


def test_built_definition_is_reused_until_a_source_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import pipelines.definition
    from pipelines.local.definition_source import build_definition
    from tests.pipelines.conftest import definition_text

    built = build_definition("local", tmp_path)
    assert built == json.loads(definition_text("local"))  # the bytes `make definition ENV=local` writes

    def no_rebuild(*args: object, **kwargs: object) -> str:
        raise AssertionError("rebuilt although no source changed")

    monkeypatch.setattr(pipelines.definition, "definition_json", no_rebuild)
    assert build_definition("local", tmp_path) == built
    assert len(list((tmp_path / "definitions").glob("local-*.json"))) == 1


def test_env_must_be_a_known_environment(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["run-local", "--env", "staging"])
    error = capsys.readouterr().err
    assert "argument --env: invalid choice: 'staging'" in error
    assert all(env in error for env in ("dev", "prod", "local"))
