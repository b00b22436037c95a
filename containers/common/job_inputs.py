"""Name a file as the user knows it: the job input's URI, not the folder the job downloaded it to.

Inside a processing job a data file sits at /opt/ml/processing/input/transcripts/S01E02.csv (and, in a
local run, under the run folder's staging copy of /opt/ml): neither is where the user put it. SageMaker
writes the job's request to /opt/ml/config/processingjobconfig.json (ProcessingInputs with each input's
S3Uri and LocalPath: https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html),
and the local runner writes the same file in its staging /opt/ml. `user_path` finds that file above the
path, and maps the path back to the input's URI (for `make run-local DATA=dir`, a path under dir).
Outside a job there is no such file and the path is returned as it is.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path, PurePosixPath

LOG = logging.getLogger(__name__)
JOB_CONFIG = PurePosixPath("config/processingjobconfig.json")
OPT_ML = PurePosixPath("/opt/ml")


@lru_cache(maxsize=8)
def _inputs(root: Path) -> tuple[tuple[PurePosixPath, str], ...]:
    """(LocalPath relative to /opt/ml, S3Uri) of each S3 input in `root`'s job config; () when unreadable."""
    try:
        config = json.loads((root / JOB_CONFIG).read_text(encoding="utf-8"))
        pairs = []
        for item in config.get("ProcessingInputs") or []:
            s3 = item.get("S3Input") or {}
            local = PurePosixPath(str(s3.get("LocalPath", "")))
            if s3.get("S3Uri") and local.is_relative_to(OPT_ML):
                pairs.append((local.relative_to(OPT_ML), str(s3["S3Uri"])))
        return tuple(pairs)
    except (OSError, ValueError, AttributeError) as exc:  # a name for a message: never fail over it
        LOG.debug("no job inputs from %s: %s", root / JOB_CONFIG, exc)
        return ()


def user_path(path: Path) -> str:
    """`path` as the user knows it: the job input's URI plus the path below it, else the path itself."""
    absolute = path.absolute()
    for root in absolute.parents:
        if not (root / JOB_CONFIG).is_file():
            continue
        below_root = PurePosixPath(absolute.relative_to(root).as_posix())
        for local, uri in _inputs(root):
            if below_root == local or below_root.is_relative_to(local):
                inner = below_root.relative_to(local).as_posix()
                return uri if inner == "." else f"{uri.rstrip('/')}/{inner}"
        break
    return str(path)
