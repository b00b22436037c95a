"""The local runner hands the user's data to the jobs as it is: links stay links, any name is copied.

`make run-local DATA=dir` copies dir into each job's input folder. Links are recreated, never followed,
so a link leaving the folder or a loop reaches clean_subtitles as what it is and is listed there; names
that are not UTF-8 are copied and digested as bytes instead of failing the run before any job starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from containers.processing import clean_subtitles
from pipelines.local.sources import Source
from pipelines.local.storage import Digests

GOOD = "1\n00:00:01,000 --> 00:00:02,000\nFriends don't lie.\n"


def hostile_data(root: Path) -> Path:
    secret = root / "secret.S09E09.srt"
    secret.write_text(GOOD.replace("Friends don't lie.", "Outside the data."), encoding="utf-8")
    data = root / "data" / "subtitles"
    data.mkdir(parents=True)
    (data / "S01E01.srt").write_text(GOOD, encoding="utf-8")
    (data / "S01E02.srt").symlink_to(secret)
    (data / "S01E03.srt").symlink_to("S01E03.srt")
    (data / "S01E04.srt").symlink_to("S01E01.srt")
    Path(os.fsdecode(os.fsencode(data) + b"/S01E05\xff.srt")).write_text(GOOD, encoding="utf-8")
    return root / "data"


def test_links_are_copied_as_links_and_every_name_is_digested(tmp_path: Path) -> None:
    data = hostile_data(tmp_path)
    target = tmp_path / "job" / "input"
    assert Source(uri=str(data), path=data).materialize(target) == 5
    staged = target / "subtitles"
    assert os.readlink(staged / "S01E02.srt") == str(tmp_path / "secret.S09E09.srt")
    assert os.readlink(staged / "S01E03.srt") == "S01E03.srt"
    assert (staged / "S01E04.srt").read_text(encoding="utf-8") == GOOD  # a link inside still works
    before = Digests().tree(data)
    assert Digests().tree(target) == before  # the copy is the same tree
    (data / "subtitles" / "S01E03.srt").unlink()
    assert Digests().tree(data) != before


def test_clean_subtitles_on_the_staged_copy_lists_the_links(tmp_path: Path) -> None:
    data = hostile_data(tmp_path)
    target = tmp_path / "job" / "input"
    Source(uri=str(data), path=data).materialize(target)
    out = tmp_path / "out"
    manifest = clean_subtitles.main(
        clean_subtitles.parse_args(
            ["--input-dir", str(target / "subtitles"), "--output-dir", str(out), "--resource-config", "-"]
        )
    )
    reasons = {item["file"]: item["reason"] for item in manifest["rejected"]}
    assert sorted(reasons) == ["S01E02.srt", "S01E03.srt", "S01E05\\xff.srt"]
    assert "outside the input folder" in reasons["S01E02.srt"] and "loop" in reasons["S01E03.srt"]
    assert [entry["file"] for entry in manifest["files"]] == ["S01E01.srt", "S01E04.srt"]
    assert "Outside the data." not in (out / "cues.jsonl").read_text(encoding="utf-8")
