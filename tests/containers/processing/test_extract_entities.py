"""extract_entities: main() on the cleaned sample, every output readable, the HTML self-contained."""

from __future__ import annotations

import csv
import itertools
import json
import re

import networkx as nx
import pytest

from containers.processing import extract_entities
from tests.containers.processing.conftest import CHARACTERS, read_rows


def run(input_dir, out, *extra):
    argv = ["--input-dir", str(input_dir), "--output-dir", str(out), "--characters", str(CHARACTERS), *extra]
    return extract_entities.main(extract_entities.parse_args(argv))


@pytest.fixture(scope="module")
def entities(cleaned_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("entities")
    return run(cleaned_sample, out), out


def test_outputs_on_the_sample(entities):
    summary, out = entities
    assert sorted(p.name for p in out.iterdir()) == [
        "centrality.csv",
        "graph.graphml",
        "graph.json",
        "mentions.jsonl",
        "network-season-1.html",
        "network-season-2.html",
        "network-season-3.html",
        "network.html",
        "season_centrality.csv",
        "season_edges.csv",
        "summary.json",
    ]
    assert summary["utterances"] == 158 and summary["episodes"] == 15 and summary["window"] == 5
    graph = nx.read_graphml(out / "graph.graphml")
    assert graph.number_of_nodes() == summary["nodes"] and graph.number_of_edges() == summary["edges"]
    data = json.loads((out / "graph.json").read_text())
    assert {n["id"] for n in data["nodes"]} == set(graph.nodes)
    assert "Eleven" in graph.nodes and "Mike Wheeler" in graph.nodes
    with (out / "centrality.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows][:1] == summary["top_pagerank"][:1]
    assert sum(float(r["pagerank"]) for r in rows) == pytest.approx(1.0, abs=1e-4)


def test_mentions_map_aliases_to_canonical_names(entities):
    _, out = entities
    rows = read_rows(out / "mentions.jsonl")
    found = {(r["text"], m["alias"], m["name"]) for r in rows for m in r["mentions"]}
    assert ("He never came home, Jim.", "Jim", "Jim Hopper") in found
    assert ("Will? Will, baby, can you hear me?", "Will", "Will Byers") in found
    assert not any(alias == "One" for _, alias, _ in found)  # "One party." is not Henry Creel


def test_network_html_is_self_contained(entities):
    _, out = entities
    page = (out / "network.html").read_text()
    assert "new vis.Network" in page and "Mike Wheeler" in page
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page)  # nothing loaded from outside
    assert "sourceMappingURL" not in page


def test_shards_from_several_instances_are_all_read(cleaned_sample, tmp_path):
    shards = tmp_path / "cleaned"
    shards.mkdir()
    lines = (cleaned_sample / "cues.jsonl").read_text().splitlines(keepends=True)
    (shards / "cues-algo-1.jsonl").write_text("".join(lines[:20]))
    (shards / "cues-algo-2.jsonl").write_text("".join(lines[20:]))
    assert run(shards, tmp_path / "out")["utterances"] == 158


def test_tiny_ner_backend_adds_model_mentions(cleaned_sample, tmp_path):
    summary = run(cleaned_sample, tmp_path, "--ner-model", "tiny:ner", "--ner-batch-size", "16")
    assert summary["ner_model"] == "tiny:ner"
    assert summary["mentions"]["list"] >= 1
    assert set(summary["mentions"]) <= {"list", "ner"}
    for row in read_rows(tmp_path / "mentions.jsonl"):
        spans = sorted((m["start"], m["end"]) for m in row["mentions"])
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # model spans never overlap
        for m in row["mentions"]:
            assert m["alias"] in row["text"][m["start"] : m["end"]]


def test_bad_window_and_missing_input(cleaned_sample, tmp_path):
    with pytest.raises(ValueError, match="--window must be at least 1"):
        run(cleaned_sample, tmp_path, "--window", "0")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"no cues\*\.jsonl files"):
        run(empty, tmp_path / "out")


# A hand-made corpus whose co-occurrences are counted by hand (window 2: an utterance links with itself
# and the one before it, never across an episode). Season 1: S01E01 u0 {Dustin, Mike, Eleven} gives
# Dustin-Eleven, Dustin-Mike, Eleven-Mike; u1 {Lucas} links to u0's three; u2 {} and u3 {Mike} add
# nothing. S01E02: u0 {Eleven, Mike}, u1 {Mike} -> Eleven-Mike twice more. Season 2: S02E01 u0
# {Max, Lucas}, u1 {Eleven} -> Lucas-Max, Eleven-Max, Eleven-Lucas; S02E02 u0 {Mike} (not linked to
# S02E01's Eleven), u1 {Max} -> Max-Mike.
HAND_MADE = [
    ("S01E01.srt", 1, 1, "Dustin", "Mike, where is Eleven?"),
    ("S01E01.srt", 1, 1, None, "Lucas says the gate is open."),
    ("S01E01.srt", 1, 1, None, "Nobody answers."),
    ("S01E01.srt", 1, 1, None, "Mike!"),
    ("S01E02.srt", 1, 2, None, "Eleven and Mike hide."),
    ("S01E02.srt", 1, 2, None, "Mike?"),
    ("S02E01.srt", 2, 1, None, "Max and Lucas skate."),
    ("S02E01.srt", 2, 1, None, "Eleven?"),
    ("S02E02.srt", 2, 2, None, "Mike."),
    ("S02E02.srt", 2, 2, None, "Max!"),
]
SEASON_EDGES = {
    ("1", "Dustin Henderson", "Eleven"): 1,
    ("1", "Dustin Henderson", "Lucas Sinclair"): 1,
    ("1", "Dustin Henderson", "Mike Wheeler"): 1,
    ("1", "Eleven", "Lucas Sinclair"): 1,
    ("1", "Eleven", "Mike Wheeler"): 3,
    ("1", "Lucas Sinclair", "Mike Wheeler"): 1,
    ("2", "Eleven", "Lucas Sinclair"): 1,
    ("2", "Eleven", "Max Mayfield"): 1,
    ("2", "Lucas Sinclair", "Max Mayfield"): 1,
    ("2", "Max Mayfield", "Mike Wheeler"): 1,
}


@pytest.fixture
def hand_made(tmp_path):
    cleaned = tmp_path / "cleaned"
    cleaned.mkdir()
    index: dict[str, int] = {}
    lines = []
    for file, season, episode, speaker, text in HAND_MADE:
        i = index[file] = index.get(file, -1) + 1
        lines.append(json.dumps({"file": file, "season": season, "episode": episode, "index": i,
                                 "start_ms": 1000 * i, "end_ms": 1000 * i + 900, "speaker": speaker,
                                 "text": text}))  # fmt: skip
    (cleaned / "cues.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "entities"
    return run(cleaned, out, "--window", "2"), out


def read_csv(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_each_season_gets_the_weights_of_its_own_episodes(hand_made):
    summary, out = hand_made
    edges = {
        (r["season"], r["source"], r["target"]): int(r["weight"]) for r in read_csv(out / "season_edges.csv")
    }
    assert edges == SEASON_EDGES
    assert summary["seasons"] == [
        {"season": 1, "nodes": 4, "edges": 6},
        {"season": 2, "nodes": 4, "edges": 4},
    ]
    # A pair's weights over the seasons add up to its weight in the all-season network.
    whole = json.loads((out / "graph.json").read_text())
    totals: dict[tuple[str, str], int] = {}
    for (_, a, b), weight in SEASON_EDGES.items():
        totals[(a, b)] = totals.get((a, b), 0) + weight
    assert {tuple(sorted((e["source"], e["target"]))): e["weight"] for e in whole["edges"]} == totals


def test_each_season_has_its_own_centralities_and_page(hand_made):
    _, out = hand_made
    rows = read_csv(out / "season_centrality.csv")
    figures = {(r["season"], r["name"]): (int(r["appearances"]), int(r["weighted_degree"])) for r in rows}
    assert figures == {
        ("1", "Mike Wheeler"): (4, 5),
        ("1", "Eleven"): (2, 5),
        ("1", "Dustin Henderson"): (1, 3),
        ("1", "Lucas Sinclair"): (1, 3),
        ("2", "Max Mayfield"): (2, 3),
        ("2", "Eleven"): (1, 2),
        ("2", "Lucas Sinclair"): (1, 2),
        ("2", "Mike Wheeler"): (1, 1),
    }
    for season in ("1", "2"):
        assert sum(float(r["pagerank"]) for r in rows if r["season"] == season) == pytest.approx(1, abs=1e-4)
    season_two = (out / extract_entities.season_page(2)).read_text()
    assert "season 2: 4 characters, 4 links" in season_two and "Dustin Henderson" not in season_two
    assert not re.search(r"<(script|link)[^>]+(src|href)=", season_two)
