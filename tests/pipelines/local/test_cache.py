"""The step cache: expiry, and the destinations a cache key leaves out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.local.cache import StepCache, duration_seconds, without_destinations


def test_cache_expiry_follows_expire_after(tmp_path: Path) -> None:
    assert (duration_seconds("P30D"), duration_seconds("PT1H30M"), duration_seconds("P1W")) == (
        2592000,
        5400,
        604800,
    )
    with pytest.raises(ValueError, match="'30 days' is not an ISO 8601 duration"):
        duration_seconds("30 days")
    cache = StepCache(tmp_path / "cache")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.txt").write_text("x")
    cache.store("ab" * 32, {"step": "S"}, {"output:o": tmp_path / "out"})
    assert cache.lookup("ab" * 32, "P1D") is not None
    entry_file = tmp_path / "cache" / "ab" / ("ab" * 32) / "entry.json"
    entry = json.loads(entry_file.read_text())
    entry_file.write_text(json.dumps({**entry, "created": entry["created"] - 2 * 86400}))
    assert cache.lookup("ab" * 32, "P1D") is None
    assert cache.lookup("ab" * 32, "P3D") is not None


def test_destination_paths_are_masked_in_a_copy() -> None:
    args = {
        "Outputs": [{"S3Output": {"S3Uri": "s3://b/one"}}, {"S3Output": {"S3Uri": "s3://b/two"}}],
        "Out": {"Path": "s3://b/model"},
        "In": "s3://b/data",
    }

    stripped = without_destinations(args, ["Outputs[*].S3Output.S3Uri", "Out.Path", "Checkpoint.S3Uri"])

    assert stripped == {
        "Outputs": [{"S3Output": {"S3Uri": "<destination>"}}, {"S3Output": {"S3Uri": "<destination>"}}],
        "Out": {"Path": "<destination>"},
        "In": "s3://b/data",  # not a destination: an input, whose content the key covers
    }
    assert args["Out"] == {"Path": "s3://b/model"}  # the step's own arguments are left as they were
