r"""Zero-shot theme scores per episode from the cleaned utterances.

    python containers/processing/classify_themes.py --input-dir /tmp/cleaned --output-dir /tmp/themes \
        --themes conf/themes.yaml --model-id tiny:nli

Each episode's utterances (at most --max-utterances-per-episode, spread evenly over the episode) are
grouped into premises of --utterances-per-premise consecutive lines; an NLI model scores every premise
against each theme's hypothesis (template and themes from conf/themes.yaml), and the episode's score for
a theme is the mean entailment probability. Writes themes.csv (episode x theme), themes.json and
themes.png (docs/contracts.md, ClassifyThemes).
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from collections import defaultdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml

from containers.common.io import read_jsonl_dir, setup_logging, write_json
from containers.processing.cli import add_flag
from containers.processing.episodes import episode_key

LOG = logging.getLogger("classify_themes")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_flag(parser, "--input-dir", type=Path, default=Path("/opt/ml/processing/input/cleaned"))
    add_flag(parser, "--output-dir", type=Path, default=Path("/opt/ml/processing/output/themes"))
    add_flag(parser, "--themes", type=Path, default=Path("/opt/ml/processing/input/code/conf/themes.yaml"))
    add_flag(
        parser, "--model-id", default="facebook/bart-large-mnli", help="NLI model: Hub id, folder or tiny:nli"
    )
    add_flag(
        parser, "--batch-size", type=int, default=16, help="(premise, hypothesis) pairs per forward pass"
    )
    add_flag(parser, "--max-utterances-per-episode", type=int, default=400)
    add_flag(
        parser, "--utterances-per-premise", type=int, default=5, help="consecutive lines joined per premise"
    )
    return parser.parse_args(argv)


def load_themes(path: Path) -> tuple[str, list[str]]:
    """(hypothesis template with one '{}', themes) from themes.yaml; errors say what to fix."""
    if not path.is_file():
        raise FileNotFoundError(f"themes file {path} not found; pass --themes conf/themes.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    template, themes = data.get("hypothesis_template"), data.get("themes")
    if not isinstance(template, str) or template.count("{}") != 1:
        raise ValueError(
            f"{path}: hypothesis_template must be a string with exactly one {{}}, got {template!r}"
        )
    if (
        not isinstance(themes, list)
        or not themes
        or not all(isinstance(t, str) and t.strip() for t in themes)
    ):
        raise ValueError(f"{path}: themes must be a non-empty list of strings")
    if len(set(themes)) != len(themes):
        raise ValueError(f"{path}: a theme is listed twice")
    return template, [t.strip() for t in themes]


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


def episode_texts(rows: list[dict]) -> dict[tuple[int, int], list[str]]:
    """Utterance texts per episode, in cue order."""
    grouped: dict[tuple[int, int], list[tuple]] = defaultdict(list)
    for row in rows:
        grouped[(row["season"], row["episode"])].append((row["file"], row["index"], row["text"]))
    return {key: [text for *_, text in sorted(items)] for key, items in sorted(grouped.items())}


def mean_scores(matrix: list[list[float]], themes: list[str]) -> dict[str, float]:
    return {theme: round(sum(row[j] for row in matrix) / len(matrix), 6) for j, theme in enumerate(themes)}


def plot(path: Path, table: list[dict], themes: list[str], model_id: str) -> None:
    """A heatmap of episode x theme scores (matplotlib, Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = [[row["scores"][t] for t in themes] for row in table]
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(themes), 1.5 + 0.35 * len(table)))
    image = ax.imshow(values, aspect="auto", cmap="magma", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(themes)), themes, rotation=45, ha="right")
    ax.set_yticks(range(len(table)), [row["episode_key"] for row in table])
    ax.set_title(f"Themes per episode (zero-shot, {model_id})")
    fig.colorbar(image, ax=ax, label="mean entailment probability")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(args: argparse.Namespace) -> dict:
    """Score every episode, write themes.csv/json/png; returns the JSON written."""
    from containers.processing.nli import entailment_scores, load_nli

    template, themes = load_themes(args.themes)
    hypotheses = [template.format(theme) for theme in themes]
    episodes = episode_texts(read_jsonl_dir(args.input_dir, "cues*.jsonl"))
    chunks = {
        key: premises(spread(texts, args.max_utterances_per_episode), args.utterances_per_premise)
        for key, texts in episodes.items()
    }
    model, tokenizer = load_nli(args.model_id, [p for ps in chunks.values() for p in ps] + hypotheses)
    table = []
    for number, ((season, episode), texts) in enumerate(chunks.items(), start=1):
        matrix = entailment_scores(model, tokenizer, texts, hypotheses, args.batch_size)
        table.append(
            {
                "season": season,
                "episode": episode,
                "episode_key": episode_key(season, episode),
                "utterances_scored": min(len(episodes[(season, episode)]), args.max_utterances_per_episode),
                "premises": len(texts),
                "scores": mean_scores(matrix, themes),
            }
        )
        LOG.info("episode %d/%d %s scored", number, len(chunks), table[-1]["episode_key"])
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    with (out / "themes.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["season", "episode", "episode_key", *themes])
        for row in table:
            writer.writerow(
                [row["season"], row["episode"], row["episode_key"], *(row["scores"][t] for t in themes)]
            )
    result = {"model_id": args.model_id, "hypothesis_template": template, "themes": themes, "episodes": table}
    write_json(out / "themes.json", result)
    plot(out / "themes.png", table, themes, args.model_id)
    return result


if __name__ == "__main__":
    setup_logging()
    main(parse_args())
