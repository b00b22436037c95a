"""User errors of the container scripts, and the entry point that reports them as one line.

A mistake in the input data (a JSON line that is not an object, a transcript that is not UTF-8, an
empty input folder) is the user's to fix: the job log must say which file and line, in one line, and
not bury it under a traceback of our code. Defects in our code still raise with their traceback:
only `InputDataError` (and its subclasses) is reported this way.

A processing container may write UTF-8 text to /opt/ml/output/message; DescribeProcessingJob returns its
first 1 KB as ExitMessage (https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-metadata.html).
`run_main` writes the same line there when that folder exists (in SageMaker; not on a laptop, where
writing to /opt/ml would be a bug the local runner warns about).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

Arguments = TypeVar("Arguments")  # each script's own arguments dataclass

EXIT_USER_ERROR = 2
FAILURE_MESSAGE = Path("/opt/ml/output/message")
MAX_FAILURE_CHARS = 1024


class InputDataError(ValueError):
    """The input data cannot be used; the message names the file (and line) and says what to fix."""


class MissingInputError(InputDataError, FileNotFoundError):
    """An input folder is missing or holds none of the files the step reads."""


def run_main(
    main: Callable[[Arguments], Any],
    parse_args: Callable[[], Arguments],
    log: logging.Logger,
    message_file: Path = FAILURE_MESSAGE,
) -> None:
    """Run a script's main(); an InputDataError becomes one logged line and exit status 2."""
    try:
        main(parse_args())
    except InputDataError as exc:
        line = " ".join(str(exc).split())  # one line, whatever the message quoted
        log.error("%s", line)
        if message_file.parent.is_dir():
            message_file.write_text(line[:MAX_FAILURE_CHARS], encoding="utf-8")
        sys.exit(EXIT_USER_ERROR)
