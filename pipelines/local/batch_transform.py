"""The container side of a local batch transform: the model's own inference handler over the input files.

    python pipelines/local/batch_transform.py --model-dir M --input-dir I --output-dir O \\
        --content-type application/jsonlines --accept application/jsonlines --max-payload-bytes 1048576

Run as a job by `transform_steps.run_transform`, as SageMaker runs the serving container of a transform
job: the model folder (model.tar.gz unpacked) is loaded through its `code/inference.py` (`model_fn`,
then `input_fn`, `predict_fn`, `output_fn` per request), with the Model's environment in this process's.
SplitType Line + BatchStrategy MultiRecord: the lines of each file go in requests of at most
--max-payload-bytes; AssembleWith Line: the answers' lines are written in input order to
`<output dir>/<input file>.out`. A file whose answer has another number of lines than records fails
the job (the two could no longer be joined by position).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

LOG = logging.getLogger("batch_transform")


class TransformError(RuntimeError):
    """The model's answers do not line up with its inputs."""


def mini_batches(lines: list[str], max_bytes: int) -> Iterator[list[str]]:
    """Consecutive records, each batch at most `max_bytes` when joined by newlines (at least one record)."""
    batch: list[str] = []
    size = 0
    for line in lines:
        extra = len(line.encode("utf-8")) + 1
        if batch and size + extra > max_bytes:
            yield batch
            batch, size = [], 0
        batch.append(line)
        size += extra
    if batch:
        yield batch


def invoke(handler: Any, model: Any, body: str, content_type: str, accept: str) -> str:
    data = handler.input_fn(body, content_type)
    output = handler.output_fn(handler.predict_fn(data, model), accept)
    if isinstance(output, tuple):
        output = output[0]
    return output.decode("utf-8") if isinstance(output, bytes) else str(output)


def transform_file(
    handler: Any, model: Any, source: Path, target: Path, content_type: str, accept: str, max_bytes: int
) -> int:
    """Transform one input file into `target`; returns the number of records."""
    records = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    answers: list[str] = []
    for batch in mini_batches(records, max_bytes):
        lines = invoke(handler, model, "\n".join(batch), content_type, accept).splitlines()
        if len(lines) != len(batch):
            raise TransformError(
                f"{source.name}: {len(batch)} records in, {len(lines)} lines out; the handler must answer "
                "one line per record for AssembleWith Line"
            )
        answers.extend(lines)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(line + "\n" for line in answers), encoding="utf-8")
    return len(records)


def unpacked(model_dir: Path) -> Path:
    """The model folder: model.tar.gz unpacked next to it (as the serving container finds /opt/ml/model)."""
    tarball = model_dir / "model.tar.gz"
    if not tarball.is_file():
        return model_dir
    target = model_dir / "unpacked"
    target.mkdir(exist_ok=True)
    with tarfile.open(tarball, "r:gz") as archive:
        archive.extractall(target, filter="data")
    return target


def main(argv: list[str] | None = None) -> int:
    from model_registry.local_endpoints import load_handler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--input-dir", type=Path, required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--content-type", required=True)
    parser.add_argument("--accept", required=True)
    parser.add_argument("--max-payload-bytes", type=int, required=True)
    args = parser.parse_args(argv)
    model_dir = unpacked(args.model_dir)
    handler = load_handler(model_dir, "batch_transform_inference")
    model = handler.model_fn(str(model_dir))
    files = sorted(p for p in args.input_dir.rglob("*") if p.is_file())
    if not files:
        raise TransformError(f"no input files under {args.input_dir}")
    for path in files:
        relative = path.relative_to(args.input_dir)
        target = args.output_dir / relative.with_name(relative.name + ".out")
        count = transform_file(
            handler, model, path, target, args.content_type, args.accept, args.max_payload_bytes
        )
        LOG.info("%s: %d records -> %s", relative, count, target.name)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
