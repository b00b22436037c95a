"""`python -m infra`: parameter files offline, a preview under moto, errors that say what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from infra.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")


def test_params_writes_one_file_per_configured_stack(tmp_path: Path) -> None:
    assert main(["params", "--env", "prod", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["execution.json", "operations.json", "storage.json"]
    storage = {
        p["ParameterKey"]: p["ParameterValue"] for p in json.loads((tmp_path / "storage.json").read_text())
    }
    assert storage["BucketName"] == "stranger-things-nlp-artifacts" and storage["Environment"] == "prod"


@pytest.mark.aws
def test_diff_shows_the_change_sets_and_creates_nothing(
    aws, conf_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", "--env", "dev", "--stack", "storage", "--conf-dir", str(conf_dir)]) == 0
    out = capsys.readouterr().out
    assert "stranger-things-nlp-dev-storage: 4 change(s)" in out
    assert "Add     Bucket                       AWS::S3::Bucket" in out
    assert "4 change(s) not executed" in out
    assert aws.client("cloudformation").describe_stacks()["Stacks"] == []


@pytest.mark.aws
def test_destroy_of_nothing_says_so(aws, conf_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["destroy", "--env", "dev", "--yes", "--conf-dir", str(conf_dir)]) == 0
    assert capsys.readouterr().out.strip() == "nothing deleted"


@pytest.mark.parametrize(
    "argv", [["deploy", "--yes"], ["diff"], ["outputs"], ["destroy", "--yes"]], ids=lambda a: a[0]
)
def test_aws_commands_refuse_the_placeholders_before_any_aws_call(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """conf/dev.yaml as shipped (base.yaml's placeholder account and bucket): exit 2, one line per key
    to set, and no boto3 session was ever made (conf/refusals.py, the check upsert uses)."""
    import boto3

    monkeypatch.setattr(boto3.session, "Session", lambda *a, **k: pytest.fail("AWS was called"))
    assert main([*argv, "--env", "dev"]) == 2
    err = capsys.readouterr().err
    assert "project.account_id: 123456789012 is the placeholder account: set project.account_id in " in err
    assert "project.bucket: 'stranger-things-nlp-artifacts' is the placeholder bucket" in err
    assert "set project.bucket in conf/dev.yaml" in err


@pytest.mark.aws
def test_deploy_with_only_the_bucket_left_says_that_one_key_in_one_line(
    aws, conf_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = yaml.safe_load((conf_dir / "dev.yaml").read_text())
    del overlay["project"]["bucket"], overlay["data"]
    (conf_dir / "dev.yaml").write_text(yaml.safe_dump(overlay))
    with (conf_dir / "dev.yaml").open("a") as handle:
        handle.write("data:\n  input_uri: s3://my-team-st-nlp/raw\n")
    assert main(["deploy", "--env", "dev", "--yes", "--conf-dir", str(conf_dir)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "base.yaml: project.bucket: " in line
    assert line.endswith("set project.bucket in conf/dev.yaml to your account's bucket")
    assert aws.client("cloudformation").describe_stacks()["Stacks"] == []


def test_an_unknown_stack_is_refused() -> None:
    with pytest.raises(SystemExit):
        main(["diff", "--env", "dev", "--stack", "network"])


def test_the_infra_cli_never_imports_the_sagemaker_sdk() -> None:
    """`python -m infra` runs where the SDK is not installed (the infra workflow's lint job, a laptop)."""
    import subprocess
    import sys

    code = (
        "import sys, infra.cli, infra.apply\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sagemaker'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
