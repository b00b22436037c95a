"""The chatbot handler round-trips from a saved model folder; bad payloads get clear client errors."""

from __future__ import annotations

import ast
import importlib.util
import json

import pytest

from containers.inference import chatbot

ALLOWED_IMPORTS = {
    "__future__",
    "dataclasses",
    "json",
    "os",
    "pathlib",
    "typing",
    "torch",
    "transformers",
    "peft",
}


@pytest.fixture(scope="module")
def bundle(chatbot_run) -> dict:
    return chatbot.model_fn(str(chatbot_run["run"] / "model"))


def invoke(bundle: dict, body: str | bytes, content_type: str = "application/json") -> dict:
    return json.loads(chatbot.output_fn(chatbot.predict_fn(chatbot.input_fn(body, content_type), bundle)))


def test_round_trip_from_the_model_folder(bundle) -> None:
    body = json.dumps(
        {"messages": [{"role": "user", "content": "Can you see Will?"}], "parameters": {"max_new_tokens": 12}}
    )
    answer = invoke(bundle, body)
    assert set(answer) == {"reply", "usage"}
    assert isinstance(answer["reply"], str) and answer["reply"]
    assert 1 <= answer["usage"]["completion_tokens"] <= 12
    assert answer == invoke(bundle, body)  # greedy: the same question gets the same answer


def test_the_training_system_prompt_is_the_default(bundle) -> None:
    question = [{"role": "user", "content": "Can you see Will?"}]
    with_default = chatbot.with_system_prompt(question, bundle["system_prompt"])
    assert with_default[0] == {"role": "system", "content": bundle["system_prompt"]}
    implicit = invoke(bundle, json.dumps({"messages": question}))
    explicit = invoke(bundle, json.dumps({"messages": with_default}))
    assert implicit == explicit


def test_max_new_tokens_is_capped(bundle) -> None:
    capped = dict(bundle, max_new_tokens=3)
    answer = invoke(
        capped,
        json.dumps({"messages": [{"role": "user", "content": "Hi"}], "parameters": {"max_new_tokens": 500}}),
    )
    assert answer["usage"]["completion_tokens"] <= 3


def test_sampling_parameters_are_accepted(bundle) -> None:
    body = {
        "messages": [{"role": "user", "content": "Hi"}],
        "parameters": {"do_sample": True, "temperature": 0.7, "top_p": 0.9, "max_new_tokens": 4},
    }
    assert isinstance(invoke(bundle, json.dumps(body))["reply"], str)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ("{not json", "application/json", 400, "not valid JSON"),
        ('["a"]', "application/json", 400, "must be a JSON object"),
        ('{"messages": []}', "application/json", 400, "non-empty list"),
        ('{"prompt": "hi"}', "application/json", 400, r"unknown keys \['prompt'\]"),
        (
            '{"messages": [{"role": "user"}]}',
            "application/json",
            400,
            "exactly the keys 'role' and 'content'",
        ),
        (
            '{"messages": [{"role": "wizard", "content": "x"}]}',
            "application/json",
            400,
            "role must be one of",
        ),
        (
            '{"messages": [{"role": "assistant", "content": "x"}]}',
            "application/json",
            400,
            "last message must be",
        ),
        (
            '{"messages": [{"role": "user", "content": "x"}], "parameters": {"beams": 4}}',
            "application/json",
            400,
            r"unknown parameters \['beams'\]",
        ),
        (
            '{"messages": [{"role": "user", "content": "x"}], "parameters": {"max_new_tokens": "9"}}',
            "application/json",
            400,
            "must be int",
        ),
        (
            '{"messages": [{"role": "user", "content": "x"}], "parameters": {"temperature": 0}}',
            "application/json",
            400,
            r"temperature must be in \(0, 2\]",
        ),
        ('{"messages": [{"role": "user", "content": "x"}]}', "text/csv", 415, "send application/json"),
        ("x" * (chatbot.MAX_PAYLOAD_BYTES + 1), "application/json", 413, "the limit is"),
    ],
)
def test_bad_requests_are_client_errors(body: str, content_type: str, status: int, message: str) -> None:
    with pytest.raises(chatbot.ClientError, match=message) as caught:
        chatbot.input_fn(body, content_type)
    assert caught.value.status_code == status
    assert isinstance(caught.value, ValueError)


def test_too_many_input_tokens_is_refused(bundle) -> None:
    small = dict(bundle, max_input_tokens=10)
    with pytest.raises(chatbot.PayloadTooLarge, match="tokens; the limit is 10"):
        invoke(small, json.dumps({"messages": [{"role": "user", "content": "Where is Mike? " * 5}]}))


def test_copied_handler_is_self_contained(chatbot_run) -> None:
    """code/inference.py imports only what the serving container has, and loads its model folder alone."""
    path = chatbot_run["run"] / "model" / "code" / "inference.py"
    tree = ast.parse(path.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= ALLOWED_IMPORTS
    spec = importlib.util.spec_from_file_location("copied_chatbot_inference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded = module.model_fn(str(chatbot_run["run"] / "model"))
    body = json.dumps({"messages": [{"role": "user", "content": "Can you see Will?"}]})
    answer = json.loads(
        module.output_fn(module.predict_fn(module.input_fn(body, "application/json"), loaded))
    )
    assert isinstance(answer["reply"], str)


def test_adapter_without_merge_gives_the_merged_replies(chatbot_run) -> None:
    merged = chatbot.load_chat_model(chatbot_run["run"] / "model")
    unmerged = dict(chatbot.load_chat_model(chatbot_run["run"] / "model", use_adapter=True))
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(chatbot_run["run"] / "model" / "base"))
    unmerged["model"] = PeftModel.from_pretrained(base, str(chatbot_run["run"] / "model" / "adapter")).eval()
    prompts = [
        [{"role": "user", "content": "Can you see Will?"}],
        [{"role": "user", "content": "Who is in the van?"}],
    ]
    assert (
        chatbot.generate_replies(merged, prompts, 12)[0] == chatbot.generate_replies(unmerged, prompts, 12)[0]
    )


def test_replies_to_every_test_prompt_carry_no_template_text(bundle, chatbot_run) -> None:
    """The trained tiny chatbot on data/sample's test prompts: words only, no roles or special tokens."""
    from containers.training.chat_data import load_conversations

    prompts = [messages[:-1] for messages in load_conversations(chatbot_run["data"] / "chatbot_test")]
    replies, _, _ = chatbot.generate_replies(bundle, prompts, 24)
    specials = chatbot.turn_markers(bundle["tokenizer"]).specials
    for reply in replies:
        assert not any(token in reply for token in specials), reply
        assert reply.split("\n")[0].strip() not in chatbot.ROLES, reply


def test_json_lines_answer_one_reply_per_request_in_order(bundle) -> None:
    requests = [
        {"messages": [{"role": "user", "content": "Can you see Will?"}], "parameters": {"max_new_tokens": 6}},
        {
            "messages": [{"role": "user", "content": "Where is the gate?"}],
            "parameters": {"max_new_tokens": 4},
        },
    ]
    body = "\n".join(json.dumps(r) for r in requests) + "\n"
    lines = chatbot.output_fn(
        chatbot.predict_fn(chatbot.input_fn(body, "application/jsonlines"), bundle), "application/jsonlines"
    ).splitlines()
    assert [json.loads(line) for line in lines] == [invoke(bundle, json.dumps(r)) for r in requests]


def test_a_bad_json_lines_request_names_its_line() -> None:
    body = '{"messages": [{"role": "user", "content": "x"}]}\n{"messages": []}\n'
    with pytest.raises(chatbot.ClientError, match=r"line 2: 'messages' must be a non-empty list"):
        chatbot.input_fn(body, "application/jsonlines")
