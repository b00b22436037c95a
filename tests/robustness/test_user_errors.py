"""User mistakes in the input data: the scripts say which file and line in one line, never a traceback.

Each script runs as SageMaker runs it (a subprocess); its output must hold exactly one ERROR line that
names the file and line and says what to fix, no "Traceback", and the exit status 2. Plus: a job input is
named as the user gave it (the input's URI from processingjobconfig.json), not the job's download folder;
a refused model tarball leaves no half-extracted folder.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from containers.common.errors import InputDataError, MissingInputError
from containers.common.io import read_jsonl, resolve_model_dir
from containers.common.job_inputs import user_path
from containers.processing.fingerprint_data import fingerprint

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"


def script(name: str, *argv: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(REPO / "containers" / "processing" / f"{name}.py"), *map(str, argv)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single ERROR line of a run that failed on a user error."""
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if " ERROR " in line]
    assert len(errors) == 1, output
    return errors[0]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A copy of data/sample's transcripts and locations, for each test to spoil one file of."""
    folder = tmp_path / "data"
    for name in ("transcripts", "locations"):
        shutil.copytree(SAMPLE / name, folder / name)
    return folder


def prepare(data: Path, out: Path, which: str) -> subprocess.CompletedProcess[str]:
    return script(
        "prepare_datasets",
        "--transcripts-dir", data / "transcripts", "--locations-dir", data / "locations",
        "--output-dir", out, "--datasets", which,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("line", "found"), [("[1, 2]", "list"), ('"just text"', "str"), ("42", "int"), ("null", "NoneType")]
)
def test_a_json_line_that_is_not_an_object(data: Path, tmp_path: Path, line: str, found: str) -> None:
    path = data / "locations" / "locations.jsonl"
    rows = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([rows[0], line, *rows[1:]]) + "\n", encoding="utf-8")
    error = one_error_line(prepare(data, tmp_path / "out", "classifier"))
    assert f"{path}:2: expected a JSON object" in error and f"found {found}" in error


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("", "its *.jsonl files hold no rows"),
        (
            "".join(f'{{"name": "Lab {i}", "description": "A lab.", "label": "lab"}}\n' for i in range(5)),
            "only one label (lab)",
        ),
    ],
    ids=["empty-file", "one-label"],
)
def test_locations_a_classifier_cannot_learn_from(
    data: Path, tmp_path: Path, content: str, says: str
) -> None:
    """Refused while preparing the data, before any training (an empty file was an IndexError in training)."""
    (data / "locations" / "locations.jsonl").write_text(content, encoding="utf-8")
    error = one_error_line(prepare(data, tmp_path / "out", "classifier"))
    assert says in error and str(data / "locations") in error


def test_a_cp1252_transcript(data: Path, tmp_path: Path) -> None:
    path = data / "transcripts" / "S01E01.csv"
    path.write_bytes("name,line\nMike,Hi.\nDustin,It’s a “code red”.\n".encode("cp1252"))
    error = one_error_line(prepare(data, tmp_path / "out", "chatbot"))
    assert f"{path}:3: not UTF-8 (byte 0x92 at column 10)" in error and "cp1252" in error


def test_a_csv_field_over_the_csv_limit(data: Path, tmp_path: Path) -> None:
    path = data / "transcripts" / "S01E02.csv"
    path.write_text('name,line\nMike,Hi.\nDustin,"never closed\n' + "more words\n" * 20000, encoding="utf-8")
    error = one_error_line(prepare(data, tmp_path / "out", "chatbot"))
    assert f"{path}:" in error and "field larger than field limit" in error
    assert "a quote" in error  # says what usually causes it


def test_an_empty_transcripts_folder(data: Path, tmp_path: Path) -> None:
    for file in (data / "transcripts").iterdir():
        file.unlink()
    error = one_error_line(prepare(data, tmp_path / "out", "chatbot"))
    assert f"no transcript CSV files (name,line) in {data / 'transcripts'}" in error


def staged_job(tmp_path: Path, uri: str) -> Path:
    """A staging /opt/ml like the local runner's: its job config maps the data input to `uri`."""
    opt_ml = tmp_path / "steps" / "FingerprintData" / "opt_ml"
    inputs = {"code": "s3://b/code/", "data": uri}
    config = {
        "ProcessingInputs": [
            {"InputName": name, "S3Input": {"S3Uri": source, "LocalPath": f"/opt/ml/processing/input/{name}"}}
            for name, source in inputs.items()
        ]
    }
    (opt_ml / "config").mkdir(parents=True)
    (opt_ml / "config" / "processingjobconfig.json").write_text(json.dumps(config), encoding="utf-8")
    data = opt_ml / "processing" / "input" / "data"
    (data / "subtitles").mkdir(parents=True)
    return data


def test_an_empty_input_is_named_as_the_user_gave_it(tmp_path: Path) -> None:
    data = staged_job(tmp_path, "s3://my-bucket/raw/")
    error = one_error_line(script("fingerprint_data", "--input-dir", data, "--output-dir", tmp_path / "fp"))
    assert "the input data s3://my-bucket/raw/ holds no files" in error and "--data" in error
    assert "opt_ml" not in error  # not the job's download folder


def test_user_path_maps_files_below_an_input_and_leaves_other_paths(tmp_path: Path) -> None:
    data = staged_job(tmp_path, "/home/me/episodes/")
    assert user_path(data / "subtitles" / "S01E01.srt") == "/home/me/episodes/subtitles/S01E01.srt"
    assert user_path(data) == "/home/me/episodes/"
    outside = tmp_path / "elsewhere" / "x.csv"
    assert user_path(outside) == str(outside)


def test_a_non_utf8_file_name_is_fingerprinted(tmp_path: Path) -> None:
    (tmp_path / "subtitles").mkdir()
    name = os.fsdecode(b"S01E01\xff.srt")
    (tmp_path / "subtitles" / name).write_bytes(b"1\n")
    (tmp_path / "subtitles" / "S01E02.srt").write_bytes(b"2\n")
    result = fingerprint(tmp_path, ["subtitles"])
    assert result.files == 2 and result.folders["subtitles"].files == 2
    (tmp_path / "subtitles" / name).rename(tmp_path / "subtitles" / os.fsdecode(b"S01E01\xfe.srt"))
    assert fingerprint(tmp_path, ["subtitles"]).sha256 != result.sha256  # the name's bytes count


def test_read_jsonl_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cues.jsonl"
    path.write_bytes(b'{"a": 1}\n\n[1]\n')
    with pytest.raises(InputDataError, match=r"cues.jsonl:3: expected a JSON object, found list"):
        list(read_jsonl(path))
    path.write_bytes(b'{"a": 1}\n{"b": "caf\xe9"}\n')
    with pytest.raises(InputDataError, match=r"cues.jsonl:2: not UTF-8"):
        list(read_jsonl(path))
    path.write_bytes(b"[" * 100_000 + b"\n")
    with pytest.raises(InputDataError, match=r"cues.jsonl:1: JSON nested too deeply"):
        list(read_jsonl(path))
    assert issubclass(MissingInputError, FileNotFoundError)  # callers catching FileNotFoundError still do


def tarball(path: Path, members: list[tuple[str, bytes | str]]) -> Path:
    """A model.tar.gz of (name, content) files; a str content makes the member a symlink to it."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if isinstance(data, str):
                info.type, info.linkname = tarfile.SYMTYPE, data
                archive.addfile(info)
                continue
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(raw.getvalue()))
    return path


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([("config.json", b"{}"), ("../escape.txt", b"x")], "outside the destination"),
        ([("config.json", b"{}"), ("weights.bin", "/etc/passwd")], "absolute path"),
        ([("config.json", b"{}"), ("weights.bin", "../../outside")], "outside the destination"),
    ],
)
def test_a_refused_tarball_leaves_no_scratch_folder(tmp_path: Path, members: list, reason: str) -> None:
    model = tmp_path / "model"
    model.mkdir()
    tarball(model / "model.tar.gz", members)
    scratch = tmp_path / "scratch" / "model"
    with pytest.raises(
        InputDataError, match=f"model.tar.gz: model archive refused or unreadable: .*{reason}"
    ):
        resolve_model_dir(model, scratch)
    assert not scratch.exists() and not (tmp_path / "escape.txt").exists()


def test_a_truncated_tarball_leaves_no_scratch_folder(tmp_path: Path) -> None:
    whole = tarball(tmp_path / "whole.tar.gz", [("weights.bin", os.urandom(200_000))]).read_bytes()
    broken = tmp_path / "model.tar.gz"
    broken.write_bytes(whole[: len(whole) // 2])
    scratch = tmp_path / "scratch"
    with pytest.raises(InputDataError, match="model archive refused or unreadable"):
        resolve_model_dir(broken, scratch)
    assert not scratch.exists()
