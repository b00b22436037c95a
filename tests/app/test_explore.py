"""Characters and Themes tab logic on small hand-written step outputs."""

from __future__ import annotations

import json
from pathlib import Path

from app import explore

CENTRALITY = [
    {"name": "Mike Wheeler", "appearances": 8, "pagerank": 0.2},
    {"name": "Eleven", "appearances": 6, "pagerank": 0.15},
    {"name": "Barb Holland", "appearances": 1, "pagerank": 0.02},
]


def mention(season: int, text: str, *names: str) -> dict:
    return {"season": season, "episode": 1, "text": text, "mentions": [{"name": n} for n in names]}


MENTIONS = [
    mention(1, "Mike! Eleven!", "Mike Wheeler", "Eleven"),
    mention(1, "Where's Barb?", "Barb Holland"),
    mention(2, "El? Mike?", "Eleven", "Mike Wheeler"),
    mention(2, "Eleven.", "Eleven"),
]


def test_csv_rows_read_numbers_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "centrality.csv"
    path.write_text("name,appearances,pagerank\nEleven,6,0.15\n", encoding="utf-8")
    assert explore.read_csv_rows(path) == [{"name": "Eleven", "appearances": 6, "pagerank": 0.15}]


def test_season_choices_come_from_the_mentions() -> None:
    assert explore.seasons(MENTIONS) == ["All seasons", "Season 1", "Season 2"]


def test_a_season_lists_its_characters_by_mentions_in_it() -> None:
    assert explore.character_table(CENTRALITY, MENTIONS) == CENTRALITY
    season2 = explore.character_table(CENTRALITY, MENTIONS, "Season 2")
    assert [(r["name"], r["mentions in season 2"]) for r in season2] == [("Eleven", 2), ("Mike Wheeler", 1)]


THEMES = [
    {"season": 1, "episode": 1, "episode_key": "S01E01", "fear": 0.2, "friendship": 0.9},
    {"season": 1, "episode": 2, "episode_key": "S01E02", "fear": 0.8, "friendship": 0.4},
]


def test_theme_table_puts_the_chosen_theme_first_and_highest_first() -> None:
    assert explore.theme_names(THEMES) == ["fear", "friendship"]
    table = explore.theme_table(THEMES, "fear")
    assert [r["episode_key"] for r in table] == ["S01E02", "S01E01"]
    assert list(table[0])[:2] == ["episode_key", "fear"]


def test_strongest_lines_come_from_theme_lines_jsonl_strongest_first(tmp_path: Path) -> None:
    assert explore.theme_lines(tmp_path, "fear") is None  # a run from before the step scored lines

    def line(theme: str, key: str, score: float, text: str, matched: list[str]) -> dict:
        return {"theme": theme, "season": 1, "episode": int(key[-1]), "episode_key": key, "rank": 1,
                "score": score, "file": f"{key}.srt", "index": 3, "speaker": "Will", "text": text,
                "matched": matched}  # fmt: skip

    records = [
        line("fear", "S01E01", 0.7, "Something is in the woods.", ["woods"]),
        line("friendship", "S01E02", 0.9, "Friends don't lie.", ["friends"]),
        line("fear", "S01E03", 0.95, "It's coming. Run.", ["run", "coming"]),
    ]
    (tmp_path / "theme_lines.jsonl").write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    shown = explore.theme_lines(tmp_path, "fear")
    assert shown == [
        {"episode": "S01E03", "speaker": "Will", "score": 0.95, "text": "It's coming. Run.",
         "matched": "run, coming"},
        {"episode": "S01E01", "speaker": "Will", "score": 0.7, "text": "Something is in the woods.",
         "matched": "woods"},
    ]  # fmt: skip
    assert explore.theme_lines(tmp_path, "fear", limit=1)[0]["episode"] == "S01E03"  # type: ignore[index]
