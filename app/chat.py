"""Chat tab logic: the conversation as the chatbot endpoint's request, its limits checked first, and the
oldest exchanges left out when the model's context cannot hold them all.

The endpoint's handler (containers/inference/chatbot.py) takes {"messages": [...], "parameters": {...}},
answers {"reply", "usage"} and caps max_new_tokens at the Model's MAX_NEW_TOKENS. A handler-based
endpoint answers in one piece (no token stream), so the tab shows progress while it waits.

Why the oldest turns go first: the model is trained on single-turn examples (system, user, assistant), so
the latest message matters most and the earliest exchanges least. The handler refuses a prompt over its
`max_input_tokens` (128 for the tiny local model, 1024 on SageMaker) rather than cutting it itself, and the
endpoint contract stays so; the app instead drops the oldest user/assistant exchange and asks again
(`answer_within_context`), and says under the reply how many exchanges it left out (`left_out_note`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from app.backend import RequestRejected

LOG = logging.getLogger("app.chat")

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


def _text(content: Any) -> str:
    """A history entry's text: Gradio 6 hands text back as a list of {"type": "text", "text"} parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def history_messages(history: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Gradio's messages-format history as plain {role, content}: extra keys, non-text parts and the app's
    own left-out notes dropped (the note is for the reader, not the model)."""
    messages = []
    for entry in history:
        role, content = entry.get("role"), NOTE.sub("", _text(entry.get("content")))
        if role in ("user", "assistant") and content:
            messages.append({"role": str(role), "content": content})
    return messages


@dataclass(frozen=True)
class Conversation:
    """What goes to the endpoint: the system prompt (if any), the earlier turns kept, the new message.

    `left_out` counts the oldest exchanges dropped to fit `fit_to` (what the note names).
    """

    system: tuple[dict[str, str], ...]
    earlier: tuple[dict[str, str], ...]
    message: dict[str, str]
    parameters: dict[str, Any]
    left_out: int = 0
    fit_to: str = ""

    @property
    def messages(self) -> list[dict[str, str]]:
        return [*self.system, *self.earlier, self.message]

    def request(self) -> dict[str, Any]:
        return {"messages": self.messages, "parameters": dict(self.parameters)}

    def size(self) -> int:
        """The request body's size in bytes, as the handler measures it."""
        return len(json.dumps(self.request()).encode("utf-8"))

    def characters(self) -> int:
        return sum(len(m["content"]) for m in self.messages)

    def without_oldest_exchange(self, fit_to: str) -> Conversation | None:
        """The conversation less its oldest exchange (a message and the assistant replies after it);
        None when only the system prompt and the new message are left."""
        if not self.earlier:
            return None
        cut = 1
        while cut < len(self.earlier) and self.earlier[cut]["role"] == "assistant":
            cut += 1
        return replace(self, earlier=self.earlier[cut:], left_out=self.left_out + 1, fit_to=fit_to)

    def without_oldest(self, exchanges: int, fit_to: str) -> Conversation:
        """Up to `exchanges` oldest exchanges fewer (all the earlier turns at most)."""
        shorter = self
        for _ in range(exchanges):
            shorter = shorter.without_oldest_exchange(fit_to) or shorter
        return shorter


def build_conversation(
    history: list[dict[str, Any]],
    message: str | None,
    system_prompt: str | None,
    settings: GenerationSettings,
    cap: int,
    skip: int = 0,
    skip_reason: str = "",
) -> Conversation:
    """The conversation to send for `message` after `history`; raises ChatInputError naming what to fix.

    The oldest exchanges are left out to keep the request within the handler's message count and body
    size, and `skip` more (what the model's context could not hold last time, `carry_over`).
    """
    text = (message or "").strip()
    if not text:
        raise ChatInputError("type a message first")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ChatInputError(f"the message is {len(text)} characters; keep it under {MAX_MESSAGE_CHARS}")
    prompt = (system_prompt or "").strip()
    conversation = Conversation(
        system=({"role": "system", "content": prompt},) if prompt else (),
        earlier=tuple(history_messages(history)),
        message={"role": "user", "content": text},
        parameters=settings.parameters(cap),
    ).without_oldest(skip, skip_reason)
    # Each step drops at least one message and the new message alone is within both limits: bounded.
    while len(conversation.messages) > MAX_MESSAGES:
        conversation = conversation.without_oldest(1, f"the endpoint's {MAX_MESSAGES}-message limit")
    while conversation.size() > MAX_PAYLOAD_BYTES and conversation.earlier:
        conversation = conversation.without_oldest(1, f"the endpoint's {MAX_PAYLOAD_BYTES // 1024} KiB limit")
    return conversation


@dataclass(frozen=True)
class ContextRefusal:
    """An endpoint's refusal of a prompt longer than the model's context, with the numbers it gave.

    `limit` is the context in tokens; `tokens` the refused prompt's tokens (None when not said);
    `completion` the new tokens the engine reserves within the same context (vLLM counts them; the
    project's handler does not).
    """

    limit: int
    tokens: int | None = None
    completion: int = 0


# The project's handler (containers/inference/chatbot.py, generate_replies) raises PayloadTooLarge (413)
# with "the conversation is N tokens; the limit is M: send fewer or shorter messages"; serve-local answers
# it as {"error": message}, the Hugging Face inference toolkit re-raises it as a 400 with the same text
# (handler_service.py: `raise PredictionException(str(e), 400)`), which InvokeEndpoint returns as ModelError.
HANDLER_REFUSAL = re.compile(r"the conversation is (\d+) tokens; the limit is (\d+)")
# vLLM (what the LMI container runs for `chatbot.serving.engine: lmi`) answers a prompt over max_model_len
# with a 400 whose message reads "This model's maximum context length is M tokens. However, ..." and then
# the prompt's tokens in its version's wording: "your request has N input tokens", "(N in the messages, O in
# the completion)", or "you requested O output tokens and your prompt contains N input tokens" (vLLM's
# OpenAI-compatible serving code, vllm/entrypoints/openai/). Read from vLLM's source, not run against an LMI
# endpoint here: an LMI wording without those numbers still matches on the limit and is trimmed one
# exchange at a time.
VLLM_LIMIT = re.compile(r"maximum context length is (\d+) tokens")
VLLM_PROMPT = re.compile(r"(?:(\d+) input tokens|\((\d+) in the messages)")
VLLM_COMPLETION = re.compile(
    r"(?:(\d+) output tokens|(\d+) in the completion|max_completion_tokens' is too large: (\d+))"
)


def _first_number(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    return next((int(group) for group in match.groups() if group), None) if match else None


def context_refusal(message: str) -> ContextRefusal | None:
    """The refusal an endpoint's error message describes, or None when it is about something else."""
    handler = HANDLER_REFUSAL.search(message)
    if handler:
        return ContextRefusal(limit=int(handler.group(2)), tokens=int(handler.group(1)))
    limit = _first_number(VLLM_LIMIT, message)
    completion = _first_number(VLLM_COMPLETION, message) or 0
    if limit is None or completion >= limit:  # new tokens alone over the context: no trimming helps
        return None
    return ContextRefusal(limit=limit, tokens=_first_number(VLLM_PROMPT, message), completion=completion)


def fitted(conversation: Conversation, refusal: ContextRefusal) -> Conversation | None:
    """The conversation with at least its oldest exchange left out, and more when the refusal's numbers
    say so; None when only the system prompt and the new message are left.

    The estimate: the refused prompt's tokens per character of its messages, applied to what is kept.
    The template's own tokens (role markers, the default system prompt the handler adds) are spread over
    the characters, so while the kept messages are about as long as the dropped ones the estimate errs
    low: it keeps what may not fit, and the next refusal trims more; it rarely drops what would have fit.
    """
    fit_to = f"the model's {refusal.limit}-token context"
    shorter = conversation.without_oldest_exchange(fit_to)
    if shorter is None or not refusal.tokens:
        return shorter
    budget = (refusal.limit - refusal.completion) * conversation.characters() / refusal.tokens
    while shorter.characters() > budget and (next_one := shorter.without_oldest_exchange(fit_to)):
        shorter = next_one
    return shorter


def answer_within_context(
    conversation: Conversation, invoke: Callable[[dict[str, Any]], dict[str, Any]]
) -> tuple[dict[str, Any], Conversation]:
    """The endpoint's answer, and the conversation it answered: when the endpoint refuses the prompt as
    longer than the model's context, the oldest exchanges are left out and it is asked again.

    Any other refusal is raised as it is. When the new message (with the system prompt) is refused on
    its own, ChatInputError carries the endpoint's message. Each retry drops at least one of at most
    MAX_MESSAGES messages, so there are fewer than MAX_MESSAGES calls.
    """
    for _ in range(MAX_MESSAGES):
        try:
            return invoke(conversation.request()), conversation
        except RequestRejected as error:
            refusal = context_refusal(str(error))
            if refusal is None:
                raise
            shorter = fitted(conversation, refusal)
            if shorter is None:
                alone = "your message with the system prompt" if conversation.system else "your message"
                raise ChatInputError(
                    f"{alone} alone is too long for the model ({error}); shorten it"
                ) from None
            LOG.info(
                "the endpoint refused %d messages (%s); asking again with %d",
                len(conversation.messages),
                error,
                len(shorter.messages),
            )
            conversation = shorter
    raise ChatInputError(f"the endpoint refused the conversation {MAX_MESSAGES} times as too long: clear it")


NOTE = re.compile(r"\n\n\*\(the (?:\d+ )?oldest exchanges? (?:was|were) left out to fit [^\n]*\)\*\Z")


def left_out_note(conversation: Conversation) -> str:
    """The line shown under a reply when older turns were not sent ('' when all were)."""
    n = conversation.left_out
    if n == 0:
        return ""
    what = "the oldest exchange was" if n == 1 else f"the {n} oldest exchanges were"
    return f"\n\n*({what} left out to fit {conversation.fit_to})*"


def _carry_key(
    history: list[dict[str, Any]], system_prompt: str | None, settings: GenerationSettings
) -> list[Any]:
    """What must stay the same for a carried skip to hold: the conversation's first message (a cleared
    or different conversation does not match), the system prompt and the new-token budget."""
    first = history_messages(history)[:1]
    return [first[0]["content"] if first else "", (system_prompt or "").strip(), settings.max_new_tokens]


def carry_over(
    conversation: Conversation,
    history: list[dict[str, Any]],
    system_prompt: str | None,
    settings: GenerationSettings,
) -> dict[str, Any]:
    """What the next turn can start from: the exchanges left out this time, while the conversation, the
    system prompt and the settings stay the same. A conversation only grows, so what did not fit now will
    not fit then either: starting there saves the refusals that would say so again."""
    return {
        "skip": conversation.left_out,
        "fit_to": conversation.fit_to,
        "key": _carry_key(history, system_prompt, settings),
    }


def carried_skip(
    carried: dict[str, Any] | None,
    history: list[dict[str, Any]],
    system_prompt: str | None,
    settings: GenerationSettings,
) -> tuple[int, str]:
    """The exchanges to leave out from the start (and why), from the previous turn's `carry_over`."""
    if not carried or carried.get("key") != _carry_key(history, system_prompt, settings):
        return 0, ""
    return int(carried.get("skip", 0)), str(carried.get("fit_to", ""))


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
