"""Locations (`{"name", "description", "label"}` JSON Lines) to classifier texts and a label map."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from containers.common.errors import InputDataError, MissingInputError
from containers.common.job_inputs import user_path
from containers.processing.transcripts import decode_utf8

REQUIRED = ("name", "description", "label")


def location_text(name: str, description: str) -> str:
    """The classifier's input: the name and the description, as one sentence pair."""
    return f"{name.strip()}. {description.strip()}"


def read_locations(folder: Path) -> list[dict]:
    """Every *.jsonl in the folder as `{"text", "label"}` rows; a bad row is an error naming file and line."""
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise MissingInputError(f"no locations *.jsonl files in {user_path(folder)}")
    rows = []
    for path in files:
        for number, raw in enumerate(decode_utf8(path).splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except (json.JSONDecodeError, RecursionError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                raise InputDataError(f"{user_path(path)}:{number}: not valid JSON: {reason}") from exc
            if not isinstance(item, dict):
                raise InputDataError(
                    f"{user_path(path)}:{number}: expected a JSON object with {REQUIRED}, "
                    f"found {type(item).__name__}"
                )
            missing = [key for key in REQUIRED if not isinstance(item.get(key), str) or not item[key].strip()]
            if missing:
                raise InputDataError(
                    f"{user_path(path)}:{number}: missing or empty field(s) {missing}; "
                    f"each row needs {REQUIRED}"
                )
            rows.append(
                {"text": location_text(item["name"], item["description"]), "label": item["label"].strip()}
            )
    return rows


def label_map(labels: list[str]) -> dict[str, dict]:
    """{"label2id", "id2label"} over the sorted distinct labels (ids as JSON keys are strings)."""
    ordered = sorted(set(labels))
    return {
        "label2id": {label: i for i, label in enumerate(ordered)},
        "id2label": {str(i): label for i, label in enumerate(ordered)},
    }


class UnlearnableLocations(InputDataError):
    """The locations cannot train a classifier; the message says what to add (one line, exit 2)."""


def check_learnable(
    rows: list[dict], folder: Path, validation_fraction: float, test_fraction: float
) -> dict[str, int]:
    """Refuse, before any training, locations a classifier cannot learn from or be tested on.

    Needs two labels or more (one label is a constant, which scores 1.0 and means nothing) and, for every
    label, one row in each split that is asked for (train, and validation/test when their fraction is
    above 0): a label absent from the test split is never tested. Returns the count per label.
    """
    counts = dict(sorted(Counter(row["label"] for row in rows).items()))
    if not rows:
        raise UnlearnableLocations(
            f"no locations in {user_path(folder)}: its *.jsonl files hold no rows; "
            'write one {"name", "description", "label"} object per line'
        )
    if len(counts) < 2:
        raise UnlearnableLocations(
            f"only one label ({', '.join(counts)}) in {user_path(folder)}; a classifier needs at least two: "
            "add locations of other kinds"
        )
    needed = 1 + (validation_fraction > 0) + (test_fraction > 0)
    scarce = {label: n for label, n in counts.items() if n < needed}
    if scarce:
        raise UnlearnableLocations(
            f"labels with fewer than {needed} rows in {user_path(folder)} cannot be in every split "
            f"(train, validation, test): {scarce}; add rows for them or merge them into another label"
        )
    return counts
