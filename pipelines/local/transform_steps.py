"""Transform steps locally: a CreateTransformJob as a cached job running the model's inference handler.

The step's Model (a Model step of this run, found by ModelName) gives the artifacts and environment;
the input is every object under the S3Prefix (`.../lines/cues` matches PrepareSubtitleLines' cues.jsonl,
not its selection.json, as S3 prefixes match keys); the job (`batch_transform.py`) runs the model's own
`code/inference.py`, and its answers land as SageMaker writes them: `<S3OutputPath>/<input file>.out`.
The cache key covers the arguments, the model's content and every input file's content.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pipelines.local.handlers import Outcome, StepCall, arn
from pipelines.local.job_steps import Job, run_job
from pipelines.local.processes import JobPlan, child_environment
from pipelines.local.sources import Source
from pipelines.local.storage import RunStorage, StorageError

DRIVER = Path(__file__).with_name("batch_transform.py")
DEFAULT_MAX_PAYLOAD_MB = 6  # CreateTransformJob's default MaxPayloadInMB
MODEL_DIR = "/opt/ml/model"
INPUT_DIR = "/opt/ml/input/data/transform"
OUTPUT_DIR = "/opt/ml/output/transform"


def prefix_objects(storage: RunStorage, uri: str) -> list[tuple[str, Path]]:
    """(URI, file) of every object whose key starts with the S3 prefix `uri`, sorted."""
    path = storage.local_path(uri)
    if path.is_file():
        return [(uri, path)]
    base = uri.rstrip("/")
    if path.is_dir():
        found = [
            (f"{base}/{p.relative_to(path).as_posix()}", p) for p in sorted(path.rglob("*")) if p.is_file()
        ]
    else:
        parent, stem = path.parent, path.name
        head = base.rsplit("/", 1)[0]
        candidates = sorted(parent.glob(f"{stem}*")) if parent.is_dir() else []
        found = [
            (f"{head}/{p.relative_to(parent).as_posix()}", p)
            for c in candidates
            for p in ([c] if c.is_file() else sorted(c.rglob("*")))
            if p.is_file()
        ]
    if not found:
        raise StorageError(f"transform input {uri} matches no object (looked under {path.parent})")
    return found


def _model(call: StepCall, model_name: Any) -> dict[str, Any]:
    """The properties of this run's Model step that created `model_name`."""
    for properties in call.scope.steps.values():
        if "ModelArn" in properties and properties.get("ModelName") == model_name:
            return properties
    raise StorageError(f"no model named {model_name!r} was created in this run (a Model step upstream)")


def _check_batch_shape(name: str, args: dict[str, Any]) -> None:
    split = args["TransformInput"].get("SplitType", "None")
    assemble = args["TransformOutput"].get("AssembleWith", "None")
    if split != "Line" or assemble != "Line":
        raise StorageError(
            f"{name}: the local runner transforms JSON Lines (SplitType Line, AssembleWith Line); "
            f"got SplitType {split}, AssembleWith {assemble}"
        )


def run_transform(call: StepCall) -> Outcome:
    args, svc = call.args, call.services
    storage = svc.storage
    _check_batch_shape(call.name, args)
    container = _model(call, args["ModelName"]).get("PrimaryContainer") or {}
    model_uri = str(container.get("ModelDataUrl", ""))
    model_path = storage.local_path(model_uri)
    if not model_path.is_file():
        raise StorageError(f"{call.name}: the model's ModelDataUrl {model_uri} has no file at {model_path}")
    source_uri = str(args["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"])
    objects = prefix_objects(storage, source_uri)
    output_uri = str(args["TransformOutput"]["S3OutputPath"])
    model_dir = storage.container_path(call.name, MODEL_DIR)
    input_dir = storage.container_path(call.name, INPUT_DIR)
    output_dir = storage.container_path(call.name, OUTPUT_DIR)
    max_mb = int(args.get("MaxPayloadInMB") or DEFAULT_MAX_PAYLOAD_MB)
    command = [
        sys.executable,
        str(DRIVER),
        "--model-dir", str(model_dir),
        "--input-dir", str(input_dir),
        "--output-dir", str(output_dir),
        "--content-type", str(args["TransformInput"].get("ContentType", "application/jsonlines")),
        "--accept", str(args["TransformOutput"].get("Accept", "application/jsonlines")),
        "--max-payload-bytes", str(max_mb * 1024 * 1024),
    ]  # fmt: skip
    environment = {**(container.get("Environment") or {}), **(args.get("Environment") or {})}
    plan = JobPlan(
        step=call.name,
        command=command,
        environment=child_environment(environment),
        cwd=storage.step_dir(call.name),
        inputs=[
            (Source(model_uri, path=model_path), model_dir),
            *((Source(uri, path=path), input_dir) for uri, path in objects),
        ],
        outputs=[(output_dir, output_uri)],
    )
    job_name = call.job_name

    def properties(_metrics: dict[str, float]) -> dict[str, Any]:
        return {
            **args,
            "TransformJobName": job_name,
            "TransformJobArn": arn("transform-job", job_name),
            "TransformJobStatus": "Completed",
        }

    job = Job(
        plan=plan,
        what="transform job",
        inputs=[model_uri, *(uri for uri, _ in objects)],
        results={"output": storage.local_path(output_uri)},
        properties=properties,
    )
    return run_job(call, job)
