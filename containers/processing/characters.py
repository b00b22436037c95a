"""The cast file (conf/characters.yaml) and alias matching: case-insensitive, word boundaries, longest wins.

Format: `characters: {Canonical Name: [alias, ...]}` or, for a character with an alias that is also an
ordinary word, `{Canonical Name: {aliases: [...], case_sensitive: [...]}}`. A case-sensitive alias only
matches as written ("Will", not "will"), and not when a subject pronoun follows ("Will you...?", the verb).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

# The bundle's conf/ sits two folders above containers/processing/, in SageMaker
# (/opt/ml/processing/input/code/conf) as in a checkout or a local run.
BUNDLED_CAST_FILE = Path(__file__).resolve().parents[2] / "conf" / "characters.yaml"
PRONOUN_AFTER_RE = re.compile(r"\s+(?:you|we|i|he|she|it|they|this|that|there)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    name: str  # canonical character
    alias: str  # the text as it appears
    start: int
    end: int
    source: str = "list"  # "list" (cast file) or "ner" (token-classification model)


@dataclass
class Cast:
    """Canonical names and the compiled matchers for their aliases."""

    aliases: dict[str, str]  # lower-cased alias -> canonical name (case-insensitive ones)
    exact: dict[str, str]  # alias as written -> canonical name (case-sensitive ones)
    pattern: re.Pattern[str] | None
    exact_pattern: re.Pattern[str] | None

    @property
    def names(self) -> list[str]:
        return sorted(set(self.aliases.values()) | set(self.exact.values()))

    def canonical(self, label: str | None) -> str | None:
        """A speaker label ('DUSTIN', 'Dustin', 'El') to the canonical name, or None when not in the cast."""
        if not label:
            return None
        return self.aliases.get(label.strip().lower()) or self.exact.get(label.strip())

    def find(self, text: str) -> list[Mention]:
        """Non-overlapping mentions in order; where matches overlap the longest wins."""
        found: list[Mention] = []
        if self.pattern is not None:
            for m in self.pattern.finditer(text):
                found.append(Mention(self.aliases[m.group(0).lower()], m.group(0), m.start(), m.end()))
        if self.exact_pattern is not None:
            for m in self.exact_pattern.finditer(text):
                if not PRONOUN_AFTER_RE.match(text, m.end()):
                    found.append(Mention(self.exact[m.group(0)], m.group(0), m.start(), m.end()))
        if len(found) < 2:
            return found
        return resolve_overlaps(found)


def resolve_overlaps(mentions: list[Mention]) -> list[Mention]:
    """Keep the longest of overlapping mentions (earliest on a tie), returned in text order."""
    kept: list[Mention] = []
    for mention in sorted(mentions, key=lambda m: (-(m.end - m.start), m.start)):
        if all(mention.end <= k.start or mention.start >= k.end for k in kept):
            kept.append(mention)
    return sorted(kept, key=lambda m: m.start)


def _alternation(words: list[str], flags: int) -> re.Pattern[str] | None:
    if not words:
        return None
    ordered = sorted(set(words), key=lambda w: (-len(w), w))  # longest first: the regex tries them in order
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in ordered) + r")(?!\w)", flags)


def build_cast(characters: dict[str, object]) -> Cast:
    """Compile the matchers; raises ValueError when one alias names two characters."""
    aliases: dict[str, str] = {}
    exact: dict[str, str] = {}
    for name, spec in characters.items():
        if isinstance(spec, dict):
            unknown = set(spec) - {"aliases", "case_sensitive"}
            if unknown:
                raise ValueError(
                    f"character {name!r}: unknown key(s) {sorted(unknown)}; use aliases, case_sensitive"
                )
            loose, strict = list(spec.get("aliases") or []), list(spec.get("case_sensitive") or [])
        elif isinstance(spec, list) or spec is None:
            loose, strict = list(spec or []), []
        else:
            raise ValueError(
                f"character {name!r}: expected a list of aliases or a mapping, got {type(spec).__name__}"
            )
        for alias in [name, *loose]:
            alias = str(alias).strip()
            other = aliases.setdefault(alias.lower(), name)
            if other != name:
                raise ValueError(
                    f"alias {alias!r} is listed for both {other!r} and {name!r}; keep it for one"
                )
        for alias in strict:
            exact[str(alias).strip()] = name
    return Cast(aliases, exact, _alternation(list(aliases), re.IGNORECASE), _alternation(list(exact), 0))


def load_cast(path: Path) -> Cast:
    """Read conf/characters.yaml (`characters:` mapping); errors name the file and what to fix."""
    if not path.is_file():
        raise FileNotFoundError(f"characters file {path} not found; pass --characters conf/characters.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("characters"), dict):
        raise ValueError(f"{path}: expected a top-level 'characters:' mapping of name -> aliases")
    try:
        return build_cast(data["characters"])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
