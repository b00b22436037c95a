"""The deploy handler's rules, run against the local registry and local endpoints (no AWS)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from model_registry.deploy_logic import (
    EndpointTarget,
    HandlerSettings,
    NothingToRollBackTo,
    StatusChange,
    decide,
    handle,
    parse_event,
    state_change_event,
)
from model_registry.local import LocalRegistry
from model_registry.local_deploy import LocalDeployer, local_path, unpack_model
from model_registry.types import ModelVersion

CHATBOT = "stranger-things-chatbot"
ENDPOINT = "stranger-things-nlp-local-chatbot"
TARGET = EndpointTarget(group=CHATBOT, endpoint_name=ENDPOINT, instance_type="ml.m5.xlarge")
SETTINGS = HandlerSettings(targets={CHATBOT: TARGET})


def make_tarball(folder: Path, name: str, text: str) -> Path:
    """A model.tar.gz holding one file that says which version it is."""
    source = folder / f"{name}-src"
    source.mkdir(parents=True)
    (source / "version.txt").write_text(text)
    tarball = folder / f"{name}.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(source / "version.txt", arcname="version.txt")
    return tarball


@pytest.fixture
def setup(tmp_path: Path) -> tuple[LocalRegistry, LocalDeployer]:
    reg = LocalRegistry(tmp_path / "registry.db")
    for n in (1, 2):
        reg.register(CHATBOT, model_data_url=str(make_tarball(tmp_path, f"m{n}", f"version {n}")))
    return reg, LocalDeployer(reg, base_dir=tmp_path)


def review(reg: LocalRegistry, deployer: LocalDeployer, version: int, status: str) -> str:
    changed = reg.set_status(CHATBOT, version, status)
    return handle(state_change_event(changed), SETTINGS, reg, deployer).action


def served_text(reg: LocalRegistry) -> str:
    endpoint = reg.endpoint(ENDPOINT)
    assert endpoint is not None and endpoint.model_dir is not None
    return (endpoint.model_dir / "version.txt").read_text()


def test_approve_deploys_and_the_endpoint_answers_with_that_version(setup) -> None:
    reg, deployer = setup
    assert review(reg, deployer, 1, "Approved") == "deploy"
    assert served_text(reg) == "version 1"
    assert review(reg, deployer, 2, "Approved") == "deploy"
    assert served_text(reg) == "version 2"


def test_duplicate_event_and_other_groups_change_nothing(setup, tmp_path: Path) -> None:
    reg, deployer = setup
    event = state_change_event(reg.set_status(CHATBOT, 1, "Approved"))
    assert handle(event, SETTINGS, reg, deployer).action == "deploy"
    assert handle(event, SETTINGS, reg, deployer).action == "noop"
    assert len(reg.deployments(ENDPOINT)) == 1

    other = reg.register(
        "someone-elses-model", model_data_url=str(tmp_path / "m1.tar.gz"), approval_status="Approved"
    )
    assert handle(state_change_event(other), SETTINGS, reg, deployer).action == "ignore"
    assert [e.name for e in reg.list_endpoints()] == [ENDPOINT]


def test_rejecting_the_live_version_rolls_back_and_the_last_one_raises(setup) -> None:
    reg, deployer = setup
    review(reg, deployer, 1, "Approved")
    review(reg, deployer, 2, "Approved")
    assert review(reg, deployer, 2, "Rejected") == "rollback"
    assert served_text(reg) == "version 1"
    with pytest.raises(NothingToRollBackTo, match="no other version is approved"):
        review(reg, deployer, 1, "Rejected")
    assert served_text(reg) == "version 1"


def test_approving_an_older_version_keeps_the_latest_live(setup) -> None:
    reg, deployer = setup
    review(reg, deployer, 2, "Approved")
    assert review(reg, deployer, 1, "Approved") == "noop"
    assert served_text(reg) == "version 2"
    # Rejecting a version that is not live changes nothing either.
    assert review(reg, deployer, 1, "Rejected") == "noop"
    assert served_text(reg) == "version 2"


def _version(n: int, status: str) -> ModelVersion:
    return ModelVersion(CHATBOT, n, f"arn:pkg/{n}", status, model_data_url="x")


def test_decide_rules_on_hand_written_cases() -> None:
    approved = [_version(1, "Approved"), _version(3, "Approved")]
    change = StatusChange(CHATBOT, 3, "arn:pkg/3", "Approved")
    assert decide(change, _version(3, "Approved"), approved, None, TARGET).action == "deploy"
    assert decide(change, _version(3, "Approved"), approved, "arn:pkg/3", TARGET).action == "noop"
    assert decide(change, _version(3, "Rejected"), approved, None, TARGET).reason == (
        "stale event: version 3 is now Rejected, not Approved"
    )
    rejected = StatusChange(CHATBOT, 4, "arn:pkg/4", "Rejected")
    rollback = decide(rejected, _version(4, "Rejected"), approved, "arn:pkg/4", TARGET)
    assert (rollback.action, rollback.version, rollback.model_package_arn) == ("rollback", 3, "arn:pkg/3")
    older = StatusChange(CHATBOT, 1, "arn:pkg/1", "Approved")
    assert decide(older, _version(1, "Approved"), approved, "arn:pkg/3", TARGET).reason == (
        "version 3 is a newer approved version; the endpoint stays on the latest"
    )


def test_parse_event_rejects_malformed_events() -> None:
    with pytest.raises(ValueError, match="detail-type is 'Object Created'"):
        parse_event({"detail-type": "Object Created", "detail": {}})
    with pytest.raises(ValueError, match=r"lacks detail\.ModelPackageVersion, detail\.ModelApprovalStatus"):
        parse_event(
            {
                "detail-type": "SageMaker Model Package State Change",
                "detail": {"ModelPackageGroupName": "g", "ModelPackageArn": "a"},
            }
        )


def test_settings_round_trip_through_json() -> None:
    assert HandlerSettings.from_json(SETTINGS.to_json()) == SETTINGS


def test_unpack_model_is_atomic_and_skips_unchanged_tarballs(tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path, "m", "version 1")
    dest = unpack_model(tarball, tmp_path / "out" / "v1")
    assert (dest / "version.txt").read_text() == "version 1"
    (dest / "marker").write_text("kept")  # survives only if the second call does not re-extract
    assert unpack_model(tarball, dest) == dest and (dest / "marker").is_file()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["v1"]  # no scratch folder left behind
    folder = tmp_path / "m-src"
    assert unpack_model(folder, tmp_path / "unused") == folder
    with pytest.raises(FileNotFoundError, match="does not exist"):
        unpack_model(tmp_path / "gone.tar.gz", tmp_path / "x")


def test_local_path_accepts_paths_and_file_uris_only(tmp_path: Path) -> None:
    assert local_path("runs/a/model.tar.gz", tmp_path) == tmp_path / "runs/a/model.tar.gz"
    assert local_path("file:///abs/model.tar.gz", tmp_path) == Path("/abs/model.tar.gz")
    with pytest.raises(ValueError, match="is not local"):
        local_path("s3://bucket/model.tar.gz", tmp_path)


@pytest.mark.parametrize("member", ["../escape.txt", "link-out"])
def test_unpack_model_refuses_a_hostile_tarball_and_leaves_no_scratch_folder(
    tmp_path: Path, member: str
) -> None:
    import io

    tarball = tmp_path / "model.tar.gz"
    payload = b"not a model"
    with tarfile.open(tarball, "w:gz") as archive:
        good = tarfile.TarInfo("config.json")
        good.size = len(payload)
        archive.addfile(good, io.BytesIO(payload))
        info = tarfile.TarInfo(member)
        if member == "link-out":  # a link that leaves the model folder: the data filter refuses it
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(info)
        else:
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    deployed = tmp_path / "deployed"
    deployed.mkdir()
    with pytest.raises(ValueError, match="cannot unpack model artifact"):
        unpack_model(tarball, deployed / "v1")
    assert list(deployed.iterdir()) == []


def test_unpack_model_refuses_a_truncated_tarball_and_leaves_no_scratch_folder(tmp_path: Path) -> None:
    good = make_tarball(tmp_path, "good", "v1 " + "weights " * 20_000)
    truncated = tmp_path / "model.tar.gz"
    truncated.write_bytes(good.read_bytes()[:200])
    deployed = tmp_path / "deployed"
    deployed.mkdir()
    with pytest.raises(ValueError, match="cannot unpack model artifact"):
        unpack_model(truncated, deployed / "v1")
    assert list(deployed.iterdir()) == []
