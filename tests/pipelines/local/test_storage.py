"""URIs and container paths mapped into the run folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.local.storage import RunStorage, StorageError


def test_storage_maps_uris_and_container_paths(tmp_path: Path) -> None:
    storage = RunStorage(tmp_path / "run", tmp_path / "repo")
    assert (
        storage.local_path("s3://bucket/a/b.json")
        == (tmp_path / "run" / "s3" / "bucket" / "a" / "b.json").resolve()
    )
    assert storage.local_path("data/sample") == tmp_path / "repo" / "data" / "sample"
    assert storage.local_path("/abs/data") == Path("/abs/data")
    root = tmp_path / "run" / "steps" / "S" / "opt_ml"
    assert storage.container_path("S", "/opt/ml/processing/input/x") == root / "processing" / "input" / "x"
    assert storage.map_text("S", "--out=/opt/ml/model") == f"--out={root}/model"
    assert storage.map_text("S", "/opt/mlx/keep") == "/opt/mlx/keep"
    with pytest.raises(StorageError, match="escapes the run's S3 folder"):
        storage.local_path("s3://bucket/../../etc")
    with pytest.raises(StorageError, match="only s3://, file:// and local paths"):
        storage.local_path("https://example.com/x")
    with pytest.raises(StorageError, match="is not under /opt/ml"):
        storage.container_path("S", "/tmp/x")
