"""fingerprint_data.py: SHA-256 over sorted paths and bytes, whole tree and per folder; changes exactly
when the data (of that folder) does."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from containers.processing.fingerprint_data import fingerprint, list_files, main, parse_args

SCRIPT = Path(__file__).resolve().parents[3] / "containers" / "processing" / "fingerprint_data.py"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "subtitles").mkdir(parents=True)
    (root / "subtitles" / "S01E01.srt").write_bytes(b"1\n00:00:01,000 --> 00:00:02,000\nHi\n")
    (root / "locations").mkdir()
    (root / "locations" / "locations.jsonl").write_bytes(b'{"name": "Hawkins Lab"}\n')
    return root


def expected_sha(root: Path, names: list[str]) -> str:
    digest = hashlib.sha256()
    for name in names:
        data = (root / name).read_bytes()
        digest.update(
            len(name.encode()).to_bytes(8, "big") + name.encode() + len(data).to_bytes(8, "big") + data
        )
    return digest.hexdigest()


def test_fingerprint_of_a_small_tree(data: Path) -> None:
    names = ["locations/locations.jsonl", "subtitles/S01E01.srt"]
    assert list_files(data) == names
    result = fingerprint(data)
    assert result.sha256 == expected_sha(data, names)
    assert (result.files, result.bytes) == (2, 35 + 24)


def test_changes_with_content_names_and_new_files_but_not_with_mtime(data: Path) -> None:
    before = fingerprint(data).sha256
    (data / "subtitles" / "S01E01.srt").touch()
    assert fingerprint(data).sha256 == before
    (data / "subtitles" / "S01E01.srt").write_bytes(b"1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    edited = fingerprint(data).sha256
    assert edited != before
    (data / "subtitles" / "S01E01.srt").rename(data / "subtitles" / "S01E02.srt")
    renamed = fingerprint(data).sha256
    assert renamed not in {before, edited}
    (data / "subtitles" / ".hidden").write_bytes(b"")
    assert fingerprint(data).sha256 != renamed  # an empty new file still counts


def test_moving_bytes_between_files_changes_the_hash(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for root, (a, b) in ((one, (b"ab", b"c")), (two, (b"a", b"bc"))):
        root.mkdir()
        (root / "a").write_bytes(a)
        (root / "b").write_bytes(b)
    assert fingerprint(one).sha256 != fingerprint(two).sha256


def test_empty_or_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="holds no files: check the InputDataUri parameter"):
        fingerprint(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist: pass --input-dir"):
        fingerprint(tmp_path / "nowhere")


EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # SHA-256 of no bytes


def test_each_folder_has_its_own_hash_and_a_missing_one_the_hash_of_nothing(
    data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    result = fingerprint(data, ["subtitles", "transcripts", "locations"])
    assert result.sha256 == expected_sha(data, ["locations/locations.jsonl", "subtitles/S01E01.srt"])
    assert {name: part.as_dict() for name, part in result.folders.items()} == {
        "subtitles": {"sha256": expected_sha(data / "subtitles", ["S01E01.srt"]), "files": 1, "bytes": 35},
        "transcripts": {"sha256": EMPTY_SHA256, "files": 0, "bytes": 0},
        "locations": {
            "sha256": expected_sha(data / "locations", ["locations.jsonl"]),
            "files": 1,
            "bytes": 24,
        },
    }
    # A folder's hash is the fingerprint of that folder alone.
    assert result.folders["locations"].sha256 == fingerprint(data / "locations").sha256
    assert f"no files under {data}/transcripts" in caplog.text


def test_exact_hashes_of_a_tiny_tree(tmp_path: Path) -> None:
    """Pinned values: a change to the record layout (and so to every cache key) must be deliberate."""
    (tmp_path / "locations").mkdir()
    (tmp_path / "locations" / "a.jsonl").write_bytes(b"x\n")
    result = fingerprint(tmp_path, ["locations"])
    record = (7).to_bytes(8, "big") + b"a.jsonl" + (2).to_bytes(8, "big") + b"x\n"
    assert result.folders["locations"].sha256 == hashlib.sha256(record).hexdigest()
    assert result.folders["locations"].sha256 == (
        "c47cd37ed101f8342e6bc242edea80d72b2b0024317b2b0f8fe29928fb2e1540"
    )


def test_changing_one_folder_changes_only_its_hash(data: Path) -> None:
    folders = ["subtitles", "transcripts", "locations"]
    before = fingerprint(data, folders)
    (data / "locations" / "locations.jsonl").write_bytes(b'{"name": "Starcourt Mall"}\n')
    after = fingerprint(data, folders)
    assert after.sha256 != before.sha256
    assert after.folders["locations"].sha256 != before.folders["locations"].sha256
    assert after.folders["subtitles"] == before.folders["subtitles"]
    assert after.folders["transcripts"] == before.folders["transcripts"]
    (data / "transcripts").mkdir()
    (data / "transcripts" / "S01E01.csv").write_bytes(b"speaker,text\n")
    added = fingerprint(data, folders)
    assert added.folders["transcripts"].sha256 != EMPTY_SHA256
    assert (added.folders["subtitles"], added.folders["locations"]) == (
        after.folders["subtitles"],
        after.folders["locations"],
    )


def test_files_outside_the_named_folders_count_only_in_the_whole_hash(data: Path) -> None:
    before = fingerprint(data, ["subtitles", "locations"])
    (data / "README.txt").write_bytes(b"notes")
    (data / "subtitles-old").mkdir()
    (data / "subtitles-old" / "S01E01.srt").write_bytes(b"old")
    after = fingerprint(data, ["subtitles", "locations"])
    assert after.sha256 != before.sha256 and after.files == 4
    assert after.folders == before.folders


def test_main_writes_fingerprint_json(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = main(parse_args(["--input_dir", str(data), "--output-dir", str(out)]))
    written = json.loads((out / "fingerprint.json").read_text())
    assert written == {
        "sha256": result.sha256,
        "files": 2,
        "bytes": 59,
        "folders": {
            "subtitles": {"sha256": result.folders["subtitles"].sha256, "files": 1, "bytes": 35},
            "transcripts": {"sha256": EMPTY_SHA256, "files": 0, "bytes": 0},
            "locations": {"sha256": result.folders["locations"].sha256, "files": 1, "bytes": 24},
        },
    }


def test_defaults_are_the_container_paths() -> None:
    args = parse_args([])
    assert args.input_dir == Path("/opt/ml/processing/input/data")
    assert args.output_dir == Path("/opt/ml/processing/output/fingerprint")
    assert args.folders == ["subtitles", "transcripts", "locations"]


def test_runs_as_a_script_from_anywhere(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "script-out"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--input-dir", str(data), "--output-dir", str(out)],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads((out / "fingerprint.json").read_text())["sha256"] == fingerprint(data).sha256
    assert "2 files, 59 bytes" in run.stdout


def test_a_folder_name_that_names_no_folder_is_refused() -> None:
    with pytest.raises(ValueError, match=r"--folders \['\.\.'\]: name top-level folders of the input"):
        parse_args(["--folders", "subtitles", ".."])
