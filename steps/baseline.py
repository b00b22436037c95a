"""ComputeChatbotBaseline and ComputeClassifierBaseline: the drift monitoring's baseline of each model.

containers/monitoring/baseline.py profiles the training data (input length, out-of-vocabulary rate
against the training vocabulary, cast mentions, language) and the model's answers to the held-out test
split (classifier: the model run on it; chatbot: the replies EvaluateChatbot already generated, its
samples.jsonl, so the chatbot is not run twice). It writes statistics.json and constraints.json in
Model Monitor's forms, and vocabulary.json, beside the model version: RegisterModel carries the first
two as DriftCheckBaselines.ModelDataQuality, and the monitoring job reads all three.
"""

from __future__ import annotations

from sagemaker.core.workflow.functions import Join

from steps import names
from steps.context import StepContext
from steps.evaluate import EVALUATION_OUTPUT
from steps.models import spec
from steps.prepare_datasets import split_uri
from steps.processing import Input, Output, ScriptJob, processing_step
from steps.request_step import RequestStep
from steps.tune import model_artifacts

BASELINE_OUTPUT = "baseline"
STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
SAMPLES_FILE = "samples.jsonl"  # containers/evaluation/evaluate_chatbot.py


def baseline_uri(baseline_step: RequestStep, file: str) -> Join:
    """The S3 URI of one baseline file the step wrote."""
    folder = baseline_step.properties.ProcessingOutputConfig.Outputs[BASELINE_OUTPUT].S3Output.S3Uri
    return Join(on="/", values=[folder, file])


def build_baseline_step(
    ctx: StepContext,
    model: str,
    train_step: RequestStep,
    prepare_step: RequestStep,
    evaluate_step: RequestStep,
) -> RequestStep:
    train = Input("train", split_uri(prepare_step, model, "train"))
    test = Input("test", split_uri(prepare_step, model, "test"))
    out = Output(BASELINE_OUTPUT)
    arguments: list = ["--model", model, "--train", train.local_path, "--held-out", test.local_path]
    if model == "chatbot":
        samples = Input(
            "samples",
            evaluate_step.properties.ProcessingOutputConfig.Outputs[EVALUATION_OUTPUT].S3Output.S3Uri,
        )
        inputs = [train, test, samples]
        arguments += ["--responses", f"{samples.local_path}/{SAMPLES_FILE}"]
        image = ctx.images.processing  # numpy and PyYAML only: no model runs here
    else:
        artifacts = Input("model", model_artifacts(ctx, train_step))
        inputs = [train, test, artifacts]
        arguments += ["--model-dir", artifacts.local_path]
        image = ctx.images.evaluation[model]  # the classifier answers the test split (torch)
    arguments += ["--output-dir", out.local_path, "--alpha", ctx.cfg.monitoring.alpha]
    job = ScriptJob(
        step_name=names.MODEL_STEPS[model]["baseline"],
        script="monitoring/baseline.py",
        arguments=arguments,
        inputs=inputs,
        outputs=[out],
        image_uri=image,
        instance_type=ctx.params.processing_instance_type,
    )
    return processing_step(
        ctx,
        job,
        description=f"Profile the {model}'s training data and answers: the drift monitoring baseline",
        data_folders=(spec(model).data_folder,),
    )
