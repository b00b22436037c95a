"""Clean text scraped from a wiki page (a location's description) into what a classifier should read.

Scraped fan-wiki descriptions carry page furniture the classifier would otherwise learn from: citation
markers (`[ 1 ]`, `[ 2 ] [ ]`), a maintenance notice repeated once per template on the page ("This article
is a stub."), a hatnote repeated ("This article is about X. For Y, see Z ."), non-breaking spaces, and
spaces the text extraction left before punctuation. `clean_wiki_text` removes these and nothing else:
it keeps every script (Cyrillic, accents) and does not rewrite words.

Repetition is handled at the sentence level and kept general: a sentence (of three words or more) that
already appeared earlier in the same text is dropped, so a repeated block of any length collapses to its
first copy; a sentence that is a known maintenance notice is dropped even once. The three-word floor keeps
what a naive sentence split produces from abbreviations ("Dr." in "Dr. Brenner ... Dr. Owens ...").
"""

from __future__ import annotations

import re

# A footnote marker as the scrape renders it: [1], [ 12 ], [ a ], [ ], [ citation needed ], [ note 3 ].
CITATION = re.compile(r"\s*\[\s*(?:\d+|[a-z]|note \d+|citation needed)?\s*\]", re.IGNORECASE)
# Extraction joins link text with spaces: "see Hawkins ." -> "see Hawkins."
SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:!?])(?=\s|$)")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))  # zero-width characters
# Wiki maintenance templates (not about the place): dropped wherever they stand. Matched on one sentence.
MAINTENANCE_NOTICES = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"this (?:article|page|section)(?: or section)? "
        r"(?:is a stub|is incomplete|is under construction)\b.*",
        r"this (?:article|page|section)(?: or section)? (?:needs|requires) (?:to be )?"
        r"(?:updat|expan|clean|improv|attention|more|additional|citation|source).*",
        r"this (?:article|page|section)(?: or section)? (?:contains|may contain) (?:spoilers|unverified)\b.*",
        r"help out this (?:community|wiki)\b.*",
        r"please help (?:improve|expand|update) (?:it|this)\b.*",
        r"you can help .* by (?:adding|expanding|editing)\b.*",
    )
)
MIN_WORDS_TO_DEDUPE = 3


def normalize_space(text: str) -> str:
    """One plain space between words: NBSP, thin spaces, tabs and newlines included; zero-width removed."""
    return " ".join(text.translate(INVISIBLE).split())


def is_maintenance_notice(sentence: str) -> bool:
    """True for a wiki maintenance template's sentence ("This article is a stub.")."""
    return any(pattern.fullmatch(sentence) for pattern in MAINTENANCE_NOTICES)


def clean_wiki_text(text: str) -> str:
    """The text without citation markers, maintenance notices and repeated sentences, spaces normalised.

    Clean text comes back unchanged (same characters, same order), so hand-written descriptions are
    not touched.
    """
    text = normalize_space(CITATION.sub("", normalize_space(text)))
    text = SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    kept: list[str] = []
    seen: set[str] = set()
    for sentence in SENTENCE_END.split(text):
        if not sentence or is_maintenance_notice(sentence):
            continue
        key = sentence.casefold()
        if key in seen:
            continue
        if len(sentence.split()) >= MIN_WORDS_TO_DEDUPE:
            seen.add(key)
        kept.append(sentence)
    return " ".join(kept)
