"""Locations tab logic: texts from pasted lines and files, the endpoint's limits, batches within them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app import locations


def test_the_limits_are_the_handlers_own() -> None:
    from containers.inference import classifier

    assert locations.MAX_BATCH == classifier.MAX_BATCH
    assert locations.MAX_TEXT_CHARS == classifier.MAX_TEXT_CHARS
    assert locations.MAX_PAYLOAD_BYTES == classifier.MAX_PAYLOAD_BYTES


def test_pasted_lines_are_texts_and_blank_lines_are_skipped() -> None:
    assert locations.pasted_texts(" In the lab.\n\n  At the quarry \n") == ["In the lab.", "At the quarry"]


def test_a_csv_is_read_by_its_text_column_else_its_first(tmp_path: Path) -> None:
    named = tmp_path / "named.csv"
    named.write_text('id,text\n1,"Down in the tunnels, it is cold"\n2,\n3,The arcade\n', encoding="utf-8")
    bare = tmp_path / "bare.csv"
    bare.write_text("The school gym\nByers house\n", encoding="utf-8")
    assert locations.file_texts(named) == ["Down in the tunnels, it is cold", "The arcade"]
    assert locations.file_texts(bare) == ["The school gym", "Byers house"]


def test_a_jsonl_file_takes_text_records_and_names_a_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "The mall at night"}\n\n"Hawkins Lab"\n', encoding="utf-8")
    assert locations.file_texts(good) == ["The mall at night", "Hawkins Lab"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"line": 3}\n', encoding="utf-8")
    with pytest.raises(locations.LocationsInputError, match=r"bad.jsonl line 2: write \{\"text\""):
        locations.file_texts(bad)
    other = tmp_path / "notes.pdf"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(locations.LocationsInputError, match=r"upload a \.csv, \.jsonl or \.txt"):
        locations.file_texts(other)


def test_texts_over_the_limits_are_refused_naming_which() -> None:
    with pytest.raises(locations.LocationsInputError, match="paste a text"):
        locations.check_texts([])
    with pytest.raises(locations.LocationsInputError, match="text 2 is 10001 characters"):
        locations.check_texts(["short", "x" * 10_001])
    with pytest.raises(locations.LocationsInputError, match="up to 2000 at once"):
        locations.check_texts(["a"] * 2001)


def test_batches_stay_within_the_count_and_the_body_size() -> None:
    many = [f"text {i}" for i in range(150)]
    assert [len(b) for b in locations.batches(many, 3)] == [64, 64, 22]
    long = ["y" * 9_000] * 60  # 60 texts of 9,000 characters: 540 kB in one body, over the 256 kB limit
    found = locations.batches(long, 3)
    assert [text for batch in found for text in batch] == long
    for batch in found:
        body = json.dumps({"inputs": batch, "parameters": {"top_k": 3}}).encode()
        assert len(body) <= locations.MAX_PAYLOAD_BYTES
    assert len(found) == 3


def test_classify_keeps_the_order_and_reports_progress() -> None:
    texts = [f"scene {i}" for i in range(70)]
    asked: list[dict[str, Any]] = []
    seen: list[tuple[int, int]] = []

    def endpoint(payload: dict[str, Any]) -> dict[str, Any]:  # answers as the handler's schema says
        asked.append(payload)
        return {
            "predictions": [
                {"label": t.split()[-1], "score": 0.5, "top": [{"label": t.split()[-1], "score": 0.5}]}
                for t in payload["inputs"]
            ]
        }

    rows = locations.classify(texts, 2, endpoint, lambda done, total: seen.append((done, total)))
    assert [r["label"] for r in rows] == [str(i) for i in range(70)]
    assert [len(p["inputs"]) for p in asked] == [64, 6] and asked[0]["parameters"] == {"top_k": 2}
    assert seen == [(64, 70), (70, 70)]


def test_results_download_as_csv(tmp_path: Path) -> None:
    rows = [{"text": "At the lab, late", "label": "lab", "score": 0.9, "top": "lab 0.900"}]
    path = locations.write_results(rows, tmp_path / "out" / "r.csv")
    assert path.read_text(encoding="utf-8").splitlines() == [
        "text,label,score,top",
        '"At the lab, late",lab,0.9,lab 0.900',
    ]


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "lines.txt"
    big.write_bytes(b"a" * (locations.MAX_UPLOAD_BYTES + 1))
    with pytest.raises(locations.LocationsInputError, match=r"lines\.txt is over 5 MB"):
        locations.file_texts(big)
    big.write_bytes(b"The woods at night\n" * 10)
    assert locations.file_texts(big) == ["The woods at night"] * 10
