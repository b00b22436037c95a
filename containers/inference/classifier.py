"""SageMaker inference handler for the location classifier (copied to the model folder as code/inference.py).

    POST /invocations  {"inputs": "They hide in the lab corridor."}            (one text)
                       {"inputs": ["...", "..."], "parameters": {"top_k": 3}}   (a batch)
    -> {"predictions": [{"label": "Hawkins Lab", "score": 0.91,
                         "top": [{"label": "Hawkins Lab", "score": 0.91}, ...]}]}

Batch transform (SplitType Line, BatchStrategy MultiRecord, AssembleWith Line) sends JSON Lines:

    Content-Type: application/jsonlines   {"inputs": "They hide in the lab corridor."}
                                          {"text": "...", "episode": 3, ...}   (a record with "text")
    Accept: application/jsonlines         -> one prediction object a line, in input order

Self-contained on purpose (stdlib, torch, transformers only). Texts longer than the model's
max_input_tokens are truncated (a location is usually named early); more than MAX_BATCH texts, a text
over MAX_TEXT_CHARS or a body over MAX_PAYLOAD_BYTES is refused.

Client errors raise ClientError (a ValueError) with a message saying what to fix and an HTTP
`status_code` (400 bad JSON or schema, 413 too large, 415 wrong content type). The Hugging Face
inference toolkit answers any exception from these functions with a 400 and the message; the local
server answers ClientError with its status_code and any other exception with 500.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

CONFIG_FILE = "classifier_config.json"
LABEL_MAP = "label_map.json"
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_BATCH = 64
MAX_TEXT_CHARS = 10_000
JSON = "application/json"
JSON_LINES = "application/jsonlines"
# A MultiRecord batch request: up to the transform's MaxPayloadInMB (steps/transform.py sets 1).
MAX_JSONL_PAYLOAD_BYTES = 1024 * 1024


class ClientError(ValueError):
    """A request the client must fix; `status_code` is the HTTP status to answer with."""

    status_code = 400


class PayloadTooLarge(ClientError):
    status_code = 413


class UnsupportedContentType(ClientError):
    status_code = 415


def load_classifier(model_dir: str | Path) -> dict[str, Any]:
    """Model, tokenizer, labels and the input cap from a classifier model folder."""
    import transformers

    root = Path(model_dir)
    for name in (CONFIG_FILE, LABEL_MAP):
        if not (root / name).is_file():
            raise FileNotFoundError(f"{root / name} is missing: {root} is not a classifier model folder")
    config = json.loads((root / CONFIG_FILE).read_text(encoding="utf-8"))
    id2label = json.loads((root / LABEL_MAP).read_text(encoding="utf-8"))["id2label"]
    # Tiny tokenizers load with their exact class: AutoTokenizer could rebuild them differently.
    tokenizer = getattr(transformers, config.get("tokenizer_class", "AutoTokenizer")).from_pretrained(
        str(root)
    )
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(root))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    return {
        "model": model,
        "tokenizer": tokenizer,
        "labels": [id2label[str(i)] for i in range(len(id2label))],
        "max_input_tokens": int(config.get("max_input_tokens", 512)),
    }


def model_fn(model_dir: str, context: Any = None) -> dict[str, Any]:
    return load_classifier(model_dir)


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def parse_json_lines(request_body: str | bytes) -> dict[str, Any]:
    """Texts of a JSON Lines body: one object a line with "inputs" (a text) or "text" (a record)."""
    if len(request_body) > MAX_JSONL_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"request body is {len(request_body)} bytes; the JSON Lines limit is {MAX_JSONL_PAYLOAD_BYTES}"
        )
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    texts = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ClientError(f"line {number} is not valid JSON: {exc}") from None
        value = record.get("inputs", record.get("text")) if isinstance(record, dict) else None
        if not isinstance(value, str):
            raise ClientError(f'line {number} must be an object with "inputs" or "text" holding a string')
        if len(value) > MAX_TEXT_CHARS:
            raise PayloadTooLarge(f"line {number} is longer than {MAX_TEXT_CHARS} characters; shorten it")
        texts.append(value)
    if not texts:
        raise ClientError("the JSON Lines body holds no record")
    return {"texts": texts, "top_k": 1}


def input_fn(request_body: str | bytes, request_content_type: str = JSON) -> dict[str, Any]:
    """Parse and validate {"inputs": str | [str], "parameters": {"top_k": int}}, or JSON Lines."""
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
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise ClientError('request body must be a JSON object with "inputs": a text or a list of texts')
    unknown = sorted(set(payload) - {"inputs", "parameters"})
    if unknown:
        raise ClientError(f"unknown keys {unknown}; send 'inputs' and optionally 'parameters'")
    inputs = payload["inputs"]
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ClientError("'inputs' must be a string or a non-empty list of strings")
    if len(texts) > MAX_BATCH:
        raise PayloadTooLarge(f"{len(texts)} texts; send at most {MAX_BATCH} per request")
    if max(len(t) for t in texts) > MAX_TEXT_CHARS:
        raise PayloadTooLarge(f"a text is longer than {MAX_TEXT_CHARS} characters; shorten it")
    parameters = payload.get("parameters", {})
    if not isinstance(parameters, dict) or set(parameters) - {"top_k"}:
        raise ClientError("'parameters' may only hold 'top_k'")
    top_k = parameters.get("top_k", 1)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise ClientError("top_k must be a positive integer")
    return {"texts": texts, "top_k": top_k}


def classify(bundle: dict[str, Any], texts: list[str]) -> torch.Tensor:
    """Class probabilities, one row per text (texts truncated to max_input_tokens)."""
    encoded = bundle["tokenizer"](
        texts, truncation=True, max_length=bundle["max_input_tokens"], padding=True, return_tensors="pt"
    )
    device = next(bundle["model"].parameters()).device
    with torch.inference_mode():
        logits = bundle["model"](**encoded.to(device)).logits
    return torch.softmax(logits.float(), dim=-1).cpu()


def predict_fn(data: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    # In chunks of MAX_BATCH: a batch-transform request may hold many more lines than a JSON request.
    texts = data["texts"]
    probabilities = torch.cat(
        [classify(model, texts[i : i + MAX_BATCH]) for i in range(0, len(texts), MAX_BATCH)]
    )
    top_k = min(data["top_k"], probabilities.shape[1])
    predictions = []
    for row in probabilities:
        scores, indices = row.topk(top_k)
        top = [
            {"label": model["labels"][i], "score": round(float(s), 6)}
            for s, i in zip(scores, indices, strict=True)
        ]
        predictions.append({"label": top[0]["label"], "score": top[0]["score"], "top": top})
    return {"predictions": predictions}


def output_fn(prediction: dict[str, Any], accept: str = JSON) -> str:
    """JSON, or JSON Lines (one prediction a line, in input order: AssembleWith Line keeps them aligned)."""
    if _media_type(accept) == JSON_LINES:
        return "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in prediction["predictions"])
    if accept and _media_type(accept) not in (JSON, "*/*"):
        raise UnsupportedContentType(f"accept {accept!r} is not supported; ask for {JSON} or {JSON_LINES}")
    return json.dumps(prediction, ensure_ascii=False)
