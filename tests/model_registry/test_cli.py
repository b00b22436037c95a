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


# ---- model cards and approving a worse version ------------------------------------------------------


def _card_text(bleu: float, chrf: float) -> str:
    figures = [
        {"name": "bleu", "type": "number", "value": bleu},
        {"name": "chrf", "type": "number", "value": chrf},
    ]
    return json.dumps(
        {
            "intended_uses": {"intended_uses": "demo chat"},
            "evaluation_details": [
                {
                    "name": "chatbot test split",
                    "metric_groups": [{"name": "test split", "metric_data": figures}],
                }
            ],
            "additional_information": {"caveats_and_recommendations": "knows only the transcripts"},
        }
    )


def test_card_prints_the_stored_card(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reg = LocalRegistry(db)
    path = reg.set_card(CHATBOT, 2, _card_text(6.5, 22.0))
    assert path.is_file() and "bleu                   6.5" in path.read_text(encoding="utf-8")

    assert run(db, "card", "chatbot", "2") == 0
    out = capsys.readouterr().out
    assert out.startswith("# Model card: stranger-things-chatbot v2")
    assert "demo chat" in out and "bleu                   6.5" in out and "knows only the transcripts" in out
    assert run(db, "--json", "card", "chatbot", "2") == 0
    assert json.loads(capsys.readouterr().out) == json.loads(_card_text(6.5, 22.0))

    assert run(db, "card", "chatbot", "1") == 1  # registered without one: says so
    assert "registered without a model card" in capsys.readouterr().out


def test_approving_below_the_live_version_needs_force(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "approve", "chatbot", "2") == 0  # v2 (bleu 6.5, chrf 22) goes live
    capsys.readouterr()

    # v1 scores below on both metrics: refused without a terminal to ask on, naming each difference.
    assert run(db, "approve", "chatbot", "1") == 1
    out = capsys.readouterr().out
    assert "scores below the live v2" in out
    assert "chrf 21 vs 22 (-1)" in out  # a figure of the chatbot's gate
    assert "bleu" not in out  # not a gate figure: BLEU is 0 for one-word replies
    assert LocalRegistry(db).get(CHATBOT, 1).status == "PendingManualApproval"
    assert LocalRegistry(db).endpoint(ENDPOINT).version == 2  # type: ignore[union-attr]

    assert run(db, "approve", "chatbot", "1", "--force", "--note", "rollback drill") == 0
    assert LocalRegistry(db).get(CHATBOT, 1).status == "Approved"


def test_a_confirmation_on_the_terminal_approves(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import model_registry.cli as cli_module

    assert run(db, "approve", "chatbot", "2") == 0
    asked: list[str] = []
    monkeypatch.setattr(cli_module, "confirm", lambda question: asked.append(question) or True)
    assert run(db, "approve", "chatbot", "1") == 0
    assert len(asked) == 1 and "chrf 21 vs 22 (-1)" in asked[0]
    assert LocalRegistry(db).get(CHATBOT, 1).status == "Approved"
