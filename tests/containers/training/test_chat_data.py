"""Chat encoding: loss on replies only, the same template as serving, packing without cross-talk."""

from __future__ import annotations

import pytest
import torch

from containers.common import tiny_models
from containers.training.chat_data import (
    IGNORE_INDEX,
    FitStats,
    PackingCollator,
    PaddingCollator,
    encode_conversation,
    keep_prompt_end,
    token_count,
    validate_messages,
)

CONVERSATION = [
    {"role": "system", "content": "You are Eleven."},
    {"role": "user", "content": "Who is in the van?"},
    {"role": "assistant", "content": "Bad men."},
]


@pytest.fixture(scope="module")
def tokenizer():
    texts = ["You are Eleven.", "Who is in the van?", "Bad men.", "Friends don't lie.", "Mike is at school."]
    return tiny_models.build_tiny_chat_tokenizer(texts * 5)


def test_labels_cover_exactly_the_reply_and_end_of_turn(tokenizer) -> None:
    encoded = encode_conversation(tokenizer, CONVERSATION, max_length=256)
    labelled = [token for token in encoded["labels"] if token != IGNORE_INDEX]
    assert tokenizer.decode(labelled) == "Bad men.<|im_end|>\n"
    text = tokenizer.decode(encoded["input_ids"])
    assert text == (
        "<|im_start|>system\nYou are Eleven.<|im_end|>\n<|im_start|>user\nWho is in the van?<|im_end|>\n"
        "<|im_start|>assistant\nBad men.<|im_end|>\n"
    )


def test_labels_agree_with_the_templates_generation_markers(tokenizer) -> None:
    marked = tokenizer.apply_chat_template(
        CONVERSATION, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    ours = encode_conversation(tokenizer, CONVERSATION, max_length=256)
    assert marked["input_ids"] == ours["input_ids"]
    from_markers = [t for t, m in zip(marked["input_ids"], marked["assistant_masks"], strict=True) if m]
    from_spans = [t for t in ours["labels"] if t != IGNORE_INDEX]
    # The span method also trains the newline after the end-of-turn token; otherwise they agree.
    assert from_spans[: len(from_markers)] == from_markers
    assert tokenizer.decode(from_spans[len(from_markers) :]) == "\n"


def test_long_examples_keep_their_last_tokens(tokenizer) -> None:
    full = encode_conversation(tokenizer, CONVERSATION, max_length=256)
    cut = encode_conversation(tokenizer, CONVERSATION, max_length=8)
    assert cut["input_ids"] == full["input_ids"][-8:]
    assert cut["labels"] == full["labels"][-8:]


def test_conversation_must_end_with_a_reply() -> None:
    with pytest.raises(ValueError, match="last message must be the assistant"):
        validate_messages(CONVERSATION[:2], "row 1")
    with pytest.raises(ValueError, match="role in"):
        validate_messages([{"role": "narrator", "content": "x"}], "row 2")


@pytest.mark.parametrize("multiple", [None, 64])
def test_packing_gives_the_same_loss_as_padding(tokenizer, multiple: int | None) -> None:
    """Block-diagonal attention: packed examples must not see each other, nor the padding block."""
    model = tiny_models.build_tiny_causal_lm("qwen2", tokenizer, seed=3)
    model.config.use_cache = False
    other = [*CONVERSATION[:2], {"role": "assistant", "content": "Friends don't lie. Mike is at school."}]
    features = [encode_conversation(tokenizer, c, 256) for c in (CONVERSATION, other)]
    with torch.no_grad():
        batch = PackingCollator(tokenizer.pad_token_id, pad_to_multiple_of=multiple)(features)
        packed = model(**batch).loss
        padded = model(**PaddingCollator(tokenizer.pad_token_id)(features)).loss
    assert packed.item() == pytest.approx(padded.item(), rel=1e-5)
    assert batch["input_ids"].shape[1] % (multiple or 1) == 0


def test_padding_collator_pads_to_a_fixed_length(tokenizer) -> None:
    feature = encode_conversation(tokenizer, CONVERSATION, 256)
    batch = PaddingCollator(tokenizer.pad_token_id, pad_to=64)([feature])
    length = len(feature["input_ids"])
    assert batch["input_ids"].shape == (1, 64)
    assert batch["attention_mask"][0].tolist() == [1] * length + [0] * (64 - length)
    assert batch["labels"][0, length:].eq(IGNORE_INDEX).all()


MONOLOGUE = " ".join(f"Mike is at school {n}." for n in range(40)) + " Who is in the van?"
LONG = [CONVERSATION[0], {"role": "user", "content": MONOLOGUE}, CONVERSATION[2]]


def test_a_long_prompt_loses_its_start_and_keeps_system_prompt_end_and_reply(tokenizer) -> None:
    """A monologue merged into one row: the words right before the reply and the whole reply stay."""
    stats = FitStats()
    encoded = encode_conversation(tokenizer, LONG, max_length=48, stats=stats)
    text = tokenizer.decode(encoded["input_ids"])
    assert len(encoded["input_ids"]) <= 48
    assert text.startswith("<|im_start|>system\nYou are Eleven.<|im_end|>\n<|im_start|>user\n")
    assert text.endswith("Who is in the van?<|im_end|>\n<|im_start|>assistant\nBad men.<|im_end|>\n")
    assert "school 0." not in text  # the oldest words went first
    labelled = [token for token in encoded["labels"] if token != IGNORE_INDEX]
    assert tokenizer.decode(labelled) == "Bad men.<|im_end|>\n"
    assert (stats.prompts_trimmed, stats.replies_cut) == (1, 0)


def test_a_trimmed_prompt_uses_the_room_it_has(tokenizer) -> None:
    """Not cut further than needed: one more token of the prompt would not fit."""
    for limit in (44, 60, 80):
        kept, trimmed = keep_prompt_end(tokenizer, LONG, limit)
        assert trimmed
        assert limit - 3 <= token_count(tokenizer, kept) <= limit


def test_an_example_that_fits_is_encoded_as_before(tokenizer) -> None:
    stats = FitStats()
    assert encode_conversation(tokenizer, CONVERSATION, 256, stats) == encode_conversation(
        tokenizer, CONVERSATION, 256
    )
    assert keep_prompt_end(tokenizer, CONVERSATION, 256) == (CONVERSATION, False)
    assert (stats.prompts_trimmed, stats.replies_cut) == (0, 0)


def test_a_reply_that_overflows_alone_keeps_its_end_and_is_counted(tokenizer) -> None:
    long_reply = [CONVERSATION[0], CONVERSATION[1], {"role": "assistant", "content": MONOLOGUE}]
    stats = FitStats()
    encoded = encode_conversation(tokenizer, long_reply, max_length=32, stats=stats)
    labelled = [token for token in encoded["labels"] if token != IGNORE_INDEX]
    assert len(encoded["input_ids"]) == 32 and len(labelled) == 32  # never cut to nothing
    assert tokenizer.decode(labelled).endswith("Who is in the van?<|im_end|>\n")
    assert stats.replies_cut == 1


def test_trimming_a_long_prompt_takes_a_few_passes_not_one_per_token(tokenizer) -> None:
    """Each pass cuts the whole overflow: a prompt 20x over the limit fits in a handful of renders."""
    calls = 0

    class Counting:
        def __getattr__(self, name):
            return getattr(tokenizer, name)

        def __call__(self, *args, **kwargs):
            nonlocal calls
            calls += 1
            return tokenizer(*args, **kwargs)

    huge = [CONVERSATION[0], {"role": "user", "content": MONOLOGUE * 5}, CONVERSATION[2]]
    assert token_count(tokenizer, huge) > 20 * 40
    kept, trimmed = keep_prompt_end(Counting(), huge, 40)
    assert trimmed and token_count(tokenizer, kept) <= 40
    assert calls <= 8, calls
