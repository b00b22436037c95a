r"""The batch transform's input: the cleaned lines of one subtitle file per episode, in one file.

    python containers/processing/prepare_subtitle_lines.py --input-dir /tmp/cleaned --output-dir /tmp/lines

Reads every `cues*.jsonl` shard of CleanSubtitles, keeps one file per episode (episode_files.py: an
episode with an .srt and a .vtt, or a plain and a hearing-impaired file, is classified once), and writes
`cues.jsonl` (the kept rows as CleanSubtitles wrote them, in episode, file and cue order: line i of the
transform's `cues.jsonl.out` answers line i here) and `selection.json` (`utterances_in`, `utterances_out`,
`files_set_aside`; docs/contracts.md, PrepareSubtitleLines).

Why a step of its own: the transform runs the model's handler over every object under its S3 prefix, with
no code of ours in between, so the choice must be made before it; and only a job that reads every shard
can make it (CleanSubtitles may run on several instances, each with a share of the files).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from containers.common.cli import add_flag
from containers.common.errors import run_main
from containers.common.io import read_jsonl_dir, setup_logging, write_json
from containers.processing.episode_files import one_file_per_episode

LOG = logging.getLogger("prepare_subtitle_lines")
LINES_FILE = "cues.jsonl"  # the transform reads the prefix <output>/cues: this file, not selection.json
SELECTION_FILE = "selection.json"


@dataclass(frozen=True)
class LinesArguments:
    """The script's arguments."""

    input_dir: Path
    output_dir: Path


def parse_args(argv: list[str] | None = None) -> LinesArguments:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_flag(parser, "--input-dir", type=Path, default=Path("/opt/ml/processing/input/cleaned"))
    add_flag(parser, "--output-dir", type=Path, default=Path("/opt/ml/processing/output/lines"))
    return LinesArguments(**vars(parser.parse_args(argv)))


def line_order(row: dict) -> tuple[int, int, str, int]:
    """Episode, file, cue: CleanSubtitles' own order within a shard, so one shard comes out as it went in."""
    return (row["season"], row["episode"], row["file"], row["index"])


def main(args: LinesArguments) -> dict:
    """Write cues.jsonl and selection.json; returns the selection."""
    rows = read_jsonl_dir(args.input_dir, "cues*.jsonl")
    choice = one_file_per_episode(rows)
    LOG.info("%s", choice.log_line())
    kept = sorted(choice.rows, key=line_order)  # stable: a two-speaker cue keeps its speakers' order
    args.output_dir.mkdir(parents=True, exist_ok=True)
    with (args.output_dir / LINES_FILE).open("w", encoding="utf-8") as out:
        # Keys in the order read, no ASCII escaping: the bytes CleanSubtitles wrote, line for line.
        out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in kept)
    selection = {
        "utterances_in": len(rows),
        "utterances_out": len(kept),
        "files_set_aside": choice.set_aside,
    }
    write_json(args.output_dir / SELECTION_FILE, selection)
    LOG.info("wrote %d of %d lines to %s", len(kept), len(rows), args.output_dir / LINES_FILE)
    return selection


if __name__ == "__main__":
    setup_logging()
    run_main(main, parse_args, LOG)
