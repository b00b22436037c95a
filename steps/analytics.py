"""ExtractEntities and ClassifyThemes: analytics over the cleaned cues (one instance each).

Both read every shard CleanSubtitles wrote (and keep one file per episode: episode_files.py) and the conf
files that travel inside the code bundle; their cache key holds the subtitles' hash (the only input data
they depend on).
"""

from __future__ import annotations

from steps import names
from steps.clean_subtitles import cleaned_input
from steps.context import CODE_MOUNT, StepContext
from steps.processing import Output, ScriptJob, processing_step
from steps.request_step import RequestStep

SUBTITLES = ("subtitles",)


def build_extract_entities_step(ctx: StepContext, clean_step: RequestStep) -> RequestStep:
    cfg = ctx.cfg.entities
    cleaned, out = cleaned_input(clean_step), Output("entities")
    arguments = [
        "--input-dir", cleaned.local_path,
        "--output-dir", out.local_path,
        "--characters", f"{CODE_MOUNT}/conf/characters.yaml",
        "--window", cfg.window,
        "--min-edge-weight", cfg.min_edge_weight,
        "--ner-batch-size", cfg.ner_batch_size,
    ]  # fmt: skip
    if cfg.ner_model:
        arguments += ["--ner-model", cfg.ner_model]
    job = ScriptJob(
        step_name=names.EXTRACT_ENTITIES,
        script="processing/extract_entities.py",
        arguments=arguments,
        inputs=[cleaned],
        outputs=[out],
        image_uri=ctx.images.processing,
        instance_type=ctx.params.processing_instance_type,
    )
    return processing_step(
        ctx,
        job,
        description="Cast mentions and the character co-occurrence network",
        data_folders=SUBTITLES,
    )


def build_classify_themes_step(ctx: StepContext, clean_step: RequestStep) -> RequestStep:
    cfg = ctx.cfg.themes
    cleaned, out = cleaned_input(clean_step), Output("themes")
    arguments = [
        "--input-dir",
        cleaned.local_path,
        "--output-dir",
        out.local_path,
        "--themes",
        f"{CODE_MOUNT}/conf/themes.yaml",
        "--model-id",
        cfg.model_id,
        "--batch-size",
        cfg.batch_size,
        "--max-utterances-per-episode",
        cfg.max_utterances_per_episode,
    ]
    if cfg.method != "nli":  # the script's default; leaving it out keeps the nli definition as it was
        arguments += ["--method", cfg.method]
    job = ScriptJob(
        step_name=names.CLASSIFY_THEMES,
        script="processing/classify_themes.py",
        arguments=arguments,
        inputs=[cleaned],
        outputs=[out],
        image_uri=ctx.images.processing,
        instance_type=ctx.params.processing_instance_type,
    )
    return processing_step(ctx, job, description="Zero-shot theme scores per episode", data_folders=SUBTITLES)
