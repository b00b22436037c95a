"""Transcripts (`name,line` CSV, one file per episode) to chatbot pairs for one character.

A pair is the previous line of the same episode, spoken by someone else, as the user turn and the
character's reply as the assistant turn. Stage directions ("(whispers)", "[door slams]") are removed
first; a line that is only a stage direction is no line at all.

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
    """Why each of the character's lines did or did not become a pair (the counts add up)."""

    character_lines: int = 0
    pairs: int = 0
    dropped: Counter = field(default_factory=Counter)


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
    lines: list[Line], character: str, min_reply_chars: int, seen: set[tuple[str, str]], stats: PairStats
) -> list[dict]:
    """Pairs from one episode's lines; `seen` carries (user, reply) across episodes to drop duplicates."""
    wanted = character.casefold()
    records = []
    for index, line in enumerate(lines):
        if line.speaker.casefold() != wanted:
            continue
        stats.character_lines += 1
        previous = lines[index - 1] if index > 0 else None
        if previous is None:
            stats.dropped["no_previous_line"] += 1
        elif previous.speaker.casefold() == wanted:
            stats.dropped["previous_line_same_speaker"] += 1
        elif len(line.text) < min_reply_chars:
            stats.dropped["reply_too_short"] += 1
        elif (previous.text, line.text) in seen:
            stats.dropped["duplicate"] += 1
        else:
            seen.add((previous.text, line.text))
            records.append(chat_record(character, previous.text, line.text, line.season, line.episode))
            stats.pairs += 1
    return records


def build_pairs(
    transcripts: dict[str, list[Line]], character: str, min_reply_chars: int
) -> tuple[dict[str, list[dict]], PairStats]:
    """Pairs per episode key (episodes in sorted order, so duplicates keep their first episode)."""
    stats, seen = PairStats(), set()
    by_episode = {
        key: episode_pairs(transcripts[key], character, min_reply_chars, seen, stats)
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
