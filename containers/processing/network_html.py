"""network.html: the interactive character network in one self-contained file that works offline.

vis-network's standalone build (containers/processing/assets/, Apache-2.0/MIT) is inlined, so the page
loads nothing from a CDN. Node size follows weighted degree, colour the community, edge width the weight.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import networkx as nx

ASSET = Path(__file__).resolve().parent / "assets" / "vis-network.min.js"
PALETTE = [
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#46f0f0",
    "#f032e6",
    "#bcf60c",
    "#fabebe",
    "#008080",
    "#9a6324",
    "#800000",
]

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ margin: 0; font-family: sans-serif; background: #111; color: #eee; }}
  #network {{ width: 100vw; height: 92vh; }}
  header {{ padding: 8px 12px; font-size: 14px; }}
</style>
<script>{library}</script>
</head>
<body>
<header>{title}: {nodes} characters, {edges} links. Node size: weighted degree; colour: community;
edge width: co-occurrences. Drag to move, scroll to zoom, hover for figures.</header>
<div id="network"></div>
<script>
const data = {data};
const network = new vis.Network(document.getElementById("network"),
  {{nodes: new vis.DataSet(data.nodes), edges: new vis.DataSet(data.edges)}},
  {{physics: {{stabilization: {{iterations: 200}}}}, nodes: {{shape: "dot", font: {{color: "#eee"}}}},
    edges: {{color: {{opacity: 0.5}}, smooth: false}}, interaction: {{hover: true}}}});
</script>
</body>
</html>
"""


def vis_data(graph: nx.Graph) -> dict:
    """Nodes and edges in vis-network's format, sizes scaled to the largest weighted degree."""
    top = max((d.get("weighted_degree", 0) for _, d in graph.nodes(data=True)), default=1) or 1
    nodes = [
        {
            "id": name,
            "label": name,
            "value": 5 + 45 * attrs.get("weighted_degree", 0) / top,
            "color": PALETTE[attrs.get("community", 0) % len(PALETTE)],
            "title": f"{name}: weighted degree {attrs.get('weighted_degree', 0)}, "
            f"PageRank {attrs.get('pagerank', 0):.3f}, betweenness {attrs.get('betweenness', 0):.3f}",
        }
        for name, attrs in sorted(graph.nodes(data=True))
    ]
    edges = [
        {"from": a, "to": b, "value": attrs["weight"], "title": f"{a} - {b}: {attrs['weight']}"}
        for a, b, attrs in sorted(graph.edges(data=True))
    ]
    return {"nodes": nodes, "edges": edges}


def render_html(graph: nx.Graph, title: str = "Stranger Things character network") -> str:
    """The page as a string; the library and the data are inline (no external URL is loaded)."""
    library = ASSET.read_text(encoding="utf-8")
    library = "\n".join(line for line in library.splitlines() if not line.startswith("//# sourceMappingURL"))
    data = json.dumps(vis_data(graph), ensure_ascii=False).replace("</", "<\\/")
    return TEMPLATE.format(
        title=html.escape(title),
        library=library.replace("</script", "<\\/script"),
        data=data,
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
    )
