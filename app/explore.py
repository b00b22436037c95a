"""Characters and Themes tab logic: the entity and theme steps' outputs as tables.

Reads the files the steps write (README "Processing outputs"): ExtractEntities' network.html and
centrality.csv, and each season's own network (network-season-<n>.html, season_centrality.csv,
season_edges.csv); ClassifyThemes' themes.csv, themes.png and theme_lines.jsonl (each episode's strongest
lines per theme; docs/contracts.md). Nothing here computes a model output again.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.backend import AppBackend, OutputMissing

ALL_SEASONS = "All seasons"
ENTITIES = "ExtractEntities"
SEASON_CENTRALITY = "season_centrality.csv"
SEASON_EDGES = "season_edges.csv"
THEME_LINES_FILE = "theme_lines.jsonl"


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


@dataclass(frozen=True)
class CharacterView:
    """What the Characters tab shows for a season choice: the page to draw, the table and the choices."""

    run: str
    page: Path
    rows: list[dict[str, Any]]
    choices: list[str]
    note: str


def season_label(season: int) -> str:
    return f"Season {season}"


def season_number(choice: str) -> int:
    """The season of a choice ('Season 2' -> 2); ValueError naming the choice otherwise."""
    number = choice.removeprefix("Season ").strip()
    if not number.isdigit():
        raise ValueError(f"{choice!r} is not a season: choose {ALL_SEASONS!r} or 'Season <n>'")
    return int(number)


def season_choices(season_rows: list[dict[str, Any]]) -> list[str]:
    """All seasons, then each season the entity step drew a network for."""
    found = sorted({int(row["season"]) for row in season_rows})
    return [ALL_SEASONS, *(season_label(s) for s in found)]


def season_table(season_rows: list[dict[str, Any]], season: int) -> list[dict[str, Any]]:
    """One season's centrality rows (season_centrality.csv), in the step's order (PageRank first)."""
    return [
        {key: value for key, value in row.items() if key != "season"}
        for row in season_rows
        if int(row["season"]) == season
    ]


def character_view(backend: AppBackend, choice: str = ALL_SEASONS) -> CharacterView:
    """The latest run's network for `choice`: every season (network.html, centrality.csv) or one season's
    own network (network-season-<n>.html, its rows of season_centrality.csv), all from one run.

    A run from before the entity step wrote per-season networks offers all seasons only, and says so.
    """
    whole = backend.output(ENTITIES, "entities", "network.html")
    run = whole.run
    try:
        season_rows = read_csv_rows(backend.output(ENTITIES, "entities", SEASON_CENTRALITY, run=run).path)
    except OutputMissing:
        season_rows = []
    choices = season_choices(season_rows)
    if choice == ALL_SEASONS:
        rows = read_csv_rows(backend.output(ENTITIES, "entities", "centrality.csv", run=run).path)
        note = f"Run `{run}`, all seasons: {len(rows)} characters."
        if not season_rows:
            note += (
                " This run's entity step wrote no per-season networks: rerun the pipeline "
                "(`make run-local`) to filter by season."
            )
        return CharacterView(run, whole.path, rows, choices, note)
    season = season_number(choice)
    if choice not in choices:
        raise OutputMissing(f"run {run} has no network for season {season} (it has: {', '.join(choices)})")
    rows = season_table(season_rows, season)
    edges = read_csv_rows(backend.output(ENTITIES, "entities", SEASON_EDGES, run=run).path)
    links = sum(1 for edge in edges if int(edge["season"]) == season)
    page = backend.output(ENTITIES, "entities", season_page(season), run=run).path
    note = f"Run `{run}`, season {season} alone: {len(rows)} characters, {links} links."
    return CharacterView(run, page, rows, choices, note)


def season_page(season: int) -> str:
    """The entity step's page of one season's network (containers/processing/extract_entities.py)."""
    return f"network-season-{season}.html"


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
