r"""Clean subtitle files (SRT, WebVTT, ASS/SSA) into one utterance a line, with a manifest that adds up.

    python containers/processing/clean_subtitles.py \
        --input-dir data/sample/subtitles --output-dir /tmp/cleaned

Reads every file under --input-dir (UTF-8 with or without BOM, UTF-16, cp1252; CRLF, CR or LF), removes
hearing-impaired annotations, music, tags and dialogue dashes, the credits, adverts and links subtitle
sites add, ASS comments, vector drawings and sign, song or karaoke events (counted as segments removed:
credit, comment, drawing, sign_or_song), splits two-speaker cues,
extracts speaker labels, and writes `cues.jsonl` and `manifest.json` (docs/contracts.md, CleanSubtitles).
The cast file (--characters, default conf/characters.yaml of the code bundle this script is in) decides
whether an upper-case bracket ('[JOYCE] Will?') is a speaker or a sound ('[SCREAMS] Run!'), and whether a
name with a manner ('[Eleven whispering]', '[Dustin over walkie-talkie]') is one. A file that
cannot be read is listed with its reason and the rest goes on: whatever goes wrong while reading one
file (an encoding, a format, content that is another format under a subtitle name, a name that is not
UTF-8) rejects that file alone. Symbolic links that leave the input folder, symlink loops, broken links,
links to folders and special files (FIFOs, devices) are listed as rejected, never followed or opened.
When the job runs on several instances (SageMaker shards the input by S3 key), each writes
`cues-<host>.jsonl` and `manifest-<host>.json`.

Accounting, checked by the tests: files_read + files_rejected = files_seen, and over all read files
cues_in + segments_added_by_split = utterances_out + sum(segments_removed).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import stat
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from containers.common.cli import add_flag
from containers.common.errors import MissingInputError, run_main
from containers.common.io import setup_logging, write_json
from containers.processing.characters import BUNDLED_CAST_FILE, load_cast
from containers.processing.decoding import UnreadableFileError, decode_subtitle_bytes
from containers.processing.episodes import episode_key, parse_episode
from containers.processing.site_credits import is_site_credit
from containers.processing.subtitle_formats import (
    detect_format,
    foreign_content,
    has_valid_timing,
    parse_subtitles,
)
from containers.processing.subtitle_text import clean_cue

LOG = logging.getLogger("clean_subtitles")
RESOURCE_CONFIG = Path("/opt/ml/config/resourceconfig.json")
DEFAULT_CHARACTERS = BUNDLED_CAST_FILE
MAX_FILE_BYTES = 50 * 1024 * 1024  # a subtitle file is kilobytes; anything this big is not one
ENCODER = json.JSONEncoder(ensure_ascii=False)  # built once: json.dumps with options builds one per call
FORMAT_NAMES = {"srt": "an SRT", "vtt": "a WebVTT", "ass": "an ASS/SSA"}  # for "is it really ... file?"
MAX_REASON_CHARS = 300  # an unexpected error's message can be as long as the input that caused it


@dataclass(frozen=True)
class InputFile:
    """One entry found under the input folder; `refused` says why it is listed but not opened."""

    path: Path
    relative: str  # POSIX path below the input folder, as the manifest names it
    refused: str | None = None


@dataclass(frozen=True)
class CleanArguments:
    """The script's arguments, checked before any file is read."""

    input_dir: Path
    output_dir: Path
    min_chars: int = 1
    max_line_chars: int = 2000
    resource_config: Path = RESOURCE_CONFIG
    characters: Path | None = None

    def __post_init__(self) -> None:
        if self.min_chars < 0:
            raise ValueError(f"--min-chars {self.min_chars} is negative")
        if self.max_line_chars < max(self.min_chars, 1):
            raise ValueError(
                f"--max-line-chars {self.max_line_chars} is below --min-chars {self.min_chars}: "
                "every line would be removed"
            )


def parse_args(argv: list[str] | None = None) -> CleanArguments:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_flag(parser, "--input-dir", type=Path, default=Path("/opt/ml/processing/input/subtitles"))
    add_flag(parser, "--output-dir", type=Path, default=Path("/opt/ml/processing/output/cleaned"))
    add_flag(parser, "--min-chars", type=int, default=1, help="utterances shorter than this are removed")
    add_flag(parser, "--max-line-chars", type=int, default=2000, help="longer lines are removed as too_long")
    add_flag(parser, "--resource-config", type=Path, default=RESOURCE_CONFIG, help="SageMaker's host list")
    add_flag(
        parser,
        "--characters",
        type=Path,
        default=None,
        help=f"cast file: its names make '[JOYCE]', '[Eleven whispering]', '[Dustin over radio]' "
        f"speakers (default {DEFAULT_CHARACTERS}, "
        "skipped with a warning when absent; a path given here must exist)",
    )
    return CleanArguments(**vars(parser.parse_args(argv)))


def cast_keys(characters: Path | None) -> frozenset[str]:
    """Lower-cased names and aliases (case-sensitive ones included: '[WILL]' is a label, not the verb).

    An explicit path must exist; the default may be missing (a script copied alone), then upper-case
    bracket labels stay annotations and the text is kept.
    """
    if characters is None:
        if not DEFAULT_CHARACTERS.is_file():
            LOG.warning("no cast file at %s: upper-case [NAME] labels are read as sounds", DEFAULT_CHARACTERS)
            return frozenset()
        characters = DEFAULT_CHARACTERS
    cast = load_cast(characters)
    return frozenset(cast.aliases) | frozenset(alias.lower() for alias in cast.exact)


def shard_suffix(resource_config: Path) -> str:
    """'-algo-2' when SageMaker runs this job on several instances, '' on one (or outside SageMaker)."""
    if not resource_config.is_file():
        return ""
    config = json.loads(resource_config.read_text(encoding="utf-8"))
    hosts = config.get("hosts") or []
    return f"-{config['current_host']}" if len(hosts) > 1 else ""


def clean_file(
    path: Path, relative: str, min_chars: int, max_line_chars: int, cast: frozenset[str] = frozenset()
) -> tuple[list[dict], dict]:
    """Rows for cues.jsonl and the file's manifest entry; raises UnreadableFileError with the reason."""
    episode = parse_episode(path)
    if episode is None:
        raise UnreadableFileError(
            "no SxxEyy episode in the file name (e.g. Show.S01E02.srt, or Show - 1x02.srt)"
        )
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UnreadableFileError(f"{size} bytes: too large for a subtitle file (limit {MAX_FILE_BYTES})")
    decoded = decode_subtitle_bytes(path.read_bytes())
    fmt = detect_format(path.suffix, decoded.text)
    if fmt is None:
        raise UnreadableFileError(
            f"not a subtitle format we read ({path.suffix or 'no extension'}): SRT, VTT, ASS/SSA"
        )
    foreign = foreign_content(fmt, decoded.text)
    if foreign:
        raise UnreadableFileError(foreign)
    parsed = parse_subtitles(fmt, decoded.text)
    if not parsed.cues:
        raise UnreadableFileError(
            f"no cues found (read as {fmt}, {decoded.encoding}): is it really {FORMAT_NAMES[fmt]} file?"
        )
    if not has_valid_timing(parsed):
        raise UnreadableFileError(
            f"none of its {len(parsed.cues)} timing line(s) parses (read as {fmt}): "
            f"is it really {FORMAT_NAMES[fmt]} file?"
        )
    rows, removed, fragments = [], Counter(), Counter()
    added_by_split = 0
    for cue in parsed.cues:
        if cue.problem:
            removed[cue.problem] += 1
            continue
        if is_site_credit(cue.lines):  # "Sync and corrections by ... www.addic7ed.com": nobody says it
            removed["credit"] += 1
            continue
        result = clean_cue(cue.lines, cue.speaker, max_line_chars, removed, fragments, cast)
        added_by_split += result.segments - 1
        for utterance in result.utterances:
            if len(utterance.text) < min_chars:
                removed["too_short"] += 1
                continue
            rows.append(
                {
                    "file": relative,
                    "season": episode[0],
                    "episode": episode[1],
                    "index": cue.index,
                    "start_ms": cue.start_ms,
                    "end_ms": cue.end_ms,
                    "speaker": utterance.speaker,
                    "text": utterance.text,
                }
            )
    entry = {
        "file": relative,
        "format": fmt,
        "encoding": decoded.encoding,
        "newline": decoded.newline,
        "cues_in": len(parsed.cues),
        "segments_added_by_split": added_by_split,
        "utterances_out": len(rows),
        "segments_removed": dict(sorted(removed.items())),
        "fragments_removed": dict(sorted(fragments.items())),
        "warnings": {**dict(sorted(parsed.warnings.items())), **{w: 1 for w in decoded.warnings}},
        "speakers_found": sum(1 for row in rows if row["speaker"]),
    }
    return rows, entry


def display_name(relative: str) -> str:
    """The name as the manifest can hold it: bytes that are not UTF-8 shown as \\xNN escapes."""
    return os.fsencode(relative).decode("utf-8", errors="backslashreplace")


def refusal(path: Path, root: Path, relative: str) -> str | None:
    """Why an entry is listed but not opened (see the module docstring), None for a file to read."""
    if display_name(relative) != relative:
        return "file name is not valid UTF-8: rename it (S3 keys and the manifest are UTF-8)"
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except RuntimeError:  # Python 3.11 reports a loop so; later versions raise OSError (ELOOP)
            return "symlink loop: not followed"
        except OSError as exc:
            return f"broken symlink ({exc.strerror or exc}): not followed"
        if not target.is_relative_to(root):
            return f"symlink to {target}, outside the input folder: not followed"
        if target.is_dir():
            return "symlink to a folder: not followed (files below the input folder are read where they are)"
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    if not stat.S_ISREG(mode):
        return "not a regular file (FIFO, socket or device): not opened"
    return None


def list_inputs(input_dir: Path) -> list[InputFile]:
    """Every entry under the folder but its sub-folders, in (season, episode, name) order.

    Walks without following symbolic links: a link is judged by `refusal` like any other entry.
    """
    if not input_dir.is_dir():
        raise MissingInputError(
            f"input folder {input_dir} does not exist; pass --input-dir with your subtitles"
        )
    root = input_dir.resolve()
    found = []
    for folder, dirs, names in os.walk(input_dir, followlinks=False):
        links = [name for name in dirs if (Path(folder) / name).is_symlink()]  # os.walk lists, never enters
        for name in [*names, *links]:
            path = Path(folder) / name
            relative = path.relative_to(input_dir).as_posix()
            found.append(InputFile(path, relative, refusal(path, root, relative)))
    return sorted(found, key=lambda f: (parse_episode(f.path) or (10**6, 0), f.relative))


def summarise(entries: list[dict], rejected: list[dict]) -> dict:
    """Totals over files; the two balance equations hold by construction and are checked by the tests."""
    totals: Counter = Counter()
    removed: Counter = Counter()
    fragments: Counter = Counter()
    for entry in entries:
        totals.update({k: entry[k] for k in ("cues_in", "segments_added_by_split", "utterances_out")})
        removed.update(entry["segments_removed"])
        fragments.update(entry["fragments_removed"])
    by_episode: dict[str, list[str]] = {}
    for entry in entries:
        season, episode = parse_episode(entry["file"])  # type: ignore[misc]  # read files all have one
        by_episode.setdefault(episode_key(season, episode), []).append(entry["file"])
    return {
        # Two files for one episode (an .srt and a .vtt, say) are both cleaned here: they may be on two
        # instances, so the readers of every shard keep one of them (episode_files.py).
        "episodes_with_several_files": {
            key: files for key, files in sorted(by_episode.items()) if len(files) > 1
        },
        "files_seen": len(entries) + len(rejected),
        "files_read": len(entries),
        "files_rejected": len(rejected),
        "cues_in": totals["cues_in"],
        "segments_added_by_split": totals["segments_added_by_split"],
        "utterances_out": totals["utterances_out"],
        "segments_removed": dict(sorted(removed.items())),
        "fragments_removed": dict(sorted(fragments.items())),
    }


def read_one(
    found: InputFile, min_chars: int, max_line_chars: int, cast: frozenset[str]
) -> tuple[list[dict], dict, str | None]:
    """clean_file's rows and entry, or the reason the file is rejected: one file never fails the run."""
    if found.refused:
        return [], {}, found.refused
    try:
        rows, entry = clean_file(found.path, found.relative, min_chars, max_line_chars, cast)
    except UnreadableFileError as exc:
        return [], {}, str(exc)
    except OSError as exc:  # unreadable on disk (permissions, vanished): reported like the others
        return [], {}, f"cannot read the file: {exc.strerror or exc}"
    except Exception as exc:  # the file boundary: a defect on one odd file rejects that file, not the run
        LOG.warning("unexpected error on %s", display_name(found.relative), exc_info=True)
        return [], {}, f"could not be read ({type(exc).__name__}: {exc})"[:MAX_REASON_CHARS]
    return rows, entry, None


def main(args: CleanArguments) -> dict:
    """Clean every file, write cues[-host].jsonl and manifest[-host].json; returns the manifest."""
    files = list_inputs(args.input_dir)
    cast = cast_keys(args.characters)
    suffix = shard_suffix(args.resource_config)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    cues_path = args.output_dir / f"cues{suffix}.jsonl"
    entries, rejected = [], []
    with cues_path.open("w", encoding="utf-8") as out:
        for number, found in enumerate(files, start=1):
            rows, entry, reason = read_one(found, args.min_chars, args.max_line_chars, cast)
            if reason is not None:
                LOG.warning("rejected %s: %s", display_name(found.relative), reason)
                rejected.append({"file": display_name(found.relative), "reason": reason})
                continue
            out.writelines(ENCODER.encode(row) + "\n" for row in rows)
            entries.append(entry)
            if number % 50 == 0:
                LOG.info("cleaned %d/%d files", number, len(files))
    manifest = {"totals": summarise(entries, rejected), "files": entries, "rejected": rejected}
    write_json(args.output_dir / f"manifest{suffix}.json", manifest)
    LOG.info("wrote %s: %s", cues_path, manifest["totals"])
    return manifest


if __name__ == "__main__":
    setup_logging()
    run_main(main, parse_args, LOG)
