"""Running a job plan: the interpreter, the log, the real /opt/ml guard, delivering outputs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipelines.local import processes
from pipelines.local.processes import python_command
from pipelines.local.storage import RunStorage


def test_python_entrypoints_use_this_interpreter() -> None:
    assert python_command(["python3", "/opt/ml/x.py"]) == [sys.executable, "/opt/ml/x.py"]
    assert python_command(["/usr/bin/python3.11", "x.py"]) == [sys.executable, "x.py"]
    assert python_command(["bash", "run.sh"]) == ["bash", "run.sh"]


def test_a_job_writing_to_the_real_opt_ml_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "opt" / "ml"  # stands for this machine's /opt/ml
    monkeypatch.setattr(processes, "OPT_ML", str(fake))
    plan = processes.JobPlan(
        step="S",
        command=[sys.executable, "-c", f"import os; os.makedirs({str(fake)!r})"],
        environment={},
        cwd=tmp_path,
        inputs=[],
        outputs=[],
    )
    outcome = processes.run_plan(plan, tmp_path / "S.log")

    assert outcome.returncode == 0
    assert outcome.message.startswith(f"warning: {fake} appeared on this machine while the job ran")
    assert (tmp_path / "S.log").read_text().startswith(f"$ {sys.executable} -c")


def test_deliver_replaces_earlier_uploads_and_packs_archives(tmp_path: Path) -> None:
    storage = RunStorage(tmp_path / "run", tmp_path)
    out, model, empty_checkpoint = tmp_path / "out", tmp_path / "model", tmp_path / "ck"
    for folder in (out, model, empty_checkpoint):
        folder.mkdir()
    (out / "result.json").write_text("{}")
    (model / "model.json").write_text("{}")
    stale = storage.local_path("s3://b/out/stale.json")
    stale.parent.mkdir(parents=True)
    stale.write_text("from an earlier attempt")
    plan = processes.JobPlan(
        step="S",
        command=[],
        environment={},
        cwd=tmp_path,
        inputs=[],
        outputs=[(out, "s3://b/out")],
        archives=[(model, "s3://b/model/output/model.tar.gz")],
        checkpoints=[(empty_checkpoint, "s3://b/ck")],
    )

    processes.save_checkpoints(plan, storage)
    processes.deliver(plan, storage)

    assert sorted(p.name for p in storage.local_path("s3://b/out").iterdir()) == ["result.json"]
    assert storage.local_path("s3://b/model/output/model.tar.gz").is_file()
    assert not storage.local_path("s3://b/ck").exists()  # an empty checkpoint folder is not uploaded
