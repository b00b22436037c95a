"""Unit: the episode a file name carries, in the shapes release groups and people use."""

from __future__ import annotations

import pytest

from containers.processing.episodes import episode_key, parse_episode


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("S01E01.srt", (1, 1)),
        ("Show.S02E01.iNTERNAL.720p.WEB.x264-GRP.HI.srt", (2, 1)),
        ("show.s1e1.srt", (1, 1)),
        ("Show.S03.E04.1080p.srt", (3, 4)),
        ("Show - 1x01 - Chapter One.srt", (1, 1)),
        ("show_2x09_the_gate.srt", (2, 9)),
        ("Show.4X07.srt", (4, 7)),
        ("Show.S01E01-E02.srt", (1, 1)),  # a double episode reads as its first
        ("Show - 1x01 - 1080x720.srt", (1, 1)),
        ("Show.S02E03.1x05.srt", (2, 3)),  # SxxEyy wins over NxNN
        ("subs/S01E02.srt", (1, 2)),  # only the file name counts
    ],
)
def test_episode_from_release_style_names(name, expected):
    assert parse_episode(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "Show.1080x720.srt",
        "Show.1920x1080.WEB.srt",
        "Show.720p.WEB.x264-GRP.srt",
        "Show.DD5.1x264.srt",  # 3 digits after the x: a codec, not episode 264
        "Show.HEVC.x265.10bit.srt",
        "Show - 1x1.srt",  # one episode digit is too easy to meet by chance
        "Show - 101x01.srt",
        "Chapter One.srt",
        "notes.txt",
    ],
)
def test_resolutions_and_codecs_never_read_as_an_episode(name):
    assert parse_episode(name) is None


def test_episode_key_is_zero_padded():
    assert episode_key(1, 1) == "S01E01"
    assert episode_key(4, 12) == "S04E12"
