"""Locations as scraped from the fan wiki: key aliases, skipped rows counted, text cleaned, rare labels."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from containers.common.errors import InputDataError
from containers.processing import prepare_datasets
from containers.processing.locations import (
    apply_rare_labels,
    location_text,
    read_locations,
)
from containers.processing.splits import stratified_split
from containers.processing.wiki_text import clean_wiki_text
from tests.containers.processing.conftest import REPO, SAMPLE, read_rows
from tests.containers.processing.scraped_locations import HAWKINS_SENTENCES, write_scraped_locations

STUB = "This article is a stub. Help out this community by adding more information!"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("A quiet diner. [ 1 ] Open late. [ 2 ] [ 2 ] [ ]", "A quiet diner. Open late."),
        ("A fort [1] in the woods [ a ][ citation needed ].", "A fort in the woods."),
        (" ".join([STUB] * 6) + " A hill above town.", "A hill above town."),
        ("This article or section needs to be updated. " * 6 + "A pool.", "A pool."),
        (
            "This article is about the school. For the team, see Tigers . " * 3 + "Red lockers.",
            "This article is about the school. For the team, see Tigers. Red lockers.",
        ),
        ("A\u00a0cold\u2009lake,\u00a0at\tnight.\n\nQuiet.\u200b", "A cold lake, at night. Quiet."),
        ("Лагерь в снегу. [ 3 ] Охрана не спит.", "Лагерь в снегу. Охрана не спит."),
        ("Dr. Brenner ran it. Dr. Owens came later.", "Dr. Brenner ran it. Dr. Owens came later."),
        ("A [redacted] file. Stop. Stop.", "A [redacted] file. Stop. Stop."),
        ("The lab is closed. The lab is closed.", "The lab is closed."),
        ("", ""),
    ],
    ids=[
        "citation-markers",
        "citation-variants",
        "stub-notice-x6",
        "update-notice-x6",
        "hatnote-kept-once",
        "nbsp-and-spaces",
        "cyrillic-kept",
        "abbreviations-not-deduped",
        "other-brackets-and-short-repeats-kept",
        "repeated-sentence",
        "empty",
    ],
)
def test_clean_wiki_text(raw, clean):
    assert clean_wiki_text(raw) == clean


def test_clean_text_comes_back_unchanged():
    for row in read_rows(SAMPLE / "locations" / "locations.jsonl"):
        assert clean_wiki_text(row["description"]) == row["description"]


def test_location_text_joins_what_is_there():
    assert location_text(" Hawkins Lab ", "A lab. [ 1 ]") == "Hawkins Lab. A lab."
    assert location_text("Hawkins Lab", "") == "Hawkins Lab"
    assert location_text("", "A lab.") == "A lab."


@pytest.fixture
def scraped(tmp_path: Path) -> Path:
    folder = tmp_path / "locations"
    write_scraped_locations(folder)
    return folder


KEPT = [  # (name, label) of every row kept, in file order
    ("Hawkins", "Town"),
    ("Downtown Hawkins", "Town"),
    ("Melvald's General Store", "Town"),
    ("Hawkins Public Library", "Town"),
    ("Starcourt Mall", "Town"),
    ("Byers House", "Residence"),
    ("Wheeler House", "Residence"),
    ("Hopper's Cabin", "Residence"),
    ("Henderson House", "Residence"),
    ("Mayfield House", "Residence"),
    ("Hawkins National Laboratory", "Research facility"),
    ("The Rainbow Room", "Research facility"),
    ("Tank Room", "Research facility"),
    ("Nevada Desert Site", "Research facility"),
    ("Hawkins Middle School", "School"),
    ("Hawkins High School", "School"),
    ("AV Club Room", "School"),
    ("Lover's Lake", "Lake"),
    ("Hawkins Junkyard", "Junkyard"),
    ("Kamchatka Camp", "Military baseResearch facilityLabor camp"),
    ("Weathertop", "Hill"),
    ("Lenora Hills", "Village"),
    ("Hawkins Community Pool", "Town"),
]
SKIPPED = {"empty_row": 2, "no_label": 1, "no_text": 1, "duplicate": 2, "label_conflict": 1}


def test_scraped_rows_are_read_skipped_and_counted_exactly(scraped):
    read = read_locations(scraped)
    assert [(row["text"].split(". ")[0], row["label"]) for row in read.rows] == KEPT
    assert dict(read.skipped) == SKIPPED
    assert read.rows_read == 30 == len(read.rows) + sum(read.skipped.values())
    assert read.label_conflicts == [
        {
            "row": "locations.jsonl:29",
            "label": "Room",
            "kept_row": "locations.jsonl:17",
            "kept_label": "School",
        }
    ]
    assert len({row["text"] for row in read.rows}) == len(read.rows)


def test_scraped_descriptions_are_cleaned(scraped):
    texts = {row["text"].split(". ")[0]: row["text"] for row in read_locations(scraped).rows}
    assert texts["Starcourt Mall"] == (
        "Starcourt Mall. A bright new shopping mall with an ice cream parlour, a food court and a hidden "
        "lift under the loading dock."
    )
    assert texts["Wheeler House"] == (
        "Wheeler House. A two-storey family home on a quiet street; the children play their campaigns in "
        "its carpeted basement."
    )
    assert texts["Henderson House"] == (
        "Henderson House. This article is about the family home. For the family, see Henderson family. "
        "A modest home where a mother dotes on her son and a cat sleeps on the sofa."
    )
    assert texts["Melvald's General Store"] == (
        "Melvald's General Store. A family-run shop on the main street that sells tools, paint and "
        "Christmas lights."
    )
    assert texts["Mayfield House"] == (
        "Mayfield House. A cramped house on the west side of town, where the step-brother keeps weights "
        "in the garage."
    )
    assert texts["Kamchatka Camp"].endswith("frozen ground. Охрана сторожит лагерь день и ночь.")
    assert texts["Hawkins Community Pool"] == "Hawkins Community Pool"
    hawkins = texts["Hawkins"]
    assert hawkins == "Hawkins. " + " ".join(HAWKINS_SENTENCES) + (
        " Hawkins Indiana Hawkins Lab Starcourt Mall Byers House Hawkins Police Department"
    )  # markers gone; the trailing keyword list is prose to the cleaner and stays
    assert len(hawkins.encode()) > 2000


@pytest.mark.parametrize(
    "row",
    [
        {"Name": "Arcade", "DESCRIPTION": "Games.", "Label": "Town"},
        {"title": "Arcade", "text": "Games.", "category": "Town"},
        {"Location_Name": "Arcade", "location_description": "Games.", "TYPE": "Town"},
        {"name": "Arcade", "description": "Games.", "label": "Town", "url": "https://example.org/x"},
    ],
    ids=["documented-any-case", "title-text-category", "scraped-mixed-case", "extra-keys-ignored"],
)
def test_accepted_keys_in_any_case(tmp_path, row):
    (tmp_path / "l.jsonl").write_text(json.dumps(row) + "\n")
    assert read_locations(tmp_path).rows == [{"text": "Arcade. Games.", "label": "Town"}]


def test_a_label_in_several_cases_is_one_label_spelled_as_first_seen(tmp_path):
    rows = [
        {"name": "Lab", "description": "Tanks.", "label": "Research facility"},
        {"name": "Bunker", "description": "Doors.", "label": "Research Facility"},
        {"name": "Annex", "description": "Cells.", "label": "RESEARCH FACILITY"},
        {"name": "Arcade", "description": "Games.", "label": "Town"},
    ]
    (tmp_path / "l.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    read = read_locations(tmp_path)
    assert [row["label"] for row in read.rows] == ["Research facility"] * 3 + ["Town"]
    assert read.label_spellings == {"Research facility": ["Research Facility", "RESEARCH FACILITY"]}


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (
            {"place": "Arcade", "about": "Games.", "kind": "Town"},
            r"l\.jsonl:2: no label key; the row has keys \['about', 'kind', 'place'\]; accepted keys "
            r"\(any case\) are name: name/location_name/title; description: description/location_description"
            r"/text; label: label/location_type/type/category",
        ),
        ({"kind": "Town", "label": "Town"}, r"l\.jsonl:2: no name or description key; the row has keys"),
        ({"name": "A", "Name": "B", "label": "Town"}, r"keys that differ only in case \('Name'\)"),
        ({"name": "Arcade", "label": 3}, r"'label' is int; the label must be a string \(or null\)"),
        (["Arcade", "Town"], r"l\.jsonl:2: expected a JSON object with the keys name: "),
    ],
    ids=["unknown-keys", "no-text-key", "case-clash", "number-label", "not-an-object"],
)
def test_rows_in_another_shape_are_errors_naming_the_keys(tmp_path, row, match):
    good = {"name": "Mall", "description": "Shops.", "label": "Town"}
    (tmp_path / "l.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(InputDataError, match=match):
        read_locations(tmp_path)


def test_a_row_in_another_shape_exits_2_with_one_line(tmp_path):
    (tmp_path / "locations").mkdir()
    (tmp_path / "locations" / "l.jsonl").write_text(json.dumps({"place": "Arcade", "kind": "Town"}) + "\n")
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "containers" / "processing" / "prepare_datasets.py"),
            "--datasets",
            "classifier",
            "--locations-dir",
            str(tmp_path / "locations"),
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    errors = [line for line in (done.stdout + done.stderr).splitlines() if "ERROR" in line]
    assert len(errors) == 1, done.stdout + done.stderr
    assert "l.jsonl:1: no label key; the row has keys ['kind', 'place']" in errors[0]


def _labels(rows: list[dict]) -> dict[str, int]:
    return dict(sorted(Counter(row["label"] for row in rows).items()))


ONE_OFFS = {"Hill": 1, "Junkyard": 1, "Lake": 1, "Military baseResearch facilityLabor camp": 1, "Village": 1}


def test_rare_labels_merge_into_other_drop_or_stay(scraped):
    rows = read_locations(scraped).rows
    merged, rare = apply_rare_labels(rows, "other", needed=3)
    assert rare == ONE_OFFS
    assert _labels(merged) == {"Research facility": 4, "Residence": 5, "School": 3, "Town": 6, "other": 5}
    assert [r["text"] for r in merged] == [r["text"] for r in rows]  # same rows, same order
    dropped, rare = apply_rare_labels(rows, "drop", needed=3)
    assert rare == ONE_OFFS and _labels(dropped) == {
        "Research facility": 4,
        "Residence": 5,
        "School": 3,
        "Town": 6,
    }
    assert apply_rare_labels(rows, "refuse", needed=3) == (rows, {})
    assert apply_rare_labels(rows, "other", needed=4) == (
        [{**r, "label": "other"} if r["label"] in {*ONE_OFFS, "School"} else r for r in rows],
        {**ONE_OFFS, "School": 3},
    )


def test_an_existing_other_label_takes_the_rare_ones():
    rows = [{"text": f"t{i}", "label": "other"} for i in range(2)] + [{"text": "x", "label": "Hill"}]
    merged, rare = apply_rare_labels(rows, "other", needed=3)
    assert rare == {"Hill": 1} and _labels(merged) == {"other": 3}


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="rare-label policy 'merge': use one of other, drop, refuse"):
        apply_rare_labels([], "merge", needed=3)
    with pytest.raises(ValueError, match="--rare-labels 'merge': use one of other, drop, refuse"):
        prepare_datasets.PrepareArguments(Path("t"), Path("l"), Path("o"), rare_labels="merge")


def _prepare(folder: Path, out: Path, *flags: str) -> dict:
    argv = ["--locations-dir", str(folder), "--output-dir", str(out), "--datasets", "classifier", *flags]
    return prepare_datasets.main(prepare_datasets.parse_args(argv))


def test_prepare_datasets_on_a_scrape(scraped, tmp_path):
    """The whole classifier preparation on the scrape: every row accounted for, no text in two splits."""
    manifest = _prepare(scraped, tmp_path / "out")["classifier"]
    assert manifest == {
        "rows_read": 30,
        "skipped": dict(sorted(SKIPPED.items())),
        "label_conflicts": [
            {
                "row": "locations.jsonl:29",
                "label": "Room",
                "kept_row": "locations.jsonl:17",
                "kept_label": "School",
            }
        ],
        "label_spellings": {},
        "rare_labels": {"policy": "other", "min_rows": 3, "labels": ONE_OFFS},
        "rows": 23,
        "per_split": {
            "test": {"Research facility": 1, "Residence": 1, "School": 1, "Town": 1, "other": 1},
            "train": {"Research facility": 2, "Residence": 3, "School": 1, "Town": 4, "other": 3},
            "validation": {"Research facility": 1, "Residence": 1, "School": 1, "Town": 1, "other": 1},
        },
    }
    splits = {
        name: read_rows(tmp_path / "out" / f"classifier_{name}" / f"{name}.jsonl")
        for name in ("train", "validation", "test")
    }
    texts = [row["text"] for rows in splits.values() for row in rows]
    assert len(texts) == len(set(texts)) == 23
    label_map = json.loads((tmp_path / "out" / "classifier_train" / "label_map.json").read_text())
    assert list(label_map["label2id"]) == ["Research facility", "Residence", "School", "Town", "other"]


def test_prepare_datasets_dropping_rare_labels_counts_them(scraped, tmp_path):
    manifest = _prepare(scraped, tmp_path / "out", "--rare-labels", "drop")["classifier"]
    assert manifest["skipped"] == dict(sorted({**SKIPPED, "rare_label": 5}.items()))
    assert manifest["rows"] == 18 and manifest["rows_read"] == manifest["rows"] + sum(
        manifest["skipped"].values()
    )
    assert "other" not in manifest["per_split"]["train"]


def test_prepare_datasets_refusing_rare_labels_names_them(scraped, tmp_path):
    with pytest.raises(InputDataError, match=r"fewer than 3 rows .*'Hill': 1, 'Junkyard': 1"):
        _prepare(scraped, tmp_path / "out", "--rare-labels", "refuse")


def test_without_validation_two_rows_reach_train_and_test():
    rows = [{"text": f"a{i}", "label": "a"} for i in range(8)] + [
        {"text": "b1", "label": "b"},
        {"text": "b2", "label": "b"},
    ]
    splits = stratified_split(rows, "label", 0.0, 0.2, seed=1)
    assert [sum(r["label"] == "b" for r in splits[name]) for name in ("train", "validation", "test")] == [
        1,
        0,
        1,
    ]


def test_only_one_offs_merge_into_a_single_label_and_are_refused(tmp_path):
    kinds = ("Hill", "Lake", "Village", "Junkyard")
    lines = [json.dumps({"location_name": f"Place {k}", "location_type": k}) for k in kinds]
    (tmp_path / "l.jsonl").write_text("\n".join(lines) + "\n")
    match = (
        r"only one label \(other\) in .*; other holds the rare labels "
        r"\{'Hill': 1, 'Junkyard': 1, 'Lake': 1, 'Village': 1\}; a classifier needs at least two"
    )
    with pytest.raises(InputDataError, match=match):
        _prepare(tmp_path, tmp_path / "out")
