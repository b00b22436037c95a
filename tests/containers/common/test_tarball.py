"""Reproducible tarballs: the same files give the same bytes, whatever their timestamps or owners."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

from containers.common.tarball import folder_members, pack_folder, tarball_bytes


def _folder(root: Path, names: list[str]) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"contents of {name}\n")
    return root


def test_same_files_give_the_same_bytes_whatever_their_mtime_and_creation_order(tmp_path: Path) -> None:
    one = _folder(tmp_path / "one", ["model.json", "code/inference.py", "code-notes.txt"])
    two = _folder(tmp_path / "two", ["code-notes.txt", "code/inference.py", "model.json"])
    os.utime(two / "model.json", (1_000_000, 1_000_000))

    assert tarball_bytes(folder_members(one)) == tarball_bytes(folder_members(two))


def test_members_are_sorted_by_name_with_fixed_metadata(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "model", ["model.json", "code/inference.py", "code-notes.txt"])

    target = pack_folder(folder, tmp_path / "out" / "model.tar.gz")

    raw = target.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # the gzip header's mtime
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as archive:
        members = archive.getmembers()
        # Sorted as strings ('-' before '/'), the order the code bundle's tarball has always used.
        assert [m.name for m in members] == ["code-notes.txt", "code/inference.py", "model.json"]
        assert {(m.mtime, m.mode, m.uid, m.gid, m.uname, m.gname) for m in members} == {
            (0, 0o644, 0, 0, "", "")
        }
        assert archive.extractfile("code/inference.py").read() == b"contents of code/inference.py\n"


def test_content_change_changes_the_bytes(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "model", ["model.json"])
    before = tarball_bytes(folder_members(folder))
    (folder / "model.json").write_text("retrained\n")

    assert tarball_bytes(folder_members(folder)) != before


def test_a_missing_folder_packs_as_an_empty_archive(tmp_path: Path) -> None:
    target = pack_folder(tmp_path / "nothing", tmp_path / "output.tar.gz")

    with tarfile.open(target) as archive:
        assert archive.getnames() == []
