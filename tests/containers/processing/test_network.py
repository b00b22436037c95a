"""Unit: windowed co-occurrence (never across episodes) and the centralities on a hand-built graph."""

from __future__ import annotations

from collections import Counter

import pytest

from containers.processing.network import add_centralities, build_graph, cooccurrence_counts, season_networks


def test_window_one_counts_only_shared_utterances():
    episode = [{"A", "B"}, {"C"}, {"A", "C"}]
    assert cooccurrence_counts([((1, 1), episode)], window=1) == Counter({("A", "B"): 1, ("A", "C"): 1})


def test_window_links_neighbours_within_reach():
    episode = [{"A"}, {"B"}, set(), {"C"}]
    assert cooccurrence_counts([((1, 1), episode)], window=2) == Counter({("A", "B"): 1})
    assert cooccurrence_counts([((1, 1), episode)], window=3) == Counter({("A", "B"): 1, ("B", "C"): 1})


def test_window_never_crosses_an_episode_boundary():
    episodes = [((1, 1), [{"A"}]), ((1, 2), [{"B"}])]
    assert cooccurrence_counts(episodes, window=10) == Counter()


def test_same_character_twice_is_not_a_link():
    assert cooccurrence_counts([((1, 1), [{"A"}, {"A"}])], window=2) == Counter()


def test_window_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        cooccurrence_counts([], window=0)


def test_centralities_on_a_path():
    # A - B - C with B in the middle: B has all the betweenness, the most weight and the top PageRank.
    counts = Counter({("A", "B"): 3, ("B", "C"): 1})
    graph = add_centralities(build_graph(counts, Counter({"A": 3, "B": 4, "C": 1})))
    nodes = dict(graph.nodes(data=True))
    assert {n: d["weighted_degree"] for n, d in nodes.items()} == {"A": 3, "B": 4, "C": 1}
    assert {n: d["betweenness"] for n, d in nodes.items()} == {"A": 0.0, "B": 1.0, "C": 0.0}
    assert max(nodes, key=lambda n: nodes[n]["pagerank"]) == "B"
    assert graph.edges["A", "B"]["distance"] == pytest.approx(1 / 3)


def test_betweenness_uses_distance_not_weight():
    # A-B-D strongly linked, A-C-D weakly: shortest paths (1/weight) run through B.
    counts = Counter({("A", "B"): 10, ("B", "D"): 10, ("A", "C"): 1, ("C", "D"): 1})
    graph = add_centralities(build_graph(counts, Counter(dict.fromkeys("ABCD", 1))))
    assert graph.nodes["B"]["betweenness"] > 0 and graph.nodes["C"]["betweenness"] == 0


def test_min_edge_weight_drops_weak_links():
    graph = build_graph(
        Counter({("A", "B"): 1, ("B", "C"): 2}), Counter(dict.fromkeys("ABC", 1)), min_edge_weight=2
    )
    assert list(graph.edges) == [("B", "C")]


def test_season_networks_count_each_season_alone_and_leave_out_empty_seasons():
    episodes = {
        (1, 1): [{"A", "B"}, {"C"}],
        (2, 1): [{"A"}, {"B"}],
        (2, 2): [{"A", "B"}],
        (3, 1): [set(), set()],  # nobody present: no season-3 network
    }
    graphs = season_networks(episodes, window=2)
    assert list(graphs) == [1, 2]
    assert {(a, b): w for a, b, w in graphs[1].edges(data="weight")} == {
        ("A", "B"): 1,
        ("A", "C"): 1,
        ("B", "C"): 1,
    }
    assert {tuple(sorted(e)): w for *e, w in graphs[2].edges(data="weight")} == {("A", "B"): 2}
    assert graphs[2].nodes["A"]["appearances"] == 2 and "C" not in graphs[2]
