"""`python -m infra`: parameter files offline, a preview under moto, errors that say what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
def test_diff_shows_the_change_sets_and_creates_nothing(aws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--env", "dev", "--stack", "storage"]) == 0
    out = capsys.readouterr().out
    assert "stranger-things-nlp-dev-storage: 4 change(s)" in out
    assert "Add     Bucket                       AWS::S3::Bucket" in out
    assert "4 change(s) not executed" in out
    assert aws.client("cloudformation").describe_stacks()["Stacks"] == []


@pytest.mark.aws
def test_destroy_of_nothing_says_so(aws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["destroy", "--env", "dev", "--yes"]) == 0
    assert capsys.readouterr().out.strip() == "nothing deleted"


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
