"""`python -m model_registry` with the local backend: list, approve (deploys), compare, reject."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from model_registry.cli import build_parser, main
from model_registry.local import LocalRegistry
from tests.model_registry.test_local_deploy import make_tarball

CHATBOT = "stranger-things-chatbot"
ENDPOINT = "stranger-things-nlp-local-chatbot"
CONF = Path(__file__).resolve().parents[2] / "conf"


def run(db: Path, *argv: str) -> int:
    return main(build_parser().parse_args(["--db", str(db), *argv]))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "registry.db"
    reg = LocalRegistry(path)
    for n, bleu in ((1, 4.25), (2, 6.5)):
        tarball = make_tarball(tmp_path, f"m{n}", f"version {n}")
        reg.register(CHATBOT, model_data_url=str(tarball), metrics={"bleu": bleu, "chrf": 20.0 + n})
    return path


def test_list_approve_compare_reject(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "list") == 0
    listing = capsys.readouterr().out
    assert "v1   PendingManualApproval  bleu=4.25 chrf=21" in listing and "LIVE" not in listing

    assert run(db, "approve", "chatbot", "2", "--note", "better on S4") == 0
    assert capsys.readouterr().out == "stranger-things-chatbot v2 -> Approved\ndeploy: version 2 approved\n"
    endpoint = LocalRegistry(db).endpoint(ENDPOINT)
    assert endpoint is not None and (endpoint.model_dir / "version.txt").read_text() == "version 2"

    assert run(db, "--json", "list", CHATBOT) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["status"], v["status_note"]) for v in data[CHATBOT]] == [
        (1, "PendingManualApproval", ""),
        (2, "Approved", "better on S4"),
    ]
    assert run(db, "list") == 0
    assert f"LIVE on {ENDPOINT}  note: better on S4" in capsys.readouterr().out

    assert run(db, "compare", "chatbot", "1", "2") == 0
    assert capsys.readouterr().out.splitlines() == [
        "metric                   v1           v2       change",
        "bleu                 4.2500       6.5000      +2.2500",
        "chrf                21.0000      22.0000      +1.0000",
    ]

    assert run(db, "reject", "chatbot", "2") == 1  # live, and nothing else approved: says so, exits 1
    assert "no other version is approved" in capsys.readouterr().out
    assert run(db, "latest", "chatbot") == 1


def test_errors_name_what_is_wrong(db: Path) -> None:
    with pytest.raises(SystemExit, match="no version 9 in model package group 'stranger-things-chatbot'"):
        run(db, "show", "chatbot", "9")
    with pytest.raises(SystemExit, match="list-schedules talks to AWS: pass --backend sagemaker"):
        run(db, "list-schedules")
    with pytest.raises(SystemExit):  # created by the operations stack now (make deploy-infra)
        run(db, "--backend", "sagemaker", "deploy-approval-handler")


@pytest.fixture
def own_conf(tmp_path: Path) -> Path:
    """conf/ with an account and bucket of one's own in dev.yaml (AWS commands refuse the placeholders)."""
    folder = tmp_path / "conf"
    shutil.copytree(CONF, folder)
    overlay = yaml.safe_load((folder / "dev.yaml").read_text())
    overlay["project"].update({"account_id": "210987654321", "bucket": "my-team-st-nlp"})
    overlay["data"] = {"input_uri": "s3://my-team-st-nlp/stranger-things-nlp/data/raw"}
    (folder / "dev.yaml").write_text(yaml.safe_dump(overlay))
    return folder


def test_aws_commands_refuse_the_placeholder_account(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"project\.account_id: 123456789012 is the placeholder account"):
        run(tmp_path / "unused.db", "--backend", "sagemaker", "--env", "dev", "list-schedules")


@pytest.mark.aws
def test_list_schedules_prints_json(
    aws, tmp_path: Path, own_conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(db: Path, *argv: str) -> int:
        return main(build_parser().parse_args(["--db", str(db), "--conf-dir", str(own_conf), *argv]))

    assert run(tmp_path / "unused.db", "--backend", "sagemaker", "--env", "dev", "list-schedules") == 0
    assert json.loads(capsys.readouterr().out) == {"schedules": []}
