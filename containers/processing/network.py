"""The character co-occurrence network: who appears near whom, within a window of utterances.

An utterance's characters are its speaker (when in the cast) and the characters it mentions. Two
characters are linked each time they share an utterance or appear within `window` consecutive utterances
of one episode; windows never cross an episode boundary.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping

import networkx as nx

Episode = tuple[int, int]


def cooccurrence_counts(episodes: Iterable[tuple[Episode, list[set[str]]]], window: int) -> Counter:
    """Pair counts {(a, b): n} with a < b, from each episode's per-utterance character sets.

    A pair counts once for each utterance holding both, and once for each pair of utterances (at most
    `window` - 1 apart) where one holds a and the other b.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 utterance, got {window}")
    counts: Counter = Counter()
    for _episode, utterances in episodes:
        recent: deque[set[str]] = deque(maxlen=window - 1)  # a fresh window per episode
        for present in utterances:
            ordered = sorted(present)
            for i, a in enumerate(ordered):  # pairs within the utterance, once each
                for b in ordered[i + 1 :]:
                    counts[(a, b)] += 1
            for earlier in recent:  # pairs with each earlier utterance in reach, once per utterance pair
                for a in present:
                    for b in earlier:
                        if a != b:
                            counts[(min(a, b), max(a, b))] += 1
            recent.append(present)
    return counts


def build_graph(counts: Counter, appearances: Counter, min_edge_weight: int = 1) -> nx.Graph:
    """Weighted graph: nodes carry `appearances`, edges `weight` (co-occurrences), `distance` (1/weight)."""
    graph = nx.Graph()
    for name, count in sorted(appearances.items()):
        graph.add_node(name, appearances=int(count))
    for (a, b), weight in sorted(counts.items()):
        if weight >= min_edge_weight:
            graph.add_edge(a, b, weight=int(weight), distance=1.0 / weight)
    return graph


def add_centralities(graph: nx.Graph, seed: int = 42) -> nx.Graph:
    """Weighted degree, betweenness (over distance = 1/weight), PageRank and a Louvain community per node."""
    degree = dict(graph.degree(weight="weight"))
    betweenness = (
        nx.betweenness_centrality(graph, weight="distance", normalized=True)
        if graph.number_of_edges()
        else {}
    )
    pagerank = nx.pagerank(graph, weight="weight") if graph.number_of_nodes() else {}
    communities = (
        nx.community.louvain_communities(graph, weight="weight", seed=seed) if graph.number_of_nodes() else []
    )
    ordered = sorted((sorted(c) for c in communities), key=lambda c: (-len(c), c[0]))
    community_of = {name: i for i, members in enumerate(ordered) for name in members}
    for name in graph.nodes:
        graph.nodes[name].update(
            weighted_degree=int(degree.get(name, 0)),
            betweenness=round(float(betweenness.get(name, 0.0)), 6),
            pagerank=round(float(pagerank.get(name, 0.0)), 6),
            community=int(community_of.get(name, -1)),
        )
    return graph


def network(
    episodes: Iterable[tuple[Episode, list[set[str]]]], window: int, min_edge_weight: int = 1, seed: int = 42
) -> nx.Graph:
    """The co-occurrence network of `episodes` with its centralities: nodes are the characters present
    (their utterance count as `appearances`), edges the pair counts of `cooccurrence_counts`."""
    ordered = sorted(episodes)
    appearances = Counter(name for _, sets in ordered for present in sets for name in present)
    counts = cooccurrence_counts(ordered, window)
    return add_centralities(build_graph(counts, appearances, min_edge_weight), seed=seed)


def season_networks(
    episodes: Mapping[Episode, list[set[str]]], window: int, min_edge_weight: int = 1, seed: int = 42
) -> dict[int, nx.Graph]:
    """One network per season, from that season's episodes alone (seasons without a character left out).

    Windows never cross an episode, so a pair's weights over the seasons add up to its weight in the
    all-season network (before `min_edge_weight` drops weak links); centralities are each season's own.
    """
    by_season: dict[int, list[tuple[Episode, list[set[str]]]]] = defaultdict(list)
    for key, sets in episodes.items():
        by_season[key[0]].append((key, sets))
    graphs = {season: network(items, window, min_edge_weight, seed) for season, items in by_season.items()}
    return {season: graph for season, graph in sorted(graphs.items()) if graph.number_of_nodes()}
