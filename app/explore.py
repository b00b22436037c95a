"""Characters and Themes tab logic: the entity and theme steps' outputs as tables.

Reads the files the steps write (README "Processing outputs"): ExtractEntities' centrality.csv,
mentions.jsonl and network.html; ClassifyThemes' themes.csv, themes.png and theme_lines.jsonl (each
episode's strongest lines per theme; docs/contracts.md). Nothing here computes a model output again.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

ALL_SEASONS = "All seasons"
THEME_LINES_FILE = "theme_lines.jsonl"
NUMERIC = ("appearances", "weighted_degree", "betweenness", "pagerank", "community")


def read_csv_rows(path: Path) -> list[dict[str, Any]]:
    """CSV rows as dicts, numbers as numbers (the tables sort numerically)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [{key: _number(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def _number(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def seasons(mentions: list[dict[str, Any]]) -> list[str]:
    """The season choices: all, then each season that has a mention."""
    found = sorted({int(m["season"]) for m in mentions if m.get("season") is not None})
    return [ALL_SEASONS, *(f"Season {s}" for s in found)]


def character_table(
    centrality: list[dict[str, Any]], mentions: list[dict[str, Any]], season: str = ALL_SEASONS
) -> list[dict[str, Any]]:
    """The centrality table; for one season, each character's mentions and lines spoken in that season.

    The network's centralities are over all seasons (graph.json holds one weight per link); a season's
    view counts that season's utterances from mentions.jsonl beside them.
    """
    if season == ALL_SEASONS:
        return centrality
    number = int(season.removeprefix("Season "))
    in_season = [m for m in mentions if m.get("season") == number]
    mentioned = Counter(entry["name"] for m in in_season for entry in m.get("mentions", []))
    rows = []
    for row in centrality:
        count = mentioned.get(row["name"], 0)
        if count:
            rows.append({"name": row["name"], f"mentions in season {number}": count, **row})
    return sorted(rows, key=lambda r: -r[f"mentions in season {number}"])


def theme_names(rows: list[dict[str, Any]]) -> list[str]:
    """The theme columns of themes.csv (everything but the episode's keys)."""
    return [key for key in (rows[0] if rows else {}) if key not in ("season", "episode", "episode_key")]


def theme_table(rows: list[dict[str, Any]], theme: str | None) -> list[dict[str, Any]]:
    """Episodes with their scores, the selected theme's column first and highest first."""
    if not theme:
        return rows
    ordered = sorted(rows, key=lambda r: -float(r[theme]))
    return [{"episode_key": r["episode_key"], theme: r[theme], **r} for r in ordered]


def theme_lines(folder: Path, theme: str, limit: int = 10) -> list[dict[str, Any]] | None:
    """The theme step's strongest lines for `theme` across episodes, strongest first; None when the run's
    theme step wrote no theme_lines.jsonl (runs before the step scored lines).

    Records as docs/contracts.md defines them: {"theme", "season", "episode", "episode_key", "rank",
    "score", "file", "index", "speaker", "text", "matched"}; shown as episode, speaker, score, text, matched.
    """
    path = folder / THEME_LINES_FILE
    if not path.is_file():
        return None
    chosen = [r for r in read_jsonl(path) if r.get("theme") == theme]
    chosen.sort(key=lambda r: (-float(r.get("score", 0)), r.get("episode_key", ""), r.get("index", 0)))
    return [
        {
            "episode": r.get("episode_key", ""),
            "speaker": r.get("speaker") or "",
            "score": round(float(r.get("score", 0)), 4),
            "text": r.get("text", ""),
            "matched": ", ".join(r.get("matched") or []),
        }
        for r in chosen[:limit]
    ]
