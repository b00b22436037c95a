"""classify_themes: the themes file, the lexicon scorer, and main() on the cleaned sample by both methods."""

from __future__ import annotations

import csv
import itertools
import json
import re

import pytest

from containers.common.io import read_jsonl
from containers.processing import classify_themes
from containers.processing.lexicon import build_lexicon, score_lines, term_regex
from containers.processing.nli import label_index
from containers.processing.themes_file import load_themes
from tests.containers.processing.conftest import THEMES, read_rows

# Sample episodes written around one theme each (data/sample/subtitles); the first five are mixed scenes.
THEMED = {
    "S02E02": "friendship",
    "S02E03": "family",
    "S02E04": "fear",
    "S02E05": "loss",
    "S02E06": "government conspiracy",
    "S03E01": "the supernatural",
    "S03E02": "first love",
    "S03E03": "betrayal",
    "S03E04": "courage",
    "S03E05": "growing up",
}
MIXED = ["S01E01", "S01E02", "S01E03", "S01E04", "S02E01"]


def run(cleaned, out, *extra: str) -> dict:
    argv = ["--input-dir", str(cleaned), "--output-dir", str(out), "--themes", str(THEMES), *extra]
    return classify_themes.main(classify_themes.parse_args(argv))


def write_themes(tmp_path, text: str):
    path = tmp_path / "themes.yaml"
    path.write_text(text)
    return path


def test_the_project_themes_file_has_a_description_and_keywords_for_each_theme():
    spec = load_themes(THEMES)
    assert spec.hypothesis_template.count("{}") == 1 and "friendship" in spec.names
    assert set(THEMED.values()) == set(spec.names)  # every theme has a sample episode written around it
    assert all(theme.description and theme.keywords for theme in spec.themes)
    assert spec.hypotheses()[0] == spec.hypothesis_template.format(spec.names[0])


@pytest.mark.parametrize(
    ("themes", "match"),
    [
        ("[]", "non-empty list"),
        ("[fear]", "each theme is a mapping"),
        ("[{name: fear}]", "description must be a non-empty sentence"),
        ("[{name: fear, description: Dread.}, {name: fear, description: Again.}]", "listed twice"),
        ("[{name: fear, description: Dread., colour: red}]", r"unknown key\(s\) \['colour'\]"),
        ("[{name: fear, description: Dread., keywords: [Scared]}]", r"\['Scared'\] must be lower-case"),
        ("[{name: fear, description: Dread., keywords: ['scar(ed)?']}]", "must be lower-case words"),
        ("[{name: fear, description: Dread., keywords: [afraid, afraid]}]", "keyword is listed twice"),
    ],
)
def test_bad_themes_files_say_what_to_fix(tmp_path, themes, match):
    path = write_themes(tmp_path, f"hypothesis_template: 'About {{}}.'\nthemes: {themes}\n")
    with pytest.raises(ValueError, match=match):
        load_themes(path)


def test_a_template_without_one_slot_is_refused(tmp_path):
    path = write_themes(tmp_path, "hypothesis_template: 'No slot.'\nthemes: [{name: a, description: b}]\n")
    with pytest.raises(ValueError, match="exactly one"):
        load_themes(path)


@pytest.mark.parametrize(
    ("keyword", "text", "found"),
    [
        ("friend*", "my friends", True),
        ("friend*", "friendship", True),
        ("friend*", "boyfriend", False),
        ("lab", "the label", False),
        ("lab", "the lab's door", True),
        ("bad men", "the bad\n men", True),
    ],
)
def test_keywords_match_whole_words_with_optional_endings(keyword, text, found):
    assert bool(re.search(term_regex(keyword), text)) is found


def lexicon(tmp_path, keywords: str, description: str = "Dread."):
    path = write_themes(
        tmp_path,
        f"hypothesis_template: 'About {{}}.'\nthemes:\n"
        f"  - {{name: fear, description: {description}, keywords: [{keywords}]}}\n"
        "  - {name: love, description: Romance., keywords: [kiss*]}\n",
    )
    return build_lexicon(load_themes(path))


def test_a_line_scores_by_the_terms_it_holds_and_their_rarity(tmp_path):
    lines = [
        "I'm scared.",  # common in this corpus: 3 lines
        "Scared again.",
        "So scared.",
        "A nightmare!",  # rare: 1 line
        "A nightmare and I'm scared.",
        "Pass the salt.",
        "Don\u2019t look, just kiss me.",
    ]
    result = score_lines(lexicon(tmp_path, "scared, nightmare*, don't look"), lines)
    fear = [row[0] for row in result.scores]
    assert fear[5] == 0.0 and result.matched[5] == [[], []]
    assert 0 < fear[0] < fear[3] < fear[4] < 1  # rarer term weighs more; two terms more than one
    assert result.matched[4][0] == ["nightmare*", "scared"]
    assert result.matched[6] == [["don't look"], ["kiss*"]]  # typographic apostrophe, one line, two themes


def test_description_words_count_at_half_the_weight_of_a_keyword(tmp_path):
    lines = ["The woods.", "A ghost.", "Hello there."]
    result = score_lines(lexicon(tmp_path, "ghost*", description="Terror in the woods."), lines)
    assert result.matched[0][0] == ["woods"] and result.matched[1][0] == ["ghost*"]
    assert 0 < result.scores[0][0] < result.scores[1][0]


def test_spread_and_premises():
    assert classify_themes.spread(list(range(10)), 4) == [0, 2, 5, 7]
    assert classify_themes.spread([1, 2], 5) == [1, 2]
    assert classify_themes.premises(["a", "b", "c"], 2) == ["a b", "c"]
    with pytest.raises(ValueError, match="at least 1"):
        classify_themes.premises(["a"], 0)


def test_label_index_finds_mnli_labels_in_any_case():
    assert label_index({"CONTRADICTION": 0, "NEUTRAL": 1, "ENTAILMENT": 2}, "entail") == 2
    with pytest.raises(ValueError, match="use an NLI"):
        label_index({"POSITIVE": 0}, "entail")


@pytest.fixture(scope="module")
def lexicon_run(cleaned_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("themes-lexicon")
    return run(cleaned_sample, out, "--method", "lexicon"), out


def test_each_themed_sample_episode_scores_highest_on_its_theme(lexicon_run):
    result, _ = lexicon_run
    top = {
        row["episode_key"]: max(row["scores"], key=row["scores"].get)
        for row in result["episodes"]
        if row["episode_key"] in THEMED
    }
    assert top == THEMED
    peaks = {
        theme: max(result["episodes"], key=lambda row: row["scores"][theme])["episode_key"]
        for theme in result["themes"]
    }
    assert peaks == {theme: key for key, theme in THEMED.items()}  # and each theme peaks in its episode


def test_theme_scores_vary_by_episode(lexicon_run):
    result, _ = lexicon_run
    rows = {row["episode_key"]: row["scores"] for row in result["episodes"]}
    assert sorted(rows) == sorted(MIXED + list(THEMED))
    for theme in result["themes"]:
        column = [scores[theme] for scores in rows.values()]
        assert max(column) > 2 * (sum(column) / len(column)), theme  # one episode stands out on each theme
    for (a, first), (b, second) in itertools.combinations(rows.items(), 2):
        assert first != second, (a, b)


def test_lexicon_outputs_and_the_strongest_lines(lexicon_run, cleaned_sample):
    result, out = lexicon_run
    assert result["method"] == "lexicon" and result["model_id"] is None
    assert json.loads((out / "themes.json").read_text()) == result
    with (out / "themes.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0])[3:] == result["themes"]
    assert [float(r["fear"]) for r in table] == [e["scores"]["fear"] for e in result["episodes"]]
    utterances = {(r["file"], r["index"], r["text"]) for r in read_rows(cleaned_sample / "cues.jsonl")}
    lines = list(read_jsonl(out / "theme_lines.jsonl"))
    for key, group in itertools.groupby(lines, key=lambda r: (r["episode_key"], r["theme"])):
        group = list(group)
        assert [r["rank"] for r in group] == list(range(1, len(group) + 1)) and len(group) <= 3, key
        assert [r["score"] for r in group] == sorted((r["score"] for r in group), reverse=True)
        assert all(r["matched"] and (r["file"], r["index"], r["text"]) in utterances for r in group)
    fear = [r for r in lines if r["episode_key"] == "S02E04" and r["theme"] == "fear"]
    assert len(fear) == 3 and all(r["file"] == "S02E04.ass" and r["speaker"] for r in fear)
    assert (out / "themes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lines_per_theme_is_checked_and_zero_writes_none(cleaned_sample, tmp_path):
    run(cleaned_sample, tmp_path, "--method", "lexicon", "--lines-per-theme", "0")
    assert (tmp_path / "theme_lines.jsonl").read_text() == ""
    with pytest.raises(ValueError, match="--lines-per-theme must be 0 or more"):
        run(cleaned_sample, tmp_path, "--method", "lexicon", "--lines-per-theme", "-1")


def test_main_on_the_sample_with_tiny_nli(cleaned_sample, tmp_path):
    result = run(cleaned_sample, tmp_path, "--model-id", "tiny:nli", "--batch-size", "32")
    themes = load_themes(THEMES).names
    with (tmp_path / "themes.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["episode_key"] for r in rows] == sorted(MIXED + list(THEMED))
    assert list(rows[0])[3:] == themes
    assert all(0.0 < float(r[t]) < 1.0 for r in rows for t in themes)
    assert json.loads((tmp_path / "themes.json").read_text()) == result
    assert (result["method"], result["model_id"]) == ("nli", "tiny:nli")
    first = result["episodes"][0]
    assert (first["utterances_scored"], first["passages"]) == (16, 4)  # 16 lines in premises of 5
    lines = list(read_jsonl(tmp_path / "theme_lines.jsonl"))
    # every premise has an entailment probability above 0: each episode gives its 3 best (or all it has)
    assert len(lines) == len(themes) * sum(min(3, e["passages"]) for e in result["episodes"])
    assert all(r["matched"] == [] and r["speaker"] is None for r in lines)
    assert (tmp_path / "themes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("flag", ["--batch-size", "--max-utterances-per-episode", "--utterances-per-premise"])
def test_counts_below_one_fail_before_the_model_loads(flag: str) -> None:
    with pytest.raises(ValueError, match=f"{flag} must be at least 1, got 0"):
        classify_themes.parse_args([flag, "0"])
