"""The dev definition against a reviewed snapshot: any change to what SageMaker receives shows in a diff.

Content hashes (code bundle, image recipes) are masked: they change with every container edit, and
other tests check them. After an intended change, regenerate and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/pipelines/test_golden.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.pipelines.conftest import definition_text

GOLDEN = Path(__file__).parent / "golden" / "definition-dev.json"
MASKS = [
    (re.compile(r"/code/[0-9a-f]{12}/"), "/code/<bundle-sha12>/"),
    (re.compile(r":(cpu|gpu)-[0-9a-f]{12}\""), r":\1-<recipe-sha12>" + '"'),
    (re.compile(r"\"[0-9a-f]{12}\""), '"<bundle-sha12>"'),  # the bare hash: checkpoint keys, metadata
    # the hash inside a JSON text fragment (the model card's Join): \"code_sha12\":\"<hash>\"
    (re.compile(r'\\"code_sha12\\":\\"[0-9a-f]{12}\\"'), r'\\"code_sha12\\":\\"<bundle-sha12>\\"'),
]


def masked(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


def test_dev_definition_matches_the_golden_file() -> None:
    current = masked(definition_text("dev"))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(current, encoding="utf-8")
    assert GOLDEN.is_file(), f"no golden file: run UPDATE_GOLDEN=1 pytest {__file__}"
    expected = GOLDEN.read_text(encoding="utf-8")
    assert current == expected, (
        "the dev definition changed: review, then regenerate (see this module's docstring)"
    )


def test_masks_hide_the_code_hash_inside_the_model_cards_json_text() -> None:
    text = r'"\",\"code_sha12\":\"0123456789ab\",\"pipeline_execution\":\""'
    assert masked(text) == r'"\",\"code_sha12\":\"<bundle-sha12>\",\"pipeline_execution\":\""'


def test_masks_hide_only_hashes() -> None:
    text = '"s3://b/p/code/0123456789ab/x", "ecr/x:gpu-0123456789ab", "code_sha12": "0123456789ab"'
    assert masked(text) == (
        '"s3://b/p/code/<bundle-sha12>/x", "ecr/x:gpu-<recipe-sha12>", "code_sha12": "<bundle-sha12>"'
    )
