r"""Cast mentions per utterance and the character co-occurrence network.

    python containers/processing/extract_entities.py --input-dir /tmp/cleaned --output-dir /tmp/entities \
        --characters conf/characters.yaml

Reads every `cues*.jsonl` of the cleaning step, one file per episode (episode_files.py: an episode with an
.srt and a .vtt, or a plain and a hearing-impaired file, is counted once; summary.json lists the files set
aside). Mentions come from the cast file (aliases mapped to canonical names, case-insensitive, longest match
wins) and, with --ner-model, from a token-classification model for names the file does not list. The network
links characters that appear within --window utterances of each other in one episode. Writes mentions.jsonl,
graph.json (node-link), graph.graphml, network.html (self-contained, offline), centrality.csv and
summary.json (docs/contracts.md, ExtractEntities), and each season's own network (the same counts over that
season's episodes only): season_edges.csv (season, source, target, weight), season_centrality.csv and
network-season-<n>.html.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import networkx as nx

from containers.common.cli import add_flag
from containers.common.errors import run_main
from containers.common.io import read_jsonl_dir, setup_logging, write_json, write_jsonl
from containers.processing.characters import Cast, Mention, load_cast
from containers.processing.episode_files import one_file_per_episode
from containers.processing.network import network, season_networks
from containers.processing.network_html import render_html

LOG = logging.getLogger("extract_entities")
CENTRALITY_COLUMNS = ["name", "appearances", "weighted_degree", "betweenness", "pagerank", "community"]
SEASON_EDGE_COLUMNS = ["season", "source", "target", "weight"]


def season_page(season: int) -> str:
    """The file name of a season's network page (one self-contained page per season)."""
    return f"network-season-{season}.html"


@dataclass(frozen=True)
class EntitiesArguments:
    """The script's arguments, checked before any file is read."""

    input_dir: Path
    output_dir: Path
    characters: Path
    window: int = 5
    min_edge_weight: int = 1
    ner_model: str | None = None
    ner_batch_size: int = 64
    seed: int = 42

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"--window must be at least 1 utterance, got {self.window}")
        if self.ner_batch_size < 1:
            raise ValueError(f"--ner-batch-size must be at least 1, got {self.ner_batch_size}")


def parse_args(argv: list[str] | None = None) -> EntitiesArguments:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_flag(parser, "--input-dir", type=Path, default=Path("/opt/ml/processing/input/cleaned"))
    add_flag(parser, "--output-dir", type=Path, default=Path("/opt/ml/processing/output/entities"))
    add_flag(
        parser,
        "--characters",
        type=Path,
        default=Path("/opt/ml/processing/input/code/conf/characters.yaml"),
        help="cast file: canonical names and aliases",
    )
    add_flag(parser, "--window", type=int, default=5, help="co-occurrence window, in utterances (>= 1)")
    add_flag(parser, "--min-edge-weight", type=int, default=1, help="drop weaker links from the graph")
    add_flag(
        parser,
        "--ner-model",
        default=None,
        help="optional token-classification model (Hub id, folder, tiny:ner)",
    )
    add_flag(parser, "--ner-batch-size", type=int, default=64)
    add_flag(parser, "--seed", type=int, default=42, help="community detection seed")
    return EntitiesArguments(**vars(parser.parse_args(argv)))


def sort_rows(rows: list[dict]) -> list[dict]:
    """Utterances in episode and cue order (shards from several instances arrive in any order)."""
    return sorted(rows, key=lambda r: (r["season"], r["episode"], r["file"], r["index"]))


def cast_mentions(cast: Cast, rows: list[dict]) -> list[list[Mention]]:
    return [cast.find(row["text"]) for row in rows]


def ner_mentions(cast: Cast, rows: list[dict], model_ref: str, batch_size: int) -> list[list[Mention]]:
    """Person names from the model that the cast file does not cover (names it covers are mapped to it)."""
    from containers.processing.ner import load_ner, predict_person_spans

    texts = [row["text"] for row in rows]
    model, tokenizer = load_ner(model_ref, texts)
    spans = predict_person_spans(model, tokenizer, texts, batch_size)
    out = []
    for text, found in zip(texts, spans, strict=True):
        mentions = []
        for start, end in found:
            surface = text[start:end].strip(" .,!?;:'\"")
            if len(surface) < 2 or not surface[0].isalpha():
                continue
            mentions.append(Mention(cast.canonical(surface) or surface.title(), surface, start, end, "ner"))
        out.append(mentions)
    return out


def merge_mentions(listed: list[Mention], found: list[Mention]) -> list[Mention]:
    """Cast-file mentions, plus model mentions that do not overlap one of them."""
    extra = [m for m in found if all(m.end <= k.start or m.start >= k.end for k in listed)]
    return sorted([*listed, *extra], key=lambda m: m.start)


def presence(
    cast: Cast, rows: list[dict], mentions: list[list[Mention]]
) -> dict[tuple[int, int], list[set[str]]]:
    """Per episode, each utterance's characters: its speaker when in the cast, and whom it mentions."""
    episodes: dict[tuple[int, int], list[set[str]]] = defaultdict(list)
    for row, found in zip(rows, mentions, strict=True):
        present = {m.name for m in found}
        speaker = cast.canonical(row.get("speaker"))
        if speaker:
            present.add(speaker)
        episodes[(row["season"], row["episode"])].append(present)
    return episodes


def mention_rows(rows: list[dict], mentions: list[list[Mention]]) -> list[dict]:
    return [
        {
            "file": row["file"],
            "season": row["season"],
            "episode": row["episode"],
            "index": row["index"],
            "speaker": row.get("speaker"),
            "text": row["text"],
            "mentions": [
                {"name": m.name, "alias": m.alias, "start": m.start, "end": m.end, "source": m.source}
                for m in found
            ],
        }
        for row, found in zip(rows, mentions, strict=True)
        if found
    ]


def centrality_rows(graph: nx.Graph) -> list[list]:
    """One row a character (CENTRALITY_COLUMNS), highest PageRank first."""
    ranked = sorted(graph.nodes(data=True), key=lambda item: (-item[1]["pagerank"], item[0]))
    return [[name, *(attrs[column] for column in CENTRALITY_COLUMNS[1:])] for name, attrs in ranked]


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_seasons(out: Path, graphs: dict[int, nx.Graph]) -> None:
    """Each season's weights, centralities and page: what a season filter draws (the app's)."""
    edges = [
        [season, a, b, attrs["weight"]]
        for season, graph in graphs.items()
        for a, b, attrs in sorted((min(a, b), max(a, b), attrs) for a, b, attrs in graph.edges(data=True))
    ]
    write_csv(out / "season_edges.csv", SEASON_EDGE_COLUMNS, edges)
    ranked = [[season, *row] for season, graph in graphs.items() for row in centrality_rows(graph)]
    write_csv(out / "season_centrality.csv", ["season", *CENTRALITY_COLUMNS], ranked)
    for season, graph in graphs.items():
        title = f"Stranger Things character network, season {season}"
        (out / season_page(season)).write_text(render_html(graph, title), encoding="utf-8")


def main(args: EntitiesArguments) -> dict:
    """Find mentions, build the network, write every output; returns the summary."""
    cast = load_cast(args.characters)
    choice = one_file_per_episode(read_jsonl_dir(args.input_dir, "cues*.jsonl"))
    LOG.info("%s", choice.log_line())
    rows = sort_rows(choice.rows)
    LOG.info("%d utterances, %d characters in the cast file", len(rows), len(cast.names))
    mentions = cast_mentions(cast, rows)
    if args.ner_model:
        found = ner_mentions(cast, rows, args.ner_model, args.ner_batch_size)
        mentions = [merge_mentions(a, b) for a, b in zip(mentions, found, strict=True)]
    episodes = presence(cast, rows, mentions)
    graph = network(episodes.items(), args.window, args.min_edge_weight, args.seed)
    seasons = season_networks(episodes, args.window, args.min_edge_weight, args.seed)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "mentions.jsonl", mention_rows(rows, mentions))
    write_json(out / "graph.json", nx.node_link_data(graph, edges="edges"))
    nx.write_graphml(graph, out / "graph.graphml")
    (out / "network.html").write_text(render_html(graph), encoding="utf-8")
    write_csv(out / "centrality.csv", CENTRALITY_COLUMNS, centrality_rows(graph))
    write_seasons(out, seasons)
    by_source = Counter(m.source for found in mentions for m in found)
    summary = {
        "utterances": len(rows),
        "utterances_with_mentions": sum(1 for found in mentions if found),
        "mentions": dict(sorted(by_source.items())),
        "episodes": len(episodes),
        "window": args.window,
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "top_pagerank": [
            n for n, _ in sorted(graph.nodes(data="pagerank"), key=lambda x: (-x[1], x[0]))[:10]
        ],
        "ner_model": args.ner_model,
        "files_set_aside": choice.set_aside,
        "seasons": [
            {"season": season, "nodes": g.number_of_nodes(), "edges": g.number_of_edges()}
            for season, g in seasons.items()
        ],
    }
    write_json(out / "summary.json", summary)
    LOG.info("network: %d characters, %d links; wrote %s", summary["nodes"], summary["edges"], out)
    return summary


if __name__ == "__main__":
    setup_logging()
    run_main(main, parse_args, LOG)
