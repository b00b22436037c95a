"""transcripts: the character's name as transcripts write it, unnamed speakers' prompts, first lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from containers.processing import prepare_datasets
from containers.processing.characters import BUNDLED_CAST_FILE, build_cast, load_cast
from containers.processing.transcripts import (
    build_pairs,
    read_transcripts,
    speaker_key,
    speaker_matcher,
)

CAST = build_cast(
    {"Eleven": ["El", "Jane"], "Will Byers": {"aliases": ["Zombie Boy"], "case_sensitive": ["Will"]}}
)


def pairs_of(folder: Path, character: str = "Eleven", cast=CAST) -> tuple[list[tuple[str, str]], object]:
    by_episode, stats = build_pairs(read_transcripts(folder), character, 2, cast)
    return [
        (r["messages"][1]["content"], r["messages"][2]["content"])
        for rows in by_episode.values()
        for r in rows
    ], stats


def write(folder: Path, name: str, rows: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("name,line\n" + rows, encoding="utf-8")


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("Eleven", "eleven"),
        ("  ELEVEN ", "eleven"),
        ("Eleven (V.O.)", "eleven"),
        ("ELEVEN  (O.S.) [CONT'D]", "eleven"),
        ("Mrs.  Byers", "mrs. byers"),
        ("(V.O.)", ""),
    ],
)
def test_speaker_key_drops_parentheticals_case_and_spaces(label, key):
    assert speaker_key(label) == key


def test_every_spelling_of_her_name_is_her_and_each_is_counted(tmp_path):
    write(
        tmp_path,
        "transcriptS01E01.csv",
        "Mike,Are you hungry?\nEleven,Yes.\n"
        "Dustin,Where is the gate?\nEl,Lab.\n"
        "Lucas,Can you find him?\nELEVEN,I can.\n"
        "Mike,Where are you?\nEleven (V.O.),In the void.\n"
        "Will,Is it safe?\n Eleven ,Not yet.\n"
        "Nancy,Who are you?\nJane,Nobody.\n"
        "Max,Is she the eleventh?\nElevenses,Tea.\n",  # not a spelling of her name
    )
    pairs, stats = pairs_of(tmp_path)
    assert pairs == [
        ("Are you hungry?", "Yes."),
        ("Where is the gate?", "Lab."),
        ("Can you find him?", "I can."),
        ("Where are you?", "In the void."),
        ("Is it safe?", "Not yet."),
        ("Who are you?", "Nobody."),
    ]
    assert dict(stats.speaker_labels) == {"Eleven": 2, "El": 1, "ELEVEN": 1, "Eleven (V.O.)": 1, "Jane": 1}
    assert sum(stats.speaker_labels.values()) == stats.character_lines == 6


def test_without_a_cast_only_her_own_name_matches(tmp_path):
    write(tmp_path, "S01E01.csv", "Mike,Are you hungry?\nEL,Yes.\nDustin,Where?\nELEVEN (V.O.),Here.\n")
    pairs, stats = pairs_of(tmp_path, cast=None)
    assert pairs == [("Where?", "Here.")]
    assert dict(stats.speaker_labels) == {"ELEVEN (V.O.)": 1}


def test_an_alias_of_another_character_is_not_her():
    matches = speaker_matcher("Eleven", CAST)
    assert matches("el") and matches("JANE (V.O.)")
    assert not matches("Will") and not matches("Zombie Boy") and not matches("Unknown")


def test_a_case_sensitive_alias_matches_a_speaker_label_in_any_case():
    """'Will' is case-sensitive in prose (the verb); a speaker column holds names, so WILL is Will."""
    matches = speaker_matcher("Will Byers", CAST)
    assert matches("WILL") and matches("will") and matches("Zombie Boy (V.O.)")


def test_her_alias_on_the_previous_line_is_the_same_speaker(tmp_path):
    write(tmp_path, "S01E01.csv", "Mike,Hello?\nEl,Mike.\nEleven,Help.\n")
    pairs, stats = pairs_of(tmp_path)
    assert pairs == [("Hello?", "Mike.")]
    assert dict(stats.dropped) == {"previous_line_same_speaker": 1}


def test_a_line_by_unknown_or_nobody_is_still_a_prompt(tmp_path):
    write(
        tmp_path,
        "S01E01.csv",
        'Unknown,Is anybody there?\nEleven,Me.\n,"(whispers) Run, now."\nEleven,No.\n'
        "Mike,Why not?\nEleven,Papa.\n",
    )
    pairs, stats = pairs_of(tmp_path)
    assert pairs == [("Is anybody there?", "Me."), ("Run, now.", "No."), ("Why not?", "Papa.")]
    assert dict(stats.prompt_speakers) == {"named": 1, "unknown_or_empty": 2}


def test_her_line_first_in_the_episode_is_dropped_and_counted(tmp_path):
    """The previous episode's last line is no prompt: the first line of S01E02 has none."""
    write(tmp_path, "transcriptS01E01.csv", "Mike,Goodnight.\n")
    write(tmp_path, "transcriptS01E02.csv", "El,Morning.\nMike,You slept?\nEleven,Yes.\n")
    pairs, stats = pairs_of(tmp_path)
    assert pairs == [("You slept?", "Yes.")]
    assert dict(stats.dropped) == {"no_previous_line": 1}
    assert stats.pairs + sum(stats.dropped.values()) == stats.character_lines == 2


def test_a_stage_direction_only_row_before_her_line_leaves_the_line_before_it_as_prompt(tmp_path):
    write(tmp_path, "S01E01.csv", "Mike,Can you do it?\nUnknown,[lights flicker]\nEleven,(nods) Yes.\n")
    pairs, _ = pairs_of(tmp_path)
    assert pairs == [("Can you do it?", "Yes.")]


def test_the_bundled_cast_names_her_aliases():
    assert speaker_matcher("Eleven", load_cast(BUNDLED_CAST_FILE))("El (V.O.)")


def test_prepare_reports_the_labels_it_took_for_her(tmp_path):
    transcripts = tmp_path / "transcripts"
    for episode in range(1, 5):
        write(
            transcripts, f"transcriptS01E0{episode}.csv", f"Mike,Question {episode}?\nEl,Answer {episode}.\n"
        )
    cast = tmp_path / "cast.yaml"
    cast.write_text("characters:\n  Eleven: [El]\n", encoding="utf-8")
    argv = [
        "--transcripts-dir",
        str(transcripts),
        "--output-dir",
        str(tmp_path / "out"),
        "--datasets",
        "chatbot",
    ]
    manifest = prepare_datasets.main(prepare_datasets.parse_args([*argv, "--characters", str(cast)]))
    assert manifest["chatbot"]["pairs"] == 4
    assert manifest["chatbot"]["speaker_labels"] == {"El": 4}
    assert manifest["chatbot"]["prompt_speakers"] == {"named": 4}


def test_a_cast_file_given_must_exist(tmp_path):
    args = prepare_datasets.parse_args(
        [
            "--transcripts-dir",
            str(tmp_path),
            "--output-dir",
            str(tmp_path),
            "--characters",
            str(tmp_path / "no.yaml"),
        ]
    )
    with pytest.raises(FileNotFoundError, match=r"characters file .*no\.yaml not found"):
        prepare_datasets.cast_file(args.characters)
