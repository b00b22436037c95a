"""Per-record signals of the two endpoints' traffic: what the drift checks compare with the baseline.

Inputs (both models): `input_tokens` (word count), `oov_rate` (share of words absent from the TRAINING
vocabulary, not a dictionary: "Demogorgon" is in-vocabulary, "invoice" is not), `cast_mentions` (names and
aliases from conf/characters.yaml) and `language` (a categorical guess, below). Classifier outputs:
`predicted_label`, `confidence` (top score). Chatbot outputs: `reply_tokens`, `repetition` (share of a
reply's words that repeat an earlier word of the same reply: a looping model scores high) and, over a
whole window, the distinct-reply rate (checked in drift.py).

Language, offline and cheap: count each language's commonest function words among the text's words and
take the language with most hits (English wins ties); text whose letters are mostly outside the Latin
script is `non_latin`; text with letters but no function word is `unknown` (short lines like "Run!").
The lists are short on purpose: the check needs "is this still the language the models were trained
on", not a language identifier; no corpora are downloaded (NLTK's would reach the network).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from containers.processing.characters import Cast

WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A few dozen of each language's most frequent function words (written from general knowledge).
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": _word_set(
        "the a an and or but of to in on at for with from by is are was were be been am i you he she it we "
        "they me him her us them my your his our their this that these those what where when why how who "
        "not no do does did have has had can could will would should there here if then just"
    ),
    "es": _word_set(
        "el la los las un una unos y o pero de del al en con por para es son está están era fue ser "
        "yo tú "
        "él ella nosotros ellos mi tu su que qué dónde cuando cómo quién no sí muy hay aquí este esta eso"
    ),
    "fr": _word_set(
        "le la les un une des et ou mais de du au aux en avec pour par est sont était être je tu il elle "
        "nous vous ils elles mon ton son que qui où quand comment ne pas oui très ici ce cette c'est"
    ),
    "de": _word_set(
        "der die das ein eine einen und oder aber von zu im mit für ist sind war sein ich du er sie wir "
        "ihr mein dein sein nicht kein ja wo wann wie wer was hier auch noch schon dem den des"
    ),
    "it": _word_set(
        "il lo la gli le un una e o ma di da in con per è sono era essere io tu lui lei noi voi loro mio "
        "tuo suo che chi dove quando come non sì molto qui questo questa nel della"
    ),
    "pt": _word_set(
        "o a os as um uma e ou mas de do da em com por para é são está era ser eu tu ele ela nós eles meu "
        "seu que onde quando como quem não sim muito aqui este esta isso você"
    ),
}
INPUT_FEATURES = ("input_tokens", "oov_rate", "cast_mentions", "language")
OUTPUT_FEATURES = {
    "classifier": ("predicted_label", "confidence"),
    "chatbot": ("reply_tokens", "repetition"),
}
CATEGORICAL = frozenset({"language", "predicted_label"})


class UnreadableRecord(ValueError):
    """A request or response that is not what the model's handler speaks; says what was expected."""


def words(text: str) -> list[str]:
    """Lower-cased words (letters, with inner apostrophes); digits and punctuation dropped."""
    return WORD_RE.findall(text.lower())


def training_vocabulary(texts: Iterable[str]) -> set[str]:
    return {word for text in texts for word in words(text)}


def oov_rate(tokens: list[str], vocabulary: set[str]) -> float:
    """Share of words not in the vocabulary; 0.0 for a text without words."""
    if not tokens:
        return 0.0
    return sum(token not in vocabulary for token in tokens) / len(tokens)


def latin_share(text: str) -> float:
    """Share of letters that are Latin script (1.0 for a text without letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 1.0
    return sum("LATIN" in unicodedata.name(ch, "") for ch in letters) / len(letters)


def detect_language(text: str, tokens: list[str] | None = None) -> str:
    """'en', 'es', 'fr', 'de', 'it', 'pt', 'non_latin' or 'unknown' (see the module docstring)."""
    if latin_share(text) < 0.5:
        return "non_latin"
    tokens = words(text) if tokens is None else tokens
    hits = {lang: sum(t in stop for t in tokens) for lang, stop in FUNCTION_WORDS.items()}
    best = max(hits.values(), default=0)
    if best == 0:
        return "unknown"
    return "en" if hits["en"] == best else max(hits, key=lambda lang: (hits[lang], lang))


def repetition(tokens: list[str]) -> float:
    """Share of words that repeat an earlier word of the same text (0.0 for fewer than two words)."""
    if len(tokens) < 2:
        return 0.0
    return 1.0 - len(set(tokens)) / len(tokens)


def input_signals(text: str, vocabulary: set[str], cast: Cast) -> dict[str, Any]:
    tokens = words(text)
    return {
        "input_tokens": len(tokens),
        "oov_rate": oov_rate(tokens, vocabulary),
        "cast_mentions": len(cast.find(text)),
        "language": detect_language(text, tokens),
    }


def request_texts(model: str, request: Any) -> list[str]:
    """The texts a request carries: the classifier's `inputs`, the chatbot's last user message."""
    if not isinstance(request, dict):
        raise UnreadableRecord(f"{model} request is not a JSON object")
    if model == "classifier":
        inputs = request.get("inputs")
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise UnreadableRecord('classifier request needs "inputs": a text or a list of texts')
        return texts
    messages = request.get("messages")
    users = [m.get("content") for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
    if not users or not isinstance(users[-1], str):
        raise UnreadableRecord('chatbot request needs "messages" with a user message')
    return [users[-1]]


def response_signals(model: str, response: Any) -> list[dict[str, Any]]:
    """Output signals, one dict per text of the request (classifier batches answer one prediction each)."""
    if not isinstance(response, dict):
        raise UnreadableRecord(f"{model} response is not a JSON object")
    if model == "classifier":
        predictions = response.get("predictions")
        if not isinstance(predictions, list) or not predictions:
            raise UnreadableRecord('classifier response needs "predictions": [{"label", "score"}]')
        try:
            return [
                {"predicted_label": str(p["label"]), "confidence": float(p["score"])} for p in predictions
            ]
        except (KeyError, TypeError, ValueError):
            raise UnreadableRecord("each classifier prediction needs a label and a numeric score") from None
    reply = response.get("reply")
    if not isinstance(reply, str):
        raise UnreadableRecord('chatbot response needs "reply": a string')
    tokens = words(reply)
    return [{"reply_tokens": len(tokens), "repetition": repetition(tokens), "reply": reply}]


def record_signals(
    model: str, request: Any, response: Any, vocabulary: set[str], cast: Cast
) -> list[dict[str, Any]]:
    """All signals of one invocation, one row per text (a classifier batch of 3 gives 3 rows)."""
    texts = request_texts(model, request)
    outputs = response_signals(model, response)
    if len(outputs) != len(texts):
        raise UnreadableRecord(f"{len(texts)} texts in the request but {len(outputs)} outputs")
    return [
        {**input_signals(text, vocabulary, cast), **output}
        for text, output in zip(texts, outputs, strict=True)
    ]
