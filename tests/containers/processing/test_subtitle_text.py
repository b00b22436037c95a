"""Unit: one cue's lines to utterances, with exact expected outputs."""

from __future__ import annotations

import pytest

from containers.processing.subtitle_text import (
    clean_cue,
    is_colon_label,
    is_name_label,
    join_open_brackets,
    normalise_speaker,
    split_inline_dashes,
)


def said(lines: list[str], hint: str | None = None) -> list[tuple[str | None, str]]:
    return [(u.speaker, u.text) for u in clean_cue(lines, hint).utterances]


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
    assert not is_name_label("Thunder Rumbling")
    assert is_colon_label("NEWS ANCHOR") and is_colon_label("Dustin")
    assert not is_colon_label("Look at this") and not is_colon_label("123")


def test_join_open_brackets_and_inline_dashes():
    assert join_open_brackets(["[thunder", "rumbling] Hi", "next"]) == ["[thunder rumbling] Hi", "next"]
    assert split_inline_dashes("- A? - B.") == ["- A?", "- B."]
    assert split_inline_dashes("Wait - what?") == ["Wait - what?"]
