"""Served replies are the assistant's text only, for ChatML (Qwen, tiny) and Llama 3 style templates.

The tokenizers are built offline in the real families' formats (their special tokens and turn layout);
a scripted model emits, token for token, continuations that leaked template words before: the reply to
"Do you like Eggos?" was "assistant\\nassistant\\nassistant\\nYou are mean.". The handler runs end to end
(input_fn -> predict_fn -> output_fn) on them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from containers.common import tiny_models
from containers.inference import chatbot

CORPUS = ["Do you like Eggos?", "Friends don't lie.", "You are mean.", "Mouth breather.", "Bitchin'."] * 4

# Written for these tests in the layout of Qwen2.5-Instruct's template (ChatML, a default system turn).
QWEN_STYLE_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}"
    "{% endif %}"
    "{% for m in messages %}"
    "{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# Written for these tests in the layout of Llama 3 Instruct's template (header ids, <|eot_id|>).
LLAMA_STYLE_TEMPLATE = (
    "{{ bos_token }}"
    "{% for m in messages %}"
    "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


def qwen_style_tokenizer() -> Any:
    tokenizer = tiny_models.train_bpe_tokenizer(
        CORPUS, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>"]
    )
    tokenizer.add_special_tokens({"pad_token": "<|endoftext|>", "eos_token": "<|im_end|>"})
    tokenizer.chat_template = QWEN_STYLE_TEMPLATE
    return tokenizer


def llama_style_tokenizer() -> Any:
    specials = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<unk>"]
    tokenizer = tiny_models.train_bpe_tokenizer(CORPUS, special_tokens=specials)
    tokenizer.add_special_tokens({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"})
    tokenizer.pad_token = tokenizer.eos_token  # Llama has no pad token; serving does the same
    tokenizer.chat_template = LLAMA_STYLE_TEMPLATE
    return tokenizer


def tiny_tokenizer() -> Any:
    return tiny_models.build_tiny_chat_tokenizer(CORPUS)


class ScriptedLM(torch.nn.Module):
    """Answers every prompt with the same token ids, as model.generate would return them."""

    def __init__(self, tokenizer: Any, continuation: str) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # generate_replies reads the device from it
        self.ids = tokenizer(continuation, add_special_tokens=False)["input_ids"]
        self.pad = tokenizer.pad_token_id

    def generate(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int, **_: Any):
        new = torch.tensor([self.ids[:max_new_tokens]] * input_ids.shape[0], dtype=input_ids.dtype)
        return torch.cat([input_ids, new], dim=1)


def ask(tokenizer: Any, continuation: str, question: str = "Do you like Eggos?") -> str:
    bundle = {
        "model": ScriptedLM(tokenizer, continuation),
        "tokenizer": tokenizer,
        "system_prompt": "You are Eleven.",
        "max_new_tokens": 64,
        "max_input_tokens": 1024,
    }
    request = chatbot.input_fn(json.dumps({"messages": [{"role": "user", "content": question}]}))
    return json.loads(chatbot.output_fn(chatbot.predict_fn(request, bundle)))["reply"]


CHATML_LEAKS = [
    # the reported leak: the assistant header three times, then the reply
    (
        "<|im_start|>assistant\n<|im_start|>assistant\n<|im_start|>assistant\nYou are mean.<|im_end|>",
        "You are mean.",
    ),
    # the header's words without its special token
    ("assistant\nassistant\nassistant\nYou are mean.", "You are mean."),
    # going on past the end of the turn into the user's
    ("Friends don't lie.<|im_end|>\n<|im_start|>user\nDo you like Eggos?<|im_end|>", "Friends don't lie."),
    # opening a new turn without closing its own
    ("Mouth breather.\n<|im_start|>user\nWhat?", "Mouth breather."),
    ("Bitchin'.", "Bitchin'."),
]


@pytest.mark.parametrize(("continuation", "expected"), CHATML_LEAKS)
@pytest.mark.parametrize("build", [qwen_style_tokenizer, tiny_tokenizer], ids=["qwen", "tiny"])
def test_chatml_templates_give_the_assistants_text_only(build, continuation: str, expected: str) -> None:
    assert ask(build(), continuation) == expected


LLAMA_LEAKS = [
    (
        "<|start_header_id|>assistant<|end_header_id|>\n\nMouth breather.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWhat?",
        "Mouth breather.",
    ),
    ("assistant\n\nYou are mean.<|eot_id|>", "You are mean."),
    ("Friends don't lie.<|start_header_id|>user<|end_header_id|>\n\nOkay", "Friends don't lie."),
]


@pytest.mark.parametrize(("continuation", "expected"), LLAMA_LEAKS)
def test_llama_template_gives_the_assistants_text_only(continuation: str, expected: str) -> None:
    assert ask(llama_style_tokenizer(), continuation) == expected


@pytest.mark.parametrize(
    ("build", "header", "opener", "ender"),
    [
        (qwen_style_tokenizer, "<|im_start|>assistant", "<|im_start|>", "<|im_end|>"),
        (tiny_tokenizer, "<|im_start|>assistant", "<|im_start|>", "<|im_end|>"),
        (
            llama_style_tokenizer,
            "<|start_header_id|>assistant<|end_header_id|>",
            "<|start_header_id|>",
            "<|eot_id|>",
        ),
    ],
    ids=["qwen", "tiny", "llama"],
)
def test_turn_markers_are_read_off_the_template(build, header: str, opener: str, ender: str) -> None:
    markers = chatbot.turn_markers(build())
    assert markers.header == header
    assert opener in markers.turn_openers
    assert ender in markers.turn_enders


def test_a_plain_reply_is_left_alone() -> None:
    markers = chatbot.turn_markers(qwen_style_tokenizer())
    assert chatbot.assistant_text("The gate is open. Assistant to the sheriff.", markers) == (
        "The gate is open. Assistant to the sheriff."
    )
