"""Seeded splits: chatbot pairs by episode (no episode in two splits), locations stratified by label."""

from __future__ import annotations

import random
from collections import defaultdict

from containers.common.errors import InputDataError


def split_counts(total: int, validation_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """(train, validation, test) sizes; each non-zero fraction gets at least one item, train keeps one."""
    for name, value in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if validation_fraction + test_fraction >= 1.0:
        raise ValueError("validation_fraction + test_fraction must be below 1 so that training keeps data")
    n_val = max(1, round(total * validation_fraction)) if validation_fraction > 0 else 0
    n_test = max(1, round(total * test_fraction)) if test_fraction > 0 else 0
    return total - n_val - n_test, n_val, n_test


def split_episodes(
    episodes: list[str], validation_fraction: float, test_fraction: float, seed: int
) -> dict[str, list[str]]:
    """Assign whole episodes to train/validation/test with a seeded shuffle.

    Raises InputDataError (a ValueError) when there are too few episodes for every requested split to get one.
    """
    ordered = sorted(set(episodes))
    wanted = 1 + (validation_fraction > 0) + (test_fraction > 0)
    if len(ordered) < wanted:
        raise InputDataError(
            f"only {len(ordered)} episode(s) with pairs ({', '.join(ordered) or 'none'}), but the split by "
            f"episode needs at least {wanted} (train, validation, test each get whole episodes); add "
            "transcripts for more episodes or set --validation-fraction/--test-fraction to 0"
        )
    n_train, n_val, _ = split_counts(len(ordered), validation_fraction, test_fraction)
    if n_train < 1:
        raise ValueError(f"{len(ordered)} episodes leave none for training; lower the fractions")
    random.Random(seed).shuffle(ordered)
    return {
        "train": sorted(ordered[:n_train]),
        "validation": sorted(ordered[n_train : n_train + n_val]),
        "test": sorted(ordered[n_train + n_val :]),
    }


def stratified_split(
    rows: list[dict], label_key: str, validation_fraction: float, test_fraction: float, seed: int
) -> dict[str, list[dict]]:
    """Split rows so each label keeps its share in every split.

    A label with fewer rows than there are splits asked for (train, and validation/test when above 0)
    stays in train; with validation_fraction 0, two rows are enough for train and test.
    """
    needed = 1 + (validation_fraction > 0) + (test_fraction > 0)
    by_label: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_label[row[label_key]].append(row)
    rng = random.Random(seed)
    out: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for label in sorted(by_label):
        group = list(by_label[label])
        rng.shuffle(group)
        if len(group) < needed:
            out["train"].extend(group)
            continue
        n_train, n_val, _ = split_counts(len(group), validation_fraction, test_fraction)
        out["train"].extend(group[:n_train])
        out["validation"].extend(group[n_train : n_train + n_val])
        out["test"].extend(group[n_train + n_val :])
    return out
