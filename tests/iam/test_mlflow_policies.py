"""IAM for experiment tracking: the job role may make exactly the MLflow calls a job makes.

A training and an evaluation job's output folder is logged the way a job with MLFLOW_TRACKING_URI logs
it (containers/common/tracking.py, log_outputs), through MLflow's REST client, against MLflow's server
app (tests/iam/mlflow_recorder.py). Each REST call is a sagemaker-mlflow action on the tracking server,
each artifact an s3:PutObject into the artifact store; all must be allowed by the job role's policy, and
pipelines/iam.py must name no action the client does not use.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conf import load_config
from conf.schema import Config
from containers.common import tracking
from pipelines.iam import MLFLOW_ACTIONS, execution_role_policy, pipeline_role_policy
from tests.iam.mlflow_recorder import TRACKING_URI, Recorded, recording_server
from tests.iam.policy_eval import Access, evaluate

ARN = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/stranger-things-nlp-dev"
STORE = "s3://stranger-things-nlp-artifacts/stranger-things-nlp/mlflow"


def tracked_config() -> Config:
    return load_config("dev", overrides={"mlflow": {"tracking_server_arn": ARN, "artifact_store_uri": STORE}})


def job_folders(root: Path) -> dict[str, Path]:
    """A training job's and an evaluation job's output folders, in the files' documented forms."""
    train = root / "train"
    train.mkdir(parents=True)
    (train / "training_metrics.json").write_text(
        json.dumps(
            {
                "hyperparameters": {"learning_rate": 0.001, "epochs": 2},
                "log_history": [{"step": 1, "loss": 2.1}, {"step": 2, "loss": 1.7, "eval_loss": 1.9}],
                "train_loss": 1.7,
            }
        )
    )
    tracking.loss_curves(
        [{"step": 1, "loss": 2.1}, {"step": 2, "loss": 1.7}], train / tracking.LOSS_CURVES, "t"
    )
    evaluation = root / "evaluation"
    evaluation.mkdir()
    (evaluation / "evaluation.json").write_text(
        json.dumps({"multiclass_classification_metrics": {"accuracy": {"value": 0.9}}})
    )
    return {"train": train, "evaluation": evaluation}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    root = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as monkeypatch, recording_server(root, monkeypatch) as calls:
        for step, folder in job_folders(root / "jobs").items():
            # Two jobs of one experiment: the first creates it, the second finds it.
            tracking.log_outputs(folder, "stranger-things-nlp-dev-classifier", step, TRACKING_URI)
    return calls


def accesses(recorded: Recorded) -> list[Access]:
    """The job role's accesses: each REST call on the server, each artifact into the store."""
    out = [Access("job", f"sagemaker-mlflow:{api}", ARN, source="tracking") for api in recorded.api_calls]
    bucket, _, prefix = STORE.removeprefix("s3://").partition("/")
    for path in recorded.artifacts():
        key = f"{prefix}/{path.relative_to(recorded.artifact_root).as_posix()}"
        out.append(Access("job", "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}", source="artifact"))
    return out


def test_every_mlflow_call_a_job_makes_is_allowed_for_the_job_role(recorded: Recorded) -> None:
    policy = execution_role_policy(tracked_config())
    mine = accesses(recorded)
    assert any(a.action == "s3:PutObject" for a in mine)  # the loss curves and the JSON files
    denied = [str(a) for a in mine if not evaluate(policy, a).allowed]
    assert denied == [], "the job role lacks:\n" + "\n".join(denied)


def test_the_policy_names_exactly_the_actions_the_client_uses(recorded: Recorded) -> None:
    assert sorted({f"sagemaker-mlflow:{api}" for api in recorded.api_calls}) == sorted(MLFLOW_ACTIONS)


def test_only_the_configured_server_and_never_the_pipeline_role() -> None:
    cfg = tracked_config()
    job = execution_role_policy(cfg)
    other = ARN.replace("stranger-things-nlp-dev", "someone-else")
    assert not evaluate(job, Access("job", "sagemaker-mlflow:CreateRun", other)).allowed
    assert not evaluate(job, Access("job", "sagemaker-mlflow:DeleteExperiment", ARN)).allowed
    # The pipeline role starts jobs; the jobs log (SageMaker's own auto-created pipeline role, in the
    # SDK's sagemaker/core/helper/iam_policies.py, carries no sagemaker-mlflow action either).
    pipeline = pipeline_role_policy(cfg)
    assert not any("sagemaker-mlflow" in json.dumps(s) for s in pipeline["Statement"])


def test_without_a_server_the_job_role_has_no_mlflow_action(recorded: Recorded) -> None:
    policy: dict[str, Any] = execution_role_policy(load_config("dev"))
    assert not [
        a
        for a in accesses(recorded)
        if a.action.startswith("sagemaker-mlflow:") and evaluate(policy, a).allowed
    ]
