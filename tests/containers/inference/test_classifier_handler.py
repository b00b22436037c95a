"""The classifier handler round-trips from a saved model folder; bad payloads get clear client errors."""

from __future__ import annotations

import json

import pytest

from containers.inference import classifier


@pytest.fixture(scope="module")
def bundle(classifier_run) -> dict:
    return classifier.model_fn(str(classifier_run["run"] / "model"))


def invoke(bundle: dict, payload: dict) -> dict:
    body = json.dumps(payload)
    return json.loads(
        classifier.output_fn(classifier.predict_fn(classifier.input_fn(body, "application/json"), bundle))
    )


def test_one_text_round_trip(bundle, classifier_run) -> None:
    answer = invoke(bundle, {"inputs": "A lab with long corridors and a water tank."})
    labels = json.loads((classifier_run["run"] / "model" / "label_map.json").read_text())["label2id"]
    [prediction] = answer["predictions"]
    assert prediction["label"] in labels
    assert 0 < prediction["score"] <= 1
    assert prediction["top"] == [{"label": prediction["label"], "score": prediction["score"]}]


def test_batch_with_top_k_matches_single_calls(bundle) -> None:
    texts = ["A school gym with bleachers.", "A dark forest road at night."]
    batch = invoke(bundle, {"inputs": texts, "parameters": {"top_k": 3}})["predictions"]
    assert len(batch) == 2
    for text, prediction in zip(texts, batch, strict=True):
        assert len(prediction["top"]) == 3
        assert [t["score"] for t in prediction["top"]] == sorted(
            (t["score"] for t in prediction["top"]), reverse=True
        )
        single = invoke(bundle, {"inputs": text})["predictions"][0]
        assert single["label"] == prediction["label"]
        assert single["score"] == pytest.approx(prediction["score"], abs=1e-5)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ("{oops", "application/json", 400, "not valid JSON"),
        ('{"text": "x"}', "application/json", 400, '"inputs"'),
        ('{"inputs": 3}', "application/json", 400, "a string or a non-empty list of strings"),
        ('{"inputs": []}', "application/json", 400, "a string or a non-empty list of strings"),
        (
            '{"inputs": "x", "parameters": {"top_k": 0}}',
            "application/json",
            400,
            "top_k must be a positive integer",
        ),
        (
            '{"inputs": "x", "parameters": {"temperature": 1}}',
            "application/json",
            400,
            "may only hold 'top_k'",
        ),
        ('{"inputs": "x"}', "text/plain", 415, "send application/json"),
        (json.dumps({"inputs": ["x"] * (classifier.MAX_BATCH + 1)}), "application/json", 413, "at most 64"),
        (
            json.dumps({"inputs": "x" * (classifier.MAX_TEXT_CHARS + 1)}),
            "application/json",
            413,
            "shorten it",
        ),
        ("x" * (classifier.MAX_PAYLOAD_BYTES + 1), "application/json", 413, "the limit is"),
    ],
)
def test_bad_requests_are_client_errors(body: str, content_type: str, status: int, message: str) -> None:
    with pytest.raises(classifier.ClientError, match=message) as caught:
        classifier.input_fn(body, content_type)
    assert caught.value.status_code == status


def test_long_texts_are_truncated_not_refused(bundle) -> None:
    answer = invoke(bundle, {"inputs": "the lab corridor " * 400})
    assert answer["predictions"][0]["label"] in bundle["labels"]


def test_accept_must_be_json() -> None:
    with pytest.raises(classifier.UnsupportedContentType, match="ask for application/json"):
        classifier.output_fn({"predictions": []}, "text/csv")


def test_json_lines_batch_answers_one_line_per_record_in_order(bundle) -> None:
    # What a MultiRecord batch transform sends: records joined by newlines, some with "text" (a cue).
    records = [
        {"inputs": "A school gym with bleachers."},
        {"text": "A dark forest road at night.", "episode": 1, "index": 7},
        {"inputs": "A lab with long corridors and a water tank."},
    ]
    body = "\n".join(json.dumps(r) for r in records) + "\n"
    lines = classifier.output_fn(
        classifier.predict_fn(classifier.input_fn(body.encode(), "application/jsonlines"), bundle),
        "application/jsonlines",
    ).splitlines()
    singles = [invoke(bundle, {"inputs": r.get("inputs", r.get("text"))})["predictions"][0] for r in records]
    assert [json.loads(line) for line in lines] == singles


def test_json_lines_over_max_batch_are_classified_in_chunks(bundle) -> None:
    texts = [f"A basement with a couch and board games, room {i}." for i in range(classifier.MAX_BATCH + 3)]
    body = "\n".join(json.dumps({"inputs": t}) for t in texts)
    data = classifier.input_fn(body, "application/jsonlines")
    assert len(classifier.predict_fn(data, bundle)["predictions"]) == len(texts)
    with pytest.raises(classifier.PayloadTooLarge, match="send at most"):  # a JSON request keeps its cap
        classifier.input_fn(json.dumps({"inputs": texts}), "application/json")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"inputs": "ok"}\nnot json\n', "line 2 is not valid JSON"),
        ('{"inputs": "ok"}\n{"label": "home"}\n', 'line 2 must be an object with "inputs" or "text"'),
        ("\n\n", "holds no record"),
    ],
)
def test_bad_json_lines_name_the_line(body: str, expected: str) -> None:
    with pytest.raises(classifier.ClientError, match=expected):
        classifier.input_fn(body, "application/jsonlines")


def test_json_lines_body_over_the_transform_payload_is_refused() -> None:
    from steps.transform import MAX_PAYLOAD_MB

    assert classifier.MAX_JSONL_PAYLOAD_BYTES == MAX_PAYLOAD_MB * 1024 * 1024  # the step's MaxPayloadInMB
    body = json.dumps({"inputs": "x" * 100}) + "\n"
    with pytest.raises(classifier.PayloadTooLarge, match="JSON Lines limit"):
        classifier.input_fn(
            body * (classifier.MAX_JSONL_PAYLOAD_BYTES // len(body) + 1), "application/jsonlines"
        )
