"""The files a run leaves for people: `latest`, pruning old runs (make clean-runs), the summary's links."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from model_registry.local import LocalRegistry
from pipelines.local.outputs import main, output_files, point_latest, prune_runs
from pipelines.local.run_lock import RunLock

RUNS = ["20261130-010000-aaaa", "20261130-020000-bbbb", "20261130-030000-cccc", "20261130-040000-dddd"]


def make_home(tmp_path: Path) -> Path:
    home = tmp_path / ".local"
    for run in RUNS:
        outputs = home / "runs" / run / "s3" / "bucket" / "p" / "runs" / run
        (outputs / "ExtractEntities" / "entities").mkdir(parents=True)
        (outputs / "ExtractEntities" / "entities" / "network.html").write_text("<html></html>")
        (outputs / "TrainChatbot" / "model").mkdir(parents=True)
        (outputs / "TrainChatbot" / "model" / "model.tar.gz").write_bytes(b"model")
    (home / "deployed" / "g" / "v1").mkdir(parents=True)
    (home / "cache" / "k").mkdir(parents=True)
    return home


def test_latest_points_at_the_last_run_and_is_swapped_in_one_rename(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    first, second = (home / "runs" / run for run in RUNS[:2])
    latest = point_latest(home, first)
    assert latest.is_symlink() and latest.resolve() == first.resolve()
    assert not Path(latest.readlink()).is_absolute()  # relative: the home can move
    point_latest(home, second)
    assert latest.resolve() == second.resolve()
    assert sorted(p.name for p in home.iterdir() if p.name.startswith(".latest")) == []  # no leftovers

    latest.unlink()
    latest.mkdir()
    with pytest.raises(FileExistsError, match="is not a link"):
        point_latest(home, second)


def test_prune_keeps_the_last_runs_the_registry_and_runs_holding_approved_models(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    registry = LocalRegistry(home / "registry.db")
    model = home / "runs" / RUNS[0] / "s3" / "bucket" / "p" / "runs" / RUNS[0] / "TrainChatbot" / "model"
    registry.register("g", model_data_url=str(model / "model.tar.gz"), approval_status="Approved")
    registry.register("g", model_data_url=str(home / "runs" / RUNS[1] / "x.tar.gz"))  # pending: not kept
    point_latest(home, home / "runs" / RUNS[-1])
    (home / "runs" / "20261130-000000-0000").mkdir()  # the oldest, still in use by a run
    in_use = RunLock.acquire(home / "runs" / "20261130-000000-0000")

    result = prune_runs(home, keep=2)
    in_use.release()
    assert [p.name for p in result.kept_in_use] == ["20261130-000000-0000"]
    shutil.rmtree(home / "runs" / "20261130-000000-0000")
    assert [p.name for p in result.removed] == [RUNS[1]]
    assert [p.name for p in result.kept_for_registry] == [RUNS[0]]
    assert sorted(p.name for p in (home / "runs").iterdir()) == [RUNS[0], RUNS[2], RUNS[3]]
    for kept in ("registry.db", "deployed/g/v1", "cache/k"):
        assert (home / kept).exists(), kept
    assert registry.get("g", 1).status == "Approved"
    assert (home / "latest").resolve() == (home / "runs" / RUNS[-1]).resolve()
    assert "1 run folders removed, 4 kept" in result.text()

    with pytest.raises(SystemExit, match="keep at least the last run"):
        main(["prune", "--keep", "0", "--home", str(home)])


def test_output_files_lists_each_file_once_with_its_step(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    run = home / "runs" / RUNS[0]
    job = run / "steps" / "ExtractEntities" / "opt_ml" / "processing" / "output" / "entities"
    job.mkdir(parents=True)
    (job / "network.html").write_text("<html></html>")  # the job's copy of the same output
    found = output_files(run)
    assert [(step, path.name) for step, path in found] == [("ExtractEntities", "network.html")]
    assert found[0][1].is_absolute() and "/s3/" in str(found[0][1])
