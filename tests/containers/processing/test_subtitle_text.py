"""Unit: one cue's lines to utterances, with exact expected outputs."""

from __future__ import annotations

import pytest

from containers.processing.subtitle_text import (
    bracket_speaker,
    clean_cue,
    is_colon_label,
    is_name_label,
    join_open_brackets,
    normalise_speaker,
    split_inline_dashes,
    split_manner_note,
)

CAST = frozenset({"joyce", "hopper", "will", "mrs. wheeler", "jim hopper"})


def said(
    lines: list[str], hint: str | None = None, cast: frozenset[str] = frozenset()
) -> list[tuple[str | None, str]]:
    return [(u.speaker, u.text) for u in clean_cue(lines, hint, cast=cast).utterances]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["Where did you come from?", "Did you run away?"],
            [(None, "Where did you come from? Did you run away?")],
        ),
        (
            ["MIKE: Something is coming.", "Something hungry."],
            [("Mike", "Something is coming. Something hungry.")],
        ),
        (
            ["- [Dustin] That's not fair!", "- [Lucas] It's the rules."],
            [("Dustin", "That's not fair!"), ("Lucas", "It's the rules.")],
        ),
        (
            ["- Ten more minutes, Mom!", "- (groans) Fine."],
            [(None, "Ten more minutes, Mom!"), (None, "Fine.")],
        ),
        (["<i>MAN (on radio): Unit four, respond.</i>"], [("Man", "Unit four, respond.")]),
        (["(MRS. WHEELER CALLING) Mike! It's late!"], [(None, "Mike! It's late!")]),
        (["<i>Will?</i> [wind howling]"], [(None, "Will?")]),
        (["[bicycle bell dinging]", "LUCAS: See you at school."], [("Lucas", "See you at school.")]),
        (['<font color="#ffff00">DUSTIN: Seven counts!</font>'], [("Dustin", "Seven counts!")]),
        (["<v Joyce>It's him.", "I know it.</v>"], [("Joyce", "It's him. I know it.")]),
        (["<v.loud Joyce>No!"], [("Joyce", "No!")]),
        (
            ["- <v Eleven>I can find him.", "- <v Lucas>Yeah, right."],
            [("Eleven", "I can find him."), ("Lucas", "Yeah, right.")],
        ),
        (["- Did you hear that? - I heard it."], [(None, "Did you hear that?"), (None, "I heard it.")]),
        (["MR. CLARKE: Nothing is broken."], [("Mr. Clarke", "Nothing is broken.")]),
        (["Dustin: Guys, wait."], [("Dustin", "Guys, wait.")]),
        (["[Sighs] Fine."], [(None, "Fine.")]),
        (["[SCREAMS] Run!"], [(None, "Run!")]),
        (["At 10:30 we go."], [(None, "At 10:30 we go.")]),
        (["Rock &amp; roll."], [(None, "Rock & roll.")]),
        (["I - I don't know."], [(None, "I - I don't know.")]),
        (["[thunder", "rumbling] Hold on."], [(None, "Hold on.")]),
        (["<b>HOPPER:</b> Nobody touches that fence."], [("Hopper", "Nobody touches that fence.")]),
        (["JOYCE [whispering]: Will?"], [("Joyce", "Will?")]),
        (["[On Radio] Copy that."], [(None, "Copy that.")]),
        (["[Russian] Stop!"], [(None, "Stop!")]),
    ],
)
def test_clean_cue_utterances(lines, expected):
    assert said(lines) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # QA's rows: a sentence or a letter that opens with "Word:" keeps its words and has no speaker.
        (["Listen: we go now."], [(None, "Listen: we go now.")]),
        (["Okay. Bye: see you."], [(None, "Okay. Bye: see you.")]),
        (["Dear Mike: I miss you."], [(None, "Dear Mike: I miss you.")]),
        (["Wait: what?"], [(None, "Wait: what?")]),
        (["Note: the gate is open."], [(None, "Note: the gate is open.")]),
        (["Hey Dustin: over here."], [(None, "Hey Dustin: over here.")]),
        (["OKAY. BYE: SEE YOU."], [(None, "OKAY. BYE: SEE YOU.")]),
        (["Room 4: empty."], [(None, "Room 4: empty.")]),
        (["P.S.: call me."], [(None, "P.S.: call me.")]),
        # Labels that stay labels.
        (["DUSTIN: Mike - come on."], [("Dustin", "Mike - come on.")]),
        (["Mrs. Wheeler: Dinner!"], [("Mrs. Wheeler", "Dinner!")]),
        (["Chief Jim Hopper: Stay put."], [("Chief Jim Hopper", "Stay put.")]),
        (["AGENT 2: Clear."], [("Agent 2", "Clear.")]),
        (
            ["ELEVEN: Friends don't lie.", "MIKE: I know."],
            [("Eleven", "Friends don't lie."), ("Mike", "I know.")],
        ),
        # A manner note after a bracketed name is dropped, as in "MAN (on radio):".
        (["[Hopper On Radio] Unit four."], [("Hopper", "Unit four.")]),
        (["[Hopper, over radio] Unit four."], [("Hopper", "Unit four.")]),
        (["[Joyce In Russian] Stop!"], [("Joyce", "Stop!")]),
        (["[Mike, Dustin] Yeah!"], [("Mike, Dustin", "Yeah!")]),
        # Title-cased sounds are not names.
        (["[Door Creaks] Hello?"], [(None, "Hello?")]),
        (["[Footsteps On Stairs] Who's there?"], [(None, "Who's there?")]),
        (["[Static On Radio] Unit four."], [(None, "Unit four.")]),
        # Upper case in brackets: a speaker only when the cast names it (here no cast is given).
        (["[JOYCE] Will?"], [(None, "Will?")]),
    ],
)
def test_speaker_labels_without_a_cast(lines, expected):
    assert said(lines) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["[JOYCE] Will?"], [("Joyce", "Will?")]),
        (["[WILL] Mom?"], [("Will", "Mom?")]),
        (["[MRS. WHEELER] Mike!"], [("Mrs. Wheeler", "Mike!")]),
        (["[HOPPER ON RADIO] Unit four."], [("Hopper", "Unit four.")]),
        (["- [JOYCE] Will?", "- [HOPPER] Joyce."], [("Joyce", "Will?"), ("Hopper", "Joyce.")]),
        (["[SCREAMS] Run!"], [(None, "Run!")]),
        (["[CRASH] What was that?"], [(None, "What was that?")]),
        (["[KALI] Hello, sister."], [(None, "Hello, sister.")]),  # not in the cast: text kept, no speaker
        (["[JOYCE]"], []),  # nothing said after it: removed as an annotation
        (["(JOYCE) Will?"], [(None, "Will?")]),  # parentheses are always annotations
    ],
)
def test_upper_case_bracket_is_a_speaker_only_when_the_cast_names_it(lines, expected):
    assert said(lines, cast=CAST) == expected


def test_dropped_manner_note_is_counted_as_an_annotation():
    result = clean_cue(["[Hopper On Radio] Unit four."])
    assert dict(result.fragments) == {"speaker_label": 1, "annotation": 1}
    result = clean_cue(["[JOYCE] Will?"], cast=CAST)
    assert dict(result.fragments) == {"speaker_label": 1}
    result = clean_cue(["[JOYCE] Will?"])
    assert dict(result.fragments) == {"annotation": 1}


def test_ass_name_field_is_the_speaker_of_a_single_utterance_only():
    assert said(["Mike, who is it?"], hint="Nancy") == [("Nancy", "Mike, who is it?")]
    assert said(["- One.", "- Two."], hint="Nancy") == [(None, "One."), (None, "Two.")]


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        (["[alarm ringing]"], "annotation"),
        (["(SCREAMS)"], "annotation"),
        (["♪ Neon lights are calling ♪"], "music"),
        (["♪ ♪"], "music"),
        (["# Rolling down the avenue #"], "music"),
        ([], "empty"),
        (["<i></i>"], "empty"),
        (["-"], "empty"),
    ],
)
def test_cue_with_no_dialogue_is_one_removed_segment(lines, category):
    result = clean_cue(lines)
    assert result.utterances == []
    assert dict(result.removed) == {category: 1}
    assert result.segments == 1


def test_segments_balance_for_a_mixed_cue():
    result = clean_cue(["[door slams]", "- [Dustin] Go!", "- (gasps)", "♪ la la ♪"])
    assert [(u.speaker, u.text) for u in result.utterances] == [("Dustin", "Go!")]
    assert dict(result.removed) == {"annotation": 2, "music": 1}
    assert result.segments == 4  # one utterance + three removed segments


def test_too_long_line_is_removed_and_counted():
    result = clean_cue(["x" * 3000, "Still here."], max_line_chars=2000)
    assert [u.text for u in result.utterances] == ["Still here."]
    assert dict(result.removed) == {"too_long": 1}


def test_fragments_count_what_was_stripped_inside_kept_dialogue():
    result = clean_cue(["- <i>DUSTIN: Hi [laughs]</i>", "- Bye."])
    assert dict(result.fragments) == {"tag": 2, "dash": 2, "speaker_label": 1, "annotation": 1}


def test_shared_counters_are_updated_in_place():
    from collections import Counter

    removed, fragments = Counter(), Counter()
    clean_cue(["[beep]"], removed=removed, fragments=fragments)
    clean_cue(["♪ hum ♪"], removed=removed, fragments=fragments)
    assert removed == Counter({"annotation": 1, "music": 1})


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("DUSTIN", "Dustin"),
        ("MR. CLARKE", "Mr. Clarke"),
        ("Dustin", "Dustin"),
        ("  NEWS  ANCHOR ", "News Anchor"),
    ],
)
def test_normalise_speaker(label, expected):
    assert normalise_speaker(label) == expected


def test_label_heuristics():
    assert is_name_label("Dustin") and is_name_label("Mrs. Wheeler")
    assert not is_name_label("door creaks") and not is_name_label("Sighs") and not is_name_label("SCREAMS")
    assert not is_name_label("Thunder Rumbling") and not is_name_label("Glass Shatters")
    assert is_colon_label("NEWS ANCHOR") and is_colon_label("Dustin") and is_colon_label("MR. CLARKE")
    assert is_colon_label("Mrs. Wheeler") and is_colon_label("J.R. Ewing") and is_colon_label("O'Neill")
    assert not is_colon_label("Look at this") and not is_colon_label("123")
    assert (
        not is_colon_label("Listen") and not is_colon_label("Dear Mike") and not is_colon_label("Okay. Bye")
    )
    assert not is_colon_label("Yes") and not is_colon_label("Please") and not is_colon_label("Remember")
    assert not is_colon_label("One Two Three Four")


def test_manner_notes_and_bracket_speakers():
    assert split_manner_note("Hopper On Radio") == ("Hopper", True)
    assert split_manner_note("HOPPER, IN RUSSIAN") == ("HOPPER", True)
    assert split_manner_note("Mike, Dustin") == ("Mike, Dustin", False)
    assert split_manner_note("On Radio") == ("On Radio", False)
    assert bracket_speaker("On Radio") == (None, False)
    assert bracket_speaker("Hopper On Radio") == ("Hopper", True)
    assert bracket_speaker("JOYCE") == (None, False)
    assert bracket_speaker("JOYCE", CAST) == ("JOYCE", False)
    assert bracket_speaker("JIM  HOPPER", CAST) == ("JIM  HOPPER", False)
    assert bracket_speaker("SCREAMS", CAST) == (None, False)


def test_join_open_brackets_and_inline_dashes():
    assert join_open_brackets(["[thunder", "rumbling] Hi", "next"]) == ["[thunder rumbling] Hi", "next"]
    assert join_open_brackets(["(whispers", "quietly", "now) Go.", "[a] b", "c"]) == [
        "(whispers quietly now) Go.",
        "[a] b",
        "c",
    ]
    # An extra closing bracket does not make the next line a continuation; one never closed takes all.
    assert join_open_brackets(["a]", "b", "[never", "c", "d"]) == ["a]", "b", "[never c d"]
    assert join_open_brackets(["([", "])", "x"]) == ["([ ])", "x"]
    assert split_inline_dashes("- A? - B.") == ["- A?", "- B."]
    assert split_inline_dashes("Wait - what?") == ["Wait - what?"]
