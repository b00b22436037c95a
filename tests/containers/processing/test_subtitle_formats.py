"""Unit: SRT, WebVTT and ASS parsing (timing, text lines, comments, broken timings, signs and drawings)."""

from __future__ import annotations

import pytest

from containers.processing.subtitle_formats import (
    ass_event_problem,
    ass_text_lines,
    detect_format,
    drop_drawings,
    foreign_content,
    has_valid_timing,
    is_sign_style,
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
    ("text", "kept", "drew"),
    [
        (r"{\p1}m 0 0 l 100 0 100 100 0 100{\p0}", r"{\p1}{\p0}", True),
        (r"{\pos(960,200)\p2}m 0 0 b 5 5 9 9 10 10", r"{\pos(960,200)\p2}", True),
        (r"{\p1}m 0 0 l 8 0{\p0}Get down!", r"{\p1}{\p0}Get down!", True),
        (r"{\pos(960,200)}Not a drawing", r"{\pos(960,200)}Not a drawing", False),
        (r"{\pbo5\p0}Baseline offset, no drawing", r"{\pbo5\p0}Baseline offset, no drawing", False),
        (r"{\p1}{\p0}Nothing drawn", r"{\p1}{\p0}Nothing drawn", False),
        ("{\\p" + "0" * 5000 + "}Zero, written long", "{\\p" + "0" * 5000 + "}Zero, written long", False),
    ],
)
def test_drop_drawings_keeps_the_words_and_says_whether_it_drew(text, kept, drew):
    assert drop_drawings(text) == (kept, drew)


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("Sign", True),
        ("signs", True),
        ("Sign-Lab", True),
        ("OP Romaji", True),
        ("ED_Eng", True),
        ("Karaoke", True),
        ("TITLE", True),
        ("typeset_board", True),
        ("Song", True),
        ("Default", False),
        ("Top", False),
        ("Italics", False),
        ("Eddie", False),  # a word that starts with 'ed' is not 'ED'
        ("Designer", False),  # nor one that holds 'sign'
    ],
)
def test_sign_and_song_styles_are_matched_by_whole_words(style, expected):
    assert is_sign_style(style) is expected


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"style": "Default", "effect": "", "text": r"{\an8}Up here."}, None),
        ({"style": "Default", "effect": "", "text": r"{\pos(960,80)\fad(100,100)}Still speech."}, None),
        ({"style": "Sign", "effect": "", "text": r"{\pos(960,200)}HAWKINS LAB"}, "sign_or_song"),
        ({"style": "Default", "effect": "Karaoke", "text": "A lyric."}, "sign_or_song"),
        ({"style": "Default", "effect": "fx", "text": "A templated syllable."}, "sign_or_song"),
        ({"style": "Default", "effect": "Banner;10", "text": "Scrolling words."}, None),
        ({"style": "Default", "effect": "", "text": r"{\k20}La {\K30}la {\kf10}la"}, "sign_or_song"),
        ({"style": "Default", "effect": "", "text": r"{\p1}m 0 0 l 10 0{\p0}"}, "drawing"),
        ({"style": "Sign", "effect": "", "text": r"{\p1}m 0 0 l 10 0{\p0}"}, "drawing"),
        ({"style": "Default", "effect": "", "text": r"{\p1}m 0 0 l 10 0{\p0}Words."}, None),
    ],
)
def test_ass_event_problem_names_drawings_signs_and_songs(event, expected):
    text, drew = drop_drawings(event["text"])
    assert ass_event_problem(event, text, drew) == expected


def test_parse_ass_sets_signs_and_drawings_apart_from_dialogue():
    events = """[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:03.50,0:00:05.00,Sign,,0,0,0,,{\\pos(960,200)}THE ARCADE
Dialogue: 1,0:00:05.00,0:00:06.00,Sign,,0,0,0,,{\\p1}m 0 0 l 100 0 100 100 0 100{\\p0}
Dialogue: 0,0:00:06.00,0:00:07.00,Default,,0,0,0,,{\\an8}Quarters, anyone?
Comment: 0,0:00:07.00,0:00:08.00,Sign,,0,0,0,,a sign left in as a note
"""
    cues = parse_ass(events).cues
    assert [(c.lines, c.problem) for c in cues] == [
        (["THE ARCADE"], "sign_or_song"),
        ([], "drawing"),
        (["Quarters, anyone?"], None),
        (["a sign left in as a note"], "comment"),
    ]


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
