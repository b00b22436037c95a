"""Zero-shot scoring with an NLI model: P(entailment) of "This dialogue is about {theme}." per premise.

A direct batched forward pass over (premise, hypothesis) pairs; for each pair the entailment and
contradiction logits are softmaxed against each other (the zero-shot pipeline's multi-label rule), so each
theme is scored on its own. `tiny:nli` builds a small random DistilBERT with the MNLI label names for
offline tests: its scores are near-uniform, but the code path is the one a Hub model takes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from containers.common.tiny_models import is_tiny, tiny_kind
from containers.processing.devices import best_device

LOG = logging.getLogger(__name__)
NLI_LABELS = ["contradiction", "neutral", "entailment"]


def build_tiny_nli(texts: Sequence[str], seed: int = 0) -> tuple[Any, Any]:
    """A tiny DistilBERT classifier (labels contradiction/neutral/entailment) and its tokenizer."""
    from containers.common.tiny_models import build_tiny_distilbert, train_wordpiece_tokenizer

    tokenizer = train_wordpiece_tokenizer(list(texts) or ["hello"], vocab_size=500)
    label2id = {label: i for i, label in enumerate(NLI_LABELS)}
    return build_tiny_distilbert(tokenizer, label2id, max_positions=256, seed=seed).eval(), tokenizer


def load_nli(model_ref: str, texts: Sequence[str]) -> tuple[Any, Any]:
    """(model, tokenizer) for a Hub id (facebook/bart-large-mnli), a local folder, or `tiny:nli`."""
    if is_tiny(model_ref):
        tiny_kind(model_ref, {"nli"})
        model, tokenizer = build_tiny_nli(texts)
    else:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model = AutoModelForSequenceClassification.from_pretrained(model_ref).eval()
        tokenizer = AutoTokenizer.from_pretrained(model_ref)
    return model.to(best_device()), tokenizer


def label_index(label2id: dict[str, int], wanted: str) -> int:
    """The id of 'entailment' or 'contradiction', whatever the case the model's config uses."""
    for label, index in label2id.items():
        if label.lower().startswith(wanted):
            return int(index)
    raise ValueError(
        f"the model has no {wanted!r} label (labels: {sorted(label2id)}); use an NLI (MNLI) model"
    )


def entailment_scores(
    model: Any, tokenizer: Any, premises: Sequence[str], hypotheses: Sequence[str], batch_size: int = 16
) -> list[list[float]]:
    """scores[i][j] = P(premise i entails hypothesis j), computed in batches of pairs."""
    import torch

    entail = label_index(model.config.label2id, "entail")
    contra = label_index(model.config.label2id, "contradict")
    pairs = [(p, h) for p in premises for h in hypotheses]
    flat: list[float] = []
    for start in range(0, len(pairs), batch_size):
        batch = pairs[start : start + batch_size]
        encoded = tokenizer(
            [p for p, _ in batch], [h for _, h in batch], padding=True, truncation="only_first",
            max_length=256, return_tensors="pt",
        )  # fmt: skip
        with torch.inference_mode():
            logits = model(**encoded.to(model.device)).logits.float()
        pair = torch.stack([logits[:, contra], logits[:, entail]], dim=-1).softmax(-1)[:, 1]
        flat.extend(pair.tolist())
    width = len(hypotheses)
    return [flat[i * width : (i + 1) * width] for i in range(len(premises))]
