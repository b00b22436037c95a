"""Clean one cue's text lines into utterances: what is said, and by whom.

Removed: hearing-impaired annotations ([alarm ringing], (SCREAMS)), music (lines with a note sign or
wrapped in '#'), HTML/WebVTT/ASS tags, leading dialogue dashes. Extracted: speaker labels ("[Dustin] hi",
"DUSTIN: hi", "MAN (on radio): hi", WebVTT <v Dustin>). A cue with two dashed lines, or two labelled
lines, is two utterances. Every line of a cue ends either in an utterance or in a removed segment with
its category, so the counts in the manifest add up (see "Accounting" below).

When is a leading label a speaker? A wrong speaker is worse than none (the text is kept either way), so:
- `Name: text`: 1-3 words, no sentence punctuation inside (a period only after a title such as Mr. or an
  initial), no digits unless upper-case, no word from COMMON_WORDS ("Listen: we go now.", "Dear Mike: ...",
  "Okay. Bye: ..." stay dialogue). Mixed case needs every word capitalised; upper case ("DUSTIN:") is the
  usual hearing-impaired style.
- `[Name] text`: mixed case, 1-3 capitalised words, no sound word, not ending in -ing ("[Sighs]",
  "[Thunder Rumbling]" are sounds). Upper case ("[JOYCE] Will?") is ambiguous with "[SCREAMS] Run!" and no
  list of sound words is complete ("[CRASH]", "[SHUDDERS]"), so it is a speaker only when it names someone
  in the cast file (conf/characters.yaml, any alias, any case). A manner note after the name ("[Hopper On
  Radio]", "[Dustin over walkie-talkie]", "[HOPPER, IN RUSSIAN]") is dropped like "MAN (on radio):" and
  counted as an annotation. A lower-case generic speaker ("[man on PA]", "[woman]") is one of
  GENERIC_SPEAKERS.
- A cast name and a verb: "-ing" is the manner of speaking ("[Eleven whispering] Mike." -> Eleven, as is
  "[Hopper to Joyce]"); a verb in the third person is something that person does ("[Hopper mocks]",
  "[Powell laughs]"): removed as an annotation, and the text after it gets no speaker (that person may
  not be the one talking). A lower-case note after a word the cast does not name ("[Rain on roof]") reads
  as a sound in sentence case, unless a comma sets it off ("[Dottie, over radio]").
- A label alone on a line ("[Murray]", or upper-case "DUSTIN:", then the words on the next lines) is the
  speaker of the lines that follow it, up to the next dashed or labelled line. Followed by a dashed line
  ("[Murray]" / "- Hey." / "- What?"), it could name either side: it is removed as an annotation and
  names no one. A mixed-case "Mike:" alone stays text: it may open a letter.

Accounting: a label line that names the following text's speaker ends in that utterance (like a label
on the same line); one that names no one is a removed annotation segment.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

VOICE_RE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>|<\d{1,2}:\d{2}[:.\d]*>|\{\\[^{}]*\}")
ANNOTATION_RE = re.compile(r"\[[^\[\]]*\]|\([^()]*\)")
DASH_RE = re.compile(r"^[-‐–—]+\s*")
INLINE_DASH_RE = re.compile(r"\s+[-‐–—]\s+(?=\S)")
BRACKET_LABEL_RE = re.compile(r"^\[([^\[\]]{1,40})\]\s*(?=\S)")
BARE_LABEL_RE = re.compile(r"\[([^\[\]]{1,40})\]")  # a label alone on its line: "[Murray]"
COLON_LABEL_RE = re.compile(
    r"^([A-Z][A-Za-z0-9.'’ -]{0,30}?)\s*(\([^()]{0,40}\)|\[[^\[\]]{0,40}\])?\s*:\s+(?=\S)"
)
BARE_COLON_RE = re.compile(r"([A-Z][A-Z0-9.'’ -]{0,30}?)\s*(\([^()]{0,40}\)|\[[^\[\]]{0,40}\])?\s*:")
SPACES_RE = re.compile(r"\s+")
WORD_RE = re.compile(r"\w")
MUSIC_SIGNS = ("♪", "♫", "♬", "♩")
NEEDS_WORK = frozenset("[]()<>{}-‐–—:#&♪♫♬♩")

# Bracketed words that are sounds, not names, even when title-cased ("[Sighs] Fine.").
SOUND_WORDS = frozenset(
    [
        "sighs",
        "laughs",
        "laughing",
        "screams",
        "screaming",
        "groans",
        "gasps",
        "grunts",
        "chuckles",
        "coughs",
        "cries",
        "crying",
        "whispers",
        "whispering",
        "sobs",
        "sobbing",
        "music",
        "applause",
        "thunder",
        "static",
        "silence",
        "beeping",
        "panting",
        "shouts",
        "shouting",
        "yells",
        "sniffs",
        "sniffles",
        "stammers",
        "scoffs",
        "exhales",
        "inhales",
        "grunting",
        "growls",
        "growling",
        "roars",
        "roaring",
        "knocking",
        "ringing",
        "crackling",
        "laughter",
        "singing",
        "humming",
        "murmurs",
        "screeching",
        # Things a person does, said of a named person ("[Hopper Mocks]" in title-cased files).
        "mocks",
        "mimics",
        "imitates",
        "mutters",
        "mumbles",
        "grumbles",
        "hums",
        "sings",
        "whimpers",
        "wails",
        "snorts",
        "snickers",
        "giggles",
        "yawns",
        "shushes",
        "whistles",
        "claps",
        "stutters",
        "moans",
        "pants",
        "gulps",
        "shrieks",
        "howls",
        "yelps",
        "squeals",
        "chokes",
        "sneezes",
        "huffs",
        "cackles",
        "exclaims",
        # Title-cased sounds as nouns, often alone on a line above the words ("[Gasp]" / "What was that?").
        "gasp",
        "sigh",
        "scream",
        "cough",
        "grunt",
        "groan",
        "chuckle",
        "sniff",
        "laugh",
        "sob",
        "thud",
        "thump",
        "beep",
        "click",
        "crash",
        "boom",
        "bang",
        "whoosh",
        "clang",
        "rumble",
        "growl",
        "roar",
        "shriek",
        "screech",
        "snore",
        "whimper",
        "hiss",
        "knock",
        "splash",
        "creak",
        "squeak",
        "honk",
        "sirens",
        "gunfire",
    ]
)
# Sound nouns and verbs of title-cased annotations ("[Door Creaks]", "[Footsteps On Stairs]"): any word of
# a bracketed label in SOUND_WORDS or SOUND_HINTS makes it a sound, not a name.
SOUND_HINTS = frozenset(
    {"door", "doors", "footsteps", "glass", "gunshot", "gunshots", "explosion", "engine", "siren", "alarm",
     "phone", "wind", "creaks", "slams", "rings", "shatters", "barks", "beeps", "buzzes", "knocks",
     "rumbles", "thuds", "clatters", "squeaks", "hisses", "whooshes", "crashes", "bangs"}
)  # fmt: skip
# First words of manner and language notes, which are not names either: "[On Radio]", "[Russian]".
# After a name they start the note that is dropped: "[Hopper On Radio]" -> Hopper.
NOTE_WORDS = frozenset(
    {"on", "over", "in", "into", "through", "via", "continues", "continuing", "distorted", "echoing",
     "muffled", "indistinct", "quietly", "russian", "spanish", "german", "french", "chinese", "english"}
)  # fmt: skip
# Lower-case generic speakers of hearing-impaired files ("[man on PA]", "[woman]"): people, never sounds.
GENERIC_SPEAKERS = frozenset(
    {"man", "woman", "men", "women", "boy", "girl", "kid", "announcer", "reporter", "newscaster", "anchor",
     "officer", "guard", "soldier", "agent", "scientist", "doctor", "nurse", "operator", "dispatcher",
     "teacher", "narrator", "voice", "clerk", "host", "dj"}
)  # fmt: skip
# Words that open a sentence or a letter, never a speaker label: "Listen: we go now.", "Dear Mike: ...".
COMMON_WORDS = frozenset(
    {"listen", "look", "okay", "ok", "bye", "goodbye", "dear", "wait", "hey", "hi", "hello", "well", "note",
     "yes", "no", "yeah", "yep", "nope", "please", "remember", "so", "now", "oh", "um", "uh", "thanks",
     "sorry", "see", "warning", "attention", "answer", "question", "reminder", "rule", "step", "lesson",
     "tip", "hint", "fact", "ps", "p.s", "re", "subject", "first", "second", "third", "next", "then",
     "finally", "plus", "also", "but", "and", "or", "because", "anyway", "seriously", "exactly", "fine",
     "right", "alright", "sure", "stop", "come", "go", "guys", "wow", "whoa", "what", "why", "how", "who",
     "where", "when", "this", "that", "here", "there", "the", "a", "my", "our", "your", "welcome", "problem",
     "update", "chapter", "part", "translation", "meaning", "quote", "result", "results", "conclusion"}
)  # fmt: skip
# A word of a label may end in a period only when it is one of these titles or an initial ("J.").
TITLES = frozenset(
    {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "sgt", "lt", "capt", "col", "gen", "det", "rev", "fr"}
)  # fmt: skip


@dataclass
class Utterance:
    speaker: str | None
    text: str


class Piece(NamedTuple):
    """One line (or one side of an inline two-speaker line) after cleaning."""

    text: str
    voice: str | None = None  # WebVTT <v Name>
    dashed: bool = False  # started with a dialogue dash: a new utterance
    label: str | None = None  # speaker label found in the text
    emptied_by: str | None = None  # the removal category when nothing of the line is dialogue, or
    # "label" for a speaker label alone on its line (it names the next line's speaker, see clean_cue)
    noted: bool = False  # a manner note was dropped from that label


@dataclass
class CueResult:
    """What one cue became: utterances, removed segments by category, removed fragments by kind."""

    utterances: list[Utterance] = field(default_factory=list)
    removed: Counter = field(default_factory=Counter)  # may be shared by all cues of a file (fewer objects)
    fragments: Counter = field(default_factory=Counter)
    segments: int = 0  # this cue's utterances + removed segments (at least one)


def normalise_speaker(label: str) -> str:
    """'DUSTIN' -> 'Dustin', 'MR. CLARKE' -> 'Mr. Clarke'; mixed case is kept as written."""
    label = SPACES_RE.sub(" ", label).strip().strip(":").strip()
    return label.title() if label.isupper() else label


def is_name_label(label: str) -> bool:
    """A mixed-case bracketed label is a speaker when it reads as a name (1-3 capitalised words, no sound)."""
    words = label.replace(".", ". ").split()
    if not 1 <= len(words) <= 3 or label.isupper():
        return False
    lowered = [word.lower() for word in words]
    if lowered[0] in NOTE_WORDS or lowered[-1].endswith("ing"):
        return False
    if any(word in SOUND_WORDS or word in SOUND_HINTS for word in lowered):
        return False
    return all(word[0].isupper() for word in words)


def split_manner_note(label: str) -> tuple[str, bool]:
    """'Hopper On Radio' -> ('Hopper', True), 'HOPPER, IN RUSSIAN' -> ('HOPPER', True), 'Dustin' -> same."""
    name, comma, rest = label.partition(",")
    if comma:
        after = rest.split()
        if rest.islower() or (after and after[0].lower() in NOTE_WORDS):
            return name.strip(), True  # "[Mike, Dustin]" (two speakers) is not a note
    words = label.split()
    for position, word in enumerate(words[1:], start=1):
        if word.lower() in NOTE_WORDS:
            return " ".join(words[:position]), True
    return label, False


def _key(words: list[str]) -> str:
    """Words as a cast-file key: lower case, one space, no trailing comma ('JIM,  HOPPER' -> 'jim hopper')."""
    return " ".join(word.strip(",") for word in words).lower()


def cast_name_and_verb(label: str, cast: frozenset[str]) -> tuple[str | None, str]:
    """('Eleven', 'manner') for 'Eleven whispering', ('Hopper', 'action') for 'Hopper mocks', else (None, '').

    The label opens with a capitalised cast name (longest first) and goes on with a word that is not part
    of it: an -ing word is how the name speaks, "to" whom; a lower-case word, or one ending in -s that is
    not a name, is something the person does ("[Mike, Lucas]" is two names, not an action).
    """
    words = label.split()
    if not cast or not label[:1].isupper() or _key(words) in cast:
        return None, ""
    for size in range(min(3, len(words) - 1), 0, -1):
        if _key(words[:size]) not in cast:
            continue
        name, verb = " ".join(words[:size]).rstrip(","), words[size]
        if verb.lower().endswith("ing") or verb.lower() == "to":  # "whispering", "to Joyce": as spoken
            return name, "manner"
        if not words[size - 1].endswith(",") and (
            verb.islower() or (verb.lower().endswith("s") and verb.lower() not in cast)
        ):
            return name, "action"
        return None, ""
    return None, ""


def bracket_speaker(label: str, cast: frozenset[str] = frozenset()) -> tuple[str | None, bool]:
    """The speaker a '[...]' label names (None for a sound or a note), and whether a manner note was dropped.

    Rules in the module docstring: generic people, a cast name with a verb, then mixed case by
    is_name_label and upper case only by the cast (lower-cased aliases).
    """
    name, noted = split_manner_note(label)
    if not name:
        return None, False
    key = _key(name.split())
    if key in GENERIC_SPEAKERS:
        return name.capitalize() if name.islower() else name, noted
    person, kind = cast_name_and_verb(name, cast)
    if kind == "manner":
        return person, True
    if kind == "action":
        return None, False
    if noted and key not in cast and _sentence_case_note(label, name):
        return None, False  # "[Rain on roof]": a sound described in sentence case, not "Rain" speaking
    if name.isupper():
        return (name, noted) if key in cast else (None, False)
    return (name, noted) if is_name_label(name) else (None, False)


def _sentence_case_note(label: str, name: str) -> bool:
    """'Rain on roof' (a lower-case note, no comma) reads as a sentence; 'Hopper On Radio' and
    'Dottie, over radio' read as a name and a note."""
    rest = label[len(name) :]
    return not rest.lstrip().startswith(",") and rest.strip()[:1].islower()


def _is_label_word(word: str, upper: bool) -> bool:
    """One word of a 'Name:' label: no sentence punctuation, not a common word, capitalised in mixed case."""
    core = word[:-1] if word.endswith(".") else word
    if "." in core:  # "J.R." is initials; "Okay.Bye" is not a name
        if not all(len(part) <= 1 for part in core.split(".")):
            return False
    elif word.endswith(".") and len(core) > 1 and core.lower() not in TITLES:
        return False  # "Okay." ends a sentence
    lowered = core.lower()
    if lowered in COMMON_WORDS or not core:
        return False
    if upper:
        return True
    letters = core.replace("'", "").replace("’", "").replace("-", "").replace(".", "")
    return core[0].isupper() and letters.isalpha()


def is_colon_label(label: str) -> bool:
    """'DUSTIN', 'MR. CLARKE', 'NEWS ANCHOR', 'Dustin', 'Mrs. Wheeler' are labels; 'Look at this',
    'Listen', 'Dear Mike', 'Okay. Bye' are not (rules in the module docstring)."""
    words = label.replace(".", ". ").split()
    if not 1 <= len(words) <= 3 or not any(ch.isalpha() for ch in label):
        return False
    if all(len(word.rstrip(".")) <= 1 for word in words):
        return False  # "P.S.:" is initials only, not a name
    upper = label.isupper()
    return all(_is_label_word(word, upper) for word in words)


def join_open_brackets(lines: list[str]) -> list[str]:
    """An annotation opened on one line and closed on the next ('[thunder' / 'rumbling]') becomes one line.

    Linear in the cue's size: the open-bracket balance of the line being built is kept as it grows (not
    recounted over the whole joined text per line), and its parts are joined once. After a bracket that
    never closes, every following line joins it; the result is then removed as too_long.
    """
    if not any("[" in line or "(" in line for line in lines):
        return list(lines)  # nothing opens: nothing joins (most cues)
    groups: list[list[str]] = []
    square = round_ = 0  # '[' minus ']' and '(' minus ')' over the group being built
    for line in lines:
        if not groups or (square <= 0 and round_ <= 0):
            groups.append([line])
            square = round_ = 0
        else:
            groups[-1].append(line)
        square += line.count("[") - line.count("]")
        round_ += line.count("(") - line.count(")")
    return [" ".join(group) for group in groups]


def split_inline_dashes(line: str) -> list[str]:
    """'- Did you hear that? - I heard it.' (two speakers on one line) -> two dashed lines."""
    if not DASH_RE.match(line) or not INLINE_DASH_RE.search(line):
        return [line]
    return ["- " + part for part in INLINE_DASH_RE.split(DASH_RE.sub("", line, count=1))]


def _strip_markup(line: str, result: CueResult) -> tuple[str, str | None]:
    """Tags removed (WebVTT voice kept as the speaker), entities decoded."""
    voice = None
    if "<v" in line:
        match = VOICE_RE.search(line)
        if match:
            voice = match.group(1).strip()
    if "<" in line or "{" in line:
        line, count = TAG_RE.subn("", line)
        if count:
            result.fragments["tag"] += count
    if "&" in line:
        line = html.unescape(line)
    return line.strip(), voice


def _take_label(line: str, result: CueResult, cast: frozenset[str]) -> tuple[str, str | None]:
    """A leading speaker label ('[Dustin] ', 'DUSTIN: ', 'MAN (on radio): ') removed and returned."""
    if line.startswith("["):
        match = BRACKET_LABEL_RE.match(line)
        if match:
            name, noted = bracket_speaker(match.group(1), cast)
            if name:
                result.fragments["speaker_label"] += 1
                if noted:
                    result.fragments["annotation"] += 1
                return line[match.end() :], normalise_speaker(name)
        return line, None
    if ":" in line[:80]:
        match = COLON_LABEL_RE.match(line)
        if match and is_colon_label(match.group(1)):
            result.fragments["speaker_label"] += 1
            if match.group(2):
                result.fragments["annotation"] += 1
            return line[match.end() :], normalise_speaker(match.group(1))
    return line, None


def _is_music(line: str) -> bool:
    return any(sign in line for sign in MUSIC_SIGNS) or (len(line) > 1 and line[0] == "#" and line[-1] == "#")


def clean_cue(
    lines: list[str],
    speaker_hint: str | None = None,
    max_line_chars: int = 2000,
    removed: Counter | None = None,
    fragments: Counter | None = None,
    cast: frozenset[str] = frozenset(),
) -> CueResult:
    """Utterances and removal counts for one cue's raw text lines (see the module docstring).

    `removed` and `fragments` may be a file's running counters: they are updated in place. `cast` holds
    the lower-cased names and aliases that make an upper-case '[JOYCE]' a speaker (cast_label_keys).
    """
    result = CueResult(
        removed=Counter() if removed is None else removed,
        fragments=Counter() if fragments is None else fragments,
    )
    current: Utterance | None = None
    pending: Piece | None = None  # a label alone on its line, waiting for the words it names
    dropped = 0
    for raw in join_open_brackets(lines) if len(lines) > 1 else lines:
        if len(raw) > max_line_chars:
            result.removed["too_long"] += 1
            dropped += 1
            current = None
            continue
        if NEEDS_WORK.intersection(raw):
            pieces: list[Piece] | tuple[Piece] = list(_clean_line(raw, result, cast))
        else:  # fast path: plain dialogue, nothing to strip
            pieces = (Piece(SPACES_RE.sub(" ", raw).strip()),)
        for piece in pieces:
            if piece.emptied_by == "label":
                dropped += _label_names_no_one(result) if pending else 0
                pending = piece
                continue
            if piece.emptied_by:
                result.removed[piece.emptied_by] += 1
                dropped += 1
                continue
            if pending is not None:
                if piece.dashed or piece.label or piece.voice:  # could name either side: names no one
                    dropped += _label_names_no_one(result)
                else:
                    piece = _label_names(pending, piece, result)
                pending = None
            speaker = piece.label or piece.voice
            if current is None or piece.dashed or speaker:
                current = Utterance(speaker, piece.text)
                result.utterances.append(current)
            else:  # a continuation line of the same utterance
                current.text = f"{current.text} {piece.text}"
    dropped += _label_names_no_one(result) if pending else 0  # nothing said after it in this cue
    if not result.utterances and not dropped:
        result.removed["empty"] += 1
        dropped = 1
    if speaker_hint and len(result.utterances) == 1 and result.utterances[0].speaker is None:
        result.utterances[0].speaker = normalise_speaker(speaker_hint)
    result.segments = len(result.utterances) + dropped
    return result


def _label_names(label_line: Piece, following: Piece, result: CueResult) -> Piece:
    """The line after a label alone on its line, with that label as its speaker (counted as a label)."""
    result.fragments["speaker_label"] += 1
    if label_line.noted:
        result.fragments["annotation"] += 1
    return following._replace(label=label_line.label)


def _label_names_no_one(result: CueResult) -> int:
    """A label alone on its line that names no one is removed as an annotation: one removed segment."""
    result.removed["annotation"] += 1
    result.fragments["annotation"] += 1
    return 1


def bare_label(line: str, cast: frozenset[str]) -> tuple[str, bool] | None:
    """(speaker, manner note dropped) when the whole line is a speaker label: '[Murray]', '[JOYCE]', or
    an upper-case 'DUSTIN:' / 'MAN (ON RADIO):' ('Dear Mike:' alone opens a letter: mixed case stays text)."""
    if line.startswith("["):
        match = BARE_LABEL_RE.fullmatch(line)
        name, noted = bracket_speaker(match.group(1), cast) if match else (None, False)
        return (name, noted) if name else None
    if line.endswith(":"):
        match = BARE_COLON_RE.fullmatch(line)
        if match and is_colon_label(match.group(1)):
            return match.group(1), bool(match.group(2))
    return None


def _clean_line(raw: str, result: CueResult, cast: frozenset[str]) -> Iterator[Piece]:
    """The pieces of one raw line: markup, music, dashes, labels and annotations dealt with."""
    line, voice = _strip_markup(raw, result)
    if _is_music(line):
        result.fragments["music"] += 1
        yield Piece("", voice, emptied_by="music")
        return
    for piece in split_inline_dashes(line):
        dashed = False
        if DASH_RE.match(piece):
            piece, dashed = DASH_RE.sub("", piece, count=1), True
            result.fragments["dash"] += 1
        bare = bare_label(piece.strip(), cast)
        if bare:
            yield Piece("", voice, dashed, normalise_speaker(bare[0]), "label", bare[1])
            continue
        piece, label = _take_label(piece, result, cast)
        had_annotation = False
        if "[" in piece or "(" in piece:
            piece, count = ANNOTATION_RE.subn(" ", piece)
            if count:
                had_annotation = True
                result.fragments["annotation"] += count
            piece, label2 = _take_label(piece.strip(), result, cast)  # "(on radio) MAN: ..." order
            label = label or label2
        text = SPACES_RE.sub(" ", piece).strip()
        text = DASH_RE.sub("", text) if text.startswith(("-", "–", "—")) else text
        if not WORD_RE.search(text):
            yield Piece("", voice, dashed, label, "annotation" if had_annotation else "empty")
            continue
        yield Piece(text, voice, dashed, label)
