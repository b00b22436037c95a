"""Batches by token budget: as many whole examples in one packed row as fit N tokens.

Chat replies are tens of tokens. A batch of a fixed number of examples leaves a GPU idle (4 short
examples are ~200 tokens); a batch of a fixed number of *tokens* keeps each step's work, and its memory,
the same whatever the lengths: the budget is what the GPU holds, the number of examples follows from it.

The groups are made once, from a seeded shuffle, and the Trainer shuffles the groups every epoch
(a group is one dataset item, batch size 1). Each group becomes one packed row (PackingCollator: positions
restart per example, so attention stays block-diagonal and the loss is the padded batch's loss).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from containers.training.chat_data import PackingCollator

EXAMPLES = "examples"  # the key of a group item: its examples' features


class TokenBudgetError(ValueError):
    """A token budget that cannot hold the data or the row shape asked for."""


def check_budget(budget: int, max_length: int, multiple: int | None) -> None:
    """A budget holds the longest example, and is a whole number of `multiple` (so rounding a packed row
    up to that multiple never passes the budget)."""
    if budget < max_length:
        raise TokenBudgetError(
            f"token budget {budget} is below max_seq_length {max_length}: the longest example would not "
            "fit; raise --tokens-per-batch or lower --max-seq-length"
        )
    if multiple and budget % multiple:
        raise TokenBudgetError(
            f"token budget {budget} is not a multiple of {multiple} (packed rows are rounded up to it); "
            f"use {budget - budget % multiple or multiple}"
        )


def fit_budget(budget: int, tokens: int, rows: int, max_length: int, multiple: int | None) -> int:
    """`budget`, lowered so the data fills at least `rows` packed rows (never below one longest example).

    A small corpus in rows sized for the GPU trains in a handful of optimizer steps: 450 replies of ~50
    tokens fill six rows of 4096. Fewer tokens a row give back the updates; the floor keeps any example
    packable, and a whole number of `multiple` keeps check_budget's rounding rule.
    """
    wanted = max(tokens // max(rows, 1), max_length)
    if multiple and wanted % multiple:
        wanted += multiple - wanted % multiple
    return min(budget, wanted)


def token_budget_groups(lengths: Sequence[int], budget: int, seed: int) -> list[list[int]]:
    """Indices of the examples, in groups whose lengths sum to at most `budget`.

    Examples are visited in a seeded random order and a group is closed when the next example would not
    fit (it opens the next group), so every group but the last is at least `budget - max(lengths)`
    tokens, and no example is left out or repeated.
    """
    if not lengths:
        return []
    too_long = [length for length in lengths if length > budget]
    if too_long:
        raise TokenBudgetError(f"{len(too_long)} examples are longer than the token budget {budget}")
    order = list(range(len(lengths)))
    random.Random(seed).shuffle(order)
    groups: list[list[int]] = [[]]
    used = 0
    for index in order:
        if used + lengths[index] > budget:
            groups.append([])
            used = 0
        groups[-1].append(index)
        used += lengths[index]
    return groups


def group_features(features: Sequence[dict[str, Any]], budget: int, seed: int) -> list[dict[str, Any]]:
    """The dataset of groups the Trainer iterates: one item per packed row."""
    groups = token_budget_groups([len(f["input_ids"]) for f in features], budget, seed)
    return [{EXAMPLES: [features[i] for i in group]} for group in groups]


@dataclass
class GroupPackingCollator:
    """Packs the examples of the group(s) it is given into one row (see PackingCollator)."""

    packer: PackingCollator

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return self.packer([feature for item in items for feature in item[EXAMPLES]])


@dataclass(frozen=True)
class GroupStats:
    """What a token-budget dataset holds: for logs and throughput figures."""

    groups: int
    examples: int
    tokens: int
    budget: int

    @property
    def fill(self) -> float:
        """Real tokens over budget tokens: how full the packed rows are."""
        return self.tokens / (self.groups * self.budget) if self.groups else 0.0

    @property
    def examples_per_group(self) -> float:
        return self.examples / self.groups if self.groups else 0.0


def group_stats(dataset: Sequence[dict[str, Any]], budget: int) -> GroupStats:
    examples = [feature for item in dataset for feature in item[EXAMPLES]]
    return GroupStats(len(dataset), len(examples), sum(len(f["input_ids"]) for f in examples), budget)
