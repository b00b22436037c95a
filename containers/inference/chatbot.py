"""SageMaker inference handler for the LoRA chatbot (copied into the model folder as code/inference.py).

    POST /invocations  {"messages": [{"role": "user", "content": "Where is Mike?"}],
                        "parameters": {"max_new_tokens": 48, "temperature": 0.7, "do_sample": true}}
    -> {"reply": "...", "usage": {"prompt_tokens": 31, "completion_tokens": 12}}

Batch transform (SplitType Line, BatchStrategy MultiRecord, AssembleWith Line) sends JSON Lines: one
request object a line (Content-Type application/jsonlines), answered one reply object a line, in order
(Accept application/jsonlines).

Self-contained on purpose (stdlib, torch, transformers, peft only): the serving container loads this file
alone. The prompt is rendered with the chat template saved beside the weights, the one used in training;
without a system message the training system prompt is used. The reply is the assistant's text only: no
template words, roles or special tokens (`assistant_text`, turn markers read off the template itself).
Caps: `max_new_tokens` and `max_input_tokens` from chatbot_config.json, overridable with the MAX_NEW_TOKENS /
MAX_INPUT_TOKENS environment variables of the SageMaker Model; bodies over MAX_PAYLOAD_BYTES are refused.

Client errors raise ClientError (a ValueError) with a message saying what to fix and an HTTP
`status_code` (400 bad JSON or schema, 413 too large, 415 wrong content type). The Hugging Face
inference toolkit answers any exception from these functions with a 400 and the message; the local
server answers ClientError with its status_code and any other exception with 500.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import torch

CONFIG_FILE = "chatbot_config.json"
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_MESSAGES = 64
ROLES = ("system", "user", "assistant")
JSON = "application/json"
JSON_LINES = "application/jsonlines"
MAX_JSONL_PAYLOAD_BYTES = 1024 * 1024  # a MultiRecord request, up to a transform's MaxPayloadInMB of 1
PARAMETERS = {"max_new_tokens": int, "temperature": float, "top_p": float, "do_sample": bool}


class ClientError(ValueError):
    """A request the client must fix; `status_code` is the HTTP status to answer with."""

    status_code = 400


class PayloadTooLarge(ClientError):
    status_code = 413


class UnsupportedContentType(ClientError):
    status_code = 415


def _dtype_kwarg(dtype: torch.dtype) -> dict[str, torch.dtype]:
    """`dtype=` from transformers 4.56 on, `torch_dtype=` before (the serving image may be older)."""
    import transformers

    major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
    return {"dtype" if (major, minor) >= (4, 56) else "torch_dtype": dtype}


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _load_tokenizer(model_dir: Path, class_name: str) -> Any:
    import transformers

    # Tiny tokenizers load with their exact class: AutoTokenizer would rebuild a qwen2 one differently.
    tokenizer = getattr(transformers, class_name).from_pretrained(str(model_dir))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # batched generation continues every prompt from its last token
    return tokenizer


def load_chat_model(model_dir: str | Path, use_adapter: bool = True) -> dict[str, Any]:
    """Tokenizer, model and settings from a model folder: merged/ if present, else base + adapter/.

    `use_adapter=False` loads the base alone (what evaluation compares the fine-tuned model with).
    """
    from transformers import AutoModelForCausalLM

    root = Path(model_dir)
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} is missing: {root} is not a chatbot model folder")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    device = _device()
    dtype = torch.bfloat16 if device.type == "cuda" and config.get("dtype") == "bfloat16" else torch.float32
    base = str(root / config["base_dir"]) if config.get("base_dir") else config["base_model_id"]
    if use_adapter and config.get("merged_dir") and (root / config["merged_dir"]).is_dir():
        model = AutoModelForCausalLM.from_pretrained(str(root / config["merged_dir"]), **_dtype_kwarg(dtype))
    else:
        model = AutoModelForCausalLM.from_pretrained(base, **_dtype_kwarg(dtype))
        if use_adapter:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(root / config["adapter_dir"]))
    model.to(device).eval()
    tokenizer = _load_tokenizer(root, config.get("tokenizer_class", "AutoTokenizer"))
    return {
        "model": model,
        "tokenizer": tokenizer,
        "markers": turn_markers(tokenizer),
        "system_prompt": config.get("system_prompt"),
        "max_new_tokens": int(os.environ.get("MAX_NEW_TOKENS", config.get("max_new_tokens", 128))),
        "max_input_tokens": int(os.environ.get("MAX_INPUT_TOKENS", config.get("max_input_tokens", 1024))),
    }


def model_fn(model_dir: str, context: Any = None) -> dict[str, Any]:
    return load_chat_model(model_dir)


def _check_messages(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise ClientError('\'messages\' must be a non-empty list of {"role", "content"} objects')
    if len(messages) > MAX_MESSAGES:
        raise PayloadTooLarge(f"{len(messages)} messages; send at most {MAX_MESSAGES}")
    checked = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise ClientError(f"messages[{index}] must have exactly the keys 'role' and 'content'")
        if message["role"] not in ROLES or not isinstance(message["content"], str):
            raise ClientError(
                f"messages[{index}]: role must be one of {', '.join(ROLES)} and content a string"
            )
        checked.append({"role": message["role"], "content": message["content"]})
    if checked[-1]["role"] != "user":
        raise ClientError("the last message must be the user's (the model answers it)")
    return checked


def _check_parameters(parameters: Any) -> dict[str, Any]:
    if not isinstance(parameters, dict):
        raise ClientError("'parameters' must be an object")
    unknown = sorted(set(parameters) - set(PARAMETERS))
    if unknown:
        raise ClientError(f"unknown parameters {unknown}; allowed: {', '.join(PARAMETERS)}")
    for name, kind in PARAMETERS.items():
        value = parameters.get(name)
        if value is None:
            continue
        ok = (
            isinstance(value, bool)
            if kind is bool
            else isinstance(value, int | float) and not isinstance(value, bool)
        )
        if not ok or (kind is int and not isinstance(value, int)):
            raise ClientError(f"parameter {name!r} must be {kind.__name__}, got {value!r}")
    if "temperature" in parameters and not 0 < parameters["temperature"] <= 2:
        raise ClientError("temperature must be in (0, 2]")
    if "top_p" in parameters and not 0 < parameters["top_p"] <= 1:
        raise ClientError("top_p must be in (0, 1]")
    if "max_new_tokens" in parameters and parameters["max_new_tokens"] < 1:
        raise ClientError("max_new_tokens must be at least 1")
    return dict(parameters)


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def parse_json_lines(request_body: str | bytes) -> dict[str, Any]:
    """A JSON Lines body: one request a line, each validated as a JSON request is."""
    if len(request_body) > MAX_JSONL_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"request body is {len(request_body)} bytes; the JSON Lines limit is {MAX_JSONL_PAYLOAD_BYTES}"
        )
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    requests = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            requests.append(_request(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ClientError(f"line {number} is not valid JSON: {exc}") from None
        except ClientError as exc:
            raise type(exc)(f"line {number}: {exc}") from None
    if not requests:
        raise ClientError("the JSON Lines body holds no request")
    return {"requests": requests}


def input_fn(request_body: str | bytes, request_content_type: str = JSON) -> dict[str, Any]:
    """Parse and validate a request: {"messages": [...], "parameters": {...}} (parameters optional),
    or JSON Lines of such requests."""
    if _media_type(request_content_type) == JSON_LINES:
        return parse_json_lines(request_body)
    if _media_type(request_content_type) != JSON:
        raise UnsupportedContentType(
            f"content type {request_content_type!r} is not supported; send {JSON} or {JSON_LINES}"
        )
    if len(request_body) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"request body is {len(request_body)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    try:
        payload = json.loads(request_body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClientError(f"request body is not valid JSON: {exc}") from None
    return _request(payload)


def _request(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ClientError("request body must be a JSON object with a 'messages' list")
    unknown = sorted(set(payload) - {"messages", "parameters"})
    if unknown:
        raise ClientError(f"unknown keys {unknown}; send 'messages' and optionally 'parameters'")
    return {
        "messages": _check_messages(payload.get("messages")),
        "parameters": _check_parameters(payload.get("parameters", {})),
    }


def with_system_prompt(messages: list[dict[str, str]], system_prompt: str | None) -> list[dict[str, str]]:
    """Prepend the training system prompt unless the client sent its own."""
    if system_prompt is None or messages[0]["role"] == "system":
        return messages
    return [{"role": "system", "content": system_prompt}, *messages]


_PROBE = "\u2063probe\u2063"  # a string no template writes, to find where a message's content sits


class TurnMarkers(NamedTuple):
    """How the tokenizer's chat template opens the assistant's turn and ends a turn.

    Found by rendering the template itself, so the same code fits ChatML (Qwen, the tiny models),
    Llama 3 headers and any other template, with no per-family table. A NamedTuple, not a dataclass:
    the handler may be loaded from a file path without a sys.modules entry, which dataclasses need.
    """

    header: str  # what add_generation_prompt appends, e.g. "<|im_start|>assistant\n"
    turn_openers: tuple[str, ...]  # special tokens that start a turn, e.g. "<|im_start|>"
    turn_enders: tuple[str, ...]  # special tokens that end one, e.g. "<|im_end|>", "<|eot_id|>"
    specials: tuple[str, ...]  # every special token, longest first
    roles: tuple[str, ...] = ROLES


def _special_tokens(tokenizer: Any) -> list[str]:
    tokens = set(tokenizer.all_special_tokens)
    tokens.update(
        str(added) for added in getattr(tokenizer, "added_tokens_decoder", {}).values() if added.special
    )
    return sorted((t for t in tokens if t), key=len, reverse=True)


def turn_markers(tokenizer: Any) -> TurnMarkers:
    """Render one exchange with the tokenizer's template and read the turn markers off it."""
    user = [{"role": "user", "content": _PROBE}]
    closed = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=False)
    opened = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    header = opened[len(closed) :] if opened.startswith(closed) else ""
    answered = tokenizer.apply_chat_template(
        [*user, {"role": "assistant", "content": _PROBE}], tokenize=False, add_generation_prompt=False
    )
    after_reply = answered[answered.rindex(_PROBE) + len(_PROBE) :]
    specials = _special_tokens(tokenizer)
    enders = [t for t in specials if t in after_reply]
    if tokenizer.eos_token and tokenizer.eos_token not in enders:
        enders.append(tokenizer.eos_token)
    openers = [t for t in specials if header.strip().startswith(t)]
    return TurnMarkers(header.strip(), tuple(openers), tuple(enders), tuple(specials))


def assistant_text(raw: str, markers: TurnMarkers) -> str:
    """The assistant's words only, from generated text decoded WITH its special tokens.

    A small or undertrained model may open its reply with the assistant header again (once or several
    times), or go on past its turn into a new one; decoding with skip_special_tokens would then leave the
    header's words ("assistant\nassistant\nYou are mean."). Here: repeated leading headers (or bare role
    lines) are dropped, the text is cut at the first end of turn or start of a new turn, and any special
    token left is removed.
    """
    text = raw.strip()
    while True:
        if markers.header and text.startswith(markers.header):
            text = text[len(markers.header) :].lstrip()
            continue
        first_line, newline, rest = text.partition("\n")
        if newline and first_line.strip() in markers.roles:  # a template's role word on its own line
            text = rest.lstrip()
            continue
        break
    cuts = [text.find(marker) for marker in (*markers.turn_enders, *markers.turn_openers) if marker in text]
    if cuts:
        text = text[: min(cuts)]
    for token in markers.specials:
        text = text.replace(token, "")
    return text.strip()


def generate_replies(
    bundle: dict[str, Any],
    conversations: list[list[dict[str, str]]],
    max_new_tokens: int,
    temperature: float | None = None,
    top_p: float | None = None,
    do_sample: bool = False,
) -> tuple[list[str], list[int], list[int]]:
    """Replies for a batch of conversations; greedy unless do_sample. Returns replies and token counts.

    Raises ClientError when a prompt exceeds max_input_tokens.
    """
    tokenizer, model = bundle["tokenizer"], bundle["model"]
    prompts = [
        tokenizer.apply_chat_template(
            with_system_prompt(messages, bundle["system_prompt"]), tokenize=False, add_generation_prompt=True
        )
        for messages in conversations
    ]
    # The template already holds any BOS token, as it did in training.
    encoded = tokenizer(prompts, add_special_tokens=False, padding=True, return_tensors="pt")
    lengths = encoded["attention_mask"].sum(dim=1).tolist()
    if max(lengths) > bundle["max_input_tokens"]:
        raise PayloadTooLarge(
            f"the conversation is {max(lengths)} tokens; the limit is {bundle['max_input_tokens']}: "
            "send fewer or shorter messages"
        )
    options: dict[str, Any] = {
        "max_new_tokens": min(max_new_tokens, bundle["max_new_tokens"]),
        "do_sample": do_sample,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if do_sample:
        options.update(
            {k: v for k, v in {"temperature": temperature, "top_p": top_p}.items() if v is not None}
        )
    device = next(bundle["model"].parameters()).device
    with torch.inference_mode():
        output = model.generate(**encoded.to(device), **options)
    new_tokens = output[:, encoded["input_ids"].shape[1] :]
    markers = bundle.get("markers") or turn_markers(tokenizer)
    # Decoded WITH special tokens, so that the turn structure is visible to assistant_text; padding
    # after an early stop is dropped first.
    raw = [
        tokenizer.decode([t for t in row.tolist() if t != tokenizer.pad_token_id], skip_special_tokens=False)
        for row in new_tokens
    ]
    replies = [assistant_text(text, markers) for text in raw]
    completion = [int((row != tokenizer.pad_token_id).sum()) for row in new_tokens]
    return replies, [int(n) for n in lengths], completion


def predict_fn(data: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    if "requests" in data:  # JSON Lines: each request on its own (their parameters may differ)
        return {"predictions": [predict_fn(request, model) for request in data["requests"]]}
    parameters = data["parameters"]
    replies, prompt_tokens, completion_tokens = generate_replies(
        model,
        [data["messages"]],
        parameters.get("max_new_tokens", model["max_new_tokens"]),
        parameters.get("temperature"),
        parameters.get("top_p"),
        parameters.get("do_sample", False),
    )
    return {
        "reply": replies[0],
        "usage": {"prompt_tokens": prompt_tokens[0], "completion_tokens": completion_tokens[0]},
    }


def output_fn(prediction: dict[str, Any], accept: str = JSON) -> str:
    """JSON, or JSON Lines (one reply a line, in input order: AssembleWith Line keeps them aligned)."""
    if _media_type(accept) == JSON_LINES:
        answers = prediction.get("predictions", [prediction])
        return "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in answers)
    if accept and _media_type(accept) not in (JSON, "*/*"):
        raise UnsupportedContentType(f"accept {accept!r} is not supported; ask for {JSON} or {JSON_LINES}")
    return json.dumps(prediction, ensure_ascii=False)
