"""Token-budget batches: every example once, no row over the budget, and the padded batch's loss."""

from __future__ import annotations

import itertools

import pytest
import torch

from containers.common import tiny_models
from containers.training import token_batches
from containers.training.chat_data import PackingCollator, PaddingCollator, encode_all
from tests.containers.fixtures import chat_rows

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def encoded() -> tuple:
    conversations = [row["messages"] for row in chat_rows()]
    texts = [m["content"] for c in conversations for m in c]
    tokenizer = tiny_models.build_tiny_chat_tokenizer(texts * 3)
    return tokenizer, encode_all(tokenizer, conversations, 128)


def test_groups_hold_every_example_once_within_the_budget() -> None:
    lengths = [5, 40, 17, 64, 3, 33, 64, 1, 22, 50, 9, 12]
    groups = token_batches.token_budget_groups(lengths, budget=64, seed=7)
    flat = [index for group in groups for index in group]
    assert sorted(flat) == list(range(len(lengths)))
    sums = [sum(lengths[i] for i in group) for group in groups]
    assert max(sums) <= 64
    # A group closes only when the next example does not fit: it and its successor exceed the budget.
    for group, following in itertools.pairwise(groups):
        assert sum(lengths[i] for i in group) + lengths[following[0]] > 64
    assert token_batches.token_budget_groups(lengths, 64, seed=7) == groups  # seeded
    assert token_batches.token_budget_groups(lengths, 64, seed=8) != groups


def test_an_example_over_the_budget_is_refused() -> None:
    with pytest.raises(
        token_batches.TokenBudgetError, match="1 examples are longer than the token budget 10"
    ):
        token_batches.token_budget_groups([4, 11, 2], budget=10, seed=0)
    with pytest.raises(token_batches.TokenBudgetError, match="below max_seq_length 1024"):
        token_batches.check_budget(512, 1024, None)
    with pytest.raises(token_batches.TokenBudgetError, match=r"not a multiple of 64.*use 4032"):
        token_batches.check_budget(4050, 1024, 64)
    token_batches.check_budget(4096, 1024, 64)


@pytest.mark.parametrize("multiple", [None, 64])
def test_packed_rows_respect_the_budget_and_the_row_shape(encoded, multiple: int | None) -> None:
    tokenizer, features = encoded
    budget = 256
    groups = token_batches.group_features(features, budget, seed=0)
    collate = token_batches.GroupPackingCollator(PackingCollator(tokenizer.pad_token_id, multiple))
    stats = token_batches.group_stats(groups, budget)
    assert stats.examples == len(features)
    assert stats.groups < len(features) / 3  # short chat examples: several to a row
    for group in groups:
        row = collate([group])
        width = row["input_ids"].shape[1]
        assert row["input_ids"].shape[0] == 1
        assert width <= budget
        assert width % (multiple or 1) == 0
        real = sum(len(f["input_ids"]) for f in group[token_batches.EXAMPLES])
        assert width - real < (multiple or 1)


def test_token_budget_row_gives_the_padded_reference_loss(encoded) -> None:
    """The same examples, packed by budget in one row or padded as a batch: one loss (fp32, rel 1e-5).

    Both average the cross-entropy over the same reply tokens; the packed row's block-diagonal mask
    (from restarting position ids, SDPA attention) keeps examples from seeing each other and the
    padding block. A mask that leaked across examples changes the loss by far more than 1e-5.
    """
    tokenizer, features = encoded
    model = tiny_models.build_tiny_causal_lm("qwen2", tokenizer, seed=5)
    model.config.use_cache = False
    model.eval()
    assert model.config._attn_implementation == "sdpa"
    groups = token_batches.group_features(features, 384, seed=1)
    checked = 0
    for group in groups[:3]:
        examples = group[token_batches.EXAMPLES]
        assert len(examples) >= 3
        with torch.no_grad():
            packed_row = token_batches.GroupPackingCollator(PackingCollator(tokenizer.pad_token_id, 64))(
                [group]
            )
            packed = model(**packed_row).loss.item()
            padded = model(**PaddingCollator(tokenizer.pad_token_id)(examples)).loss.item()
            leaky = model(input_ids=packed_row["input_ids"], labels=packed_row["labels"]).loss.item()
        assert packed == pytest.approx(padded, rel=1e-5)
        assert abs(leaky - padded) > 1e-3  # without restarting positions the examples see each other
        checked += 1
    assert checked == 3


@pytest.mark.parametrize(
    ("budget", "tokens", "rows", "multiple", "expected"),
    [
        (
            4096,
            22_500,
            16,
            64,
            1408,
        ),  # 450 replies of ~50 tokens: 22500 / 16 = 1406.25 -> next multiple of 64
        (4096, 22_500, 16, None, 1406),  # CPU: no row multiple
        (4096, 10_000, 64, 64, 1024),  # never below the longest example (max_seq_length 1024)
        (4096, 1_000_000, 16, 64, 4096),  # a large corpus keeps the full row
    ],
)
def test_a_derived_budget_is_fitted_to_give_enough_rows(
    budget: int, tokens: int, rows: int, multiple: int | None, expected: int
) -> None:
    fitted = token_batches.fit_budget(budget, tokens, rows, 1024, multiple)
    assert fitted == expected
    token_batches.check_budget(fitted, 1024, multiple)  # still a budget the packer accepts
