"""Chat tab logic: the request the endpoint gets, and the limits checked before it is sent."""

from __future__ import annotations

import pytest

from app import chat

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
    request = chat.build_request(history, "  Where is Will? ", "You are Mike.", GREEDY, cap=128)
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
        chat.build_request([], message, None, settings, cap=128)


def test_a_conversation_over_the_endpoints_message_limit_asks_to_clear_it() -> None:
    history = [{"role": "user", "content": f"line {i}"} for i in range(chat.MAX_MESSAGES)]
    with pytest.raises(chat.ChatInputError, match=f"the endpoint takes {chat.MAX_MESSAGES}: clear it"):
        chat.build_request(history, "one more", "", GREEDY, cap=128)


def test_the_cap_is_the_models_max_new_tokens_else_the_configured_one() -> None:
    assert chat.token_cap({"MAX_NEW_TOKENS": "64"}, 128) == 64
    assert chat.token_cap({}, 128) == 128
    assert chat.token_cap({"MAX_NEW_TOKENS": "lots"}, 128) == 128


def test_an_answer_without_a_reply_is_reported() -> None:
    assert chat.reply_text({"reply": "Mouth breather."}) == "Mouth breather."
    with pytest.raises(ValueError, match="without a 'reply'"):
        chat.reply_text({"error": "x"})


def test_a_conversation_over_the_endpoints_body_size_asks_to_clear_it() -> None:
    # 12 long replies of accented text: few messages, but JSON writes each "é" as 6 bytes (\u00e9).
    history = [{"role": "assistant", "content": "é" * chat.MAX_MESSAGE_CHARS} for _ in range(12)]
    assert len(history) < chat.MAX_MESSAGES
    with pytest.raises(chat.ChatInputError, match=rf"bytes; the endpoint takes {chat.MAX_PAYLOAD_BYTES}"):
        chat.build_request(history, "and then?", None, GREEDY, cap=128)
    assert chat.build_request(history[:8], "and then?", None, GREEDY, cap=128)["messages"][-1]["content"]
