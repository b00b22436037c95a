"""The CLI and its helpers: definition, validate, diagram, iam-policy, build-containers, local commands."""

from __future__ import annotations

import argparse
import http.server
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest
import yaml

from conf import load_config
from pipelines.__main__ import build_parser, main
from pipelines.containers import build_commands
from pipelines.diagram import END, START, update_readme
from pipelines.iam import execution_role_policy, pipeline_role_policy
from tests.pipelines.conftest import definition_text, steps_by_name

REPO = Path(__file__).resolve().parents[2]


def test_definition_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["definition", "--env", "local"]) == 0
    assert capsys.readouterr().out == definition_text("local")


def test_validate_reports_a_broken_definition_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = json.loads(definition_text("dev"))
    definition["Steps"][0]["Arguments"]["StoppingCondition"]["MaxRuntimeInSeconds"] = "soon"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(definition))
    assert main(["validate", "--definition", str(path)]) == 1
    err = capsys.readouterr().err
    assert "FingerprintData (CreateProcessingJob): Invalid type for parameter StoppingCondition" in err
    assert "1 shape problem(s)" in err


def test_validate_reports_a_broken_service_rule_with_its_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = json.loads(definition_text("dev"))
    deploy = steps_by_name(definition)["DeployClassifier"]  # a Lambda step: not in AWS's retryable list
    deploy["RetryPolicies"] = [{"ExceptionType": ["Step.THROTTLING"], "MaxAttempts": 2}]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(definition))
    assert main(["validate", "--definition", str(path)]) == 1
    err = capsys.readouterr().err
    assert "DeployClassifier: [retry-policy-step-type] a Lambda step cannot carry RetryPolicies" in err
    assert "source: https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-retry-policy.html" in err
    assert "0 shape problem(s), 1 service-rule violation(s)" in err


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_validate_passes_dev_and_prod(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--env", env]) == 0
    assert "0 shape problem(s), 0 service-rule violation(s)" in capsys.readouterr().err


def test_a_missing_file_is_one_clear_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--definition", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("error: [Errno 2] No such file or directory")


def test_diagram_writes_mermaid_and_refreshes_the_readme_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{START}\nold\n{END}\n\nafter\n")
    out = tmp_path / "pipeline.mmd"
    assert main(["diagram", "--env", "dev", "--out", str(out), "--readme", str(readme)]) == 0
    diagram = out.read_text()
    assert diagram.startswith("flowchart TD\n")
    assert "    ChatbotQualityGate -- pass --> FindChatbotVersion\n" in diagram
    assert "    FingerprintData --> CleanSubtitles\n" in diagram
    assert readme.read_text() == f"# x\n\n{START}\n```mermaid\n{diagram}```\n{END}\n\nafter\n"
    assert update_readme(readme, diagram) is False  # idempotent
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match=r"has no <!-- pipeline-diagram:start --> .* markers"):
        update_readme(readme, diagram)


def test_upsert_without_credentials_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, own_conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert main(["upsert", "--env", "dev", "--conf-dir", str(own_conf), "--yes"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: upsert: no usable AWS credentials were found: set AWS_PROFILE (after `aws sso login`) "
        "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    ]


def test_plan_without_credentials_plans_against_nothing_and_upsert_will_not_apply_unasked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, own_conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert main(["plan", "--env", "dev"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no AWS access (NoCredentialsError): planning against nothing\n")
    assert "+ new pipeline:" in out and "TrainChatbot" in out
    # Not a terminal (pytest's stdin) and no --yes: the plan, then a one-line refusal, nothing applied.
    assert main(["upsert", "--env", "dev", "--conf-dir", str(own_conf)]) == 2
    captured = capsys.readouterr()
    assert "Next execution with the current data:" in captured.out
    assert captured.err.strip().splitlines()[-1] == (
        "upsert: not applied: stdin is not a terminal to confirm on; rerun with YES=1"
    )


def _actions(policy: dict) -> list[str]:
    return [action for statement in policy["Statement"] for action in statement["Action"]]


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_iam_policy_lists_actions_and_scopes_resources(env: str) -> None:
    policy = execution_role_policy(load_config(env))
    assert policy["Version"] == "2012-10-17"
    assert all("*" not in action and ":" in action for action in _actions(policy))
    account_wide = {s["Sid"] for s in policy["Statement"] if "*" in s["Resource"]}
    assert account_wide == {"EcrLoginIsAccountWide", "JobMetricsOnlyInSageMakerNamespaces"}
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    # The drift monitoring job publishes its figures (constraint_violations, PSI) under its own namespace.
    namespaces = by_sid["JobMetricsOnlyInSageMakerNamespaces"]["Condition"]["StringLike"][
        "cloudwatch:namespace"
    ]
    assert namespaces == ["/aws/sagemaker/*", "aws/sagemaker/*", "StrangerThingsNlp/Monitoring"]
    assert by_sid["ProjectObjects"]["Resource"] == [
        "arn:aws:s3:::stranger-things-nlp-artifacts/stranger-things-nlp/*"
    ]
    # The job role has data access only: it cannot register or approve a model, pass a role, touch an
    # endpoint, or write under code/ (the bundles cached steps trust).
    assert not {a for a in _actions(policy) if a.startswith(("sagemaker:", "iam:"))}
    assert by_sid["CodeIsReadOnlyForJobs"] == {
        "Sid": "CodeIsReadOnlyForJobs",
        "Effect": "Deny",
        "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"],
        "Resource": ["arn:aws:s3:::stranger-things-nlp-artifacts/stranger-things-nlp/code/*"],
    }


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_pipeline_role_creates_jobs_registers_and_invokes_the_deployer(env: str) -> None:
    policy = pipeline_role_policy(load_config(env))
    assert all("*" not in action and ":" in action for action in _actions(policy))
    assert "sagemaker:UpdateModelPackage" not in _actions(policy)  # approval is a reviewer's
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["InvokeDeployHandler"]["Resource"] == [
        f"arn:aws:lambda:us-east-1:123456789012:function:stranger-things-nlp-{env}-deploy-handler"
    ]
    assert by_sid["PassJobRoleToSageMaker"]["Resource"] == [
        "arn:aws:iam::123456789012:role/StrangerThingsNlpSageMakerExecution"
    ]
    assert (
        "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/stranger-things-chatbot"
        in by_sid["RegisterVersions"]["Resource"]
    )


def test_iam_policy_adds_kms_vpc_and_an_outside_data_bucket() -> None:
    prod = {s["Sid"]: s for s in execution_role_policy(load_config("prod"))["Statement"]}
    assert prod["ProjectKmsKey"]["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/stranger-things-nlp"]}
    }
    cfg = load_config(
        "dev",
        overrides={
            "data": {"input_uri": "s3://shared-corpus/stranger-things"},
            "security": {"subnets": ["subnet-1"], "security_group_ids": ["sg-1"]},
            # A VPC holds the served models too, and a serverless endpoint cannot run in one.
            "classifier": {"serving": {"serverless": None}},
        },
    )
    dev = {s["Sid"]: s for s in execution_role_policy(cfg)["Statement"]}
    assert "arn:aws:s3:::shared-corpus/stranger-things/*" in dev["ProjectObjects"]["Resource"]
    assert dev["ListProjectPrefix0"]["Resource"] == ["arn:aws:s3:::shared-corpus"]
    assert "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1" in dev["JobNetworkInterfaces"]["Resource"]
    assert "ProjectKmsKey" not in dev


def test_cli_prints_the_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iam-policy", "--env", "dev"]) == 0
    assert json.loads(capsys.readouterr().out) == execution_role_policy(load_config("dev"))
    assert main(["iam-policy", "--env", "dev", "--role", "pipeline"]) == 0
    assert json.loads(capsys.readouterr().out) == pipeline_role_policy(load_config("dev"))


@pytest.fixture
def image_tree(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "containers" / "docker", tmp_path / "containers" / "docker")
    for role in ("processing", "training", "evaluation", "inference"):
        (tmp_path / "containers" / role).mkdir(parents=True)
        (tmp_path / "containers" / role / "requirements.txt").write_text(f"{role}-package==1\n")
    return tmp_path


def test_build_containers_commands(image_tree: Path) -> None:
    commands = build_commands(load_config("dev"), push=True, root=image_tree)
    dlc = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
    ours = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    login = "aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin "
    assert commands[:2] == [login + dlc, login + ours]
    assert commands[2].startswith(
        "aws ecr describe-repositories --region us-east-1 --repository-names stranger-things-nlp-inference"
    )
    builds = [c for c in commands if c.startswith("docker build")]
    pushes = [c for c in commands if c.startswith("docker push")]
    # processing (cpu), training (gpu: both trainings and the chatbot evaluation; cpu: classifier
    # evaluation), inference (gpu: chatbot; cpu: classifier)
    assert len(builds) == len(pushes) == 5
    assert builds[0].startswith(
        "docker build -f containers/docker/processing.Dockerfile "
        f"--build-arg BASE_IMAGE={dlc}/pytorch-training:2.6.0-cpu-py312 "
        f"-t {ours}/stranger-things-nlp-processing:cpu-"
    )
    assert builds[0].endswith(" containers")
    assert sorted(c.split(":")[-1].split("-")[0] for c in pushes) == ["cpu", "cpu", "cpu", "gpu", "gpu"]
    assert all(c.split()[-1] == b.split(" -t ")[1].split()[0] for c, b in zip(pushes, builds, strict=True))


def test_the_serverless_image_is_size_checked_before_its_push(image_tree: Path) -> None:
    """dev serves the classifier serverless: its (CPU inference) image is checked after the build and
    before the push; prod serves everything on instances: no check."""
    commands = build_commands(load_config("dev"), push=True, root=image_tree)
    [check] = [i for i, c in enumerate(commands) if c.startswith("size=$(docker image inspect")]
    uri = commands[check - 1].split(" -t ")[1].split()[0]
    assert "stranger-things-nlp-inference:cpu-" in uri and commands[check - 1].startswith("docker build")
    assert commands[check + 1] == f"docker push {uri}"
    prod = build_commands(load_config("prod"), push=True, root=image_tree)
    assert not any(c.startswith("size=$(") for c in prod)


@pytest.mark.parametrize(("size", "code"), [(10 * 1024**3, 0), (13_279_248_421, 1)])
def test_the_size_check_fails_over_ten_gib(tmp_path: Path, size: int, code: int) -> None:
    """The check line run by bash, with a stand-in `docker` that reports the image's size."""
    from pipelines.containers import image_size_check, run_commands

    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho {size}\n")
    fake.chmod(0o755)
    path = f"{fake.parent}:{os.environ['PATH']}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", path)
        assert run_commands([image_size_check("registry/repo:cpu-abc")], root=tmp_path) == code


def test_build_containers_tag_follows_the_recipe(image_tree: Path) -> None:
    before = build_commands(load_config("dev"), push=False, root=image_tree)
    assert not any("push" in c or "create-repository" in c for c in before)
    (image_tree / "containers" / "training" / "requirements.txt").write_text("training-package==2\n")
    after = build_commands(load_config("dev"), push=False, root=image_tree)
    changed = [a for a, b in zip(after, before, strict=True) if a != b]
    assert changed and all("stranger-things-nlp-training:" in c for c in changed)


def test_build_containers_names_the_missing_requirements(
    image_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (image_tree / "containers" / "processing" / "requirements.txt").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"cannot build the processing image: missing containers/processing/"
    ):
        build_commands(load_config("dev"), root=image_tree)


def test_local_runner_commands_are_registered_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("pipelines.local.cli")
    module.__spec__ = importlib.machinery.ModuleSpec("pipelines.local.cli", None)

    def add_commands(subparsers: argparse._SubParsersAction) -> None:
        subparsers.add_parser("run-local").set_defaults(func=lambda args: 7)

    module.add_commands = add_commands  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pipelines.local.cli", module)
    assert build_parser().parse_args(["run-local"]).func(None) == 7


# ---- commands that call AWS: refusals and errors as one line ---------------------------------------
OWN_PROJECT = {"account_id": "210987654321", "bucket": "my-team-st-nlp"}
OWN_INPUT = "s3://my-team-st-nlp/stranger-things-nlp/data/raw"


@pytest.fixture
def own_conf(tmp_path: Path) -> Path:
    """A conf folder whose dev overlay names a real-looking account and bucket (no placeholders)."""
    folder = tmp_path / "conf"
    shutil.copytree(REPO / "conf", folder)
    overlay = yaml.safe_load((folder / "dev.yaml").read_text())
    overlay["project"].update(OWN_PROJECT)
    overlay["data"] = {"input_uri": OWN_INPUT}
    (folder / "dev.yaml").write_text(yaml.safe_dump(overlay))
    return folder


def test_start_refuses_the_placeholder_account_before_calling_aws(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.aws

    monkeypatch.setattr(pipelines.aws, "start_pipeline", lambda *a, **k: pytest.fail("AWS was called"))
    assert main(["start", "--env", "dev"]) == 2
    err = capsys.readouterr().err
    assert "project.account_id: 123456789012 is the placeholder account" in err
    assert "set project.account_id in conf/dev.yaml" in err


def test_smoke_aws_refuses_the_placeholders_before_calling_aws(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.smoke

    monkeypatch.setattr(pipelines.smoke, "run_smoke", lambda *a, **k: pytest.fail("AWS was called"))
    assert main(["smoke-aws", "--env", "dev"]) == 2
    err = capsys.readouterr().err
    assert "project.account_id: 123456789012 is the placeholder account" in err
    assert "project.bucket: 'stranger-things-nlp-artifacts' is the placeholder bucket" in err


def test_smoke_aws_reads_the_conf_dir_it_is_given(own_conf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.smoke

    seen = []
    monkeypatch.setattr(pipelines.smoke, "run_smoke", lambda cfg, *a, **k: seen.append(cfg) or 0)
    assert main(["smoke-aws", "--env", "dev", "--conf-dir", str(own_conf)]) == 0
    assert [(cfg.project.account_id, cfg.project.bucket) for cfg in seen] == [
        ("210987654321", "my-team-st-nlp")
    ]


def test_start_refuses_an_override_the_definition_cannot_serve_in_one_line(
    own_conf: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.aws

    monkeypatch.setattr(pipelines.aws, "start_pipeline", lambda *a, **k: pytest.fail("AWS was called"))
    argv = [
        "start",
        "--env",
        "dev",
        "--conf-dir",
        str(own_conf),
        "--param",
        "ChatbotTrainingInstanceType=ml.m5.xlarge",
    ]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: refusing to start: TrainChatbot: [image-device] ")
    assert "ml.m5.xlarge is a CPU type but the step's image is built for GPU" in lines[0]


def test_start_with_no_region_and_no_credentials_prints_one_line(own_conf: Path, tmp_path: Path) -> None:
    """A fresh shell: no AWS_DEFAULT_REGION (the suite sets one: unset here), no credentials at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(tmp_path),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",  # no instance-metadata probe from the test machine
        HTTPS_PROXY="http://127.0.0.1:9",  # any HTTP attempt fails here instead of reaching out
        HTTP_PROXY="http://127.0.0.1:9",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "start", "--env", "dev", "--conf-dir", str(own_conf)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: start: no usable AWS credentials were found: set AWS_PROFILE (after `aws sso login`) "
        "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    ]


class RejectingAws(http.server.BaseHTTPRequestHandler):
    """Answers every AWS request as AWS answers unknown credentials (JSON protocol, HTTP 400)."""

    def do_POST(self) -> None:  # the http.server hook
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps(
            {
                "__type": "UnrecognizedClientException",
                "message": "The security token included in the request is invalid.",
            }
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_start_with_no_region_and_bad_credentials_prints_one_line(own_conf: Path, tmp_path: Path) -> None:
    """A fresh shell with keys AWS does not know: no AWS_DEFAULT_REGION (unset here), every request to a
    loopback endpoint that answers as AWS does (UnrecognizedClientException)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), RejectingAws)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(tmp_path),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_ACCESS_KEY_ID="AKIAEXAMPLEREVOKED00",
        AWS_SECRET_ACCESS_KEY="not-a-secret-this-key-was-never-issued",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{server.server_address[1]}",
        HTTPS_PROXY="http://127.0.0.1:9",  # anything not sent to the endpoint above fails here
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1",
    )
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pipelines", "start", "--env", "dev", "--conf-dir", str(own_conf)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        server.shutdown()
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: start: StartPipelineExecution: AWS rejected the credentials (UnrecognizedClientException): "
        "set AWS_PROFILE (after `aws sso login`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the right "
        "account"
    ]


@pytest.mark.aws
def test_start_of_a_pipeline_never_upserted_says_to_upsert(
    own_conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from moto import mock_aws

    with mock_aws():
        assert main(["start", "--env", "dev", "--conf-dir", str(own_conf)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: start: StartPipelineExecution: ")
    assert lines[0].endswith("run `make upsert-pipeline ENV=dev` first")


@pytest.mark.aws
def test_upsert_with_images_not_in_ecr_is_one_line_naming_the_fix(
    own_conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from moto import mock_aws

    with mock_aws():
        assert main(["upsert", "--env", "dev", "--conf-dir", str(own_conf), "--yes"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: refusing to upsert: not in ECR: 210987654321.dkr.ecr.us-east-1")
    assert lines[0].endswith("build and push them with `make build-containers ENV=dev`")


def test_throttling_is_one_line_with_the_fix(
    own_conf: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    import pipelines.aws

    def throttled(*args: object, **kwargs: object) -> str:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartPipelineExecution"
        )

    monkeypatch.setattr(pipelines.aws, "start_pipeline", throttled)
    assert main(["start", "--env", "dev", "--conf-dir", str(own_conf)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "error: start: StartPipelineExecution: AWS throttled the request (ThrottlingException): wait a "
        "minute and retry, or let boto3 retry longer (AWS_RETRY_MODE=adaptive AWS_MAX_ATTEMPTS=10)"
    ]
