"""Chat examples for supervised fine-tuning: tokenised with the model's chat template, loss on replies only.

Each example is rendered with the same chat template the endpoint applies. The character spans of the
assistant turns are found by rendering the conversation up to each turn (with the generation prompt)
and through it; tokens whose first character falls inside a span are the labels, all others are -100.
This works for any template (Qwen, Llama, the tiny ChatML) without editing it.

An example longer than max_length keeps its reply whole and loses the START of its prompt (the words
right before the reply stay; the system prompt and the turn markers stay too, so the example still looks
like what the endpoint renders): transcripts merge a monologue into one 100+ word row, and what the
character answers is its end. Only when the system prompt and the reply alone overflow are the last
max_length tokens kept. Nothing is dropped; FitStats counts both cases for the training metrics.

Two collators build batches: padding-free packing (the batch flattened into one row, positions
restarting per example, so attention never crosses examples) and plain padding (to the longest example,
or to a fixed length for a baseline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from containers.common.io import read_jsonl_dir

IGNORE_INDEX = -100
ROLES = {"system", "user", "assistant"}


def validate_messages(messages: Any, where: str) -> list[dict[str, str]]:
    """Check one conversation: a list of {role, content} ending with an assistant reply."""
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"{where}: 'messages' must be a non-empty list")
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ValueError(f"{where}: each message needs a role in {sorted(ROLES)}, got {message!r}")
        if not isinstance(message.get("content"), str):
            raise ValueError(f"{where}: message content must be a string, got {message!r}")
    if messages[-1]["role"] != "assistant":
        raise ValueError(f"{where}: the last message must be the assistant's reply")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def load_conversations(folder: Path) -> list[list[dict[str, str]]]:
    """Every conversation in a split folder (all *.jsonl shards), validated."""
    rows = read_jsonl_dir(folder)
    return [validate_messages(row.get("messages"), f"{folder} row {i}") for i, row in enumerate(rows, 1)]


def render(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )


def assistant_spans(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the [start, end) character spans of every assistant turn."""
    text = render(tokenizer, messages)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = render(tokenizer, messages[:index], add_generation_prompt=True)
        through = render(tokenizer, messages[: index + 1])
        if not text.startswith(before) or not text.startswith(through):
            raise ValueError(
                "the chat template does not render conversations as prefixes of each other; "
                "add {% generation %} markers to it and use return_assistant_tokens_mask instead"
            )
        spans.append((len(before), len(through)))
    return text, spans


@dataclass
class FitStats:
    """Examples shortened to max_length (none is dropped): the training metrics report both counts."""

    prompts_trimmed: int = 0  # the prompt's start cut; system prompt, the prompt's end and the reply whole
    replies_cut: int = 0  # system prompt + reply alone overflow: the last max_length tokens kept


def token_count(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> int:
    """Tokens of the conversation as the chat template renders it."""
    text = render(tokenizer, messages, add_generation_prompt)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def keep_prompt_end(
    tokenizer: Any, messages: list[dict[str, str]], max_tokens: int, add_generation_prompt: bool = False
) -> tuple[list[dict[str, str]], bool]:
    """The conversation with the start of its prompt cut until it renders in `max_tokens` tokens.

    The prompt is every non-system message before the final assistant reply (with
    `add_generation_prompt`, every non-system message: the caller asks for the next reply). The oldest
    words go first, so the words right before the reply stay. Returns (messages, whether any were cut);
    when even empty prompt turns overflow, the result still does (the caller decides what to do).
    Each pass cuts at least the overflow in tokens, so a fit takes a few passes, not one per token.
    """
    last = (
        len(messages) if add_generation_prompt or messages[-1]["role"] != "assistant" else len(messages) - 1
    )
    fitted = [dict(message) for message in messages]
    trimmed = False
    for index in [i for i in range(last) if fitted[i]["role"] != "system"]:
        while fitted[index]["content"]:
            excess = token_count(tokenizer, fitted, add_generation_prompt) - max_tokens
            if excess <= 0:
                return fitted, trimmed
            content = fitted[index]["content"]
            offsets = tokenizer(content, add_special_tokens=False, return_offsets_mapping=True)[
                "offset_mapping"
            ]
            cut = offsets[excess][0] if excess < len(offsets) else len(content)
            fitted[index]["content"] = content[max(cut, 1) :].lstrip()
            trimmed = True
    return fitted, trimmed


def _labelled_ids(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    text, spans = assistant_spans(tokenizer, messages)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    labels = [
        token if any(start <= begin < end for start, end in spans) else IGNORE_INDEX
        for token, (begin, _) in zip(ids, encoded["offset_mapping"], strict=True)
    ]
    return ids, labels


def encode_conversation(
    tokenizer: Any, messages: list[dict[str, str]], max_length: int, stats: FitStats | None = None
) -> dict[str, list[int]]:
    """Token ids and labels (assistant tokens only), at most `max_length` (see the module docstring)."""
    ids, labels = _labelled_ids(tokenizer, messages)
    if len(ids) > max_length:
        fitted, trimmed = keep_prompt_end(tokenizer, messages, max_length)
        if trimmed:
            ids, labels = _labelled_ids(tokenizer, fitted)
        if stats is not None:
            stats.prompts_trimmed += trimmed
            stats.replies_cut += len(ids) > max_length
    return {"input_ids": ids[-max_length:], "labels": labels[-max_length:]}


def encode_all(
    tokenizer: Any,
    conversations: Sequence[list[dict[str, str]]],
    max_length: int,
    stats: FitStats | None = None,
) -> list[dict]:
    """Encode every conversation (see encode_conversation); `stats` counts the shortened ones."""
    return [encode_conversation(tokenizer, messages, max_length, stats) for messages in conversations]


@dataclass
class PackingCollator:
    """Padding-free packing: one row per batch, position ids restart for each example.

    With no attention mask and restarting positions, transformers builds a block-diagonal causal mask
    (masking_utils.find_packed_sequence_indices), so examples never attend to each other and no compute
    is spent on padding. `pad_to_multiple_of` rounds the row up with a block of padding (its own
    "sequence", no labels): on GPU, attention kernels plan per shape, and a few repeated shapes are much
    faster than a new length every step.
    """

    pad_token_id: int = 0
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        ids, labels, positions = [], [], []
        for feature in features:
            ids.extend(feature["input_ids"])
            # The first token of each example must not be predicted from the previous example.
            labels.extend([IGNORE_INDEX, *feature["labels"][1:]])
            positions.extend(range(len(feature["input_ids"])))
        if self.pad_to_multiple_of and len(ids) % self.pad_to_multiple_of:
            extra = self.pad_to_multiple_of - len(ids) % self.pad_to_multiple_of
            ids.extend([self.pad_token_id] * extra)
            labels.extend([IGNORE_INDEX] * extra)
            positions.extend(range(extra))
        return {
            "input_ids": torch.tensor([ids]),
            "labels": torch.tensor([labels]),
            "position_ids": torch.tensor([positions]),
        }


@dataclass
class PaddingCollator:
    """Right padding to the longest example of the batch, or to `pad_to` (the plain baseline)."""

    pad_token_id: int
    pad_to: int | None = None

    def __call__(self, features: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = self.pad_to or max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), width), self.pad_token_id)
        labels = torch.full((len(features), width), IGNORE_INDEX)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        for row, feature in enumerate(features):
            length = len(feature["input_ids"])
            ids[row, :length] = torch.tensor(feature["input_ids"])
            labels[row, :length] = torch.tensor(feature["labels"])
            mask[row, :length] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def corpus_texts(conversations: Sequence[list[dict[str, str]]]) -> list[str]:
    """Every message content: the text a tiny tokenizer is trained on."""
    return [message["content"] for messages in conversations for message in messages]
