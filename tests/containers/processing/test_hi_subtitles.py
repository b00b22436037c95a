"""clean_subtitles on a hearing-impaired SRT in the shape release groups ship, with hand-written expectations.

The fixture (fixtures/Show.S02E01.iNTERNAL.720p.WEB.x264-GRP.HI.srt, 61 cues of original scenes written
for this project) holds the speaker shapes of real HI files: a label alone on the cue's first line with
the words below it ("[Murray]", "[JOYCE]", "ELEVEN:"), lower-case manner notes ("[Dustin over
walkie-talkie]"), a name and a verb ("[Hopper mocks]", "[Powell laughs]"), generic speakers ("[man on
PA]"), and the SRT quirks: cue numbers missing (cues 11-13) and out of order (23-26), `{\\an8}`, `<font
color>`, '.' in the timecodes (cues 40-44), trailing whitespace, an empty cue (9), no blank line after the
final cue. Each utterance's (cue index, speaker, text) is written out below and asserted exactly.
"""

from __future__ import annotations

import codecs
import json
import shutil
from pathlib import Path

import pytest

from containers.processing import extract_entities
from containers.processing.characters import load_cast
from containers.processing.clean_subtitles import cast_keys, clean_file
from tests.containers.processing.conftest import CHARACTERS
from tests.containers.processing.test_clean_subtitles import assert_balanced, run

FIXTURE = Path(__file__).parent / "fixtures" / "Show.S02E01.iNTERNAL.720p.WEB.x264-GRP.HI.srt"

# (cue index, speaker, text): every utterance the file gives, in order. Comments say why where it matters.
EXPECTED = [
    # 1 "[static crackling]": removed
    (2, "Dustin", "Mike, come in. This is a code red."),  # label line with a lower-case manner note
    (3, "Mike", "What kind of code red? It's almost midnight."),
    # 4: the label line is followed by dashed lines: it could name either side, so it names no one
    (4, None, "Something got into the trash cans."),
    (4, "Mike", "Copy. Over."),
    (5, "Dustin", "It hissed at me, Mike."),  # {\an8} removed
    (6, "Karen", "Michael, who are you talking to?"),
    (7, None, "Nobody, Mom!"),
    (7, "Karen", "Lights out. Now."),
    # 8 music, 9 empty, 10 "[school bell ringing]": removed
    (11, "Mr. Clarke", "Okay, people, settle down."),  # cues 11-13 have no number
    (12, "Mr. Clarke", "Today we build a cloud chamber out of a fish tank and dry ice."),
    (13, "Lucas", "Is this on the test?"),
    (13, "Mr. Clarke", "Everything is on the test."),
    # 14 "[students groaning]", 15 "[Door Creaks]": removed
    (16, None, "Is this the A.V. Club?"),  # "[Door Creaks]" alone on a line is a sound, not a speaker
    (17, "Steve Harrington", "Henderson, you forgot your bag."),
    (18, "Dustin", "Thanks. I owe you one."),
    (19, "Joyce", "Will? Honey, is that you?"),  # upper-case label alone on a line, named by the cast
    (20, None, "Mom!"),  # "[SCREAMS]" alone on a line
    # 21 "[lights flickering]", 23 "[phone ringing]": removed
    (22, "Eleven", "He's close."),  # cast name + -ing: how she speaks
    (24, None, "I think the Byers lady called again."),  # "- [Powell laughs]": an action, no speaker
    (25, "Callahan", "Third time this week."),
    (26, None, '"The lights are talking to me, Chief."'),  # "[Hopper mocks]": an action, no speaker
    (27, "Hopper", "Knock it off. Both of you."),  # trailing spaces after the label and the number
    (28, "Hopper", "Where is the key?"),
    (29, "Man", "Chief Hopper to the front desk."),
    (30, None, "Okay. Quiet!"),
    (31, None, "So the... the lights are the message?"),
    # 32 "[dogs barking in distance]": removed
    (33, "Murray", "The Russians love a hardware store, Jim."),
    (34, "Murray", "They buy rope in bulk. Nobody asks why."),  # a label line names both lines below
    # 35 "[Hopper sighs]": removed
    (36, None, "No."),  # "[Hopper sighs]" alone on a line names no one
    # 37 "[arcade machines beeping]": removed
    (38, "Dustin", "Hi, I'm Dustin, and tonight: magnets!"),
    (39, None, "Keep pedaling!"),
    (39, "Dottie", "They're right behind us!"),
    (40, "Axel", "Move it, move it!"),
    (41, "Mike", "See you at home!"),
    (41, "Nancy", "Be back by nine!"),
    (42, None, "Hopper! Do you copy?"),  # "[distorted]" is a note, not a name
    (43, "Robin", "Nobody tells Steve."),
    (44, "Eleven", "I can see him. He is cold."),
    (45, None, "Dear Mike: I kept the porch light on."),
    (46, None, "Get down!"),
    (47, None, "Hello?"),
    (48, None, "We wait here till it stops."),  # "[Rain on roof]": a sound in sentence case
    (49, "Max", "You owe me five bucks."),  # "[Max to Lucas]"
    (50, "Lucas", "No, I don't. Over."),
    (51, "Woman", "All units, stand by."),
    (52, None, "It was never your fault."),  # "[TOMMY]": upper case, not in the cast
    (53, "Will", "Mom?"),
    (53, "Joyce", "I'm right here."),
    (54, "Will Byers", "Mom!"),
    (55, None, "Vodka?"),  # "[Murray]" then two dashed lines: names no one
    (55, None, "Coffee."),
    (56, None, "Mike! Dinner!"),
    (57, "News Anchor", "Power is back in most of Hawkins."),
    (58, None, "Power is back. Wonderful."),  # "[Hopper Mocks]" in title case: an action too
    (59, None, "Listen: nobody goes to the lab alone."),
    (60, "Eleven", "I want to go home now."),  # "ELEVEN:" alone on a line
    # 61 music: removed; the file ends without a blank line or a newline
]


@pytest.fixture(scope="module")
def cleaned() -> tuple[list[dict], dict]:
    return clean_file(FIXTURE, FIXTURE.name, min_chars=1, max_line_chars=2000, cast=cast_keys(CHARACTERS))


def test_every_utterance_has_the_hand_written_speaker_and_text(cleaned):
    rows, _entry = cleaned
    assert [(row["index"], row["speaker"], row["text"]) for row in rows] == EXPECTED


def test_episode_timings_and_counts_of_the_release_style_file(cleaned):
    rows, entry = cleaned
    assert {(row["season"], row["episode"]) for row in rows} == {(2, 1)}
    by_index = {row["index"]: row for row in rows}
    assert (by_index[2]["start_ms"], by_index[2]["end_ms"]) == (63_500, 65_600)
    assert (by_index[42]["start_ms"], by_index[42]["end_ms"]) == (163_500, 165_600)  # '.' timecodes
    assert entry["cues_in"] == 61 and entry["utterances_out"] == len(EXPECTED) == 56
    assert entry["segments_removed"] == {"annotation": 19, "empty": 1, "music": 2}
    assert entry["cues_in"] + entry["segments_added_by_split"] == (
        entry["utterances_out"] + sum(entry["segments_removed"].values())
    )
    assert entry["speakers_found"] == sum(1 for _, speaker, _ in EXPECTED if speaker)
    assert entry["warnings"] == {}


def test_crlf_and_a_byte_order_mark_change_nothing(cleaned, tmp_path):
    rows, _entry = cleaned
    text = FIXTURE.read_text(encoding="utf-8").replace("\n", "\r\n")
    copy = tmp_path / FIXTURE.name
    copy.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    copied, entry = clean_file(copy, copy.name, 1, 2000, cast_keys(CHARACTERS))
    assert (entry["encoding"], entry["newline"]) == ("utf-8-sig", "CRLF")
    assert copied == rows


def test_without_a_cast_file_upper_case_labels_and_cast_manners_name_no_one(tmp_path):
    rows, _entry = clean_file(FIXTURE, FIXTURE.name, 1, 2000, frozenset())
    speakers = {row["index"]: row["speaker"] for row in rows if row["index"] in (2, 19, 22, 29, 49, 54)}
    # "[Dustin over walkie-talkie]" and "[Max to Lucas]": a lower-case note after a word the cast does
    # not vouch for might be "[Rain on roof]"; "[man on PA]" is a generic person either way.
    assert speakers == {2: None, 19: None, 22: None, 29: "Man", 49: None, 54: None}


def test_through_main_the_manifest_balances(tmp_path):
    folder = tmp_path / "subtitles"
    folder.mkdir()
    shutil.copy(FIXTURE, folder / FIXTURE.name)
    manifest = run(folder, tmp_path / "cleaned", "--characters", str(CHARACTERS))
    assert_balanced(manifest)
    assert manifest["rejected"] == []
    written = [json.loads(line) for line in (tmp_path / "cleaned" / "cues.jsonl").open(encoding="utf-8")]
    assert [(row["index"], row["speaker"], row["text"]) for row in written] == EXPECTED


def test_entity_step_credits_only_cast_speakers(cleaned, tmp_path):
    """The network takes an utterance's speaker as present when the cast names it: check the mapping
    of every fixture speaker, and that the graph's nodes come from it and the mentions."""
    rows, _entry = cleaned
    cast = load_cast(CHARACTERS)
    canonical = {row["speaker"]: cast.canonical(row["speaker"]) for row in rows if row["speaker"]}
    assert canonical == {
        "Dustin": "Dustin Henderson",
        "Mike": "Mike Wheeler",
        "Karen": "Karen Wheeler",
        "Mr. Clarke": "Scott Clarke",
        "Lucas": "Lucas Sinclair",
        "Steve Harrington": "Steve Harrington",
        "Joyce": "Joyce Byers",
        "Eleven": "Eleven",
        "Callahan": "Callahan",
        "Hopper": "Jim Hopper",
        "Man": None,
        "Murray": "Murray Bauman",
        "Dottie": None,
        "Axel": None,
        "Nancy": "Nancy Wheeler",
        "Robin": "Robin Buckley",
        "Max": "Max Mayfield",
        "Woman": None,
        "Will": "Will Byers",
        "Will Byers": "Will Byers",
        "News Anchor": None,
    }
    cleaned_dir = tmp_path / "cleaned"
    cleaned_dir.mkdir()
    with (cleaned_dir / "cues.jsonl").open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)
    argv = ["--input-dir", str(cleaned_dir), "--output-dir", str(tmp_path / "entities")]
    summary = extract_entities.main(extract_entities.parse_args([*argv, "--characters", str(CHARACTERS)]))
    assert summary["utterances"] == len(EXPECTED)
    graph = json.loads((tmp_path / "entities" / "graph.json").read_text(encoding="utf-8"))
    nodes = {node["id"] for node in graph["nodes"]}
    assert {name for name in canonical.values() if name} <= nodes
    # Cue 2 (Dustin calling Mike) links the two through its speaker.
    assert any(
        {edge["source"], edge["target"]} == {"Dustin Henderson", "Mike Wheeler"} for edge in graph["edges"]
    )
