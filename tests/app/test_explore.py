"""Characters and Themes tab logic on small step outputs: the entity step's on a hand-made corpus, and
hand-written theme files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app import explore
from app.backend import OutputMissing, RunOutput
from containers.processing import extract_entities
from tests.containers.processing.conftest import CHARACTERS
from tests.containers.processing.test_extract_entities import HAND_MADE


class RunFolder:
    """The one method of the app's backend that character_view uses, over an entity step's output folder."""

    def __init__(self, folder: Path, run: str = "run-1") -> None:
        self.folder, self.run = folder, run

    def output(self, step: str, output: str, filename: str, run: str | None = None) -> RunOutput:
        assert (step, output, run or self.run) == ("ExtractEntities", "entities", self.run)
        path = self.folder / filename
        if not path.is_file():
            raise OutputMissing(f"run {self.run} has no {filename}")
        return RunOutput(self.run, path)


@pytest.fixture
def entities(tmp_path: Path) -> Path:
    """The entity step's real outputs on the hand-made two-season corpus (its weights counted by hand)."""
    cues = tmp_path / "cleaned" / "cues.jsonl"
    cues.parent.mkdir()
    cues.write_text("\n".join(json.dumps(row) for row in hand_made_cues()) + "\n", encoding="utf-8")
    out = tmp_path / "entities"
    argv = ["--input-dir", str(cues.parent), "--output-dir", str(out), "--characters", str(CHARACTERS)]
    extract_entities.main(extract_entities.parse_args([*argv, "--window", "2"]))
    return out


def hand_made_cues() -> list[dict]:
    index: dict[str, int] = {}
    rows = []
    for file, season, episode, speaker, text in HAND_MADE:
        i = index[file] = index.get(file, -1) + 1
        rows.append({"file": file, "season": season, "episode": episode, "index": i, "start_ms": i * 1000,
                     "end_ms": i * 1000 + 900, "speaker": speaker, "text": text})  # fmt: skip
    return rows


def drawn(page: Path) -> tuple[set[str], dict[tuple[str, str], int]]:
    """The characters and link weights a network page draws (its inline vis-network data)."""
    found = re.search(r"const data = (\{.*?\});\n", page.read_text(encoding="utf-8"), re.S)
    assert found, page
    data = json.loads(found.group(1).replace("<\\/", "</"))
    return {n["id"] for n in data["nodes"]}, {(e["from"], e["to"]): e["value"] for e in data["edges"]}


def test_csv_rows_read_numbers_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "centrality.csv"
    path.write_text("name,appearances,pagerank\nEleven,6,0.15\n", encoding="utf-8")
    assert explore.read_csv_rows(path) == [{"name": "Eleven", "appearances": 6, "pagerank": 0.15}]


def test_the_season_choices_are_the_seasons_with_a_network(entities: Path) -> None:
    view = explore.character_view(RunFolder(entities))  # type: ignore[arg-type]
    assert view.choices == ["All seasons", "Season 1", "Season 2"]
    assert view.page == entities / "network.html"
    assert [r["name"] for r in view.rows] == [
        r["name"] for r in explore.read_csv_rows(entities / "centrality.csv")
    ]


def test_a_season_draws_its_own_network_and_centralities(entities: Path) -> None:
    backend = RunFolder(entities)
    whole = explore.character_view(backend)  # type: ignore[arg-type]
    season = explore.character_view(backend, "Season 2")  # type: ignore[arg-type]
    assert season.page == entities / "network-season-2.html"
    names, weights = drawn(season.page)
    assert names == {"Eleven", "Lucas Sinclair", "Max Mayfield", "Mike Wheeler"}
    assert weights == {
        ("Eleven", "Lucas Sinclair"): 1,
        ("Eleven", "Max Mayfield"): 1,
        ("Lucas Sinclair", "Max Mayfield"): 1,
        ("Max Mayfield", "Mike Wheeler"): 1,
    }
    assert drawn(whole.page)[1][("Eleven", "Mike Wheeler")] == 3  # season 1's weight, not in season 2
    assert {r["name"] for r in season.rows} == names and "season" not in season.rows[0]
    assert {r["name"]: r["weighted_degree"] for r in season.rows} == {
        "Max Mayfield": 3, "Eleven": 2, "Lucas Sinclair": 2, "Mike Wheeler": 1,
    }  # fmt: skip
    assert season.note.endswith("season 2 alone: 4 characters, 4 links.")


def test_a_season_without_a_network_or_a_run_without_seasons_is_said(entities: Path) -> None:
    with pytest.raises(OutputMissing, match=r"run run-1 has no network for season 7"):
        explore.character_view(RunFolder(entities), "Season 7")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'Everything' is not a season"):
        explore.character_view(RunFolder(entities), "Everything")  # type: ignore[arg-type]
    for name in ("season_centrality.csv", "season_edges.csv"):
        (entities / name).unlink()
    older = explore.character_view(RunFolder(entities))  # type: ignore[arg-type]
    assert older.choices == ["All seasons"] and "wrote no per-season networks" in older.note


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
