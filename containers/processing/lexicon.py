"""Theme scores without a pretrained model: a keyword lexicon from conf/themes.yaml, weighted by the corpus.

Each theme's terms are its keywords (weight 1) and the content words of its name and description (weight
0.5: they were written for people, so they are a weaker signal than the curated keywords). A term's weight
is then scaled by its inverse document frequency over the lines being scored, so a word that turns up in
every other line of this corpus ("home", "run") says less than one that turns up in a few ("funeral").
A line's score for a theme is 1 - exp(-sum of the weights of the distinct terms it contains): 0 with no
term, about 0.6 with one rare keyword, near 1 with several. An episode's score (classify_themes) is the
mean over its lines: the share of the episode that speaks to the theme.

Why this method, and not the alternatives the issue offered:
- A small NLI model trained on pairs generated from the descriptions learns, at best, the same keyword
  list (the generated pairs hold no other knowledge), at seconds to minutes of CPU per run, with scores
  that move with the seed and that nobody can explain line by line.
- Embeddings fitted on the corpus (LSA, word2vec) need far more text than a few thousand subtitle lines to
  place "funeral" near "grief"; on a small corpus they mostly learn the cast's names.
- The lexicon is deterministic, scores thousands of lines a second (5.7k/s measured on 2 shared cores) with
  the standard library alone, and every score comes with the terms that made it (theme_lines.jsonl
  `matched`), so a surprising score is fixed by editing conf/themes.yaml, not by retraining. Its limit: it
  only sees the words it was given (no paraphrase, no negation: "I'm not scared" counts for fear). The
  zero-shot NLI method (nli.py) stays the one for real runs where a pretrained MNLI model is available.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from containers.processing.themes_file import ThemesFile

DESCRIPTION_WEIGHT = 0.5
MIN_DESCRIPTION_WORD = 4
# Function words and the most common verbs of English dialogue: never evidence of a theme by themselves.
_STOPWORD_TEXT = """
    about above after again against all also and another any are aren't around back because been before
    being below between both but came can can't cannot come comes could couldn't did didn't does doesn't
    doing done don't down during each even ever every few first from further gets getting going gone good
    got had hasn't have haven't having he'd he'll he's her here hers herself him himself his how i'd i'll
    i'm i've into isn't it's its itself just keep keeps know last left let's like little made make makes
    many more most much must mustn't myself never next nobody none nor not nothing now off once one only
    onto other others ought our ours ourselves out over own really same says she'd she'll she's should
    shouldn't some someone something still such take takes than that that's their theirs them themselves
    then there there's these they they'd they'll they're they've thing things this those though through
    thus till too under until upon very wasn't we'd we'll we're we've well were weren't what what's when
    where which while who who's whom whose why will with within without won't would wouldn't yeah yes yet
    you'd you'll you're you've your yours yourself yourselves"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
WORD_RE = re.compile(r"[a-z][a-z'\-]*")
WORD_START = r"(?<![\w'])"


@dataclass(frozen=True)
class Term:
    """One lexicon entry: the text as written in themes.yaml (or a description word) and its base weight."""

    text: str
    weight: float


@dataclass(frozen=True)
class Lexicon:
    """Per theme, its terms and one compiled pattern whose named groups t<i> are those terms."""

    themes: tuple[str, ...]
    terms: tuple[tuple[Term, ...], ...]
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class LineScores:
    """scores[line][theme] in [0, 1) and, for each, the terms found (in the order of the line)."""

    scores: list[list[float]]
    matched: list[list[list[str]]]


def normalise(text: str) -> str:
    """Lower case with typographic apostrophes and dashes made plain, as the keywords are written."""
    return text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("\u2014", " ")


def term_regex(term: str) -> str:
    """A keyword to a regex: words joined by any whitespace, `*` = any word ending, whole words only."""
    words = []
    for word in term.split():
        stem = word.removesuffix("*")
        words.append(re.escape(stem) + (r"[\w'\-]*" if word.endswith("*") else ""))
    tail = "" if term.endswith("*") else r"(?![\w])"
    return WORD_START + r"\s+".join(words) + tail


def description_words(theme_name: str, description: str, keywords: Sequence[str]) -> list[str]:
    """Content words of the name and description that no keyword of the theme already covers (nor a
    word of one of its phrases: "upside" alone is not "upside down")."""
    covered = [re.compile(term_regex(k)) for k in keywords]
    in_phrases = {w.removesuffix("*") for k in keywords if " " in k for w in k.split()}
    words: list[str] = []
    for word in WORD_RE.findall(normalise(f"{theme_name} {description}")):
        word = word.strip("'-")
        if len(word) < MIN_DESCRIPTION_WORD or word in STOPWORDS or word in words or word in in_phrases:
            continue
        if any(p.fullmatch(word) for p in covered):  # a keyword already counts it, at full weight
            continue
        words.append(word)
    return words


def build_lexicon(spec: ThemesFile) -> Lexicon:
    """Compile each theme's terms, longest first so a phrase wins over a word inside it."""
    all_terms, patterns = [], []
    for theme in spec.themes:
        terms = [Term(k, 1.0) for k in theme.keywords]
        terms += [
            Term(w, DESCRIPTION_WEIGHT)
            for w in description_words(theme.name, theme.description, theme.keywords)
        ]
        ordered = sorted(range(len(terms)), key=lambda i: -len(terms[i].text.removesuffix("*")))
        # The word-start check once, outside the alternation: the engine then tries the terms only where a
        # word begins (about 10x faster than each term checking it).
        alternation = "|".join(
            f"(?P<t{i}>{term_regex(terms[i].text).removeprefix(WORD_START)})" for i in ordered
        )
        alternation = f"{WORD_START}(?:{alternation})"
        all_terms.append(tuple(terms))
        patterns.append(re.compile(alternation))
    return Lexicon(tuple(spec.names), tuple(all_terms), tuple(patterns))


def find_terms(lexicon: Lexicon, text: str) -> list[list[int]]:
    """Per theme, the indices of the distinct terms in `text`, in order of appearance."""
    lowered = normalise(text)
    found = []
    for pattern in lexicon.patterns:
        seen: list[int] = []
        for match in pattern.finditer(lowered):
            index = int(match.lastgroup.removeprefix("t"))  # type: ignore[union-attr]
            if index not in seen:
                seen.append(index)
        found.append(seen)
    return found


def idf_scale(document_frequency: int, lines: int) -> float:
    """Smoothed inverse document frequency, divided by its largest value: in (0, 1], 1 for an unseen term."""
    top = math.log(1 + lines) + 1
    return (math.log((1 + lines) / (1 + document_frequency)) + 1) / top


def score_lines(lexicon: Lexicon, texts: Sequence[str]) -> LineScores:
    """Score every line for every theme, term weights scaled by their frequency across `texts`."""
    found = [find_terms(lexicon, text) for text in texts]
    frequency = [[0] * len(terms) for terms in lexicon.terms]
    for line in found:
        for theme, indices in enumerate(line):
            for index in indices:
                frequency[theme][index] += 1
    weights = [
        [term.weight * idf_scale(frequency[t][i], len(texts)) for i, term in enumerate(terms)]
        for t, terms in enumerate(lexicon.terms)
    ]
    scores, matched = [], []
    for line in found:
        scores.append(
            [1.0 - math.exp(-sum(weights[t][i] for i in indices)) for t, indices in enumerate(line)]
        )
        matched.append([[lexicon.terms[t][i].text for i in indices] for t, indices in enumerate(line)])
    return LineScores(scores, matched)
