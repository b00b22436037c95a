"""Fixtures for the processing tests: the sample data, its cleaned cues, and a corpus of bad inputs."""

from __future__ import annotations

import codecs
import json
import random
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "data" / "sample"
CHARACTERS = REPO / "conf" / "characters.yaml"
THEMES = REPO / "conf" / "themes.yaml"


def srt(*cues: tuple[str, str]) -> str:
    """SRT text from (timing, text) pairs, numbered from 1."""
    return "\n".join(f"{i}\n{timing}\n{text}\n" for i, (timing, text) in enumerate(cues, start=1))


GOOD = srt(
    ("00:00:01,000 --> 00:00:02,000", "First line of dialogue."),
    ("00:00:03,000 --> 00:00:04,000", "[door creaks]"),
    ("00:00:05,000 --> 00:00:06,000", "- [Dustin] Hi.\n- [Lucas] Hey."),
)

# file name -> (bytes, expected rejection reason or None when the file must be read)
BAD_INPUTS: dict[str, tuple[bytes, str | None]] = {
    "S01E01.srt": (codecs.BOM_UTF8 + GOOD.replace("\n", "\r\n").encode("utf-8"), None),
    "S01E02.srt": (b"", "empty file (0 bytes)"),
    "S01E03.srt": (random.Random(3).randbytes(8192), "binary content"),
    "S01E04.srt": (
        b"\x00\x01\x00\x00\x00\x10\x01\x00\x00\x04" + random.Random(4).randbytes(4096),
        "binary file (TrueType font), not subtitles",
    ),
    "S01E05.srt": (
        srt(
            ("00:00:01,000 --> 00:00:05,000", "Overlaps the next one."),
            ("00:00:02,000 --> 00:00:03,000", "Starts inside the first."),
            ("00:00:0x,000 --> 00:00:04,000", "Broken start time."),
            ("00:00:09,000 --> 00:00:08,000", "Ends before it starts."),
            ("00:00:10,000 --> ", "No end time."),
        ).encode("utf-8"),
        None,
    ),
    "S01E06.srt": (
        srt(
            ("00:00:01,000 --> 00:00:02,000", "Before."),
            ("00:00:03,000 --> 00:00:04,000", "x" * 1_000_000),
            ("00:00:05,000 --> 00:00:06,000", "After."),
        ).encode("utf-8"),
        None,
    ),
    "S01E07.srt": (srt(("00:00:01,000 --> 00:00:02,000", "Café… “quoted”")).encode("cp1252"), None),
    "S01E08.srt": (srt(("00:00:01,000 --> 00:00:02,000", "No byte-order mark.")).encode("utf-16-le"), None),
    "S01E09.vtt": (b"WEBVTT\n\nNOTE nothing here\n", "no cues found"),
    "S01E10.ass": (b"[Script Info]\nTitle: no events\n", "no cues found"),
    "S01E11.srt": (b"just some words, no timings at all\n", "no cues found"),
    "S01E13.srt": (bytes(range(1, 32)) * 200, "control characters"),
    "notes.txt": (b"not subtitles\n", "no SxxEyy episode in the file name"),
    "S01E12.txt": (b"some notes\n", "not a subtitle format we read"),
}


@pytest.fixture(scope="session")
def bad_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of broken and awkward inputs, generated (none of it is committed)."""
    folder = tmp_path_factory.mktemp("bad_corpus")
    for name, (data, _reason) in BAD_INPUTS.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture(scope="session")
def cleaned_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clean_subtitles' real output on data/sample/subtitles."""
    from containers.processing import clean_subtitles

    out = tmp_path_factory.mktemp("cleaned")
    clean_subtitles.main(
        clean_subtitles.parse_args(
            [
                "--input-dir",
                str(SAMPLE / "subtitles"),
                "--output-dir",
                str(out),
                "--resource-config",
                str(out / "absent.json"),
            ]
        )
    )
    return out


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
