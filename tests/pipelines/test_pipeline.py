"""What the definition holds: steps, edges, parameters, caching keyed by the data each step reads,
retries, spot, gates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conf import load_config
from containers.evaluation import report
from pipelines.diagram import edges
from project.bundle import step_hash
from steps import names
from steps.parameters import gate_parameter_name
from tests.pipelines.conftest import steps_by_name

FOLDERS = ("subtitles", "transcripts", "locations")


def fingerprint_get(folder: str) -> dict[str, Any]:
    """The definition's reference to one input folder's hash in FingerprintData's fingerprint.json."""
    return {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.FingerprintData.PropertyFiles.FingerprintFile"},
            "Path": f"folders.{folder}.sha256",
        }
    }


# Each cached step and the one input folder it reads (directly or through the steps upstream of it).
EXPENSIVE = {
    names.CLEAN_SUBTITLES: "subtitles",
    names.EXTRACT_ENTITIES: "subtitles",
    names.CLASSIFY_THEMES: "subtitles",
    names.PREPARE_SUBTITLE_LINES: "subtitles",
    names.PREPARE_CHATBOT_DATA: "transcripts",
    names.TRAIN_CHATBOT: "transcripts",
    names.EVALUATE_CHATBOT: "transcripts",
    names.COMPUTE_CHATBOT_BASELINE: "transcripts",
    names.PREPARE_LOCATION_DATA: "locations",
    names.TRAIN_CLASSIFIER: "locations",
    names.EVALUATE_CLASSIFIER: "locations",
    names.COMPUTE_CLASSIFIER_BASELINE: "locations",
}


def test_steps_and_types(definitions: dict[str, Any]) -> None:
    types = {name: step["Type"] for name, step in steps_by_name(definitions["dev"]).items()}
    assert types == {
        "FingerprintData": "Processing",
        "CleanSubtitles": "Processing",
        "ExtractEntities": "Processing",
        "ClassifyThemes": "Processing",
        "PrepareSubtitleLines": "Processing",
        "PrepareChatbotData": "Processing",
        "PrepareLocationData": "Processing",
        "TrainChatbot": "Training",
        "EvaluateChatbot": "Processing",
        "ComputeChatbotBaseline": "Processing",
        "ChatbotQualityGate": "Condition",
        "FindChatbotVersion": "Lambda",
        "CheckChatbotIsNew": "Condition",
        "RegisterChatbot": "RegisterModel",
        "CheckChatbotApproval": "Condition",
        "DeployChatbot": "Lambda",
        "TrainLocationClassifier": "Training",
        "EvaluateClassifier": "Processing",
        "ComputeClassifierBaseline": "Processing",
        "ClassifierQualityGate": "Condition",
        "FindClassifierVersion": "Lambda",
        "CheckClassifierIsNew": "Condition",
        "RegisterClassifier": "RegisterModel",
        "CheckClassifierApproval": "Condition",
        "DeployClassifier": "Lambda",
        "CreateClassifierBatchModel": "Model",
        "ClassifySubtitleLines": "Transform",
    } | {
        name: kind
        for model in ("chatbot", "classifier")
        for check, fail in names.VERDICT_STEPS[model].values()
        for name, kind in ((check, "Condition"), (fail, "Fail"))
    }


def test_edges_are_the_designed_dag(definitions: dict[str, Any]) -> None:
    expected = {
        ("FingerprintData", "CleanSubtitles", ""),
        ("FingerprintData", "PrepareChatbotData", ""),
        ("FingerprintData", "PrepareLocationData", ""),
        ("CleanSubtitles", "ExtractEntities", ""),
        ("CleanSubtitles", "ClassifyThemes", ""),
    }
    for model, prepare, train in (
        ("Chatbot", "PrepareChatbotData", "TrainChatbot"),
        ("Classifier", "PrepareLocationData", "TrainLocationClassifier"),
    ):
        expected |= {
            (prepare, train, ""),
            (train, f"Evaluate{model}", ""),
            (f"Evaluate{model}", f"{model}QualityGate", ""),
            (f"{model}QualityGate", f"Find{model}Version", "pass"),
            (f"Find{model}Version", f"Check{model}IsNew", ""),
            (f"Check{model}IsNew", f"Register{model}", "pass"),
            (f"Compute{model}Baseline", f"Register{model}", ""),
            (f"Register{model}", f"Check{model}Approval", ""),
            (f"Check{model}Approval", f"Deploy{model}", "pass"),
        }
    for model, evaluate_other in {"chatbot": "EvaluateClassifier", "classifier": "EvaluateChatbot"}.items():
        this = model.capitalize()
        verdicts = names.VERDICT_STEPS[model]
        expected |= {
            (f"{this}QualityGate", verdicts["failed"][0], "fail"),
            (f"Check{this}Approval", verdicts["registered"][0], "fail"),
            (f"Deploy{this}", verdicts["deployed"][0], ""),
            (f"Check{this}IsNew", verdicts["known"][0], "fail"),  # already in the group: a leaf too
        }
        other = "Classifier" if model == "chatbot" else "Chatbot"
        for leaf, (check, fail) in verdicts.items():
            # Each verdict reads the other model's report and waits for the analytics steps and both
            # drift baselines (a Fail step must not strand them). Drawn as the transitive reduction:
            # ComputeChatbotBaseline reads EvaluateChatbot's replies, so that edge implies the report's;
            # after a register, the model's own baseline is implied (RegisterX reads it).
            expected |= {
                ("ExtractEntities", check, ""),
                ("ClassifyThemes", check, ""),
                (f"Compute{other}Baseline", check, ""),
            }
            if (model, leaf) not in (("classifier", "registered"), ("classifier", "deployed")):
                # After RegisterClassifier the transform, which reads it, implies it.
                expected.add(("PrepareSubtitleLines", check, ""))
            if evaluate_other == "EvaluateClassifier":
                expected.add((evaluate_other, check, ""))
            if leaf in ("failed", "known"):  # no RegisterX on the way
                expected.add((f"Compute{this}Baseline", check, ""))
            expected.add((check, fail, "fail"))
    # The classifier's batch transform (on in every environment) over PrepareSubtitleLines' cues (one
    # file per episode of CleanSubtitles' shards), which the classifier's verdicts after registration
    # wait for.
    expected |= {
        ("CleanSubtitles", "PrepareSubtitleLines", ""),
        ("RegisterClassifier", "CreateClassifierBatchModel", ""),
        ("CreateClassifierBatchModel", "ClassifySubtitleLines", ""),
        ("PrepareSubtitleLines", "ClassifySubtitleLines", ""),
        ("ClassifySubtitleLines", names.VERDICT_STEPS["classifier"]["registered"][0], ""),
        ("ClassifySubtitleLines", names.VERDICT_STEPS["classifier"]["deployed"][0], ""),
    }
    # The drift baselines: the chatbot's profiles the replies EvaluateChatbot generated, the classifier's
    # runs the trained model; each registered version carries its own.
    expected |= {
        ("EvaluateChatbot", "ComputeChatbotBaseline", ""),
        ("TrainLocationClassifier", "ComputeClassifierBaseline", ""),
    }
    # conf/local.yaml tunes the classifier: TuneLocationClassifier in TrainLocationClassifier's place.
    tuned = {tuple(n.replace("TrainLocation", "TuneLocation") for n in edge) for edge in expected}
    for env in ("dev", "prod", "local"):
        assert set(edges(definitions[env])) == (tuned if env == "local" else expected), env


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_parameter_defaults_come_from_config(definitions: dict[str, Any], env: str) -> None:
    cfg = load_config(env)
    params = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in definitions[env]["Parameters"]}
    assert params["InputDataUri"] == ("String", cfg.data.input_uri)
    assert params["ProcessingInstanceType"] == ("String", cfg.processing.instance_type)
    assert params["ProcessingInstanceCount"] == ("Integer", cfg.processing.instance_count)
    assert params["ModelApprovalStatus"] == ("String", cfg.registry.approval_status)
    assert params["ChatbotModelId"] == ("String", cfg.chatbot.model_id)
    assert params["ClassifierModelId"] == ("String", cfg.classifier.model_id)
    assert params["ChatbotTrainingInstanceType"] == ("String", cfg.chatbot.training.instance_type)
    assert params["ClassifierTrainingInstanceCount"] == ("Integer", cfg.classifier.training.instance_count)
    assert params["ChatbotEpochs"] == ("Float", float(cfg.chatbot.hyperparameters.epochs))
    assert params["ChatbotLearningRate"] == ("Float", cfg.chatbot.hyperparameters.learning_rate)
    assert params["ChatbotMaxSteps"] == ("Integer", cfg.chatbot.hyperparameters.max_steps)
    assert params["ClassifierLearningRate"] == ("Float", cfg.classifier.hyperparameters.learning_rate)
    for model in ("chatbot", "classifier"):
        for figure, minimum in getattr(cfg, model).gate.items():
            assert params[gate_parameter_name(model, figure)] == ("Float", minimum)
    # The endpoints' type is config the deploy handler reads, not a Parameter (steps/parameters.py).
    assert not [name for name in params if name.endswith("EndpointInstanceType")]


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_every_parameter_feeds_a_step(definitions: dict[str, Any], env: str) -> None:
    """A Parameter Studio shows but no step reads is an override that silently does nothing."""
    from pipelines.service_rules import references

    definition = definitions[env]
    read = {ref.removeprefix("Parameters.") for ref in references(definition["Steps"])}
    unread = [p["Name"] for p in definition["Parameters"] if p["Name"] not in read]
    assert unread == [], f"{env}: parameters no step reads: {unread}"


def test_prod_and_dev_differ_where_their_config_does(definitions: dict[str, Any]) -> None:
    def defaults(env: str) -> dict[str, Any]:
        return {p["Name"]: p["DefaultValue"] for p in definitions[env]["Parameters"]}

    assert defaults("prod")["ChatbotMinChrfLift"] == 2.0
    assert defaults("dev")["ChatbotMinChrfLift"] == 1.0
    assert defaults("prod")["ChatbotModelId"] == "Qwen/Qwen2.5-3B-Instruct"
    assert defaults("dev")["ChatbotModelId"] == "Qwen/Qwen2.5-1.5B-Instruct"


def test_expensive_steps_are_cached_and_keyed_by_the_folder_they_read(definitions: dict[str, Any]) -> None:
    steps = steps_by_name(definitions["dev"])
    cached = {name for name, step in steps.items() if "CacheConfig" in step}
    assert cached == set(EXPENSIVE)
    for name, folder in EXPENSIVE.items():
        step = steps[name]
        assert step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}, name
        # Environment is part of SageMaker's cache key: a changed file in this folder -> new hash ->
        # cache miss; the other folders' hashes are not in it at all.
        fingerprints = {k: v for k, v in step["Arguments"]["Environment"].items() if "FINGERPRINT" in k}
        assert fingerprints == {f"DATA_FINGERPRINT_{folder.upper()}": fingerprint_get(folder)}, name
    assert "CacheConfig" not in steps["FingerprintData"]
    assert steps["FingerprintData"]["Arguments"]["AppSpecification"]["ContainerArguments"][-4:] == [
        "--folders",
        *FOLDERS,
    ]
    assert steps["FingerprintData"]["PropertyFiles"] == [
        {"PropertyFileName": "FingerprintFile", "OutputName": "fingerprint", "FilePath": "fingerprint.json"}
    ]
    fingerprint_inputs = steps["FingerprintData"]["Arguments"]["ProcessingInputs"]
    # A trailing slash: an S3 prefix without one would also match sibling folders (raw-old/...).
    assert fingerprint_inputs[0]["S3Input"]["S3Uri"] == {
        "Std:Join": {"On": "/", "Values": [{"Get": "Parameters.InputDataUri"}, ""]}
    }
    subtitles = steps["CleanSubtitles"]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    assert subtitles["Std:Join"]["Values"][1:] == ["subtitles", ""]


def test_each_job_runs_the_content_addressed_bundle_of_its_own_script(definitions: dict[str, Any]) -> None:
    def code_uri(script: str) -> str:
        return f"s3://stranger-things-nlp-artifacts/stranger-things-nlp/code/{step_hash(script)}/"

    for name, step in steps_by_name(definitions["dev"]).items():
        if step["Type"] == "Processing":
            entry = step["Arguments"]["AppSpecification"]["ContainerEntrypoint"]
            assert entry[0] == "python3" and entry[1].startswith("/opt/ml/processing/input/code/containers/")
            script = entry[1].removeprefix("/opt/ml/processing/input/code/")
            code = [i for i in step["Arguments"]["ProcessingInputs"] if i["InputName"] == "code"]
            assert code[0]["S3Input"]["S3Uri"] == code_uri(script), name
            assert code[0]["S3Input"]["LocalPath"] == "/opt/ml/processing/input/code"
        if step["Type"] == "Training":
            hyper = step["Arguments"]["HyperParameters"]
            assert hyper["sagemaker_program"].startswith("containers/training/train_")
            assert (
                hyper["sagemaker_submit_directory"]
                == code_uri(hyper["sagemaker_program"]) + "sourcedir.tar.gz"
            )
    # Different scripts, different keys: an edit to one does not move the others.
    assert step_hash("containers/training/train_chatbot.py") != step_hash(
        "containers/processing/clean_subtitles.py"
    )


def test_every_script_the_definition_runs_exists(definitions: dict[str, Any], repo_root: str) -> None:
    from pathlib import Path

    scripts = set()
    for step in steps_by_name(definitions["dev"]).values():
        if step["Type"] == "Processing":
            scripts.add(step["Arguments"]["AppSpecification"]["ContainerEntrypoint"][1].split("/code/", 1)[1])
        if step["Type"] == "Training":
            scripts.add(step["Arguments"]["HyperParameters"]["sagemaker_program"])
    missing = sorted(s for s in scripts if not (Path(repo_root) / s).is_file())
    assert not missing, f"the definition runs scripts that do not exist: {missing}"


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_processing_and_training_steps_retry_throttling_and_capacity(
    definitions: dict[str, Any], env: str
) -> None:
    from pipelines.service_rules import RETRYABLE_STEP_TYPES

    retried = set()
    for name, step in steps_by_name(definitions[env]).items():
        if step["Type"] in {"Processing", "Training"}:
            kinds = {kind for policy in step["RetryPolicies"] for kind in policy["ExceptionType"]}
            assert {"Step.THROTTLING", "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT"} <= kinds, name
        if "RetryPolicies" in step:
            retried.add(step["Type"])
            # Only the step types AWS documents as retryable (no Lambda, Condition, Endpoint...).
            assert step["Type"] in RETRYABLE_STEP_TYPES, name
    assert {"Processing", "Training"} <= retried


def test_clean_subtitles_shards_its_input_by_s3_key(definitions: dict[str, Any]) -> None:
    args = steps_by_name(definitions["dev"])["CleanSubtitles"]["Arguments"]
    assert args["ProcessingInputs"][0]["S3Input"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert args["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == {
        "Get": "Parameters.ProcessingInstanceCount"
    }


def test_spot_training_with_checkpoints_when_config_enables_it(definitions: dict[str, Any]) -> None:
    dev = steps_by_name(definitions["dev"])["TrainChatbot"]["Arguments"]
    assert dev["EnableManagedSpotTraining"] is True
    assert dev["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400, "MaxWaitTimeInSeconds": 172800}
    assert dev["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    checkpoint_parts = dev["CheckpointConfig"]["S3Uri"]["Std:Join"]["Values"]
    assert fingerprint_get("transcripts") in checkpoint_parts
    assert fingerprint_get("locations") not in checkpoint_parts
    assert {"Get": "Parameters.ChatbotModelId"} in checkpoint_parts
    assert dev["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true"  # GPU: torchrun
    assert dev["HyperParameters"]["sagemaker_instance_type"] == {
        "Get": "Parameters.ChatbotTrainingInstanceType"
    }
    local = steps_by_name(definitions["local"])["TrainChatbot"]["Arguments"]
    assert "EnableManagedSpotTraining" not in local
    assert "MaxWaitTimeInSeconds" not in local["StoppingCondition"]


def test_hyperparameters_are_strings_with_per_run_parameters(definitions: dict[str, Any]) -> None:
    hyper = steps_by_name(definitions["local"])["TrainChatbot"]["Arguments"]["HyperParameters"]
    assert hyper["model_id"] == {"Get": "Parameters.ChatbotModelId"}
    assert hyper["epochs"] == {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.ChatbotEpochs"}]}}
    assert hyper["pretrain_steps"] == "300" and hyper["packing"] == "false" and hyper["lora_r"] == "64"
    assert all(isinstance(v, str | dict) for v in hyper.values())


@pytest.mark.parametrize(
    ("model", "gate", "evaluate"),
    [
        ("chatbot", "ChatbotQualityGate", "EvaluateChatbot"),
        ("classifier", "ClassifierQualityGate", "EvaluateClassifier"),
    ],
)
def test_gates_read_the_evaluation_schema_paths(
    definitions: dict[str, Any], model: str, gate: str, evaluate: str
) -> None:
    for env in ("dev", "prod", "local"):
        gate_minimums = getattr(load_config(env), model).gate
        conditions = steps_by_name(definitions[env])[gate]["Arguments"]["Conditions"]
        assert len(conditions) == len(gate_minimums)
        for condition, figure in zip(conditions, gate_minimums, strict=True):
            assert condition["Type"] == "GreaterThanOrEqualTo"
            json_get = condition["LeftValue"]["Std:JsonGet"]
            assert json_get["Path"] == report.json_path(model, figure)
            assert json_get["PropertyFile"] == {
                "Get": f"Steps.{evaluate}.PropertyFiles.{model.capitalize()}EvaluationReport"
            }
            assert condition["RightValue"] == {"Get": f"Parameters.{gate_parameter_name(model, figure)}"}


def test_gates_compare_with_baselines_in_every_environment() -> None:
    """No environment gates on constants alone: a lift over the baseline is always one of the figures."""
    for env in ("dev", "prod", "local"):
        cfg = load_config(env)
        assert cfg.chatbot.gate["chrf_lift"] > 0 and cfg.chatbot.gate["distinct_reply_ratio"] > 0
        assert cfg.classifier.gate["accuracy_lift"] > 0 and "macro_f1" in cfg.classifier.gate


def _message_parts(definitions: dict[str, Any], step: str) -> list[Any]:
    return steps_by_name(definitions["dev"])[step]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]


def test_fail_step_message_names_every_comparison_with_value_and_minimum(definitions: dict[str, Any]) -> None:
    """The chatbot's gate failed and the classifier's branch ended: every chatbot comparison, both numbers."""
    values = _message_parts(definitions, "ChatbotBelowThresholdAfterClassifierDeploy")
    figures = list(load_config("dev").chatbot.gate)
    read = [v["Std:JsonGet"]["Path"] for v in values if isinstance(v, dict) and "Std:JsonGet" in v]
    minimums = [v["Get"] for v in values if isinstance(v, dict) and "Get" in v]
    assert read == [report.json_path("chatbot", figure) for figure in figures]
    assert minimums == [f"Parameters.{gate_parameter_name('chatbot', figure)}" for figure in figures]
    texts = [v for v in values if isinstance(v, str)]
    assert texts[0].startswith("chatbot did not pass its quality gate")
    assert texts[1:-1:3] == [f"{'; ' if i else ''}{figure} = " for i, figure in enumerate(figures)]
    assert "the model was not registered. The classifier branch ran to its end" in texts[-1]


def test_both_failed_message_names_every_comparison_of_both_models(definitions: dict[str, Any]) -> None:
    values = _message_parts(definitions, "ChatbotAndClassifierBelowThreshold")
    cfg = load_config("dev")
    read = [v["Std:JsonGet"]["Path"] for v in values if isinstance(v, dict) and "Std:JsonGet" in v]
    assert read == [report.json_path("chatbot", f) for f in cfg.chatbot.gate] + [
        report.json_path("classifier", f) for f in cfg.classifier.gate
    ]
    texts = [v for v in values if isinstance(v, str)]
    assert texts[0].startswith("chatbot and classifier did not pass their quality gates")
    assert texts[-1].endswith("neither model was registered.")


def test_verdicts_compare_exactly_what_the_other_gate_compares(definitions: dict[str, Any]) -> None:
    """A verdict's else branch is taken exactly when the other model's gate takes its else branch."""
    steps = steps_by_name(definitions["dev"])
    for model, other in (("chatbot", "classifier"), ("classifier", "chatbot")):
        gate = steps[names.MODEL_STEPS[other]["gate"]]["Arguments"]["Conditions"]
        for check, fail in names.VERDICT_STEPS[model].values():
            assert steps[check]["Arguments"]["Conditions"] == gate, check
            assert steps[check]["Arguments"]["IfSteps"] == []
            assert [s["Name"] for s in steps[check]["Arguments"]["ElseSteps"]] == [fail]


def test_register_points_metrics_at_evaluation_json_and_takes_approval_from_a_parameter(
    definitions: dict[str, Any],
) -> None:
    args = steps_by_name(definitions["dev"])["RegisterClassifier"]["Arguments"]
    assert args["ModelPackageGroupName"] == "stranger-things-location-classifier"
    assert args["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    stats = args["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert stats["S3Uri"]["Std:Join"]["Values"][-1] == "evaluation.json"
    spec = args["InferenceSpecification"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == ["ml.m5.xlarge", "ml.c5.xlarge"]
    assert spec["Containers"][0]["ModelDataUrl"] == {
        "Get": "Steps.TrainLocationClassifier.ModelArtifacts.S3ModelArtifacts"
    }


@pytest.mark.parametrize("model", ["Chatbot", "Classifier"])
def test_register_carries_the_drift_baseline_its_own_run_computed(
    definitions: dict[str, Any], model: str
) -> None:
    steps = steps_by_name(definitions["dev"])
    quality = steps[f"Register{model}"]["Arguments"]["DriftCheckBaselines"]["ModelDataQuality"]
    for key, file in (("Statistics", "statistics.json"), ("Constraints", "constraints.json")):
        values = quality[key]["S3Uri"]["Std:Join"]["Values"]
        folder = f"Steps.Compute{model}Baseline.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"
        assert values == [{"Get": folder}, file]
        assert quality[key]["ContentType"] == "application/json"
    job = steps[f"Compute{model}Baseline"]["Arguments"]
    argv = job["AppSpecification"]["ContainerArguments"]
    assert job["AppSpecification"]["ContainerEntrypoint"][-1].endswith("containers/monitoring/baseline.py")
    assert argv[argv.index("--alpha") + 1] == "0.001"
    assert ("--responses" in argv) == (model == "Chatbot")  # the chatbot's replies come from its evaluation
    assert ("--model-dir" in argv) == (model == "Classifier")


@pytest.mark.parametrize("model", ["Chatbot", "Classifier"])
def test_register_says_how_to_monitor_the_version(definitions: dict[str, Any], model: str) -> None:
    """The drift schedule's code bundle (monitor.py's own, which upsert uploads with every entry script's)
    and image, which the deploy handler reads back; within SageMaker's metadata limits."""
    import botocore.session
    from botocore.validate import ParamValidator

    from pipelines.pipeline import resolve_images

    metadata = steps_by_name(definitions["dev"])[f"Register{model}"]["Arguments"][
        "CustomerMetadataProperties"
    ]
    script = "containers/monitoring/monitor.py"
    assert metadata["monitoring_code_uri"] == (
        f"s3://stranger-things-nlp-artifacts/stranger-things-nlp/code/{step_hash(script)}/"
    )
    assert metadata["monitoring_image_uri"] == resolve_images(load_config("dev")).processing
    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("CustomerMetadataMap")
    plain = {k: v for k, v in metadata.items() if isinstance(v, str)}  # the rest are JsonGet expressions
    report = ParamValidator().validate(plain, shape)
    assert not report.has_errors(), report.generate_report()
    assert all(len(v) <= shape.value.metadata["max"] for v in plain.values())


def test_a_metadata_value_beyond_sagemakers_limits_is_refused() -> None:
    from steps.register import METADATA_VALUE_PATTERN

    assert METADATA_VALUE_PATTERN.match("s3://bucket/prefix/code/0123456789ab/")
    assert not METADATA_VALUE_PATTERN.match("s3://" + "b" * 300)  # 256 characters at most
    assert not METADATA_VALUE_PATTERN.match("s3://bucket/a prefix?/code/")  # '?' is not allowed


def test_deploy_steps_invoke_the_deploy_handler_per_environment(definitions: dict[str, Any]) -> None:
    """One deployer: the deploy and lookup steps are requests to the approval handler's function."""
    for env in ("dev", "prod"):
        steps = steps_by_name(definitions[env])
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:stranger-things-nlp-{env}-deploy-handler"
        deploy = steps["DeployClassifier"]
        assert deploy["FunctionArn"] == arn
        assert deploy["Arguments"] == {"request": "reconcile", "group": "stranger-things-location-classifier"}
        find = steps["FindClassifierVersion"]
        assert find["FunctionArn"] == arn and find["Arguments"]["request"] == "find"
        assert find["Arguments"]["model_data_url"] == {
            "Get": "Steps.TrainLocationClassifier.ModelArtifacts.S3ModelArtifacts"
        }
        is_new = steps["CheckClassifierIsNew"]["Arguments"]
        assert is_new["Conditions"] == [
            {
                "Type": "Equals",
                "LeftValue": {"Get": "Steps.FindClassifierVersion.OutputParameters['found']"},
                "RightValue": "false",
            }
        ]
        # The batch transform uses the newly registered version, so it runs only when one was registered.
        transform = ["CreateClassifierBatchModel", "ClassifySubtitleLines"]
        assert transform[-1] in steps  # classifier.transform.enabled in both environments
        assert [s["Name"] for s in is_new["IfSteps"]] == [
            "RegisterClassifier",
            *transform,
            "CheckClassifierApproval",
        ]
        # Already in the group: a leaf of the branch, so it holds the verdict on the other model.
        assert [s["Name"] for s in is_new["ElseSteps"]] == [names.VERDICT_STEPS["classifier"]["known"][0]]
    # No endpoint is built by the pipeline itself (the service would reject the guardrails there); its
    # only Model is the batch transform's.
    prod = steps_by_name(definitions["prod"]).values()
    assert not {s["Type"] for s in prod} & {"EndpointConfig", "Endpoint"}
    assert [s["Name"] for s in prod if s["Type"] == "Model"] == ["CreateClassifierBatchModel"]


def test_prod_encrypts_volumes_and_outputs_with_its_kms_key(definitions: dict[str, Any]) -> None:
    steps = steps_by_name(definitions["prod"])
    key = load_config("prod").security.kms_key_id
    processing = steps["CleanSubtitles"]["Arguments"]  # ml.m5.xlarge: an EBS volume to encrypt
    assert processing["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
    assert processing["ProcessingOutputConfig"]["KmsKeyId"] == key
    # ml.g5 has local NVMe storage, encrypted by the instance: AWS refuses a volume key there.
    for name in ("TrainChatbot", "TrainLocationClassifier"):
        training = steps[name]["Arguments"]
        assert "VolumeKmsKeyId" not in training["ResourceConfig"], name
        assert training["OutputDataConfig"]["KmsKeyId"] == key
    evaluation = steps["EvaluateChatbot"]["Arguments"]
    assert "VolumeKmsKeyId" not in evaluation["ProcessingResources"]["ClusterConfig"]
    assert evaluation["ProcessingOutputConfig"]["KmsKeyId"] == key
    assert (
        "KmsKeyId" not in steps_by_name(definitions["dev"])["TrainChatbot"]["Arguments"]["OutputDataConfig"]
    )


def test_a_cpu_training_type_in_config_gets_the_volume_key() -> None:
    from pipelines.definition import definition_json

    cfg = load_config("prod", overrides={"classifier": {"training": {"instance_type": "ml.c5.2xlarge"}}})
    training = steps_by_name(json.loads(definition_json(cfg)))["TrainLocationClassifier"]["Arguments"]
    assert training["ResourceConfig"]["VolumeKmsKeyId"] == cfg.security.kms_key_id


def test_checkpoints_are_keyed_on_the_training_cache_key(definitions: dict[str, Any]) -> None:
    from steps.checkpoints import checkpoint_digest

    args = steps_by_name(definitions["dev"])["TrainChatbot"]["Arguments"]
    values = args["CheckpointConfig"]["S3Uri"]["Std:Join"]["Values"]
    assert values[:4] == [
        "s3://stranger-things-nlp-artifacts/stranger-things-nlp/dev",
        "checkpoints",
        "TrainChatbot",
        checkpoint_digest(args),
    ]
    parameters = {v["Get"] for v in values if isinstance(v, dict) and "Get" in v}
    assert {
        "Parameters.ChatbotModelId",
        "Parameters.ChatbotEpochs",
        "Parameters.ChatbotLearningRate",
        "Parameters.ChatbotMaxSteps",
        "Parameters.ChatbotTrainingInstanceType",
    } <= parameters
    assert any("Std:JsonGet" in v for v in values if isinstance(v, dict))  # the transcripts' hash
    # Not the execution id: CheckpointConfig is part of the cache key, training would never be cached.
    assert "Execution.PipelineExecutionId" not in json.dumps(args["CheckpointConfig"])


def test_vpc_and_network_isolation_from_config() -> None:
    from pipelines.definition import definition_json

    cfg = load_config(
        "dev",
        overrides={
            "security": {"subnets": ["subnet-1"], "security_group_ids": ["sg-1"], "network_isolation": True},
            # Isolated jobs cannot reach the Hub (conf/refusals.py): models come from S3 or the image.
            "chatbot": {"model_id": "s3://stranger-things-nlp-artifacts/models/qwen/"},
            # On instances: a serverless endpoint takes neither a VPC nor network isolation.
            "classifier": {"model_id": "/opt/models/distilbert", "serving": {"serverless": None}},
            "themes": {"model_id": "/opt/models/bart-large-mnli"},
        },
    )
    import json

    steps = steps_by_name(json.loads(definition_json(cfg)))
    assert steps["CleanSubtitles"]["Arguments"]["NetworkConfig"] == {
        "EnableNetworkIsolation": True,
        "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
    }
    assert steps["TrainChatbot"]["Arguments"]["VpcConfig"] == {
        "SecurityGroupIds": ["sg-1"],
        "Subnets": ["subnet-1"],
    }
    # Isolated containers cannot download the code: it arrives as an input channel instead.
    training = steps["TrainLocationClassifier"]["Arguments"]
    code = [c for c in training["InputDataConfig"] if c["ChannelName"] == "code"]
    classifier_key = step_hash("containers/training/train_classifier.py")
    assert code[0]["DataSource"]["S3DataSource"]["S3Uri"].endswith(f"/code/{classifier_key}/sourcedir.tar.gz")
    assert (
        training["HyperParameters"]["sagemaker_submit_directory"]
        == "/opt/ml/input/data/code/sourcedir.tar.gz"
    )
    from pipelines.validation import validate_definition

    assert validate_definition(json.loads(definition_json(cfg))) == []


# The request fields SageMaker builds a step's cache key from (docs: "Default cache key attributes").
CACHE_KEY_FIELDS = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": (
        "AlgorithmSpecification",
        "CheckpointConfig",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ),
}


def _cache_key(step: dict[str, Any], hashes: dict[str, str]) -> str:
    """The step's cache-key fields with each folder's hash resolved; upstream outputs stay symbolic (as
    they are when the upstream step is itself a cache hit)."""
    import json

    fields = {name: step["Arguments"].get(name) for name in CACHE_KEY_FIELDS[step["Type"]]}
    text = json.dumps(fields, sort_keys=True)
    for folder in FOLDERS:
        text = text.replace(json.dumps(fingerprint_get(folder), sort_keys=True), json.dumps(hashes[folder]))
    assert "FingerprintData" not in text, "a reference to the fingerprint this test does not resolve"
    return text


def test_cache_keys_change_with_the_folder_a_step_reads_and_only_with_it(definitions: dict[str, Any]) -> None:
    again = json_loads_definition("dev")
    base = {folder: folder[0] * 64 for folder in FOLDERS}
    for name, read in EXPENSIVE.items():
        step = steps_by_name(definitions["dev"])[name]
        same = _cache_key(step, base)
        assert same == _cache_key(steps_by_name(again)[name], base), name  # rebuilt: identical key
        for folder in FOLDERS:
            changed = _cache_key(step, {**base, folder: "f" * 64})
            if folder == read:
                assert changed != same, (name, folder)  # its data changed under the same URI: recompute
            else:
                assert changed == same, (name, folder)  # another folder's data: still a cache hit


def test_a_model_branch_reads_no_output_of_the_other_branch(definitions: dict[str, Any]) -> None:
    """In SageMaker a rerun upstream step hands new output URIs (execution id) to the steps reading
    them: the chatbot branch must not read anything the locations change reruns, and vice versa."""
    import json

    steps = steps_by_name(definitions["dev"])
    branches = {
        "chatbot": ["PrepareChatbotData", "TrainChatbot", "EvaluateChatbot"],
        "classifier": ["PrepareLocationData", "TrainLocationClassifier", "EvaluateClassifier"],
    }
    for model, own in branches.items():
        other = [name for key, names_ in branches.items() if key != model for name in names_]
        for name in own:
            text = json.dumps(steps[name]["Arguments"])
            assert not [o for o in other if f"Steps.{o}." in text], name
    subtitles = ["CleanSubtitles", "ExtractEntities", "ClassifyThemes", "PrepareSubtitleLines"]
    for name in subtitles:
        text = json.dumps(steps[name]["Arguments"])
        assert not [o for o in (*branches["chatbot"], *branches["classifier"]) if f"Steps.{o}." in text]


def json_loads_definition(env: str) -> dict[str, Any]:
    import json

    from pipelines.definition import definition_json

    return json.loads(definition_json(load_config(env)))


@pytest.mark.parametrize("model", ["Chatbot", "Classifier"])
def test_only_an_approved_version_is_deployed(definitions: dict[str, Any], model: str) -> None:
    """A PendingManualApproval version must wait for a reviewer: deployment sits behind an Approved check."""
    check = steps_by_name(definitions["dev"])[f"Check{model}Approval"]
    assert check["Arguments"]["Conditions"] == [
        {"Type": "Equals", "LeftValue": {"Get": "Parameters.ModelApprovalStatus"}, "RightValue": "Approved"}
    ]
    verdicts = names.VERDICT_STEPS[model.lower()]
    assert [s["Name"] for s in check["Arguments"]["IfSteps"]] == [
        f"Deploy{model}",
        verdicts["deployed"][0],  # after the deploy: the other model's gate, else the run fails
    ]
    assert [s["Name"] for s in check["Arguments"]["ElseSteps"]] == [verdicts["registered"][0]]
