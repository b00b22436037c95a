"""PrepareSubtitleLines, CreateClassifierBatchModel -> ClassifySubtitleLines: the registered classifier over
every subtitle line.

Why this transform: the classifier was trained on location descriptions; run over every cleaned line
of the corpus it says which kind of setting each line evokes. Output line i answers input line i
(`cues.jsonl.out`), so joining by position with PrepareSubtitleLines' cues.jsonl gives a per-episode
profile of settings for the analytics, from the very version just registered, on a CPU instance in
minutes. (The chatbot over a fixed prompt set was the other candidate: it needs a GPU instance per run
and its review is a person reading replies, which the evaluation's samples.jsonl already gives.)

Why PrepareSubtitleLines, a processing job ahead of it: CleanSubtitles cleans every file, and an episode
often comes as two (an .srt and a .vtt, a plain and a hearing-impaired file), possibly on two of its
instances; the transform runs the model's handler over whatever sits under its prefix, so one file per
episode (containers/processing/episode_files.py) is chosen before, by a job that reads every shard. It
starts as soon as CleanSubtitles ends, beside the models' training, so it adds no time to the run.

Batch shape: SplitType Line + BatchStrategy MultiRecord send several JSON Lines per request (up to
MaxPayloadInMB), AssembleWith Line writes one prediction a line; the handler
(containers/inference/classifier.py) accepts application/jsonlines for that.
"""

from __future__ import annotations

from typing import Any

from sagemaker.core.workflow.functions import Join
from sagemaker.mlops.workflow.steps import StepTypeEnum

from project.instance_types import takes_ebs_volume
from steps import names
from steps.clean_subtitles import cleaned_input
from steps.context import StepContext
from steps.processing import Output, ScriptJob, processing_step
from steps.register import serving_environment
from steps.request_step import RequestStep
from steps.tune import model_artifacts

JSON_LINES = "application/jsonlines"
# One request of a MultiRecord batch: the classifier handler accepts JSON Lines bodies up to 1 MiB
# (containers/inference/classifier.py MAX_JSONL_PAYLOAD_BYTES; a test keeps the two equal).
MAX_PAYLOAD_MB = 1
LINES_OUTPUT = "lines"
CUES_PREFIX = "cues"  # PrepareSubtitleLines' cues.jsonl, not its selection.json
PREDICTIONS_OUTPUT = "predictions"


def build_transform_input_step(ctx: StepContext, clean_step: RequestStep) -> RequestStep:
    """PrepareSubtitleLines: every CleanSubtitles shard in, one file per episode's lines out."""
    cleaned, out = cleaned_input(clean_step), Output(LINES_OUTPUT)
    job = ScriptJob(
        step_name=names.PREPARE_SUBTITLE_LINES,
        script="processing/prepare_subtitle_lines.py",
        arguments=["--input-dir", cleaned.local_path, "--output-dir", out.local_path],
        inputs=[cleaned],
        outputs=[out],
        image_uri=ctx.images.processing,
        instance_type=ctx.params.processing_instance_type,
    )
    return processing_step(
        ctx,
        job,
        description="The batch transform's input: the cleaned lines of one subtitle file per episode",
        data_folders=("subtitles",),
    )


def cues_prefix(lines_step: RequestStep) -> Join:
    """The S3 prefix of PrepareSubtitleLines' cues.jsonl (its selection.json does not match it)."""
    folder = lines_step.properties.ProcessingOutputConfig.Outputs[LINES_OUTPUT].S3Output.S3Uri
    return Join(on="/", values=[folder, CUES_PREFIX])


def batch_model_request(ctx: StepContext, train_step: RequestStep) -> dict[str, Any]:
    """CreateModel of the registered classifier: its image, the best model's artifacts, its environment."""
    request: dict[str, Any] = {
        "ExecutionRoleArn": ctx.cfg.project.role_arn,
        "PrimaryContainer": {
            "Image": ctx.images.inference["classifier"],
            "ModelDataUrl": model_artifacts(ctx, train_step),
            "Environment": serving_environment(ctx, "classifier"),
        },
        "EnableNetworkIsolation": ctx.cfg.security.network_isolation,
    }
    vpc = ctx.vpc_config()
    if vpc:
        request["VpcConfig"] = vpc
    return request


def transform_request(ctx: StepContext, model_step: RequestStep, lines_step: RequestStep) -> dict[str, Any]:
    """CreateTransformJob over PrepareSubtitleLines' cues.jsonl (minus the job name, which the pipeline
    assigns)."""
    cfg = ctx.cfg.classifier.transform
    output: dict[str, Any] = {
        "S3OutputPath": ctx.run_output(names.CLASSIFY_SUBTITLE_LINES, PREDICTIONS_OUTPUT),
        "Accept": JSON_LINES,
        "AssembleWith": "Line",
    }
    resources: dict[str, Any] = {"InstanceType": cfg.instance_type, "InstanceCount": cfg.instance_count}
    if ctx.cfg.security.kms_key_id:
        output["KmsKeyId"] = ctx.cfg.security.kms_key_id
        # As for training and processing: no volume key on a type with local NVMe storage (AWS refuses
        # it there: TransformResources.VolumeKmsKeyId in the API reference).
        if takes_ebs_volume(cfg.instance_type):
            resources["VolumeKmsKeyId"] = ctx.cfg.security.kms_key_id
    return {
        "ModelName": model_step.properties.ModelName,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": MAX_PAYLOAD_MB,
        "MaxConcurrentTransforms": cfg.max_concurrent_transforms,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": cues_prefix(lines_step)}},
            "ContentType": JSON_LINES,
            "SplitType": "Line",
        },
        "TransformOutput": output,
        "TransformResources": resources,
    }


def build_transform_steps(
    ctx: StepContext, train_step: RequestStep, register_step: RequestStep, lines_step: RequestStep
) -> list[RequestStep]:
    """[CreateClassifierBatchModel, ClassifySubtitleLines], after the classifier's registration."""
    model_step = RequestStep(
        names.CREATE_CLASSIFIER_BATCH_MODEL,
        StepTypeEnum.CREATE_MODEL,
        batch_model_request(ctx, train_step),
        description="The registered classifier as a SageMaker Model for the batch transform",
        retry_policies=ctx.api_retry_policies(),
        depends_on=[register_step],
    )
    transform_step = RequestStep(
        names.CLASSIFY_SUBTITLE_LINES,
        StepTypeEnum.TRANSFORM,
        transform_request(ctx, model_step, lines_step),
        description="Batch transform: the registered classifier's setting label of every subtitle line",
        # No CacheConfig: its key would hold the execution's own ModelName, so it could never hit. The
        # local runner reuses a transform of the same model content and input files (its Transform row).
        retry_policies=ctx.job_retry_policies(),
    )
    return [model_step, transform_step]
