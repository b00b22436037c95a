"""classify_themes: themes file checks, sampling, and main() on the cleaned sample with tiny:nli."""

from __future__ import annotations

import csv
import json

import pytest

from containers.processing import classify_themes
from containers.processing.nli import label_index
from tests.containers.processing.conftest import THEMES


def test_load_themes_from_the_project_file():
    template, themes = classify_themes.load_themes(THEMES)
    assert template.count("{}") == 1 and "friendship" in themes


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("hypothesis_template: 'About {}.'\nthemes: []\n", "non-empty list"),
        ("hypothesis_template: 'No slot.'\nthemes: [fear]\n", "exactly one"),
        ("hypothesis_template: 'About {}.'\nthemes: [fear, fear]\n", "listed twice"),
    ],
)
def test_bad_themes_files(tmp_path, text, match):
    path = tmp_path / "themes.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        classify_themes.load_themes(path)


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


def test_main_on_the_sample_with_tiny_nli(cleaned_sample, tmp_path):
    argv = [
        "--input-dir",
        str(cleaned_sample),
        "--output-dir",
        str(tmp_path),
        "--themes",
        str(THEMES),
        "--model-id",
        "tiny:nli",
        "--batch-size",
        "32",
    ]
    result = classify_themes.main(classify_themes.parse_args(argv))
    _, themes = classify_themes.load_themes(THEMES)
    with (tmp_path / "themes.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["episode_key"] for r in rows] == ["S01E01", "S01E02", "S01E03", "S01E04", "S02E01"]
    assert list(rows[0])[3:] == themes
    assert all(0.0 < float(r[t]) < 1.0 for r in rows for t in themes)
    assert json.loads((tmp_path / "themes.json").read_text()) == result
    assert result["episodes"][0]["utterances_scored"] == 16
    assert (tmp_path / "themes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
