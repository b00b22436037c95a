"""Characters and Themes tab logic: the entity and theme steps' outputs as tables.

Reads the files the steps write (README "Processing outputs"): ExtractEntities' centrality.csv,
mentions.jsonl and network.html; ClassifyThemes' themes.csv and themes.png, and its strongest lines per
theme where the step writes them (THEME_LINES_FILES). Nothing here computes a model output again.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

ALL_SEASONS = "All seasons"
THEME_LINES_FILES = ("theme_lines.jsonl", "theme_lines.json", "theme_lines.csv")
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
    """The step's strongest lines for `theme`, or None when this run's theme step wrote none.

    Accepts records with a theme and a score (JSON Lines, a JSON list or a CSV), whichever the step writes.
    """
    for name in THEME_LINES_FILES:
        path = folder / name
        if not path.is_file():
            continue
        if name.endswith(".csv"):
            records = read_csv_rows(path)
        elif name.endswith(".jsonl"):
            records = read_jsonl(path)
        else:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            records = loaded if isinstance(loaded, list) else _flatten(loaded)
        chosen = [r for r in records if r.get("theme") == theme]
        return sorted(chosen, key=lambda r: -float(r.get("score", 0)))[:limit]
    return None


def _flatten(by_theme: dict[str, Any]) -> list[dict[str, Any]]:
    """{"<theme>": [{...}, ...]} as records carrying their theme."""
    source = by_theme.get("themes", by_theme)
    return [
        {"theme": theme, **line}
        for theme, lines in source.items()
        if isinstance(lines, list)
        for line in lines
        if isinstance(line, dict)
    ]
