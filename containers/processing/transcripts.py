"""Transcripts (`name,line` CSV, one file per episode) to chatbot pairs for one character.

A pair is the previous line of the same episode, spoken by someone else, as the user turn and the
character's reply as the assistant turn. Stage directions ("(whispers)", "[door slams]") are removed
first; a line that is only a stage direction is no line at all. A previous line whose speaker is
"Unknown" or empty is still a prompt: the words were said, only the label is missing.

Transcripts write a speaker's name many ways ("Eleven", "El", "ELEVEN", "Eleven (V.O.)", " Eleven "): a
speaker is the character when the label, without parentheticals, case and extra spaces, is the
character's name or one of its aliases in the cast file (conf/characters.yaml, the file the entity step
reads). The labels that matched are counted, so a report shows what was taken for her.

A transcript the script cannot read is a user error (InputDataError) naming the file and line: bytes
that are not UTF-8 (a cp1252 export), a field over the csv module's limit (usually a quote that never
closes and swallows the rest of the file), a missing header.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from containers.common.errors import InputDataError, MissingInputError
from containers.common.job_inputs import user_path
from containers.processing.characters import Cast
from containers.processing.episodes import episode_key, parse_episode

STAGE_DIRECTION_RE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
SPACES_RE = re.compile(r"\s+")
SYSTEM_PROMPT = "You are {character} from Stranger Things. Answer in character."


@dataclass(frozen=True)
class Line:
    season: int
    episode: int
    speaker: str
    text: str


@dataclass
class PairStats:
    """Why each of the character's lines did or did not become a pair (the counts add up).

    `speaker_labels`: how each matched speaker label was written (its counts add up to character_lines).
    `prompt_speakers`: pairs whose prompt had a known speaker, and those by "Unknown" or nobody.
    """

    character_lines: int = 0
    pairs: int = 0
    dropped: Counter = field(default_factory=Counter)
    speaker_labels: Counter = field(default_factory=Counter)
    prompt_speakers: Counter = field(default_factory=Counter)


UNNAMED_SPEAKERS = frozenset({"", "unknown"})


def speaker_key(label: str) -> str:
    """A speaker label as compared: '  ELEVEN (V.O.) ' -> 'eleven' (parentheticals, case, spaces)."""
    return SPACES_RE.sub(" ", STAGE_DIRECTION_RE.sub(" ", label)).strip().casefold()


@dataclass(frozen=True)
class SpeakerMatcher:
    """Whether a transcript's speaker label names the character (by name or cast alias)."""

    character: str
    keys: frozenset[str]

    def __call__(self, label: str) -> bool:
        return speaker_key(label) in self.keys


def speaker_matcher(character: str, cast: Cast | None = None) -> SpeakerMatcher:
    """The character's own name plus, when the cast file lists it, every alias of the same character.

    A case-sensitive alias ("Will") counts in any case here: a speaker column holds names, not prose.
    """
    keys = {speaker_key(character)}
    canonical = cast.canonical(character) if cast is not None else None
    if canonical is not None and cast is not None:
        keys |= {speaker_key(alias) for alias, name in cast.aliases.items() if name == canonical}
        keys |= {speaker_key(alias) for alias, name in cast.exact.items() if name == canonical}
    return SpeakerMatcher(character, frozenset(keys))


def strip_stage_directions(text: str) -> str:
    """'(whispers) Keep quiet. [door slams]' -> 'Keep quiet.'"""
    return SPACES_RE.sub(" ", STAGE_DIRECTION_RE.sub(" ", text)).strip()


def read_transcript(path: Path) -> list[Line]:
    """One episode's lines, stage directions removed, empty lines left out.

    Raises ValueError when the name has no SxxEyy or the CSV lacks the `name` and `line` columns.
    """
    found = parse_episode(path)
    if found is None:
        raise InputDataError(
            f"{user_path(path)}: the file name must contain the episode as SxxEyy (e.g. S01E02.csv)"
        )
    season, episode = found
    text = decode_utf8(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
        if "name" not in columns or "line" not in columns:
            raise InputDataError(
                f"{user_path(path)}: expected a header with the columns name,line; found {reader.fieldnames}"
            )
        lines = []
        for row in reader:
            text = strip_stage_directions(row[columns["line"]] or "")
            if text:
                speaker = (row[columns["name"]] or "").strip()
                lines.append(Line(season, episode, speaker, text))
    except csv.Error as exc:
        raise InputDataError(f"{user_path(path)}:{reader.line_num}: {csv_reason(exc)}") from exc
    return lines


def decode_utf8(path: Path) -> str:
    """The file as UTF-8 text (a BOM is dropped); not UTF-8 is an InputDataError naming line and byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputDataError(
            f"{user_path(path)}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at column {column}); "
            "save the file as UTF-8 (a Windows export is often cp1252)"
        ) from exc


def csv_reason(exc: csv.Error) -> str:
    """The csv module's message, with what usually causes it when it is the field-size limit."""
    message = str(exc)
    if "field larger than field limit" in message:
        return (
            f'{message}: a field this long is usually a quote (") that opens and never closes; '
            "close it or remove it"
        )
    return f"not valid CSV: {message}"


def system_prompt(character: str) -> str:
    return SYSTEM_PROMPT.format(character=character)


def chat_record(character: str, user: str, reply: str, season: int, episode: int) -> dict:
    """One chat example in the messages format that training and serving both template."""
    return {
        "messages": [
            {"role": "system", "content": system_prompt(character)},
            {"role": "user", "content": user},
            {"role": "assistant", "content": reply},
        ],
        "season": season,
        "episode": episode,
        "character": character,
    }


def episode_pairs(
    lines: list[Line],
    character: str,
    min_reply_chars: int,
    seen: set[tuple[str, str]],
    stats: PairStats,
    is_character: SpeakerMatcher | None = None,
) -> list[dict]:
    """Pairs from one episode's lines; `seen` carries (user, reply) across episodes to drop duplicates.

    `is_character` decides which speaker labels are the character (default: her name, normalised).
    """
    matches = is_character or speaker_matcher(character)
    records = []
    for index, line in enumerate(lines):
        if not matches(line.speaker):
            continue
        stats.character_lines += 1
        stats.speaker_labels[line.speaker.strip()] += 1
        previous = lines[index - 1] if index > 0 else None
        if previous is None:
            stats.dropped["no_previous_line"] += 1
        elif matches(previous.speaker):
            stats.dropped["previous_line_same_speaker"] += 1
        elif len(line.text) < min_reply_chars:
            stats.dropped["reply_too_short"] += 1
        elif (previous.text, line.text) in seen:
            stats.dropped["duplicate"] += 1
        else:
            seen.add((previous.text, line.text))
            records.append(chat_record(character, previous.text, line.text, line.season, line.episode))
            stats.pairs += 1
            named = speaker_key(previous.speaker) not in UNNAMED_SPEAKERS
            stats.prompt_speakers["named" if named else "unknown_or_empty"] += 1
    return records


def build_pairs(
    transcripts: dict[str, list[Line]], character: str, min_reply_chars: int, cast: Cast | None = None
) -> tuple[dict[str, list[dict]], PairStats]:
    """Pairs per episode key (episodes in sorted order, so duplicates keep their first episode).

    With `cast`, the character's aliases there count as her name too (see speaker_matcher).
    """
    stats, seen = PairStats(), set()
    matches = speaker_matcher(character, cast)
    by_episode = {
        key: episode_pairs(transcripts[key], character, min_reply_chars, seen, stats, matches)
        for key in sorted(transcripts)
    }
    return by_episode, stats


def read_transcripts(folder: Path) -> dict[str, list[Line]]:
    """Every *.csv in the folder, keyed by episode (`S01E02`); two files for one episode is an error."""
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise MissingInputError(f"no transcript CSV files (name,line) in {user_path(folder)}")
    out: dict[str, list[Line]] = {}
    for path in files:
        lines = read_transcript(path)
        season, episode = parse_episode(path)  # type: ignore[misc]  # checked by read_transcript
        key = episode_key(season, episode)
        if key in out:
            raise InputDataError(
                f"{user_path(path)}: a second transcript for {key}; keep one file per episode"
            )
        out[key] = lines
    return out
