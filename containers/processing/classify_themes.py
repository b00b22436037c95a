r"""Theme scores per line and per episode from the cleaned utterances, by zero-shot NLI or by a lexicon.

    python containers/processing/classify_themes.py --input-dir /tmp/cleaned --output-dir /tmp/themes \
        --themes conf/themes.yaml --method lexicon
    python containers/processing/classify_themes.py ... --method nli --model-id facebook/bart-large-mnli

Two methods (themes.method in conf/<env>.yaml), one output format:
- nli (dev, prod): each episode's utterances (at most --max-utterances-per-episode, spread evenly over the
  episode) are grouped into premises of --utterances-per-premise consecutive lines; an MNLI model scores
  every premise against each theme's hypothesis (nli.py). A pretrained model carries the signal; `tiny:nli`
  runs the same code offline with a random model, so its scores are flat.
- lexicon (local): every utterance against each theme's keywords and description (lexicon.py): no model,
  signal on any corpus, and the terms behind each score.
An episode's score for a theme is the mean over its passages (premises or lines). An episode with several
files (an .srt and a .vtt, a plain and a hearing-impaired file) is scored on one (episode_files.py;
themes.json lists the files set aside). Writes themes.csv
(episode x theme), themes.json, theme_lines.jsonl (each episode's strongest --lines-per-theme passages per
theme, with the terms matched) and themes.png (docs/contracts.md, ClassifyThemes).
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from containers.common.cli import add_flag
from containers.common.errors import run_main
from containers.common.io import read_jsonl_dir, setup_logging, write_json, write_jsonl
from containers.processing.episode_files import one_file_per_episode
from containers.processing.episodes import episode_key
from containers.processing.themes_file import ThemesFile, load_themes
from containers.processing.themes_plot import plot_heatmap

LOG = logging.getLogger("classify_themes")
METHODS = ("nli", "lexicon")
Episode = tuple[int, int]


@dataclass(frozen=True)
class Passage:
    """What gets one score per theme: an utterance (lexicon) or a premise of consecutive ones (nli)."""

    file: str
    index: int  # cue index of its first utterance
    speaker: str | None
    text: str


@dataclass(frozen=True)
class Scored:
    """scores[passage][theme]; matched[passage][theme]: the lexicon terms found (empty lists for nli)."""

    scores: list[list[float]]
    matched: list[list[list[str]]]


@dataclass(frozen=True)
class ThemesArguments:
    """The script's arguments, checked before any file is read or any model loaded."""

    input_dir: Path
    output_dir: Path
    themes: Path
    method: str = "nli"
    model_id: str = "facebook/bart-large-mnli"
    batch_size: int = 16
    max_utterances_per_episode: int = 400
    utterances_per_premise: int = 5
    lines_per_theme: int = 3

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"--method {self.method!r}: use one of {', '.join(METHODS)}")
        for flag, value in (
            ("batch-size", self.batch_size),
            ("max-utterances-per-episode", self.max_utterances_per_episode),
            ("utterances-per-premise", self.utterances_per_premise),
        ):
            if value < 1:
                raise ValueError(f"--{flag} must be at least 1, got {value}")
        if self.lines_per_theme < 0:
            raise ValueError(f"--lines-per-theme must be 0 or more, got {self.lines_per_theme}")


def parse_args(argv: list[str] | None = None) -> ThemesArguments:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_flag(parser, "--input-dir", type=Path, default=Path("/opt/ml/processing/input/cleaned"))
    add_flag(parser, "--output-dir", type=Path, default=Path("/opt/ml/processing/output/themes"))
    add_flag(parser, "--themes", type=Path, default=Path("/opt/ml/processing/input/code/conf/themes.yaml"))
    add_flag(parser, "--method", choices=METHODS, default="nli", help="nli (a model) or lexicon (no model)")
    add_flag(
        parser, "--model-id", default="facebook/bart-large-mnli",
        help="nli only: an MNLI model, Hub id, folder or tiny:nli",
    )  # fmt: skip
    add_flag(
        parser, "--batch-size", type=int, default=16, help="nli: (premise, hypothesis) pairs per forward pass"
    )
    add_flag(parser, "--max-utterances-per-episode", type=int, default=400, help="nli only (its cost)")
    add_flag(
        parser, "--utterances-per-premise", type=int, default=5, help="nli: consecutive lines per premise"
    )
    add_flag(
        parser, "--lines-per-theme", type=int, default=3,
        help="strongest passages per episode and theme written to theme_lines.jsonl",
    )  # fmt: skip
    return ThemesArguments(**vars(parser.parse_args(argv)))


def spread(items: list, limit: int) -> list:
    """At most `limit` items, evenly spaced over the list (deterministic, keeps the episode's arc)."""
    if limit < 1:
        raise ValueError(f"--max-utterances-per-episode must be at least 1, got {limit}")
    if len(items) <= limit:
        return list(items)
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def premises(texts: list[str], per_premise: int) -> list[str]:
    """Consecutive utterances joined into premises of `per_premise` lines."""
    if per_premise < 1:
        raise ValueError(f"--utterances-per-premise must be at least 1, got {per_premise}")
    return [" ".join(texts[i : i + per_premise]) for i in range(0, len(texts), per_premise)]


def episode_rows(rows: list[dict]) -> dict[Episode, list[dict]]:
    """Utterances per episode in cue order (a two-speaker cue keeps its speakers' order)."""
    grouped: dict[Episode, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[(row["season"], row["episode"])].append(row)
    return {
        key: sorted(items, key=lambda r: (r["file"], r["index"])) for key, items in sorted(grouped.items())
    }


def line_passages(rows: list[dict]) -> list[Passage]:
    return [Passage(r["file"], r["index"], r.get("speaker"), r["text"]) for r in rows]


def premise_passages(rows: list[dict], limit: int, per_premise: int) -> list[Passage]:
    """Premises over an even spread of the episode; each names its first utterance."""
    kept = spread(rows, limit)
    texts = premises([r["text"] for r in kept], per_premise)
    firsts = kept[::per_premise]
    return [
        Passage(first["file"], first["index"], None, text) for first, text in zip(firsts, texts, strict=True)
    ]


def score_lexicon(spec: ThemesFile, passages: dict[Episode, list[Passage]]) -> dict[Episode, Scored]:
    """Lexicon scores, term weights from the whole corpus (every episode's lines at once)."""
    from containers.processing.lexicon import build_lexicon, score_lines

    keys = list(passages)
    flat = [p.text for key in keys for p in passages[key]]
    result = score_lines(build_lexicon(spec), flat)
    out, start = {}, 0
    for key in keys:
        end = start + len(passages[key])
        out[key] = Scored(result.scores[start:end], result.matched[start:end])
        start = end
    return out


def score_nli(
    spec: ThemesFile, passages: dict[Episode, list[Passage]], model_id: str, batch_size: int
) -> dict[Episode, Scored]:
    """Entailment probability of each theme's hypothesis, per premise."""
    from containers.processing.nli import entailment_scores, load_nli

    hypotheses = spec.hypotheses()
    model, tokenizer = load_nli(model_id, [p.text for ps in passages.values() for p in ps] + hypotheses)
    out = {}
    for number, (key, items) in enumerate(passages.items(), start=1):
        matrix = entailment_scores(model, tokenizer, [p.text for p in items], hypotheses, batch_size)
        out[key] = Scored(matrix, [[[] for _ in hypotheses] for _ in items])
        LOG.info("episode %d/%d %s scored", number, len(passages), episode_key(*key))
    return out


def mean_scores(matrix: list[list[float]], themes: list[str]) -> dict[str, float]:
    if not matrix:
        return {theme: 0.0 for theme in themes}
    return {theme: round(sum(row[j] for row in matrix) / len(matrix), 6) for j, theme in enumerate(themes)}


def strongest_lines(
    key: Episode, items: list[Passage], scored: Scored, themes: list[str], per_theme: int
) -> list[dict]:
    """Each theme's `per_theme` highest-scoring passages of one episode (score above 0), best first."""
    rows = []
    for j, theme in enumerate(themes):
        order = sorted(range(len(items)), key=lambda i: -scored.scores[i][j])
        for rank, i in enumerate([i for i in order if scored.scores[i][j] > 0][:per_theme], start=1):
            passage = items[i]
            rows.append(
                {
                    "theme": theme, "season": key[0], "episode": key[1], "episode_key": episode_key(*key),
                    "rank": rank, "score": round(scored.scores[i][j], 6), "file": passage.file,
                    "index": passage.index, "speaker": passage.speaker, "text": passage.text,
                    "matched": scored.matched[i][j],
                }
            )  # fmt: skip
    return rows


def write_csv(path: Path, table: list[dict], themes: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["season", "episode", "episode_key", *themes])
        for row in table:
            writer.writerow(
                [row["season"], row["episode"], row["episode_key"], *(row["scores"][t] for t in themes)]
            )


def main(args: ThemesArguments) -> dict:
    """Score every episode, write themes.csv/json/png and theme_lines.jsonl; returns the JSON written."""
    spec = load_themes(args.themes)
    themes = spec.names
    choice = one_file_per_episode(read_jsonl_dir(args.input_dir, "cues*.jsonl"))
    LOG.info("%s", choice.log_line())
    episodes = episode_rows(choice.rows)
    if args.method == "lexicon":
        passages = {key: line_passages(rows) for key, rows in episodes.items()}
        scored = score_lexicon(spec, passages)
    else:
        passages = {
            key: premise_passages(rows, args.max_utterances_per_episode, args.utterances_per_premise)
            for key, rows in episodes.items()
        }
        scored = score_nli(spec, passages, args.model_id, args.batch_size)
    table, lines = [], []
    for key, items in passages.items():
        used = (
            len(items)
            if args.method == "lexicon"
            else min(len(episodes[key]), args.max_utterances_per_episode)
        )
        table.append(
            {
                "season": key[0], "episode": key[1], "episode_key": episode_key(*key),
                "utterances_scored": used, "passages": len(items),
                "scores": mean_scores(scored[key].scores, themes),
            }
        )  # fmt: skip
        lines += strongest_lines(key, items, scored[key], themes, args.lines_per_theme)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "themes.csv", table, themes)
    model_id = args.model_id if args.method == "nli" else None
    result = {
        "method": args.method, "model_id": model_id, "hypothesis_template": spec.hypothesis_template,
        "themes": themes, "episodes": table, "files_set_aside": choice.set_aside,
    }  # fmt: skip
    write_json(out / "themes.json", result)
    write_jsonl(out / "theme_lines.jsonl", lines)
    source = f"zero-shot NLI, {args.model_id}" if args.method == "nli" else "lexicon"
    plot_heatmap(out / "themes.png", table, themes, f"Themes per episode ({source})", args.method)
    LOG.info("%d episodes x %d themes (%s); %d strongest lines", len(table), len(themes), source, len(lines))
    return result


if __name__ == "__main__":
    setup_logging()
    run_main(main, parse_args, LOG)
