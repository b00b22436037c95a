"""Environment the app sets before Gradio is imported, so nothing leaves the machine.

Gradio checks its version and sends telemetry when Blocks are built unless GRADIO_ANALYTICS_ENABLED is
False at that moment; gradio_client asks the Hugging Face Hub for headers unless the Hub is offline
(measured: /work/shared/notes/infra-ui-monitoring.md). Call `seal()` first thing in every entry point.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

OFFLINE_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}


def seal(temp_dir: Path, environ: MutableMapping[str, str] = os.environ) -> None:
    """Force the offline settings (a user's GRADIO_ANALYTICS_ENABLED=True does not win) and the temp dir."""
    environ.update(OFFLINE_ENV)
    temp_dir.mkdir(parents=True, exist_ok=True)
    environ.setdefault("GRADIO_TEMP_DIR", str(temp_dir))
