"""Every script accepts exactly what the definition passes it (a flag mismatch fails here, not in AWS)."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from conf import load_config
from pipelines.validation import UNKNOWN, evaluate
from tests.pipelines.conftest import definition_text, steps_by_name

CODE = "/opt/ml/processing/input/code/containers/"


def trial_hyperparameters(tuning: dict[str, Any]) -> dict[str, str]:
    """A tuning trial's hyperparameters: the static ones and each range's bound (its first value)."""
    ranges = tuning["HyperParameterTuningJobConfig"]["ParameterRanges"]
    hyper = dict(tuning["TrainingJobDefinition"]["StaticHyperParameters"])
    for kind in ("ContinuousParameterRanges", "IntegerParameterRanges"):
        for item in ranges.get(kind, []):
            hyper[item["Name"]] = item["MaxValue"]
    for item in ranges.get("CategoricalParameterRanges", []):
        hyper[item["Name"]] = item["Values"][0]
    return hyper


def script_calls(env: str) -> list[tuple[str, str, list[str]]]:
    definition = json.loads(definition_text(env))
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}

    def concrete(value: Any) -> str:
        """Parameters take their defaults; other run-time values (S3 URIs of outputs) a stand-in."""
        resolved = evaluate(value, defaults)
        return "s3://bucket/runtime-value" if resolved is UNKNOWN else str(resolved)

    calls = []
    for name, step in steps_by_name(definition).items():
        args = step["Arguments"]
        if step["Type"] == "Processing":
            script = args["AppSpecification"]["ContainerEntrypoint"][1].removeprefix(CODE)
            calls.append(
                (name, script, [concrete(a) for a in args["AppSpecification"]["ContainerArguments"]])
            )
        elif step["Type"] in ("Training", "Tuning"):
            hyper = args["HyperParameters"] if step["Type"] == "Training" else trial_hyperparameters(args)
            script = hyper["sagemaker_program"].removeprefix("containers/")
            # The training toolkit passes every non-toolkit hyperparameter as `--key value`.
            argv = [part for key, value in hyper.items() if not key.startswith("sagemaker_")
                    for part in (f"--{key}", concrete(value))]  # fmt: skip
            calls.append((name, script, argv))
    return calls


@pytest.mark.parametrize("env", ["dev", "local"])
def test_each_script_parses_its_arguments(env: str) -> None:
    calls = script_calls(env)
    # 11 processing jobs (2 of them the drift baselines, 1 the batch transform's input), 2 training jobs
    assert len(calls) == 13
    for step, script, argv in calls:
        module = importlib.import_module("containers." + script.removesuffix(".py").replace("/", "."))
        try:
            parsed = module.parse_args(argv)
        except SystemExit as exc:  # argparse exits on an unknown or malformed flag
            raise AssertionError(f"{step}: {script} rejects {argv}") from exc
        if "--output-dir" in argv:
            assert str(parsed.output_dir) == argv[argv.index("--output-dir") + 1], step


def test_each_prepare_step_builds_its_own_dataset_from_its_own_folder() -> None:
    from containers.processing import prepare_datasets

    calls = {step: argv for step, _, argv in script_calls("dev")}
    chatbot = prepare_datasets.parse_args(calls["PrepareChatbotData"])
    location = prepare_datasets.parse_args(calls["PrepareLocationData"])
    assert (chatbot.datasets, str(chatbot.transcripts_dir)) == (
        "chatbot",
        "/opt/ml/processing/input/transcripts",
    )
    assert "--locations-dir" not in calls["PrepareChatbotData"]
    assert (location.datasets, str(location.locations_dir)) == (
        "classifier",
        "/opt/ml/processing/input/locations",
    )
    assert "--transcripts-dir" not in calls["PrepareLocationData"]


def test_training_hyperparameters_reach_the_script_typed() -> None:
    calls = {step: argv for step, _, argv in script_calls("local")}
    from containers.training import train_chatbot

    parsed = train_chatbot.parse_args(calls["TrainChatbot"])
    hp = load_config("local").chatbot.hyperparameters
    expected = (hp.pretrain_steps, hp.lora_r, hp.packing)
    assert (parsed.pretrain_steps, parsed.lora_r, parsed.packing) == expected
    # auto / true / false: the script keeps the word (config's booleans arrive as "true"/"false").
    assert hp.gradient_checkpointing is False and parsed.gradient_checkpointing == "false"
    dev = train_chatbot.parse_args({s: a for s, _, a in script_calls("dev")}["TrainChatbot"])
    assert load_config("dev").chatbot.hyperparameters.gradient_checkpointing == "auto"
    assert dev.gradient_checkpointing == "auto"
    assert isinstance(parsed.lora_r, int) and isinstance(parsed.packing, bool)


@pytest.mark.parametrize(("env", "method"), [("dev", "nli"), ("prod", "nli"), ("local", "lexicon")])
def test_classify_themes_runs_the_method_its_environment_names(env: str, method: str) -> None:
    from containers.processing import classify_themes

    calls = {step: argv for step, _, argv in script_calls(env)}
    assert (
        classify_themes.parse_args(calls["ClassifyThemes"]).method == method == load_config(env).themes.method
    )
