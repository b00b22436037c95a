"""prepare_datasets: pairs, stage directions, episode splits without leakage, stratified locations, main()."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from containers.processing import prepare_datasets
from containers.processing.locations import UnlearnableLocations
from containers.processing.splits import split_counts, split_episodes, stratified_split
from containers.processing.transcripts import (
    build_pairs,
    read_transcript,
    read_transcripts,
    strip_stage_directions,
)
from tests.containers.processing.conftest import SAMPLE, read_rows


def write_csv(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("(whispers) Keep quiet.", "Keep quiet."),
        ("[door slams] Everybody in. [thunder]", "Everybody in."),
        ("Fine.  (sighs)  Okay.", "Fine. Okay."),
        ("[door slams]", ""),
    ],
)
def test_strip_stage_directions(line, expected):
    assert strip_stage_directions(line) == expected


def test_pairs_exactly(tmp_path):
    write_csv(
        tmp_path,
        "Show.S01E01.csv",
        "name,line\nEleven,Where?\nMike,(whispers) Are you hungry?\nEleven,(nods) Waffles.\n"
        "Eleven,More waffles.\n"
        "Dustin,[door slams]\nDustin,Is that true?\nEleven,K\nLucas,Hi.\nELEVEN,Friends tell the truth.\n",
    )
    write_csv(
        tmp_path, "Show.S01E02.csv", "name,line\nEleven,Hello.\nMike,Are you hungry?\nEleven,Waffles.\n"
    )
    pairs, stats = build_pairs(read_transcripts(tmp_path), "Eleven", min_reply_chars=2)
    simple = {
        key: [(r["messages"][1]["content"], r["messages"][2]["content"]) for r in rows]
        for key, rows in pairs.items()
    }
    assert simple == {
        "S01E01": [("Are you hungry?", "Waffles."), ("Hi.", "Friends tell the truth.")],
        "S01E02": [],  # Eleven opens the episode: no previous line, never the last line of S01E01
    }
    assert stats.character_lines == 7 and stats.pairs == 2
    assert dict(stats.dropped) == {
        "no_previous_line": 2,
        "previous_line_same_speaker": 1,
        "reply_too_short": 1,
        "duplicate": 1,
    }
    assert stats.pairs + sum(stats.dropped.values()) == stats.character_lines
    record = pairs["S01E01"][0]
    assert record["messages"][0] == {
        "role": "system",
        "content": "You are Eleven from Stranger Things. Answer in character.",
    }
    assert (record["season"], record["episode"], record["character"]) == (1, 1, "Eleven")


def test_transcript_errors_say_what_to_fix(tmp_path):
    with pytest.raises(ValueError, match="must contain the episode as SxxEyy"):
        read_transcript(write_csv(tmp_path, "pilot.csv", "name,line\nA,b\n"))
    with pytest.raises(ValueError, match="expected a header with the columns name,line"):
        read_transcript(write_csv(tmp_path, "S01E01.csv", "speaker,text\nA,b\n"))
    write_csv(tmp_path / "two", "a.S01E01.csv", "name,line\nA,b\n")
    write_csv(tmp_path / "two", "b.S01E01.csv", "name,line\nA,b\n")
    with pytest.raises(ValueError, match="a second transcript for S01E01"):
        read_transcripts(tmp_path / "two")
    with pytest.raises(FileNotFoundError, match="no transcript CSV files"):
        read_transcripts(tmp_path / "none")


def test_split_episodes_is_seeded_complete_and_disjoint():
    episodes = [f"S01E{i:02d}" for i in range(1, 11)]
    splits = split_episodes(episodes, 0.1, 0.15, seed=42)
    assert splits == split_episodes(list(reversed(episodes)), 0.1, 0.15, seed=42)
    assert [len(splits[k]) for k in ("train", "validation", "test")] == [7, 1, 2]
    assert sorted(splits["train"] + splits["validation"] + splits["test"]) == episodes
    assert splits != split_episodes(episodes, 0.1, 0.15, seed=7)


def test_too_few_episodes_is_said_clearly():
    with pytest.raises(ValueError, match=r"only 2 episode\(s\) with pairs .* needs at least 3"):
        split_episodes(["S01E01", "S01E02"], 0.1, 0.15, seed=1)
    assert split_episodes(["S01E01"], 0.0, 0.0, seed=1) == {"train": ["S01E01"], "validation": [], "test": []}


@pytest.mark.parametrize(
    ("fractions", "match"), [((1.2, 0.1), "validation_fraction must be in"), ((0.5, 0.5), "must be below 1")]
)
def test_bad_fractions(fractions, match):
    with pytest.raises(ValueError, match=match):
        split_counts(10, *fractions)


def test_stratified_split_keeps_each_label_in_each_split():
    rows = [{"text": f"{label}{i}", "label": label} for label in "abc" for i in range(10)] + [
        {"text": "rare", "label": "z"}
    ]
    splits = stratified_split(rows, "label", 0.1, 0.2, seed=3)
    for name, size in (("train", 7), ("validation", 1), ("test", 2)):
        assert Counter(r["label"] for r in splits[name] if r["label"] != "z") == dict.fromkeys("abc", size)
    assert [r for r in splits["train"] if r["label"] == "z"] == [{"text": "rare", "label": "z"}]
    assert splits == stratified_split(rows, "label", 0.1, 0.2, seed=3)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("datasets")
    argv = [
        "--transcripts-dir",
        str(SAMPLE / "transcripts"),
        "--locations-dir",
        str(SAMPLE / "locations"),
        "--output-dir",
        str(out),
    ]
    return prepare_datasets.main(prepare_datasets.parse_args(argv)), out


def test_main_writes_the_contract_layout(prepared):
    _, out = prepared
    expected = {
        "chatbot_train/train.jsonl",
        "chatbot_validation/validation.jsonl",
        "chatbot_test/test.jsonl",
        "classifier_train/train.jsonl",
        "classifier_train/label_map.json",
        "classifier_validation/validation.jsonl",
        "classifier_test/test.jsonl",
        "report/manifest.json",
    }
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == expected


def test_no_episode_is_in_two_splits(prepared):
    manifest, out = prepared
    seen = {}
    for name in ("train", "validation", "test"):
        rows = read_rows(out / f"chatbot_{name}" / f"{name}.jsonl")
        assert rows, name
        seen[name] = {(r["season"], r["episode"]) for r in rows}
    assert not (
        seen["train"] & seen["validation"]
        or seen["train"] & seen["test"]
        or seen["validation"] & seen["test"]
    )
    assert manifest["chatbot"]["pairs"] == sum(manifest["chatbot"]["pairs_per_split"].values())


def test_sample_chat_records_are_clean_and_plentiful(prepared):
    manifest, out = prepared
    rows = [
        r
        for name in ("train", "validation", "test")
        for r in read_rows(out / f"chatbot_{name}" / f"{name}.jsonl")
    ]
    assert len(rows) >= 200  # the sample gives the chatbot enough of Eleven to learn from
    for row in rows:
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        assert not any(c in m["content"] for m in row["messages"] for c in "[]()")
    assert len({(r["messages"][1]["content"], r["messages"][2]["content"]) for r in rows}) == len(rows)
    chat = manifest["chatbot"]
    assert chat["pairs"] + sum(chat["dropped"].values()) == chat["character_lines"]


def test_sample_locations_are_learnable(prepared):
    """A bag-of-words classifier beats the majority class on the held-out split: the labels are learnable."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    _, out = prepared
    train = read_rows(out / "classifier_train" / "train.jsonl")
    held = read_rows(out / "classifier_test" / "test.jsonl") + read_rows(
        out / "classifier_validation" / "validation.jsonl"
    )
    label_map = json.loads((out / "classifier_train" / "label_map.json").read_text())
    assert set(label_map["label2id"]) == {r["label"] for r in train} and len(label_map["id2label"]) >= 4
    vectorizer = CountVectorizer()
    model = LogisticRegression(max_iter=1000).fit(
        vectorizer.fit_transform([r["text"] for r in train]), [r["label"] for r in train]
    )
    predicted = model.predict(vectorizer.transform([r["text"] for r in held]))
    accuracy = sum(p == r["label"] for p, r in zip(predicted, held, strict=True)) / len(held)
    majority = Counter(r["label"] for r in held).most_common(1)[0][1] / len(held)
    assert accuracy > majority + 0.3


def test_unknown_character_lists_the_speakers(tmp_path):
    argv = [
        "--transcripts-dir",
        str(SAMPLE / "transcripts"),
        "--locations-dir",
        str(SAMPLE / "locations"),
        "--output-dir",
        str(tmp_path),
        "--character",
        "Demogorgon",
    ]
    with pytest.raises(ValueError, match=r"no pairs for character 'Demogorgon'.*Eleven"):
        prepare_datasets.main(prepare_datasets.parse_args(argv))


def test_snake_case_flags_are_accepted():
    args = prepare_datasets.parse_args(["--min_reply_chars", "5", "--validation_fraction", "0.2"])
    assert (args.min_reply_chars, args.validation_fraction) == (5, 0.2)


@pytest.mark.parametrize(
    ("datasets", "folders", "absent"),
    [
        ("chatbot", {"chatbot_train", "chatbot_validation", "chatbot_test", "report"}, "locations"),
        (
            "classifier",
            {"classifier_train", "classifier_validation", "classifier_test", "report"},
            "transcripts",
        ),
    ],
)
def test_one_dataset_reads_only_its_own_input(prepared, tmp_path, datasets, folders, absent):
    """The pipeline's two prepare steps: each builds one dataset, and the other input may be absent."""
    full_manifest, full_out = prepared
    dirs = {"transcripts": SAMPLE / "transcripts", "locations": SAMPLE / "locations"}
    dirs[absent] = tmp_path / "nowhere"
    argv = ["--transcripts-dir", str(dirs["transcripts"]), "--locations-dir", str(dirs["locations"])]
    manifest = prepare_datasets.main(
        prepare_datasets.parse_args([*argv, "--output-dir", str(tmp_path / "out"), "--datasets", datasets])
    )
    assert {p.name for p in (tmp_path / "out").iterdir()} == folders
    assert manifest[datasets] == full_manifest[datasets]
    other = "classifier" if datasets == "chatbot" else "chatbot"
    assert other not in manifest
    for folder in folders - {"report"}:
        for written in (tmp_path / "out" / folder).iterdir():
            assert written.read_bytes() == (full_out / folder / written.name).read_bytes()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--validation-fraction", "0.6", "--test-fraction", "0.4"], "leave nothing to train on"),
        (["--test-fraction", "1.5"], r"--test-fraction 1.5 must be in \[0, 1\)"),
        (["--min-reply-chars", "-1"], "--min-reply-chars -1 is negative"),
        (["--character", " "], "--character is empty"),
    ],
)
def test_bad_arguments_fail_before_any_file_is_read(tmp_path, flags, message):
    missing = tmp_path / "not-there"  # never read: the arguments fail first
    argv = ["--transcripts-dir", str(missing), "--locations-dir", str(missing), "--output-dir", str(tmp_path)]
    with pytest.raises(ValueError, match=message):
        prepare_datasets.parse_args([*argv, *flags])


def _locations(tmp_path: Path, lines: list[str]) -> Path:
    folder = tmp_path / "locations"
    folder.mkdir()
    (folder / "locations.jsonl").write_text("".join(line + "\n" for line in lines))
    return folder


def _row(name: str, label: str) -> str:
    return json.dumps({"name": name, "description": f"A place called {name}.", "label": label})


@pytest.mark.parametrize(
    ("lines", "flags", "match"),
    [
        ([], [], r"no locations in .*locations: its \*\.jsonl files hold no rows"),
        (["", "   "], [], r"hold no rows"),
        ([_row(f"Lab {i}", "lab") for i in range(9)], [], r"only one label \(lab\) .* at least two"),
        (
            [_row(f"Lab {i}", "lab") for i in range(9)] + [_row("Mall", "town"), _row("Diner", "town")],
            ["--rare-labels", "refuse"],
            r"fewer than 3 rows .*\{'town': 2\}; add rows for them",
        ),
        (
            [_row(f"Lab {i}", "lab") for i in range(9)] + [_row("Mall", "town"), _row("Diner", "town")],
            [],
            r"fewer than 3 rows .*\{'other': 2\}; other holds the rare labels \{'town': 2\}; add rows",
        ),
        (
            [_row(f"Lab {i}", "lab") for i in range(9)] + [_row("Mall", "town"), _row("Diner", "town")],
            ["--rare-labels", "drop"],
            r"only one label \(lab\)",
        ),
        (
            [
                json.dumps({"name": "", "description": "", "label": ""}),
                json.dumps({"name": "Lab", "label": ""}),
            ],
            [],
            r"every row was skipped \(\{'empty_row': 1, 'no_label': 1\}\)",
        ),
    ],
    ids=[
        "empty-file",
        "blank-lines",
        "one-label",
        "rare-label-refused",
        "rare-label-merged-still-rare",
        "rare-label-dropped-leaves-one",
        "all-skipped",
    ],
)
def test_locations_a_classifier_cannot_learn_from_are_refused(tmp_path, lines, flags, match):
    """Refused while preparing the data, in one line, not as an IndexError inside training."""
    argv = ["--locations-dir", str(_locations(tmp_path, lines)), "--output-dir", str(tmp_path / "out")]
    with pytest.raises(UnlearnableLocations, match=match) as caught:
        prepare_datasets.main(prepare_datasets.parse_args([*argv, "--datasets", "classifier", *flags]))
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out" / "classifier_train").exists()


def test_a_label_rare_but_present_in_every_split_is_accepted(tmp_path):
    lines = [_row(f"Lab {i}", "lab") for i in range(9)] + [_row(f"Mall {i}", "town") for i in range(3)]
    argv = ["--locations-dir", str(_locations(tmp_path, lines)), "--output-dir", str(tmp_path / "out")]
    manifest = prepare_datasets.main(prepare_datasets.parse_args([*argv, "--datasets", "classifier"]))
    assert {name: counts["town"] for name, counts in manifest["classifier"]["per_split"].items()} == {
        "train": 1,
        "validation": 1,
        "test": 1,
    }
