"""Episode identity from a file name: `S01E02` anywhere in the name (case-insensitive), else `1x02`.

`SxxEyy` wins when a name has both. `1x02` must stand as a word of its own with a 1-2 digit season and
exactly 2 episode digits, so a resolution (`1920x1080`, `1080x720`: the season would follow a digit) or a
codec (`x264`: no season; `5.1x264`: 3 digits after the x) never reads as an episode. A double episode
(`S01E01-E02`) reads as its first episode.
"""

from __future__ import annotations

import re
from pathlib import Path

EPISODE_RE = re.compile(r"S(\d{1,2})\s*[._ -]?\s*E(\d{1,3})", re.IGNORECASE)
CROSS_RE = re.compile(r"(?<![0-9A-Za-z])(\d{1,2})x(\d{2})(?![0-9A-Za-z])", re.IGNORECASE)


def parse_episode(path: Path | str) -> tuple[int, int] | None:
    """(season, episode) from a name such as `Stranger.Things.S01E02.srt` or `Show - 1x02 - Title.srt`;
    None when the name carries neither."""
    name = Path(path).name
    match = EPISODE_RE.search(name) or CROSS_RE.search(name)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def episode_key(season: int, episode: int) -> str:
    """The canonical episode label used in outputs and reports: `S01E02`."""
    return f"S{season:02d}E{episode:02d}"
