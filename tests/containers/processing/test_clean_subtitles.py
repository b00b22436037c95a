"""clean_subtitles: main() on data/sample, on a corpus of bad inputs, sharding, and the manifest's balance."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from containers.processing import clean_subtitles
from tests.containers.processing.conftest import BAD_INPUTS, REPO, SAMPLE, read_rows

LEFTOVERS = re.compile(r"[\[\]()<>{}♪♫#]|^\s*[-–—]|\\N")
# episodes written around one theme each (test_classify_themes), in the three formats
THEMED_FILES = ["S02E02.srt", "S02E03.vtt", "S02E04.ass", "S02E05.srt", "S02E06.vtt"]
THEMED_FILES += ["S03E01.srt", "S03E02.ass", "S03E03.srt", "S03E04.vtt", "S03E05.srt"]
KEYS = {"file", "season", "episode", "index", "start_ms", "end_ms", "speaker", "text"}


def run(input_dir: Path, out: Path, *extra: str) -> dict:
    argv = [
        "--input-dir",
        str(input_dir),
        "--output-dir",
        str(out),
        "--resource-config",
        str(out / "none.json"),
    ]
    return clean_subtitles.main(clean_subtitles.parse_args([*argv, *extra]))


def assert_balanced(manifest: dict) -> None:
    totals = manifest["totals"]
    assert totals["files_read"] + totals["files_rejected"] == totals["files_seen"]
    assert totals["cues_in"] + totals["segments_added_by_split"] == (
        totals["utterances_out"] + sum(totals["segments_removed"].values())
    )
    for entry in manifest["files"]:
        assert entry["cues_in"] + entry["segments_added_by_split"] == (
            entry["utterances_out"] + sum(entry["segments_removed"].values())
        ), entry["file"]


def test_sample_is_clean_and_the_manifest_adds_up(cleaned_sample):
    rows = read_rows(cleaned_sample / "cues.jsonl")
    manifest = json.loads((cleaned_sample / "manifest.json").read_text(encoding="utf-8"))
    assert_balanced(manifest)
    assert manifest["totals"]["files_read"] == 15 and manifest["rejected"] == []
    assert manifest["totals"]["episodes_with_several_files"] == {}
    assert all(set(row) == KEYS for row in rows)
    assert [row["text"] for row in rows if LEFTOVERS.search(row["text"])] == []
    # 198 cues: 2 ASS comments, 1 ASS sign (S01E02's school name), 40 annotations and 11 music cues
    # removed, 14 segments added by splitting two-speaker cues.
    assert manifest["totals"]["utterances_out"] == len(rows) == 158
    encodings = {entry["file"]: (entry["encoding"], entry["newline"]) for entry in manifest["files"]}
    assert encodings == {
        "S01E01.srt": ("utf-8-sig", "CRLF"),
        "S01E02.ass": ("utf-8", "LF"),
        "S01E03.vtt": ("utf-8", "LF"),
        "S01E04.srt": ("utf-16", "LF"),
        "S02E01.srt": ("cp1252", "CR"),
        **dict.fromkeys(THEMED_FILES, ("utf-8", "LF")),
    }


def test_sample_episode_one_exactly(cleaned_sample):
    rows = [r for r in read_rows(cleaned_sample / "cues.jsonl") if r["file"] == "S01E01.srt"]
    assert [(r["index"], r["speaker"], r["text"]) for r in rows] == [
        (2, "Man", "Unit four, respond."),
        (3, "Mike", "Something is coming. Something hungry for blood."),
        (4, "Dustin", "That's not fair!"),
        (4, "Lucas", "It's the rules, man."),
        (6, "Will", "It was a seven. Did it count?"),
        (7, "Dustin", "Seven counts!"),
        (8, None, "Mike! It's late!"),
        (9, None, "Ten more minutes, Mom!"),
        (9, None, "Fine."),
        (11, "Lucas", "See you at school, Byers."),
        (12, None, "Will?"),
        (13, "Hopper", "Nobody goes missing in Hawkins."),
        (14, "Joyce", "He never came home, Jim."),
        (16, "Eleven", "Mike... friend?"),
        (16, "Mike", "Yeah. Friend."),
        (18, None, "Where did you come from? Did you run away?"),
    ]
    assert (rows[0]["season"], rows[0]["episode"], rows[0]["start_ms"], rows[0]["end_ms"]) == (
        1,
        1,
        4100,
        6500,
    )


def test_sample_vtt_voices_and_ass_comments(cleaned_sample):
    rows = read_rows(cleaned_sample / "cues.jsonl")
    vtt = [(r["speaker"], r["text"]) for r in rows if r["file"] == "S01E03.vtt"]
    assert vtt[:3] == [
        ("Joyce", "It's him. It's Will. I know it's him."),
        ("Jonathan", "Mom, you need to sleep."),
        ("Joyce", "No! I need more lights!"),
    ]
    assert ("Eleven", "Friends keep promises.") in vtt
    assert all("NOTE" not in text and "cue" not in text for _, text in vtt)
    ass_entry = next(
        e
        for e in json.loads((cleaned_sample / "manifest.json").read_text())["files"]
        if e["file"] == "S01E02.ass"
    )
    assert ass_entry["segments_removed"]["comment"] == 2
    assert ass_entry["segments_removed"]["sign_or_song"] == 1
    texts = [r["text"] for r in rows if r["file"] == "S01E02.ass"]
    assert not any("typesetter" in t or "TODO" in t or "Timing checked" in t for t in texts)
    assert "HAWKINS MIDDLE SCHOOL" not in texts  # a Sign-styled event: on-screen text, not speech


def test_bad_inputs_each_get_a_reason_and_nothing_is_lost(bad_corpus, tmp_path):
    manifest = run(bad_corpus, tmp_path)
    assert_balanced(manifest)
    reasons = {item["file"]: item["reason"] for item in manifest["rejected"]}
    expected = {name: reason for name, (_, reason) in BAD_INPUTS.items() if reason}
    assert set(reasons) == set(expected)
    for name, reason in expected.items():
        assert reason in reasons[name], (name, reasons[name])
    read = {entry["file"]: entry for entry in manifest["files"]}
    assert set(read) == {name for name, (_, reason) in BAD_INPUTS.items() if reason is None}
    rows = read_rows(tmp_path / "cues.jsonl")
    by_file: dict[str, list[str]] = {}
    for row in rows:
        by_file.setdefault(row["file"], []).append(row["text"])
    assert by_file["S01E01.srt"] == ["First line of dialogue.", "Hi.", "Hey."]  # the BOM does not eat cue 1
    assert by_file["S01E05.srt"] == [
        "Overlaps the next one.",
        "Starts inside the first.",
        "Ends before it starts.",
    ]
    assert read["S01E05.srt"]["segments_removed"] == {"bad_timestamp": 2}
    assert read["S01E05.srt"]["warnings"] == {"end_before_start": 1, "overlapping": 1}
    assert by_file["S01E06.srt"] == ["Before.", "After."]
    assert read["S01E06.srt"]["segments_removed"] == {"too_long": 1}
    assert by_file["S01E07.srt"] == ["Café… “quoted”"] and read["S01E07.srt"]["encoding"] == "cp1252"
    assert by_file["S01E08.srt"] == ["No byte-order mark."]
    assert read["S01E08.srt"]["warnings"] == {"read as UTF-16 without a byte-order mark": 1}


def test_several_instances_write_one_shard_each(tmp_path):
    config = tmp_path / "resourceconfig.json"
    config.write_text(json.dumps({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}))
    clean_subtitles.main(
        clean_subtitles.parse_args(
            [
                "--input-dir",
                str(SAMPLE / "subtitles"),
                "--output-dir",
                str(tmp_path / "out"),
                "--resource-config",
                str(config),
            ]
        )
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "cues-algo-2.jsonl",
        "manifest-algo-2.json",
    ]
    config.write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    assert clean_subtitles.shard_suffix(config) == ""


def test_two_files_for_one_episode_are_both_read_and_flagged(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "S01E01.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHi.\n")
    (folder / "Show.S01E01.vtt").write_text("WEBVTT\n\n00:01.000 --> 00:02.000\nHi.\n")
    totals = run(folder, tmp_path / "out")["totals"]
    assert totals["episodes_with_several_files"] == {"S01E01": ["S01E01.srt", "Show.S01E01.vtt"]}
    assert totals["utterances_out"] == 2


EDGE_SRT = """\ufeff1
00:00:04,000 --> 00:00:05,000
Listen: we go now.

2
00:00:06,000 --> 00:00:07,000
[Hopper On Radio] Unit four.

3
00:00:08,000 --> 00:00:09,000
DUSTIN: Mike - come on.

4
00:00:16,000 --> 00:00:17,000
[JOYCE] Will?

5
00:00:17,000 --> 00:00:18,000
[SCREAMS] Run!

6
00:00:22,000 --> 00:00:23,000
Okay. Bye: see you.

7
00:00:32,000 --> 00:00:33,000
Dear Mike: I miss you.
"""
EDGE_EXPECTED = [
    (1, None, "Listen: we go now."),
    (2, "Hopper", "Unit four."),
    (3, "Dustin", "Mike - come on."),
    (4, "Joyce", "Will?"),
    (5, None, "Run!"),
    (6, None, "Okay. Bye: see you."),
    (7, None, "Dear Mike: I miss you."),
]


@pytest.fixture
def edge_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "S09E09.srt").write_text(EDGE_SRT, encoding="utf-8")
    return folder


def test_speaker_edge_cases_with_the_default_cast_file(edge_folder, tmp_path):
    manifest = run(edge_folder, tmp_path / "out")
    rows = read_rows(tmp_path / "out" / "cues.jsonl")
    assert [(r["index"], r["speaker"], r["text"]) for r in rows] == EDGE_EXPECTED
    assert_balanced(manifest)
    assert manifest["files"][0]["speakers_found"] == 3
    # "[Hopper On Radio]" and "[SCREAMS]" are the two annotations stripped inside kept lines.
    assert manifest["files"][0]["fragments_removed"] == {"annotation": 2, "speaker_label": 3}


def test_cast_file_decides_upper_case_bracket_speakers(edge_folder, tmp_path):
    cast = tmp_path / "characters.yaml"
    cast.write_text("characters:\n  Jim Hopper: [Hopper]\n", encoding="utf-8")
    run(edge_folder, tmp_path / "out", "--characters", str(cast))
    rows = read_rows(tmp_path / "out" / "cues.jsonl")
    expected = [(i, None, t) if i == 4 else (i, s, t) for i, s, t in EDGE_EXPECTED]
    assert [(r["index"], r["speaker"], r["text"]) for r in rows] == expected


SIGNS_FIXTURE = Path(__file__).parent / "fixtures" / "Show.S04E01.1080p.WEB.FANSUB.signs.ass"


def test_fansub_signs_songs_and_drawings_are_counted_not_spoken(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / SIGNS_FIXTURE.name).write_bytes(SIGNS_FIXTURE.read_bytes())
    manifest = run(folder, tmp_path / "out")
    assert_balanced(manifest)
    rows = read_rows(tmp_path / "out" / "cues.jsonl")
    # Positioned dialogue ({\an8}, {\pos} on Default or Top) and a character-named style stay speech;
    # a drawing in front of words loses the drawing only.
    assert [(r["index"], r["speaker"], r["text"]) for r in rows] == [
        (5, None, "Max, the generator is out again."),
        (6, None, "Then we walk to the substation."),
        (8, "Lucas", "Nobody walks to the substation."),
        (10, None, "Get down, all of you!"),
        (16, "Eddie", "Gentlemen, the campaign resumes at dawn."),
        (17, "Steve", "Dawn? Dustin has school."),
    ]
    # Title, Sign, Signs-Radio, Song, OP karaoke, a Karaoke effect, {\kf} tags, a typeset board.
    assert manifest["totals"]["segments_removed"] == {"comment": 1, "drawing": 2, "sign_or_song": 8}
    assert manifest["totals"]["cues_in"] == 17


def test_missing_cast_file_given_explicitly_says_what_to_fix(edge_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"characters file .* not found; pass --characters"):
        run(edge_folder, tmp_path / "out", "--characters", str(tmp_path / "nope.yaml"))


def test_missing_input_folder_says_what_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass --input-dir"):
        run(tmp_path / "nope", tmp_path / "out")


def test_script_runs_alone_with_help():
    done = subprocess.run(
        [sys.executable, str(REPO / "containers/processing/clean_subtitles.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--input-dir" in done.stdout and "--input_dir" in done.stdout


def test_lengths_that_would_remove_every_line_fail_before_reading(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--max-line-chars 3 is below --min-chars 5"):
        clean_subtitles.parse_args(
            ["--input-dir", str(tmp_path / "none"), "--min-chars", "5", "--max-line-chars", "3"]
        )
    with pytest.raises(ValueError, match="--min-chars -1 is negative"):
        clean_subtitles.parse_args(["--min-chars", "-1"])
