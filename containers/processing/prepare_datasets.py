r"""Build the chatbot and location-classifier datasets from transcripts and locations.

    python containers/processing/prepare_datasets.py \
        --transcripts-dir data/sample/transcripts --locations-dir data/sample/locations \
        --output-dir /tmp/datasets

Chatbot: for the configured character, the previous line of the same episode (another speaker) is the
user turn and the character's reply the assistant turn, written as chat messages. Stage directions are
removed, short replies and duplicates dropped, and whole episodes go to train/validation/test (seeded), so
no episode leaks between splits. The character's lines are found under her name and the aliases the cast
file gives her (--characters, default conf/characters.yaml of the code bundle: "El", "ELEVEN (V.O.)").
Locations: text = name + description (wiki furniture cleaned), rows
without a label or text and duplicates skipped and counted, labels too rare for every split handled by
`--rare-labels` (merged into `other` by default), then split stratified by label (seeded) after
de-duplication, with the label map; locations a classifier cannot learn from (no rows, one label, a label
too rare to be in every split) are refused here, before any training. Output folders follow docs/contracts.md
(PrepareChatbotData, PrepareLocationData). `--datasets chatbot` (or `classifier`) builds one of the two
and reads only its input folder: the pipeline runs them as two steps so that each is cached on its own data.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from containers.common.cli import add_flag
from containers.common.errors import InputDataError, run_main
from containers.common.io import setup_logging, write_json, write_jsonl
from containers.common.job_inputs import user_path
from containers.processing.characters import BUNDLED_CAST_FILE, Cast, load_cast
from containers.processing.locations import (
    RARE_LABEL_POLICIES,
    apply_rare_labels,
    check_learnable,
    label_map,
    read_locations,
    rows_needed,
)
from containers.processing.splits import split_episodes, stratified_split
from containers.processing.transcripts import build_pairs, read_transcripts

LOG = logging.getLogger("prepare_datasets")
SPLITS = ("train", "validation", "test")
DATASETS = ("chatbot", "classifier")


@dataclass(frozen=True)
class PrepareArguments:
    """The script's arguments, checked before any file is read."""

    transcripts_dir: Path
    locations_dir: Path
    output_dir: Path
    character: str = "Eleven"
    min_reply_chars: int = 2
    validation_fraction: float = 0.1
    test_fraction: float = 0.15
    seed: int = 42
    datasets: str = "all"
    rare_labels: str = "other"
    characters: Path | None = None

    def __post_init__(self) -> None:
        if self.rare_labels not in RARE_LABEL_POLICIES:
            raise ValueError(
                f"--rare-labels {self.rare_labels!r}: use one of {', '.join(RARE_LABEL_POLICIES)}"
            )
        if self.datasets not in ("all", *DATASETS):
            raise ValueError(f"--datasets {self.datasets!r}: use all or one of {', '.join(DATASETS)}")
        if not self.character.strip():
            raise ValueError("--character is empty: name the speaker whose replies are the assistant turns")
        if self.min_reply_chars < 0:
            raise ValueError(f"--min-reply-chars {self.min_reply_chars} is negative")
        for flag, value in (("validation", self.validation_fraction), ("test", self.test_fraction)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"--{flag}-fraction {value} must be in [0, 1)")
        if self.validation_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                f"--validation-fraction {self.validation_fraction} + --test-fraction {self.test_fraction} "
                "leave nothing to train on: keep their sum below 1"
            )


def parse_args(argv: list[str] | None = None) -> PrepareArguments:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_flag(parser, "--transcripts-dir", type=Path, default=Path("/opt/ml/processing/input/transcripts"))
    add_flag(parser, "--locations-dir", type=Path, default=Path("/opt/ml/processing/input/locations"))
    add_flag(parser, "--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    add_flag(parser, "--character", default="Eleven", help="speaker whose replies are the assistant turns")
    add_flag(
        parser,
        "--characters",
        type=Path,
        default=None,
        help=f"cast file whose aliases of --character count as her name (default {BUNDLED_CAST_FILE}, "
        "skipped with a warning when absent; a path given here must exist)",
    )
    add_flag(parser, "--min-reply-chars", type=int, default=2, help="shorter replies are dropped")
    add_flag(parser, "--validation-fraction", type=float, default=0.1)
    add_flag(parser, "--test-fraction", type=float, default=0.15)
    add_flag(parser, "--seed", type=int, default=42)
    add_flag(
        parser,
        "--datasets",
        choices=("all", *DATASETS),
        default="all",
        help="which datasets to build (chatbot reads only transcripts, classifier only locations)",
    )
    add_flag(
        parser,
        "--rare-labels",
        choices=RARE_LABEL_POLICIES,
        default="other",
        help="a location label with too few rows for every split: merge into 'other', drop, or refuse",
    )
    return PrepareArguments(**vars(parser.parse_args(argv)))


def cast_file(characters: Path | None) -> Cast | None:
    """The cast from --characters (must exist) or the bundled file (may be missing: a script copied alone)."""
    if characters is None:
        if not BUNDLED_CAST_FILE.is_file():
            LOG.warning("no cast file at %s: only --character's own name is matched", BUNDLED_CAST_FILE)
            return None
        characters = BUNDLED_CAST_FILE
    return load_cast(characters)


def chatbot_datasets(args: PrepareArguments) -> tuple[dict[str, list[dict]], dict]:
    """Chat records per split and the report part that explains them."""
    transcripts = read_transcripts(args.transcripts_dir)
    cast = cast_file(args.characters)
    by_episode, stats = build_pairs(transcripts, args.character, args.min_reply_chars, cast)
    with_pairs = [key for key, records in by_episode.items() if records]
    if not with_pairs:
        speakers = Counter(line.speaker for lines in transcripts.values() for line in lines)
        raise InputDataError(
            f"no pairs for character {args.character!r} in {user_path(args.transcripts_dir)}; "
            f"most frequent speakers there: {[name for name, _ in speakers.most_common(8)]}"
        )
    episodes = split_episodes(with_pairs, args.validation_fraction, args.test_fraction, args.seed)
    splits = {name: [r for key in episodes[name] for r in by_episode[key]] for name in SPLITS}
    report = {
        "character": args.character,
        "episodes_read": sorted(transcripts),
        "lines_read": sum(len(lines) for lines in transcripts.values()),
        "character_lines": stats.character_lines,
        "pairs": stats.pairs,
        "dropped": dict(sorted(stats.dropped.items())),
        "speaker_labels": dict(stats.speaker_labels.most_common()),
        "prompt_speakers": dict(sorted(stats.prompt_speakers.items())),
        "episodes": episodes,
        "pairs_per_split": {name: len(rows) for name, rows in splits.items()},
    }
    return splits, report


def classifier_datasets(args: PrepareArguments) -> tuple[dict[str, list[dict]], dict, dict]:
    """Location rows per split, the label map, and the report part (every row read is accounted for)."""
    read = read_locations(args.locations_dir)
    needed = rows_needed(args.validation_fraction, args.test_fraction)
    rows, rare = apply_rare_labels(read.rows, args.rare_labels, needed)
    skipped = Counter(read.skipped)
    if args.rare_labels == "drop" and rare:
        skipped["rare_label"] = sum(rare.values())
    if args.rare_labels == "refuse":
        rare_note = f"labels under {needed} rows: refused if any"
    else:
        action = "merged into 'other'" if args.rare_labels == "other" else "dropped"
        rare_note = f"{len(rare)} labels under {needed} rows ({sum(rare.values())} rows) {action}"
    LOG.info(
        "locations: %d rows read, %d kept; skipped %s; %s (manifest: classifier)",
        read.rows_read,
        len(rows),
        dict(sorted(skipped.items())) or "none",
        rare_note,
    )
    check_learnable(
        rows,
        args.locations_dir,
        args.validation_fraction,
        args.test_fraction,
        merged=rare if args.rare_labels == "other" else None,
        skipped=dict(sorted(skipped.items())),
    )
    splits = stratified_split(rows, "label", args.validation_fraction, args.test_fraction, args.seed)
    report = {
        "rows_read": read.rows_read,
        "skipped": dict(sorted(skipped.items())),
        "label_conflicts": read.label_conflicts,
        "label_spellings": read.label_spellings,
        "rare_labels": {"policy": args.rare_labels, "min_rows": needed, "labels": rare},
        "rows": len(rows),
        "per_split": {
            name: dict(sorted(Counter(r["label"] for r in part).items())) for name, part in splits.items()
        },
    }
    return splits, label_map([r["label"] for r in rows]), report


def main(args: PrepareArguments) -> dict:
    """Write the chosen datasets' folders and report/manifest.json; returns the manifest."""
    chosen = DATASETS if args.datasets == "all" else (args.datasets,)
    out = args.output_dir
    manifest: dict = {
        "seed": args.seed,
        "validation_fraction": args.validation_fraction,
        "test_fraction": args.test_fraction,
        "min_reply_chars": args.min_reply_chars,
    }
    if "chatbot" in chosen:
        chat, chat_report = chatbot_datasets(args)
        for name in SPLITS:
            write_jsonl(out / f"chatbot_{name}" / f"{name}.jsonl", chat[name])
        LOG.info("chatbot pairs for %s: %s", args.character, chat_report["pairs_per_split"])
        manifest["chatbot"] = chat_report
    if "classifier" in chosen:
        classes, labels, class_report = classifier_datasets(args)
        for name in SPLITS:
            write_jsonl(out / f"classifier_{name}" / f"{name}.jsonl", classes[name])
        write_json(out / "classifier_train" / "label_map.json", labels)
        LOG.info(
            "location rows per split: %s", {k: sum(v.values()) for k, v in class_report["per_split"].items()}
        )
        manifest["classifier"] = class_report
    write_json(out / "report" / "manifest.json", manifest)
    return manifest


if __name__ == "__main__":
    setup_logging()
    run_main(main, parse_args, LOG)
