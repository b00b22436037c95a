"""Unit: BIO labels to person spans; the tiny model's batched forward pass returns aligned spans."""

from __future__ import annotations

import pytest

from containers.processing.ner import load_ner, predict_person_spans, spans_from_labels


def test_spans_from_labels():
    labels = ["O", "B-PER", "I-PER", "O", "B-PER", "B-PER", "O", "I-PER", "O"]
    offsets = [(0, 0), (0, 3), (4, 9), (10, 13), (14, 17), (17, 19), (20, 23), (24, 28), (0, 0)]
    # Jim Hopper | Bo+b (glued word pieces) | a lone I- opens a span
    assert spans_from_labels(labels, offsets) == [(0, 9), (14, 19), (24, 28)]


def test_spans_from_labels_accepts_person_tags():
    assert spans_from_labels(["B-PERSON", "I-PERSON", "B-LOC"], [(0, 2), (3, 5), (6, 9)]) == [(0, 5)]


def test_tiny_ner_forward_pass_returns_spans_inside_each_text():
    texts = ["Mike and Dustin ride bikes.", "Hopper drinks coffee.", "Run!"]
    model, tokenizer = load_ner("tiny:ner", texts)
    spans = predict_person_spans(model, tokenizer, texts, batch_size=2)
    assert len(spans) == len(texts)
    for text, found in zip(texts, spans, strict=True):
        assert all(0 <= s < e <= len(text) for s, e in found)


def test_unknown_tiny_kind_is_refused():
    with pytest.raises(ValueError, match="this script builds: ner"):
        load_ner("tiny:gpt", [])
