"""CleanSubtitles: subtitles/ -> cues*.jsonl + manifest*.json, sharded by S3 key across instances."""

from __future__ import annotations

from steps import names
from steps.context import StepContext
from steps.processing import Input, Output, ScriptJob, processing_step
from steps.request_step import RequestStep

CLEANED = "cleaned"


def build_clean_subtitles_step(ctx: StepContext) -> RequestStep:
    cleaning = ctx.cfg.cleaning
    # ShardedByS3Key: with ProcessingInstanceCount > 1 each instance cleans its share of the files.
    subtitles = Input("subtitles", ctx.input_folder("subtitles"), "ShardedByS3Key")
    out = Output(CLEANED)
    job = ScriptJob(
        step_name=names.CLEAN_SUBTITLES,
        script="processing/clean_subtitles.py",
        arguments=[
            "--input-dir",
            subtitles.local_path,
            "--output-dir",
            out.local_path,
            "--min-chars",
            cleaning.min_chars,
            "--max-line-chars",
            cleaning.max_line_chars,
        ],
        inputs=[subtitles],
        outputs=[out],
        image_uri=ctx.images.processing,
        instance_type=ctx.params.processing_instance_type,
        instance_count=ctx.params.processing_instance_count,
    )
    return processing_step(
        ctx,
        job,
        description="Clean subtitles: one utterance a line, nothing lost silently",
        data_folders=("subtitles",),
    )


def cleaned_input(clean_step: RequestStep) -> Input:
    """CleanSubtitles' output folder as the input `cleaned` of a step that reads every shard."""
    return Input(CLEANED, clean_step.properties.ProcessingOutputConfig.Outputs[CLEANED].S3Output.S3Uri)
