"""clean_subtitles on a hostile corpus: every bad file is listed with its reason and the run goes on.

Each case is generated here (nothing large is committed): digit runs past Python's int limit in every
time pattern, a name that is not UTF-8, TTML and HTML under subtitle names, files whose timings never
parse, symbolic links (outside the folder, loops, broken, to a folder, inside the folder), a FIFO, a cue
swallowed by an unclosed bracket, and a good file. The tests assert each file's outcome and the
manifest's totals and balance, through main() and through the script run as SageMaker runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from containers.processing import clean_subtitles

REPO = Path(__file__).resolve().parents[2]
HUGE = "9" * 5000  # past Python's 4300-digit int() limit


def srt(*cues: tuple[str, str]) -> str:
    return "\n".join(f"{i}\n{timing}\n{text}\n" for i, (timing, text) in enumerate(cues, start=1))


GOOD_TIMING = "00:00:01,000 --> 00:00:02,000"
TTML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!-- exported --> <!-- by a tool -->\n'
    '<tt xmlns="http://www.w3.org/ns/ttml"><body><div>\n'
    '<p begin="00:00:01.000" end="00:00:02.000">Mike, where are you?</p>\n'
    "<!-- cue two --><!-- end -->\n</div></body></tt>\n"
)
ASS = (
    "[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    f"Dialogue: 0,{HUGE}:00:01.00,0:00:02.00,Default,Dustin,0,0,0,,Hours past the int limit.\n"
    "Dialogue: 0,0:00:03.00,0:00:04.00,Default,Lucas,0,0,0,,This one is fine.\n"
)

# name -> (text, expected reason fragment, or None when the file must be read; utterances when read)
CASES: dict[str, tuple[str, str | None, list[str]]] = {
    "S01E01.srt": (
        srt((GOOD_TIMING, "Hello.\n" + HUGE), ("00:00:03,000 --> 00:00:04,000", "Goodbye.")),
        None,
        ["Hello.", "Goodbye."],  # the 5000-digit line is not the next cue's number: a too-long line
    ),
    "S01E02.srt": (
        srt((f"{HUGE}:00:01,000 --> 00:00:02,000", "Start hours past the limit."), (GOOD_TIMING, "Kept.")),
        None,
        ["Kept."],
    ),
    "S01E03.srt": (
        srt((f"00:00:01,{HUGE} --> 00:{HUGE}:02,000", "Broken."), (GOOD_TIMING, "Also kept.")),
        None,
        ["Also kept."],
    ),
    "S01E04.ass": (ASS, None, ["This one is fine."]),
    "S01E05.vtt": (
        f"WEBVTT\n\n{HUGE}:00:01.000 --> 00:00:02.000\nBroken hours.\n\n00:00:03.000 --> 00:00:04.000\n"
        "Fine in VTT.\n",
        None,
        ["Fine in VTT."],
    ),
    "S01E06.srt": (TTML, "content is an XML document (TTML/DFXP?), not SRT", []),
    "S01E07.srt": (TTML.split("\n", 1)[1].replace("<!-- exported --> <!-- by a tool -->\n", ""), "TTML", []),
    "S01E08.vtt": ("<html><body>Not subtitles --> at all</body></html>\n", "content is HTML, not VTT", []),
    "S01E09.srt": (
        srt(("garbage --> more garbage", "One."), ("1:2 --> 3:4", "Two.")),
        "none of its 2 timing line(s) parses (read as srt)",
        [],
    ),
    "S01E10.srt": (
        srt(
            (GOOD_TIMING, "[thunder rumbling\n" + "we run\n" * 5000),
            ("00:00:03,000 --> 00:00:04,000", "Out."),
        ),
        None,
        ["Out."],  # the unclosed bracket joins every line of its cue, removed as too long
    ),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[str | None, list[str]]]]:
    """The input folder, and each entry's expected outcome (reason fragment or None, utterances)."""
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "subtitles"
    folder.mkdir()
    expected: dict[str, tuple[str | None, list[str]]] = {}
    for name, (text, reason, utterances) in CASES.items():
        (folder / name).write_text(text, encoding="utf-8")
        expected[name] = (reason, utterances)
    good = srt((GOOD_TIMING, "Friends don't lie."))
    # A name that is not UTF-8 (bytes the file system allows on Linux).
    Path(os.fsdecode(os.fsencode(folder) + b"/S02E01\xff.srt")).write_text(good, encoding="utf-8")
    expected["S02E01\\xff.srt"] = ("file name is not valid UTF-8", [])
    # Symbolic links: outside the folder, a loop, a broken one, one to a folder, one to a file inside.
    (root / "outside.S02E02.srt").write_text(good, encoding="utf-8")
    (folder / "S02E02.srt").symlink_to(root / "outside.S02E02.srt")
    expected["S02E02.srt"] = ("outside the input folder: not followed", [])
    (folder / "S02E03.srt").symlink_to("S02E03.srt")
    expected["S02E03.srt"] = ("symlink loop", [])
    (folder / "S02E04.srt").symlink_to("missing.srt")
    expected["S02E04.srt"] = ("broken symlink", [])
    (folder / "season2").mkdir()
    (folder / "season2" / "S02E05.srt").write_text(good, encoding="utf-8")
    expected["season2/S02E05.srt"] = (None, ["Friends don't lie."])
    (folder / "S02E06").symlink_to("season2", target_is_directory=True)
    expected["S02E06"] = ("symlink to a folder: not followed", [])
    (folder / "S02E07.srt").symlink_to(Path("season2") / "S02E05.srt")
    expected["S02E07.srt"] = (None, ["Friends don't lie."])  # a link inside the folder is read
    (folder / "outside-dir").symlink_to(root, target_is_directory=True)
    expected["outside-dir"] = ("outside the input folder", [])
    os.mkfifo(folder / "S02E08.srt")  # opening it would block the job forever
    expected["S02E08.srt"] = ("not a regular file", [])
    return folder, expected


def run(folder: Path, out: Path) -> dict:
    argv = ["--input-dir", str(folder), "--output-dir", str(out), "--resource-config", str(out / "none")]
    return clean_subtitles.main(clean_subtitles.parse_args(argv))


def assert_outcomes(manifest: dict, rows: list[dict], expected: dict) -> None:
    reasons = {item["file"]: item["reason"] for item in manifest["rejected"]}
    read = {entry["file"] for entry in manifest["files"]}
    assert set(reasons) | read == set(expected) and not set(reasons) & read
    for name, (reason, utterances) in expected.items():
        if reason is None:
            assert name in read, (name, reasons.get(name))
            assert [r["text"] for r in rows if r["file"] == name] == utterances, name
        else:
            assert reason in reasons.get(name, ""), (name, reasons.get(name))
    totals = manifest["totals"]
    assert totals["files_seen"] == len(expected) == totals["files_read"] + totals["files_rejected"]
    assert totals["files_read"] == sum(1 for reason, _ in expected.values() if reason is None)
    assert totals["utterances_out"] == len(rows) == sum(len(u) for _, u in expected.values())
    assert totals["cues_in"] + totals["segments_added_by_split"] == (
        totals["utterances_out"] + sum(totals["segments_removed"].values())
    )


def test_every_hostile_file_gets_its_outcome_and_the_totals_add_up(corpus, tmp_path):
    folder, expected = corpus
    manifest = run(folder, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "cues.jsonl").read_text(encoding="utf-8").splitlines()]
    assert_outcomes(manifest, rows, expected)
    removed = manifest["totals"]["segments_removed"]
    assert removed["bad_timestamp"] == 4 and removed["too_long"] == 2  # S01E02-05; S01E01 and S01E10


def test_the_script_exits_0_and_writes_the_same_manifest(corpus, tmp_path):
    folder, expected = corpus
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(REPO / "containers/processing/clean_subtitles.py"), "--input-dir", str(folder),
         "--output-dir", str(out), "--resource-config", str(tmp_path / "none")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (out / "cues.jsonl").read_text(encoding="utf-8").splitlines()]
    assert_outcomes(manifest, rows, expected)


def test_an_unexpected_error_on_one_file_rejects_that_file_only(corpus, tmp_path, monkeypatch):
    """A defect that no input above reaches still fails one file, not the run (the file boundary)."""
    folder, expected = corpus
    real = clean_subtitles.parse_subtitles

    def flaky(fmt: str, text: str):
        if "Goodbye." in text:  # S01E01.srt only
            raise RecursionError("maximum recursion depth exceeded")
        return real(fmt, text)

    monkeypatch.setattr(clean_subtitles, "parse_subtitles", flaky)
    manifest = run(folder, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "cues.jsonl").read_text(encoding="utf-8").splitlines()]
    changed = {**expected, "S01E01.srt": ("could not be read (RecursionError: maximum recursion", [])}
    assert_outcomes(manifest, rows, changed)
