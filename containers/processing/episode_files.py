"""One subtitle file per episode: which of an episode's files the readers of the cleaned cues count.

Real collections often hold two files of one episode (`S01E01.en.srt` and `S01E01.en.HI.srt`, or an .srt
and a .vtt). CleanSubtitles reads both, and it cannot choose: it may run on several instances (SageMaker
shards its input by S3 key), so the two files can land on different instances and no instance sees the
pair. Every reader of all the shards would then count each line twice: mentions, co-occurrence edges,
theme scores, batch-transform lines. So each reader calls `one_file_per_episode` on the rows of every
shard, and records what it set aside.

The choice, for each episode with several files: the file with the most utterances that carry a speaker,
then the one with the most utterances, then the first name in sort order. Why speakers first: a
hearing-impaired file names who speaks ('[JOYCE]', 'DUSTIN:'), and the network counts a speaker as present
on their own lines, which a plain file of the same lines cannot give. The utterance count breaks ties
between files alike on speakers (the fuller file), the name breaks the rest, so the same corpus gives the
same choice whatever the order of its shards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from containers.processing.episodes import episode_key


@dataclass(frozen=True)
class FileCount:
    """One file's utterances, and how many of them carry a speaker."""

    file: str
    utterances: int
    with_speaker: int

    def rank(self) -> tuple[int, int, str]:
        """Sort key: the best file first (most speakers, most utterances, first name)."""
        return (-self.with_speaker, -self.utterances, self.file)

    def as_dict(self) -> dict[str, str | int]:
        return {"file": self.file, "utterances": self.utterances, "with_speaker": self.with_speaker}


@dataclass(frozen=True)
class FileChoice:
    """The rows of the kept files (in the order given), and each episode's set-aside files.

    `set_aside`: one entry per episode that had several files, in episode order:
    `{"episode": "S01E01", "kept": {file, utterances, with_speaker}, "set_aside": [{...}, ...]}`.
    """

    rows: list[dict]
    set_aside: list[dict]

    def files_set_aside(self) -> list[str]:
        return [item["file"] for entry in self.set_aside for item in entry["set_aside"]]

    def log_line(self) -> str:
        """One line for the log: what was set aside, or that every episode had one file."""
        if not self.set_aside:
            return "one file per episode: every episode has a single file, none set aside"
        choices = "; ".join(
            f"{entry['episode']}: kept {entry['kept']['file']}, set aside "
            + ", ".join(item["file"] for item in entry["set_aside"])
            for entry in self.set_aside
        )
        return (
            f"one file per episode: {len(self.files_set_aside())} file(s) of {len(self.set_aside)} "
            f"episode(s) set aside (most speakers, then most utterances, then name): {choices}"
        )


def count_files(rows: Iterable[dict]) -> dict[tuple[int, int], list[FileCount]]:
    """Per episode (season, episode), each of its files' counts, best first."""
    utterances: dict[tuple[tuple[int, int], str], list[int]] = {}
    for row in rows:
        counts = utterances.setdefault(((row["season"], row["episode"]), row["file"]), [0, 0])
        counts[0] += 1
        counts[1] += 1 if row.get("speaker") else 0
    episodes: dict[tuple[int, int], list[FileCount]] = {}
    for (episode, file), (total, speakers) in utterances.items():
        episodes.setdefault(episode, []).append(FileCount(file, total, speakers))
    return {episode: sorted(files, key=FileCount.rank) for episode, files in sorted(episodes.items())}


def one_file_per_episode(rows: list[dict]) -> FileChoice:
    """The rows of one file per episode (the module docstring says which, and why), in the order given."""
    episodes = count_files(rows)
    kept = {files[0].file for files in episodes.values()}
    set_aside = [
        {
            "episode": episode_key(*episode),
            "kept": files[0].as_dict(),
            "set_aside": [item.as_dict() for item in files[1:]],
        }
        for episode, files in episodes.items()
        if len(files) > 1
    ]
    if not set_aside:  # the common case: every row stays, no copy of the list
        return FileChoice(rows, [])
    return FileChoice([row for row in rows if row["file"] in kept], set_aside)
