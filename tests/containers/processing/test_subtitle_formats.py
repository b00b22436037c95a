"""Unit: SRT, WebVTT and ASS parsing (timing, text lines, comments, broken timings)."""

from __future__ import annotations

import pytest

from containers.processing.subtitle_formats import (
    ass_text_lines,
    detect_format,
    foreign_content,
    has_valid_timing,
    parse_ass,
    parse_srt,
    parse_time,
    parse_timing_line,
    parse_vtt,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("00:00:01,000", 1000),
        ("01:02:03.456", 3723456),
        ("02:03.5", 123500),
        ("0:00:00,07", 70),
        ("1:61:00,000", None),
        ("garbage", None),
    ],
)
def test_parse_time(value, expected):
    assert parse_time(value) == expected


def test_parse_timing_line_ignores_cue_settings():
    assert parse_timing_line("00:00:01.000 --> 00:00:02.500 align:start position:10%") == (1000, 2500)
    assert parse_timing_line("00:00:0x,000 --> 00:00:02,000") is None
    assert parse_timing_line("00:00:01,000 --> ") is None


SRT = (
    "1\n00:00:01,000 --> 00:00:02,000\nHello.\nSecond line.\n\n"
    "2\n00:00:03,000 --> 00:00:04,000\n12\n\n"
    "3\n00:00:05,000 --> 00:00:06,000\nBye.\n"
)


def test_parse_srt_cues_and_number_lines():
    parsed = parse_srt(SRT)
    assert [(c.index, c.start_ms, c.end_ms, c.lines) for c in parsed.cues] == [
        (1, 1000, 2000, ["Hello.", "Second line."]),
        (2, 3000, 4000, ["12"]),  # a cue whose dialogue is a number keeps it
        (3, 5000, 6000, ["Bye."]),
    ]
    assert parsed.warnings == {}


def test_parse_srt_without_blank_lines_and_with_a_preamble():
    text = (
        "Ripped by nobody\n1\n00:00:01,000 --> 00:00:02,000\nHello.\n2\n00:00:03,000 --> 00:00:04,000\nBye.\n"
    )
    parsed = parse_srt(text)
    assert [c.lines for c in parsed.cues] == [["Hello."], ["Bye."]]
    assert parsed.warnings == {"text_before_first_cue": 1}


def test_a_number_at_the_end_of_the_last_cue_is_dialogue():
    assert parse_srt("1\n00:00:01,000 --> 00:00:02,000\nCount with me.\n\n3\n").cues[0].lines == [
        "Count with me.",
        "3",
    ]


def test_parse_srt_broken_timing_is_its_own_cue_not_glued_to_the_previous():
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nA\n\n"
        "2\n00:00:0x,000 --> 00:00:04,000\nB\n\n"
        "3\n00:00:05,000 --> 00:00:06,000\nC\n"
    )
    cues = parse_srt(text).cues
    assert [(c.lines, c.problem) for c in cues] == [(["A"], None), (["B"], "bad_timestamp"), (["C"], None)]


def test_parse_srt_counts_overlaps_and_reversed_timings():
    text = (
        "1\n00:00:01,000 --> 00:00:05,000\nA\n\n2\n00:00:02,000 --> 00:00:03,000\nB\n\n"
        "3\n00:00:09,000 --> 00:00:08,000\nC\n"
    )
    parsed = parse_srt(text)
    assert len(parsed.cues) == 3
    assert parsed.warnings == {"overlapping": 1, "end_before_start": 1}


def test_parse_vtt_skips_header_notes_styles_and_identifiers():
    text = (
        "WEBVTT\nKind: captions\n\nNOTE\nnot a cue\n\nSTYLE\n::cue { color: red; }\n\n"
        "intro\n00:01.000 --> 00:02.000 line:85%\n<v Joyce>It's him.\n\nNOTE in between\n\n"
        "00:00:03.000 --> 00:00:04.000\nSecond.\n"
    )
    parsed = parse_vtt(text)
    assert [(c.start_ms, c.end_ms, c.lines) for c in parsed.cues] == [
        (1000, 2000, ["<v Joyce>It's him."]),
        (3000, 4000, ["Second."]),
    ]
    assert parsed.warnings == {}


ASS = """[Script Info]
Title: x

[V4+ Styles]
Format: Name, Fontname
Style: Default,Arial

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Comment: 0,0:00:00.00,0:00:05.00,Default,,0,0,0,,a note to the typesetter
Dialogue: 0,0:00:01.50,0:00:03.20,Default,Mike,0,0,0,,{\\i1}Hello,{\\i0} there.\\NSecond, line.
Dialogue: 0,0:00:0x.50,0:00:03.20,Default,,0,0,0,,Broken.
"""


def test_parse_ass_dialogue_comment_and_broken_events():
    cues = parse_ass(ASS).cues
    assert [(c.index, c.start_ms, c.end_ms, c.lines, c.speaker, c.problem) for c in cues] == [
        (1, 0, 5000, ["a note to the typesetter"], None, "comment"),
        (2, 1500, 3200, ["Hello, there.", "Second, line."], "Mike", None),
        (3, -1, -1, ["Broken."], None, "bad_timestamp"),
    ]


def test_ass_text_lines():
    assert ass_text_lines(r"{\pos(1,2)}A\hB\NC\nD") == ["A B", "C", "D"]


@pytest.mark.parametrize(
    ("suffix", "text", "expected"),
    [
        (".srt", "1\n00:00:01,000 --> ...", "srt"),
        (".txt", "WEBVTT\n\n", "vtt"),
        (".srt", "[Script Info]\n", "ass"),
        (".SSA", "x", "ass"),
        (".sub", "x", None),
    ],
)
def test_detect_format(suffix, text, expected):
    assert detect_format(suffix, text) == expected


HUGE = "9" * 5000  # past Python's 4300-digit int() limit


def test_digit_runs_past_the_int_limit_are_broken_timings_not_errors():
    assert parse_timing_line(f"{HUGE}:00:01,000 --> 00:00:02,000") is None
    assert parse_timing_line(f"00:00:01,000 --> 00:00:02,{HUGE}") is None
    assert parse_time(f"00:{HUGE}:01.000") is None
    ass = f"[Events]\nFormat: Start, End, Text\nDialogue: {HUGE}:00:01.00,0:00:02.00,Hi\n"
    assert [(c.start_ms, c.problem) for c in parse_ass(ass).cues] == [(-1, "bad_timestamp")]
    # A 5000-digit line before the next timing line is not the next cue's number: it stays cue text.
    srt = f"1\n00:00:01,000 --> 00:00:02,000\nHi\n{HUGE}\n00:00:03,000 --> 00:00:04,000\nBye\n"
    assert [c.lines for c in parse_srt(srt).cues] == [["Hi", HUGE], ["Bye"]]
    padded = "1\n00:00:01,000 --> 00:00:02,000\nHi\n002\n00:00:03,000 --> 00:00:04,000\nBye\n"
    assert [c.lines for c in parse_srt(padded).cues] == [["Hi"], ["Bye"]]


@pytest.mark.parametrize(
    ("text", "fmt", "found"),
    [
        ('<?xml version="1.0"?>\n<tt xmlns="ttml">', "srt", "an XML document (TTML/DFXP?)"),
        ('  <tt xml:lang="en"><body/></tt>', "srt", "TTML"),
        ("<!DOCTYPE html><html>", "vtt", "an HTML or XML document"),
        ("<HTML><body>", "srt", "HTML"),
        ("<SAMI><BODY>", "srt", "SAMI"),
    ],
)
def test_markup_under_a_subtitle_name_is_named(text, fmt, found):
    expected = f"content is {found}, not {fmt.upper()}: convert it to SRT, VTT or ASS"
    assert foreign_content(fmt, text) == expected


def test_subtitles_starting_with_a_tag_are_not_markup():
    assert foreign_content("srt", "1\n00:00:01,000 --> 00:00:02,000\n<i>Hi</i>\n") is None
    assert foreign_content("srt", "<i>preamble</i>\n1\n") is None


def test_has_valid_timing():
    assert not has_valid_timing(parse_srt("x --> y\nOne.\n\nz --> w\nTwo.\n"))
    assert has_valid_timing(parse_srt("x --> y\nOne.\n\n00:00:01,000 --> 00:00:02,000\nTwo.\n"))
