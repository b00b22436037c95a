"""Locations tab logic: texts in (pasted lines, a CSV or JSON Lines file), labelled rows out.

The classifier endpoint (containers/inference/classifier.py) takes {"inputs": [...], "parameters":
{"top_k": k}} with at most MAX_BATCH texts of at most MAX_TEXT_CHARS each in a body of at most
MAX_PAYLOAD_BYTES; a longer list goes in batches within both, so any list up to MAX_TEXTS works.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The handler's own limits (tests/app/test_locations.py keeps them equal to the handler's).
MAX_BATCH = 64
MAX_TEXT_CHARS = 10_000
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_TEXTS = 2_000  # the app's own ceiling: a bigger job is a batch transform, not a browser tab
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
TEXT_COLUMNS = ("text", "inputs", "line")


class LocationsInputError(ValueError):
    """Input the user must fix: the message names the line or the column."""


def pasted_texts(value: str) -> list[str]:
    """One text a non-empty line."""
    return [line.strip() for line in value.splitlines() if line.strip()]


def file_texts(path: Path) -> list[str]:
    """Texts of an uploaded .csv (a `text` column, else the first) or .jsonl ({"text": ...} a line)."""
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        raise LocationsInputError(f"{path.name} is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    content = path.read_text(encoding="utf-8-sig")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_texts(content, path.name)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_texts(content, path.name)
    if suffix == ".txt":
        return pasted_texts(content)
    raise LocationsInputError(f"{path.name}: upload a .csv, .jsonl or .txt file")


def _csv_texts(content: str, name: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(content)))
    if not rows:
        raise LocationsInputError(f"{name} is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(c) for c in TEXT_COLUMNS if c in header), None)
    body = rows[1:] if column is not None else rows
    column = column or 0
    return [row[column].strip() for row in body if len(row) > column and row[column].strip()]


def _jsonl_texts(content: str, name: str) -> list[str]:
    texts = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            raise LocationsInputError(f"{name} line {number} is not JSON: {error}") from None
        text = record.get("text") if isinstance(record, dict) else record
        if not isinstance(text, str):
            raise LocationsInputError(f'{name} line {number}: write {{"text": "..."}} or a JSON string')
        if text.strip():
            texts.append(text.strip())
    return texts


def check_texts(texts: list[str]) -> list[str]:
    """The texts when within the limits; else LocationsInputError saying which text is too long."""
    if not texts:
        raise LocationsInputError("paste a text (one a line) or upload a .csv / .jsonl file")
    if len(texts) > MAX_TEXTS:
        raise LocationsInputError(f"{len(texts)} texts; the app classifies up to {MAX_TEXTS} at once")
    for number, text in enumerate(texts, start=1):
        if len(text) > MAX_TEXT_CHARS:
            raise LocationsInputError(
                f"text {number} is {len(text)} characters; the endpoint takes up to {MAX_TEXT_CHARS}"
            )
    return texts


def batches(texts: list[str], top_k: int) -> list[list[str]]:
    """Consecutive batches of at most MAX_BATCH texts whose request body stays under MAX_PAYLOAD_BYTES."""
    out: list[list[str]] = []
    current: list[str] = []
    for text in texts:
        candidate = [*current, text]
        body = json.dumps({"inputs": candidate, "parameters": {"top_k": top_k}}).encode("utf-8")
        if current and (len(candidate) > MAX_BATCH or len(body) > MAX_PAYLOAD_BYTES):
            out.append(current)
            candidate = [text]
        current = candidate
    if current:
        out.append(current)
    return out


def classify(
    texts: list[str],
    top_k: int,
    invoke: Callable[[dict[str, Any]], dict[str, Any]],
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> list[dict[str, Any]]:
    """Rows {text, label, score, top} for every text, asking the endpoint one batch at a time."""
    rows: list[dict[str, Any]] = []
    for batch in batches(texts, top_k):
        answer = invoke({"inputs": batch, "parameters": {"top_k": int(top_k)}})
        predictions = answer.get("predictions")
        if not isinstance(predictions, list) or len(predictions) != len(batch):
            raise ValueError(f"the classifier answered {str(answer)[:200]} for {len(batch)} texts")
        for text, prediction in zip(batch, predictions, strict=True):
            top = prediction.get("top") or [{"label": prediction["label"], "score": prediction["score"]}]
            rows.append(
                {
                    "text": text,
                    "label": prediction["label"],
                    "score": round(float(prediction["score"]), 4),
                    "top": "; ".join(f"{t['label']} {float(t['score']):.3f}" for t in top[:top_k]),
                }
            )
        progress(len(rows), len(texts))
    return rows


def write_results(rows: list[dict[str, Any]], path: Path) -> Path:
    """The rows as CSV (text, label, score, top) for the download button."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "label", "score", "top"])
        writer.writeheader()
        writer.writerows(rows)
    return path
