"""FingerprintData: hash every file under the input URI (never cached: it must see today's data).

Its fingerprint.json `{"sha256", "files", "bytes"}` is a PropertyFile; the sha256 enters every cached
step's Environment, so SageMaker's cache key changes exactly when the data does.
"""

from __future__ import annotations

from steps import names
from steps.context import FINGERPRINT_FILE, FINGERPRINT_OUTPUT, StepContext
from steps.processing import Input, Output, ScriptJob, processing_step
from steps.request_step import RequestStep


def build_fingerprint_data_step(ctx: StepContext) -> RequestStep:
    data, out = Input("data", ctx.input_folder()), Output(FINGERPRINT_OUTPUT)
    job = ScriptJob(
        step_name=names.FINGERPRINT_DATA,
        script="processing/fingerprint_data.py",
        arguments=["--input-dir", data.local_path, "--output-dir", out.local_path],
        inputs=[data],
        outputs=[out],
        image_uri=ctx.images.processing,
        instance_type=ctx.params.processing_instance_type,
    )
    return processing_step(
        ctx,
        job,
        description="SHA-256 of every input file; keys the cache of the steps downstream",
        cached=False,
        property_files=[FINGERPRINT_FILE],
    )
