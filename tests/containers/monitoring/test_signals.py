"""Text signals: words, out-of-vocabulary against the training vocabulary, cast, language, repetition."""

from __future__ import annotations

from pathlib import Path

import pytest

from containers.monitoring.signals import (
    UnreadableRecord,
    detect_language,
    input_signals,
    oov_rate,
    record_signals,
    repetition,
    training_vocabulary,
    words,
)
from containers.processing.characters import load_cast

CAST = load_cast(Path(__file__).resolve().parents[3] / "conf" / "characters.yaml")


def test_oov_is_against_the_training_vocabulary_not_a_dictionary() -> None:
    vocabulary = training_vocabulary(["The Demogorgon is in the Upside Down."])
    assert oov_rate(words("the demogorgon"), vocabulary) == 0.0
    assert oov_rate(words("the invoice is overdue"), vocabulary) == 0.5
    assert oov_rate([], vocabulary) == 0.0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Where is Will? We have to find him before dark.", "en"),
        ("¿Dónde está Will? Tenemos que encontrarlo.", "es"),
        ("Wo ist Will? Wir müssen ihn finden, es ist spät.", "de"),
        ("Où est Will ? Il faut le trouver avant la nuit.", "fr"),
        ("Где Уилл? Мы должны его найти.", "non_latin"),
        ("Run!", "unknown"),
    ],
)
def test_language_by_function_words_and_script(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_input_signals_count_words_and_cast_mentions() -> None:
    signals = input_signals(
        "Chief Hopper and El went to find Will.", training_vocabulary(["and went to"]), CAST
    )
    assert signals["input_tokens"] == 8
    assert signals["cast_mentions"] == 3  # conf/characters.yaml: "Chief Hopper" is one mention
    assert signals["language"] == "en"


def test_repetition_is_the_share_of_repeated_words() -> None:
    assert repetition(words("no no no no")) == 0.75
    assert repetition(words("Friends don't lie.")) == 0.0
    assert repetition(["one"]) == 0.0


def test_a_classifier_batch_gives_one_row_per_text() -> None:
    rows = record_signals(
        "classifier",
        {"inputs": ["The lab.", "The school gym."]},
        {"predictions": [{"label": "lab", "score": 0.9}, {"label": "school", "score": 0.6}]},
        set(),
        CAST,
    )
    assert [(r["predicted_label"], r["confidence"], r["input_tokens"]) for r in rows] == [
        ("lab", 0.9, 2),
        ("school", 0.6, 3),
    ]


def test_the_chatbot_row_reads_the_last_user_message_and_the_reply() -> None:
    request = {"messages": [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Where is Mike?"}]}
    [row] = record_signals("chatbot", request, {"reply": "Mike is home. Home."}, {"where", "is"}, CAST)
    assert (row["input_tokens"], row["reply_tokens"], row["repetition"], row["reply"]) == (
        3,
        4,
        0.25,
        "Mike is home. Home.",
    )


def test_records_the_contract_cannot_read_say_what_was_expected() -> None:
    with pytest.raises(UnreadableRecord, match='needs "inputs"'):
        record_signals("classifier", {"text": "x"}, {"predictions": []}, set(), CAST)
    with pytest.raises(UnreadableRecord, match="2 texts in the request but 1 outputs"):
        record_signals(
            "classifier", {"inputs": ["a", "b"]}, {"predictions": [{"label": "x", "score": 1}]}, set(), CAST
        )
    with pytest.raises(UnreadableRecord, match='needs "reply"'):
        record_signals(
            "chatbot", {"messages": [{"role": "user", "content": "x"}]}, {"text": "y"}, set(), CAST
        )
