"""The LMI (vLLM) adapter: the project's chatbot contract in and out of LMI's Chat Completions schema."""

from __future__ import annotations

import json

import pytest

from containers.common import tiny_models
from containers.inference import chatbot, lmi_adapter

ASK = [{"role": "user", "content": "Where is Mike?"}]
# A non-streaming answer in the shape of the LMI Chat Completions schema's documented response
# (https://docs.djl.ai/docs/serving/serving/docs/lmi/user_guides/chat_input_output_schema.html).
LMI_ANSWER = {
    "id": "chatcmpl-0",
    "object": "chat.completion",
    "created": 1732000000,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": " He is at the arcade. "},
            "logprobs": None,
            "finish_reason": "eos_token",
        }
    ],
    "usage": {"prompt_tokens": 31, "completion_tokens": 7, "total_tokens": 38},
}


def test_parameters_are_the_handlers() -> None:
    assert set(lmi_adapter.PARAMETERS) == set(chatbot.PARAMETERS)
    assert lmi_adapter.ROLES == chatbot.ROLES


def test_greedy_request_becomes_temperature_zero_with_the_cap() -> None:
    lmi = lmi_adapter.to_lmi_request({"messages": ASK, "parameters": {"max_new_tokens": 500}}, 128)
    assert lmi == {"messages": ASK, "max_tokens": 128, "temperature": 0.0}
    assert lmi_adapter.to_lmi_request({"messages": ASK}, 64)["max_tokens"] == 64


def test_sampling_request_keeps_temperature_and_top_p() -> None:
    request = {
        "messages": [{"role": "system", "content": "Be brief."}, *ASK],
        "parameters": {"do_sample": True, "temperature": 0.7, "top_p": 0.9, "max_new_tokens": 20},
    }
    lmi = lmi_adapter.to_lmi_request(request, 128)
    assert lmi == {"messages": request["messages"], "max_tokens": 20, "temperature": 0.7, "top_p": 0.9}


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"messages": []}, "non-empty list"),
        ({"messages": [{"role": "narrator", "content": "x"}]}, r"messages\[0\] must be"),
        ({"messages": [{"role": "assistant", "content": "x"}]}, "last message must be the user's"),
        ({"messages": ASK, "parameters": {"seed": 1}}, r"unknown parameters \['seed'\]"),
        ({"messages": ASK, "parameters": {"max_new_tokens": 0}}, "positive integer"),
    ],
)
def test_requests_outside_the_contract_are_refused(request_body: dict, message: str) -> None:
    with pytest.raises(lmi_adapter.LmiContractError, match=message):
        lmi_adapter.to_lmi_request(request_body, 128)


def test_lmi_answer_becomes_reply_and_usage() -> None:
    expected = {"reply": "He is at the arcade.", "usage": {"prompt_tokens": 31, "completion_tokens": 7}}
    assert lmi_adapter.from_lmi_response(LMI_ANSWER) == expected
    assert lmi_adapter.from_lmi_response(json.dumps(LMI_ANSWER).encode()) == expected


def test_an_answer_outside_the_schema_says_so() -> None:
    with pytest.raises(lmi_adapter.LmiContractError, match="outside the Chat Completions schema"):
        lmi_adapter.from_lmi_response({"generated_text": "He is at the arcade."})
    broken = {**LMI_ANSWER, "choices": [{"message": {"content": None}}]}
    with pytest.raises(lmi_adapter.LmiContractError, match="not text"):
        lmi_adapter.from_lmi_response(broken)


@pytest.mark.parametrize("system_prompt", ['You are Eleven. Say "friends don\'t lie".\nBe short \\ brief.'])
def test_template_adds_the_training_system_prompt_as_the_handler_does(system_prompt: str) -> None:
    tokenizer = tiny_models.build_tiny_chat_tokenizer(["Where is Mike?", "He is at the arcade."] * 5)
    handler = tokenizer.apply_chat_template(
        chatbot.with_system_prompt(ASK, system_prompt), tokenize=False, add_generation_prompt=True
    )
    original = tokenizer.chat_template
    tokenizer.chat_template = lmi_adapter.template_with_default_system(original, system_prompt)
    served = tokenizer.apply_chat_template(ASK, tokenize=False, add_generation_prompt=True)
    assert served == handler
    assert system_prompt in served
    own = [{"role": "system", "content": "Be brief."}, *ASK]
    assert tokenizer.apply_chat_template(own, tokenize=False) == tokenizer.apply_chat_template(
        own, tokenize=False, chat_template=original
    )
    assert lmi_adapter.template_with_default_system(original, None) == original


def test_merged_folder_renders_prompts_as_the_handler(chatbot_run) -> None:
    """What LMI loads (merged/ alone) renders a conversation exactly as the handler does."""
    from transformers import PreTrainedTokenizerFast

    model_dir = chatbot_run["run"] / "model"
    config = json.loads((model_dir / "chatbot_config.json").read_text())
    assert config["system_prompt"]
    merged = PreTrainedTokenizerFast.from_pretrained(str(model_dir / config["merged_dir"]))
    bundle = chatbot.load_chat_model(model_dir)
    handler = bundle["tokenizer"].apply_chat_template(
        chatbot.with_system_prompt(ASK, bundle["system_prompt"]), tokenize=False, add_generation_prompt=True
    )
    assert merged.apply_chat_template(ASK, tokenize=False, add_generation_prompt=True) == handler
