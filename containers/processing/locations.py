"""Locations (JSON Lines, one place a row) to classifier texts and a label map.

A row names a place, describes it and gives its kind. The documented keys are `name`, `description` and
`label`; locations scraped from the fan wiki usually come as `location_name`, `location_description` and
`location_type`, so those (and `title`, `text`, `type`, `category`) are read too, keys matched without
regard to case (`FIELDS`). A row without a label key, or with neither a name nor a description key, is an
error naming the keys it has: that is a file in another shape, and guessing would train on the wrong
column.

Scrapes also hold rows that cannot teach anything: every field empty, an empty type, the same place
twice. Those rows are skipped and counted by reason (`SKIP_REASONS`), never dropped silently; the same text
under two labels keeps the first and counts a `label_conflict`, listing where both came from. Texts are
compared after cleaning (`wiki_text.clean_wiki_text`), so a copy that differs only in citation markers or
spaces is a duplicate too. De-duplication happens here, before any split, so no text reaches two splits.

A label with fewer rows than the splits need cannot be trained, validated and tested on. Real scrapes have
many one-off kinds ("Junkyard", or several kinds glued into one string), so `apply_rare_labels` follows a
policy: merge them into `other` (default), drop them, or refuse as `check_learnable` does. A label written
in several cases ("Research facility", "Research Facility") is one label, spelled as first seen
(`label_spellings` lists the other spellings).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from containers.common.errors import InputDataError, MissingInputError
from containers.common.job_inputs import user_path
from containers.processing.transcripts import decode_utf8
from containers.processing.wiki_text import clean_wiki_text, normalize_space

# Each field and the keys that carry it, in the order they are looked up (lower case; keys match any case).
FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "location_name", "title"),
    "description": ("description", "location_description", "text"),
    "label": ("label", "location_type", "type", "category"),
}
SKIP_REASONS = ("empty_row", "no_label", "no_text", "duplicate", "label_conflict", "rare_label")
RARE_LABEL_POLICIES = ("other", "drop", "refuse")
OTHER_LABEL = "other"
MAX_CONFLICTS_LISTED = 20


def location_text(name: str, description: str) -> str:
    """The classifier's input: the name and the description as one sentence pair (either alone if the
    other is empty), both cleaned of wiki furniture."""
    parts = [clean_wiki_text(name), clean_wiki_text(description)]
    return ". ".join(part for part in parts if part)


def accepted_keys() -> str:
    return "; ".join(f"{name}: {'/'.join(keys)}" for name, keys in FIELDS.items())


@dataclass
class LocationsRead:
    """The rows kept (`{"text", "label"}`) and an account of every row that was not."""

    rows: list[dict[str, str]] = field(default_factory=list)
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)
    label_conflicts: list[dict[str, str]] = field(default_factory=list)
    # A label spelled in several cases ("Research facility", "Research Facility") is one kind, named as
    # first seen; the other spellings are listed here so the merge is visible in the manifest.
    label_spellings: dict[str, list[str]] = field(default_factory=dict)
    first_seen: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)  # text: label, row
    spelling: dict[str, str] = field(default_factory=dict, repr=False)  # casefolded label: first spelling

    def add(self, text: str, label: str, row: str) -> None:
        """Keep one cleaned row (`row` is its file:line), or count why it is skipped."""
        self.rows_read += 1
        if label:
            first = self.spelling.setdefault(label.casefold(), label)
            if first != label:
                variants = self.label_spellings.setdefault(first, [])
                if label not in variants:
                    variants.append(label)
                label = first
        reason = skip_reason(text, label)
        if reason is None and text in self.first_seen:
            kept_label, kept_row = self.first_seen[text]
            reason = "duplicate" if kept_label == label else "label_conflict"
            if reason == "label_conflict" and len(self.label_conflicts) < MAX_CONFLICTS_LISTED:
                self.label_conflicts.append(
                    {"row": row, "label": label, "kept_row": kept_row, "kept_label": kept_label}
                )
        if reason is not None:
            self.skipped[reason] += 1
            return
        self.first_seen[text] = (label, row)
        self.rows.append({"text": text, "label": label})


def row_fields(item: dict, where: str) -> dict[str, str]:
    """{"name", "description", "label"} of one JSON object, looked up through FIELDS (absent field: "").

    Raises InputDataError when the row has no label key or neither text key (the file is in another
    shape), when two keys differ only in case, or when a value is neither a string nor null.
    """
    lowered: dict[str, object] = {}
    for key, value in item.items():
        if key.lower() in lowered:
            raise InputDataError(f"{where}: keys that differ only in case ({key!r}); keep one of them")
        lowered[key.lower()] = value
    found = {name: next((k for k in keys if k in lowered), None) for name, keys in FIELDS.items()}
    if found["label"] is None or (found["name"] is None and found["description"] is None):
        raise InputDataError(
            f"{where}: no {'label' if found['label'] is None else 'name or description'} key; "
            f"the row has keys {sorted(item)}; accepted keys (any case) are {accepted_keys()}"
        )
    values: dict[str, str] = {}
    for name, key in found.items():
        value = "" if key is None else lowered[key]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InputDataError(
                f"{where}: {key!r} is {type(value).__name__}; the {name} must be a string (or null)"
            )
        values[name] = value
    return values


def json_objects(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a line that is not a JSON object is an error."""
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
                f"{user_path(path)}:{number}: expected a JSON object with the keys {accepted_keys()}, "
                f"found {type(item).__name__}"
            )
        yield number, item


def read_locations(folder: Path) -> LocationsRead:
    """Every *.jsonl in the folder, read, cleaned and de-duplicated; a malformed row is an error naming
    file and line, a row that cannot teach (empty, unlabelled, a copy) is skipped and counted."""
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise MissingInputError(f"no locations *.jsonl files in {user_path(folder)}")
    result = LocationsRead()
    for path in files:
        for number, item in json_objects(path):
            values = row_fields(item, f"{user_path(path)}:{number}")
            text = location_text(values["name"], values["description"])
            result.add(text, normalize_space(values["label"]), f"{path.name}:{number}")
    return result


def skip_reason(text: str, label: str) -> str | None:
    """Why a cleaned row cannot teach the classifier, or None when it can."""
    if not text and not label:
        return "empty_row"
    if not label:
        return "no_label"
    if not text:
        return "no_text"
    return None


def rows_needed(validation_fraction: float, test_fraction: float) -> int:
    """Rows a label needs to be in every split that is asked for (train, and validation/test above 0)."""
    return 1 + (validation_fraction > 0) + (test_fraction > 0)


def apply_rare_labels(rows: list[dict], policy: str, needed: int) -> tuple[list[dict], dict[str, int]]:
    """Rows after the rare-label policy, and the rare labels it acted on with their row counts.

    `other`: a label with fewer than `needed` rows becomes OTHER_LABEL (joining any `other` already
    there); `drop`: its rows are removed; `refuse`: rows unchanged, so `check_learnable` refuses them.
    """
    if policy not in RARE_LABEL_POLICIES:
        raise ValueError(f"rare-label policy {policy!r}: use one of {', '.join(RARE_LABEL_POLICIES)}")
    counts = Counter(row["label"] for row in rows)
    rare = {label: n for label, n in sorted(counts.items()) if n < needed and label != OTHER_LABEL}
    if policy == "refuse" or not rare:
        return rows, {}
    if policy == "drop":
        return [row for row in rows if row["label"] not in rare], rare
    return [{**row, "label": OTHER_LABEL} if row["label"] in rare else row for row in rows], rare


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
    rows: list[dict],
    folder: Path,
    validation_fraction: float,
    test_fraction: float,
    merged: dict[str, int] | None = None,
    skipped: dict[str, int] | None = None,
) -> dict[str, int]:
    """Refuse, before any training, locations a classifier cannot learn from or be tested on.

    Needs two labels or more (one label is a constant, which scores 1.0 and means nothing) and, for every
    label, one row in each split that is asked for (train, and validation/test when their fraction is
    above 0): a label absent from the test split is never tested. `merged` (the rare labels already
    merged into `other`) and `skipped` (rows skipped by reason) only make the message say why. Returns
    the count per label.
    """
    counts = dict(sorted(Counter(row["label"] for row in rows).items()))
    if not rows and skipped:
        raise UnlearnableLocations(
            f"no usable locations in {user_path(folder)}: every row was skipped ({skipped}); a row needs a "
            "label and a name or description that are not empty"
        )
    if not rows:
        raise UnlearnableLocations(
            f"no locations in {user_path(folder)}: its *.jsonl files hold no rows; "
            f"write one object per line with the keys {accepted_keys()}"
        )
    origin = f"; {OTHER_LABEL} holds the rare labels {merged}" if merged else ""
    if len(counts) < 2:
        raise UnlearnableLocations(
            f"only one label ({', '.join(counts)}) in {user_path(folder)}{origin}; a classifier needs at "
            "least two: add locations of other kinds"
        )
    needed = rows_needed(validation_fraction, test_fraction)
    scarce = {label: n for label, n in counts.items() if n < needed}
    if scarce:
        raise UnlearnableLocations(
            f"labels with fewer than {needed} rows in {user_path(folder)} cannot be in every split "
            f"(train, validation, test): {scarce}{origin}; add rows for them or merge them into another "
            "label (--rare-labels other or drop, datasets.rare_labels in the config)"
        )
    return counts
