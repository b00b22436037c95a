"""Optional token-classification backend: person names the cast file does not list.

A model id (Hub id or local folder; `tiny:ner` builds a small random model for tests) is run as a direct
batched forward pass, which is an order of magnitude faster than the pipeline with aggregation. torch and
transformers are imported here only, so the default (cast file only) path never pays for them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from containers.common.tiny_models import is_tiny, tiny_kind
from containers.processing.devices import best_device

LOG = logging.getLogger(__name__)
TINY_NER_LABELS = ["O", "B-PER", "I-PER"]


def build_tiny_ner(texts: Sequence[str], seed: int = 0) -> tuple[Any, Any]:
    """A tiny BERT token classifier (labels O/B-PER/I-PER) and a WordPiece tokenizer trained on `texts`."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from containers.common.tiny_models import train_wordpiece_tokenizer

    tokenizer = train_wordpiece_tokenizer(list(texts) or ["hello"], vocab_size=400)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        id2label=dict(enumerate(TINY_NER_LABELS)),
        label2id={label: i for i, label in enumerate(TINY_NER_LABELS)},
    )
    return BertForTokenClassification(config).eval(), tokenizer


def load_ner(model_ref: str, texts: Sequence[str]) -> tuple[Any, Any]:
    """(model, tokenizer) for a Hub id, a local folder, or `tiny:ner`."""
    if is_tiny(model_ref):
        tiny_kind(model_ref, {"ner"})
        model, tokenizer = build_tiny_ner(texts)
    else:
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        model = AutoModelForTokenClassification.from_pretrained(model_ref).eval()
        tokenizer = AutoTokenizer.from_pretrained(model_ref)
    return model.to(best_device()), tokenizer


def spans_from_labels(labels: Sequence[str], offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Character spans of person entities from per-token BIO labels (PER or PERSON) and offsets.

    Special tokens have (0, 0) offsets and are skipped; an I- tag with no open entity starts one (as the
    pipeline's 'simple' aggregation does); word pieces glued to the previous token extend it.
    """
    spans: list[list[int]] = []
    open_span = False
    for label, (start, end) in zip(labels, offsets, strict=True):
        if start == end:
            continue
        prefix, _, kind = label.rpartition("-")  # "B-PER" -> ("B", "PER"); "O" -> ("", "O")
        if kind not in ("PER", "PERSON"):
            open_span = False
            continue
        if open_span and (prefix == "I" or spans[-1][1] == start):
            spans[-1][1] = end
        else:
            spans.append([start, end])
            open_span = True
    return [(s, e) for s, e in spans]


def predict_person_spans(
    model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 64
) -> list[list[tuple[int, int]]]:
    """Person spans for each text, in batches, one forward pass per batch (no gradient)."""
    import torch

    id2label = model.config.id2label
    out: list[list[tuple[int, int]]] = []
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start : start + batch_size])
        encoded = tokenizer(
            batch,
            return_offsets_mapping=True,
            padding=True,
            truncation=True,
            max_length=128,
            return_tensors="pt",
        )
        offsets = encoded.pop("offset_mapping").tolist()
        with torch.inference_mode():
            predicted = model(**encoded.to(model.device)).logits.argmax(-1).tolist()
        mask = encoded["attention_mask"].tolist()
        for ids, offs, keep in zip(predicted, offsets, mask, strict=True):
            labels = [id2label[i] for i, k in zip(ids, keep, strict=True) if k]
            out.append(spans_from_labels(labels, [tuple(o) for o, k in zip(offs, keep, strict=True) if k]))
        if start and start % (batch_size * 50) == 0:
            LOG.info("NER: %d/%d utterances", start, len(texts))
    return out
