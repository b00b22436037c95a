"""The themes file (conf/themes.yaml): the NLI hypothesis template and each theme's name, description and
keywords, validated once for both scoring methods.

Format:
    hypothesis_template: "This dialogue is about {}."
    themes:
      - name: friendship
        description: Friends who stick together and keep promises.
        keywords: [friend*, buddy, best friend*]

The NLI method reads the template and the names; the lexicon method the names, descriptions and keywords.
Errors name the file, the theme and what to fix, before any model loads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

THEME_KEYS = {"name", "description", "keywords"}
# A keyword: lower-case words (letters, digits, apostrophes, hyphens) separated by single spaces, each may
# end in * ("friend*"). Anything else (regex syntax, upper case) is refused rather than guessed at.
KEYWORD_RE = re.compile(r"^[a-z0-9][a-z0-9'\-]*\*?( [a-z0-9][a-z0-9'\-]*\*?)*$")


@dataclass(frozen=True)
class Theme:
    name: str
    description: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class ThemesFile:
    hypothesis_template: str
    themes: tuple[Theme, ...]

    @property
    def names(self) -> list[str]:
        return [theme.name for theme in self.themes]

    def hypotheses(self) -> list[str]:
        """The NLI hypothesis of each theme, in order."""
        return [self.hypothesis_template.format(name) for name in self.names]


def _theme(path: Path, number: int, item: Any) -> Theme:
    where = f"{path}: themes[{number}]"
    if not isinstance(item, dict):
        raise ValueError(f"{where}: each theme is a mapping with name, description, keywords; got {item!r}")
    unknown = set(item) - THEME_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} (allowed: {sorted(THEME_KEYS)})")
    name, description = item.get("name"), item.get("description")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: name must be a non-empty string")
    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"{where} ({name}): description must be a non-empty sentence")
    keywords = item.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise ValueError(f"{where} ({name}): keywords must be a list of strings")
    cleaned = [" ".join(k.split()) for k in keywords]
    bad = [k for k in cleaned if not KEYWORD_RE.match(k)]
    if bad:
        raise ValueError(
            f"{where} ({name}): keywords {bad} must be lower-case words, each optionally ending in *"
        )
    if len(set(cleaned)) != len(cleaned):
        raise ValueError(f"{where} ({name}): a keyword is listed twice")
    return Theme(name.strip(), " ".join(description.split()), tuple(cleaned))


def load_themes(path: Path) -> ThemesFile:
    """The validated themes file; errors say what to fix."""
    if not path.is_file():
        raise FileNotFoundError(f"themes file {path} not found; pass --themes conf/themes.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    template, items = data.get("hypothesis_template"), data.get("themes")
    if not isinstance(template, str) or template.count("{}") != 1:
        raise ValueError(
            f"{path}: hypothesis_template must be a string with exactly one {{}}, got {template!r}"
        )
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: themes must be a non-empty list of themes")
    themes = tuple(_theme(path, number, item) for number, item in enumerate(items))
    names = [theme.name for theme in themes]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: a theme is listed twice")
    return ThemesFile(template, themes)
