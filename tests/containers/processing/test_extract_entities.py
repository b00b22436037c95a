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
        "network.html",
        "summary.json",
    ]
    assert summary["utterances"] == 159 and summary["episodes"] == 15 and summary["window"] == 5
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
    assert run(shards, tmp_path / "out")["utterances"] == 159


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
