"""PrepareChatbotData (transcripts/) and PrepareLocationData (locations/): one dataset each, split seeded.

Two steps rather than one: SageMaker keys a training step's cache on its input channel URIs, which carry
the execution id of the step that wrote them. With one prepare step, a changed location file would give
the chatbot's training new URIs and retrain it (the expensive GPU job); split, PrepareChatbotData hits
the cache and hands TrainChatbot the earlier execution's URIs. Each step keys on its own folder's hash.
"""

from __future__ import annotations

from typing import Any

from steps import names
from steps.context import StepContext
from steps.models import spec
from steps.processing import Input, Output, ScriptJob, processing_step
from steps.request_step import RequestStep

SPLITS = ("train", "validation", "test")
# Output names: training channels read `<model>_train` / `<model>_validation`, evaluation `<model>_test`.
REPORT_OUTPUT = "report"


def split_outputs(model: str) -> tuple[str, ...]:
    return tuple(f"{model}_{split}" for split in SPLITS)


def build_prepare_step(ctx: StepContext, model: str) -> RequestStep:
    """The prepare step of `model` ('chatbot' or 'classifier'): reads only that model's input folder."""
    cfg = ctx.cfg.datasets
    folder = spec(model).data_folder
    data = Input(folder, ctx.input_folder(folder))
    outputs = [Output(name) for name in (*split_outputs(model), REPORT_OUTPUT)]
    # Only the step that reads locations gets the rare-label policy: a flag added to the chatbot's step
    # would change its arguments, miss its cache once and retrain the chatbot for nothing.
    classifier_only = ["--rare-labels", cfg.rare_labels] if model == "classifier" else []
    job = ScriptJob(
        step_name=names.MODEL_STEPS[model]["prepare"],
        script="processing/prepare_datasets.py",
        arguments=[
            "--datasets",
            model,
            f"--{folder}-dir",
            data.local_path,
            "--output-dir",
            "/opt/ml/processing/output",
            "--character",
            cfg.character,
            "--min-reply-chars",
            cfg.min_reply_chars,
            "--validation-fraction",
            cfg.validation_fraction,
            "--test-fraction",
            cfg.test_fraction,
            "--seed",
            cfg.seed,
            *classifier_only,
        ],
        inputs=[data],
        outputs=outputs,
        image_uri=ctx.images.processing,
        instance_type=ctx.params.processing_instance_type,
    )
    return processing_step(ctx, job, description=spec(model).prepare_description, data_folders=(folder,))


def split_uri(prepare_step: RequestStep, model: str, split: str) -> Any:
    """The S3 URI the prepare step wrote one split to, as a property reference."""
    return prepare_step.properties.ProcessingOutputConfig.Outputs[f"{model}_{split}"].S3Output.S3Uri
