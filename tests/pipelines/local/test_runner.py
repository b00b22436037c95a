"""The local runner on the demo project: wiring, SageMaker's container setup, caching, resume, gates."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from model_registry.local import LocalRegistry
from pipelines.local.dag import DefinitionError
from tests.pipelines.local import demo_project
from tests.pipelines.local.conftest import DemoRunner, read_json, statuses

JOBS = ["CountA", "CountB", "Train", "Evaluate"]


def test_whole_demo_dag_runs_registers_and_deploys(demo: DemoRunner) -> None:
    result, output = demo.run()

    assert result.ok, output
    assert statuses(result) == {
        "CountA": ("Succeeded", "miss"),
        "CountB": ("Succeeded", "miss"),
        "Train": ("Succeeded", "miss"),
        "Evaluate": ("Succeeded", "miss"),
        "Gate": ("Succeeded", "-"),
        "Register": ("Succeeded", "miss"),
        "BelowThreshold": ("Skipped", "-"),
        "CreateModel": ("Succeeded", "-"),
        "Config": ("Succeeded", "-"),
        "Deploy": ("Succeeded", "miss"),
    }
    assert result.state.steps["Gate"].decision == {
        "outcomes": [{"condition": "demo_metrics.score.value = 0.5 >= 0.3", "value": True}],
        "branch": "if",
    }
    registry = LocalRegistry(demo.home / "registry.db")
    version = registry.get(demo_project.GROUP, 1)
    assert (version.status, version.metrics, version.environment) == (
        "Approved",
        {"score": 0.5},
        {"GREETING": "hi"},
    )
    endpoint = registry.endpoint(demo_project.ENDPOINT)
    assert endpoint is not None and (endpoint.group, endpoint.version) == (demo_project.GROUP, 1)
    assert read_json(endpoint.model_dir / "model.json") == {"words": 5, "epochs": "3"}
    assert "Quality gates:\n  Gate: demo_metrics.score.value = 0.5 >= 0.3 -> true" in output
    assert f"  {demo_project.GROUP} v1 Approved  score=0.5" in output


def test_training_gets_the_toolkit_arguments_and_sm_environment(demo: DemoRunner) -> None:
    result, _ = demo.run()

    seen = read_json(result.run_dir / "steps" / "Train" / "opt_ml" / "output" / "data" / "seen.json")
    mapped = result.run_dir / "steps" / "Train" / "opt_ml"
    # Sorted keys, JSON-decoded values printed with str(): "true" -> True, "3" -> 3 (the toolkit's rule).
    assert seen["argv"] == [
        "--epochs",
        "3",
        "--scale",
        "0.5",
        "--use_bias",
        "True",
        "--checkpoint_dir",
        str(mapped / "checkpoints"),
    ]
    env = seen["env"]
    assert env["SM_CHANNEL_TRAIN"] == str(mapped / "input" / "data" / "train")
    assert env["SM_CHANNEL_EXTRA"] == str(mapped / "input" / "data" / "extra")
    assert env["SM_MODEL_DIR"] == str(mapped / "model")
    assert env["SM_OUTPUT_DATA_DIR"] == str(mapped / "output" / "data")
    assert json.loads(env["SM_HPS"]) == {"epochs": 3, "scale": 0.5, "use_bias": True}
    assert json.loads(env["SM_CHANNELS"]) == ["extra", "train"]
    assert (env["SM_CURRENT_HOST"], env["SM_HOSTS"], env["SM_NUM_GPUS"]) == ("algo-1", '["algo-1"]', "0")
    assert env["OMP_NUM_THREADS"] == "1"
    assert seen["extra_words"] == 3
    assert result.state.steps["Train"].metrics == {"loss": 0.25}


def test_model_tarball_holds_the_model_folder_at_its_root(demo: DemoRunner) -> None:
    result, _ = demo.run()

    uri = result.state.steps["Train"].properties["ModelArtifacts"]["S3ModelArtifacts"]
    execution = result.state.execution["PipelineExecutionId"]
    job = f"pipelines-{execution}-Train"
    assert uri == f"{demo_project.BUCKET}/runs/{execution}/Train/model/{job}/output/model.tar.gz"
    tarball = result.run_dir / "s3" / uri.removeprefix("s3://")
    with tarfile.open(tarball) as archive:
        assert sorted(archive.getnames()) == ["code/inference.py", "model.json"]
    checkpoint = result.run_dir / "s3" / "demo-bucket" / "demo" / "checkpoints" / "Train" / "last.txt"
    assert checkpoint.read_text() == "epoch 3"


def test_unchanged_rerun_reuses_every_step_and_the_registered_version(demo: DemoRunner) -> None:
    demo.run()
    first_calls = demo.calls_made()

    result, output = demo.run()

    assert result.ok
    assert demo.calls_made() == first_calls  # no job ran again
    assert {name: statuses(result)[name] for name in [*JOBS, "Register", "Deploy"]} == {
        name: ("Cached", "hit") for name in [*JOBS, "Register", "Deploy"]
    }
    assert [
        v.version for v in LocalRegistry(demo.home / "registry.db").list_versions(demo_project.GROUP)
    ] == [1]
    assert "cache: 6 of 6 cacheable steps reused" in output


def test_changing_one_input_file_reruns_only_what_reads_it(demo: DemoRunner) -> None:
    demo.run()
    (demo.data / "b" / "two.txt").write_text("over the lazy dogs")  # b/ only: CountB and its downstream

    result, _ = demo.run()

    assert demo.calls_made()[-2:] == ["CountB", "Train"]
    assert {name: statuses(result)[name] for name in JOBS} == {
        "CountA": ("Cached", "hit"),
        "CountB": ("Succeeded", "miss"),
        "Train": ("Succeeded", "miss"),
        # Train read the changed counts but built a byte-identical model: content keys keep Evaluate cached.
        "Evaluate": ("Cached", "hit"),
    }


def test_no_cache_runs_every_job(demo: DemoRunner) -> None:
    demo.run()
    result, _ = demo.run(use_cache=False)

    assert [statuses(result)[name] for name in JOBS] == [("Succeeded", "off")] * 4
    assert sorted(demo.calls_made()) == sorted(JOBS * 2)


def test_resume_continues_from_the_failed_step(demo: DemoRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_FAIL", "Evaluate")
    failed, output = demo.run(use_cache=False)

    assert not failed.ok
    assert statuses(failed)["Evaluate"] == ("Failed", "off")
    assert statuses(failed)["Gate"] == ("NotStarted", "-")
    assert "FAILED Evaluate (Processing): processing job exited with status 3" in output
    assert "  | demo failure requested for Evaluate" in output  # the tail of the step's log

    monkeypatch.delenv("DEMO_FAIL")
    resumed, _ = demo.run(use_cache=False, resume=True, run_dir=failed.run_dir)

    assert resumed.ok
    assert resumed.run_dir == failed.run_dir
    calls = demo.calls_made()  # CountA and CountB run in parallel: either may come first
    assert (sorted(calls[:2]), calls[2:]) == (["CountA", "CountB"], ["Train", "Evaluate", "Evaluate"])
    assert statuses(resumed)["Deploy"] == ("Succeeded", "miss")


def test_resume_refuses_new_parameters(demo: DemoRunner) -> None:
    result, _ = demo.run()
    with pytest.raises(ValueError, match="reuses the failed run's parameters"):
        demo.run({"Threshold": "0.1"}, resume=True, run_dir=result.run_dir)


def test_gate_false_branch_ends_the_run_with_the_resolved_fail_message(demo: DemoRunner) -> None:
    result, output = demo.run({"Threshold": "1000"})

    assert not result.ok
    assert result.state.steps["BelowThreshold"].status == "Failed"
    assert result.state.steps["BelowThreshold"].message == "score 0.5 is below 1000.0"
    assert result.state.message == "BelowThreshold: score 0.5 is below 1000.0"
    assert [result.state.steps[n].status for n in ("Register", "Deploy")] == ["Skipped", "Skipped"]
    assert "FAILED BelowThreshold (Fail): score 0.5 is below 1000.0" in output


def test_pending_approval_registers_without_deploying(demo: DemoRunner) -> None:
    result, _ = demo.run({"ApprovalStatus": "PendingManualApproval"})

    assert result.ok
    registry = LocalRegistry(demo.home / "registry.db")
    assert registry.get(demo_project.GROUP, 1).status == "PendingManualApproval"
    assert registry.endpoint(demo_project.ENDPOINT) is None
    assert result.state.steps["Deploy"].message.startswith(
        f"not deployed: {demo_project.GROUP} v1 is Pending"
    )


def test_unsupported_step_type_is_named_before_anything_runs(demo: DemoRunner) -> None:
    definition = demo.definition()
    definition["Steps"].append({"Name": "Notify", "Type": "EMR", "Arguments": {}})

    with pytest.raises(
        DefinitionError, match="step 'Notify' has type 'EMR', which the local runner does not run"
    ):
        demo.run(definition=definition)
    assert demo.calls_made() == []


def test_missing_input_fails_the_step_with_the_uri(demo: DemoRunner) -> None:
    result, _ = demo.run({"InputDataUri": str(demo.data / "nowhere")})

    assert not result.ok
    assert "input " + str(demo.data / "nowhere") + "/a does not exist" in result.state.steps["CountA"].message


def test_unknown_parameter_override_is_refused(demo: DemoRunner) -> None:
    with pytest.raises(
        DefinitionError, match=r"unknown parameter\(s\) Treshold; the definition has: ApprovalStatus"
    ):
        demo.run({"Treshold": "1"})


def test_jobs_never_write_to_the_real_opt_ml(demo: DemoRunner) -> None:
    existed = Path("/opt/ml").exists()
    demo.run()
    assert Path("/opt/ml").exists() == existed


def test_live_table_redraws_in_place_on_a_terminal(demo: DemoRunner) -> None:
    import io

    from pipelines.local.progress import LiveReporter
    from pipelines.local.runner import RunOptions, run_definition

    stream = io.StringIO()
    result = run_definition(
        demo.definition(), RunOptions(home=demo.home, repo_root=demo.root, workers=2), LiveReporter(stream)
    )

    text = stream.getvalue()
    assert result.ok
    assert "\x1b[11F" in text  # back over the 11 lines (head + 10 steps) of the previous drawing
    last_table = text.rsplit("\x1b[11F", 1)[1].split("\n")[:11]
    assert last_table[1].startswith("\x1b[2K + CountA") and "Succeeded  miss" in last_table[1]
    assert "\x1b[2K - BelowThreshold" in text
    assert f"Run {result.state.execution['PipelineExecutionId']} Succeeded" in text


def test_relative_home_and_data_paths_work(demo: DemoRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(demo.home.parent)
    demo.home = Path("home")  # as `make run-local` passes .local
    result, output = demo.run({"InputDataUri": "../data"})  # relative to the repository root (data/sample)

    assert result.ok, output
    assert result.run_dir.is_absolute()


def test_nested_conditions_skip_their_branches(demo: DemoRunner) -> None:
    definition = demo.definition()
    gate = definition["Steps"][-1]["Arguments"]
    register, *deploy_steps = gate["IfSteps"]
    check = {
        "Name": "CheckApproval",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "Equals",
                    "LeftValue": {"Get": "Parameters.ApprovalStatus"},
                    "RightValue": "Approved",
                }
            ],
            "IfSteps": deploy_steps,
            "ElseSteps": [],
        },
    }
    gate["IfSteps"] = [register, check]

    pending, _ = demo.run({"ApprovalStatus": "PendingManualApproval"}, definition=definition)
    assert pending.ok
    assert pending.state.steps["CheckApproval"].decision["branch"] == "else"
    assert {n: pending.state.steps[n].message for n in ("CreateModel", "Config", "Deploy")} == {
        "CreateModel": "CheckApproval took the else branch",
        "Config": "CheckApproval took the else branch",
        "Deploy": "CheckApproval took the else branch",
    }

    failed, _ = demo.run({"Threshold": "1000"}, definition=definition)
    assert (failed.state.steps["CheckApproval"].status, failed.state.steps["CheckApproval"].message) == (
        "Skipped",
        "Gate took the else branch",
    )
    assert failed.state.steps["Deploy"].message == "CheckApproval was skipped"


def test_network_isolated_training_takes_its_code_from_the_code_channel(demo: DemoRunner) -> None:
    definition = demo.definition()
    train = next(s for s in definition["Steps"] if s["Name"] == "Train")["Arguments"]
    train["HyperParameters"]["sagemaker_submit_directory"] = "/opt/ml/input/data/code/sourcedir.tar.gz"
    train["InputDataConfig"].append(
        {
            "ChannelName": "code",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": demo_project.CODE_URI + "sourcedir.tar.gz",
                }
            },
        }
    )

    result, output = demo.run(definition=definition)

    assert result.ok, output
    assert (
        result.run_dir / "steps" / "Train" / "opt_ml" / "code" / "containers" / "demo" / "train.py"
    ).is_file()


def test_resume_of_a_no_cache_run_keeps_the_cache_off(
    demo: DemoRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo.run()  # fills the cache: a resume that used it would restore Evaluate instead of running it
    monkeypatch.setenv("DEMO_FAIL", "Evaluate")
    failed, _ = demo.run(use_cache=False)
    monkeypatch.delenv("DEMO_FAIL")

    resumed, output = demo.run(resume=True, run_dir=failed.run_dir)  # no use_cache=False this time

    assert resumed.ok
    assert statuses(resumed)["Evaluate"] == ("Succeeded", "off")
    assert "started with --no-cache: the resumed steps do not use the cache either" in output
    assert read_json(resumed.run_dir / "state.json")["options"] == {"use_cache": False}


def test_resume_reruns_a_step_whose_data_changed_and_what_is_downstream(
    demo: DemoRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_FAIL", "Evaluate")
    failed, _ = demo.run()
    monkeypatch.delenv("DEMO_FAIL")
    before = failed.state.steps["CountA"].data_inputs
    (demo.data / "a" / "one.txt").write_text("the quick brown fox jumps over")  # 6 words, was 5
    demo.calls.unlink()

    resumed, output = demo.run(resume=True, run_dir=failed.run_dir)

    assert resumed.ok
    # CountA read the changed folder: it runs again, and Train after it; CountB's data did not change.
    assert demo.calls_made() == ["CountA", "Train", "Evaluate"]
    assert statuses(resumed)["CountB"] == ("Succeeded", "miss")  # kept from the first attempt
    assert resumed.state.steps["CountA"].data_inputs != before  # the record names the data it read
    assert (
        read_json(resumed.run_dir / "steps" / "Train" / "opt_ml" / "output" / "data" / "seen.json")[
            "extra_words"
        ]
        == 3
    )
    assert "the data read by CountA changed since the run stopped: 9 step(s) run again" in output
