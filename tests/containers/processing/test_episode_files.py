"""One file per episode: the rule, and the readers of the cleaned cues on an episode with two files.

fixtures/episode_pair: S01E01 as a hearing-impaired .srt that names its speakers and as a plain .vtt of
the same lines (its name sorts first, and it has as many utterances: only the speakers choose the HI file),
and S01E02 as a single file. All lines written for this project.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from containers.processing import (
    classify_themes,
    clean_subtitles,
    extract_entities,
    prepare_subtitle_lines,
)
from containers.processing.episode_files import count_files, one_file_per_episode
from tests.containers.processing.conftest import CHARACTERS, THEMES

PAIR = Path(__file__).parent / "fixtures" / "episode_pair"
HI, PLAIN, OTHER = "Show.S01E01.HI.srt", "Show.S01E01.EN.vtt", "Show.S01E02.srt"
SUMMARIES = {"entities/summary.json", "themes/themes.json"}  # the outputs that list the set-aside files


def row(file: str, index: int, speaker: str | None = None, season: int = 1, episode: int = 1) -> dict:
    return {
        "file": file,
        "season": season,
        "episode": episode,
        "index": index,
        "speaker": speaker,
        "text": "x",
    }


def test_the_file_with_most_speakers_wins_over_a_fuller_one():
    rows = [row("a.srt", 1), row("a.srt", 2), row("a.srt", 3, "Mike"), row("b.srt", 1, "Will")]
    rows += [row("b.srt", 2, "Joyce")]
    choice = one_file_per_episode(rows)
    assert [r["file"] for r in choice.rows] == ["b.srt", "b.srt"]
    assert choice.set_aside == [
        {
            "episode": "S01E01",
            "kept": {"file": "b.srt", "utterances": 2, "with_speaker": 2},
            "set_aside": [{"file": "a.srt", "utterances": 3, "with_speaker": 1}],
        }
    ]


def test_then_the_fuller_file_then_the_first_name():
    fuller = [row("a.vtt", 1), row("z.srt", 1), row("z.srt", 2)]
    assert {r["file"] for r in one_file_per_episode(fuller).rows} == {"z.srt"}
    alike = [row("b.srt", 1), row("a.srt", 1), row("c.srt", 1)]
    choice = one_file_per_episode(alike)
    assert [r["file"] for r in choice.rows] == ["a.srt"]
    assert choice.files_set_aside() == ["b.srt", "c.srt"]


def test_rows_keep_their_order_and_single_file_episodes_are_untouched():
    rows = [row("e2.srt", 2, episode=2), row("e1.srt", 1), row("e2.srt", 1, episode=2), row("e1b.srt", 1)]
    choice = one_file_per_episode(rows)
    assert choice.rows == [rows[0], rows[1], rows[2]]  # e1b.srt loses to e1.srt on its name alone
    assert [entry["episode"] for entry in choice.set_aside] == ["S01E01"]
    single = [row("e1.srt", 1), row("e2.srt", 1, episode=2)]
    assert one_file_per_episode(single).rows == single and one_file_per_episode(single).set_aside == []
    assert "none set aside" in one_file_per_episode(single).log_line()


def test_episodes_are_told_apart_by_season_and_episode_not_by_name():
    counts = count_files([row("x.srt", 1, season=1), row("x.srt", 2, season=1), row("y.srt", 1, season=2)])
    assert {key: [c.file for c in files] for key, files in counts.items()} == {
        (1, 1): ["x.srt"],
        (2, 1): ["y.srt"],
    }


def clean(names: list[str], out: Path, host: str | None = None) -> None:
    """CleanSubtitles on the named fixture files; with `host`, as that instance of a two-instance job."""
    folder = out.parent / f"subtitles-{host or 'single'}"
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(PAIR / name, folder / name)
    config = out.parent / f"resourceconfig-{host}.json"
    if host:
        config.write_text(json.dumps({"current_host": host, "hosts": ["algo-1", "algo-2"]}))
    argv = ["--input-dir", str(folder), "--output-dir", str(out), "--resource-config", str(config)]
    clean_subtitles.main(clean_subtitles.parse_args([*argv, "--characters", str(CHARACTERS)]))


def analyse(cleaned: Path, out: Path) -> dict[str, object]:
    """ExtractEntities and ClassifyThemes (lexicon) on the cleaned folder: every output file's content,
    the two summaries parsed."""
    io = ["--input-dir", str(cleaned)]
    extract_entities.main(
        extract_entities.parse_args(
            [*io, "--output-dir", str(out / "entities"), "--characters", str(CHARACTERS)]
        )
    )
    classify_themes.main(
        classify_themes.parse_args(
            [*io, "--output-dir", str(out / "themes"), "--themes", str(THEMES), "--method", "lexicon"]
        )
    )
    outputs: dict[str, object] = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            name = path.relative_to(out).as_posix()
            outputs[name] = json.loads(path.read_text()) if name in SUMMARIES else path.read_bytes()
    return outputs


def set_aside(outputs: dict[str, object]) -> list[list[dict]]:
    """Each summary's files_set_aside, taken out (the rest must match the HI-only run's)."""
    return [outputs[name].pop("files_set_aside") for name in sorted(SUMMARIES)]  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def hi_alone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    work = tmp_path_factory.mktemp("hi_alone")
    clean([HI, OTHER], work / "cleaned")
    outputs = analyse(work / "cleaned", work / "out")
    assert set_aside(outputs) == [[], []]
    return outputs


EXPECTED_SET_ASIDE = [
    {
        "episode": "S01E01",
        "kept": {"file": HI, "utterances": 7, "with_speaker": 7},
        "set_aside": [{"file": PLAIN, "utterances": 7, "with_speaker": 0}],
    }
]


def test_two_files_of_one_episode_give_what_the_hi_file_alone_gives(hi_alone, tmp_path):
    clean([HI, PLAIN, OTHER], tmp_path / "cleaned")
    manifest = json.loads((tmp_path / "cleaned" / "manifest.json").read_text())
    assert manifest["totals"]["episodes_with_several_files"] == {"S01E01": [PLAIN, HI]}
    outputs = analyse(tmp_path / "cleaned", tmp_path / "out")
    assert set_aside(outputs) == [EXPECTED_SET_ASIDE, EXPECTED_SET_ASIDE]
    assert outputs == hi_alone
    assert hi_alone["entities/summary.json"]["utterances"] == 11  # type: ignore[index]


def test_shards_that_split_the_pair_across_instances_give_the_same(hi_alone, tmp_path):
    cleaned = tmp_path / "cleaned"
    clean([PLAIN, OTHER], cleaned, host="algo-1")  # the plain file is read first, from the first shard
    clean([HI], cleaned, host="algo-2")
    assert sorted(p.name for p in cleaned.glob("cues*.jsonl")) == ["cues-algo-1.jsonl", "cues-algo-2.jsonl"]
    outputs = analyse(cleaned, tmp_path / "out")
    assert set_aside(outputs) == [EXPECTED_SET_ASIDE, EXPECTED_SET_ASIDE]
    assert outputs == hi_alone


def test_the_choice_matters_the_plain_file_alone_gives_another_network(hi_alone, tmp_path):
    clean([PLAIN, OTHER], tmp_path / "cleaned")
    outputs = analyse(tmp_path / "cleaned", tmp_path / "out")
    set_aside(outputs)
    assert outputs["entities/graph.json"] != hi_alone["entities/graph.json"]
    assert outputs["entities/mentions.jsonl"] != hi_alone["entities/mentions.jsonl"]


def prepare_lines(cleaned: Path, out: Path) -> dict:
    args = prepare_subtitle_lines.parse_args(["--input-dir", str(cleaned), "--output-dir", str(out)])
    return prepare_subtitle_lines.main(args)


def test_the_transform_input_holds_the_hi_file_alone_s_lines_however_sharded(tmp_path):
    clean([HI, OTHER], tmp_path / "alone")
    cleaned = tmp_path / "sharded"
    clean([PLAIN, OTHER], cleaned, host="algo-1")
    clean([HI], cleaned, host="algo-2")
    selection = prepare_lines(cleaned, tmp_path / "lines")
    assert selection == {"utterances_in": 18, "utterances_out": 11, "files_set_aside": EXPECTED_SET_ASIDE}
    assert json.loads((tmp_path / "lines" / "selection.json").read_text()) == selection
    # Line for line what CleanSubtitles writes for the HI file and the other episode alone.
    lines = (tmp_path / "lines" / "cues.jsonl").read_bytes()
    assert lines == (tmp_path / "alone" / "cues.jsonl").read_bytes()
    assert sorted(p.name for p in (tmp_path / "lines").iterdir()) == ["cues.jsonl", "selection.json"]
