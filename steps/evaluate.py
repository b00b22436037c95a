"""EvaluateChatbot and EvaluateClassifier: score the trained model on the held-out test split.

The report (containers/evaluation/report.py: the one schema) is a PropertyFile, so the quality gate
reads its metric with JsonGet, and the registry's ModelMetrics point at the same evaluation.json.
"""

from __future__ import annotations

from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.properties import PropertyFile

from containers.evaluation.report import REPORT_FILE
from steps import names
from steps.context import StepContext
from steps.models import spec
from steps.prepare_datasets import split_uri
from steps.processing import Input, Output, ScriptJob, processing_step
from steps.request_step import RequestStep
from steps.tune import model_artifacts

EVALUATION_OUTPUT = "evaluation"


def report_file(model: str) -> PropertyFile:
    """The PropertyFile of `model`'s evaluation.json (named per model: names are pipeline-wide)."""
    return PropertyFile(
        name=f"{model.capitalize()}EvaluationReport", output_name=EVALUATION_OUTPUT, path=REPORT_FILE
    )


def report_uri(evaluate_step: RequestStep) -> Join:
    """The S3 URI of the evaluation.json an evaluation step wrote."""
    folder = evaluate_step.properties.ProcessingOutputConfig.Outputs[EVALUATION_OUTPUT].S3Output.S3Uri
    return Join(on="/", values=[folder, REPORT_FILE])


def build_evaluate_step(
    ctx: StepContext, model: str, train_step: RequestStep, prepare_step: RequestStep
) -> RequestStep:
    artifacts = Input("model", model_artifacts(ctx, train_step))
    test = Input("test", split_uri(prepare_step, model, "test"))
    out = Output(EVALUATION_OUTPUT)
    arguments: list = [
        "--model-dir",
        artifacts.local_path,
        "--test",
        test.local_path,
        "--output-dir",
        out.local_path,
    ]
    if model == "chatbot":
        arguments += ["--max-new-tokens", ctx.cfg.chatbot.evaluation_max_new_tokens]
        # The chatbot is evaluated where it will be served (a GPU): generation on CPU would crawl.
        instance_type = ctx.params.chatbot_evaluation_instance_type
    else:
        instance_type = ctx.params.processing_instance_type
    job = ScriptJob(
        step_name=names.MODEL_STEPS[model]["evaluate"],
        script=spec(model).evaluate_script,
        arguments=arguments,
        inputs=[artifacts, test],
        outputs=[out],
        image_uri=ctx.images.evaluation[model],
        instance_type=instance_type,
        environment=ctx.tracking_environment(model),
    )
    return processing_step(
        ctx,
        job,
        description=f"Score the {model} on the held-out test split",
        data_folders=(spec(model).data_folder,),
        property_files=[report_file(model)],
    )
