"""FingerprintData: hash every file under the input URI (never cached: it must see today's data).

Its fingerprint.json `{"sha256", "files", "bytes", "folders": {"<folder>": {"sha256", ...}}}` is a
PropertyFile; each cached step's Environment holds the hash of the folders it reads
(`DATA_FINGERPRINT_<FOLDER>`), so SageMaker's cache key changes exactly when that data does.
"""

from __future__ import annotations

from steps import names
from steps.context import DATA_FOLDERS, FINGERPRINT_FILE, FINGERPRINT_OUTPUT, StepContext
from steps.processing import Input, Output, ScriptJob, processing_step
from steps.request_step import RequestStep


def build_fingerprint_data_step(ctx: StepContext) -> RequestStep:
    data, out = Input("data", ctx.input_folder()), Output(FINGERPRINT_OUTPUT)
    job = ScriptJob(
        step_name=names.FINGERPRINT_DATA,
        script="processing/fingerprint_data.py",
        arguments=[
            "--input-dir",
            data.local_path,
            "--output-dir",
            out.local_path,
            "--folders",
            *DATA_FOLDERS,
        ],
        inputs=[data],
        outputs=[out],
        image_uri=ctx.images.processing,
        instance_type=ctx.params.processing_instance_type,
    )
    return processing_step(
        ctx,
        job,
        description="SHA-256 of the input data, whole and per folder; keys the cache of the steps downstream",
        cached=False,
        property_files=[FINGERPRINT_FILE],
    )
