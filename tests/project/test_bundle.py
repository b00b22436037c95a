"""The code bundle: which files, a content hash that moves with the code only, a reproducible tarball."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from project import bundle


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    files = {
        "containers/__init__.py": "",
        "containers/processing/clean.py": "print('clean')\n",
        "containers/processing/requirements.txt": "pysubs2\n",
        "containers/processing/__pycache__/clean.cpython-311.pyc": "junk",
        "containers/docker/processing.Dockerfile": "FROM x\n",
        "containers/.DS_Store": "junk",
        "conf/characters.yaml": "cast: []\n",
        "conf/themes.yaml": "themes: []\n",
        "conf/base.yaml": "not in the bundle\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_bundle_files_are_code_and_the_two_conf_files(tree: Path) -> None:
    assert bundle.bundle_files(tree) == [
        "conf/characters.yaml",
        "conf/themes.yaml",
        "containers/__init__.py",
        "containers/processing/clean.py",
        "containers/processing/requirements.txt",
    ]


def test_hash_changes_with_content_or_name_but_not_with_caches(tree: Path) -> None:
    before = bundle.bundle_hash(tree)
    assert len(before) == 12 and int(before, 16) >= 0
    (tree / "containers/processing/__pycache__/other.pyc").write_text("more junk")
    (tree / "containers/docker/training.Dockerfile").write_text("FROM y\n")
    assert bundle.bundle_hash(tree) == before
    (tree / "containers/processing/clean.py").write_text("print('cleaner')\n")
    changed = bundle.bundle_hash(tree)
    assert changed != before
    (tree / "containers/processing/clean.py").rename(tree / "containers/processing/clean2.py")
    assert bundle.bundle_hash(tree) not in {before, changed}


def test_missing_conf_file_is_a_clear_error(tree: Path) -> None:
    (tree / "conf/themes.yaml").unlink()
    with pytest.raises(FileNotFoundError, match=r"themes.yaml is missing: the jobs read it"):
        bundle.bundle_files(tree)


def test_uris_and_parsing() -> None:
    assert bundle.code_prefix("bkt", "/proj/", "0123456789ab") == "s3://bkt/proj/code/0123456789ab/"
    assert (
        bundle.sourcedir_uri("bkt", "proj", "0123456789ab")
        == "s3://bkt/proj/code/0123456789ab/sourcedir.tar.gz"
    )
    assert bundle.parse_code_uri("s3://bkt/proj/code/0123456789ab/containers/x.py") == (
        "0123456789ab",
        "containers/x.py",
    )
    assert bundle.parse_code_uri("s3://bkt/proj/code/0123456789ab/") == ("0123456789ab", "")
    with pytest.raises(ValueError, match="not a code bundle URI"):
        bundle.parse_code_uri("s3://bkt/proj/data/x")
    with pytest.raises(ValueError, match="not a 12-digit bundle hash"):
        bundle.parse_code_uri("s3://bkt/proj/code/latest/x.py")


def test_tarball_is_reproducible_and_holds_the_bundle(tree: Path) -> None:
    first = bundle.sourcedir_tarball(tree)
    (tree / "containers/processing/clean.py").touch()  # a new mtime must not change the bytes
    assert bundle.sourcedir_tarball(tree) == first
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(first))) as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == bundle.bundle_files(tree)
        assert {(m.mtime, m.uid, m.gid, m.mode) for m in members} == {(0, 0, 0, 0o644)}
        assert archive.extractfile("containers/processing/clean.py").read() == b"print('clean')\n"


@pytest.mark.aws
def test_upload_is_content_addressed_and_idempotent(tree: Path) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bkt")
        prefix = bundle.upload_bundle(s3, "bkt", "proj", tree)
        assert prefix == f"s3://bkt/proj/code/{bundle.bundle_hash(tree)}/"
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="bkt")["Contents"])
        base = prefix.removeprefix("s3://bkt/")
        assert keys == sorted(
            [base + name for name in bundle.bundle_files(tree)] + [base + "sourcedir.tar.gz"]
        )
        s3.delete_object(Bucket="bkt", Key=base + "containers/__init__.py")
        assert bundle.upload_bundle(s3, "bkt", "proj", tree) == prefix  # tarball present: nothing re-sent
        assert len(s3.list_objects_v2(Bucket="bkt")["Contents"]) == len(keys) - 1


def test_step_bundles_are_reused_until_a_bundle_file_changes(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner asks for the step bundles once per code input of every step: parsed once, yet an edit
    (or a new script) made between two calls is in the next answer."""
    script = "containers/processing/clean.py"
    (tree / script).write_text('import containers\n\nif __name__ == "__main__":\n    print("clean")\n')
    parsed: list[str] = []
    real = bundle.step_files
    monkeypatch.setattr(bundle, "step_files", lambda s, *a: parsed.append(s) or real(s, *a))

    first = bundle.step_bundles(tree)
    assert bundle.step_bundles(tree) == first and parsed == [script]  # the second call parsed nothing

    (tree / script).write_text('import containers\n\nif __name__ == "__main__":\n    print("cleaner")\n')
    edited = bundle.step_bundles(tree)
    assert parsed == [script, script] and set(edited) != set(first)  # the edit moved the hashes
    (tree / "containers/processing/other.py").write_text('if __name__ == "__main__":\n    pass\n')
    assert len(bundle.step_bundles(tree)) == len(edited) + 1  # the new script has its own bundle
