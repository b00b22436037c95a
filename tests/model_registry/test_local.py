"""The SQLite local registry: numbering, status changes, endpoints, and two writers at once."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from model_registry.local import LocalRegistry, package_arn

GROUP = "stranger-things-chatbot"


class TickingClock:
    """A clock that moves one minute per call, so timestamps are exact and ordered."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def reg(tmp_path: Path) -> LocalRegistry:
    return LocalRegistry(tmp_path / "registry.db", clock=TickingClock())


def test_register_numbers_versions_per_group_and_keeps_metrics(reg: LocalRegistry) -> None:
    first = reg.register(GROUP, model_data_url="/m/1.tar.gz", metrics={"bleu": 12.5, "chrf": 30})
    second = reg.register(GROUP, model_data_url="/m/2.tar.gz", metrics={"bleu": 14.0, "chrf": 31.5})
    other = reg.register("stranger-things-location-classifier", model_data_url="/c/1.tar.gz")

    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.arn == "arn:aws:sagemaker:local:000000000000:model-package/stranger-things-chatbot/1"
    assert second.arn == package_arn(GROUP, 2)
    assert first.status == "PendingManualApproval"
    assert reg.get(GROUP, 2).metrics == {"bleu": 14.0, "chrf": 31.5}
    assert reg.get(GROUP, 1).model_data_url == "/m/1.tar.gz"
    assert reg.list_groups() == ["stranger-things-chatbot", "stranger-things-location-classifier"]
    assert [v.version for v in reg.list_versions(GROUP)] == [1, 2]


def test_register_keeps_every_field(reg: LocalRegistry) -> None:
    v = reg.register(
        GROUP,
        model_data_url="/m/1.tar.gz",
        image_uri="123.dkr.ecr/img:1",
        metrics={"bleu": 1.0},
        evaluation_uri="/m/evaluation.json",
        approval_status="Approved",
        environment={"MAX_NEW_TOKENS": "64"},
        description="first run",
    )
    assert reg.get_by_arn(v.arn) == v
    assert (v.image_uri, v.evaluation_uri, v.environment, v.description) == (
        "123.dkr.ecr/img:1",
        "/m/evaluation.json",
        {"MAX_NEW_TOKENS": "64"},
        "first run",
    )
    assert v.created_at == "2026-01-01T00:01:00.000000+00:00"


def test_set_status_keeps_note_time_and_history(reg: LocalRegistry) -> None:
    reg.register(GROUP, model_data_url="/m/1.tar.gz")
    approved = reg.set_status(GROUP, 1, "Approved", note="looks good")
    assert (approved.status, approved.status_note) == ("Approved", "looks good")
    assert approved.status_updated_at == "2026-01-01T00:02:00.000000+00:00"
    reg.set_status(GROUP, 1, "Rejected", note="regressed on S4")
    assert reg.status_history(GROUP, 1) == [
        {"status": "PendingManualApproval", "note": "registered", "at": "2026-01-01T00:01:00.000000+00:00"},
        {"status": "Approved", "note": "looks good", "at": "2026-01-01T00:02:00.000000+00:00"},
        {"status": "Rejected", "note": "regressed on S4", "at": "2026-01-01T00:03:00.000000+00:00"},
    ]


def test_latest_approved_and_status_filter(reg: LocalRegistry) -> None:
    for n in range(3):
        reg.register(GROUP, model_data_url=f"/m/{n}.tar.gz")
    assert reg.latest_approved(GROUP) is None
    reg.set_status(GROUP, 1, "Approved")
    reg.set_status(GROUP, 2, "Approved")
    reg.set_status(GROUP, 3, "Rejected")
    latest = reg.latest_approved(GROUP)
    assert latest is not None and latest.version == 2
    assert [v.version for v in reg.list_versions(GROUP, status="Approved")] == [1, 2]


def test_bad_inputs_fail_with_a_message(reg: LocalRegistry) -> None:
    with pytest.raises(ValueError, match="approval status 'Maybe'"):
        reg.register(GROUP, model_data_url="/m", approval_status="Maybe")
    with pytest.raises(ValueError, match="model package group name 'bad_name'"):
        reg.register("bad_name", model_data_url="/m")
    with pytest.raises(ValueError, match="metric 'bleu' is nan"):
        reg.register(GROUP, model_data_url="/m", metrics={"bleu": float("nan")})
    with pytest.raises(ValueError, match="model_data_url is empty"):
        reg.register(GROUP, model_data_url="")
    with pytest.raises(KeyError, match="no version 7"):
        reg.get(GROUP, 7)
    with pytest.raises(KeyError, match="no model package group 'missing'"):
        reg.list_versions("missing")
    with pytest.raises(KeyError, match="no version 1"):
        reg.set_status(GROUP, 1, "Approved")
    # A failed write leaves nothing half-written.
    assert reg.list_groups() == []


def test_deploy_switches_an_endpoint_and_keeps_history(reg: LocalRegistry, tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    reg.register(GROUP, model_data_url="/m/1.tar.gz", approval_status="Approved")
    reg.register(GROUP, model_data_url="/m/2.tar.gz", approval_status="Approved")
    assert reg.endpoint("chat-local") is None

    first = reg.deploy("chat-local", GROUP, 1, tmp_path / "v1")
    second = reg.deploy("chat-local", GROUP, 2, tmp_path / "v2")

    assert (first.version, second.version) == (1, 2)
    assert second.model_package_arn == package_arn(GROUP, 2)
    assert second.model_dir == (tmp_path / "v2").resolve()
    assert second.created_at == first.created_at and second.updated_at > first.updated_at
    assert reg.list_endpoints() == [second]
    assert [d["version"] for d in reg.deployments("chat-local")] == [1, 2]


def test_deploy_refuses_unapproved_versions_and_missing_folders(reg: LocalRegistry, tmp_path: Path) -> None:
    reg.register(GROUP, model_data_url="/m/1.tar.gz")
    with pytest.raises(ValueError, match="is PendingManualApproval; approve it before deploying"):
        reg.deploy("chat-local", GROUP, 1, tmp_path)
    reg.set_status(GROUP, 1, "Approved")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        reg.deploy("chat-local", GROUP, 1, tmp_path / "missing")
    assert reg.list_endpoints() == []


def _register_many(db: str, group: str, count: int) -> None:
    reg = LocalRegistry(db)
    for n in range(count):
        reg.register(group, model_data_url=f"/m/{n}.tar.gz", metrics={"bleu": float(n)})


def test_two_processes_register_at_once_without_losing_or_duplicating(tmp_path: Path) -> None:
    db = str(tmp_path / "registry.db")
    LocalRegistry(db)
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_register_many, args=(db, GROUP, 15)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0]
    versions = [v.version for v in LocalRegistry(db).list_versions(GROUP)]
    assert versions == list(range(1, 31))
