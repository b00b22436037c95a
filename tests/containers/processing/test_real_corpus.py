"""benchmarks/real_corpus.py: the generated real-size corpus is in the documented layout and every one of
the character's lines, however the transcript spells her name, is found by the pipeline's own readers."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from containers.processing.characters import BUNDLED_CAST_FILE, load_cast
from containers.processing.decoding import decode_subtitle_bytes
from containers.processing.episodes import parse_episode
from containers.processing.subtitle_formats import detect_format, parse_subtitles
from containers.processing.transcripts import build_pairs, read_transcripts
from tests.containers.processing.conftest import REPO


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("real_corpus", REPO / "benchmarks" / "real_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("real")
    return folder, module.write_corpus(folder, seed=3)


def test_the_corpus_has_the_real_size_and_layout(corpus):
    folder, written = corpus
    assert written.subtitle_files == written.transcript_files == 34
    assert set(written.formats) == {"srt", "ass", "vtt"}
    assert 34 * 600 <= written.cues <= 34 * 1000
    assert 34 * 300 <= written.transcript_lines <= 34 * 500
    assert 100 <= written.locations <= 150
    names = sorted(p.name for p in (folder / "transcripts").iterdir())
    assert names[0] == "transcriptS01E01.csv" and all(parse_episode(name) for name in names)
    rows = [json.loads(line) for line in (folder / "locations" / "locations.jsonl").read_text().splitlines()]
    assert len({row["name"] for row in rows}) == len(rows) == written.locations
    cues = []
    for path in (folder / "subtitles").iterdir():
        text = decode_subtitle_bytes(path.read_bytes()).text
        cues += parse_subtitles(detect_format(path.suffix, text), text).cues
    usable = [cue for cue in cues if cue.problem is None]
    assert len(usable) == written.cues  # every cue written parses; ASS files add one Comment event each
    assert len(cues) - len(usable) == written.formats["ass"]


def test_every_line_of_hers_is_found_whatever_the_spelling(corpus):
    folder, written = corpus
    assert written.character_label_variants > 50
    _, stats = build_pairs(
        read_transcripts(folder / "transcripts"), "Eleven", 2, load_cast(BUNDLED_CAST_FILE)
    )
    assert stats.character_lines == written.character_lines
    assert stats.pairs + sum(stats.dropped.values()) == stats.character_lines
    assert stats.prompt_speakers["unknown_or_empty"] > 0
