"""Episode identity from a file name: `S01E02` anywhere in the name (case-insensitive)."""

from __future__ import annotations

import re
from pathlib import Path

EPISODE_RE = re.compile(r"S(\d{1,2})\s*[._ -]?\s*E(\d{1,3})", re.IGNORECASE)


def parse_episode(path: Path | str) -> tuple[int, int] | None:
    """(season, episode) from a name such as `Stranger.Things.S01E02.srt`; None when the name carries none."""
    match = EPISODE_RE.search(Path(path).name)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def episode_key(season: int, episode: int) -> str:
    """The canonical episode label used in outputs and reports: `S01E02`."""
    return f"S{season:02d}E{episode:02d}"
