"""PrepareDatasets: transcripts/ and locations/ -> chatbot and classifier splits (seeded, no leakage)."""

from __future__ import annotations

from steps import names
from steps.context import StepContext
from steps.processing import Input, Output, ScriptJob, processing_step
from steps.request_step import RequestStep

# Output names: training channels read `<model>_train` / `<model>_validation`, evaluation `<model>_test`.
SPLIT_OUTPUTS = tuple(
    f"{model}_{split}" for model in ("chatbot", "classifier") for split in ("train", "validation", "test")
)
REPORT_OUTPUT = "report"


def build_prepare_datasets_step(ctx: StepContext) -> RequestStep:
    cfg = ctx.cfg.datasets
    transcripts = Input("transcripts", ctx.input_folder("transcripts"))
    locations = Input("locations", ctx.input_folder("locations"))
    outputs = [Output(name) for name in (*SPLIT_OUTPUTS, REPORT_OUTPUT)]
    job = ScriptJob(
        step_name=names.PREPARE_DATASETS,
        script="processing/prepare_datasets.py",
        arguments=[
            "--transcripts-dir",
            transcripts.local_path,
            "--locations-dir",
            locations.local_path,
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
        ],
        inputs=[transcripts, locations],
        outputs=outputs,
        image_uri=ctx.images.processing,
        instance_type=ctx.params.processing_instance_type,
    )
    return processing_step(
        ctx, job, description="Chat pairs and location texts, split by episode / stratified"
    )


def split_uri(prepare_step: RequestStep, model: str, split: str):
    """The S3 URI PrepareDatasets wrote one split to, as a property reference."""
    return prepare_step.properties.ProcessingOutputConfig.Outputs[f"{model}_{split}"].S3Output.S3Uri
