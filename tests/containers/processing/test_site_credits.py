"""Subtitle sites' credits, adverts and links are removed as counted `credit` segments; dialogue stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from containers.processing.site_credits import is_site_credit
from tests.containers.processing.conftest import read_rows, srt
from tests.containers.processing.test_clean_subtitles import assert_balanced, run

CREDITS = [
    ["Sync and corrections by n17t01", "www.addic7ed.com"],
    ["Advertise your product or brand here", "contact www.OpenSubtitles.org today"],
    ["Please rate this subtitle at www.osdb.link/abc1", "Help other users to choose the best subtitles"],
    ["Subtitles by Netflix Inc."],
    ["English subtitles by the Hawkins AV Club"],
    ["<i>Subtitle translation by J. Doe</i>"],
    ["Captioning made possible by the station"],
    ["Resync for WEB by someone"],
    ["Support us and become VIP member", "to remove all ads"],
    ["http://example.org/subs"],
    ["- Synced by a volunteer"],
]
DIALOGUE = [
    ["I will check the website tomorrow."],  # a word, not an address
    ["Ripped by the Demogorgon, that's what Dustin said."],  # could open a line of dialogue
    ["Translated by me, of course. I speak Russian."],
    ["The subs are in the basement, by the boiler."],  # "subs": sandwiches, and "by" too far
    ["Corrections? By whom?"],
    ["We rate this plan a ten."],
    ["Dot com? What's a dot com?"],
    ["[Murray] I typed it up on Mr. Clarke's computer."],
]


@pytest.mark.parametrize("lines", CREDITS, ids=[" / ".join(c)[:40] for c in CREDITS])
def test_site_credits_are_spotted(lines: list[str]) -> None:
    assert is_site_credit(lines)


@pytest.mark.parametrize("lines", DIALOGUE, ids=[d[0][:40] for d in DIALOGUE])
def test_dialogue_is_not_a_credit(lines: list[str]) -> None:
    assert not is_site_credit(lines)


def test_a_downloaded_file_loses_its_credit_cues_and_the_manifest_adds_up(tmp_path: Path) -> None:
    timing = "00:00:{:02d},000 --> 00:00:{:02d},500"
    cues = [*CREDITS[:2], ["We have to find Will."], CREDITS[3], ["- Where?", "- The woods."], CREDITS[2]]
    folder = tmp_path / "subtitles"
    folder.mkdir()
    (folder / "Show.S01E03.WEB.srt").write_text(
        srt(*[(timing.format(i, i), "\n".join(lines)) for i, lines in enumerate(cues, start=1)]),
        encoding="utf-8",
    )
    manifest = run(folder, tmp_path / "out")
    assert_balanced(manifest)
    assert manifest["totals"]["segments_removed"] == {"credit": 4}
    rows = read_rows(tmp_path / "out" / "cues.jsonl")
    assert [row["text"] for row in rows] == ["We have to find Will.", "Where?", "The woods."]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["totals"]["utterances_out"] == 3
