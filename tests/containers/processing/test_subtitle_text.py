"""Unit: one cue's lines to utterances, with exact expected outputs."""

from __future__ import annotations

import pytest

from containers.processing.subtitle_text import (
    bracket_speaker,
    cast_name_and_verb,
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


# Hearing-impaired shapes of real releases (see the module docstring of subtitle_text for the rules).
CONF_CAST = frozenset({"dustin", "mike", "hopper", "jim hopper", "eleven", "karen", "murray", "joyce"})
CONF_CAST |= frozenset({"will", "will byers", "max", "lucas", "mr. clarke", "steve", "steve harrington"})


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["[Murray]", "Jim, sit down."], [("Murray", "Jim, sit down.")]),
        (
            ["[Murray]", "Jim, sit down.", "You look terrible."],
            [("Murray", "Jim, sit down. You look terrible.")],
        ),
        (["[JOYCE]", "Will?"], [("Joyce", "Will?")]),
        (["[Mr. Clarke]", "Settle down."], [("Mr. Clarke", "Settle down.")]),
        (["- [Murray]", "Drink?"], [("Murray", "Drink?")]),
        (["Hi.", "[Murray]", "Drink?"], [(None, "Hi."), ("Murray", "Drink?")]),
        (["[Murray]", "[sighs]", "Fine."], [("Murray", "Fine.")]),  # a sound between label and words
        (["[Dustin over walkie-talkie]", "Come in."], [("Dustin", "Come in.")]),
        (["[Murray]", "[Joyce]", "Where is he?"], [("Joyce", "Where is he?")]),  # the nearer label wins
        (["<i>[Murray]</i>", "<i>Jim, sit down.</i>"], [("Murray", "Jim, sit down.")]),
        (["{\\an8}[Murray]", "Jim, sit down."], [("Murray", "Jim, sit down.")]),
        (["[Dustin over", "walkie-talkie]", "Come in."], [("Dustin", "Come in.")]),  # bracket over 2 lines
        (["DUSTIN:", "Mike?", "Come in."], [("Dustin", "Mike? Come in.")]),
        (["MAN (on radio):", "Unit four."], [("Man", "Unit four.")]),
        (["MR. CLARKE:", "Class."], [("Mr. Clarke", "Class.")]),
    ],
)
def test_label_alone_on_its_line_names_the_lines_below(lines, expected):
    assert said(lines, cast=CONF_CAST) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # Followed by dashed lines, the label could belong to either side: no one.
        (["[Murray]", "- Vodka?", "- Coffee."], [(None, "Vodka?"), (None, "Coffee.")]),
        (["[Murray]", "- [Hopper] Coffee."], [("Hopper", "Coffee.")]),
        (["[Murray]", "HOPPER: Coffee."], [("Hopper", "Coffee.")]),  # the line names its own speaker
        (["[Murray]", "<v Hopper>Coffee."], [("Hopper", "Coffee.")]),
        # Sounds and notes alone on a line name no one.
        (["[Door Creaks]", "Hello?"], [(None, "Hello?")]),
        (["[SCREAMS]", "Run!"], [(None, "Run!")]),
        (["[Sighs]", "Fine."], [(None, "Fine.")]),
        (["[Thunder Rumbling]", "Hold on."], [(None, "Hold on.")]),
        (["[Phone ringing]", "Hello?"], [(None, "Hello?")]),
        (["[Gasp]", "What was that?"], [(None, "What was that?")]),
        (["[Thud] Hello?"], [(None, "Hello?")]),
        (["[distorted]", "Hopper!"], [(None, "Hopper!")]),
        (["[KALI]", "Hello."], [(None, "Hello.")]),  # upper case, not in the cast
        (["[Murray]", "♪ la la ♪"], []),  # nothing said after it
        (["DUSTIN:"], []),  # a label and nothing said: removed, not kept as words
        # A colon line alone stays text unless it is an upper-case name.
        (["Dustin:", "Mike?"], [(None, "Dustin: Mike?")]),  # may open a letter
        (["Dear Mike:", "I miss you."], [(None, "Dear Mike: I miss you.")]),
        (["DEAR MIKE:", "I miss you."], [(None, "DEAR MIKE: I miss you.")]),
        (["NOTE:", "Lab closed."], [(None, "NOTE: Lab closed.")]),
        (["P.S.:", "Call me."], [(None, "P.S.: Call me.")]),
        (["- DUSTIN:", "- Mike?"], [(None, "Mike?")]),
    ],
)
def test_label_alone_on_its_line_names_no_one_where_it_must_not(lines, expected):
    assert said(lines, cast=CONF_CAST) == expected


def test_label_line_accounting():
    named = clean_cue(["[Dustin over walkie-talkie]", "Come in."], cast=CONF_CAST)
    assert named.segments == 1 and dict(named.removed) == {}
    assert dict(named.fragments) == {"speaker_label": 1, "annotation": 1}  # the note is an annotation
    unnamed = clean_cue(["[Murray]", "- Vodka?", "- Coffee."], cast=CONF_CAST)
    assert unnamed.segments == 3 and dict(unnamed.removed) == {"annotation": 1}
    assert dict(unnamed.fragments) == {"annotation": 1, "dash": 2}
    alone = clean_cue(["[JOYCE]"], cast=CONF_CAST)
    assert alone.utterances == [] and alone.segments == 1 and dict(alone.removed) == {"annotation": 1}


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # A cast name and an -ing word: how the person speaks.
        (["[Eleven whispering] Mike."], [("Eleven", "Mike.")]),
        (["[Eleven Whispering] Mike."], [("Eleven", "Mike.")]),
        (["[ELEVEN WHISPERING] Mike."], [("Eleven", "Mike.")]),
        (["[Eleven, whispering] Mike."], [("Eleven", "Mike.")]),
        (["[Will Byers screaming]", "Mom!"], [("Will Byers", "Mom!")]),
        (["[Hopper to Joyce] Get in."], [("Hopper", "Get in.")]),
        # A cast name and a verb: something the person does, and the words may be someone else's.
        (["[Hopper mocks]", "Oh, look at me."], [(None, "Oh, look at me.")]),
        (["[Hopper mocks] Oh, look at me."], [(None, "Oh, look at me.")]),
        (["[Hopper Mocks] Oh, look at me."], [(None, "Oh, look at me.")]),
        (["[HOPPER MOCKS] Oh, look at me."], [(None, "Oh, look at me.")]),
        (["[Eleven whispers] Mike."], [(None, "Mike.")]),
        (["- [Murray laughs]", "- I think so."], [(None, "I think so.")]),
        (["[Hopper sighs]", "No."], [(None, "No.")]),
        # Two names are not a name and a verb.
        (["[Mike, Lucas] Yeah!"], [("Mike, Lucas", "Yeah!")]),
        (["[Steve Harrington] Hi."], [("Steve Harrington", "Hi.")]),
        # Not in the cast: a name with a verb is never a speaker.
        (["[Powell laughs]", "I think so."], [(None, "I think so.")]),
        (["[Powell Laughs] I think so."], [(None, "I think so.")]),
        (["[Powell whispering] I think so."], [(None, "I think so.")]),
        (["[all clamoring]", "Quiet!"], [(None, "Quiet!")]),
        (["[Crowd cheering]", "Go!"], [(None, "Go!")]),
        (["[will screaming] Mom!"], [(None, "Mom!")]),  # a name is capitalised
    ],
)
def test_cast_name_with_a_verb(lines, expected):
    assert said(lines, cast=CONF_CAST) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["[Dustin on TV] Hello."], [("Dustin", "Hello.")]),
        (["[Karen over phone] Mike?"], [("Karen", "Mike?")]),
        (["[Hopper, in Russian] Stop."], [("Hopper", "Stop.")]),
        (["[Dottie, over radio] Copy."], [("Dottie", "Copy.")]),  # a comma marks a note after any name
        (["[Hopper On Radio] Unit four."], [("Hopper", "Unit four.")]),  # title case as before
        # A lower-case note after a word the cast does not vouch for reads as a sentence-case sound.
        (["[Rain on roof] Hello?"], [(None, "Hello?")]),
        (["[Knock on door]", "Who is it?"], [(None, "Who is it?")]),
        (["[Dottie over radio] Copy."], [(None, "Copy.")]),
    ],
)
def test_manner_notes_after_a_name(lines, expected):
    assert said(lines, cast=CONF_CAST) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["[man on PA] Attention."], [("Man", "Attention.")]),
        (["[woman]", "Over here!"], [("Woman", "Over here!")]),
        (["[MAN ON RADIO] Unit four."], [("Man", "Unit four.")]),
        (["[voice over radio] Come in."], [("Voice", "Come in.")]),
        (["[man screams]", "Run!"], [(None, "Run!")]),  # a generic person doing something: a sound
        (["[men shouting] Go!"], [(None, "Go!")]),
    ],
)
def test_generic_speakers(lines, expected):
    assert said(lines) == expected


def test_cast_name_and_verb():
    assert cast_name_and_verb("Eleven whispering", CONF_CAST) == ("Eleven", "manner")
    assert cast_name_and_verb("Steve Harrington laughing", CONF_CAST) == ("Steve Harrington", "manner")
    assert cast_name_and_verb("Hopper mocks", CONF_CAST) == ("Hopper", "action")
    assert cast_name_and_verb("Mike, Lucas", CONF_CAST) == (None, "")
    assert cast_name_and_verb("Steve Harrington", CONF_CAST) == (None, "")
    assert cast_name_and_verb("Mike Lucas", CONF_CAST) == (None, "")  # "Lucas" ends in -s but is a name
    assert cast_name_and_verb("Eleven whispering", frozenset()) == (None, "")
