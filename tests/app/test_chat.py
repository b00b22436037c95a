"""Chat tab logic: the request the endpoint gets, the limits checked before it is sent, and the oldest
exchanges left out when the model's context cannot hold the whole conversation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app import chat
from app.backend import RequestRejected

GREEDY = chat.GenerationSettings(max_new_tokens=24, temperature=0.7, top_p=0.9, do_sample=False)


def test_the_limits_are_the_handlers_own() -> None:
    from containers.inference import chatbot

    assert chat.MAX_MESSAGES == chatbot.MAX_MESSAGES
    assert chat.MAX_PAYLOAD_BYTES == chatbot.MAX_PAYLOAD_BYTES
    assert set(GREEDY.parameters(cap=128)) <= set(chatbot.PARAMETERS)


def test_history_and_system_prompt_become_the_messages_in_order() -> None:
    history = [
        {"role": "user", "content": "Hi", "metadata": None},
        {"role": "assistant", "content": "Hey.", "options": []},
    ]
    request = chat.build_conversation(
        history, "  Where is Will? ", "You are Mike.", GREEDY, cap=128
    ).request()
    assert request == {
        "messages": [
            {"role": "system", "content": "You are Mike."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hey."},
            {"role": "user", "content": "Where is Will?"},
        ],
        "parameters": {"max_new_tokens": 24, "do_sample": False},
    }


def test_sampling_sends_temperature_and_top_p() -> None:
    settings = chat.GenerationSettings(10, 0.5, 0.8, True)
    assert settings.parameters(cap=16) == {
        "max_new_tokens": 10,
        "do_sample": True,
        "temperature": 0.5,
        "top_p": 0.8,
    }


@pytest.mark.parametrize(
    ("message", "settings", "match"),
    [
        ("   ", GREEDY, "type a message first"),
        ("x" * (chat.MAX_MESSAGE_CHARS + 1), GREEDY, "keep it under"),
        ("hi", chat.GenerationSettings(200, 0.7, 0.9, False), "between 1 and the endpoint's cap 128"),
        ("hi", chat.GenerationSettings(10, 0.0, 0.9, True), r"temperature must be in \(0, 2\]"),
        ("hi", chat.GenerationSettings(10, 0.7, 1.5, True), r"top_p must be in \(0, 1\]"),
    ],
)
def test_bad_input_is_refused_with_what_to_fix(
    message: str, settings: chat.GenerationSettings, match: str
) -> None:
    with pytest.raises(chat.ChatInputError, match=match):
        chat.build_conversation([], message, None, settings, cap=128)


def test_a_conversation_over_the_endpoints_message_limit_leaves_the_oldest_out() -> None:
    history = [{"role": "user", "content": f"line {i}"} for i in range(chat.MAX_MESSAGES)]
    conversation = chat.build_conversation(history, "one more", "", GREEDY, cap=128)
    assert len(conversation.messages) == chat.MAX_MESSAGES
    assert (
        conversation.messages[0]["content"] == "line 1" and conversation.messages[-1]["content"] == "one more"
    )
    assert chat.left_out_note(conversation) == (
        f"\n\n*(the oldest exchange was left out to fit the endpoint's {chat.MAX_MESSAGES}-message limit)*"
    )


def test_the_cap_is_the_models_max_new_tokens_else_the_configured_one() -> None:
    assert chat.token_cap({"MAX_NEW_TOKENS": "64"}, 128) == 64
    assert chat.token_cap({}, 128) == 128
    assert chat.token_cap({"MAX_NEW_TOKENS": "lots"}, 128) == 128


def test_an_answer_without_a_reply_is_reported() -> None:
    assert chat.reply_text({"reply": "Mouth breather."}) == "Mouth breather."
    with pytest.raises(ValueError, match="without a 'reply'"):
        chat.reply_text({"error": "x"})


def test_a_conversation_over_the_endpoints_body_size_leaves_the_oldest_out() -> None:
    # 6 long exchanges of accented text: few messages, but JSON writes each "é" as 6 bytes (\u00e9).
    history = [
        {"role": role, "content": "é" * chat.MAX_MESSAGE_CHARS}
        for _ in range(6)
        for role in ("user", "assistant")
    ]
    assert len(history) < chat.MAX_MESSAGES
    conversation = chat.build_conversation(history, "and then?", None, GREEDY, cap=128)
    assert conversation.size() <= chat.MAX_PAYLOAD_BYTES < 12 * 6 * chat.MAX_MESSAGE_CHARS
    assert len(conversation.earlier) == 10 and conversation.left_out == 1
    assert "to fit the endpoint's 256 KiB limit" in chat.left_out_note(conversation)


def test_gradio_6_history_reaches_the_request_as_text_without_the_apps_notes() -> None:
    """Gradio 6 hands the history back as lists of content parts: every earlier turn must still be sent."""
    import gradio as gr

    note = "\n\n*(the 2 oldest exchanges were left out to fit the model's 128-token context)*"
    shown = [
        {"role": "user", "content": "Where is Will?"},
        {"role": "assistant", "content": "In the Upside Down." + note},
    ]
    component = gr.Chatbot()
    history = component.preprocess(component.postprocess(shown))
    assert not isinstance(history[0]["content"], str)  # the shape the tab's handler receives
    assert chat.history_messages(history) == [
        {"role": "user", "content": "Where is Will?"},
        {"role": "assistant", "content": "In the Upside Down."},
    ]


def pairs(n: int, words: str = "x" * 40) -> list[dict[str, Any]]:
    """n user/assistant exchanges, numbered so that a test can tell which were kept."""
    history: list[dict[str, Any]] = []
    for i in range(n):
        history += [
            {"role": "user", "content": f"q{i} {words}"},
            {"role": "assistant", "content": f"a{i} {words}"},
        ]
    return history


def kept(conversation: chat.Conversation) -> list[str]:
    return [m["content"].split()[0] for m in conversation.earlier]


def test_the_oldest_exchange_is_a_message_and_the_replies_after_it() -> None:
    conversation = chat.build_conversation(pairs(3), "now?", "You are Eleven.", GREEDY, cap=128)
    shorter = conversation.without_oldest_exchange("the context")
    assert shorter is not None and kept(shorter) == ["q1", "a1", "q2", "a2"]
    assert shorter.system == conversation.system and shorter.message == {"role": "user", "content": "now?"}
    odd = [{"role": "assistant", "content": "a hello"}, {"role": "assistant", "content": "b again"}]
    uneven = chat.build_conversation([*odd, *pairs(1)], "now?", None, GREEDY, cap=128)
    assert kept(uneven.without_oldest_exchange("x")) == ["q0", "a0"]  # type: ignore[arg-type]
    alone = chat.build_conversation([], "now?", None, GREEDY, cap=128)
    assert alone.without_oldest_exchange("x") is None


HANDLER = "the conversation is {} tokens; the limit is {}: send fewer or shorter messages"
VLLM_TOO_LONG = (
    "This model's maximum context length is 1024 tokens. However, your request has 1500 input tokens. "
    "Please reduce the length of the input messages."
)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (HANDLER.format(301, 128), chat.ContextRefusal(limit=128, tokens=301)),
        (  # vLLM 0.10 on
            "This model's maximum context length is 1024 tokens. However, your request has 1500 input "
            "tokens. Please reduce the length of the input messages.",
            chat.ContextRefusal(limit=1024, tokens=1500),
        ),
        (  # earlier vLLM
            "This model's maximum context length is 1024 tokens. However, you requested 1148 tokens "
            "(1100 in the messages, 48 in the completion). Please reduce the length of the messages or "
            "completion.",
            chat.ContextRefusal(limit=1024, tokens=1100, completion=48),
        ),
        (
            "This model's maximum context length is 1024 tokens. However, you requested 48 output tokens "
            "and your prompt contains at least 1001 input tokens, for a total of at least 1049 tokens.",
            chat.ContextRefusal(limit=1024, tokens=1001, completion=48),
        ),
        ("This model's maximum context length is 1024 tokens.", chat.ContextRefusal(limit=1024)),
        # What trimming cannot fix, or is not about the context at all: raised as it is.
        (
            "'max_tokens' or 'max_completion_tokens' is too large: 2000. This model's maximum context "
            "length is 1024 tokens and your request has 30 input tokens (2000 > 1024 - 30).",
            None,
        ),
        ("request body is 300000 bytes; the limit is 262144", None),
        ("'messages' must be a non-empty list", None),
    ],
)
def test_a_refusal_for_length_is_recognised_with_its_numbers(
    message: str, expected: chat.ContextRefusal | None
) -> None:
    assert chat.context_refusal(message) == expected


class CountingEndpoint:
    """Stands in for the handler's length check: a token per 4 characters and 5 per message (the
    template's markers), refused over `limit` with the handler's own message."""

    def __init__(self, limit: int = 128, say_numbers: bool = True) -> None:
        self.limit, self.say_numbers = limit, say_numbers
        self.calls: list[int] = []

    def tokens(self, messages: list[dict[str, str]]) -> int:
        return sum(len(m["content"]) // 4 + 5 for m in messages)

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        tokens = self.tokens(request["messages"])
        self.calls.append(len(request["messages"]))
        if tokens > self.limit:
            if self.say_numbers:
                raise RequestRejected(HANDLER.format(tokens, self.limit))
            raise RequestRejected(f"This model's maximum context length is {self.limit} tokens.")
        return {"reply": "Friends don't lie.", "usage": {"prompt_tokens": tokens}}


def test_a_long_conversation_keeps_the_newest_exchanges_that_fit_and_says_how_many_were_left_out() -> None:
    endpoint = CountingEndpoint(limit=128)
    conversation = chat.build_conversation(pairs(8), "And Will?", "You are Eleven.", GREEDY, cap=128)
    answer, sent = chat.answer_within_context(conversation, endpoint)
    assert answer["reply"] == "Friends don't lie."
    assert sent.system == conversation.system and sent.message["content"] == "And Will?"
    assert endpoint.tokens(sent.messages) <= 128  # it fits ...
    one_more = [*conversation.earlier[-len(sent.earlier) - 2 :]]
    assert endpoint.tokens([*sent.system, *one_more, sent.message]) > 128  # ... and nothing more would
    assert kept(sent) == ["q5", "a5", "q6", "a6", "q7", "a7"] and sent.left_out == 5
    assert endpoint.calls == [18, 8]  # one refusal: its numbers said how much to leave out
    assert chat.left_out_note(sent) == (
        "\n\n*(the 5 oldest exchanges were left out to fit the model's 128-token context)*"
    )


def test_without_numbers_in_the_refusal_one_exchange_goes_per_retry() -> None:
    endpoint = CountingEndpoint(limit=128, say_numbers=False)
    conversation = chat.build_conversation(pairs(8), "And Will?", None, GREEDY, cap=128)
    _, sent = chat.answer_within_context(conversation, endpoint)
    assert kept(sent) == ["q4", "a4", "q5", "a5", "q6", "a6", "q7", "a7"] and sent.left_out == 4
    assert endpoint.calls == [17, 15, 13, 11, 9]


def test_a_message_too_long_on_its_own_gets_the_endpoints_refusal() -> None:
    endpoint = CountingEndpoint(limit=128)
    conversation = chat.build_conversation(pairs(2), "y" * 1000, "You are Eleven.", GREEDY, cap=128)
    with pytest.raises(
        chat.ChatInputError, match=r"your message with the system prompt alone is too long"
    ) as e:
        chat.answer_within_context(conversation, endpoint)
    assert "the conversation is 263 tokens; the limit is 128" in str(e.value)
    assert endpoint.calls[-1] == 2  # the system prompt and the message were tried alone


def test_other_refusals_are_not_retried() -> None:
    calls: list[dict[str, Any]] = []

    def refuses(request: dict[str, Any]) -> dict[str, Any]:
        calls.append(request)
        raise RequestRejected("temperature must be in (0, 2]")

    conversation = chat.build_conversation(pairs(3), "hi", None, GREEDY, cap=128)
    with pytest.raises(RequestRejected, match="temperature"):
        chat.answer_within_context(conversation, refuses)
    assert len(calls) == 1


def test_the_next_turn_starts_from_what_was_left_out_while_the_conversation_and_settings_stay() -> None:
    endpoint = CountingEndpoint(limit=128)
    history = pairs(8)
    conversation = chat.build_conversation(history, "And Will?", "You are Eleven.", GREEDY, cap=128)
    _, sent = chat.answer_within_context(conversation, endpoint)
    carried = chat.carry_over(sent, history, "You are Eleven.", GREEDY)
    grown = [*history, {"role": "user", "content": "And Will?"}, {"role": "assistant", "content": "Gone."}]
    skip, reason = chat.carried_skip(carried, grown, "You are Eleven.", GREEDY)
    following = chat.build_conversation(
        grown, "Where?", "You are Eleven.", GREEDY, cap=128, skip=skip, skip_reason=reason
    )
    endpoint.calls.clear()
    _, again = chat.answer_within_context(following, endpoint)
    assert following.left_out == 5 and again == following
    assert endpoint.calls == [len(following.messages)]  # no refusal to find that out again
    assert "128-token context" in chat.left_out_note(again)
    # A new system prompt, other settings, or a cleared (different) conversation start afresh.
    assert chat.carried_skip(carried, grown, "You are Mike.", GREEDY) == (0, "")
    assert chat.carried_skip(carried, grown, "You are Eleven.", chat.GenerationSettings(9, 1, 1, False)) == (
        0,
        "",
    )
    assert chat.carried_skip(carried, pairs(8, "y" * 40), "You are Eleven.", GREEDY) == (0, "")
    assert chat.carried_skip(carried, [], "You are Eleven.", GREEDY) == (0, "")


@pytest.mark.parametrize(
    "body",
    [
        # The handler's message, as the Hugging Face inference toolkit passes it on (str(e), status 400).
        HANDLER.format(1500, 1024),
        # vLLM's OpenAI-style error bodies (older: top-level message; newer: an "error" object).
        json.dumps({"object": "error", "message": VLLM_TOO_LONG, "type": "BadRequestError", "code": 400}),
        json.dumps({"error": {"message": VLLM_TOO_LONG, "type": "BadRequestError", "code": 400}}),
    ],
)
def test_a_too_long_refusal_from_sagemaker_runtime_is_recognised(body: str) -> None:
    """InvokeEndpoint's ModelError with the container's 400, mapped by the AWS backend (aws_error)."""
    from botocore.exceptions import ClientError

    from app.backend import aws_error

    error = ClientError(
        {
            "Error": {"Code": "ModelError", "Message": "Received client error (400) from primary"},
            "OriginalStatusCode": 400,
            "OriginalMessage": body,
        },
        "InvokeEndpoint",
    )
    mapped = aws_error("stranger-things-nlp-dev-chatbot", error)
    assert isinstance(mapped, RequestRejected)
    assert chat.context_refusal(str(mapped)) == chat.ContextRefusal(limit=1024, tokens=1500)
