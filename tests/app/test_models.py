"""Models tab logic: version rows, the live version, comparisons and the review to confirm."""

from __future__ import annotations

import dataclasses

import pytest

from app import models
from model_registry.types import ModelVersion

GROUP = "stranger-things-chatbot"


def version(number: int, status: str, **metrics: float) -> ModelVersion:
    return ModelVersion(
        GROUP, number, f"arn:aws:sagemaker:local:0:model-package/{GROUP}/{number}", status, "/m.tar.gz",
        metrics=metrics, created_at="2026-11-30T03:11:07.123+00:00", status_note="ok" if number == 1 else "",
    )  # fmt: skip


V1 = version(1, "Approved", chrf=14.94, bleu=7.559)
V2 = version(2, "PendingManualApproval", chrf=16.0)
LIVE = {V1.arn: "stranger-things-nlp-local-chatbot"}


def test_rows_newest_first_with_one_column_a_metric_and_where_live() -> None:
    assert models.version_rows([V1, V2], LIVE) == [
        {"version": 2, "status": "PendingManualApproval", "live on": "", "bleu": None, "chrf": 16.0,
         "created": "2026-11-30T03:11:07", "note": ""},
        {"version": 1, "status": "Approved", "live on": "stranger-things-nlp-local-chatbot", "bleu": 7.559,
         "chrf": 14.94, "created": "2026-11-30T03:11:07", "note": "ok"},
    ]  # fmt: skip


def test_the_live_version_or_a_sentence_saying_none_is() -> None:
    assert models.live_version([V1, V2], LIVE) == "v1 on stranger-things-nlp-local-chatbot"
    assert models.live_version([V2], LIVE) == "no version of this group is live"


def test_comparison_is_the_registrys_b_minus_a() -> None:
    assert models.comparison_rows(V1, V2) == [
        {"metric": "bleu", "v1": 7.559, "v2": None, "change": None},
        {"metric": "chrf", "v1": 14.94, "v2": 16.0, "change": 1.06},
    ]


def test_a_review_needs_a_group_and_a_version_before_it_asks() -> None:
    pending = models.pending_review(GROUP, "2", "approve", "better chrF")
    assert (pending.version, pending.status, pending.note) == (2, "Approved", "better chrF")
    assert pending.question().startswith(f"Approve **{GROUP} v2**? This deploys it")
    assert "rolls a live version back" in models.pending_review(GROUP, 1, "reject", "").question()
    with pytest.raises(ValueError, match="choose a version first"):
        models.pending_review(GROUP, None, "approve", "")
    with pytest.raises(ValueError, match="choose a model group first"):
        models.pending_review("", 1, "approve", "")


def test_the_card_says_what_the_registry_holds_and_shows_the_model_card() -> None:
    text = models.card_text(V1)
    assert f"**{GROUP} v1**: Approved" in text and "`/m.tar.gz`" in text
    assert "Model card: none was registered" in text
    card = {
        "intended_uses": {"intended_uses": "demo chat"},
        "additional_information": {"caveats_and_recommendations": "tiny"},
    }
    with_card = models.card_text(V1, card)
    assert (
        f"### Model card: {GROUP} v1" in with_card
        and "demo chat" in with_card
        and "none was registered" not in with_card
    )


def test_an_approval_below_the_live_version_warns_in_the_question() -> None:
    pending = models.pending_review(GROUP, 2, "approve", "")
    warned = dataclasses.replace(pending, warning="chrf 20 vs 22 (-2)")
    assert warned.question().endswith("**Warning:** chrf 20 vs 22 (-2)")
    assert "Warning" not in pending.question()
