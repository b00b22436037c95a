"""The app's package boundary and its promise to stay on the machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.offline import OFFLINE_ENV, seal


def test_seal_turns_analytics_off_even_when_the_user_turned_them_on(tmp_path: Path) -> None:
    environ = {"GRADIO_ANALYTICS_ENABLED": "True", "HF_HUB_OFFLINE": "0"}
    seal(tmp_path / "gradio", environ)
    assert environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert environ["HF_HUB_OFFLINE"] == "1"
    assert environ["GRADIO_TEMP_DIR"] == str(tmp_path / "gradio")
    assert (tmp_path / "gradio").is_dir()
    assert set(OFFLINE_ENV) <= set(environ)


def test_the_app_never_imports_the_sagemaker_sdk(repo_root: str) -> None:
    code = (
        "import sys, app.__main__, app.backend, app.ui\n"
        "sdk = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sagemaker', 'sagemaker_core', 'sagemaker_train', 'sagemaker_serve', 'sagemaker_mlops'))\n"
        "print(sdk)\n"
        "assert not sdk, sdk\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
