"""Each processing script runs as a file from anywhere (as the job runs it) and documents its flags."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.containers.processing.conftest import REPO, SAMPLE


@pytest.mark.parametrize(
    ("script", "flags"),
    [
        ("clean_subtitles.py", ["--input-dir", "--output-dir", "--max-line-chars"]),
        ("extract_entities.py", ["--characters", "--window", "--ner-model", "--ner_model"]),
        (
            "classify_themes.py",
            [
                "--themes",
                "--method",
                "--model-id",
                "--batch-size",
                "--max-utterances-per-episode",
                "--lines-per-theme",
            ],
        ),
        ("prepare_subtitle_lines.py", ["--input-dir", "--output-dir", "--input_dir"]),
        (
            "prepare_datasets.py",
            [
                "--transcripts-dir",
                "--locations-dir",
                "--character",
                "--min-reply-chars",
                "--validation-fraction",
                "--test-fraction",
                "--seed",
                "--rare-labels",
            ],
        ),
    ],
)
def test_help(script, flags, tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "containers" / "processing" / script), "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert done.stdout.splitlines()[0].startswith("usage: ")
    for flag in flags:
        assert flag in done.stdout, flag


def test_clean_entities_and_lexicon_themes_as_subprocesses_without_torch(tmp_path):
    """The default path of the analytics scripts (themes: the lexicon) and the transform's input runs
    from a foreign directory and never imports torch."""
    env = {**os.environ, "PYTHONPATH": ""}
    probe = (
        "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__'); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    scripts = REPO / "containers" / "processing"
    for argv in (
        [
            scripts / "clean_subtitles.py",
            "--input-dir",
            SAMPLE / "subtitles",
            "--output-dir",
            tmp_path / "c",
            "--resource-config",
            tmp_path / "none.json",
        ],
        [
            scripts / "extract_entities.py",
            "--input-dir",
            tmp_path / "c",
            "--output-dir",
            tmp_path / "e",
            "--characters",
            REPO / "conf" / "characters.yaml",
        ],
        [
            scripts / "classify_themes.py",
            "--input-dir",
            tmp_path / "c",
            "--output-dir",
            tmp_path / "t",
            "--themes",
            REPO / "conf" / "themes.yaml",
            "--method",
            "lexicon",
        ],
        [
            scripts / "prepare_subtitle_lines.py",
            "--input-dir",
            tmp_path / "c",
            "--output-dir",
            tmp_path / "l",
        ],
    ):
        subprocess.run(
            [sys.executable, "-c", probe, *map(str, argv)],
            check=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
    assert (tmp_path / "e" / "network.html").is_file()
    assert (tmp_path / "t" / "theme_lines.jsonl").is_file()
    # One file per sample episode: the transform's input is the cleaned cues, byte for byte.
    assert (tmp_path / "l" / "cues.jsonl").read_bytes() == (tmp_path / "c" / "cues.jsonl").read_bytes()
