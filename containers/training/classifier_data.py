"""Labelled texts for the location classifier: the {"text", "label"} splits and their label map.

Kept apart from train_classifier.py so evaluation reads the same format without importing the Trainer.
"""

from __future__ import annotations

from pathlib import Path

from containers.common.errors import InputDataError
from containers.common.io import read_json, read_jsonl_dir

LABEL_MAP = "label_map.json"


def load_examples(folder: Path) -> list[dict[str, str]]:
    """{"text", "label"} rows of a split folder; a row without both is an error naming it."""
    rows = read_jsonl_dir(folder)
    for index, row in enumerate(rows, 1):
        if not isinstance(row.get("text"), str) or not isinstance(row.get("label"), str):
            raise ValueError(f"{folder} row {index}: needs string 'text' and 'label', got {sorted(row)}")
    return rows


def load_label_map(train_dir: Path, rows: list[dict[str, str]]) -> dict[str, int]:
    """label2id from label_map.json beside the training split, else from the sorted training labels."""
    path = train_dir / LABEL_MAP
    label2id = (
        read_json(path)["label2id"]
        if path.is_file()
        else {label: index for index, label in enumerate(sorted({row["label"] for row in rows}))}
    )
    unknown = sorted({row["label"] for row in rows} - set(label2id))
    if unknown:
        raise ValueError(f"labels {unknown} are not in {path}; regenerate the label map")
    return {label: int(index) for label, index in label2id.items()}


class UnlearnableData(InputDataError):
    """The training split cannot teach a classifier anything; the message says what to fix."""


def check_trainable(folder: Path, rows: list[dict[str, str]]) -> None:
    """Refuse a training split with no rows or a single label before any model is built.

    PrepareLocationData refuses such data first; this guards a job started on hand-made channels.
    """
    labels = sorted({row["label"] for row in rows})
    if not rows:
        raise UnlearnableData(f"the training split in {folder} holds no rows; prepare the locations first")
    if len(labels) < 2:
        raise UnlearnableData(
            f"the training split in {folder} has one label only ({labels[0]}); a classifier needs two or more"
        )
