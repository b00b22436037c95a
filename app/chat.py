"""Chat tab logic: the conversation as the chatbot endpoint's request, and its limits checked first.

The endpoint's handler (containers/inference/chatbot.py) takes {"messages": [...], "parameters": {...}},
answers {"reply", "usage"} and caps max_new_tokens at the Model's MAX_NEW_TOKENS. A handler-based
endpoint answers in one piece (no token stream), so the tab shows progress while it waits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# The handler's own limits (containers/inference/chatbot.py; tests/app/test_chat.py keeps them equal).
MAX_MESSAGES = 64
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_MESSAGE_CHARS = 4000
DEFAULT_MAX_NEW_TOKENS = 128


class ChatInputError(ValueError):
    """A message or setting the user must change before it is sent."""


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int
    temperature: float
    top_p: float
    do_sample: bool

    def parameters(self, cap: int) -> dict[str, Any]:
        """The request's `parameters`, checked against the endpoint's cap and the handler's ranges."""
        if not 1 <= self.max_new_tokens <= cap:
            raise ChatInputError(f"max new tokens must be between 1 and the endpoint's cap {cap}")
        params: dict[str, Any] = {
            "max_new_tokens": int(self.max_new_tokens),
            "do_sample": bool(self.do_sample),
        }
        if self.do_sample:
            if not 0 < self.temperature <= 2:
                raise ChatInputError("temperature must be in (0, 2]")
            if not 0 < self.top_p <= 1:
                raise ChatInputError("top_p must be in (0, 1]")
            params.update(temperature=float(self.temperature), top_p=float(self.top_p))
        return params


def history_messages(history: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Gradio's messages-format history as plain {role, content} (its extra keys dropped)."""
    messages = []
    for entry in history:
        role, content = entry.get("role"), entry.get("content")
        if role in ("user", "assistant") and isinstance(content, str) and content:
            messages.append({"role": str(role), "content": content})
    return messages


def build_request(
    history: list[dict[str, Any]],
    message: str | None,
    system_prompt: str | None,
    settings: GenerationSettings,
    cap: int,
) -> dict[str, Any]:
    """The endpoint request for `message` after `history`; raises ChatInputError naming what to fix."""
    text = (message or "").strip()
    if not text:
        raise ChatInputError("type a message first")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ChatInputError(f"the message is {len(text)} characters; keep it under {MAX_MESSAGE_CHARS}")
    messages = [*history_messages(history), {"role": "user", "content": text}]
    prompt = (system_prompt or "").strip()
    if prompt:
        messages.insert(0, {"role": "system", "content": prompt})
    if len(messages) > MAX_MESSAGES:
        raise ChatInputError(
            f"the conversation has {len(messages)} messages; the endpoint takes {MAX_MESSAGES}: clear it"
        )
    request = {"messages": messages, "parameters": settings.parameters(cap)}
    size = len(json.dumps(request).encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise ChatInputError(
            f"the conversation is {size} bytes; the endpoint takes {MAX_PAYLOAD_BYTES}: clear it"
        )
    return request


def reply_text(answer: dict[str, Any]) -> str:
    """The reply of an endpoint answer; an answer without one is the endpoint's fault, said plainly."""
    reply = answer.get("reply")
    if not isinstance(reply, str):
        raise ValueError(f"the chatbot endpoint answered without a 'reply': {str(answer)[:200]}")
    return reply or "(the model answered with an empty reply)"


def token_cap(environment: dict[str, str], configured: int) -> int:
    """The endpoint's max_new_tokens cap: the Model's MAX_NEW_TOKENS, else the configured serving cap."""
    value = environment.get("MAX_NEW_TOKENS")
    return int(value) if value and value.isdigit() and int(value) > 0 else configured
